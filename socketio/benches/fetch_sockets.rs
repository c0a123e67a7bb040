//! A `fetchSockets` answer across a cluster, in the classic Redis
//! adapter's wire format (JSON, as `@socket.io/redis-adapter` writes it):
//! what a responder spends describing its sockets, and what the requester
//! spends reading them back. 333 sockets by default, each with the
//! handshake of a browser's WebSocket connection.
//!
//! ```text
//! cargo bench -p socketio --features redis --bench fetch_sockets
//! SIO_BENCH_SOCKETS=1000 cargo bench -p socketio --features redis --bench fetch_sockets
//! ```
//!
//! * `describe`: a local socket's handshake as the answer carries it;
//! * `encode`: the whole answer written as JSON;
//! * `parse_only`: the answer's JSON read into a [`Value`] tree (most of
//!   `decode`);
//! * `decode`: the answer read back into sockets.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http::{HeaderMap, HeaderValue};
use socketio::adapter::cluster::classic::{ClassicCodec, ClassicIncoming};
use socketio::adapter::cluster::{ClusterResponse, RemoteHandshake, RemoteSocket};
use socketio::server::Handshake;
use socketio::Value;

fn handshake(i: usize) -> Handshake {
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("host", "chat.example.com".to_owned()),
        ("connection", "Upgrade".to_owned()),
        ("upgrade", "websocket".to_owned()),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".to_owned(),
        ),
        ("origin", "https://chat.example.com".to_owned()),
        ("sec-websocket-version", "13".to_owned()),
        ("sec-websocket-key", format!("dGhlIHNhbXBsZSBub25j{i:04}==")),
        ("accept-language", "en-US,en;q=0.5".to_owned()),
        ("cookie", format!("session={i:08x}")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.append(k, v);
        }
    }
    Handshake {
        headers: Arc::new(headers),
        query: vec![
            ("EIO".into(), "4".into()),
            ("transport".into(), "websocket".into()),
        ],
        auth: Value::Object(Default::default()),
        address: "203.0.113.7".into(),
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        issued: 1_800_000_000_000,
        url: "/socket.io/?EIO=4&transport=websocket".into(),
        secure: true,
        xdomain: false,
    }
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("SIO_BENCH_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(333);
    let handshakes: Vec<Handshake> = (0..n).map(handshake).collect();
    let sockets: Vec<RemoteSocket> = handshakes
        .iter()
        .enumerate()
        .map(|(i, h)| RemoteSocket {
            id: format!("{i:020}"),
            handshake: RemoteHandshake::from(h),
            rooms: vec![format!("{i:020}").into(), "lobby".into()],
            data: Value::Null,
        })
        .collect();
    let codec = ClassicCodec::new("socket.io");
    let response = ClusterResponse::FetchSockets {
        request_id: "abc123".into(),
        sockets,
    };
    let payload = match codec.encode_response("/", None, &response) {
        Ok(cmd) => cmd.args[1].clone(),
        Err(e) => panic!("cannot encode: {e}"),
    };
    let channel = codec.response_channel("/");

    let mut g = c.benchmark_group("fetch_sockets");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("describe", |b| {
        b.iter(|| {
            handshakes
                .iter()
                .map(RemoteHandshake::from)
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("encode", |b| {
        b.iter(|| {
            codec
                .encode_response("/", None, &response)
                .map(|c| c.args.len())
        })
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| socketio::adapter::cluster::json::decode_value(&payload[..]).map(|_| ()))
    });
    g.bench_function("decode", |b| {
        b.iter(|| match codec.decode("/", &channel, &payload) {
            Ok(ClassicIncoming::Response(e)) => e,
            other => panic!("not a response: {other:?}"),
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
