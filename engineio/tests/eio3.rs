//! Engine.IO protocol 3 sessions (`allow_eio3`), spoken raw: polling text
//! and binary payloads, WebSocket frames, the upgrade, the heartbeat the
//! client drives, and the refusal when the option is off.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use engineio::server::{DisconnectReason, TransportType};
use engineio::{Message, ServerConfig};
use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const BASE: &str = "/engine.io/?EIO=3&transport=polling";

fn v3_config() -> ServerConfig {
    ServerConfig::default().allow_eio3(true)
}

/// Splits a text payload into its records, checking each length (in
/// UTF-16 code units).
fn records(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(':').expect("length prefix");
        let len: usize = len.parse().expect("numeric length");
        let mut units = 0;
        let end = tail
            .char_indices()
            .find(|(_, c)| {
                let done = units == len;
                units += c.len_utf16();
                done
            })
            .map_or(tail.len(), |(i, _)| i);
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

/// A protocol 3 polling handshake; `query` is appended (e.g. `&b64=1`).
async fn open_polling(addr: SocketAddr, query: &str) -> (String, Value) {
    let res = get(addr, &format!("{BASE}{query}")).await;
    assert_eq!(res.status, 200, "{res:?}");
    let recs = records(&res.text());
    assert_eq!(recs.len(), 1, "{recs:?}");
    let v: Value = serde_json::from_str(recs[0].strip_prefix('0').expect("open")).unwrap();
    (v["sid"].as_str().unwrap().to_owned(), v)
}

async fn post3(addr: SocketAddr, sid: &str, query: &str, ctype: &str, body: &[u8]) -> HttpResponse {
    http(
        addr,
        "POST",
        &format!("{BASE}&sid={sid}{query}"),
        &[("Content-Type", ctype)],
        body,
    )
    .await
}

async fn poll3(addr: SocketAddr, sid: &str, query: &str) -> HttpResponse {
    get(addr, &format!("{BASE}&sid={sid}{query}")).await
}

#[tokio::test]
async fn refused_when_off() {
    let srv = start(ServerConfig::default()).await;
    get(srv.addr, BASE)
        .await
        .assert_error(400, 5, "Unsupported protocol version");
    get(srv.addr, "/engine.io/?transport=polling")
        .await
        .assert_error(400, 5, "Unsupported protocol version");
}

#[tokio::test]
async fn polling_text_payloads_in_base64_mode() {
    let mut srv = start(v3_config()).await;
    let (sid, open) = open_polling(srv.addr, "&b64=1").await;
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(srv.events.connected().await.0, sid);

    let res = post3(
        srv.addr,
        &sid,
        "&b64=1",
        "text/plain;charset=UTF-8",
        "9:4héllo 😀10:b4AQIDBA==".as_bytes(),
    )
    .await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let res = poll3(srv.addr, &sid, "&b64=1").await;
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(records(&res.text()), ["4héllo 😀", "b4AQIDBA=="]);
    let seen: Vec<Message> = [srv.events.next().await, srv.events.next().await]
        .into_iter()
        .map(|e| match e {
            Event::Message { msg, .. } => msg,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            Message::Text("héllo 😀".into()),
            Message::Binary(vec![1, 2, 3, 4].into())
        ]
    );
}

#[tokio::test]
async fn polling_binary_payloads() {
    let srv = start(v3_config()).await;
    let (sid, _) = open_polling(srv.addr, "").await;
    // A text record and a binary one, as a binary payload.
    let body = [0, 2, 0xff, b'4', b'a', 1, 4, 0xff, 4, 1, 2, 0xff];
    let res = post3(srv.addr, &sid, "", "application/octet-stream", &body).await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let res = poll3(srv.addr, &sid, "").await;
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    assert_eq!(res.body, body);
    // Text alone still goes as a text payload.
    post3(srv.addr, &sid, "", "text/plain", b"2:4b").await;
    assert_eq!(poll3(srv.addr, &sid, "").await.text(), "2:4b");
}

#[tokio::test]
async fn malformed_payload_closes_the_session() {
    let mut srv = start(v3_config()).await;
    let (sid, _) = open_polling(srv.addr, "").await;
    srv.events.connected().await;
    let res = post3(srv.addr, &sid, "", "text/plain", b"5:4a").await;
    assert_eq!(res.status, 200);
    let (reason, _) = srv.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::ParseError);
}

