//! Adapters: where rooms live and how a broadcast finds its recipients.
//!
//! The in-memory [`LocalAdapter`] serves one process; cluster adapters plug
//! in through the same [`Adapter`] trait, answering for remote servers while
//! delegating local work to the namespace.
//!
//! # Scaling out with Redis
//!
//! With the `redis` feature, three factories join a server to a cluster,
//! each wire-compatible with one official Node adapter, so Rust and npm
//! `socket.io` servers can share a cluster:
//!
//! | factory | Node adapter |
//! |---|---|
//! | [`redis::RedisAdapterFactory`] | `@socket.io/redis-adapter` `createAdapter()` |
//! | [`redis_sharded::ShardedRedisAdapterFactory`] | `@socket.io/redis-adapter` `createShardedAdapter()` (Redis 7+) |
//! | [`redis_streams::RedisStreamsAdapterFactory`] | `@socket.io/redis-streams-adapter` 0.3 (recovery across servers) |
//!
//! Each is a small transport (a publishing connection, one subscriber
//! connection per server, plus a stream reader for streams, with
//! reconnection after a Redis restart) under one generic cluster adapter:
//! the request bookkeeping of [`cluster::state`], the application of what
//! other servers ask, recovery offsets and the ordered local delivery of
//! broadcasts. Every factory converts into
//! [`redis::RedisAdapterFactory`] to pick the flavour at run time:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run(flavour: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis::RedisAdapterFactory;
//! use socketio::adapter::redis_sharded::ShardedRedisAdapterFactory;
//! use socketio::adapter::redis_streams::RedisStreamsAdapterFactory;
//! let url = "redis://127.0.0.1:6379";
//! let factory: RedisAdapterFactory = match flavour {
//!     "sharded" => ShardedRedisAdapterFactory::new(url).await?.into(),
//!     "streams" => RedisStreamsAdapterFactory::new(url).await?.into(),
//!     _ => RedisAdapterFactory::new(url).await?,
//! };
//! let io = socketio::SocketIo::with_adapter(Default::default(), factory);
//! # Ok(()) }
//! ```
//!
//! # Scaling out with PostgreSQL
//!
//! With the `postgres` feature, `postgres::PostgresAdapterFactory` joins a
//! cluster of `@socket.io/postgres-adapter` servers: the same generic
//! cluster adapter on a LISTEN/NOTIFY transport, with an attachments table
//! for large and binary messages and heartbeats to count the servers.
//!
//! The repository's `docs/scaling.md` covers mixed clusters, failure
//! behaviour and sticky sessions behind a load balancer.

pub mod cluster;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod recovery;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
pub mod redis_sharded;
#[cfg(feature = "redis")]
pub mod redis_streams;

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::proto::Value;

pub use cluster::{RemoteHandshake, RemoteSocket};
pub use memory::LocalAdapter;
pub use recovery::{RecoveredSession, SessionToPersist};

/// A room name.
pub type Room = Arc<str>;

/// Socket ids are Engine.IO-shaped 20-character ids.
pub use engineio::server::Sid;

/// The flags of a broadcast, as the reference's `BroadcastFlags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Only this server's sockets.
    pub local: bool,
    /// Dropped, not failed, where a send buffer is full.
    pub volatile: bool,
    /// `Some(false)`: the packets go uncompressed even where the transport
    /// compresses (permessage-deflate, a poll's HTTP compression), as the
    /// reference's `compress(false)`. Unset means compress.
    pub compress: Option<bool>,
    /// How long to wait for acknowledgements.
    pub timeout: Option<Duration>,
}

impl BroadcastFlags {
    /// How each target's engine sends the packets.
    pub(crate) fn send_options(&self) -> engineio::server::SendOptions {
        engineio::server::SendOptions {
            compress: self.compress != Some(false),
            volatile: self.volatile,
        }
    }
}

/// Which sockets a broadcast reaches: those in any of `rooms` (every socket
/// when empty) and in none of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Target rooms; empty means the whole namespace.
    pub rooms: Vec<Room>,
    /// Excluded rooms.
    pub except: Vec<Room>,
    /// Flags.
    pub flags: BroadcastFlags,
}

