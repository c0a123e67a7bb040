//! The default socket.io-parser decoding, as a small state machine: a
//! BINARY_EVENT/BINARY_ACK text message is held until its attachments have
//! arrived as binary messages.

use super::error::ParseError;
use super::packet::{Packet, PacketType};
use super::value::Value;
use bytes::Bytes;
use serde::Deserialize;

/// Turns Engine.IO messages back into packets.
///
/// One decoder per Engine.IO connection, since attachments belong to the text
/// message before them. After an error the decoder forgets any partial
/// packet; callers close the connection anyway.
///
/// Decoded BINARY_EVENT/BINARY_ACK packets are reported as
/// [`PacketType::Event`]/[`PacketType::Ack`] with the buffers back in place
/// of their placeholders.
#[derive(Debug)]
pub struct Decoder {
    max_attachments: usize,
    pending: Option<Pending>,
}

/// A binary packet waiting for `expected` attachments.
#[derive(Debug)]
struct Pending {
    packet: Packet,
    expected: usize,
    attachments: Vec<Bytes>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// socket.io-parser's default `maxAttachments`.
    pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

    /// A decoder with the reference limit of 10 attachments per packet.
    pub fn new() -> Decoder {
        Decoder::with_max_attachments(Self::DEFAULT_MAX_ATTACHMENTS)
    }

    /// A decoder accepting up to `max` attachments per packet; the limit
    /// bounds how much a peer can make the decoder buffer.
    pub fn with_max_attachments(max: usize) -> Decoder {
        Decoder {
            max_attachments: max,
            pending: None,
        }
    }

    /// Decodes a text message (without Engine.IO's `4` prefix).
    ///
    /// Returns `Ok(None)` when the packet announced attachments: feed them to
    /// [`decode_binary`](Decoder::decode_binary).
    pub fn decode_text(&mut self, text: &str) -> Result<Option<Packet>, ParseError> {
        if let Some(pending) = self.pending.take() {
            let missing = pending.expected.saturating_sub(pending.attachments.len());
            return Err(ParseError::UnexpectedText(missing));
        }
        let (packet, expected) = parse_text(text, self.max_attachments)?;
        packet.validate()?;
        match expected {
            None => Ok(Some(packet)),
            Some(0) => fill_packet(packet, &[]).map(Some),
            Some(expected) => {
                self.pending = Some(Pending {
                    packet,
                    expected,
                    attachments: Vec::with_capacity(expected),
                });
                Ok(None)
            }
        }
    }

    /// Decodes a binary message: the next attachment of the pending packet.
    ///
    /// Returns the packet once its last attachment has arrived.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, ParseError> {
        let mut pending = self.pending.take().ok_or(ParseError::UnexpectedBinary)?;
        pending.attachments.push(data);
        if pending.attachments.len() < pending.expected {
            self.pending = Some(pending);
            return Ok(None);
        }
        fill_packet(pending.packet, &pending.attachments).map(Some)
    }
}

/// Splits off the leading run of ASCII digits.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    // ASCII digits are one byte each, so `end` is a char boundary.
    (
        s.get(..end).unwrap_or_default(),
        s.get(end..).unwrap_or_default(),
    )
}

/// Parses the header and JSON payload; returns the announced attachment
/// count for binary types.
fn parse_text(text: &str, max_attachments: usize) -> Result<(Packet, Option<usize>), ParseError> {
    let mut chars = text.chars();
    let first = chars.next().ok_or(ParseError::Empty)?;
    let kind = first
        .to_digit(10)
        .and_then(|d| PacketType::from_u8(d as u8))
        .ok_or(ParseError::UnknownType(first))?;
    let mut rest = chars.as_str();

    let (digits, after_digits) = split_digits(rest);
    let attachments = if kind.is_binary() {
        let tail = after_digits
            .strip_prefix('-')
            .filter(|_| !digits.is_empty())
            .ok_or(ParseError::InvalidAttachmentCount)?;
        let count: usize = digits
            .parse()
            .map_err(|_| ParseError::InvalidAttachmentCount)?;
        if count > max_attachments {
            return Err(ParseError::TooManyAttachments {
                count,
                max: max_attachments,
            });
        }
        rest = tail;
        Some(count)
    } else if !digits.is_empty() && after_digits.starts_with('-') {
        // Digits then `-` can only be a count here: no valid payload of a
        // non-binary type starts with `-`.
        return Err(ParseError::UnexpectedAttachmentCount(kind));
    } else {
        None
    };

    // The namespace runs to the first `,` or to the end of the message.
    let nsp = if rest.starts_with('/') {
        let (nsp, tail) = rest.split_once(',').unwrap_or((rest, ""));
        rest = tail;
        nsp
    } else {
        "/"
    };

    let (digits, tail) = split_digits(rest);
    let id = if digits.is_empty() {
        None
    } else {
        Some(digits.parse().map_err(|_| ParseError::InvalidAckId)?)
    };

    let data = if tail.is_empty() {
        None
    } else {
        Some(parse_json(tail)?)
    };
    let packet = Packet {
        kind: kind.without_binary(),
        nsp: nsp.to_owned(),
        id,
        data,
    };
    Ok((packet, attachments))
}

