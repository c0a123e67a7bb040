//! The server against the real npm `engine.io-client` (tests/node), plus raw
//! clients for what that client cannot be made to do (never answer a ping).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use engineio::server::{DisconnectReason, TransportType};
use engineio::{Message, ServerConfig};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const NODE_LIMIT: Duration = Duration::from_secs(15);

async fn client(server: &TestServer, scenario: &str, options: Value) -> NodeRun {
    let options = options.to_string();
    let run = run_node(
        "eio-client.mjs",
        &[&server.url(), scenario, &options],
        NODE_LIMIT,
    )
    .await;
    run.assert_success();
    assert_eq!(
        run.events("fail").len(),
        0,
        "client reported a failure:\n{}",
        run.stdout
    );
    run.one("done");
    run
}

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

fn binary(b: &[u8]) -> Message {
    Message::Binary(Bytes::copy_from_slice(b))
}

/// What `echoAll(tag)` of eio-client.mjs sends, in order.
fn echo_all_messages(tag: &str) -> Vec<Message> {
    vec![
        text(&format!("hello {tag}")),
        text("héllo wörld ✓ 😀"),
        text(""),
        binary(&[0, 1, 2, 127, 128, 254, 255]),
        binary(&[10, 20, 30]),
        binary(&[4, 3, 2, 1]),
        binary(&[]),
    ]
}

