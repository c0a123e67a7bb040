//! The Redis adapter, wire-compatible with the classic
//! `@socket.io/redis-adapter` 8.x (`createAdapter()`): Rust and Node servers
//! can share one cluster.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis::RedisAdapterFactory;
//! let factory = RedisAdapterFactory::new("redis://127.0.0.1:6379").await?;
//! let io = socketio::SocketIo::with_adapter(Default::default(), factory);
//! io.emit("hello", &"every client of every server")?;
//! # Ok(()) }
//! ```
//!
//! Each factory (one per server) holds one publishing connection
//! (`redis::aio::ConnectionManager`, which reconnects by itself) and one
//! subscriber connection shared by every namespace, so `PUBSUB NUMSUB`
//! counts this server exactly once. The subscriber reconnects with backoff
//! after a Redis restart and subscribes again; what was published meanwhile
//! is lost, as with Node. Failures are logged through `tracing`, never
//! raised as panics.
//!
//! A flavour reaches one server (`redis://`, `rediss://` for TLS, with an
//! ACL user as `redis://user:password@host`), a Redis Cluster (several
//! comma-separated seed URLs, or [`RedisConnectOptions::cluster`]) or the
//! master Sentinels name (`redis+sentinel://`); see
//! [`RedisConnectOptions`].
//!
//! Every flavour is a small transport under one generic cluster adapter,
//! which keeps the request bookkeeping
//! ([`super::cluster::state::ClusterState`]), applies what other servers
//! ask, and assigns recovery offsets. This module holds the options and
//! errors and the factory every flavour converts into; beside it are the
//! connections, the reading of Redis replies, and the transports of the
//! classic protocol (codec [`super::cluster::classic`]), of sharded pub/sub
//! ([`super::redis_sharded`]) and of streams ([`super::redis_streams`]).
//!
//! [`Emitter`] publishes to such a cluster from a process that is not a
//! server, as `@socket.io/redis-emitter` does.

mod classic;
mod connection;
mod emitter;
mod endpoint;
mod outage;
mod reply;
pub(crate) mod sharded;
pub(crate) mod streams;

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::cluster::adapter::{ClusterAdapterFactory, ClusterConfig, QueueGauge};
use super::cluster::state::DEFAULT_REQUEST_TIMEOUT;
use super::cluster::transport::Transport;
use super::{Adapter, AdapterFactory, LocalNamespace};
use classic::ClassicTransport;
pub use emitter::{Emitter, EmitterConfig, EmitterError, EmitterOperator};
use endpoint::Endpoint;
pub use endpoint::RedisConnectOptions;
use outage::Outage;

/// The `redis` crate this adapter is built on, to build a
/// [`redis::Client`] for [`RedisAdapterFactory::with_config`].
pub use ::redis as client;

/// Options of the Redis adapter, named after Node's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisAdapterConfig {
    /// The channel prefix (Node's `key`, default `socket.io`).
    pub key: String,
    /// How long `fetchSockets`, `allRooms` and `serverSideEmitWithAck`
    /// wait for the other servers (Node's `requestsTimeout`, 5 s).
    pub requests_timeout: Duration,
    /// Answer on the requester's own response channel (Node's
    /// `publishOnSpecificResponseChannel`, default false).
    pub publish_on_specific_response_channel: bool,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while Redis is away.
    /// (While Redis does not answer, messages are dropped before they
    /// queue; see [`PublishStats`].)
    pub max_queued_publishes: usize,
    /// Connection state recovery window of the local part (`None`: off);
    /// set it to the server's `max_disconnection_duration` when recovery is
    /// on.
    pub recovery: Option<Duration>,
    /// How to reach Redis beyond the URL: a cluster, TLS material.
    pub connection: RedisConnectOptions,
}

engineio::__option_setters!(RedisAdapterConfig {
    key: impl Into<String>,
    requests_timeout: Duration,
    publish_on_specific_response_channel: bool,
    max_queued_publishes: usize,
    recovery: Option<Duration>,
    connection: RedisConnectOptions,
});

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".into(),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            publish_on_specific_response_channel: false,
            max_queued_publishes: 65_536,
            recovery: None,
            connection: RedisConnectOptions::default(),
        }
    }
}

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedisAdapterError {
    /// Redis refused or failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("timed out connecting to Redis")]
    Timeout,
    /// The factory must be created inside a tokio runtime.
    #[error("the Redis adapter needs a tokio runtime")]
    NoRuntime,
    /// The URL or the connection options cannot be used (an unreadable
    /// certificate file, a client certificate without its key).
    #[error("Redis connection options: {0}")]
    Config(String),
}