/// Parses straight into [`Value`], keeping key order; trailing bytes are
/// reported separately from malformed JSON.
fn parse_json(text: &str) -> Result<Value, ParseError> {
    match parse_strict(text) {
        // JS strings may hold lone UTF-16 surrogates (an emoji cut in half)
        // that `JSON.stringify` escapes and `JSON.parse` accepts; Rust
        // strings cannot hold them, so they become U+FFFD rather than
        // costing the client its connection. Only failing input pays for it.
        Err(ParseError::InvalidJson(e)) => match replace_lone_surrogates(text) {
            Some(fixed) => parse_strict(&fixed),
            None => Err(ParseError::InvalidJson(e)),
        },
        r => r,
    }
}

fn parse_strict(text: &str) -> Result<Value, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Value::deserialize(&mut de).map_err(ParseError::InvalidJson)?;
    de.end().map_err(|_| ParseError::TrailingData)?;
    Ok(value)
}

/// `text` with every `\uD800`-`\uDFFF` escape that is not half of a valid
/// pair replaced by `\uFFFD`; `None` when there is none.
fn replace_lone_surrogates(text: &str) -> Option<String> {
    fn escape_at(b: &[u8], i: usize) -> Option<u16> {
        let hex = b.get(i..i + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        match escape_at(b, i) {
            Some(hi @ 0xD800..=0xDBFF) if matches!(escape_at(b, i + 6), Some(0xDC00..=0xDFFF)) => {
                let _ = hi;
                i += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.push_str(&text[last..i]);
                out.push_str("\\ufffd");
                changed = true;
                i += 6;
                last = i;
            }
            // Any other escape is two characters at least; skipping both
            // keeps `\\u` from being read as an escape.
            _ => i += 2,
        }
    }
    out.push_str(&text[last..]);
    changed.then_some(out)
}

fn fill_packet(mut packet: Packet, attachments: &[Bytes]) -> Result<Packet, ParseError> {
    if let Some(data) = &mut packet.data {
        fill_placeholders(data, attachments)?;
    }
    Ok(packet)
}

/// Replaces every `{"_placeholder":true,"num":N}` with attachment N. Like
/// socket.io-parser, any object whose `_placeholder` is `true` counts, and
/// an attachment may be referenced more than once.
fn fill_placeholders(value: &mut Value, attachments: &[Bytes]) -> Result<(), ParseError> {
    match value {
        Value::Object(entries) if entries.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = entries
                .get("num")
                .and_then(placeholder_index)
                .ok_or(ParseError::MalformedPlaceholder)?;
            let buffer = usize::try_from(num)
                .ok()
                .and_then(|i| attachments.get(i))
                .ok_or(ParseError::PlaceholderOutOfRange {
                    num,
                    count: attachments.len(),
                })?;
            *value = Value::Binary(buffer.clone());
        }
        Value::Array(items) => {
            for item in items {
                fill_placeholders(item, attachments)?;
            }
        }
        Value::Object(entries) => {
            for item in entries.values_mut() {
                fill_placeholders(item, attachments)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A placeholder index: a non-negative integer (JS has no separate integer
/// type, so `1.0` counts as `1`).
fn placeholder_index(num: &Value) -> Option<u64> {
    let Value::Number(n) = num else { return None };
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod surrogate_tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let v = parse_json(r#"["a\ud800b","\udc00","\ud83d\ude00","\\ud800"]"#).unwrap();
        let items: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(items, ["a\u{fffd}b", "\u{fffd}", "\u{1f600}", "\\ud800"]);
        assert!(parse_json(r#"["\ud800"#).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_error(text: &str) -> ParseError {
        Decoder::new().decode_text(text).expect_err(text)
    }

    fn decode(text: &str) -> Packet {
        Decoder::new()
            .decode_text(text)
            .expect(text)
            .expect("complete")
    }

    const PH0: &str = r#"{"_placeholder":true,"num":0}"#;

    #[test]
    fn rejects_unknown_types() {
        assert!(matches!(text_error(""), ParseError::Empty));
        assert!(matches!(text_error("7"), ParseError::UnknownType('7')));
        assert!(matches!(text_error("x[]"), ParseError::UnknownType('x')));
        assert!(matches!(text_error("é"), ParseError::UnknownType('é')));
    }

    #[test]
    fn rejects_bad_attachment_counts() {
        for text in [
            r#"5["a"]"#,
            r#"5-["a"]"#,
            r#"51["a"]"#,
            "5",
            "6x-[]",
            r#"5184467440737095516150-["a"]"#,
        ] {
            assert!(
                matches!(text_error(text), ParseError::InvalidAttachmentCount),
                "{text}"
            );
        }
        assert!(matches!(
            text_error(r#"21-["a"]"#),
            ParseError::UnexpectedAttachmentCount(PacketType::Event)
        ));
        assert!(matches!(
            text_error("00-{}"),
            ParseError::UnexpectedAttachmentCount(PacketType::Connect)
        ));
    }

    #[test]
    fn caps_attachments() {
        assert!(matches!(
            text_error(r#"511-["a"]"#),
            ParseError::TooManyAttachments { count: 11, max: 10 }
        ));
        assert!(Decoder::new().decode_text(r#"510-["a"]"#).is_ok());
        let mut small = Decoder::with_max_attachments(1);
        assert!(matches!(
            small.decode_text(r#"52-["a"]"#),
            Err(ParseError::TooManyAttachments { count: 2, max: 1 })
        ));
    }

    #[test]
    fn rejects_oversized_ack_ids() {
        assert!(matches!(
            text_error(r#"218446744073709551616["a"]"#),
            ParseError::InvalidAckId
        ));
        assert_eq!(decode(r#"218446744073709551615["a"]"#).id, Some(u64::MAX));
    }

    #[test]
    fn rejects_invalid_json() {
        for text in ["4abc", r#"2abc["a"]"#, r#"2["a""#, "2\n", r#"2/admin,{"#] {
            assert!(
                matches!(text_error(text), ParseError::InvalidJson(_)),
                "{text}"
            );
        }
        for text in [r#"2["a"]x"#, r#"2["a"]]"#, "0{}{}"] {
            assert!(
                matches!(text_error(text), ParseError::TrailingData),
                "{text}"
            );
        }
        // JSON.parse tolerates surrounding whitespace, so do we.
        assert_eq!(decode("2[\"a\"] \n").event_name(), Some("a"));
    }

    #[test]
    fn rejects_payloads_of_the_wrong_shape() {
        let cases = [
            ("0[]", PacketType::Connect),
            (r#"0"x""#, PacketType::Connect),
            ("1{}", PacketType::Disconnect),
            ("1/admin,[]", PacketType::Disconnect),
            ("4", PacketType::ConnectError),
            ("4[1]", PacketType::ConnectError),
            ("2", PacketType::Event),
            ("2{}", PacketType::Event),
            ("2[]", PacketType::Event),
            ("2[{}]", PacketType::Event),
            ("2[null]", PacketType::Event),
            ("3{}", PacketType::Ack),
            ("3", PacketType::Ack),
            (r#"50-{"a":1}"#, PacketType::Event),
            ("61-1", PacketType::Ack),
        ];
        for (text, kind) in cases {
            match text_error(text) {
                ParseError::InvalidPayload(k) => assert_eq!(k, kind, "{text}"),
                other => panic!("{text}: {other}"),
            }
        }
    }

    #[test]
    fn rejects_reserved_event_names() {
        for name in crate::proto::RESERVED_EVENTS {
            let text = format!(r#"2["{name}",1]"#);
            assert!(
                matches!(text_error(&text), ParseError::ReservedEventName(n) if n == name),
                "{text}"
            );
        }
        assert_eq!(decode(r#"2["Connect"]"#).event_name(), Some("Connect"));
        assert_eq!(decode("2[42,1]").args(), [Value::from(1)]);
    }

    #[test]
    fn acks_need_an_id() {
        assert!(matches!(text_error("3[]"), ParseError::MissingAckId));
        let binary = format!("61-[{PH0}]");
        assert!(matches!(text_error(&binary), ParseError::MissingAckId));
        assert_eq!(decode("37[]"), Packet::ack("/", 7, vec![]));
    }

    #[test]
    fn text_while_waiting_for_attachments_is_an_error() {
        let mut decoder = Decoder::new();
        let header = format!(r#"52-["a",{PH0},{PH0}]"#);
        assert!(matches!(decoder.decode_text(&header), Ok(None)));
        assert!(matches!(decoder.decode_binary(Bytes::new()), Ok(None)));
        assert!(matches!(
            decoder.decode_text(r#"2["b"]"#),
            Err(ParseError::UnexpectedText(1))
        ));
        // The partial packet is dropped: the decoder starts afresh.
        assert!(matches!(decoder.decode_text(r#"2["b"]"#), Ok(Some(_))));
    }

    #[test]
    fn binary_without_a_pending_packet_is_an_error() {
        let mut decoder = Decoder::default();
        assert!(matches!(
            decoder.decode_binary(Bytes::from_static(b"x")),
            Err(ParseError::UnexpectedBinary)
        ));
        let header = format!(r#"51-["a",{PH0}]"#);
        assert!(decoder.decode_text(&header).expect("header").is_none());
        assert!(decoder.decode_binary(Bytes::new()).expect("last").is_some());
        assert!(matches!(
            decoder.decode_binary(Bytes::new()),
            Err(ParseError::UnexpectedBinary)
        ));
    }

    fn fill_error(header: &str, attachments: usize) -> ParseError {
        let mut decoder = Decoder::new();
        let mut result = decoder.decode_text(header);
        for _ in 0..attachments {
            assert!(matches!(result, Ok(None)), "{header}");
            result = decoder.decode_binary(Bytes::from_static(b"z"));
        }
        result.expect_err(header)
    }

    #[test]
    fn rejects_bad_placeholders() {
        for num in [
            "",
            r#","num":"0""#,
            r#","num":-1"#,
            r#","num":0.5"#,
            r#","num":null"#,
        ] {
            let header = format!(r#"51-["a",{{"_placeholder":true{num}}}]"#);
            assert!(
                matches!(fill_error(&header, 1), ParseError::MalformedPlaceholder),
                "{header}"
            );
        }
        let out_of_range = r#"51-["a",{"_placeholder":true,"num":1}]"#;
        assert!(matches!(
            fill_error(out_of_range, 1),
            ParseError::PlaceholderOutOfRange { num: 1, count: 1 }
        ));
        let none_announced = format!(r#"50-["a",{PH0}]"#);
        assert!(matches!(
            fill_error(&none_announced, 0),
            ParseError::PlaceholderOutOfRange { num: 0, count: 0 }
        ));
    }

    #[test]
    fn placeholders_resolve_like_the_reference() {
        let b = Bytes::from_static(&[1, 2]);
        let mut decoder = Decoder::new();
        let header =
            r#"51-["a",{"_placeholder":true,"num":0.0,"x":1},[{"_placeholder":true,"num":0}]]"#;
        assert!(decoder.decode_text(header).expect("header").is_none());
        let packet = decoder.decode_binary(b.clone()).expect("ok").expect("done");
        let arg = Value::Binary(b.clone());
        assert_eq!(packet.args(), [arg.clone(), Value::array([arg])]);
        assert_eq!(packet.kind, PacketType::Event);

        // Outside binary packets a placeholder-shaped object is plain data.
        let plain = decode(&format!(r#"2["a",{PH0}]"#));
        assert!(plain.args()[0].as_object().is_some());
        // A `_placeholder` that is not `true` is plain data too.
        let marker = decode(r#"50-["a",{"_placeholder":1}]"#);
        assert!(marker.args()[0].as_object().is_some());
    }

    #[test]
    fn binary_kinds_are_reported_as_plain_kinds() {
        let packet = decode(r#"60-/x,5[1]"#);
        assert_eq!(packet, Packet::ack("/x", 5, vec![1.into()]));
    }
}
