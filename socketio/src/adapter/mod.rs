//! Adapters: where rooms live and how a broadcast finds its recipients.
//!
//! The in-memory [`LocalAdapter`] serves one process; cluster adapters plug
//! in through the same [`Adapter`] trait, answering for remote servers while
//! delegating local work to the namespace.

pub mod cluster;
mod memory;
mod recovery;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::proto::Value;

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
    /// Compression hint (WebSocket per-message deflate is off, so advisory).
    pub compress: Option<bool>,
    /// How long to wait for acknowledgements.
    pub timeout: Option<Duration>,
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

    /// Records an event broadcast with `opts` for connection state recovery
    /// and returns the offset to append to it; `None` when recovery is off.
    fn store_packet(&self, _opts: &BroadcastOptions, _data: &[Value]) -> Option<String> {
        None
    }
    /// Keeps a disconnected socket's session for recovery.
    fn persist_session(&self, _session: SessionToPersist) {}
    /// Takes back a persisted session and the events it missed after `offset`.
    fn restore_session(&self, _pid: &str, _offset: &str) -> Option<RecoveredSession> {
        None
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
}

/// Creates one adapter per namespace.
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter of namespace `nsp`.
    fn create(&self, nsp: &str) -> Arc<dyn Adapter>;
}

impl<F> AdapterFactory for F
where
    F: Fn(&str) -> Arc<dyn Adapter> + Send + Sync + 'static,
{
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        self(nsp)
    }
}
