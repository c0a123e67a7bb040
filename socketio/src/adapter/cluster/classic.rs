//! The classic `@socket.io/redis-adapter` protocol (`createAdapter()`, 7.x
//! and 8.x), also spoken by `@socket.io/redis-emitter`.
//!
//! Channels, for prefix `key` (default `socket.io`):
//! * broadcasts: `key#<nsp>#`, or `key#<nsp>#<room>#` for exactly one room;
//!   received with `PSUBSCRIBE key#<nsp>#*`;
//! * requests: `key-request#<nsp>#`;
//! * responses: `key-response#<nsp>#`, or `key-response#<nsp>#<uid>#` with
//!   `publishOnSpecificResponseChannel` (server-side-emit acknowledgements
//!   always use the common channel).
//!
//! Encodings, as Node chooses them: broadcasts are the msgpack array
//! `[uid, packet, opts]`; broadcasts with acknowledgements and the ack
//! responses are msgpack maps; everything else is JSON. Receivers take JSON
//! when the payload starts with `{` and msgpack otherwise, so where Node
//! would write a buffer into JSON (turning it into `{"type":"Buffer",…}`),
//! this codec writes msgpack instead and the buffer stays a buffer.
//!
//! The server count is `PUBSUB NUMSUB key-request#<nsp>#`: it counts the
//! requester, so a server must have exactly one connection subscribed to
//! that channel per namespace ([`super::Membership::Counted`]).

use bytes::Bytes;

use super::decode::{self, json_or_msgpack, object, take, Map};
use super::shape::{self, Node};
use super::{
    json, msgpack, ClusterMessage, ClusterResponse, DecodeError, EncodeError, Envelope,
    RedisCommand, ServerId,
};
use crate::proto::Value;

/// The classic adapter's `RequestType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestType {
    /// Legacy: the ids of the sockets in some rooms.
    Sockets = 0,
    /// Every room.
    AllRooms = 1,
    /// `socketsJoin` (legacy: one socket joins one room).
    RemoteJoin = 2,
    /// `socketsLeave` (legacy: one socket leaves one room).
    RemoteLeave = 3,
    /// `disconnectSockets` (legacy: one socket).
    RemoteDisconnect = 4,
    /// `fetchSockets`.
    RemoteFetch = 5,
    /// `serverSideEmit` and its acknowledgements.
    ServerSideEmit = 6,
    /// A broadcast with acknowledgements.
    Broadcast = 7,
    /// How many clients such a broadcast reached.
    BroadcastClientCount = 8,
    /// One client's acknowledgement.
    BroadcastAck = 9,
}

/// What a channel is for, relative to one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicChannel<'a> {
    /// A broadcast, to one `room` when the channel names one.
    Broadcast {
        /// The room in the channel name.
        room: Option<&'a str>,
    },
    /// A request.
    Request,
    /// A response, on a requester's own channel when `uid` is set.
    Response {
        /// The requester of the specific channel.
        uid: Option<&'a str>,
    },
}

/// A decoded classic payload.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassicIncoming {
    /// A broadcast or a request.
    Message(Envelope<ClusterMessage>),
    /// A response (classic responses carry no uid).
    Response(Envelope<ClusterResponse>),
}

/// The classic protocol's channel names and codec.
#[derive(Debug, Clone)]
pub struct ClassicCodec {
    key: String,
    specific_responses: bool,
}

impl Default for ClassicCodec {
    fn default() -> ClassicCodec {
        ClassicCodec::new("socket.io")
    }
}

impl ClassicCodec {
    /// A codec for channel prefix `key` (Node's `key` option).
    pub fn new(key: impl Into<String>) -> ClassicCodec {
        ClassicCodec {
            key: key.into(),
            specific_responses: false,
        }
    }

    /// Node's `publishOnSpecificResponseChannel`: answer on the requester's
    /// own channel instead of the common one.
    pub fn publish_on_specific_response_channel(mut self, on: bool) -> ClassicCodec {
        self.specific_responses = on;
        self
    }