/// A room lifecycle event, as the reference adapter emits them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// The first socket joined the room.
    CreateRoom(Room),
    /// The last socket left the room.
    DeleteRoom(Room),
    /// A socket joined the room.
    JoinRoom(Room, Sid),
    /// A socket left the room.
    LeaveRoom(Room, Sid),
}

/// Receives room events.
pub type RoomListener = Arc<dyn Fn(&RoomEvent) + Send + Sync>;

/// What an adapter may do to the local sockets of its namespace when another
/// server of the cluster asks: the inbound half of a cluster adapter.
/// Implemented by [`crate::server::Namespace`]; an adapter receives it as a
/// `Weak` handle at creation ([`AdapterFactory::create_for`]).
pub trait LocalNamespace: Send + Sync + 'static {
    /// The namespace name, e.g. `/`.
    fn local_name(&self) -> &str;
    /// Delivers an event (`[name, ...args]`) to the matching local sockets,
    /// with its recovery `offset` appended when it has one (listeners of
    /// outgoing events see the event without it).
    fn deliver(&self, data: Vec<Value>, opts: &BroadcastOptions, offset: Option<String>);
    /// Delivers an event expecting acknowledgements: returns how many
    /// clients it reached and a receiver of each client's acknowledgement
    /// arguments, closed once every client answered or `timeout` passed.
    fn deliver_with_ack(
        &self,
        data: Vec<Value>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> (u64, mpsc::UnboundedReceiver<Vec<Value>>);
    /// Makes the matching local sockets join `rooms`.
    fn apply_join(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Makes the matching local sockets leave `rooms`.
    fn apply_leave(&self, opts: &BroadcastOptions, rooms: &[Room]);
    /// Disconnects the matching local sockets; with `close`, their whole
    /// connection.
    fn apply_disconnect(&self, opts: &BroadcastOptions, close: bool);
    /// Describes the matching local sockets, as `fetchSockets` answers do.
    fn describe_sockets(&self, opts: &BroadcastOptions) -> Vec<RemoteSocket>;
    /// Hands a `serverSideEmit` event (`[name, ...args]`) from another
    /// server to the namespace's handlers, with the acknowledgement to send
    /// when the sender wants one.
    fn receive_server_side_emit(&self, data: Vec<Value>, ack: Option<ServerSideAck>);
}

/// The acknowledgement of a `serverSideEmitWithAck` from another server:
/// the first handler to call [`ServerSideAck::send`] answers, later calls do
/// nothing. Cheap to clone.
#[derive(Clone)]
pub struct ServerSideAck(Arc<Mutex<Option<oneshot::Sender<Value>>>>);

impl std::fmt::Debug for ServerSideAck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSideAck")
    }
}

impl ServerSideAck {
    /// An acknowledgement that completes `tx`.
    pub fn new(tx: oneshot::Sender<Value>) -> ServerSideAck {
        ServerSideAck(Arc::new(Mutex::new(Some(tx))))
    }

    /// Answers the requesting server (Node sends the first argument only).
    pub fn send(&self, value: Value) {
        let tx = self.0.lock().take();
        if let Some(tx) = tx {
            let _ = tx.send(value);
        }
    }
}

/// The other servers' part of a broadcast with acknowledgements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteAcks {
    /// Each remote client's acknowledgement (its first argument, as Node
    /// forwards it).
    pub values: Vec<Value>,
    /// Whether every server reported and every remote client answered
    /// before the timeout.
    pub complete: bool,
}

