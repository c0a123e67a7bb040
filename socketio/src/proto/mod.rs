//! Sans-IO Socket.IO v5 packet model and the default (JSON text) parser.
//!
//! Nothing here does IO: the encoder returns strings and buffers, the
//! decoder takes Engine.IO message payloads, so the server, the client and
//! tests drive them the same way.

mod decode;
mod encode;
mod error;
mod msgpack;
mod packet;
pub mod value;

#[cfg(test)]
mod tests;

pub use decode::Decoder;
pub use encode::{encode, Encoded};
pub use error::{EncodeError, ParseError};
pub use msgpack::{encode_msgpack, MsgpackDecoder};
pub use packet::{Packet, PacketType, RESERVED_EVENTS};
pub use value::{from_value, to_value, Value, ValueError};