#[tokio::test]
async fn client_pings_keep_the_session_and_silence_ends_it() {
    let mut srv = start(fast_heartbeat().allow_eio3(true)).await;
    let (sid, open) = open_polling(srv.addr, "").await;
    assert_eq!(open["pingInterval"], 100);
    srv.events.connected().await;
    // Well past pingInterval + pingTimeout, kept alive by pings.
    for _ in 0..6 {
        post3(srv.addr, &sid, "", "text/plain", b"1:2").await;
        assert_eq!(poll3(srv.addr, &sid, "").await.text(), "1:3");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert!(srv.engine.socket(&sid).is_some(), "closed despite pings");
    let started = tokio::time::Instant::now();
    let (reason, _) = srv.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_client_pong_is_a_transport_error() {
    let mut srv = start(v3_config()).await;
    let (sid, _) = open_polling(srv.addr, "").await;
    srv.events.connected().await;
    post3(srv.addr, &sid, "", "text/plain", b"1:3").await;
    let (reason, _) = srv.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportError);
}

async fn open_ws(addr: SocketAddr, query: &str) -> (Ws, String) {
    let (mut ws, _) = ws_connect(
        addr,
        &format!("/engine.io/?EIO=3&transport=websocket{query}"),
    )
    .await
    .expect("websocket handshake");
    let open = ws_text(&mut ws).await;
    let v: Value = serde_json::from_str(open.strip_prefix('0').expect("open")).unwrap();
    assert_eq!(v["upgrades"], serde_json::json!([]));
    (ws, v["sid"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn websocket_frames() {
    let srv = start(v3_config()).await;
    let (mut ws, _) = open_ws(srv.addr, "").await;
    ws.send(WsMessage::text("2")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "3");
    ws.send(WsMessage::text("4hi")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "4hi");
    ws.send(WsMessage::binary(vec![4, 1, 2, 3])).await.unwrap();
    assert_eq!(
        ws_next(&mut ws).await,
        Some(WsMessage::binary(vec![4, 1, 2, 3]))
    );
    // Base64 text in, a binary frame out.
    ws.send(WsMessage::text("b4AQID")).await.unwrap();
    assert_eq!(
        ws_next(&mut ws).await,
        Some(WsMessage::binary(vec![4, 1, 2, 3]))
    );

    let (mut b64, _) = open_ws(srv.addr, "&b64=1").await;
    b64.send(WsMessage::binary(vec![4, 1, 2, 3])).await.unwrap();
    assert_eq!(ws_text(&mut b64).await, "b4AQID");
}

#[tokio::test]
async fn websocket_binary_frame_of_another_type_closes() {
    let mut srv = start(v3_config()).await;
    let (mut ws, sid) = open_ws(srv.addr, "").await;
    srv.events.connected().await;
    ws.send(WsMessage::binary(vec![9, 1])).await.unwrap();
    let (reason, _) = srv.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::ParseError);
}

#[tokio::test]
async fn upgrade_from_polling() {
    let mut srv = start(v3_config()).await;
    let (sid, _) = open_polling(srv.addr, "").await;
    srv.events.connected().await;
    let pending = tokio::spawn({
        let (addr, sid) = (srv.addr, sid.clone());
        async move { poll3(addr, &sid, "").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (mut ws, _) = ws_connect(
        srv.addr,
        &format!("/engine.io/?EIO=3&transport=websocket&sid={sid}"),
    )
    .await
    .expect("upgrade handshake");
    ws.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "3probe");
    // The pending poll ends with a noop so the client can switch.
    assert_eq!(pending.await.unwrap().text(), "1:6");
    ws.send(WsMessage::text("5")).await.unwrap();
    ws.send(WsMessage::binary(vec![4, 7])).await.unwrap();
    assert_eq!(ws_next(&mut ws).await, Some(WsMessage::binary(vec![4, 7])));
    ws.send(WsMessage::text("2")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "3");
    let transport = srv
        .events
        .find(|e| match e {
            Event::Message { transport, .. } => Some(*transport),
            _ => None,
        })
        .await;
    assert_eq!(transport, TransportType::Websocket);
    // v4 sessions on the same server are untouched.
    assert_healthy(srv.addr).await;
}
