//! The Postgres adapter (`@socket.io/postgres-adapter` 0.5): the
//! `ClusterAdapterWithHeartbeat` envelope over LISTEN/NOTIFY.
//!
//! Every message and response of namespace `nsp` is `pg_notify`ed on the
//! channel `prefix#<nsp>` (default prefix `socket.io`), as the JSON
//! envelope `{type, data, uid, nsp}`. NOTIFY payloads are limited (8000
//! bytes by default), so a message goes to the attachments table instead,
//! msgpack-encoded (`INSERT … RETURNING id`), when its JSON is longer than
//! `payloadThreshold` bytes, or when it is a broadcast, a broadcast ack, a
//! server-side emit or its response and holds a buffer; the notification
//! is then the header `{uid, type, attachmentId}` and receivers `SELECT`
//! the attachment by id. Servers are counted by heartbeat
//! ([`super::Membership::Heartbeat`]).

use super::decode::{self, object};
use super::shape::{self, Node};
use super::{
    json, msgpack, sharded, ClusterMessage, ClusterResponse, DecodeError, EncodeError, Envelope,
    Frame, MessageType, ServerId,
};
use crate::proto::Value;

/// Node's default `payloadThreshold`, in bytes: PostgreSQL's NOTIFY limit.
pub const DEFAULT_PAYLOAD_THRESHOLD: usize = 8000;

/// What to send for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// `SELECT pg_notify(channel, payload)`.
    Notify {
        /// The namespace's channel.
        channel: String,
        /// The JSON envelope.
        payload: String,
    },
    /// Insert `payload` into the attachments table, then notify
    /// [`PostgresCodec::attachment_header`] with the new row's id.
    Attachment {
        /// The namespace's channel.
        channel: String,
        /// The msgpack envelope.
        payload: Vec<u8>,
        /// The sender, repeated in the header.
        uid: Option<ServerId>,
        /// The message type, repeated in the header.
        kind: MessageType,
    },
}

/// What a notification holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A whole message or response.
    Frame(Envelope<Frame>),
    /// The header of a message kept in the attachments table: fetch row
    /// `id` and decode it with [`PostgresCodec::decode_attachment`].
    Attachment {
        /// The sender (a server can skip its own attachments).
        uid: Option<ServerId>,
        /// The row id.
        id: i64,
    },
}

/// The Postgres adapter's channel names and codec, with Node's defaults.
#[derive(Debug, Clone)]
pub struct PostgresCodec {
    prefix: String,
    payload_threshold: usize,
}

impl Default for PostgresCodec {
    fn default() -> PostgresCodec {
        PostgresCodec::new("socket.io")
    }
}

impl PostgresCodec {
    /// A codec for channel prefix `prefix` (Node's `channelPrefix`).
    pub fn new(prefix: impl Into<String>) -> PostgresCodec {
        PostgresCodec {
            prefix: prefix.into(),
            payload_threshold: DEFAULT_PAYLOAD_THRESHOLD,
        }
    }

    /// Sets `payloadThreshold`: longer JSON payloads go to the attachments
    /// table.
    pub fn payload_threshold(mut self, bytes: usize) -> PostgresCodec {
        self.payload_threshold = bytes;
        self
    }

