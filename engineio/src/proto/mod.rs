//! Sans-IO Engine.IO v4 protocol core: packets, polling payloads and the
//! handshake; [`v3`] frames the same packets for protocol 3 clients. Nothing here touches a socket or a clock, so every rule can be
//! unit-tested and fuzzed in isolation.

mod error;
mod handshake;
mod packet;
mod payload;
mod str;
pub mod v3;

pub use error::ParseError;
pub use handshake::Handshake;
pub use packet::{Packet, PacketType};
pub use payload::{
    decode_payload, encode_payload, encode_payload_into, PayloadDecoder, RECORD_SEPARATOR,
};
pub use str::Str;
