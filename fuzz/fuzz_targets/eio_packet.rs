//! Engine.IO packet decoding: one WebSocket text frame / polling record.
//!
//! Checks that decoding never panics, that the text and frame encodings of
//! a decoded packet agree, and that re-encoding is a fixed point:
//! `decode(encode(decode(x))) == decode(x)`.
#![no_main]

use bytes::Bytes;
use engineio::proto::{Packet, ParseError};
use engineio::Str;
use libfuzzer_sys::fuzz_target;

fn encode(p: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode_into(&mut out);
    assert_eq!(out.len(), p.encoded_len(), "encoded_len of {p:?}");
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = Str::try_from(Bytes::copy_from_slice(data)) else {
        return;
    };
    let decoded = Packet::decode(text.clone());
    let packet = match decoded {
        Ok(p) => p,
        Err(ParseError::Empty) => {
            assert!(data.is_empty());
            return;
        }
        Err(ParseError::UnknownType(c)) => {
            assert_eq!(text.chars().next(), Some(c));
            return;
        }
        Err(e) => panic!("text decoding reported {e:?} for {text:?}"),
    };
    assert!(
        !matches!(packet, Packet::Binary(_)),
        "text decoded as binary"
    );
    let wire = encode(&packet);
    // The frame form is the record form for every text packet.
    let frame = packet
        .to_frame_text()
        .expect("text packet has a frame form");
    assert_eq!(
        frame.as_bytes().as_ref(),
        &wire[..],
        "frame vs record of {packet:?}"
    );
    let again = Packet::decode(frame).expect("re-decoding our own encoding");
    assert_eq!(again, packet, "round trip of {text:?}");
    // Data is kept verbatim for the types that carry it.
    if let Packet::Message(s) | Packet::Open(s) = &packet {
        assert_eq!(s.as_str(), &text[1..]);
    }
});
