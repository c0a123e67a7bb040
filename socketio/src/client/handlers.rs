//! The callbacks a socket and a manager call, and the codec they share.

use std::collections::HashMap;
use std::sync::Arc;

use engineio::client::{Error as EngineError, Message};
use engineio::Str;

use super::ack::AckSender;
use super::errors::{ConnectError, DisconnectReason};
use super::socket::Socket;
use crate::proto::{encode, encode_msgpack, Decoder, MsgpackDecoder, Packet, ParseError, Value};
use crate::server::ParserKind;

/// Handles one event: the socket, the arguments, and the acknowledgement
/// callback when the server asked for one.
pub type EventHandler = Arc<dyn Fn(Socket, Vec<Value>, Option<AckSender>) + Send + Sync>;
/// Sees every event, incoming or outgoing: socket, event name, arguments.
pub type AnyListener = Arc<dyn Fn(&Socket, &str, &[Value]) + Send + Sync>;
/// Called when the socket connects.
pub type ConnectHandler = Arc<dyn Fn(Socket) + Send + Sync>;
/// Called when a connection attempt fails.
pub type ConnectErrorHandler = Arc<dyn Fn(Socket, ConnectError) + Send + Sync>;
/// Called when the socket disconnects.
pub type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) + Send + Sync>;
/// Called with an attempt number (`reconnect_attempt`, `reconnect`).
pub type AttemptHandler = Arc<dyn Fn(u32) + Send + Sync>;
/// Called with a connection error (`reconnect_error`, `error`).
pub type ErrorHandler = Arc<dyn Fn(&EngineError) + Send + Sync>;
/// Called without arguments (`reconnect_failed`, `open`).
pub type SignalHandler = Arc<dyn Fn() + Send + Sync>;
/// Called when the manager's connection closes.
pub type CloseHandler = Arc<dyn Fn(DisconnectReason) + Send + Sync>;

/// A socket's callbacks.
#[derive(Default, Clone)]
pub(crate) struct SocketHandlers {
    pub(crate) events: HashMap<String, EventHandler>,
    pub(crate) any: Vec<(u64, AnyListener)>,
    pub(crate) any_outgoing: Vec<(u64, AnyListener)>,
    pub(crate) connect: Vec<ConnectHandler>,
    pub(crate) connect_error: Vec<ConnectErrorHandler>,
    pub(crate) disconnect: Vec<DisconnectHandler>,
}

impl SocketHandlers {
    /// Adds `other`'s callbacks to these.
    pub(crate) fn merge(&mut self, other: SocketHandlers) {
        self.events.extend(other.events);
        self.any.extend(other.any);
        self.any_outgoing.extend(other.any_outgoing);
        self.connect.extend(other.connect);
        self.connect_error.extend(other.connect_error);
        self.disconnect.extend(other.disconnect);
    }
}

/// A manager's callbacks.
#[derive(Default, Clone)]
pub(crate) struct ManagerHandlers {
    pub(crate) open: Vec<SignalHandler>,
    pub(crate) close: Vec<CloseHandler>,
    pub(crate) error: Vec<ErrorHandler>,
    pub(crate) reconnect_attempt: Vec<AttemptHandler>,
    pub(crate) reconnect: Vec<AttemptHandler>,
    pub(crate) reconnect_error: Vec<ErrorHandler>,
    pub(crate) reconnect_failed: Vec<SignalHandler>,
}

impl ManagerHandlers {
    /// Adds `other`'s callbacks to these.
    pub(crate) fn merge(&mut self, other: ManagerHandlers) {
        self.open.extend(other.open);
        self.close.extend(other.close);
        self.error.extend(other.error);
        self.reconnect_attempt.extend(other.reconnect_attempt);
        self.reconnect.extend(other.reconnect);
        self.reconnect_error.extend(other.reconnect_error);
        self.reconnect_failed.extend(other.reconnect_failed);
    }
}

/// The decoder of the connection's parser.
pub(crate) enum PacketDecoder {
    Default(Decoder),
    MsgPack(MsgpackDecoder),
}

impl PacketDecoder {
    pub(crate) fn new(kind: ParserKind, max_attachments: usize) -> PacketDecoder {
        match kind {
            ParserKind::Default => {
                PacketDecoder::Default(Decoder::with_max_attachments(max_attachments))
            }
            ParserKind::MsgPack => PacketDecoder::MsgPack(MsgpackDecoder::new()),
        }
    }

    pub(crate) fn decode(&mut self, msg: Message) -> Result<Option<Packet>, ParseError> {
        match (self, msg) {
            (PacketDecoder::Default(d), Message::Text(s)) => d.decode_text(&s),
            (PacketDecoder::Default(d), Message::Binary(b)) => d.decode_binary(b),
            (PacketDecoder::MsgPack(d), Message::Text(s)) => d.decode_text(&s),
            (PacketDecoder::MsgPack(d), Message::Binary(b)) => d.decode_binary(b),
        }
    }
}

/// The Engine.IO messages of one packet.
pub(crate) fn encode_messages(kind: ParserKind, packet: &Packet) -> Vec<Message> {
    match kind {
        ParserKind::Default => {
            let encoded = encode(packet);
            let mut msgs = Vec::with_capacity(1 + encoded.attachments.len());
            msgs.push(Message::Text(Str::from(encoded.text)));
            msgs.extend(encoded.attachments.into_iter().map(Message::Binary));
            msgs
        }
        ParserKind::MsgPack => vec![Message::Binary(encode_msgpack(packet))],
    }
}
