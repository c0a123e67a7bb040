use bytes::Bytes;

use super::{ParseError, Str};

/// The seven Engine.IO packet types, by their wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: handshake, server to client.
    Open = b'0',
    /// `1`: close the session.
    Close = b'1',
    /// `2`: ping (server to client in v4, or `2probe` during an upgrade).
    Ping = b'2',
    /// `3`: pong.
    Pong = b'3',
    /// `4`: application message.
    Message = b'4',
    /// `5`: upgrade complete.
    Upgrade = b'5',
    /// `6`: no-op, used to end a pending long-poll.
    Noop = b'6',
}

impl PacketType {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }
}

/// One Engine.IO packet.
///
/// Binary messages are a variant of their own because they travel as raw
/// WebSocket binary frames or `b`-prefixed base64 polling records, never with
/// a type digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Handshake; carries the handshake JSON text.
    Open(Str),
    /// Close the session.
    Close,
    /// Heartbeat ping.
    Ping,
    /// Heartbeat pong.
    Pong,
    /// `2probe`: the client tests a new transport.
    PingProbe,
    /// `3probe`: the server confirms the new transport works.
    PongProbe,
    /// A text message.
    Message(Str),
    /// A binary message.
    Binary(Bytes),
    /// The client switches to the probed transport.
    Upgrade,
    /// Does nothing; ends a pending long-poll.
    Noop,
}

impl Packet {
    /// The wire type of the packet.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping | Packet::PingProbe => PacketType::Ping,
            Packet::Pong | Packet::PongProbe => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Decodes a text packet (a WebSocket text frame or a polling record).
    ///
    /// Data after a type that carries none is ignored, as the reference
    /// parser does.
    pub fn decode(text: Str) -> Result<Packet, ParseError> {
        let first = *text.as_bytes().first().ok_or(ParseError::Empty)?;
        let kind = PacketType::from_byte(first)
            .ok_or_else(|| ParseError::UnknownType(text.as_str().chars().next().unwrap_or('\0')))?;
        // The type is one ASCII byte, so index 1 is a character boundary.
        let data = || text.slice(1..).unwrap_or_default();
        Ok(match kind {
            PacketType::Open => Packet::Open(data()),
            PacketType::Close => Packet::Close,
            PacketType::Ping if &text.as_str()[1..] == "probe" => Packet::PingProbe,
            PacketType::Ping => Packet::Ping,
            PacketType::Pong if &text.as_str()[1..] == "probe" => Packet::PongProbe,
            PacketType::Pong => Packet::Pong,
            PacketType::Message => Packet::Message(data()),
            PacketType::Upgrade => Packet::Upgrade,
            PacketType::Noop => Packet::Noop,
        })
    }

    /// Length of the text encoding, to size buffers before writing.
    pub fn encoded_len(&self) -> usize {
        match self {
            Packet::Open(s) | Packet::Message(s) => 1 + s.len(),
            Packet::PingProbe | Packet::PongProbe => 6,
            Packet::Binary(b) => 1 + base64_len(b.len()),
            _ => 1,
        }
    }

    /// Appends the text encoding to `out`.
    ///
    /// Binary messages are written as `b` + base64, the polling form; a
    /// WebSocket sends them as binary frames instead (see [`Packet::to_frame_text`]).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Packet::Binary(b) => {
                use base64::Engine;
                out.push(b'b');
                let start = out.len();
                out.resize(start + base64_len(b.len()), 0);
                // The buffer was sized by the same formula the encoder uses.
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(b, &mut out[start..])
                    .unwrap_or(0);
                out.truncate(start + written);
            }
            other => {
                out.push(other.packet_type() as u8);
                match other {
                    Packet::Open(s) | Packet::Message(s) => out.extend_from_slice(s.as_bytes()),
                    Packet::PingProbe | Packet::PongProbe => out.extend_from_slice(b"probe"),
                    _ => {}
                }
            }
        }
    }

    /// The text form of a packet for one WebSocket text frame, or `None` for
    /// binary messages, which travel as binary frames.
    pub fn to_frame_text(&self) -> Option<Str> {
        match self {
            Packet::Binary(_) => None,
            Packet::Close => Some(Str::from_static("1")),
            Packet::Ping => Some(Str::from_static("2")),
            Packet::Pong => Some(Str::from_static("3")),
            Packet::PingProbe => Some(Str::from_static("2probe")),
            Packet::PongProbe => Some(Str::from_static("3probe")),
            Packet::Upgrade => Some(Str::from_static("5")),
            Packet::Noop => Some(Str::from_static("6")),
            Packet::Open(_) | Packet::Message(_) => {
                let mut out = Vec::with_capacity(self.encoded_len());
                self.encode_into(&mut out);
                // SAFETY: a type digit followed by the bytes of a `Str`.
                Some(unsafe { Str::from_bytes_unchecked(Bytes::from(out)) })
            }
        }
    }
}

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(p: &Packet) -> String {
        let mut v = Vec::new();
        p.encode_into(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn encodes_every_type() {
        assert_eq!(enc(&Packet::Open(Str::from("{}"))), "0{}");
        assert_eq!(enc(&Packet::Close), "1");
        assert_eq!(enc(&Packet::Ping), "2");
        assert_eq!(enc(&Packet::PingProbe), "2probe");
        assert_eq!(enc(&Packet::Pong), "3");
        assert_eq!(enc(&Packet::PongProbe), "3probe");
        assert_eq!(enc(&Packet::Message(Str::from("hello"))), "4hello");
        assert_eq!(enc(&Packet::Upgrade), "5");
        assert_eq!(enc(&Packet::Noop), "6");
        assert_eq!(
            enc(&Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
            "bAQIDBA=="
        );
    }

    #[test]
    fn decodes_every_type() {
        let d = |s: &str| Packet::decode(Str::from(s));
        assert_eq!(d("0{}"), Ok(Packet::Open(Str::from("{}"))));
        assert_eq!(d("1"), Ok(Packet::Close));
        assert_eq!(d("2"), Ok(Packet::Ping));
        assert_eq!(d("2probe"), Ok(Packet::PingProbe));
        assert_eq!(d("3"), Ok(Packet::Pong));
        assert_eq!(d("3probe"), Ok(Packet::PongProbe));
        assert_eq!(d("4"), Ok(Packet::Message(Str::new())));
        assert_eq!(d("4héllo"), Ok(Packet::Message(Str::from("héllo"))));
        assert_eq!(d("5"), Ok(Packet::Upgrade));
        assert_eq!(d("6"), Ok(Packet::Noop));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Packet::decode(Str::new()), Err(ParseError::Empty));
        assert_eq!(
            Packet::decode(Str::from("abc")),
            Err(ParseError::UnknownType('a'))
        );
        assert_eq!(
            Packet::decode(Str::from("7")),
            Err(ParseError::UnknownType('7'))
        );
        assert_eq!(
            Packet::decode(Str::from("é")),
            Err(ParseError::UnknownType('é'))
        );
    }

    #[test]
    fn frame_text_matches_encoding() {
        for p in [
            Packet::Close,
            Packet::Ping,
            Packet::PongProbe,
            Packet::Message(Str::from("x")),
        ] {
            assert_eq!(p.to_frame_text().unwrap().as_str(), enc(&p));
        }
        assert!(Packet::Binary(Bytes::new()).to_frame_text().is_none());
    }
}