    /// The channel prefix.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `key#<nsp>#`, or `key#<nsp>#<room>#`.
    pub fn broadcast_channel(&self, nsp: &str, room: Option<&str>) -> String {
        match room {
            Some(room) => format!("{}#{nsp}#{room}#", self.key),
            None => format!("{}#{nsp}#", self.key),
        }
    }

    /// `key#<nsp>#*`, the pattern every broadcast channel matches.
    pub fn broadcast_pattern(&self, nsp: &str) -> String {
        format!("{}#{nsp}#*", self.key)
    }

    /// `key-request#<nsp>#`.
    pub fn request_channel(&self, nsp: &str) -> String {
        format!("{}-request#{nsp}#", self.key)
    }

    /// `key-response#<nsp>#`.
    pub fn response_channel(&self, nsp: &str) -> String {
        format!("{}-response#{nsp}#", self.key)
    }

    /// `key-response#<nsp>#<uid>#`.
    pub fn specific_response_channel(&self, nsp: &str, uid: &str) -> String {
        format!("{}-response#{nsp}#{uid}#", self.key)
    }

    /// What a server subscribes to for `nsp` (Node 8.x does the same):
    /// `PSUBSCRIBE` of the broadcast pattern, then one `SUBSCRIBE` of the
    /// request, common response and own response channels.
    pub fn subscribe_commands(&self, nsp: &str, uid: &ServerId) -> Vec<RedisCommand> {
        vec![
            RedisCommand::new("PSUBSCRIBE", [self.broadcast_pattern(nsp)]),
            RedisCommand::new(
                "SUBSCRIBE",
                [
                    self.request_channel(nsp),
                    self.response_channel(nsp),
                    self.specific_response_channel(nsp, uid.as_str()),
                ],
            ),
        ]
    }

    /// What a closing adapter unsubscribes from, one channel per command as
    /// Node does.
    pub fn unsubscribe_commands(&self, nsp: &str, uid: &ServerId) -> Vec<RedisCommand> {
        vec![
            RedisCommand::new("PUNSUBSCRIBE", [self.broadcast_pattern(nsp)]),
            RedisCommand::new("UNSUBSCRIBE", [self.request_channel(nsp)]),
            RedisCommand::new("UNSUBSCRIBE", [self.response_channel(nsp)]),
            RedisCommand::new(
                "UNSUBSCRIBE",
                [self.specific_response_channel(nsp, uid.as_str())],
            ),
        ]
    }

    /// `PUBSUB NUMSUB key-request#<nsp>#`; the reply's count includes the
    /// requester.
    pub fn server_count_command(&self, nsp: &str) -> RedisCommand {
        RedisCommand::new("PUBSUB", ["NUMSUB".to_owned(), self.request_channel(nsp)])
    }

