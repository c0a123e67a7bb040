//! The msgpack Socket.IO decoder (npm socket.io-msgpack-parser format): one
//! binary Engine.IO message per packet.
//!
//! Checks that decoding never panics, that decoded packets validate, and
//! that re-encoding is stable: `encode(decode(encode(p))) == encode(p)`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio::proto::{encode_msgpack, MsgpackDecoder, PacketType};

fuzz_target!(|data: &[u8]| {
    let mut decoder = MsgpackDecoder::new();
    let packet = match decoder.decode_binary(Bytes::copy_from_slice(data)) {
        Ok(Some(p)) => p,
        Ok(None) => panic!("msgpack decoder returned a partial packet"),
        Err(_) => return,
    };
    packet
        .validate()
        .unwrap_or_else(|e| panic!("decoded packet does not validate ({e}): {packet:?}"));
    assert!(
        !matches!(packet.kind, PacketType::BinaryEvent | PacketType::BinaryAck),
        "binary kind from msgpack: {packet:?}"
    );
    // Every length in a decoded packet is below its message's, so it encodes.
    let first = encode_msgpack(&packet)
        .unwrap_or_else(|e| panic!("decoded packet does not encode ({e}): {packet:?}"));
    let again = match MsgpackDecoder::new().decode_binary(first.clone()) {
        Ok(Some(p)) => p,
        other => panic!("our encoding {first:?} of {packet:?} does not decode: {other:?}"),
    };
    let second = encode_msgpack(&again)
        .unwrap_or_else(|e| panic!("decoded packet does not encode ({e}): {again:?}"));
    assert_eq!(first, second, "encoding is not stable for {packet:?}");
    // Text messages are always refused by this parser.
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(decoder.decode_text(text).is_err());
    }
});
