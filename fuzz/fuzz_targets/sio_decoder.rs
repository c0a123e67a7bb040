//! The default Socket.IO decoder over a sequence of Engine.IO messages, as
//! one connection delivers them (text packets, binary attachments).
//!
//! Input format: messages separated by 0xFF (never part of UTF-8); a message
//! starting with 0xFE is binary (the rest of it), any other is text (lossily
//! made UTF-8).
//!
//! Checks that decoding never panics, that every decoded packet validates
//! and is reported without a binary kind, and that our own encoding of a
//! decoded packet decodes again to a packet with the same encoding.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio::proto::{encode, Decoder, Encoded, Packet, PacketType};

enum Msg {
    Text(String),
    Binary(Bytes),
}

fn messages(data: &[u8]) -> Vec<Msg> {
    data.split(|&b| b == 0xff)
        .map(|chunk| match chunk.split_first() {
            Some((0xfe, rest)) => Msg::Binary(Bytes::copy_from_slice(rest)),
            _ => Msg::Text(String::from_utf8_lossy(chunk).into_owned()),
        })
        .collect()
}

/// Feeds an encoded packet to a fresh decoder; the attachment limit is off,
/// since one attachment may be referenced by many placeholders and so be
/// re-encoded many times.
fn redecode(enc: &Encoded) -> Packet {
    let mut d = Decoder::with_max_attachments(usize::MAX);
    let mut result = d.decode_text(&enc.text);
    for (i, a) in enc.attachments.iter().enumerate() {
        match result {
            Ok(None) => result = d.decode_binary(a.clone()),
            other => panic!("{enc:?}: attachment {i} not expected: {other:?}"),
        }
    }
    match result {
        Ok(Some(p)) => p,
        other => panic!("our encoding {enc:?} does not decode: {other:?}"),
    }
}

fn check(packet: &Packet) {
    packet
        .validate()
        .unwrap_or_else(|e| panic!("decoded packet does not validate ({e}): {packet:?}"));
    assert!(
        !matches!(packet.kind, PacketType::BinaryEvent | PacketType::BinaryAck),
        "binary kind reported: {packet:?}"
    );
    let first = encode(packet);
    let again = redecode(&first);
    let second = encode(&again);
    assert_eq!(first, second, "encoding is not stable for {packet:?}");
}

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new();
    for msg in messages(data) {
        let result = match msg {
            Msg::Text(t) => decoder.decode_text(&t),
            Msg::Binary(b) => decoder.decode_binary(b),
        };
        if let Ok(Some(packet)) = result {
            check(&packet);
        }
    }
});
