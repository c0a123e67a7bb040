//! Decoded trees ([`Value`]) to typed messages. Fields are moved out, never
//! cloned. Lenient where Node is (numbers where strings are expected are
//! read as JS would print them, missing optional fields take Node's
//! defaults), strict where a message would make no sense.

use indexmap::IndexMap;

use super::json::number_text;
use super::{
    ClusterMessage, ClusterPacket, ClusterResponse, DecodeError, Frame, MessageType,
    RemoteHandshake, RemoteSocket, RequestId, WireFlags, WireOptions,
};
use crate::adapter::{Room, SessionToPersist, Sid};
use crate::proto::Value;

pub(crate) type Map = IndexMap<String, Value>;

fn err(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::new(what.to_string())
}

/// Decodes JSON when the payload starts with `{`, msgpack otherwise, as
/// every Node receiver does.
pub(crate) fn json_or_msgpack(payload: &[u8]) -> Result<Value, DecodeError> {
    if payload.first() == Some(&b'{') {
        super::json::decode_value(payload)
    } else {
        super::msgpack::decode_value(payload)
    }
}

pub(crate) fn object(v: Value, what: &str) -> Result<Map, DecodeError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(err(format_args!("{what} is not an object"))),
    }
}

/// Removes `key`; JSON `null` counts as absent (JS code tests these fields
/// for `undefined`, which `null` never is on the wire from Node).
pub(crate) fn take(m: &mut Map, key: &str) -> Option<Value> {
    m.shift_remove(key).filter(|v| !v.is_null())
}

pub(crate) fn required(m: &mut Map, key: &str) -> Result<Value, DecodeError> {
    take(m, key).ok_or_else(|| err(format_args!("missing `{key}`")))
}

/// A string, or a number as JS prints it.
pub(crate) fn string(v: Value, what: &str) -> Result<String, DecodeError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(number_text(&n)),
        _ => Err(err(format_args!("{what} is not a string"))),
    }
}

pub(crate) fn opt_string(m: &mut Map, key: &str) -> Result<Option<String>, DecodeError> {
    take(m, key).map(|v| string(v, key)).transpose()
}

pub(crate) fn request_id(m: &mut Map) -> Result<RequestId, DecodeError> {
    string(required(m, "requestId")?, "requestId")
}

pub(crate) fn opt_request_id(m: &mut Map) -> Result<Option<RequestId>, DecodeError> {
    opt_string(m, "requestId")
}

/// A non-negative integer (an integral double counts, as in JS).
pub(crate) fn uint(v: &Value, what: &str) -> Result<u64, DecodeError> {
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) => {
            Ok(f as u64)
        }
        _ => Err(err(format_args!("{what} is not a non-negative integer"))),
    }
}

/// JS truthiness, for flags Node tests with `if (x)`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

pub(crate) fn room(v: Value) -> Result<Room, DecodeError> {
    string(v, "a room").map(Room::from)
}

/// An array of rooms; absent means none.
pub(crate) fn rooms(v: Option<Value>) -> Result<Vec<Room>, DecodeError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.into_iter().map(room).collect(),
        Some(_) => Err(err("rooms are not an array")),
    }
}

fn opt_bool(m: &mut Map, key: &str) -> Option<bool> {
    match m.shift_remove(key) {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Null) | None => None,
        Some(other) => Some(truthy(&other)),
    }
}

pub(crate) fn flags(v: Option<Value>) -> WireFlags {
    let Some(Value::Object(mut m)) = v else {
        return WireFlags::default();
    };
    WireFlags {
        volatile: opt_bool(&mut m, "volatile"),
        compress: opt_bool(&mut m, "compress"),
        local: opt_bool(&mut m, "local"),
        broadcast: opt_bool(&mut m, "broadcast"),
        binary: opt_bool(&mut m, "binary"),
        timeout: m.shift_remove("timeout").and_then(|t| match t.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 => Some(f as u64),
            _ => None,
        }),
        expect_single_response: opt_bool(&mut m, "expectSingleResponse"),
    }
}

