//! The parser a connection speaks, shared by the server and the client: the default text encoding with binary
//! attachments, or msgpack (npm `socket.io-msgpack-parser`).

use engineio::server::Message;
use engineio::Str;

use crate::proto::{encode, encode_msgpack, Decoder, MsgpackDecoder, Packet, ParseError};

/// Which Socket.IO parser the server uses; every client must use the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParserKind {
    /// The default parser: JSON text plus binary attachments.
    #[default]
    Default,
    /// msgpack, wire-compatible with npm `socket.io-msgpack-parser`.
    MsgPack,
}

/// The per-connection decoder of the server's parser.
pub(crate) enum PacketDecoder {
    Default(Decoder),
    MsgPack(MsgpackDecoder),
}

impl Default for PacketDecoder {
    fn default() -> Self {
        PacketDecoder::Default(Decoder::new())
    }
}

impl PacketDecoder {
    pub(crate) fn new(kind: ParserKind, max_attachments: usize) -> Self {
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

/// The Engine.IO messages of one packet, encoded once: a broadcast clones
/// them (reference counts, not bytes) for every recipient.
pub(crate) fn encode_messages(kind: ParserKind, packet: &Packet) -> Vec<Message> {
    match kind {
        ParserKind::Default => {
            let encoded = encode(packet);
            let mut msgs = Vec::with_capacity(1 + encoded.attachments.len());
            msgs.push(Message::Text(Str::from(encoded.text)));
            msgs.extend(encoded.attachments.into_iter().map(Message::Binary));
            msgs
        }
        ParserKind::MsgPack => match encode_msgpack(packet) {
            Ok(bytes) => vec![Message::Binary(bytes)],
            Err(error) => {
                // notepack throws on the emit; there is no caller to throw to
                // here, so the packet is dropped rather than the connection.
                tracing::warn!(nsp = %packet.nsp, %error, "packet not sent");
                Vec::new()
            }
        },
    }
}