    /// What `channel` carries for namespace `nsp`, or `None` if it is not
    /// one of that namespace's channels.
    pub fn channel_kind<'c>(&self, nsp: &str, channel: &'c str) -> Option<ClassicChannel<'c>> {
        let strip = |prefix: String| channel.strip_prefix(prefix.as_str());
        if let Some(rest) = strip(self.broadcast_channel(nsp, None)) {
            return match rest {
                "" => Some(ClassicChannel::Broadcast { room: None }),
                _ => rest
                    .strip_suffix('#')
                    .map(|room| ClassicChannel::Broadcast { room: Some(room) }),
            };
        }
        if channel == self.request_channel(nsp) {
            return Some(ClassicChannel::Request);
        }
        if let Some(rest) = strip(self.response_channel(nsp)) {
            return match rest {
                "" => Some(ClassicChannel::Response { uid: None }),
                _ => rest
                    .strip_suffix('#')
                    .map(|uid| ClassicChannel::Response { uid: Some(uid) }),
            };
        }
        None
    }

    /// Decodes what arrived on `channel` for namespace `nsp`.
    ///
    /// A broadcast's namespace is the one in its packet (`/` when absent), as
    /// Node reads it; the receiver drops it if it differs from `nsp`.
    pub fn decode(
        &self,
        nsp: &str,
        channel: &str,
        payload: &[u8],
    ) -> Result<ClassicIncoming, DecodeError> {
        match self.channel_kind(nsp, channel) {
            Some(ClassicChannel::Broadcast { .. }) => decode_broadcast(payload),
            Some(ClassicChannel::Request) => decode_request(nsp, payload),
            Some(ClassicChannel::Response { .. }) => decode_response(nsp, payload),
            None => Err(DecodeError::new(format!(
                "`{channel}` is not a channel of namespace {nsp}"
            ))),
        }
    }

    /// The `requestId` of a JSON response on a response channel of `nsp`,
    /// read without decoding the rest: every server hears every response on
    /// the common channel (as in Node), and a `fetchSockets` answer for
    /// another server is then skipped unread. `None` for anything else
    /// (msgpack, another channel, an id that is not a string), which is
    /// decoded as usual.
    pub fn response_request_id<'p>(
        &self,
        nsp: &str,
        channel: &str,
        payload: &'p [u8],
    ) -> Option<std::borrow::Cow<'p, str>> {
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(rename = "requestId", borrow)]
            request_id: Option<std::borrow::Cow<'a, str>>,
        }
        if !matches!(
            self.channel_kind(nsp, channel),
            Some(ClassicChannel::Response { .. })
        ) || payload.first() != Some(&b'{')
        {
            return None;
        }
        serde_json::from_slice::<Head<'p>>(payload)
            .ok()
            .and_then(|h| h.request_id)
    }

    /// Encodes a message as Node would publish it: plain broadcasts on the
    /// broadcast channel (the room's channel for exactly one room), the rest
    /// on the request channel.
    pub fn encode_message(
        &self,
        envelope: &Envelope<ClusterMessage>,
    ) -> Result<RedisCommand, EncodeError> {
        let nsp = envelope.nsp.as_str();
        let uid = envelope.uid.as_ref().map(|u| Node::Str(u.as_str()));
        if let ClusterMessage::Broadcast {
            packet,
            opts,
            request_id: None,
        } = &envelope.body
        {
            let room = match opts.rooms.as_slice() {
                [room] => Some(&**room),
                _ => None,
            };
            let tree = Node::Array(vec![
                uid.unwrap_or(Node::Null),
                shape::packet(packet, Some(nsp)),
                shape::opts(opts, true),
            ]);
            return Ok(publish(
                self.broadcast_channel(nsp, room),
                msgpack::encode_node(&tree)?.into(),
            ));
        }
        let (kind, (id, fields)) = request_fields(&envelope.body, nsp)?;
        let mut m = Vec::with_capacity(6);
        if let Some(uid) = uid {
            m.push(("uid", uid));
        }
        if let Some(id) = id {
            m.push(("requestId", Node::Str(id)));
        }
        m.push(("type", Node::UInt(kind as u64)));
        m.extend(fields);
        let tree = Node::Map(m);
        let msgpack = matches!(kind, RequestType::Broadcast) || tree.has_binary();
        Ok(publish(self.request_channel(nsp), encode(&tree, msgpack)?))
    }

    /// What `@socket.io/redis-emitter` publishes for `emit`: the msgpack
    /// array `["emitter", packet, {rooms, flags, except}]` on the broadcast
    /// channel (the room's channel for exactly one room). Its options keep
    /// the emitter's key order, so the bytes are the npm emitter's.
    #[cfg(feature = "redis")]
    pub(crate) fn encode_emitter_broadcast(
        &self,
        nsp: &str,
        packet: &super::ClusterPacket,
        rooms: &[crate::adapter::Room],
        except: &[crate::adapter::Room],
        flags: &[(&str, bool)],
    ) -> Result<RedisCommand, EncodeError> {
        let room = match rooms {
            [room] => Some(&**room),
            _ => None,
        };
        let tree = Node::Array(vec![
            Node::Str(super::EMITTER_UID),
            shape::packet(packet, Some(nsp)),
            shape::emitter_opts(rooms, except, flags),
        ]);
        Ok(publish(
            self.broadcast_channel(nsp, room),
            msgpack::encode_node(&tree)?.into(),
        ))
    }

    /// Encodes a response to a request from `requester` (absent for
    /// emitters) in namespace `nsp`, on the channel Node would use.
    pub fn encode_response(
        &self,
        nsp: &str,
        requester: Option<&ServerId>,
        response: &ClusterResponse,
    ) -> Result<RedisCommand, EncodeError> {
        let id = Node::Str(response.request_id());
        let (tree, msgpack, common) = match response {
            ClusterResponse::ServerSideEmit { value, .. } => (
                Node::Map(vec![
                    ("type", Node::UInt(RequestType::ServerSideEmit as u64)),
                    ("requestId", id),
                    ("data", Node::Value(value)),
                ]),
                false,
                true,
            ),
            ClusterResponse::ClientCount { count, .. } => (
                Node::Map(vec![
                    ("type", Node::UInt(RequestType::BroadcastClientCount as u64)),
                    ("requestId", id),
                    ("clientCount", Node::UInt(*count)),
                ]),
                false,
                false,
            ),
            ClusterResponse::Ack { value, .. } => (
                Node::Map(vec![
                    ("type", Node::UInt(RequestType::BroadcastAck as u64)),
                    ("requestId", id),
                    ("packet", Node::Value(value)),
                ]),
                true,
                false,
            ),
            other => (shape::response_data(other), false, false),
        };
        let msgpack = msgpack || tree.has_binary();
        let channel = match requester {
            Some(uid) if self.specific_responses && !common => {
                self.specific_response_channel(nsp, uid.as_str())
            }
            _ => self.response_channel(nsp),
        };
        Ok(publish(channel, encode(&tree, msgpack)?))
    }
}

