//! Engine.IO protocol 3, spoken by Socket.IO v2 clients: the framing of
//! `engine.io-parser` 2.x.
//!
//! Packets are the v4 ones; what differs is how they are framed. Polling
//! payloads are `<length>:<packet>` records, the length in UTF-16 code
//! units; a client that takes binary gets, when a payload holds binary
//! packets, a binary payload whose records are `0|1`, the length as one
//! byte per decimal digit, `0xff`, then the packet. Binary packets are the
//! type byte `4` then the data in a WebSocket binary frame or a binary
//! record, and `b4<base64>` in text.

use base64::Engine;
use bytes::Bytes;

use super::{Packet, ParseError, Str};

/// The base64 engine of the `b4` form.
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Type byte of a binary message (the `message` packet type, as a number).
const MESSAGE_TYPE: u8 = 4;

/// Most length digits of a binary record, as the reference allows.
const MAX_LENGTH_DIGITS: usize = 310;

/// Decodes a text packet: a WebSocket text frame or one polling record.
/// Besides the v4 forms, a `b<type><base64>` text is a binary packet.
pub fn decode_packet(text: Str) -> Result<Packet, ParseError> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'b') {
        return Packet::decode(text);
    }
    match bytes.get(1) {
        None => Err(ParseError::Empty),
        Some(&b'4') => B64
            .decode(&bytes[2..])
            .map(|v| Packet::Binary(Bytes::from(v)))
            .map_err(|_| ParseError::InvalidBase64),
        // Another type sent as base64 carries no data that means anything:
        // the packet is its type alone.
        Some(&kind) if kind.is_ascii() => Packet::decode(Str::from(&text.as_str()[1..2])),
        // `b` is one byte, so the rest starts on a character.
        Some(_) => Err(ParseError::UnknownType(
            text.as_str()[1..].chars().next().unwrap_or('\0'),
        )),
    }
}

/// Decodes a WebSocket binary frame: the type byte, then the data.
pub fn decode_binary_frame(mut frame: Bytes) -> Result<Packet, ParseError> {
    match frame.first() {
        None => Err(ParseError::Empty),
        Some(&MESSAGE_TYPE) => Ok(Packet::Binary(frame.split_off(1))),
        Some(&b) => Err(ParseError::UnknownType(char::from(b))),
    }
}

/// A binary message as a WebSocket binary frame: the type byte, then the data.
pub fn encode_binary_frame(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(MESSAGE_TYPE);
    out.extend_from_slice(data);
    Bytes::from(out)
}

/// The text form of a packet, binary messages as `b4<base64>`: a WebSocket
/// text frame for a client that takes no binary.
pub fn encode_text(packet: &Packet) -> Str {
    match packet {
        Packet::Binary(b) => {
            let mut out = String::with_capacity(2 + b.len().div_ceil(3) * 4);
            out.push_str("b4");
            B64.encode_string(b, &mut out);
            Str::from(out)
        }
        other => other.to_frame_text().unwrap_or_default(),
    }
}

/// A polling payload, and whether it is binary (sent as
/// `application/octet-stream`) or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The body.
    pub body: Vec<u8>,
    /// Whether the body is a binary payload.
    pub binary: bool,
}

/// Encodes a polling payload. With `supports_binary` and a binary packet
/// among `packets` it is a binary payload, else text records with binary
/// messages in base64.
pub fn encode_payload(packets: &[Packet], supports_binary: bool) -> Payload {
    if supports_binary && packets.iter().any(|p| matches!(p, Packet::Binary(_))) {
        return Payload {
            body: encode_binary_payload(packets),
            binary: true,
        };
    }
    let mut body = Vec::new();
    if packets.is_empty() {
        body.extend_from_slice(b"0:");
    }
    for p in packets {
        let text = encode_text(p);
        let units: usize = if text.as_str().is_ascii() {
            text.len()
        } else {
            text.as_str().chars().map(char::len_utf16).sum()
        };
        body.extend_from_slice(units.to_string().as_bytes());
        body.push(b':');
        body.extend_from_slice(text.as_bytes());
    }
    Payload {
        body,
        binary: false,
    }
}

fn encode_binary_payload(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        let (kind, len) = match p {
            Packet::Binary(b) => (1, 1 + b.len()),
            other => (0, other.encoded_len()),
        };
        out.push(kind);
        out.extend(len.to_string().bytes().map(|d| d - b'0'));
        out.push(0xff);
        match p {
            Packet::Binary(b) => {
                out.push(MESSAGE_TYPE);
                out.extend_from_slice(b);
            }
            other => other.encode_into(&mut out),
        }
    }
    out
}

