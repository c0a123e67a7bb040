//! The sans-IO cluster layer: the messages Socket.IO servers exchange through
//! a broker, and the wire codecs of the official Node adapters, so a Rust
//! server can join a cluster of Node servers.
//!
//! The codecs do no IO: they turn typed messages into [`RedisCommand`]s
//! for a transport to send, and turn what a transport received (a pub/sub
//! payload, a stream entry) back into typed messages. [`state`] holds the
//! request bookkeeping every flavour shares. On top of them, the crate's
//! generic cluster adapter runs the tasks (publishing in order, request
//! timers, local delivery once a broadcast's offset is known) over a small
//! transport per broker.
//!
//! Two wire families exist, as the Node adapters write them:
//! * [`classic`]: `@socket.io/redis-adapter` `createAdapter()` (8.x) and
//!   `@socket.io/redis-emitter`: msgpack broadcasts on `key#nsp#[room#]`,
//!   JSON requests and responses on `key-request#nsp#` / `key-response#…`;
//! * the `ClusterAdapter` protocol of `socket.io-adapter` 2.5, an envelope
//!   `{type, data, uid, nsp}` with [`MessageType`] 1–13, framed by
//!   [`sharded`] (`createShardedAdapter()`, SPUBLISH) and [`streams`]
//!   (`@socket.io/redis-streams-adapter` 0.3, and 0.2 as a legacy mode),
//!   and by [`postgres`] (`@socket.io/postgres-adapter`, LISTEN/NOTIFY with
//!   heartbeats).
//!
//! Both map onto the same model: an [`Envelope`] around a [`ClusterMessage`]
//! (what a server asks of the others) or a [`ClusterResponse`] (an answer to
//! one request).

// The generic cluster adapter serves the broker transports; without one
// (neither `redis` nor `postgres`) nothing uses it.
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) mod adapter;
mod answer;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod apply;
pub mod classic;
mod decode;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) mod delivery;
pub mod json;
pub mod msgpack;
pub mod postgres;
mod remote;
mod shape;
pub mod sharded;
pub mod state;
pub mod streams;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;

use super::{BroadcastFlags, BroadcastOptions, Room};
use crate::proto::Value;

pub(crate) use crate::wire::date::iso_from_millis;
pub use remote::{node_date_string, RemoteHandshake, RemoteSocket};

/// The uid `@socket.io/redis-emitter` and other emitters publish with; never
/// a member of the cluster.
pub const EMITTER_UID: &str = "emitter";

/// The id of one adapter instance (one namespace on one server), as it
/// appears in every message it publishes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(Arc<str>);

impl ServerId {
    /// An id with the given text.
    pub fn new(id: impl Into<Arc<str>>) -> ServerId {
        ServerId(id.into())
    }

    /// The reserved [`EMITTER_UID`].
    pub fn emitter() -> ServerId {
        ServerId::new(EMITTER_UID)
    }

    /// A fresh id in the classic adapter's shape: 6 base64url characters
    /// (`uid2(6)`).
    pub fn random_classic() -> ServerId {
        ServerId::new(classic_request_id())
    }

    /// A fresh id in the `ClusterAdapter`'s shape: 16 hex digits
    /// (`randomBytes(8).toString("hex")`).
    pub fn random_hex() -> ServerId {
        ServerId::new(hex_request_id())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the reserved emitter uid.
    pub fn is_emitter(&self) -> bool {
        &*self.0 == EMITTER_UID
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerId({})", &self.0)
    }
}

impl From<&str> for ServerId {
    fn from(s: &str) -> ServerId {
        ServerId::new(s)
    }
}

impl From<String> for ServerId {
    fn from(s: String) -> ServerId {
        ServerId::new(s)
    }
}

impl std::borrow::Borrow<str> for ServerId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Correlates the responses of a request with it; any string on the wire.
pub type RequestId = String;

const UID2_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A fresh request id in the classic adapter's shape (`uid2(6)`).
pub fn classic_request_id() -> RequestId {
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(UID2_CHARS[rng.random_range(0..UID2_CHARS.len())]))
        .collect()
}

/// A fresh request id in the `ClusterAdapter`'s shape (16 hex digits).
pub fn hex_request_id() -> RequestId {
    format!("{:016x}", rand::random::<u64>())
}