fn publish(channel: String, payload: Bytes) -> RedisCommand {
    RedisCommand {
        name: "PUBLISH",
        args: vec![channel.into(), payload],
    }
}

fn encode(tree: &Node<'_>, msgpack: bool) -> Result<Bytes, EncodeError> {
    Ok(if msgpack {
        msgpack::encode_node(tree)?.into()
    } else {
        json::encode_node(tree).into()
    })
}

/// A request's id, if any, and its fields after `type`.
type Fields<'a> = (Option<&'a str>, Vec<(&'a str, Node<'a>)>);

/// The request type, request id and remaining fields of a request, in
/// Node's key order (after `uid`, `requestId` and `type`).
fn request_fields<'a>(
    m: &'a ClusterMessage,
    nsp: &'a str,
) -> Result<(RequestType, Fields<'a>), EncodeError> {
    let opts = |o| ("opts", shape::opts(o, false));
    Ok(match m {
        ClusterMessage::Broadcast {
            packet,
            opts: o,
            request_id,
        } => (
            RequestType::Broadcast,
            (
                request_id.as_deref(),
                vec![
                    ("packet", shape::packet(packet, Some(nsp))),
                    ("opts", shape::opts(o, true)),
                ],
            ),
        ),
        ClusterMessage::SocketsJoin { opts: o, rooms } => (
            RequestType::RemoteJoin,
            (None, vec![opts(o), ("rooms", shape::rooms(rooms))]),
        ),
        ClusterMessage::SocketsLeave { opts: o, rooms } => (
            RequestType::RemoteLeave,
            (None, vec![opts(o), ("rooms", shape::rooms(rooms))]),
        ),
        ClusterMessage::DisconnectSockets { opts: o, close } => (
            RequestType::RemoteDisconnect,
            (None, vec![opts(o), ("close", Node::Bool(*close))]),
        ),
        ClusterMessage::FetchSockets {
            opts: o,
            request_id,
        } => (RequestType::RemoteFetch, (Some(request_id), vec![opts(o)])),
        ClusterMessage::ServerSideEmit { args, request_id } => (
            RequestType::ServerSideEmit,
            (request_id.as_deref(), vec![("data", shape::values(args))]),
        ),
        ClusterMessage::AllRooms { request_id } => {
            (RequestType::AllRooms, (Some(request_id), Vec::new()))
        }
        ClusterMessage::Sockets { request_id, rooms } => (
            RequestType::Sockets,
            (Some(request_id), vec![("rooms", shape::rooms(rooms))]),
        ),
        ClusterMessage::RemoteJoin {
            request_id,
            sid,
            room,
        } => (
            RequestType::RemoteJoin,
            (
                request_id.as_deref(),
                vec![("sid", Node::Str(sid)), ("room", Node::Str(room))],
            ),
        ),
        ClusterMessage::RemoteLeave {
            request_id,
            sid,
            room,
        } => (
            RequestType::RemoteLeave,
            (
                request_id.as_deref(),
                vec![("sid", Node::Str(sid)), ("room", Node::Str(room))],
            ),
        ),
        ClusterMessage::RemoteDisconnect {
            request_id,
            sid,
            close,
        } => (
            RequestType::RemoteDisconnect,
            (
                request_id.as_deref(),
                vec![("sid", Node::Str(sid)), ("close", Node::Bool(*close))],
            ),
        ),
        ClusterMessage::InitialHeartbeat
        | ClusterMessage::Heartbeat
        | ClusterMessage::AdapterClose => {
            return Err(EncodeError::Unsupported("a heartbeat"));
        }
    })
}

