//! The sharded Redis adapter (`createShardedAdapter()`, redis-adapter 8.2+,
//! Redis 7+): the `ClusterAdapter` envelope over sharded pub/sub.
//!
//! Channels, for prefix `channelPrefix` (default `socket.io`):
//! * `prefix#<nsp>#`: every message, except…
//! * `prefix#<nsp>#<room>#`: plain broadcasts to exactly one room, in the
//!   "dynamic" subscription modes (not for rooms that look like a socket id,
//!   i.e. 20 characters long, in "dynamic" mode); servers subscribe to the
//!   channels of their local rooms;
//! * `prefix#<nsp>#<uid>#`: responses to server `uid`.
//!
//! A message is `{type, data, uid, nsp}` in JSON, or in msgpack when `data`
//! holds a buffer; receivers tell them apart by the first byte. The server
//! count is `PUBSUB SHARDNUMSUB prefix#<nsp>#`.

use bytes::Bytes;

use super::decode::{self, json_or_msgpack, object, take};
use super::shape::{self, Node};
use super::{
    json, msgpack, ClusterMessage, ClusterResponse, DecodeError, EncodeError, Envelope, Frame,
    RedisCommand, ServerId,
};
use crate::proto::Value;

/// Which rooms get a channel of their own (Node's `subscriptionMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// Two channels per namespace, none per room.
    Static,
    /// Plus one per public room (not a socket's own room). Node's default.
    #[default]
    Dynamic,
    /// Plus one per room, private ones included.
    DynamicPrivate,
}

/// The sharded adapter's channel names and codec.
#[derive(Debug, Clone)]
pub struct ShardedCodec {
    prefix: String,
    mode: SubscriptionMode,
}

impl Default for ShardedCodec {
    fn default() -> ShardedCodec {
        ShardedCodec::new("socket.io")
    }
}

/// Node's `looksLikeASocketId`.
fn looks_like_a_socket_id(room: &str) -> bool {
    // JS string length counts UTF-16 code units.
    room.encode_utf16().count() == 20
}

impl ShardedCodec {
    /// A codec for channel prefix `prefix`, in "dynamic" mode.
    pub fn new(prefix: impl Into<String>) -> ShardedCodec {
        ShardedCodec {
            prefix: prefix.into(),
            mode: SubscriptionMode::default(),
        }
    }

    /// Sets the subscription mode; every server of a cluster must use the
    /// same one.
    pub fn subscription_mode(mut self, mode: SubscriptionMode) -> ShardedCodec {
        self.mode = mode;
        self
    }

    /// The subscription mode.
    pub fn mode(&self) -> SubscriptionMode {
        self.mode
    }

