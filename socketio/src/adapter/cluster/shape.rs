//! Typed messages to the object trees Node builds, key order included, so
//! one tree can be written as JSON or msgpack byte for byte as Node would.
//! Payload values are borrowed, never cloned.

use super::{
    ClusterMessage, ClusterPacket, ClusterResponse, EncodeError, Envelope, MessageType,
    RemoteHandshake, RemoteSocket, ServerId, WireFlags, WireOptions,
};
use crate::adapter::{Room, SessionToPersist};
use crate::proto::Value;

/// A JS object tree about to be written; maps keep the order given.
#[derive(Debug)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    UInt(u64),
    Str(&'a str),
    Value(&'a Value),
    Array(Vec<Node<'a>>),
    Map(Vec<(&'a str, Node<'a>)>),
}

impl Node<'_> {
    /// Whether a buffer appears anywhere (Node's `hasBinary`).
    pub(crate) fn has_binary(&self) -> bool {
        match self {
            Node::Value(v) => v.has_binary(),
            Node::Array(items) => items.iter().any(Node::has_binary),
            Node::Map(entries) => entries.iter().any(|(_, v)| v.has_binary()),
            _ => false,
        }
    }
}

pub(crate) fn rooms(rooms: &[Room]) -> Node<'_> {
    Node::Array(rooms.iter().map(|r| Node::Str(r)).collect())
}

pub(crate) fn values(values: &[Value]) -> Node<'_> {
    Node::Array(values.iter().map(Node::Value).collect())
}

pub(crate) fn flags(f: &WireFlags) -> Node<'_> {
    let mut m = Vec::new();
    let bools = [
        ("volatile", f.volatile),
        ("compress", f.compress),
        ("local", f.local),
        ("broadcast", f.broadcast),
        ("binary", f.binary),
    ];
    for (k, v) in bools {
        if let Some(v) = v {
            m.push((k, Node::Bool(v)));
        }
    }
    if let Some(t) = f.timeout {
        m.push(("timeout", Node::UInt(t)));
    }
    if let Some(v) = f.expect_single_response {
        m.push(("expectSingleResponse", Node::Bool(v)));
    }
    Node::Map(m)
}

/// `{rooms, except[, flags]}`.
pub(crate) fn opts(o: &WireOptions, with_flags: bool) -> Node<'_> {
    let mut m = vec![("rooms", rooms(&o.rooms)), ("except", rooms(&o.except))];
    if with_flags {
        m.push(("flags", flags(&o.flags)));
    }
    Node::Map(m)
}

/// `{rooms, flags, except}`: the key order of `@socket.io/redis-emitter`'s
/// broadcast options (a server writes `except` before `flags`), with the
/// flags in the order they were first set, as its `Object.assign` keeps
/// them.
#[cfg(feature = "redis")]
pub(crate) fn emitter_opts<'a>(
    to: &'a [Room],
    except: &'a [Room],
    flags: &[(&'a str, bool)],
) -> Node<'a> {
    Node::Map(vec![
        ("rooms", rooms(to)),
        (
            "flags",
            Node::Map(flags.iter().map(|&(k, v)| (k, Node::Bool(v))).collect()),
        ),
        ("except", rooms(except)),
    ])
}

/// `{type, data[, nsp]}`.
pub(crate) fn packet<'a>(p: &'a ClusterPacket, nsp: Option<&'a str>) -> Node<'a> {
    let mut m = vec![
        ("type", Node::UInt(u64::from(p.kind))),
        ("data", values(&p.data)),
    ];
    if let Some(nsp) = nsp {
        m.push(("nsp", Node::Str(nsp)));
    }
    Node::Map(m)
}

fn object(entries: &indexmap::IndexMap<String, Value>) -> Node<'_> {
    Node::Map(
        entries
            .iter()
            .map(|(k, v)| (k.as_str(), Node::Value(v)))
            .collect(),
    )
}

