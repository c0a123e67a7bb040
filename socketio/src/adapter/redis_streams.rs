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
//!     // The server's connection state recovery window.
//!     RedisStreamsAdapterConfig::default().recovery(Some(Duration::from_secs(120))),
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

pub use super::redis::streams::{RedisStreamsAdapterConfig, RedisStreamsAdapterFactory};