/// What a namespace needs from its adapter. The in-memory adapter is the
/// reference implementation; a cluster adapter keeps this local index and
/// adds the cross-server messaging on top.
pub trait Adapter: Send + Sync + 'static {
    /// Adds a socket to rooms.
    fn add_all(&self, sid: Sid, rooms: &[Room]);
    /// Removes a socket from a room.
    fn del(&self, sid: Sid, room: &str);
    /// Removes a socket from every room; cost proportional to its rooms.
    fn del_all(&self, sid: Sid);
    /// The rooms of a socket.
    fn socket_rooms(&self, sid: Sid) -> Vec<Room>;
    /// The local sockets a broadcast reaches, each once.
    fn sockets(&self, opts: &BroadcastOptions) -> Vec<Sid>;
    /// Every room with at least one local socket.
    fn rooms(&self) -> HashSet<Room>;
    /// The sockets in a room.
    fn room_sockets(&self, room: &str) -> Vec<Sid>;
    /// Registers a listener for room events.
    fn on_room_event(&self, listener: RoomListener);

    /// Broadcasts an event (`[name, ...args]`) with `opts`, end to end: to
    /// the other servers of the cluster (unless `local`), with a recovery
    /// offset when connection state recovery is on (never for `volatile`),
    /// and to this server's matching sockets through `local`.
    ///
    /// Must not block. The local part goes out now, or later once the offset
    /// is known (a cluster adapter whose broker assigns offsets then
    /// delivers through the namespace handle it was created with), always
    /// in the order of the calls. The default delivers at once, without
    /// offset, as a single server without recovery does.
    fn broadcast(&self, data: Vec<Value>, opts: &BroadcastOptions, local: &dyn LocalNamespace) {
        local.deliver(data, opts, None);
    }
    /// Keeps a disconnected socket's session for recovery.
    fn persist_session(&self, _session: SessionToPersist) {}
    /// Takes back a persisted session and the events it missed after
    /// `offset`; the connection waits for it.
    fn restore_session(
        &self,
        _pid: &str,
        _offset: &str,
    ) -> BoxFuture<'static, Option<RecoveredSession>> {
        Box::pin(std::future::ready(None))
    }

    /// Sends an event to the other servers of the cluster and collects their
    /// answers; a single server has no peers, so the answer is empty.
    fn server_side_emit(
        &self,
        _args: Vec<Value>,
        _timeout: Option<Duration>,
    ) -> BoxFuture<'static, Vec<Value>> {
        Box::pin(async { Vec::new() })
    }
    /// Every room across the cluster.
    fn all_rooms(&self) -> BoxFuture<'static, HashSet<Room>> {
        let rooms = self.rooms();
        Box::pin(async move { rooms })
    }

    // The cluster part of the other operations: what the other servers must
    // do. The namespace does the local part itself, and calls these only for
    // operations without the `local` flag. The defaults (a single server)
    // do nothing.

    /// Publishes a broadcast expecting acknowledgements and collects the
    /// other servers' clients' answers until `timeout`.
    fn publish_broadcast_with_ack(
        &self,
        _data: Vec<Value>,
        _opts: &BroadcastOptions,
        _timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        Box::pin(async {
            RemoteAcks {
                values: Vec::new(),
                complete: true,
            }
        })
    }
    /// Asks the other servers to make their matching sockets join `rooms`.
    fn publish_add_sockets(&self, _opts: &BroadcastOptions, _rooms: &[Room]) {}
    /// Asks the other servers to make their matching sockets leave `rooms`.
    fn publish_del_sockets(&self, _opts: &BroadcastOptions, _rooms: &[Room]) {}
    /// Asks the other servers to disconnect their matching sockets.
    fn publish_disconnect_sockets(&self, _opts: &BroadcastOptions, _close: bool) {}
    /// The other servers' matching sockets (partial after a timeout).
    fn fetch_remote_sockets(
        &self,
        _opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Vec<RemoteSocket>> {
        Box::pin(async { Vec::new() })
    }
    /// How many servers the cluster has, this one included.
    fn server_count(&self) -> BoxFuture<'static, usize> {
        Box::pin(async { 1 })
    }
    /// Leaves the cluster (unsubscribes); the adapter serves nothing after.
    fn close(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// Creates one adapter per namespace.
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter of namespace `nsp`.
    fn create(&self, nsp: &str) -> Arc<dyn Adapter>;

    /// The adapter of namespace `nsp`, with a handle through which it
    /// applies what other servers ask (the server calls this one). The
    /// default ignores the handle and calls [`AdapterFactory::create`].
    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        let _ = local;
        self.create(nsp)
    }
}

impl<F> AdapterFactory for F
where
    F: Fn(&str) -> Arc<dyn Adapter> + Send + Sync + 'static,
{
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        self(nsp)
    }
}