    /// `prefix#<nsp>#`.
    pub fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.prefix)
    }

    /// `prefix#<nsp>#<uid>#`, where `uid`'s responses arrive.
    pub fn response_channel(&self, nsp: &str, uid: &str) -> String {
        format!("{}#{nsp}#{uid}#", self.prefix)
    }

    /// `prefix#<nsp>#<room>#`.
    pub fn room_channel(&self, nsp: &str, room: &str) -> String {
        format!("{}#{nsp}#{room}#", self.prefix)
    }

    /// `SSUBSCRIBE` of the namespace channel and the own response channel,
    /// one command each as Node sends them.
    pub fn subscribe_commands(&self, nsp: &str, uid: &ServerId) -> Vec<RedisCommand> {
        vec![
            RedisCommand::new("SSUBSCRIBE", [self.channel(nsp)]),
            RedisCommand::new("SSUBSCRIBE", [self.response_channel(nsp, uid.as_str())]),
        ]
    }

    /// Whether a local room gets its own channel; `private` means the room
    /// is a local socket's own id.
    pub fn room_has_channel(&self, private: bool) -> bool {
        match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !private,
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    /// The `SSUBSCRIBE` to send when a room is created locally, if any.
    pub fn room_created(&self, nsp: &str, room: &str, private: bool) -> Option<RedisCommand> {
        self.room_has_channel(private)
            .then(|| RedisCommand::new("SSUBSCRIBE", [self.room_channel(nsp, room)]))
    }

    /// The `SUNSUBSCRIBE` to send when the last local socket left a room,
    /// if any.
    pub fn room_deleted(&self, nsp: &str, room: &str, private: bool) -> Option<RedisCommand> {
        self.room_has_channel(private)
            .then(|| RedisCommand::new("SUNSUBSCRIBE", [self.room_channel(nsp, room)]))
    }

    /// What a closing adapter unsubscribes from: its two channels, then the
    /// channels of its local rooms (`(room, private)` pairs).
    pub fn unsubscribe_commands<'r>(
        &self,
        nsp: &str,
        uid: &ServerId,
        rooms: impl IntoIterator<Item = (&'r str, bool)>,
    ) -> Vec<RedisCommand> {
        let mut out = vec![
            RedisCommand::new("SUNSUBSCRIBE", [self.channel(nsp)]),
            RedisCommand::new("SUNSUBSCRIBE", [self.response_channel(nsp, uid.as_str())]),
        ];
        out.extend(
            rooms
                .into_iter()
                .filter_map(|(room, private)| self.room_deleted(nsp, room, private)),
        );
        out
    }

    /// `PUBSUB SHARDNUMSUB prefix#<nsp>#` (on a Redis Cluster, summed over
    /// the masters, as Node does).
    pub fn server_count_command(&self, nsp: &str) -> RedisCommand {
        RedisCommand::new("PUBSUB", ["SHARDNUMSUB".to_owned(), self.channel(nsp)])
    }

    /// Node's `computeChannel`: a plain broadcast to exactly one room goes to
    /// that room's channel (unless it looks like a socket id in "dynamic"
    /// mode), everything else to the namespace channel.
    pub fn message_channel(&self, nsp: &str, message: &ClusterMessage) -> String {
        if let ClusterMessage::Broadcast {
            opts,
            request_id: None,
            ..
        } = message
        {
            if let [room] = opts.rooms.as_slice() {
                let dynamic = match self.mode {
                    SubscriptionMode::Static => false,
                    SubscriptionMode::Dynamic => !looks_like_a_socket_id(room),
                    SubscriptionMode::DynamicPrivate => true,
                };
                if dynamic {
                    return self.room_channel(nsp, room);
                }
            }
        }
        self.channel(nsp)
    }

    /// `SPUBLISH` of a message, on [`Self::message_channel`].
    pub fn encode_message(
        &self,
        envelope: &Envelope<ClusterMessage>,
    ) -> Result<RedisCommand, EncodeError> {
        let (_, tree) = shape::message_envelope(envelope)?;
        Ok(spublish(
            self.message_channel(&envelope.nsp, &envelope.body),
            encode(&tree)?,
        ))
    }

    /// `SPUBLISH` of a response to `requester`, on its response channel.
    pub fn encode_response(
        &self,
        requester: &ServerId,
        envelope: &Envelope<ClusterResponse>,
    ) -> Result<RedisCommand, EncodeError> {
        let (_, tree) = shape::response_envelope(envelope)?;
        Ok(spublish(
            self.response_channel(&envelope.nsp, requester.as_str()),
            encode(&tree)?,
        ))
    }

    /// Decodes a payload from any of the channels.
    pub fn decode(&self, payload: &[u8]) -> Result<Envelope<Frame>, DecodeError> {
        decode_envelope(json_or_msgpack(payload)?)
    }
}

fn spublish(channel: String, payload: Bytes) -> RedisCommand {
    RedisCommand {
        name: "SPUBLISH",
        args: vec![channel.into(), payload],
    }
}