/// Messages of one session up to its disconnect, with the transport each
/// arrived on; panics on events of other sessions.
async fn session_log(
    events: &mut Events,
    sid: &str,
) -> (Vec<(Message, TransportType)>, DisconnectReason) {
    let (reason, before) = events.disconnect_of(sid).await;
    let msgs = before
        .into_iter()
        .map(|e| match e {
            Event::Message {
                sid: s,
                msg,
                transport,
            } if s == sid => (msg, transport),
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    (msgs, reason)
}

fn assert_echo_lines(run: &NodeRun, tag: &str, transport: &str) {
    let lines: Vec<&Value> = run
        .events("echo")
        .into_iter()
        .filter(|l| l["kind"].as_str().unwrap().ends_with(&format!("-{tag}")))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "text",
            "unicode",
            "empty",
            "buffer",
            "arraybuffer",
            "uint8array",
            "empty-binary"
        ]
        .map(|k| format!("{k}-{tag}"))
    );
    for l in &lines {
        assert_eq!(l["transport"], transport, "{l}");
    }
    assert_eq!(lines[3]["bytes"], json!([0, 1, 2, 127, 128, 254, 255]));
    assert_eq!(lines[1]["text"], "héllo wörld ✓ 😀");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_only_echo_and_client_close() {
    let mut server = start(ServerConfig::default()).await;
    let run = client(&server, "echo", json!({ "transports": ["polling"] })).await;

    let open = run.one("open");
    assert_eq!(open["transport"], "polling");
    let hs = &run.one("handshake")["data"];
    assert_eq!(hs["upgrades"], json!(["websocket"]));
    assert_eq!(hs["pingInterval"], 25000);
    assert_eq!(hs["pingTimeout"], 20000);
    assert_eq!(hs["maxPayload"], 1_000_000);
    assert!(run.events("upgrade").is_empty());
    assert_echo_lines(&run, "a", "polling");
    assert_eq!(run.one("close")["reason"], "forced close");

    let (sid, transport) = server.events.connected().await;
    assert_eq!(sid, open["sid"]);
    assert_eq!(transport, TransportType::Polling);
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    let expected: Vec<_> = echo_all_messages("a")
        .into_iter()
        .map(|m| (m, TransportType::Polling))
        .collect();
    assert_eq!(msgs, expected);
    assert_eq!(reason, DisconnectReason::TransportClose);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_only_echo_and_client_close() {
    let mut server = start(ServerConfig::default()).await;
    let run = client(&server, "echo", json!({ "transports": ["websocket"] })).await;

    assert_eq!(run.one("open")["transport"], "websocket");
    assert_eq!(run.one("handshake")["data"]["upgrades"], json!([]));
    assert_echo_lines(&run, "a", "websocket");

    let (sid, transport) = server.events.connected().await;
    assert_eq!(transport, TransportType::Websocket);
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    let expected: Vec<_> = echo_all_messages("a")
        .into_iter()
        .map(|m| (m, TransportType::Websocket))
        .collect();
    assert_eq!(msgs, expected);
    assert_eq!(reason, DisconnectReason::TransportClose);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_from_polling_to_websocket() {
    let mut server = start(ServerConfig::default()).await;
    let run = client(
        &server,
        "upgrade",
        json!({ "transports": ["polling", "websocket"] }),
    )
    .await;

    assert_eq!(run.one("open")["transport"], "polling");
    assert_eq!(run.one("upgrade")["transport"], "websocket");
    assert!(run.events("upgradeError").is_empty(), "{}", run.stdout);
    // Sent over polling; its echo may come back on either transport.
    let before = run.events("echo")[0];
    assert_eq!(before["kind"], "before-upgrade");
    assert_eq!(before["text"], "before");
    assert_echo_lines(&run, "after", "websocket");

    let (sid, _) = server.events.connected().await;
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    let mut expected = vec![(text("before"), TransportType::Polling)];
    expected.extend(
        echo_all_messages("after")
            .into_iter()
            .map(|m| (m, TransportType::Websocket)),
    );
    assert_eq!(msgs, expected);
    assert_eq!(reason, DisconnectReason::TransportClose);
}

fn small_buffer() -> ServerConfig {
    ServerConfig::default().max_http_buffer_size(1000)
}

async fn max_payload(transport: &str, expected: TransportType) {
    let mut server = start(small_buffer()).await;
    let run = client(
        &server,
        "max-payload",
        json!({ "transports": [transport], "under": 990, "over": 1100 }),
    )
    .await;
    assert_eq!(run.one("handshake")["data"]["maxPayload"], 1000);
    let under = run.one("echo");
    assert_eq!(under["kind"], "under-limit");
    assert_eq!(under["text"].as_str().unwrap().len(), 990);
    let closed = run.one("oversized-closed");
    assert!(
        ["transport error", "transport close"].contains(&closed["reason"].as_str().unwrap()),
        "{closed}"
    );

    let (sid, _) = server.events.connected().await;
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    assert_eq!(msgs, vec![(text(&"a".repeat(990)), expected)]);
    assert_eq!(reason, DisconnectReason::TransportError);
    assert_healthy(server.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_payload_polling() {
    max_payload("polling", TransportType::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_payload_websocket() {
    max_payload("websocket", TransportType::Websocket).await;
}

async fn heartbeat(transport: &str) {
    let mut server = start(fast_heartbeat()).await;
    let started = Instant::now();
    let run = client(
        &server,
        "heartbeat",
        json!({ "transports": [transport], "pings": 4 }),
    )
    .await;
    let hs = &run.one("handshake")["data"];
    assert_eq!(
        (hs["pingInterval"].as_u64(), hs["pingTimeout"].as_u64()),
        (Some(100), Some(100))
    );
    let pings = run.events("ping");
    assert_eq!(pings.len(), 4, "{}", run.stdout);
    assert!(pings.iter().all(|p| p["transport"] == transport));
    // Four pings 100 ms apart cannot come sooner.
    assert!(started.elapsed() >= Duration::from_millis(400));

    let (sid, _) = server.events.connected().await;
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, text("still here"));
    // Not a ping timeout: the client answered every ping.
    assert_eq!(reason, DisconnectReason::TransportClose);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_keeps_polling_client_connected() {
    heartbeat("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_keeps_websocket_client_connected() {
    heartbeat("websocket").await;
}

async fn server_close(transport: &str) {
    let mut server = start(ServerConfig::default()).await;
    let run = client(
        &server,
        "server-close",
        json!({ "transports": [transport] }),
    )
    .await;
    run.one("bye");
    let close = run.one("close");
    assert_eq!(close["reason"], "transport close", "{close}");

    let (sid, _) = server.events.connected().await;
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, text("cmd:close"));
    assert_eq!(reason, DisconnectReason::ForcedClose);
    assert_healthy(server.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_reaches_polling_client() {
    server_close("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_reaches_websocket_client() {
    server_close("websocket").await;
}

async fn client_close(transport: &str) {
    let mut server = start(ServerConfig::default()).await;
    let run = client(
        &server,
        "client-close",
        json!({ "transports": [transport] }),
    )
    .await;
    assert_eq!(run.one("close")["reason"], "forced close");
    let (sid, _) = server.events.connected().await;
    let (msgs, reason) = session_log(&mut server.events, &sid).await;
    assert!(msgs.is_empty());
    assert_eq!(reason, DisconnectReason::TransportClose);
    assert!(server.engine.socket(&sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_right_after_open_polling() {
    client_close("polling").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_right_after_open_websocket() {
    client_close("websocket").await;
}

// ---------------------------------------------------------------------------
// Heartbeat timeouts, with raw clients that never answer a ping.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_timeout_closes_websocket_client_that_stops_answering() {
    let mut server = start(fast_heartbeat()).await;
    // Taken before connecting, so the server's timers start after it.
    let opened = Instant::now();
    let (mut ws, sid) = ws_session(server.addr).await;
    // The first ping, after pingInterval, is answered...
    assert_eq!(ws_text(&mut ws).await, "2");
    assert!(opened.elapsed() >= Duration::from_millis(100));
    ws.send(WsMessage::text("3")).await.unwrap();
    // ...the second, a pingInterval after the pong, is not.
    assert_eq!(ws_text(&mut ws).await, "2");
    assert!(opened.elapsed() >= Duration::from_millis(200));
    ws_expect_closed(&mut ws, &[]).await;
    // Plus pingTimeout, plus scheduling.
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "closed after {elapsed:?}"
    );
    server.events.connected().await;
    let (reason, _) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert_healthy(server.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_timeout_closes_silent_polling_client() {
    let mut server = start(fast_heartbeat()).await;
    let opened = Instant::now();
    let (sid, _) = handshake(server.addr).await;
    // No GET, no pong: the ping is queued at +100 ms and times out at +200.
    let (reason, _) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2),
        "closed after {elapsed:?}"
    );
    poll(server.addr, &sid)
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert_healthy(server.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_pings_keep_a_raw_websocket_session() {
    let mut server = start(fast_heartbeat()).await;
    let (mut ws, sid) = ws_session(server.addr).await;
    for _ in 0..3 {
        assert_eq!(ws_text(&mut ws).await, "2");
        ws.send(WsMessage::text("3")).await.unwrap();
    }
    ws.send(WsMessage::text("4alive")).await.unwrap();
    loop {
        match ws_text(&mut ws).await.as_str() {
            "2" => ws.send(WsMessage::text("3")).await.unwrap(),
            other => break assert_eq!(other, "4alive"),
        }
    }
    assert!(server.engine.socket(&sid).is_some());
    let _ = ws.close(None).await;
    let (reason, _) = server.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
}
