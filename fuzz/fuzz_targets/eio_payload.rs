//! Engine.IO polling payload decoding (a POST body).
//!
//! Checks that decoding never panics, yields one result per record, and that
//! the packets decoded re-encode to a payload that decodes to the same
//! packets (binary records re-encode to canonical base64).
#![no_main]

use bytes::Bytes;
use engineio::proto::{decode_payload, encode_payload, Packet, RECORD_SEPARATOR};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let results: Vec<_> = decode_payload(Bytes::copy_from_slice(data)).collect();
    let records = data.iter().filter(|&&b| b == RECORD_SEPARATOR).count() + 1;
    assert_eq!(results.len(), records, "one result per record");
    let packets: Vec<Packet> = results.into_iter().filter_map(Result::ok).collect();
    if packets.is_empty() {
        return;
    }
    let body = encode_payload(&packets);
    let back: Vec<Packet> = decode_payload(body.clone())
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("our own payload {body:?} failed to decode: {e}"));
    assert_eq!(back, packets);
    // Encoding is canonical: a second round gives the same bytes.
    assert_eq!(encode_payload(&back), body);
});
