//! Raw HTTP and WebSocket clients feeding the server what a well-behaved
//! client never sends: every handshake error code in the reference's check
//! order, transport-level polling errors, garbage packets, refused upgrades,
//! and the HTTP extras (CORS, cookie, compression, header hooks, the
//! connection-error hook). After each bad input a fresh session on the same
//! server must still work.

mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use engineio::server::{
    ConnectionError, Cookie, Cors, CorsOrigin, DisconnectReason, ErrorCode, TransportType,
};
use engineio::ServerConfig;
use futures_util::SinkExt;
use http::HeaderValue;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

/// Long enough for a request written to loopback to reach its handler.
const SETTLE: Duration = Duration::from_millis(50);

const HANDSHAKE: &str = "/engine.io/?EIO=4&transport=polling";

fn sid_path(sid: &str) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={sid}")
}

/// A long-poll GET running in the background.
fn spawn_poll(addr: std::net::SocketAddr, sid: &str) -> tokio::task::JoinHandle<HttpResponse> {
    let sid = sid.to_owned();
    tokio::spawn(async move { poll(addr, &sid).await })
}

/// The session `sid` is gone, for the reason given.
async fn assert_closed(server: &mut TestServer, sid: &str, reason: DisconnectReason) {
    let (got, _) = server.events.disconnect_of(sid).await;
    assert_eq!(got, reason);
    poll(server.addr, sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
}

/// Upgrades the polling session `sid` to WebSocket with the probe dance.
async fn upgrade(addr: std::net::SocketAddr, sid: &str) -> Ws {
    let (mut ws, _) = ws_connect(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .expect("upgrade handshake");
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws.send(WsMessage::text("5")).await.unwrap();
    ws
}

/// The refusal of a WebSocket handshake: status and plain-text body.
fn assert_ws_refused(
    result: Result<
        (
            Ws,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        WsError,
    >,
    status: u16,
    body: &str,
) {
    match result {
        Err(WsError::Http(res)) => {
            assert_eq!(res.status().as_u16(), status);
            assert_eq!(res.headers()["content-type"], "text/html");
            assert_eq!(res.headers()["connection"], "close");
            assert_eq!(res.body().as_deref(), Some(body.as_bytes()));
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok((_, res)) => panic!("expected a refusal, got {}", res.status()),
    }
}

// ---------------------------------------------------------------------------
// Handshake error codes, in the reference's check order

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_0_unknown_transport() {
    let server = start(ServerConfig::default()).await;
    let addr = server.addr;
    for path in [
        "/engine.io/?EIO=4",
        "/engine.io/?EIO=4&transport=abc",
        "/engine.io/?EIO=4&transport=",
        // transport is checked before everything else
        "/engine.io/?EIO=3&transport=abc",
        "/engine.io/?transport=abc&sid=nope",
    ] {
        get(addr, path)
            .await
            .assert_error(400, 0, "Transport unknown");
        assert_healthy(addr).await;
    }
    http(addr, "POST", "/engine.io/?EIO=4&transport=abc", &[], b"4x")
        .await
        .assert_error(400, 0, "Transport unknown");
    assert_healthy(addr).await;

    // A transport that exists but is not enabled is unknown too.
    let polling_only =
        start(ServerConfig::default().transports(vec![TransportType::Polling])).await;
    get(polling_only.addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .assert_error(400, 0, "Transport unknown");
    assert_ws_refused(
        ws_connect(polling_only.addr, "/engine.io/?EIO=4&transport=websocket").await,
        400,
        "Transport unknown",
    );
    let (_, hs) = handshake(polling_only.addr).await;
    assert_eq!(hs["upgrades"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_1_unknown_sid() {
    let server = start(ServerConfig::default()).await;
    let addr = server.addr;
    for path in [
        "/engine.io/?EIO=4&transport=polling&sid=nope",
        "/engine.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
        // sid is checked before the protocol version
        "/engine.io/?transport=polling&sid=nope",
        "/engine.io/?EIO=4&transport=websocket&sid=nope",
    ] {
        get(addr, path)
            .await
            .assert_error(400, 1, "Session ID unknown");
        assert_healthy(addr).await;
    }
    post(addr, "nope", b"4x")
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_2_bad_handshake_method() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    for method in ["POST", "PUT", "DELETE"] {
        http(addr, method, HANDSHAKE, &[], b"")
            .await
            .assert_error(400, 2, "Bad handshake method");
        assert_healthy(addr).await;
    }
    // method is checked before the protocol version
    http(addr, "POST", "/engine.io/?transport=polling", &[], b"")
        .await
        .assert_error(400, 2, "Bad handshake method");
    // without CORS configured, a preflight is just a bad handshake
    http(
        addr,
        "OPTIONS",
        HANDSHAKE,
        &[("Origin", "http://a.test")],
        b"",
    )
    .await
    .assert_error(400, 2, "Bad handshake method");
    assert_healthy(addr).await;
    // None of these opened a session besides the health checks'.
    let mut opened = 0;
    for e in server.events.drain() {
        if let Event::Connect { .. } = e {
            opened += 1;
        }
    }
    assert_eq!(opened, 2 * 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_3_bad_request() {
    let server = start(ServerConfig::default()).await;
    let addr = server.addr;
    // WebSocket handshake without the Upgrade header, with or without EIO.
    for path in [
        "/engine.io/?EIO=4&transport=websocket",
        "/engine.io/?transport=websocket",
    ] {
        get(addr, path).await.assert_error(400, 3, "Bad request");
        assert_healthy(addr).await;
    }

    // A polling session asked for over the websocket transport, no Upgrade.
    let (sid, _) = handshake(addr).await;
    get(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .assert_error(400, 3, "Bad request");
    // ... and a WebSocket session asked for over polling.
    let (_ws, ws_sid) = ws_session(addr).await;
    poll(addr, &ws_sid)
        .await
        .assert_error(400, 3, "Bad request");
    post(addr, &ws_sid, b"4x")
        .await
        .assert_error(400, 3, "Bad request");

    // Polling after an upgrade.
    let mut ws = upgrade(addr, &sid).await;
    ws.send(WsMessage::text("4upgraded")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "4upgraded");
    poll(addr, &sid).await.assert_error(400, 3, "Bad request");
    post(addr, &sid, b"4x")
        .await
        .assert_error(400, 3, "Bad request");
    // The upgraded session is unharmed.
    ws.send(WsMessage::text("4still")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "4still");
    assert_healthy(addr).await;
}

fn refusing() -> ServerConfig {
    ServerConfig::default().allow_request(Some(Arc::new(|req| {
        match req.headers.get("x-let-me-in") {
            Some(_) => Ok(()),
            None => Err("no entry without x-let-me-in".to_owned()),
        }
    })))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_4_allow_request_refusal() {
    let server = start(refusing()).await;
    let addr = server.addr;
    let msg = "no entry without x-let-me-in";
    get(addr, HANDSHAKE).await.assert_error(403, 4, msg);
    // allowRequest runs before the protocol version check...
    get(addr, "/engine.io/?EIO=3&transport=polling")
        .await
        .assert_error(403, 4, msg);
    // ...and after the method check.
    http(addr, "POST", HANDSHAKE, &[], b"")
        .await
        .assert_error(400, 2, "Bad handshake method");
    assert_ws_refused(
        ws_connect(addr, "/engine.io/?EIO=4&transport=websocket").await,
        403,
        msg,
    );

    let res = http(addr, "GET", HANDSHAKE, &[("x-let-me-in", "1")], b"").await;
    assert_eq!(res.status, 200);
    assert!(res.text().starts_with("0{"));
    let (mut ws, _) = ws_connect_with(
        addr,
        "/engine.io/?EIO=4&transport=websocket",
        &[("x-let-me-in", "1")],
    )
    .await
    .expect("allowed websocket");
    assert!(ws_text(&mut ws).await.starts_with("0{"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_5_unsupported_protocol_version() {
    let server = start(ServerConfig::default()).await;
    let addr = server.addr;
    for path in [
        "/engine.io/?transport=polling",
        "/engine.io/?EIO=3&transport=polling",
        "/engine.io/?EIO=abc&transport=polling",
        "/engine.io/?EIO=5&transport=polling",
    ] {
        get(addr, path)
            .await
            .assert_error(400, 5, "Unsupported protocol version");
        assert_healthy(addr).await;
    }
    assert_ws_refused(
        ws_connect(addr, "/engine.io/?EIO=3&transport=websocket").await,
        400,
        "Unsupported protocol version",
    );
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_path_is_404() {
    let server = start(ServerConfig::default()).await;
    for path in ["/", "/engine.iox/?EIO=4&transport=polling", "/socket.io/"] {
        assert_eq!(get(server.addr, path).await.status, 404, "{path}");
    }
    // The path matches by prefix, as the reference's.
    let res = get(server.addr, "/engine.io/anything?EIO=4&transport=polling").await;
    assert_eq!(res.status, 200);
}

// ---------------------------------------------------------------------------
// Transport-level polling errors

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_sid_is_500_and_keeps_the_session() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    for method in ["PUT", "DELETE", "PATCH"] {
        http(addr, method, &sid_path(&sid), &[], b"4x")
            .await
            .assert_empty(500);
    }
    assert_eq!(post(addr, &sid, b"4after").await.text(), "ok");
    assert_eq!(poll(addr, &sid).await.text(), "4after");
    assert!(server.engine.socket(&sid).is_some());
    server.events.connected().await;
    server
        .events
        .find(|e| matches!(e, Event::Message { .. }).then_some(()))
        .await;
    server.events.assert_quiet(SETTLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_get_closes_the_session() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    let first = spawn_poll(addr, &sid);
    tokio::time::sleep(SETTLE).await;
    let second = poll(addr, &sid).await;
    second.assert_empty(400);
    let first = first.await.unwrap();
    assert_eq!((first.status, first.text()), (200, "1".to_owned()));
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_get_closes_the_session() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", sid_path(&sid)).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(SETTLE).await;
    drop(tcp);
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_packet_ends_the_pending_get_with_noop() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    let pending = spawn_poll(addr, &sid);
    tokio::time::sleep(SETTLE).await;
    let res = post(addr, &sid, b"1").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let pending = pending.await.unwrap();
    assert_eq!((pending.status, pending.text()), (200, "6".to_owned()));
    assert_closed(&mut server, &sid, DisconnectReason::TransportClose).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_post_is_400() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    // A POST whose body never finishes arriving.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4partial",
            sid_path(&sid)
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(SETTLE).await;
    post(addr, &sid, b"4second").await.assert_empty(400);
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    drop(slow);
    assert_healthy(addr).await;
}

fn small_buffer() -> ServerConfig {
    ServerConfig::default().max_http_buffer_size(1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_post_is_413() {
    let mut server = start(small_buffer()).await;
    let addr = server.addr;

    // Exactly the limit is fine.
    let (sid, hs) = handshake(addr).await;
    assert_eq!(hs["maxPayload"], 1000);
    let body = format!("4{}", "a".repeat(999));
    assert_eq!(post(addr, &sid, body.as_bytes()).await.text(), "ok");
    assert_eq!(poll(addr, &sid).await.text(), body);

    // One byte more, announced by Content-Length.
    let body = format!("4{}", "a".repeat(1000));
    post(addr, &sid, body.as_bytes()).await.assert_empty(413);
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    assert_healthy(addr).await;

    // Too much, in chunks with no Content-Length.
    let (sid, _) = handshake(addr).await;
    let chunk = format!("4{}", "b".repeat(599));
    let body = format!("258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n");
    http_raw(
        addr,
        &format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n",
            sid_path(&sid)
        ),
        body.as_bytes(),
    )
    .await
    .assert_empty(413);
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octet_stream_post_is_400() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    http(
        addr,
        "POST",
        &sid_path(&sid),
        &[("Content-Type", "application/octet-stream")],
        b"\x04hello",
    )
    .await
    .assert_empty(400);
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    assert_healthy(addr).await;
}

// ---------------------------------------------------------------------------
// Garbage packets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_polling_closes_the_session() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let garbage: [&[u8]; 7] = [
        b"xyz",
        b"",
        b"7",
        b"4ok\x1e",
        b"b!!not base64",
        b"4\xff\xfe",
        b"\x1e\x1e",
    ];
    for body in garbage {
        let (sid, _) = handshake(addr).await;
        let res = post(addr, &sid, body).await;
        // The reference answers such a POST with 200 "ok"; see
        // garbage_post_is_answered_ok_like_the_reference.
        assert!(matches!(res.status, 200 | 400), "{body:?}: {res:?}");
        let (reason, _) = server.events.disconnect_of(&sid).await;
        assert_eq!(reason, DisconnectReason::ParseError, "{body:?}");
        poll(addr, &sid)
            .await
            .assert_error(400, 1, "Session ID unknown");
        assert_healthy(addr).await;
    }
    // Packets before the garbage are still delivered to the handler.
    let (sid, _) = handshake(addr).await;
    post(addr, &sid, b"4first\x1ezzz").await;
    let (reason, before) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::ParseError);
    assert!(
        before
            .iter()
            .any(|e| matches!(e, Event::Message { sid: s, msg, .. }
            if *s == sid && *msg == engineio::Message::Text("first".into()))),
        "{before:?}"
    );
}

#[tokio::test]
async fn garbage_post_is_answered_ok_like_the_reference() {
    let server = start(ServerConfig::default()).await;
    let (sid, _) = handshake(server.addr).await;
    let res = post(server.addr, &sid, b"xyz").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let (sid, _) = handshake(server.addr).await;
    let res = post(server.addr, &sid, b"2").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_websocket_closes_the_session() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    for frame in ["xyz", "", "7", "\u{1e}", "b AQID"] {
        let (mut ws, sid) = ws_session(addr).await;
        ws.send(WsMessage::text(frame)).await.unwrap();
        ws_expect_closed(&mut ws, &[]).await;
        let (reason, _) = server.events.disconnect_of(&sid).await;
        assert_eq!(reason, DisconnectReason::ParseError, "{frame:?}");
        assert!(server.engine.socket(&sid).is_none());
        assert_healthy(addr).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ping_closes_the_session_in_v4() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;

    let (sid, _) = handshake(addr).await;
    let res = post(addr, &sid, b"2").await;
    assert!(matches!(res.status, 200 | 400), "{res:?}");
    assert_closed(&mut server, &sid, DisconnectReason::TransportError).await;
    assert_healthy(addr).await;

    for frame in ["2", "2probe"] {
        let (mut ws, sid) = ws_session(addr).await;
        ws.send(WsMessage::text(frame)).await.unwrap();
        ws_expect_closed(&mut ws, &[]).await;
        let (reason, _) = server.events.disconnect_of(&sid).await;
        assert_eq!(reason, DisconnectReason::TransportError, "{frame:?}");
        assert_healthy(addr).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_message_over_max_payload_closes_the_session() {
    let mut server = start(small_buffer()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    let fits = format!("4{}", "a".repeat(999));
    ws.send(WsMessage::text(fits.clone())).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, fits);
    ws.send(WsMessage::binary(vec![7u8; 1001])).await.unwrap();
    ws_expect_closed(&mut ws, &[]).await;
    let (reason, _) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportError);
    assert_healthy(server.addr).await;
}

// ---------------------------------------------------------------------------
// WebSocket upgrades

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrade_refusals() {
    let server = start(ServerConfig::default()).await;
    let addr = server.addr;
    for (path, status, body) in [
        (
            "/engine.io/?EIO=4&transport=bogus",
            400,
            "Transport unknown",
        ),
        ("/engine.io/?EIO=4", 400, "Transport unknown"),
        (
            "/engine.io/?EIO=4&transport=websocket&sid=nope",
            400,
            "Session ID unknown",
        ),
        (
            "/engine.io/?transport=websocket",
            400,
            "Unsupported protocol version",
        ),
    ] {
        assert_ws_refused(ws_connect(addr, path).await, status, body);
        assert_healthy(addr).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_probe_flow() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    let pending = spawn_poll(addr, &sid);
    tokio::time::sleep(SETTLE).await;

    let mut ws = ws_probe(addr, &sid).await;
    // The pending GET is released with a noop so the client can pause.
    let pending = pending.await.unwrap();
    assert_eq!((pending.status, pending.text()), (200, "6".to_owned()));
    // Until the upgrade packet, the session is still on polling.
    assert_eq!(
        server.engine.socket(&sid).unwrap().transport(),
        TransportType::Polling
    );
    ws.send(WsMessage::text("5")).await.unwrap();
    ws.send(WsMessage::binary(vec![1u8, 2, 3])).await.unwrap();
    match ws_next(&mut ws).await {
        Some(WsMessage::Binary(b)) => assert_eq!(&b[..], &[1, 2, 3]),
        other => panic!("expected the binary echo, got {other:?}"),
    }
    assert_eq!(
        server.engine.socket(&sid).unwrap().transport(),
        TransportType::Websocket
    );

    // A second WebSocket for the upgraded session is closed at once; the
    // first is unharmed.
    let (mut second, _) = ws_connect(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .unwrap();
    second.send(WsMessage::text("2probe")).await.ok();
    ws_expect_closed(&mut second, &[]).await;
    ws.send(WsMessage::text("4same")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "4same");
    assert!(server.engine.socket(&sid).is_some());
    let _ = ws.close(None).await;
    let (reason, _) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
}

/// During an upgrade a GET answers at once, carrying what is queued (as the
/// reference flushes its buffer to a waiting poll until the upgrade
/// completes): a packet the server sends then reaches the client without
/// waiting for the WebSocket, once, and the WebSocket carries what follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_during_an_upgrade_carries_what_is_queued() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    let mut ws = ws_probe(addr, &sid).await;
    // Echoed by the handler before the POST is answered: queued while the
    // upgrade is under way.
    let res = post(addr, &sid, b"4hello").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let res = poll(addr, &sid).await;
    assert_eq!((res.status, res.text()), (200, "4hello".to_owned()));
    // Nothing queued: a noop, at once.
    let res = poll(addr, &sid).await;
    assert_eq!((res.status, res.text()), (200, "6".to_owned()));
    ws.send(WsMessage::text("5")).await.unwrap();
    ws.send(WsMessage::text("4after")).await.unwrap();
    // The WebSocket's first message is the echo of its own: the one the
    // GET carried is not sent twice.
    assert_eq!(ws_text(&mut ws).await, "4after");
    assert_eq!(
        server.engine.socket(&sid).unwrap().transport(),
        TransportType::Websocket
    );
    let _ = ws.close(None).await;
    let (reason, _) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_probe_closes_only_the_probing_websocket() {
    let mut server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    for frame in [
        WsMessage::text("4hello"),
        WsMessage::text("x"),
        WsMessage::binary(vec![1u8]),
    ] {
        let (mut ws, _) = ws_connect(
            addr,
            &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
        )
        .await
        .unwrap();
        ws.send(frame.clone()).await.unwrap();
        ws_expect_closed(&mut ws, &[]).await;
        // The polling session carries on.
        assert_eq!(post(addr, &sid, b"4poll").await.text(), "ok", "{frame:?}");
        assert_eq!(poll(addr, &sid).await.text(), "4poll");
    }
    // Nor does a WebSocket on a WebSocket session's sid harm that session.
    let (mut first, ws_sid) = ws_session(addr).await;
    let (mut second, _) = ws_connect(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={ws_sid}"),
    )
    .await
    .unwrap();
    second.send(WsMessage::text("2probe")).await.ok();
    ws_expect_closed(&mut second, &[]).await;
    first.send(WsMessage::text("4first")).await.unwrap();
    assert_eq!(ws_text(&mut first).await, "4first");
    assert!(server.engine.socket(&sid).is_some());
    assert!(server.engine.socket(&ws_sid).is_some());
    assert!(server
        .events
        .drain()
        .iter()
        .all(|e| !matches!(e, Event::Disconnect { .. })));
}

// ---------------------------------------------------------------------------
// HTTP extras

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_errors() {
    let server = start(ServerConfig::default().cors(Some(Cors::any()))).await;
    let addr = server.addr;
    let res = http(
        addr,
        "OPTIONS",
        HANDSHAKE,
        &[
            ("Origin", "http://a.test"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type,x-custom"),
        ],
        b"",
    )
    .await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_empty());
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        res.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        res.header("access-control-allow-headers"),
        Some("content-type,x-custom")
    );
    assert_eq!(res.header("vary"), Some("Access-Control-Request-Headers"));

    // On handshake errors and on transport errors too.
    let res = http(
        addr,
        "GET",
        "/engine.io/?EIO=4",
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    res.assert_error(400, 0, "Transport unknown");
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let (sid, _) = handshake(addr).await;
    let res = http(
        addr,
        "PUT",
        &sid_path(&sid),
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    res.assert_empty(500);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let res = http(addr, "GET", HANDSHAKE, &[("Origin", "http://a.test")], b"").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_healthy(addr).await;

    // A list of origins reflects listed ones only.
    let listed = start(ServerConfig::default().cors(Some(Cors {
        origin: CorsOrigin::List(vec!["http://ok.test".into()]),
        credentials: true,
        ..Cors::default()
    })))
    .await;
    let ok = http(
        listed.addr,
        "GET",
        HANDSHAKE,
        &[("Origin", "http://ok.test")],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://ok.test")
    );
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(ok.header("vary"), Some("Origin"));
    let other = http(
        listed.addr,
        "GET",
        HANDSHAKE,
        &[("Origin", "http://evil.test")],
        b"",
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);

    // No CORS option, no CORS headers.
    let plain = start(ServerConfig::default()).await;
    let res = http(
        plain.addr,
        "GET",
        HANDSHAKE,
        &[("Origin", "http://a.test")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res
        .headers
        .iter()
        .all(|(k, _)| !k.starts_with("access-control-")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_on_the_handshake_only() {
    let server = start(ServerConfig::default().cookie(Some(Cookie::default()))).await;
    let res = get(server.addr, HANDSHAKE).await;
    let body = res.text();
    let sid = serde_json::from_str::<serde_json::Value>(&body[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        res.headers_named("set-cookie"),
        [format!("io={sid}; Path=/; HttpOnly; SameSite=Lax")]
    );
    post(server.addr, &sid, b"4x").await;
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.text(), "4x");
    assert_eq!(res.header("set-cookie"), None);

    let plain = start(ServerConfig::default()).await;
    assert_eq!(get(plain.addr, HANDSHAKE).await.header("set-cookie"), None);
}

fn gunzip(b: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(b)
        .read_to_string(&mut s)
        .expect("gzip body");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_of_large_poll_responses() {
    let server = start(ServerConfig::default()).await;
    let addr = server.addr;
    let (sid, _) = handshake(addr).await;
    let path = sid_path(&sid);
    let gzip = [("Accept-Encoding", "gzip, deflate")];

    // 1024 bytes: compressed.
    let big = format!("4{}", "x".repeat(1023));
    post(addr, &sid, big.as_bytes()).await;
    let res = http(addr, "GET", &path, &gzip, b"").await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.body.len() < 200, "compressed to {}", res.body.len());
    assert_eq!(gunzip(&res.body), big);

    // 1023 bytes: sent as is.
    let below = format!("4{}", "x".repeat(1022));
    post(addr, &sid, below.as_bytes()).await;
    let res = http(addr, "GET", &path, &gzip, b"").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), below);

    // Large, but the client accepts no encoding.
    post(addr, &sid, big.as_bytes()).await;
    let res = http(addr, "GET", &path, &[], b"").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), big);

    // Deflate when gzip is not accepted: the zlib format HTTP's "deflate"
    // names, as the reference's zlib.createDeflate writes it.
    post(addr, &sid, big.as_bytes()).await;
    let res = http(addr, "GET", &path, &[("Accept-Encoding", "deflate")], b"").await;
    assert_eq!(res.header("content-encoding"), Some("deflate"));
    let mut s = String::new();
    flate2::read::ZlibDecoder::new(&res.body[..])
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, big);

    // Sent with `compress: false` (engine.io's `send(data, { compress:
    // false })`): as is, however large.
    let plain = format!("4plain:{}", "x".repeat(2000));
    post(addr, &sid, plain.as_bytes()).await;
    let res = http(addr, "GET", &path, &gzip, b"").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), plain);

    // Disabled.
    let off = start(ServerConfig::default().http_compression_threshold(None)).await;
    let (sid, _) = handshake(off.addr).await;
    post(off.addr, &sid, big.as_bytes()).await;
    let res = http(off.addr, "GET", &sid_path(&sid), &gzip, b"").await;
    assert_eq!(res.header("content-encoding"), None);
    assert_eq!(res.text(), big);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_headers_and_headers_hooks() {
    let server = start(
        ServerConfig::default()
            .initial_headers(Some(Arc::new(|h, _req| {
                h.insert("x-initial", HeaderValue::from_static("yes"));
            })))
            .headers(Some(Arc::new(|h, req| {
                let t = req.query("transport").unwrap_or_default();
                h.insert("x-every", HeaderValue::from_str(&t).unwrap());
            }))),
    )
    .await;
    let addr = server.addr;

    let res = get(addr, HANDSHAKE).await;
    assert_eq!(res.header("x-initial"), Some("yes"));
    assert_eq!(res.header("x-every"), Some("polling"));
    let sid = serde_json::from_str::<serde_json::Value>(&res.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = post(addr, &sid, b"4x").await;
    assert_eq!(
        (res.header("x-initial"), res.header("x-every")),
        (None, Some("polling"))
    );
    let res = poll(addr, &sid).await;
    assert_eq!(
        (res.header("x-initial"), res.header("x-every")),
        (None, Some("polling"))
    );

    let (_ws, res) = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    assert_eq!(res.headers()["x-initial"], "yes");
    assert_eq!(res.headers()["x-every"], "websocket");
    let (_up, res) = ws_connect(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .unwrap();
    assert!(res.headers().get("x-initial").is_none());
    assert_eq!(res.headers()["x-every"], "websocket");

    // Refusals are not decorated.
    let res = get(addr, "/engine.io/?EIO=4").await;
    assert_eq!(
        (res.header("x-initial"), res.header("x-every")),
        (None, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_error_hook_gets_code_and_context() {
    let seen: Arc<Mutex<Vec<ConnectionError>>> = Arc::default();
    let sink = seen.clone();
    let mut config = refusing();
    config.on_connection_error = Some(Arc::new(move |e| sink.lock().push(e.clone())));
    let server = start(config).await;
    let addr = server.addr;
    let take = || std::mem::take(&mut *seen.lock());

    get(addr, "/engine.io/?EIO=4&transport=abc").await;
    get(addr, "/engine.io/?EIO=4&transport=polling&sid=nope").await;
    http(addr, "POST", HANDSHAKE, &[], b"").await;
    get(addr, "/engine.io/?EIO=4&transport=websocket").await;
    get(addr, HANDSHAKE).await;
    http(
        addr,
        "GET",
        "/engine.io/?EIO=3&transport=polling",
        &[("x-let-me-in", "1")],
        b"",
    )
    .await;
    let _ = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket&sid=gone").await;

    let got: Vec<_> = take()
        .into_iter()
        .map(|e| (e.code, e.message, e.context, e.req.uri.to_string()))
        .collect();
    let ctx = |k: &'static str, v: &str| vec![(k, v.to_owned())];
    assert_eq!(
        got,
        vec![
            (
                ErrorCode::UnknownTransport,
                "Transport unknown".to_owned(),
                ctx("transport", "abc"),
                "/engine.io/?EIO=4&transport=abc".to_owned()
            ),
            (
                ErrorCode::UnknownSid,
                "Session ID unknown".to_owned(),
                ctx("sid", "nope"),
                "/engine.io/?EIO=4&transport=polling&sid=nope".to_owned()
            ),
            (
                ErrorCode::BadHandshakeMethod,
                "Bad handshake method".to_owned(),
                ctx("method", "POST"),
                HANDSHAKE.to_owned()
            ),
            (
                ErrorCode::BadRequest,
                "Bad request".to_owned(),
                ctx("name", "TRANSPORT_HANDSHAKE_ERROR"),
                "/engine.io/?EIO=4&transport=websocket".to_owned()
            ),
            (
                ErrorCode::Forbidden,
                "no entry without x-let-me-in".to_owned(),
                vec![],
                HANDSHAKE.to_owned()
            ),
            (
                ErrorCode::UnsupportedProtocolVersion,
                "Unsupported protocol version".to_owned(),
                ctx("protocol", "3"),
                "/engine.io/?EIO=3&transport=polling".to_owned()
            ),
            (
                ErrorCode::UnknownSid,
                "Session ID unknown".to_owned(),
                ctx("sid", "gone"),
                "/engine.io/?EIO=4&transport=websocket&sid=gone".to_owned()
            ),
        ]
    );

    // A good request is not reported.
    let res = http(addr, "GET", HANDSHAKE, &[("x-let-me-in", "1")], b"").await;
    assert_eq!(res.status, 200);
    assert!(take().is_empty());
}
