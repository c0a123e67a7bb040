//! WebSocket compression (`per_message_deflate`): negotiated with the npm
//! `ws` client when both sides want it, absent otherwise, and compressed
//! messages that inflate past the size limit are refused.

mod common;

use std::time::Duration;

use common::*;
use engineio::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn ws_url(server: &TestServer) -> String {
    format!(
        "ws://{}{}",
        server.addr,
        server.path("EIO=4&transport=websocket")
    )
}

#[tokio::test]
async fn negotiated_only_when_both_sides_want_it() {
    for (on, offer, negotiated) in [
        (true, "true", true),
        (true, "false", false),
        (false, "true", false),
    ] {
        let config = ServerConfig::default().per_message_deflate(on.then_some(1024));
        let server = start(config).await;
        let run = run_node(
            "ws-deflate.mjs",
            &[&ws_url(&server), offer],
            Duration::from_secs(15),
        )
        .await;
        run.assert_success();
        let line = run.stdout.lines().last().unwrap_or_default();
        let out: serde_json::Value = serde_json::from_str(line).expect("client output");
        assert_eq!(
            out["extensions"] == "permessage-deflate",
            negotiated,
            "server {on}, client offers {offer}: {out}"
        );
        assert_eq!(out["echoed"], serde_json::json!([6001, 3]));
    }
}

/// A raw client: the handshake offering the extension, then `frame`; what
/// the server answers, as text.
async fn raw_session(server: &TestServer, frame: &[u8]) -> (String, Vec<u8>) {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        server.path("EIO=4&transport=websocket")
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.write_all(frame).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let split = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(got.len(), |p| p + 4);
    let (head, rest) = got.split_at(split);
    (String::from_utf8_lossy(head).to_lowercase(), rest.to_vec())
}

/// A masked client text frame with RSV1 set (zero mask: the payload as is).
fn compressed_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | 0x40 | 0x1];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn deflate_raw(data: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync)
        .expect("deflate");
    out.truncate(out.len() - 4);
    out
}

fn limited() -> ServerConfig {
    ServerConfig::default()
        .per_message_deflate(Some(1024))
        .max_http_buffer_size(10_000)
}

#[tokio::test]
async fn compressed_messages_inflate_and_large_echoes_go_compressed() {
    let server = start(limited()).await;
    let fine = format!("4{}", "a".repeat(5000));
    let (head, frames) =
        raw_session(&server, &compressed_frame(&deflate_raw(fine.as_bytes()))).await;
    assert!(
        head.contains("sec-websocket-extensions: permessage-deflate; server_no_context_takeover"),
        "{head}"
    );
    // The open packet (small: as it is), then the echo (compressed: RSV1).
    assert_eq!(frames[0], 0x81, "{frames:?}");
    let open_len = usize::from(frames[1]);
    assert!(open_len < 126);
    assert_eq!(frames[2 + open_len], 0x80 | 0x40 | 0x1, "{frames:?}");
}

/// The server's (unmasked) frames: first byte and payload of each.
fn server_frames(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = vec![];
    while b.len() >= 2 {
        let (len, head) = match b[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 => panic!("no frame here is that large"),
            n => (usize::from(n), 2),
        };
        out.push((b[0], b[head..head + len].to_vec()));
        b = &b[head + len..];
    }
    out
}

#[tokio::test]
async fn a_message_sent_with_compress_false_goes_as_it_is() {
    let server = start(limited()).await;
    let plain = format!("4plain:{}", "a".repeat(5000));
    let packed = format!("4{}", "a".repeat(5000));
    let mut wire = compressed_frame(&deflate_raw(plain.as_bytes()));
    wire.extend(compressed_frame(&deflate_raw(packed.as_bytes())));
    let (_, frames) = raw_session(&server, &wire).await;
    let frames = server_frames(&frames);
    // The open packet, the echo sent with `compress: false` (no RSV1, the
    // text as it is), then a large one compressed as before: the frames the
    // writer marks and those the compressor sees stay in step.
    assert_eq!(frames.len(), 3, "{frames:?}");
    assert_eq!(frames[0].0, 0x81);
    assert_eq!(frames[1].0, 0x81);
    assert_eq!(frames[1].1, plain.as_bytes());
    assert_eq!(frames[2].0, 0x80 | 0x40 | 0x1);
    assert!(frames[2].1.len() < 200, "compressed: {}", frames[2].1.len());
}

#[tokio::test]
async fn a_deflate_bomb_is_refused_within_the_size_limit() {
    let mut server = start(limited()).await;
    // 100 kB of one letter: a few hundred bytes on the wire, ten times the
    // limit once inflated.
    let bomb = format!("4{}", "a".repeat(100_000));
    let packed = deflate_raw(bomb.as_bytes());
    assert!(packed.len() < 1000);
    let (_, frames) = raw_session(&server, &compressed_frame(&packed)).await;
    let (sid, _) = server.events.connected().await;
    let (reason, before) = server.events.disconnect_of(&sid).await;
    // As a message past the limit without compression.
    assert_eq!(reason, engineio::server::DisconnectReason::TransportError);
    assert!(
        !before.iter().any(|e| matches!(e, Event::Message { .. })),
        "nothing reached the handler: {before:?} {frames:?}"
    );
}