    /// `prefix#<nsp>`, the channel of namespace `nsp`.
    pub fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}", self.prefix)
    }

    /// `LISTEN "<channel>"`, the identifier quoted (and its quotes doubled)
    /// as the channel name must keep its case and its `#` and `/`.
    pub fn listen_sql(channel: &str) -> String {
        format!("LISTEN \"{}\"", channel.replace('"', "\"\""))
    }

    /// `UNLISTEN "<channel>"`.
    pub fn unlisten_sql(channel: &str) -> String {
        format!("UNLISTEN \"{}\"", channel.replace('"', "\"\""))
    }

    /// What to send for a message.
    pub fn encode_message(
        &self,
        envelope: &Envelope<ClusterMessage>,
    ) -> Result<Outbound, EncodeError> {
        let (kind, tree) = shape::message_envelope(envelope)?;
        self.outbound(kind, &tree, envelope.uid.as_ref(), &envelope.nsp)
    }

    /// What to send for a response (on the namespace channel too: every
    /// server sees every response, as with Node).
    pub fn encode_response(
        &self,
        envelope: &Envelope<ClusterResponse>,
    ) -> Result<Outbound, EncodeError> {
        let (kind, tree) = shape::response_envelope(envelope)?;
        self.outbound(kind, &tree, envelope.uid.as_ref(), &envelope.nsp)
    }

    /// Node's `publish`: binary in the four types that may carry event
    /// arguments, or JSON over the threshold, goes to an attachment. Other
    /// types write a buffer as `Buffer#toJSON` does, as Node's
    /// `JSON.stringify` would.
    fn outbound(
        &self,
        kind: MessageType,
        tree: &Node<'_>,
        uid: Option<&ServerId>,
        nsp: &str,
    ) -> Result<Outbound, EncodeError> {
        let channel = self.channel(nsp);
        let may_carry_binary = matches!(
            kind,
            MessageType::Broadcast
                | MessageType::BroadcastAck
                | MessageType::ServerSideEmit
                | MessageType::ServerSideEmitResponse
        );
        let attachment = |channel| -> Result<Outbound, EncodeError> {
            Ok(Outbound::Attachment {
                channel,
                payload: msgpack::encode_node(tree)?,
                uid: uid.cloned(),
                kind,
            })
        };
        if may_carry_binary && tree.has_binary() {
            return attachment(channel);
        }
        let payload = json::encode_node(tree);
        if payload.len() > self.payload_threshold {
            return attachment(channel);
        }
        Ok(Outbound::Notify { channel, payload })
    }

    /// The notification of an attachment, `{uid, type, attachmentId}`;
    /// the id is a string, as node-postgres returns a `bigserial`.
    pub fn attachment_header(uid: Option<&ServerId>, kind: MessageType, id: i64) -> String {
        let id = id.to_string();
        let mut m = Vec::with_capacity(3);
        if let Some(uid) = uid {
            m.push(("uid", Node::Str(uid.as_str())));
        }
        m.push(("type", Node::UInt(kind as u64)));
        m.push(("attachmentId", Node::Str(&id)));
        json::encode_node(&Node::Map(m))
    }

    /// Decodes a notification payload: a whole envelope, or an attachment
    /// header (any object with a truthy `attachmentId`, as Node tests it).
    pub fn decode_notification(&self, payload: &[u8]) -> Result<Inbound, DecodeError> {
        let value = json::decode_value(payload)?;
        let mut m = object(value, "a notification")?;
        match decode::take(&mut m, "attachmentId") {
            Some(id) if truthy(&id) => {
                let id = attachment_id(&id)?;
                let uid = match decode::take(&mut m, "uid") {
                    Some(u) => Some(ServerId::from(decode::string(u, "uid")?)),
                    None => None,
                };
                Ok(Inbound::Attachment { uid, id })
            }
            _ => sharded::decode_envelope(Value::Object(m)).map(Inbound::Frame),
        }
    }

    /// Decodes an attachment's msgpack envelope.
    pub fn decode_attachment(&self, payload: &[u8]) -> Result<Envelope<Frame>, DecodeError> {
        sharded::decode_envelope(msgpack::decode_value(payload)?)
    }
}

/// JS truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => true,
    }
}