pub(crate) fn handshake(h: &RemoteHandshake) -> Node<'_> {
    let mut m = vec![
        ("headers", object(&h.headers)),
        ("time", Node::Str(&h.time)),
        ("address", Node::Str(&h.address)),
        ("xdomain", Node::Bool(h.xdomain)),
        ("secure", Node::Bool(h.secure)),
        ("issued", Node::UInt(h.issued)),
        ("url", Node::Str(&h.url)),
        ("query", object(&h.query)),
        ("auth", Node::Value(&h.auth)),
    ];
    m.extend(h.extra.iter().map(|(k, v)| (k.as_str(), Node::Value(v))));
    Node::Map(m)
}

/// `{id, handshake, rooms, data}`, what `fetchSockets` answers with.
pub(crate) fn socket(s: &RemoteSocket) -> Node<'_> {
    Node::Map(vec![
        ("id", Node::Str(&s.id)),
        ("handshake", handshake(&s.handshake)),
        ("rooms", rooms(&s.rooms)),
        ("data", Node::Value(&s.data)),
    ])
}

pub(crate) fn sockets(sockets: &[RemoteSocket]) -> Node<'_> {
    Node::Array(sockets.iter().map(socket).collect())
}

/// `{sid, pid, rooms, data}`, a persisted session.
pub(crate) fn session(s: &SessionToPersist) -> Node<'_> {
    Node::Map(vec![
        ("sid", Node::Str(s.sid.as_str())),
        ("pid", Node::Str(&s.pid)),
        ("rooms", rooms(&s.rooms)),
        ("data", Node::Value(&s.data)),
    ])
}

/// The `ClusterAdapter` type of a message.
pub(crate) fn message_type(m: &ClusterMessage) -> Result<MessageType, EncodeError> {
    Ok(match m {
        ClusterMessage::InitialHeartbeat => MessageType::InitialHeartbeat,
        ClusterMessage::Heartbeat => MessageType::Heartbeat,
        ClusterMessage::AdapterClose => MessageType::AdapterClose,
        ClusterMessage::Broadcast { .. } => MessageType::Broadcast,
        ClusterMessage::SocketsJoin { .. } => MessageType::SocketsJoin,
        ClusterMessage::SocketsLeave { .. } => MessageType::SocketsLeave,
        ClusterMessage::DisconnectSockets { .. } => MessageType::DisconnectSockets,
        ClusterMessage::FetchSockets { .. } => MessageType::FetchSockets,
        ClusterMessage::ServerSideEmit { .. } => MessageType::ServerSideEmit,
        ClusterMessage::AllRooms { .. } => return Err(EncodeError::Unsupported("AllRooms")),
        ClusterMessage::Sockets { .. } => return Err(EncodeError::Unsupported("Sockets")),
        ClusterMessage::RemoteJoin { .. }
        | ClusterMessage::RemoteLeave { .. }
        | ClusterMessage::RemoteDisconnect { .. } => {
            return Err(EncodeError::Unsupported("a legacy single-socket request"))
        }
    })
}

/// The `data` of a `ClusterAdapter` message, in Node's key order.
pub(crate) fn message_data(m: &ClusterMessage) -> Option<Node<'_>> {
    Some(match m {
        ClusterMessage::Broadcast {
            packet: p,
            opts: o,
            request_id,
        } => {
            let mut d = vec![("packet", packet(p, None))];
            if let Some(id) = request_id {
                d.push(("requestId", Node::Str(id)));
            }
            d.push(("opts", opts(o, true)));
            Node::Map(d)
        }
        ClusterMessage::SocketsJoin { opts: o, rooms: r }
        | ClusterMessage::SocketsLeave { opts: o, rooms: r } => {
            Node::Map(vec![("opts", opts(o, true)), ("rooms", rooms(r))])
        }
        ClusterMessage::DisconnectSockets { opts: o, close } => {
            Node::Map(vec![("opts", opts(o, true)), ("close", Node::Bool(*close))])
        }
        ClusterMessage::FetchSockets {
            opts: o,
            request_id,
        } => Node::Map(vec![
            ("opts", opts(o, true)),
            ("requestId", Node::Str(request_id)),
        ]),
        ClusterMessage::ServerSideEmit { args, request_id } => {
            let mut d = Vec::with_capacity(2);
            if let Some(id) = request_id {
                d.push(("requestId", Node::Str(id)));
            }
            d.push(("packet", values(args)));
            Node::Map(d)
        }
        _ => return None,
    })
}