/// The `MessageType` enum of `socket.io-adapter`'s `ClusterAdapter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// A server announces itself; peers answer with a heartbeat.
    InitialHeartbeat = 1,
    /// A server is alive.
    Heartbeat = 2,
    /// A broadcast, with or without acknowledgements.
    Broadcast = 3,
    /// Matching sockets join rooms.
    SocketsJoin = 4,
    /// Matching sockets leave rooms.
    SocketsLeave = 5,
    /// Matching sockets are disconnected.
    DisconnectSockets = 6,
    /// A request for the matching sockets.
    FetchSockets = 7,
    /// The answer to [`MessageType::FetchSockets`].
    FetchSocketsResponse = 8,
    /// An event for the other servers.
    ServerSideEmit = 9,
    /// The acknowledgement of a [`MessageType::ServerSideEmit`].
    ServerSideEmitResponse = 10,
    /// How many clients a broadcast with acknowledgements reached.
    BroadcastClientCount = 11,
    /// One client's acknowledgement of a broadcast.
    BroadcastAck = 12,
    /// A server leaves the cluster.
    AdapterClose = 13,
}

impl MessageType {
    /// The type with this wire number.
    pub fn from_u8(n: u8) -> Option<MessageType> {
        use MessageType::*;
        Some(match n {
            1 => InitialHeartbeat,
            2 => Heartbeat,
            3 => Broadcast,
            4 => SocketsJoin,
            5 => SocketsLeave,
            6 => DisconnectSockets,
            7 => FetchSockets,
            8 => FetchSocketsResponse,
            9 => ServerSideEmit,
            10 => ServerSideEmitResponse,
            11 => BroadcastClientCount,
            12 => BroadcastAck,
            13 => AdapterClose,
            _ => return None,
        })
    }

    /// Whether messages of this type are responses to a request.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            MessageType::FetchSocketsResponse
                | MessageType::ServerSideEmitResponse
                | MessageType::BroadcastClientCount
                | MessageType::BroadcastAck
        )
    }
}

/// The packet inside a broadcast: `{type, data}` (plus `nsp` in the classic
/// protocol, carried by [`Envelope::nsp`] here).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPacket {
    /// The Socket.IO packet type: always 2 (EVENT) from Node, which promotes
    /// it to BINARY_EVENT per client; 5 is accepted too.
    pub kind: u8,
    /// The event name and arguments.
    pub data: Vec<Value>,
}

impl ClusterPacket {
    /// An EVENT packet.
    pub fn event(data: Vec<Value>) -> ClusterPacket {
        ClusterPacket { kind: 2, data }
    }
}

/// `opts.flags` as Node sends them: every key is optional and written only
/// when present, in this order (Node writes them in the order the user set
/// them; the order carries no meaning).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireFlags {
    /// `volatile`.
    pub volatile: Option<bool>,
    /// `compress`.
    pub compress: Option<bool>,
    /// `local` (never published by Node, whose local broadcasts stay local).
    pub local: Option<bool>,
    /// `broadcast`.
    pub broadcast: Option<bool>,
    /// `binary`.
    pub binary: Option<bool>,
    /// `timeout`, in milliseconds.
    pub timeout: Option<u64>,
    /// `expectSingleResponse` (set by `RemoteSocket#emitWithAck`).
    pub expect_single_response: Option<bool>,
}

/// `opts` on the wire: `{rooms, except, flags}` (the classic protocol omits
/// `flags` outside broadcasts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireOptions {
    /// Target rooms; empty means every socket of the namespace.
    pub rooms: Vec<Room>,
    /// Excluded rooms.
    pub except: Vec<Room>,
    /// Flags.
    pub flags: WireFlags,
}