pub(crate) fn options(v: Value) -> Result<WireOptions, DecodeError> {
    let mut m = object(v, "opts")?;
    Ok(WireOptions {
        rooms: rooms(take(&mut m, "rooms"))?,
        except: rooms(take(&mut m, "except"))?,
        flags: flags(take(&mut m, "flags")),
    })
}

pub(crate) fn args(v: Value, what: &str) -> Result<Vec<Value>, DecodeError> {
    match v {
        Value::Array(items) => Ok(items),
        _ => Err(err(format_args!("{what} is not an array"))),
    }
}

/// `{type, data[, nsp]}`; the namespace is returned when present.
pub(crate) fn packet(v: Value) -> Result<(ClusterPacket, Option<String>), DecodeError> {
    let mut m = object(v, "packet")?;
    let kind = match take(&mut m, "type") {
        None => 2,
        Some(t) => {
            u8::try_from(uint(&t, "packet type")?).map_err(|_| err("packet type out of range"))?
        }
    };
    let data = match take(&mut m, "data") {
        None => Vec::new(),
        Some(d) => args(d, "packet data")?,
    };
    let nsp = opt_string(&mut m, "nsp")?;
    Ok((ClusterPacket { kind, data }, nsp))
}

fn text_or_default(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Number(n) => number_text(&n),
        _ => String::new(),
    }
}

fn object_or_default(v: Value) -> Map {
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

fn bool_or_default(v: Value) -> bool {
    match v {
        Value::Bool(b) => b,
        Value::Null => false,
        other => truthy(&other),
    }
}

/// A handshake read field by field, in the order they come (a
/// `fetchSockets` answer carries one per socket: taking the fields out of a
/// map one by one shifted the rest each time); what is not a known field
/// stays in `extra`, in order. JSON answers are read straight into it
/// (`answer.rs`), other payloads through a [`Value`] map.
pub(crate) struct HandshakeFields(RemoteHandshake);

impl HandshakeFields {
    pub(crate) fn new() -> HandshakeFields {
        HandshakeFields(RemoteHandshake::default())
    }

    pub(crate) fn field(&mut self, k: String, v: Value) {
        let h = &mut self.0;
        match k.as_str() {
            "headers" => h.headers = object_or_default(v),
            "time" => h.time = text_or_default(v),
            "address" => h.address = text_or_default(v),
            "xdomain" => h.xdomain = bool_or_default(v),
            "secure" => h.secure = bool_or_default(v),
            "issued" => h.issued = uint(&v, "issued").unwrap_or(0),
            "url" => h.url = text_or_default(v),
            "query" => h.query = object_or_default(v),
            "auth" => h.auth = v,
            _ => {
                h.extra.insert(k, v);
            }
        }
    }

    pub(crate) fn finish(self) -> RemoteHandshake {
        self.0
    }
}

pub(crate) fn handshake(v: Option<Value>) -> RemoteHandshake {
    let Some(Value::Object(m)) = v else {
        return RemoteHandshake::default();
    };
    let mut h = HandshakeFields::new();
    for (k, v) in m {
        h.field(k, v);
    }
    h.finish()
}

/// A socket read field by field, as [`HandshakeFields`].
#[derive(Default)]
pub(crate) struct SocketFields {
    id: Option<Value>,
    handshake: Option<RemoteHandshake>,
    rooms: Option<Value>,
    data: Option<Value>,
}

impl SocketFields {
    /// A field other than `handshake`; unknown ones are ignored.
    pub(crate) fn field(&mut self, k: &str, v: Value) {
        match k {
            // `null` counts as absent, as `take` has it.
            "id" => self.id = Some(v).filter(|v| !v.is_null()),
            "rooms" => self.rooms = Some(v).filter(|v| !v.is_null()),
            "data" => self.data = Some(v),
            "handshake" => self.handshake = Some(handshake(Some(v))),
            _ => {}
        }
    }

    pub(crate) fn handshake(&mut self, h: RemoteHandshake) {
        self.handshake = Some(h);
    }

    pub(crate) fn finish(self) -> Result<RemoteSocket, DecodeError> {
        Ok(RemoteSocket {
            id: string(self.id.ok_or_else(|| err("missing `id`"))?, "socket id")?,
            handshake: self.handshake.unwrap_or_default(),
            rooms: rooms(self.rooms)?,
            data: self.data.unwrap_or(Value::Null),
        })
    }
}

pub(crate) fn socket(v: Value) -> Result<RemoteSocket, DecodeError> {
    let m = object(v, "a socket")?;
    let mut s = SocketFields::default();
    for (k, v) in m {
        s.field(&k, v);
    }
    s.finish()
}

pub(crate) fn sockets(v: Option<Value>) -> Result<Vec<RemoteSocket>, DecodeError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.into_iter().map(socket).collect(),
        Some(_) => Err(err("sockets are not an array")),
    }
}