/// The `ClusterAdapter` type of a response.
pub(crate) fn response_type(r: &ClusterResponse) -> Result<MessageType, EncodeError> {
    Ok(match r {
        ClusterResponse::FetchSockets { .. } => MessageType::FetchSocketsResponse,
        ClusterResponse::ServerSideEmit { .. } => MessageType::ServerSideEmitResponse,
        ClusterResponse::ClientCount { .. } => MessageType::BroadcastClientCount,
        ClusterResponse::Ack { .. } => MessageType::BroadcastAck,
        ClusterResponse::AllRooms { .. } => return Err(EncodeError::Unsupported("AllRooms")),
        ClusterResponse::SocketIds { .. } | ClusterResponse::Done { .. } => {
            return Err(EncodeError::Unsupported("a legacy response"))
        }
    })
}

/// The `data` of a `ClusterAdapter` response, in Node's key order.
pub(crate) fn response_data(r: &ClusterResponse) -> Node<'_> {
    let id = Node::Str(r.request_id());
    match r {
        ClusterResponse::FetchSockets { sockets: s, .. } => {
            Node::Map(vec![("requestId", id), ("sockets", sockets(s))])
        }
        ClusterResponse::ServerSideEmit { value, .. } | ClusterResponse::Ack { value, .. } => {
            Node::Map(vec![("requestId", id), ("packet", Node::Value(value))])
        }
        ClusterResponse::ClientCount { count, .. } => {
            Node::Map(vec![("requestId", id), ("clientCount", Node::UInt(*count))])
        }
        ClusterResponse::AllRooms { rooms: r, .. } => {
            Node::Map(vec![("requestId", id), ("rooms", rooms(r))])
        }
        ClusterResponse::SocketIds { sockets: s, .. } => Node::Map(vec![
            ("requestId", id),
            (
                "sockets",
                Node::Array(s.iter().map(|s| Node::Str(s)).collect()),
            ),
        ]),
        ClusterResponse::Done { .. } => Node::Map(vec![("requestId", id)]),
    }
}

/// A message's `{type, data, uid, nsp}` tree, with its type.
pub(crate) fn message_envelope(
    e: &Envelope<ClusterMessage>,
) -> Result<(MessageType, Node<'_>), EncodeError> {
    let kind = message_type(&e.body)?;
    let tree = envelope(kind, message_data(&e.body), e.uid.as_ref(), &e.nsp);
    Ok((kind, tree))
}

/// A response's `{type, data, uid, nsp}` tree, with its type.
pub(crate) fn response_envelope(
    e: &Envelope<ClusterResponse>,
) -> Result<(MessageType, Node<'_>), EncodeError> {
    let kind = response_type(&e.body)?;
    let tree = envelope(kind, Some(response_data(&e.body)), e.uid.as_ref(), &e.nsp);
    Ok((kind, tree))
}

/// `{type[, data][, uid], nsp}`: what `publishAndReturnOffset` and
/// `publishResponse` build.
pub(crate) fn envelope<'a>(
    kind: MessageType,
    data: Option<Node<'a>>,
    uid: Option<&'a ServerId>,
    nsp: &'a str,
) -> Node<'a> {
    let mut m = Vec::with_capacity(4);
    m.push(("type", Node::UInt(kind as u64)));
    if let Some(data) = data {
        m.push(("data", data));
    }
    if let Some(uid) = uid {
        m.push(("uid", Node::Str(uid.as_str())));
    }
    m.push(("nsp", Node::Str(nsp)));
    Node::Map(m)
}