/// JSON unless a buffer is inside (Node checks only the types that may hold
/// one; the others never do).
fn encode(tree: &Node<'_>) -> Result<Bytes, EncodeError> {
    Ok(if tree.has_binary() {
        msgpack::encode_node(tree)?.into()
    } else {
        json::encode_node(tree).into()
    })
}

/// `{type, data, uid, nsp}` to a typed envelope.
pub(crate) fn decode_envelope(v: Value) -> Result<Envelope<Frame>, DecodeError> {
    let mut m = object(v, "a message")?;
    let kind = decode::uint(&decode::required(&mut m, "type")?, "type")?;
    let uid = match take(&mut m, "uid") {
        Some(u) => Some(ServerId::from(decode::string(u, "uid")?)),
        None => None,
    };
    let nsp = decode::string(decode::required(&mut m, "nsp")?, "nsp")?;
    let body = decode::frame(kind, take(&mut m, "data"))?;
    Ok(Envelope { uid, nsp, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::cluster::{ClusterPacket, WireOptions};

    fn broadcast(room: &str, request_id: Option<&str>) -> ClusterMessage {
        ClusterMessage::Broadcast {
            packet: ClusterPacket::event(vec!["ev".into()]),
            opts: WireOptions {
                rooms: vec![room.into()],
                ..WireOptions::default()
            },
            request_id: request_id.map(str::to_owned),
        }
    }

    #[test]
    fn dynamic_channels_follow_node() {
        let sid = "r9UirgchUB5EuzE_AAAA";
        let dynamic = ShardedCodec::default();
        assert_eq!(
            dynamic.message_channel("/", &broadcast("room", None)),
            "socket.io#/#room#"
        );
        assert_eq!(
            dynamic.message_channel("/", &broadcast(sid, None)),
            "socket.io#/#"
        );
        assert_eq!(
            dynamic.message_channel("/", &broadcast("room", Some("q"))),
            "socket.io#/#"
        );
        let private = ShardedCodec::default().subscription_mode(SubscriptionMode::DynamicPrivate);
        assert_eq!(
            private.message_channel("/", &broadcast(sid, None)),
            format!("socket.io#/#{sid}#")
        );
        let fixed = ShardedCodec::default().subscription_mode(SubscriptionMode::Static);
        assert_eq!(
            fixed.message_channel("/", &broadcast("room", None)),
            "socket.io#/#"
        );
        assert_eq!(dynamic.room_created("/", sid, true), None);
        assert!(dynamic.room_created("/", "room", false).is_some());
        assert!(private.room_deleted("/", sid, true).is_some());
        assert_eq!(fixed.room_created("/", "room", false), None);
        let uid = ServerId::from("u");
        let cmds = dynamic.unsubscribe_commands("/", &uid, [("room", false), (sid, true)]);
        assert_eq!(cmds.len(), 3);
    }

    #[test]
    fn heartbeats_and_unsupported_messages() {
        let codec = ShardedCodec::default();
        let env = Envelope::new(ServerId::from("u"), "/", ClusterMessage::Heartbeat);
        let cmd = codec.encode_message(&env);
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        assert_eq!(&cmd.args[1][..], br#"{"type":2,"uid":"u","nsp":"/"}"#);
        assert_eq!(
            codec.decode(&cmd.args[1]),
            Ok(Envelope::new(
                ServerId::from("u"),
                "/",
                Frame::Message(ClusterMessage::Heartbeat)
            ))
        );
        let all_rooms = Envelope::new(
            ServerId::from("u"),
            "/",
            ClusterMessage::AllRooms {
                request_id: "r".into(),
            },
        );
        assert_eq!(
            codec.encode_message(&all_rooms),
            Err(EncodeError::Unsupported("AllRooms"))
        );
        assert!(codec.decode(br#"{"type":99,"uid":"u","nsp":"/"}"#).is_err());
        assert!(codec.decode(br#"{"type":3,"uid":"u","nsp":"/"}"#).is_err());
    }
}
