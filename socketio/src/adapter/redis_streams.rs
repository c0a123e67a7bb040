//! The Redis Streams adapter, wire-compatible with
//! `@socket.io/redis-streams-adapter` 0.3.x: Rust and Node servers can share
//! one cluster, and a client can resume its session on any of them.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use socketio::adapter::redis_streams::{RedisStreamsAdapterConfig, RedisStreamsAdapterFactory};
//! let factory = RedisStreamsAdapterFactory::connect(
//!     "redis://127.0.0.1:6379",
//!     RedisStreamsAdapterConfig {
//!         // The server's connection state recovery window.
//!         recovery: Some(Duration::from_secs(120)),
//!         ..Default::default()
//!     },
//! )
//! .await?;
//! let io = socketio::SocketIo::with_adapter(Default::default(), factory);
//! # Ok(()) }
//! ```
//!
//! Durable messages (plain broadcasts, socketsJoin/Leave, disconnectSockets)
//! are appended to one stream (`XADD socket.io MAXLEN ~ 10000 * …`) that
//! every server reads with a blocking `XREAD` from its end, on a connection
//! of its own; requests, server-side emits and broadcasts with
//! acknowledgements go over pub/sub (`socket.io#<nsp>#`, responses on
//! `socket.io#<nsp>#<uid>#`). The server count is `PUBSUB NUMSUB
//! socket.io#<nsp>#`.
//!
//! With `recovery` set, a broadcast's offset is its stream entry id and a
//! disconnected socket's session is kept in Redis (`sio:session:<pid>`,
//! expiring after the recovery window), so the client can reconnect to any
//! server of the cluster, Node or Rust, and get what it missed. An emit does
//! not wait for its `XADD`: its local part goes out once the entry id is
//! known (or without offset after a second), behind earlier emits, and a
//! resuming handshake waits for its lookup, on any tokio runtime.
//!
//! The 0.2.x wire (everything in the stream, heartbeats) is not spoken by
//! this transport; 0.2 and 0.3 servers cannot share a cluster anyway. Keep
//! one stream (`streamCount` 1, the default) in clusters with Node servers:
//! Node maps some namespace names to a stream nobody reads when there are
//! several.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::cluster::state::DEFAULT_REQUEST_TIMEOUT;
use super::cluster::streams::StreamsCodec;
use super::redis::{
    create_adapter, start_engine, EngineConfig, RedisAdapterError, RedisAdapterFactory, Shared,
    Wire,
};
use super::{Adapter, AdapterFactory, LocalNamespace};

/// Options of the Streams adapter, named after Node's.
#[derive(Debug, Clone)]
pub struct RedisStreamsAdapterConfig {
    /// The stream (Node's `streamName`, default `socket.io`).
    pub stream_name: String,
    /// The pub/sub channel prefix (Node's `channelPrefix`, default
    /// `socket.io`).
    pub channel_prefix: String,
    /// Requests and responses over sharded pub/sub (SPUBLISH, Redis 7+)
    /// rather than PUBLISH (Node's `useShardedPubSub`, default false).
    pub use_sharded_pubsub: bool,
    /// The approximate number of entries the stream keeps (Node's `maxLen`,
    /// 10000): it bounds how far back a session can be resumed.
    pub max_len: u64,
    /// Entries per `XREAD` (Node's `readCount`, 100).
    pub read_count: u64,
    /// How long one `XREAD` blocks (Node's `blockTimeInMs`, 5 s).
    pub block_time: Duration,
    /// Where sessions are kept (Node's `sessionKeyPrefix`,
    /// `sio:session:`).
    pub session_key_prefix: String,
    /// How long `fetchSockets` and `serverSideEmitWithAck` wait for the
    /// other servers (5 s, Node's fixed timeout).
    pub requests_timeout: Duration,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while Redis is away.
    pub max_queued_publishes: usize,
    /// Connection state recovery across servers (`None`: off): set it to
    /// the server's `max_disconnection_duration`, which is how long Redis
    /// keeps a disconnected socket's session.
    pub recovery: Option<Duration>,
}

impl Default for RedisStreamsAdapterConfig {
    fn default() -> Self {
        RedisStreamsAdapterConfig {
            stream_name: "socket.io".into(),
            channel_prefix: "socket.io".into(),
            use_sharded_pubsub: false,
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_millis(5_000),
            session_key_prefix: "sio:session:".into(),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_queued_publishes: 65_536,
            recovery: None,
        }
    }
}

/// Creates the Streams adapter of every namespace of one server: pass it to
/// [`crate::SocketIo::with_adapter`]. One factory per server. It converts
/// into a [`RedisAdapterFactory`] for code that picks the flavour at run
/// time.
pub struct RedisStreamsAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisStreamsAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamsAdapterFactory")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl RedisStreamsAdapterFactory {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`) with
    /// the default options.
    pub async fn new(url: &str) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        Self::connect(url, RedisStreamsAdapterConfig::default()).await
    }

    /// Connects to the Redis at `url` with `config`.
    pub async fn connect(
        url: &str,
        config: RedisStreamsAdapterConfig,
    ) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        Self::with_config(redis::Client::open(url)?, config).await
    }

    /// Connects with `client` and `config`: the publishing and subscriber
    /// connections are open and the stream reader started when this
    /// returns.
    pub async fn with_config(
        client: redis::Client,
        config: RedisStreamsAdapterConfig,
    ) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        let codec = StreamsCodec::new()
            .stream_name(config.stream_name.clone())
            .channel_prefix(config.channel_prefix.clone())
            .use_sharded_pubsub(config.use_sharded_pubsub)
            .max_len(config.max_len)
            .read_count(config.read_count.max(1))
            .block_time(config.block_time)
            .session_key_prefix(config.session_key_prefix.clone());
        let engine = EngineConfig {
            requests_timeout: config.requests_timeout,
            max_queued_publishes: config.max_queued_publishes,
            recovery: config.recovery,
        };
        let shared = start_engine(
            client,
            Wire::Streams(codec),
            engine,
            "Redis streams adapter",
        )
        .await?;
        Ok(RedisStreamsAdapterFactory { shared })
    }
}

impl AdapterFactory for RedisStreamsAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        RedisAdapterFactory::from_shared(self.shared.clone()).create(nsp)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        create_adapter(&self.shared, nsp, local)
    }
}

impl From<RedisStreamsAdapterFactory> for RedisAdapterFactory {
    fn from(f: RedisStreamsAdapterFactory) -> RedisAdapterFactory {
        RedisAdapterFactory::from_shared(f.shared)
    }
}