impl WireOptions {
    /// The wire form of the server's options, as Node's `encodeOptions`
    /// builds it: rooms and except deduplicated in order, flags only where
    /// set.
    pub fn from_local(opts: &BroadcastOptions) -> WireOptions {
        fn dedup(rooms: &[Room]) -> Vec<Room> {
            let mut out: Vec<Room> = Vec::with_capacity(rooms.len());
            for r in rooms {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
            out
        }
        let f = &opts.flags;
        WireOptions {
            rooms: dedup(&opts.rooms),
            except: dedup(&opts.except),
            flags: WireFlags {
                volatile: f.volatile.then_some(true),
                compress: f.compress,
                local: f.local.then_some(true),
                timeout: f
                    .timeout
                    .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
                ..WireFlags::default()
            },
        }
    }

    /// The server's view of these options. `expectSingleResponse`,
    /// `broadcast` and `binary` have no counterpart there and are dropped.
    pub fn to_local(&self) -> BroadcastOptions {
        let f = &self.flags;
        BroadcastOptions {
            rooms: self.rooms.clone(),
            except: self.except.clone(),
            flags: BroadcastFlags {
                local: f.local == Some(true),
                volatile: f.volatile == Some(true),
                compress: f.compress,
                timeout: f.timeout.map(Duration::from_millis),
            },
        }
    }
}

impl From<&BroadcastOptions> for WireOptions {
    fn from(opts: &BroadcastOptions) -> WireOptions {
        WireOptions::from_local(opts)
    }
}

/// What one server asks of the others.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterMessage {
    /// A server starts (heartbeat flavours); peers answer with a heartbeat.
    InitialHeartbeat,
    /// A server is alive (heartbeat flavours).
    Heartbeat,
    /// A server leaves (heartbeat flavours).
    AdapterClose,
    /// Deliver `packet` to the matching local sockets; with a `request_id`,
    /// report the client count and each client's acknowledgement.
    Broadcast {
        /// The packet.
        packet: ClusterPacket,
        /// Which sockets.
        opts: WireOptions,
        /// Present when acknowledgements are expected.
        request_id: Option<RequestId>,
    },
    /// Matching sockets join `rooms`.
    SocketsJoin {
        /// Which sockets.
        opts: WireOptions,
        /// The rooms to join.
        rooms: Vec<Room>,
    },
    /// Matching sockets leave `rooms`.
    SocketsLeave {
        /// Which sockets.
        opts: WireOptions,
        /// The rooms to leave.
        rooms: Vec<Room>,
    },
    /// Matching sockets are disconnected; with `close`, their whole
    /// connection too.
    DisconnectSockets {
        /// Which sockets.
        opts: WireOptions,
        /// Close the underlying connection.
        close: bool,
    },
    /// Answer with the matching local sockets.
    FetchSockets {
        /// Which sockets.
        opts: WireOptions,
        /// Correlates the answers.
        request_id: RequestId,
    },
    /// An event for the other servers' `serverSideEmit` handlers; with a
    /// `request_id`, each answers with its handler's acknowledgement.
    ServerSideEmit {
        /// The event name and arguments.
        args: Vec<Value>,
        /// Present when acknowledgements are expected.
        request_id: Option<RequestId>,
    },
    /// Answer with every local room (classic protocol only).
    AllRooms {
        /// Correlates the answers.
        request_id: RequestId,
    },
    /// Answer with the ids of the sockets in any of `rooms` (classic
    /// protocol, legacy `SOCKETS`).
    Sockets {
        /// Correlates the answers.
        request_id: RequestId,
        /// Target rooms; empty means all.
        rooms: Vec<Room>,
    },
    /// One socket joins one room (classic protocol, legacy `remoteJoin`).
    RemoteJoin {
        /// Correlates the answer, if one is wanted.
        request_id: Option<RequestId>,
        /// The socket.
        sid: String,
        /// The room.
        room: Room,
    },
    /// One socket leaves one room (classic protocol, legacy `remoteLeave`).
    RemoteLeave {
        /// Correlates the answer, if one is wanted.
        request_id: Option<RequestId>,
        /// The socket.
        sid: String,
        /// The room.
        room: Room,
    },
    /// One socket is disconnected (classic protocol, legacy
    /// `remoteDisconnect`).
    RemoteDisconnect {
        /// Correlates the answer, if one is wanted.
        request_id: Option<RequestId>,
        /// The socket.
        sid: String,
        /// Close the underlying connection.
        close: bool,
    },
}

impl ClusterMessage {
    /// The request id that answers must carry, if answers are expected.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ClusterMessage::Broadcast { request_id, .. }
            | ClusterMessage::ServerSideEmit { request_id, .. }
            | ClusterMessage::RemoteJoin { request_id, .. }
            | ClusterMessage::RemoteLeave { request_id, .. }
            | ClusterMessage::RemoteDisconnect { request_id, .. } => request_id.as_deref(),
            ClusterMessage::FetchSockets { request_id, .. }
            | ClusterMessage::AllRooms { request_id }
            | ClusterMessage::Sockets { request_id, .. } => Some(request_id),
            _ => None,
        }
    }
}

/// An answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterResponse {
    /// The responder's matching sockets.
    FetchSockets {
        /// The request answered.
        request_id: RequestId,
        /// The sockets.
        sockets: Vec<RemoteSocket>,
    },
    /// The responder's `serverSideEmit` acknowledgement (its first
    /// argument; `null` when there was none).
    ServerSideEmit {
        /// The request answered.
        request_id: RequestId,
        /// The acknowledgement.
        value: Value,
    },
    /// How many local clients a broadcast with acknowledgements reached;
    /// always sent, even when 0.
    ClientCount {
        /// The request answered.
        request_id: RequestId,
        /// The number of clients.
        count: u64,
    },
    /// One client's acknowledgement of a broadcast (its first argument).
    Ack {
        /// The request answered.
        request_id: RequestId,
        /// The acknowledgement.
        value: Value,
    },
    /// The responder's rooms (classic protocol only).
    AllRooms {
        /// The request answered.
        request_id: RequestId,
        /// The rooms.
        rooms: Vec<Room>,
    },
    /// The responder's matching socket ids (classic legacy `SOCKETS`).
    SocketIds {
        /// The request answered.
        request_id: RequestId,
        /// The socket ids.
        sockets: Vec<String>,
    },
    /// A legacy single-socket operation was done (classic protocol).
    Done {
        /// The request answered.
        request_id: RequestId,
    },
}

