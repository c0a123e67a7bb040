//! Engine.IO protocol 3 polling payload decoding (a v2 client's POST body),
//! text and binary framing.
//!
//! Checks that decoding never panics, and that the packets decoded re-encode
//! to a payload that decodes to the same packets, in both framings.
#![no_main]

use bytes::Bytes;
use engineio::proto::v3;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let _ = v3::decode_binary_frame(body.clone());
    for packets in [
        v3::decode_payload(body.clone()),
        v3::decode_binary_payload(body),
    ]
    .into_iter()
    .filter_map(Result::ok)
    {
        for binary in [false, true] {
            let payload = v3::encode_payload(&packets, binary);
            let back = match payload.binary {
                true => v3::decode_binary_payload(Bytes::from(payload.body.clone())),
                false => v3::decode_payload(Bytes::from(payload.body.clone())),
            };
            let back = back.unwrap_or_else(|e| {
                panic!("our own payload {:?} failed to decode: {e}", payload.body)
            });
            assert_eq!(back, packets);
        }
    }
});
