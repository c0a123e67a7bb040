//! The sans-IO codec: one text packet, one binary packet (base64 on
//! polling), and a polling payload of ten mixed packets, each encoded and
//! decoded.
//!
//! ```text
//! cargo bench -p engineio --bench codec
//! ```

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engineio::proto::{decode_payload, encode_payload_into, Packet};
use engineio::Str;

fn text_packet() -> Packet {
    Packet::Message(Str::from(
        r#"2["chat message",{"user":"alice","text":"hello, world"}]"#,
    ))
}

fn binary_packet() -> Packet {
    Packet::Binary(Bytes::from(
        (0..=255u8).cycle().take(1024).collect::<Vec<_>>(),
    ))
}

fn mixed_payload() -> Vec<Packet> {
    (0..10)
        .map(|i| match i % 4 {
            0 => text_packet(),
            1 => Packet::Binary(Bytes::from(vec![i as u8; 64 * i])),
            2 => Packet::Message(Str::from(format!("message {i}: héllo ✓"))),
            _ => Packet::Ping,
        })
        .collect()
}

fn encode(p: &Packet) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.encoded_len());
    p.encode_into(&mut out);
    out
}

fn text(c: &mut Criterion) {
    let packet = text_packet();
    let encoded = Str::from(std::str::from_utf8(&encode(&packet)).unwrap());
    let mut g = c.benchmark_group("text_packet");
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("encode", |b| b.iter(|| encode(black_box(&packet))));
    g.bench_function("encode_frame", |b| {
        b.iter(|| black_box(&packet).to_frame_text())
    });
    g.bench_function("decode", |b| {
        b.iter(|| Packet::decode(black_box(encoded.clone())).unwrap())
    });
    g.finish();
}

fn binary(c: &mut Criterion) {
    let packet = binary_packet();
    let encoded = Bytes::from(encode(&packet));
    let mut g = c.benchmark_group("binary_packet_base64");
    g.throughput(Throughput::Bytes(1024));
    g.bench_function("encode", |b| b.iter(|| encode(black_box(&packet))));
    g.bench_function("decode", |b| {
        b.iter(|| {
            decode_payload(black_box(encoded.clone()))
                .next()
                .unwrap()
                .unwrap()
        })
    });
    g.finish();
}

fn payload(c: &mut Criterion) {
    let packets = mixed_payload();
    let mut body = Vec::new();
    encode_payload_into(&packets, &mut body);
    let body = Bytes::from(body);
    // Decoding gives back what was encoded.
    let back: Vec<Packet> = decode_payload(body.clone())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, packets);

    let mut g = c.benchmark_group("payload_10_mixed");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("encode", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(body.len());
            encode_payload_into(black_box(&packets), &mut out);
            out
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            decode_payload(black_box(body.clone()))
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, text, binary, payload);
criterion_main!(benches);
