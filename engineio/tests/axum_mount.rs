//! The axum example's router, served on port 0: its own route still answers
//! while polling, WebSocket and the upgrade work through the mount.

mod common;

#[path = "../examples/axum.rs"]
#[allow(dead_code)]
mod example;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use engineio::server::{DisconnectReason, TransportType};
use engineio::EngineIo;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

struct App {
    engine: EngineIo<Recorder>,
    addr: SocketAddr,
    events: Events,
}

/// The example's router around a recording echo handler.
async fn serve() -> App {
    let (handler, events) = recorder();
    let engine = EngineIo::new(example::config(), handler);
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = example::app(&engine).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(tcp, app).await });
    App {
        engine,
        addr,
        events,
    }
}

fn polling(sid: &str) -> String {
    format!("/realtime/?EIO=4&transport=polling&sid={sid}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_routes_and_polling_through_the_mount() {
    let mut app = serve().await;
    let addr = app.addr;

    let res = get(addr, "/").await;
    assert_eq!((res.status, res.text()), (200, "hello".to_owned()));
    assert_eq!(get(addr, "/nowhere").await.status, 404);
    // The default path is not served.
    assert_eq!(
        get(addr, "/engine.io/?EIO=4&transport=polling")
            .await
            .status,
        404
    );
    // Errors come from the Engine.IO server itself.
    get(addr, "/realtime/?EIO=4")
        .await
        .assert_error(400, 0, "Transport unknown");

    let (sid, hs) = handshake_at(addr, "/realtime/").await;
    assert_eq!(hs["upgrades"], json!(["websocket"]));
    let (connected, transport) = app.events.connected().await;
    assert_eq!(
        (connected.as_str(), transport),
        (sid.as_str(), TransportType::Polling)
    );
    let socket = app.engine.socket(&sid).expect("session");
    assert_eq!(
        socket.req().remote_addr.map(|a| a.ip().to_string()),
        Some("127.0.0.1".to_owned())
    );

    let res = http(addr, "POST", &polling(&sid), &[], b"4hello\x1ebAQIDBA==").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let res = get(addr, &polling(&sid)).await;
    assert_eq!(
        (res.status, res.text()),
        (200, "4hello\x1ebAQIDBA==".to_owned())
    );

    // The prefix route reaches the server too.
    let prefixed = format!("/realtime/x?EIO=4&transport=polling&sid={sid}&t=1");
    let pending = tokio::spawn(async move { get(addr, &prefixed).await });
    http(addr, "POST", &polling(&sid), &[], b"4again").await;
    assert_eq!(pending.await.unwrap().text(), "4again");

    http(addr, "POST", &polling(&sid), &[], b"1").await;
    let (reason, _) = app.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    assert_eq!(get(addr, "/").await.text(), "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_and_upgrade_through_the_mount() {
    let mut app = serve().await;
    let addr = app.addr;

    // A WebSocket session.
    let (mut ws, _) = ws_connect(addr, "/realtime/?EIO=4&transport=websocket")
        .await
        .expect("websocket through axum");
    let open = ws_text(&mut ws).await;
    assert!(
        open.starts_with("0{") && open.contains(r#""upgrades":[]"#),
        "{open}"
    );
    ws.send(WsMessage::text("4hi")).await.unwrap();
    assert_eq!(ws_text(&mut ws).await, "4hi");
    ws.send(WsMessage::binary(vec![9u8, 8, 7])).await.unwrap();
    match ws_next(&mut ws).await {
        Some(WsMessage::Binary(b)) => assert_eq!(&b[..], &[9, 8, 7]),
        other => panic!("expected the binary echo, got {other:?}"),
    }
    let (ws_sid, transport) = app.events.connected().await;
    assert_eq!(transport, TransportType::Websocket);

    // An upgrade from polling.
    let (sid, _) = handshake_at(addr, "/realtime/").await;
    let (mut up, _) = ws_connect(
        addr,
        &format!("/realtime/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .expect("upgrade through axum");
    up.send(WsMessage::text("2probe")).await.unwrap();
    assert_eq!(ws_text(&mut up).await, "3probe");
    up.send(WsMessage::text("5")).await.unwrap();
    up.send(WsMessage::text("4upgraded")).await.unwrap();
    assert_eq!(ws_text(&mut up).await, "4upgraded");
    assert_eq!(
        app.engine.socket(&sid).unwrap().transport(),
        TransportType::Websocket
    );

    let _ = ws.close(None).await;
    let (reason, _) = app.events.disconnect_of(&ws_sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    assert_eq!(get(addr, "/").await.text(), "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_client_upgrades_through_the_mount() {
    let mut app = serve().await;
    let run = run_node(
        "eio-client.mjs",
        &[
            &format!("http://{}", app.addr),
            "upgrade",
            &json!({ "path": "/realtime" }).to_string(),
        ],
        Duration::from_secs(15),
    )
    .await;
    run.assert_success();
    assert_eq!(run.one("upgrade")["transport"], "websocket");
    assert_eq!(run.events("echo").len(), 8, "{}", run.stdout);
    let (sid, _) = app.events.connected().await;
    let (reason, _) = app.events.disconnect_of(&sid).await;
    assert_eq!(reason, DisconnectReason::TransportClose);
}