impl ClusterResponse {
    /// The request this answers.
    pub fn request_id(&self) -> &str {
        match self {
            ClusterResponse::FetchSockets { request_id, .. }
            | ClusterResponse::ServerSideEmit { request_id, .. }
            | ClusterResponse::ClientCount { request_id, .. }
            | ClusterResponse::Ack { request_id, .. }
            | ClusterResponse::AllRooms { request_id, .. }
            | ClusterResponse::SocketIds { request_id, .. }
            | ClusterResponse::Done { request_id } => request_id,
        }
    }
}

/// What arrives on a `ClusterAdapter` channel or stream: messages and
/// responses share the envelope and the type numbering there.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A message for every server.
    Message(ClusterMessage),
    /// A response for one server.
    Response(ClusterResponse),
}

/// A message or response with its sender and namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<T> {
    /// The sender: absent on classic responses and on some emitter
    /// requests; [`EMITTER_UID`] for emitters.
    pub uid: Option<ServerId>,
    /// The namespace, e.g. `/`.
    pub nsp: String,
    /// The message or response.
    pub body: T,
}

impl<T> Envelope<T> {
    /// An envelope from `uid` in `nsp`.
    pub fn new(uid: ServerId, nsp: impl Into<String>, body: T) -> Envelope<T> {
        Envelope {
            uid: Some(uid),
            nsp: nsp.into(),
            body,
        }
    }
}

/// How a flavour knows how many servers to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The broker counts the subscribers (`PUBSUB NUMSUB`/`SHARDNUMSUB`):
    /// a request waits for `count - 1` answers.
    Counted,
    /// Servers announce themselves with heartbeats: a request waits for the
    /// uids known when it started.
    Heartbeat,
}

/// One Redis command for a transport to run, arguments as raw bytes (so a
/// payload goes out exactly as encoded).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisCommand {
    /// The command, e.g. `PUBLISH`.
    pub name: &'static str,
    /// Its arguments.
    pub args: Vec<Bytes>,
}

impl RedisCommand {
    /// A command with these arguments.
    pub fn new<I, A>(name: &'static str, args: I) -> RedisCommand
    where
        I: IntoIterator<Item = A>,
        A: Into<Bytes>,
    {
        RedisCommand {
            name,
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// Argument `i` as text, if it is UTF-8.
    pub fn arg_str(&self, i: usize) -> Option<&str> {
        self.args.get(i).and_then(|a| std::str::from_utf8(a).ok())
    }
}

impl fmt::Debug for RedisCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        for a in &self.args {
            match std::str::from_utf8(a) {
                Ok(s) => write!(f, " {s:?}")?,
                Err(_) => write!(f, " <{} bytes>", a.len())?,
            }
        }
        Ok(())
    }
}

/// Why a payload could not be decoded. Node drops such messages; so should
/// a transport (after logging).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cluster message: {0}")]
pub struct DecodeError(String);

impl DecodeError {
    pub(crate) fn new(reason: impl Into<String>) -> DecodeError {
        DecodeError(reason.into())
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A string, buffer, array or map is too long for msgpack (`2^32`).
    #[error("a value is too large for msgpack")]
    TooLarge,
    /// The message does not exist in this protocol (e.g. `AllRooms` in the
    /// `ClusterAdapter` protocol).
    #[error("{0} cannot be sent with this adapter protocol")]
    Unsupported(&'static str),
    /// The message needs a sender uid and has none.
    #[error("the message needs a sender uid")]
    MissingUid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_map_both_ways() {
        let local = BroadcastOptions {
            rooms: vec!["a".into(), "b".into(), "a".into()],
            except: vec!["c".into()],
            flags: BroadcastFlags {
                local: false,
                volatile: true,
                compress: Some(false),
                timeout: Some(Duration::from_millis(1500)),
            },
        };
        let wire = WireOptions::from(&local);
        assert_eq!(wire.rooms, vec![Room::from("a"), Room::from("b")]);
        assert_eq!(
            wire.flags,
            WireFlags {
                volatile: Some(true),
                compress: Some(false),
                timeout: Some(1500),
                ..WireFlags::default()
            }
        );
        let back = wire.to_local();
        assert_eq!(back.flags, local.flags);
        assert_eq!(back.rooms.len(), 2);
    }

    #[test]
    fn ids_have_node_shapes() {
        let classic = ServerId::random_classic();
        assert_eq!(classic.as_str().len(), 6);
        assert!(classic
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let hex = ServerId::random_hex();
        assert_eq!(hex.as_str().len(), 16);
        assert!(hex.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(ServerId::emitter().is_emitter());
        assert_eq!(MessageType::from_u8(13), Some(MessageType::AdapterClose));
        assert_eq!(MessageType::from_u8(14), None);
        assert!(MessageType::BroadcastAck.is_response());
    }
}