/// A `ClusterAdapter` message or response from its type and `data`.
pub(crate) fn frame(kind: u64, data: Option<Value>) -> Result<Frame, DecodeError> {
    let kind = u8::try_from(kind)
        .ok()
        .and_then(MessageType::from_u8)
        .ok_or_else(|| err(format_args!("unknown message type {kind}")))?;
    let mut d = match data {
        Some(v) => object(v, "data")?,
        None => Map::new(),
    };
    let message = |m| Ok(Frame::Message(m));
    let response = |r| Ok(Frame::Response(r));
    let d = &mut d;
    match kind {
        MessageType::InitialHeartbeat => message(ClusterMessage::InitialHeartbeat),
        MessageType::Heartbeat => message(ClusterMessage::Heartbeat),
        MessageType::AdapterClose => message(ClusterMessage::AdapterClose),
        MessageType::Broadcast => {
            let (packet, _) = packet(required(d, "packet")?)?;
            message(ClusterMessage::Broadcast {
                packet,
                request_id: opt_request_id(d)?,
                opts: options(required(d, "opts")?)?,
            })
        }
        MessageType::SocketsJoin => message(ClusterMessage::SocketsJoin {
            opts: options(required(d, "opts")?)?,
            rooms: rooms(take(d, "rooms"))?,
        }),
        MessageType::SocketsLeave => message(ClusterMessage::SocketsLeave {
            opts: options(required(d, "opts")?)?,
            rooms: rooms(take(d, "rooms"))?,
        }),
        MessageType::DisconnectSockets => message(ClusterMessage::DisconnectSockets {
            opts: options(required(d, "opts")?)?,
            close: opt_bool(d, "close").unwrap_or(false),
        }),
        MessageType::FetchSockets => message(ClusterMessage::FetchSockets {
            opts: options(required(d, "opts")?)?,
            request_id: request_id(d)?,
        }),
        MessageType::ServerSideEmit => message(ClusterMessage::ServerSideEmit {
            request_id: opt_request_id(d)?,
            args: args(required(d, "packet")?, "packet")?,
        }),
        MessageType::FetchSocketsResponse => response(ClusterResponse::FetchSockets {
            request_id: request_id(d)?,
            sockets: sockets(take(d, "sockets"))?,
        }),
        MessageType::ServerSideEmitResponse => response(ClusterResponse::ServerSideEmit {
            request_id: request_id(d)?,
            value: d.shift_remove("packet").unwrap_or(Value::Null),
        }),
        MessageType::BroadcastClientCount => response(ClusterResponse::ClientCount {
            request_id: request_id(d)?,
            count: uint(&required(d, "clientCount")?, "clientCount")?,
        }),
        MessageType::BroadcastAck => response(ClusterResponse::Ack {
            request_id: request_id(d)?,
            value: d.shift_remove("packet").unwrap_or(Value::Null),
        }),
    }
}

/// `{sid, pid, rooms, data}`, a persisted session.
pub(crate) fn session(v: Value) -> Result<SessionToPersist, DecodeError> {
    let mut m = object(v, "session")?;
    let sid = string(required(&mut m, "sid")?, "sid")?;
    Ok(SessionToPersist {
        sid: Sid::parse(&sid).ok_or_else(|| err("sid is not a socket id"))?,
        pid: string(required(&mut m, "pid")?, "pid")?,
        rooms: rooms(take(&mut m, "rooms"))?,
        data: m.shift_remove("data").unwrap_or(Value::Null),
    })
}