/// A row id: node-postgres writes a `bigserial` as a string; a number is
/// accepted too.
fn attachment_id(v: &Value) -> Result<i64, DecodeError> {
    let parsed = match v {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    parsed.ok_or_else(|| DecodeError::new("`attachmentId` is not a row id"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::cluster::{ClusterPacket, WireOptions};

    fn broadcast(args: Vec<Value>) -> Envelope<ClusterMessage> {
        Envelope::new(
            ServerId::from("0123456789abcdef"),
            "/",
            ClusterMessage::Broadcast {
                packet: ClusterPacket::event(args),
                opts: WireOptions::default(),
                request_id: None,
            },
        )
    }

    #[test]
    fn small_messages_are_notified_as_json() {
        let codec = PostgresCodec::default();
        let out = codec.encode_message(&broadcast(vec!["ev".into(), 1.into()]));
        let Ok(Outbound::Notify { channel, payload }) = out else {
            panic!("{out:?}")
        };
        assert_eq!(channel, "socket.io#/");
        assert_eq!(
            payload,
            r#"{"type":3,"data":{"packet":{"type":2,"data":["ev",1]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}"#
        );
        let back = codec.decode_notification(payload.as_bytes());
        let Ok(Inbound::Frame(env)) = back else {
            panic!("{back:?}")
        };
        assert_eq!(env.uid, Some(ServerId::from("0123456789abcdef")));
        assert!(matches!(
            env.body,
            Frame::Message(ClusterMessage::Broadcast { .. })
        ));
    }

    #[test]
    fn binary_and_large_messages_become_attachments() {
        let codec = PostgresCodec::default().payload_threshold(100);
        let out = codec.encode_message(&broadcast(vec![
            "ev".into(),
            Value::Binary(vec![1u8, 2].into()),
        ]));
        let Ok(Outbound::Attachment { payload, kind, .. }) = out else {
            panic!("{out:?}")
        };
        assert_eq!(kind, MessageType::Broadcast);
        let env = codec.decode_attachment(&payload);
        assert!(env.is_ok(), "{env:?}");
        let out = codec.encode_message(&broadcast(vec!["ev".into(), "x".repeat(200).into()]));
        assert!(matches!(out, Ok(Outbound::Attachment { .. })), "{out:?}");
        // Heartbeats stay small.
        let hb = Envelope::new(ServerId::from("u"), "/", ClusterMessage::Heartbeat);
        assert_eq!(
            codec.encode_message(&hb),
            Ok(Outbound::Notify {
                channel: "socket.io#/".into(),
                payload: r#"{"type":2,"uid":"u","nsp":"/"}"#.into()
            })
        );
    }

    #[test]
    fn attachment_headers_round_trip() {
        let uid = ServerId::from("u");
        let header = PostgresCodec::attachment_header(Some(&uid), MessageType::Broadcast, 42);
        assert_eq!(header, r#"{"uid":"u","type":3,"attachmentId":"42"}"#);
        let codec = PostgresCodec::default();
        assert_eq!(
            codec.decode_notification(header.as_bytes()),
            Ok(Inbound::Attachment {
                uid: Some(uid),
                id: 42
            })
        );
        assert_eq!(
            codec.decode_notification(br#"{"type":3,"attachmentId":7}"#),
            Ok(Inbound::Attachment { uid: None, id: 7 })
        );
        assert!(codec
            .decode_notification(br#"{"type":3,"attachmentId":"x"}"#)
            .is_err());
    }

    #[test]
    fn malformed_notifications_are_errors() {
        let codec = PostgresCodec::default();
        for bad in [
            &b"not json"[..],
            b"[1,2]",
            b"{}",
            b"{\"type\":99,\"nsp\":\"/\"}",
            b"{\"type\":3,\"nsp\":\"/\",\"data\":5}",
            b"\xff\xfe",
        ] {
            assert!(codec.decode_notification(bad).is_err(), "{bad:?}");
        }
        assert!(codec.decode_attachment(b"\xc1").is_err());
    }

    #[test]
    fn channels_are_quoted_identifiers() {
        assert_eq!(
            PostgresCodec::listen_sql("socket.io#/a\"b"),
            "LISTEN \"socket.io#/a\"\"b\""
        );
        assert_eq!(
            PostgresCodec::unlisten_sql("socket.io#/"),
            "UNLISTEN \"socket.io#/\""
        );
    }
}
