use base64::Engine;
use bytes::{Buf, Bytes};

use super::{Packet, ParseError, Str};

/// Separates packets in a long-polling payload.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Appends the polling payload for `packets` to `out`.
pub fn encode_payload_into<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut Vec<u8>) {
    for (i, p) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR);
        }
        p.encode_into(out);
    }
}

/// The polling payload for `packets`.
pub fn encode_payload<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Bytes {
    let mut out = Vec::new();
    encode_payload_into(packets, &mut out);
    Bytes::from(out)
}

/// Splits a polling payload into packets, lazily, without copying text.
pub fn decode_payload(body: Bytes) -> PayloadDecoder {
    PayloadDecoder { rest: Some(body) }
}

/// Iterator over the packets of a polling payload; see [`decode_payload`].
#[derive(Debug)]
pub struct PayloadDecoder {
    rest: Option<Bytes>,
}

impl Iterator for PayloadDecoder {
    type Item = Result<Packet, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut rest = self.rest.take()?;
        let record = match rest.iter().position(|&b| b == RECORD_SEPARATOR) {
            Some(i) => {
                let record = rest.split_to(i);
                rest.advance(1);
                self.rest = Some(rest);
                record
            }
            None => rest,
        };
        Some(decode_record(record))
    }
}

fn decode_record(record: Bytes) -> Result<Packet, ParseError> {
    if record.first() == Some(&b'b') {
        return base64::engine::general_purpose::STANDARD
            .decode(&record[1..])
            .map(|v| Packet::Binary(Bytes::from(v)))
            .map_err(|_| ParseError::InvalidBase64);
    }
    let text = Str::try_from(record).map_err(|_| ParseError::InvalidUtf8)?;
    Packet::decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(s: &'static [u8]) -> Result<Vec<Packet>, ParseError> {
        decode_payload(Bytes::from_static(s)).collect()
    }

    #[test]
    fn mixed_payload() {
        let packets = vec![
            Packet::Message(Str::from("hello")),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Packet::Ping,
        ];
        let body = encode_payload(&packets);
        assert_eq!(&body[..], b"4hello\x1ebAQIDBA==\x1e2");
        assert_eq!(decode_all(b"4hello\x1ebAQIDBA==\x1e2").unwrap(), packets);
    }

    #[test]
    fn malformed_payloads() {
        assert_eq!(decode_all(b""), Err(ParseError::Empty));
        assert_eq!(decode_all(b"4a\x1e"), Err(ParseError::Empty));
        assert_eq!(decode_all(b"abc"), Err(ParseError::UnknownType('a')));
        assert_eq!(decode_all(b"b!!"), Err(ParseError::InvalidBase64));
        assert_eq!(decode_all(b"4\xff"), Err(ParseError::InvalidUtf8));
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        // Text data may hold anything but the record separator, which the
        // protocol reserves.
        let text = "[^\u{1e}]{0,40}".prop_map(Str::from);
        prop_oneof![
            text.clone().prop_map(Packet::Open),
            Just(Packet::Close),
            Just(Packet::Ping),
            Just(Packet::Pong),
            Just(Packet::PingProbe),
            Just(Packet::PongProbe),
            text.prop_map(Packet::Message),
            proptest::collection::vec(any::<u8>(), 0..64)
                .prop_map(|v| Packet::Binary(Bytes::from(v))),
            Just(Packet::Upgrade),
            Just(Packet::Noop),
        ]
    }

    proptest! {
        #[test]
        fn packet_round_trips(p in arb_packet()) {
            match p.to_frame_text() {
                Some(text) => prop_assert_eq!(Packet::decode(text).unwrap(), p),
                None => {
                    let mut out = Vec::new();
                    p.encode_into(&mut out);
                    prop_assert_eq!(decode_record(Bytes::from(out)).unwrap(), p);
                }
            }
        }

        #[test]
        fn payload_round_trips(packets in proptest::collection::vec(arb_packet(), 1..8)) {
            let body = encode_payload(&packets);
            let back: Vec<Packet> = decode_payload(body).collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(back, packets);
        }

        #[test]
        fn decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            for _ in decode_payload(Bytes::from(body)) {}
        }
    }
}