fn uid_of(m: &mut Map) -> Option<ServerId> {
    match take(m, "uid") {
        Some(Value::String(s)) => Some(ServerId::from(s)),
        _ => None,
    }
}

/// `[uid, packet, opts]`.
fn decode_broadcast(payload: &[u8]) -> Result<ClassicIncoming, DecodeError> {
    let Value::Array(items) = json_or_msgpack(payload)? else {
        return Err(DecodeError::new("a broadcast is not an array"));
    };
    let mut items = items.into_iter();
    let uid = match items.next() {
        Some(Value::String(s)) => Some(ServerId::from(s)),
        _ => None,
    };
    let (packet, nsp) = decode::packet(
        items
            .next()
            .ok_or_else(|| DecodeError::new("a broadcast has no packet"))?,
    )?;
    let opts = match items.next() {
        Some(v) => decode::options(v)?,
        None => Default::default(),
    };
    Ok(ClassicIncoming::Message(Envelope {
        uid,
        nsp: nsp.unwrap_or_else(|| "/".to_owned()),
        body: ClusterMessage::Broadcast {
            packet,
            opts,
            request_id: None,
        },
    }))
}

fn opts_of(m: &mut Map) -> Result<super::WireOptions, DecodeError> {
    decode::options(decode::required(m, "opts")?)
}

fn decode_request(nsp: &str, payload: &[u8]) -> Result<ClassicIncoming, DecodeError> {
    let mut m = object(json_or_msgpack(payload)?, "a request")?;
    let uid = uid_of(&mut m);
    let kind = decode::uint(&decode::required(&mut m, "type")?, "type")?;
    let m = &mut m;
    let legacy = take(m, "opts");
    let body = match kind {
        0 => ClusterMessage::Sockets {
            request_id: decode::request_id(m)?,
            rooms: decode::rooms(take(m, "rooms"))?,
        },
        1 => ClusterMessage::AllRooms {
            request_id: decode::request_id(m)?,
        },
        2 | 3 => match legacy {
            Some(o) => {
                let opts = decode::options(o)?;
                let rooms = decode::rooms(take(m, "rooms"))?;
                if kind == 2 {
                    ClusterMessage::SocketsJoin { opts, rooms }
                } else {
                    ClusterMessage::SocketsLeave { opts, rooms }
                }
            }
            None => {
                let request_id = decode::opt_request_id(m)?;
                let sid = decode::string(decode::required(m, "sid")?, "sid")?;
                let room = decode::room(decode::required(m, "room")?)?;
                if kind == 2 {
                    ClusterMessage::RemoteJoin {
                        request_id,
                        sid,
                        room,
                    }
                } else {
                    ClusterMessage::RemoteLeave {
                        request_id,
                        sid,
                        room,
                    }
                }
            }
        },
        4 => {
            let close = matches!(take(m, "close"), Some(Value::Bool(true)));
            match legacy {
                Some(o) => ClusterMessage::DisconnectSockets {
                    opts: decode::options(o)?,
                    close,
                },
                None => ClusterMessage::RemoteDisconnect {
                    request_id: decode::opt_request_id(m)?,
                    sid: decode::string(decode::required(m, "sid")?, "sid")?,
                    close,
                },
            }
        }
        5 => ClusterMessage::FetchSockets {
            request_id: decode::request_id(m)?,
            opts: match legacy {
                Some(o) => decode::options(o)?,
                None => opts_of(m)?,
            },
        },
        6 => ClusterMessage::ServerSideEmit {
            request_id: decode::opt_request_id(m)?,
            args: decode::args(decode::required(m, "data")?, "data")?,
        },
        7 => {
            let (packet, _) = decode::packet(decode::required(m, "packet")?)?;
            ClusterMessage::Broadcast {
                packet,
                request_id: Some(decode::request_id(m)?),
                opts: match legacy {
                    Some(o) => decode::options(o)?,
                    None => Default::default(),
                },
            }
        }
        other => {
            return Err(DecodeError::new(format!("unknown request type {other}")));
        }
    };
    Ok(ClassicIncoming::Message(Envelope {
        uid,
        nsp: nsp.to_owned(),
        body,
    }))
}

