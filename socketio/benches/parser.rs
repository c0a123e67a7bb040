//! Encode/decode cost of the default Socket.IO parser on typical packets.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use socketio::proto::{encode, Decoder, Encoded, Packet, Value};
use std::hint::black_box;

fn small_event() -> Packet {
    let payload = serde_json::json!({"3": [true]});
    Packet::event(
        "/",
        vec!["message".into(), 1.into(), "2".into(), payload.into()],
    )
}

fn string_event() -> Packet {
    Packet::event("/chat", vec!["message".into(), "x".repeat(1024).into()])
}

fn binary_event() -> Packet {
    let file = Value::Object(
        [
            ("name".to_owned(), Value::from("photo.jpg")),
            ("data".to_owned(), Value::from(vec![7u8; 1024])),
        ]
        .into(),
    );
    Packet::event("/", vec!["upload".into(), file]).with_id(42)
}

fn decode(encoded: &Encoded) -> Packet {
    let mut decoder = Decoder::new();
    let mut packet = decoder.decode_text(&encoded.text).expect("valid text");
    for attachment in &encoded.attachments {
        packet = decoder
            .decode_binary(Bytes::clone(attachment))
            .expect("valid attachment");
    }
    packet.expect("complete packet")
}

fn parser(c: &mut Criterion) {
    let cases = [
        ("small_event", small_event()),
        ("1kib_string_event", string_event()),
        ("binary_event", binary_event()),
    ];
    for (name, packet) in cases {
        let encoded = encode(&packet);
        let mut group = c.benchmark_group(name);
        let wire_bytes =
            encoded.text.len() + encoded.attachments.iter().map(Bytes::len).sum::<usize>();
        group.throughput(Throughput::Bytes(wire_bytes as u64));
        group.bench_function("encode", |b| b.iter(|| encode(black_box(&packet))));
        group.bench_function("decode", |b| b.iter(|| decode(black_box(&encoded))));
        group.finish();
    }
}

criterion_group!(benches, parser);
criterion_main!(benches);
