//! The sharded Redis adapter, wire-compatible with `@socket.io/redis-adapter`
//! 8.2+ `createShardedAdapter()` (Redis 7+ sharded pub/sub): Rust and Node
//! servers can share one cluster.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis_sharded::ShardedRedisAdapterFactory;
//! let factory = ShardedRedisAdapterFactory::new("redis://127.0.0.1:6379").await?;
//! let io = socketio::SocketIo::with_adapter(Default::default(), factory);
//! io.emit("hello", &"every client of every server")?;
//! # Ok(()) }
//! ```
//!
//! Messages are `SPUBLISH`ed on `prefix#<nsp>#`, plain broadcasts to one
//! room on that room's channel (in the "dynamic" subscription modes), and
//! responses on the requester's `prefix#<nsp>#<uid>#`; the server count is
//! `PUBSUB SHARDNUMSUB prefix#<nsp>#`. The connections, reconnection and
//! request handling are the classic adapter's ([`super::redis`]); the
//! subscriber speaks RESP3, which `redis` needs for sharded pub/sub, so
//! Redis must be 7 or newer (as Node requires). The connections go to one
//! Redis server: Redis Cluster is not supported yet.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::cluster::sharded::ShardedCodec;
pub use super::cluster::sharded::SubscriptionMode;
use super::cluster::state::DEFAULT_REQUEST_TIMEOUT;
use super::redis::{
    create_adapter, start_engine, EngineConfig, RedisAdapterError, RedisAdapterFactory, Shared,
    Wire,
};
use super::{Adapter, AdapterFactory, LocalNamespace};

/// Options of the sharded adapter, named after Node's.
#[derive(Debug, Clone)]
pub struct ShardedRedisAdapterConfig {
    /// The channel prefix (Node's `channelPrefix`, default `socket.io`).
    pub channel_prefix: String,
    /// Which rooms get a channel of their own (Node's `subscriptionMode`,
    /// default dynamic); every server of a cluster must use the same one.
    pub subscription_mode: SubscriptionMode,
    /// How long `fetchSockets` and `serverSideEmitWithAck` wait for the
    /// other servers (5 s, Node's fixed timeout).
    pub requests_timeout: Duration,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while Redis is away.
    pub max_queued_publishes: usize,
    /// Connection state recovery window of the local part (`None`: off);
    /// set it to the server's `max_disconnection_duration` when recovery is
    /// on. Sessions do not cross servers with this flavour, as with Node.
    pub recovery: Option<Duration>,
}

impl Default for ShardedRedisAdapterConfig {
    fn default() -> Self {
        ShardedRedisAdapterConfig {
            channel_prefix: "socket.io".into(),
            subscription_mode: SubscriptionMode::default(),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_queued_publishes: 65_536,
            recovery: None,
        }
    }
}

/// Creates the sharded Redis adapter of every namespace of one server: pass
/// it to [`crate::SocketIo::with_adapter`]. One factory per server. It
/// converts into a [`RedisAdapterFactory`] for code that picks the flavour
/// at run time.
pub struct ShardedRedisAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ShardedRedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRedisAdapterFactory")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl ShardedRedisAdapterFactory {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`) with
    /// the default options.
    pub async fn new(url: &str) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        Self::connect(url, ShardedRedisAdapterConfig::default()).await
    }

    /// Connects to the Redis at `url` with `config`.
    pub async fn connect(
        url: &str,
        config: ShardedRedisAdapterConfig,
    ) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        Self::with_config(redis::Client::open(url)?, config).await
    }

    /// Connects with `client` and `config`: the publishing and the
    /// subscriber connections are open when this returns.
    pub async fn with_config(
        client: redis::Client,
        config: ShardedRedisAdapterConfig,
    ) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        let codec = ShardedCodec::new(config.channel_prefix.clone())
            .subscription_mode(config.subscription_mode);
        let engine = EngineConfig {
            requests_timeout: config.requests_timeout,
            max_queued_publishes: config.max_queued_publishes,
            recovery: config.recovery,
        };
        let shared = start_engine(
            client,
            Wire::Sharded(codec),
            engine,
            "sharded Redis adapter",
        )
        .await?;
        Ok(ShardedRedisAdapterFactory { shared })
    }
}

impl AdapterFactory for ShardedRedisAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        RedisAdapterFactory::from_shared(self.shared.clone()).create(nsp)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        create_adapter(&self.shared, nsp, local)
    }
}

impl From<ShardedRedisAdapterFactory> for RedisAdapterFactory {
    fn from(f: ShardedRedisAdapterFactory) -> RedisAdapterFactory {
        RedisAdapterFactory::from_shared(f.shared)
    }
}