/// Classic responses name their kind only for acknowledgements; the others
/// are told apart by their fields, as the requester's pending request does
/// in Node. An empty `sockets` array reads as a `fetchSockets` answer.
fn decode_response(nsp: &str, payload: &[u8]) -> Result<ClassicIncoming, DecodeError> {
    if payload.first() == Some(&b'{') {
        // The common large answer, read without a map per socket.
        if let Some(answer) = std::str::from_utf8(payload)
            .ok()
            .and_then(super::answer::fetch_answer)
        {
            return Ok(ClassicIncoming::Response(Envelope {
                uid: None,
                nsp: nsp.to_owned(),
                body: ClusterResponse::FetchSockets {
                    request_id: answer.request_id,
                    sockets: answer.sockets,
                },
            }));
        }
    }
    let mut m = object(json_or_msgpack(payload)?, "a response")?;
    let kind = match take(&mut m, "type") {
        Some(t) => Some(decode::uint(&t, "type")?),
        None => None,
    };
    let m = &mut m;
    let request_id = decode::request_id(m)?;
    let body = match kind {
        Some(6) => ClusterResponse::ServerSideEmit {
            request_id,
            value: m.shift_remove("data").unwrap_or(Value::Null),
        },
        Some(8) => ClusterResponse::ClientCount {
            request_id,
            count: decode::uint(&decode::required(m, "clientCount")?, "clientCount")?,
        },
        Some(9) => ClusterResponse::Ack {
            request_id,
            value: m.shift_remove("packet").unwrap_or(Value::Null),
        },
        Some(other) => {
            return Err(DecodeError::new(format!("unknown response type {other}")));
        }
        None => match (take(m, "sockets"), take(m, "rooms")) {
            (Some(Value::Array(s)), _)
                if !s.is_empty() && s.iter().all(|s| s.as_str().is_some()) =>
            {
                ClusterResponse::SocketIds {
                    request_id,
                    sockets: s
                        .into_iter()
                        .map(|s| decode::string(s, "socket id"))
                        .collect::<Result<_, _>>()?,
                }
            }
            (Some(s), _) => ClusterResponse::FetchSockets {
                request_id,
                sockets: decode::sockets(Some(s))?,
            },
            (None, Some(r)) => ClusterResponse::AllRooms {
                request_id,
                rooms: decode::rooms(Some(r))?,
            },
            (None, None) => ClusterResponse::Done { request_id },
        },
    };
    Ok(ClassicIncoming::Response(Envelope {
        uid: None,
        nsp: nsp.to_owned(),
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::cluster::{ClusterPacket, WireOptions};

    fn codec() -> ClassicCodec {
        ClassicCodec::default().publish_on_specific_response_channel(true)
    }

    fn text(c: &RedisCommand) -> String {
        String::from_utf8_lossy(&c.args[1]).into_owned()
    }

    #[test]
    fn channels_are_recognised() {
        let c = codec();
        assert_eq!(
            c.channel_kind("/", "socket.io#/#"),
            Some(ClassicChannel::Broadcast { room: None })
        );
        assert_eq!(
            c.channel_kind("/", "socket.io#/#room#1#"),
            Some(ClassicChannel::Broadcast {
                room: Some("room#1")
            })
        );
        assert_eq!(
            c.channel_kind("/", "socket.io-response#/#abc#"),
            Some(ClassicChannel::Response { uid: Some("abc") })
        );
        assert_eq!(c.channel_kind("/", "socket.io#/admin#"), None);
        assert_eq!(c.channel_kind("/", "socket.io#/#x"), None);
        assert!(c.decode("/", "other", b"{}").is_err());
    }

    #[test]
    fn a_response_names_its_request_before_it_is_decoded() {
        let c = codec();
        let fetch = br#"{"requestId":"abc123","sockets":[{"id":"s","handshake":{},"rooms":[],"data":null}]}"#;
        let id = c.response_request_id("/", "socket.io-response#/#", fetch);
        assert_eq!(id.as_deref(), Some("abc123"));
        // On a server's own response channel, wherever the id stands.
        let late = br#"{"rooms":["a"],"requestId":"x\"y"}"#;
        let id = c.response_request_id("/", "socket.io-response#/#me#", late);
        assert_eq!(id.as_deref(), Some("x\"y"));
        // Decoded as usual: requests, another namespace, msgpack, a number.
        assert!(c
            .response_request_id("/", "socket.io-request#/#", fetch)
            .is_none());
        assert!(c
            .response_request_id("/admin", "socket.io-response#/#", fetch)
            .is_none());
        assert!(c
            .response_request_id("/", "socket.io-response#/#", b"\x82\xa9requestId")
            .is_none());
        let number = br#"{"requestId":12,"sockets":[]}"#;
        assert!(c
            .response_request_id("/", "socket.io-response#/#", number)
            .is_none());
        assert!(c.decode("/", "socket.io-response#/#", number).is_ok());
    }

    #[test]
    fn emitter_requests_have_no_uid() {
        // What @socket.io/redis-emitter 5 publishes for socketsJoin.
        let payload = br#"{"type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}"#;
        let decoded = codec().decode("/", "socket.io-request#/#", payload);
        let Ok(ClassicIncoming::Message(env)) = decoded else {
            panic!("{decoded:?}")
        };
        assert_eq!(env.uid, None);
        let cmd = codec().encode_message(&env).ok();
        assert_eq!(
            cmd.map(|c| text(&c)),
            Some(String::from_utf8_lossy(payload).into())
        );
        // Its broadcasts: [ "emitter", packet, {rooms, flags, except} ].
        let tree = Node::Array(vec![
            Node::Str("emitter"),
            Node::Map(vec![
                ("type", Node::UInt(2)),
                ("data", Node::Array(vec![Node::Str("ev")])),
            ]),
            Node::Map(vec![
                ("rooms", Node::Array(vec![])),
                ("flags", Node::Map(vec![])),
                ("except", Node::Array(vec![])),
            ]),
        ]);
        let bytes = msgpack::encode_node(&tree).unwrap_or_default();
        let decoded = codec().decode("/", "socket.io#/#", &bytes);
        let Ok(ClassicIncoming::Message(env)) = decoded else {
            panic!("{decoded:?}")
        };
        assert_eq!(env.uid, Some(ServerId::emitter()));
        assert_eq!(env.nsp, "/");
    }

    #[test]
    fn legacy_requests_round_trip() {
        for body in [
            ClusterMessage::Sockets {
                request_id: "r1".into(),
                rooms: vec!["a".into()],
            },
            ClusterMessage::RemoteJoin {
                request_id: Some("r2".into()),
                sid: "s".into(),
                room: "a".into(),
            },
            ClusterMessage::RemoteLeave {
                request_id: None,
                sid: "s".into(),
                room: "a".into(),
            },
            ClusterMessage::RemoteDisconnect {
                request_id: Some("r3".into()),
                sid: "s".into(),
                close: true,
            },
        ] {
            let env = Envelope::new(ServerId::from("abcdef"), "/", body);
            let cmd = codec().encode_message(&env);
            let Ok(cmd) = cmd else { panic!("{cmd:?}") };
            assert_eq!(cmd.arg_str(0), Some("socket.io-request#/#"));
            let back = codec().decode("/", "socket.io-request#/#", &cmd.args[1]);
            assert_eq!(back, Ok(ClassicIncoming::Message(env)));
        }
        for body in [
            ClusterResponse::SocketIds {
                request_id: "r1".into(),
                sockets: vec!["s1".into()],
            },
            ClusterResponse::Done {
                request_id: "r2".into(),
            },
        ] {
            let cmd = codec().encode_response("/", None, &body);
            let Ok(cmd) = cmd else { panic!("{cmd:?}") };
            assert_eq!(cmd.arg_str(0), Some("socket.io-response#/#"));
            let back = codec().decode("/", "socket.io-response#/#", &cmd.args[1]);
            assert_eq!(
                back,
                Ok(ClassicIncoming::Response(Envelope {
                    uid: None,
                    nsp: "/".into(),
                    body
                }))
            );
        }
    }

    #[test]
    fn binary_switches_json_to_msgpack() {
        let env = Envelope::new(
            ServerId::from("abcdef"),
            "/",
            ClusterMessage::ServerSideEmit {
                args: vec!["ev".into(), Value::from(vec![1u8, 2])],
                request_id: None,
            },
        );
        let cmd = codec().encode_message(&env);
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        assert_eq!(cmd.args[1][0], 0x83);
        let back = codec().decode("/", "socket.io-request#/#", &cmd.args[1]);
        assert_eq!(back, Ok(ClassicIncoming::Message(env)));

        let uid = ServerId::from("req123");
        let ack = ClusterResponse::ServerSideEmit {
            request_id: "r".into(),
            value: Value::from(vec![9u8]),
        };
        let cmd = codec().encode_response("/", Some(&uid), &ack);
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        // Server-side-emit answers always go to the common channel.
        assert_eq!(cmd.arg_str(0), Some("socket.io-response#/#"));
        assert_ne!(cmd.args[1][0], b'{');
        let count = ClusterResponse::ClientCount {
            request_id: "r".into(),
            count: 0,
        };
        let cmd = codec().encode_response("/", Some(&uid), &count);
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        assert_eq!(cmd.arg_str(0), Some("socket.io-response#/#req123#"));
        assert_eq!(text(&cmd), r#"{"type":8,"requestId":"r","clientCount":0}"#);
    }

    #[test]
    fn broadcast_channels() {
        let env = |rooms: &[&str], request_id: Option<&str>| {
            Envelope::new(
                ServerId::from("abcdef"),
                "/chat",
                ClusterMessage::Broadcast {
                    packet: ClusterPacket::event(vec!["ev".into()]),
                    opts: WireOptions {
                        rooms: rooms.iter().map(|&r| r.into()).collect(),
                        ..WireOptions::default()
                    },
                    request_id: request_id.map(str::to_owned),
                },
            )
        };
        let channel = |e| {
            codec()
                .encode_message(&e)
                .ok()
                .and_then(|c| c.arg_str(0).map(str::to_owned))
        };
        assert_eq!(channel(env(&[], None)).as_deref(), Some("socket.io#/chat#"));
        assert_eq!(
            channel(env(&["r"], None)).as_deref(),
            Some("socket.io#/chat#r#")
        );
        assert_eq!(
            channel(env(&["r", "s"], None)).as_deref(),
            Some("socket.io#/chat#")
        );
        assert_eq!(
            channel(env(&["r"], Some("q"))).as_deref(),
            Some("socket.io-request#/chat#")
        );
        assert!(codec()
            .encode_message(&Envelope::new(
                ServerId::from("a"),
                "/",
                ClusterMessage::Heartbeat
            ))
            .is_err());
    }
}
