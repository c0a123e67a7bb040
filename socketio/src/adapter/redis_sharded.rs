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
//! request handling are those of every Redis flavour ([`super::redis`]);
//! the subscriber speaks RESP3, which `redis` needs for sharded pub/sub, so
//! Redis must be 7 or newer (as Node requires). On a Redis Cluster each
//! channel is subscribed on the node that owns its slot, and again on the
//! new owner when the slot moves.

pub use super::redis::sharded::{
    ShardedRedisAdapterConfig, ShardedRedisAdapterFactory, SubscriptionMode,
};