/// Creates the Redis adapter of every namespace of one server: pass it to
/// [`crate::SocketIo::with_adapter`]. One factory per server. The sharded
/// and streams factories convert into it, for code that picks the flavour
/// at run time.
#[derive(Clone)]
pub struct RedisAdapterFactory {
    factory: Arc<dyn AdapterFactory>,
    flavour: &'static str,
    queue: Arc<QueueGauge>,
    outage: Arc<Outage>,
}

/// What one server's adapter did with the messages it publishes, summed
/// over its namespaces: a metric to export, and what shows that nothing
/// piles up while Redis is away.
///
/// While a single Redis (or the Sentinels' master) does not answer,
/// messages are dropped before they queue, one being let through every
/// quarter of a second to notice its return; the queues drain rather than
/// fill, and no backlog of stale broadcasts follows the outage. On a Redis Cluster,
/// whose masters fail over one by one, each message tries its node, and a
/// namespace's queue holds `max_queued_publishes` messages at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishStats {
    /// Messages waiting to be published now.
    pub queued: usize,
    /// The most messages ever waiting at once.
    pub peak_queued: usize,
    /// Messages dropped so far: a full queue, Redis not answering, or Redis
    /// refusing the command.
    pub dropped: u64,
    /// Whether Redis answered the last message tried.
    pub redis_reachable: bool,
}

impl std::fmt::Debug for RedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapterFactory")
            .field("flavour", &self.flavour)
            .finish_non_exhaustive()
    }
}

impl RedisAdapterFactory {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`, or
    /// comma-separated cluster seeds) with the default options.
    pub async fn new(url: &str) -> Result<RedisAdapterFactory, RedisAdapterError> {
        Self::connect(url, RedisAdapterConfig::default()).await
    }

    /// Connects to the Redis at `url` with `config` (whose `connection`
    /// says how: a cluster, TLS material).
    pub async fn connect(
        url: &str,
        config: RedisAdapterConfig,
    ) -> Result<RedisAdapterFactory, RedisAdapterError> {
        let endpoint = Endpoint::open(url, &config.connection)?;
        Self::on_endpoint(endpoint, config).await
    }

    /// Connects with `client` and `config`: the publishing and the
    /// subscriber connections are open when this returns. `client` says
    /// how to reach the one server; `config.connection` is not used.
    pub async fn with_config(
        client: redis::Client,
        config: RedisAdapterConfig,
    ) -> Result<RedisAdapterFactory, RedisAdapterError> {
        Self::on_endpoint(Endpoint::Single(client), config).await
    }

    async fn on_endpoint(
        endpoint: Endpoint,
        config: RedisAdapterConfig,
    ) -> Result<RedisAdapterFactory, RedisAdapterError> {
        let cluster = ClusterConfig::new(
            config.requests_timeout,
            config.max_queued_publishes,
            config.recovery,
        );
        let transport = ClassicTransport::connect(&endpoint, &config).await?;
        let outage = transport.outage();
        RedisAdapterFactory::on(transport, cluster, outage)
    }

    /// What the adapter did with the messages it publishes so far.
    pub fn publish_stats(&self) -> PublishStats {
        PublishStats {
            queued: self.queue.queued(),
            peak_queued: self.queue.peak(),
            dropped: self.queue.dropped_full() + self.outage.dropped(),
            redis_reachable: self.outage.reachable(),
        }
    }

    /// The factory of the generic cluster adapter on a flavour's transport
    /// (whose link watches for outages with `outage`): the one place every
    /// flavour's factory comes from.
    fn on<T: Transport>(
        transport: T,
        config: ClusterConfig,
        outage: Arc<Outage>,
    ) -> Result<RedisAdapterFactory, RedisAdapterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
        let flavour = transport.label();
        let queue = config.queue.clone();
        Ok(RedisAdapterFactory {
            queue,
            outage,
            factory: Arc::new(ClusterAdapterFactory::new(
                Arc::new(transport),
                config,
                runtime,
            )),
            flavour,
        })
    }
}

impl AdapterFactory for RedisAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        self.factory.create(nsp)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        self.factory.create_for(nsp, local)
    }
}