/// Decodes a text polling payload.
pub fn decode_payload(body: Bytes) -> Result<Vec<Packet>, ParseError> {
    let text = Str::try_from(body).map_err(|_| ParseError::InvalidUtf8)?;
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let s = text.as_str();
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < s.len() {
        let colon = s[pos..]
            .find(':')
            .map(|i| pos + i)
            .ok_or(ParseError::BadFraming)?;
        let digits = &s[pos..colon];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadFraming);
        }
        let units: usize = digits.parse().map_err(|_| ParseError::BadFraming)?;
        let start = colon + 1;
        let end = utf16_end(&s[start..], units).ok_or(ParseError::BadFraming)? + start;
        if end > start {
            let record = text.slice(start..end).ok_or(ParseError::BadFraming)?;
            packets.push(decode_packet(record)?);
        }
        pos = end;
    }
    Ok(packets)
}

/// The byte length of the first `units` UTF-16 code units of `s`, or `None`
/// when `s` is shorter or the count ends inside a character.
fn utf16_end(s: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (i, c) in s.char_indices() {
        if counted == units {
            return Some(i);
        }
        counted += c.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(s.len())
}

/// Decodes a binary polling payload (a POST sent as
/// `application/octet-stream`).
pub fn decode_binary_payload(body: Bytes) -> Result<Vec<Packet>, ParseError> {
    if body.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let is_text = body[pos] == 0;
        pos += 1;
        let mut len: usize = 0;
        let mut digits = 0;
        loop {
            let &d = body.get(pos).ok_or(ParseError::BadFraming)?;
            pos += 1;
            if d == 0xff {
                break;
            }
            digits += 1;
            if d > 9 || digits > MAX_LENGTH_DIGITS {
                return Err(ParseError::BadFraming);
            }
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(d)))
                .ok_or(ParseError::BadFraming)?;
        }
        if digits == 0 {
            return Err(ParseError::BadFraming);
        }
        let end = pos.checked_add(len).ok_or(ParseError::BadFraming)?;
        if end > body.len() {
            return Err(ParseError::BadFraming);
        }
        let record = body.slice(pos..end);
        pos = end;
        packets.push(if is_text {
            decode_packet(Str::try_from(record).map_err(|_| ParseError::InvalidUtf8)?)?
        } else {
            decode_binary_frame(record)?
        });
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<Vec<Packet>, ParseError> {
        decode_payload(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn text_payload_uses_utf16_lengths() {
        let packets = vec![
            Packet::Message(Str::from("héllo 😀")),
            Packet::Ping,
            Packet::Binary(Bytes::from_static(&[1, 2, 3])),
        ];
        let p = encode_payload(&packets, false);
        assert!(!p.binary);
        assert_eq!(
            String::from_utf8(p.body.clone()).unwrap(),
            "9:4héllo 😀1:26:b4AQID"
        );
        assert_eq!(decode_payload(Bytes::from(p.body)).unwrap(), packets);
    }

    #[test]
    fn text_payload_without_binary_stays_text() {
        let p = encode_payload(&[Packet::Message(Str::from("a"))], true);
        assert_eq!((p.body.as_slice(), p.binary), (&b"2:4a"[..], false));
        assert_eq!(encode_payload(&[], false).body, b"0:");
    }

    #[test]
    fn binary_payload() {
        let packets = vec![
            Packet::Message(Str::from("é")),
            Packet::Binary(Bytes::from_static(&[0xff, 0, 1])),
        ];
        let p = encode_payload(&packets, true);
        assert!(p.binary);
        assert_eq!(
            p.body,
            vec![0, 3, 0xff, b'4', 0xc3, 0xa9, 1, 4, 0xff, 4, 0xff, 0, 1]
        );
        assert_eq!(decode_binary_payload(Bytes::from(p.body)).unwrap(), packets);
        let long = vec![Packet::Message(Str::from("x".repeat(11)))];
        assert_eq!(&encode_payload_binary(&long)[..4], &[0, 1, 2, 0xff]);
    }

    fn encode_payload_binary(packets: &[Packet]) -> Vec<u8> {
        encode_binary_payload(packets)
    }

    #[test]
    fn packets_and_frames() {
        let d = |s: &str| decode_packet(Str::from(s));
        assert_eq!(d("4hi"), Ok(Packet::Message(Str::from("hi"))));
        assert_eq!(
            d("b4AQID"),
            Ok(Packet::Binary(Bytes::from_static(&[1, 2, 3])))
        );
        assert_eq!(d("b2"), Ok(Packet::Ping));
        assert_eq!(d("2probe"), Ok(Packet::PingProbe));
        assert_eq!(d("b"), Err(ParseError::Empty));
        assert_eq!(d("b4!"), Err(ParseError::InvalidBase64));
        assert_eq!(d("b9"), Err(ParseError::UnknownType('9')));
        assert_eq!(d("bé"), Err(ParseError::UnknownType('é')));
        assert_eq!(
            encode_text(&Packet::Binary(Bytes::from_static(&[1, 2, 3]))).as_str(),
            "b4AQID"
        );
        assert_eq!(encode_text(&Packet::Pong).as_str(), "3");
        let frame = encode_binary_frame(&[9, 8]);
        assert_eq!(&frame[..], &[4, 9, 8]);
        assert_eq!(
            decode_binary_frame(frame),
            Ok(Packet::Binary(Bytes::from_static(&[9, 8])))
        );
        assert_eq!(decode_binary_frame(Bytes::new()), Err(ParseError::Empty));
        assert_eq!(
            decode_binary_frame(Bytes::from_static(&[2])),
            Err(ParseError::UnknownType('\u{2}'))
        );
    }

    #[test]
    fn malformed_text_payloads() {
        assert_eq!(text(""), Err(ParseError::Empty));
        assert_eq!(text("1"), Err(ParseError::BadFraming));
        assert_eq!(text(":4"), Err(ParseError::BadFraming));
        assert_eq!(text("x:4"), Err(ParseError::BadFraming));
        assert_eq!(text("3:4a"), Err(ParseError::BadFraming));
        assert_eq!(text("1:9"), Err(ParseError::UnknownType('9')));
        // The count ends inside a surrogate pair.
        assert_eq!(text("2:4😀"), Err(ParseError::BadFraming));
        assert_eq!(
            text("99999999999999999999999:4"),
            Err(ParseError::BadFraming)
        );
        assert_eq!(
            decode_payload(Bytes::from_static(b"2:4\xff")),
            Err(ParseError::InvalidUtf8)
        );
        // Empty records are skipped, as the reference does.
        assert_eq!(text("0:1:2"), Ok(vec![Packet::Ping]));
    }

    #[test]
    fn malformed_binary_payloads() {
        let b = |v: &'static [u8]| decode_binary_payload(Bytes::from_static(v));
        assert_eq!(b(b""), Err(ParseError::Empty));
        assert_eq!(b(&[0, 0xff]), Err(ParseError::BadFraming));
        assert_eq!(b(&[0, 10, 0xff, b'2']), Err(ParseError::BadFraming));
        assert_eq!(b(&[0, 2, 0xff, b'2']), Err(ParseError::BadFraming));
        assert_eq!(b(&[0, 1, 0xff, 0xc3]), Err(ParseError::InvalidUtf8));
        assert_eq!(b(&[1, 1, 0xff, 3]), Err(ParseError::UnknownType('\u{3}')));
        let mut huge = vec![0u8];
        huge.extend(std::iter::repeat_n(9u8, 40));
        huge.push(0xff);
        assert_eq!(
            decode_binary_payload(Bytes::from(huge)),
            Err(ParseError::BadFraming)
        );
    }

    #[test]
    fn every_truncation_is_an_error_or_a_shorter_payload() {
        let packets = vec![
            Packet::Message(Str::from("héllo 😀")),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4, 5])),
            Packet::Ping,
        ];
        for binary in [false, true] {
            let body = encode_payload(&packets, binary).body;
            let decode = |b: Bytes| match binary {
                true => decode_binary_payload(b),
                false => decode_payload(b),
            };
            assert_eq!(decode(Bytes::from(body.clone())).unwrap(), packets);
            for cut in 0..body.len() {
                let prefix = Bytes::copy_from_slice(&body[..cut]);
                match decode(prefix) {
                    Err(_) => {}
                    // A cut at a record boundary is a valid, shorter payload.
                    Ok(got) => assert!(got.len() < packets.len() && packets.starts_with(&got)),
                }
            }
        }
    }

    #[test]
    fn every_prefix_of_one_record_is_an_error() {
        for (packet, binary) in [
            (Packet::Message(Str::from("héllo 😀")), false),
            (Packet::Binary(Bytes::from_static(&[1, 2, 3])), false),
            (Packet::Binary(Bytes::from_static(&[1, 2, 3])), true),
            (Packet::Message(Str::from("x".repeat(12))), true),
        ] {
            let packets = [packet, Packet::Binary(Bytes::new())];
            // The empty binary packet makes the payload binary when asked;
            // only the first record is cut.
            let whole = encode_payload(&packets, binary).body;
            let first_len = whole.len() - encode_payload(&packets[1..], binary).body.len();
            for cut in 0..first_len {
                let prefix = Bytes::copy_from_slice(&whole[..cut]);
                let got = match binary {
                    true => decode_binary_payload(prefix),
                    false => decode_payload(prefix),
                };
                assert!(got.is_err(), "prefix {cut} of {whole:?} decoded as {got:?}");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_round_trip() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| match (seed >> (i % 8 * 8)) as u8 % 6 {
                    0 => 0xff,
                    1 => b':',
                    2 => b'4',
                    3 => (seed >> i) as u8 % 10,
                    _ => (seed >> (i % 56)) as u8,
                })
                .collect();
            let _ = decode_binary_frame(Bytes::from(bytes.clone()));
            let decoded = [
                decode_payload(Bytes::from(bytes.clone())),
                decode_binary_payload(Bytes::from(bytes)),
            ];
            // Whatever decodes round-trips through both framings.
            for packets in decoded.into_iter().filter_map(Result::ok) {
                for binary in [false, true] {
                    let p = encode_payload(&packets, binary);
                    let back = match p.binary {
                        true => decode_binary_payload(Bytes::from(p.body)),
                        false => decode_payload(Bytes::from(p.body)),
                    };
                    assert_eq!(back.unwrap(), packets);
                }
            }
        }
    }
}
