//! Closing the server: the listener keeps serving the closing sessions'
//! final polls, refuses new sessions, then stops by itself.

mod common;

use std::time::Duration;

use common::{handshake, poll, post, start, Event, WAIT};
use engineio::ServerConfig;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn a_polling_client_collects_its_last_packets_on_a_new_connection_after_close() {
    let mut server = start(ServerConfig::default()).await;
    let (sid, _) = handshake(server.addr).await;
    // The echo server queues the message for the next poll.
    assert_eq!(post(server.addr, &sid, b"4hello").await.text(), "ok");
    server
        .events
        .find(|e| matches!(e, Event::Message { .. }).then_some(()))
        .await;
    server.engine.close();

    // New sessions are refused while the old ones drain.
    common::get(server.addr, "/engine.io/?EIO=4&transport=polling")
        .await
        .assert_error(403, 4, "Server shutting down");
    // Every request here uses a fresh TCP connection, as a client whose
    // keep-alive connection was closed would.
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "4hello\u{1e}1");

    // Drained: the listener stops accepting.
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listener still accepts after the sessions drained"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_listener_stops_when_a_closing_session_never_polls_again() {
    // The session gives up on its final poll after the ping timeout.
    let server = start(ServerConfig::default().ping_timeout(Duration::from_millis(200))).await;
    let (_sid, _) = handshake(server.addr).await;
    server.engine.close();
    let started = tokio::time::Instant::now();
    while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
        assert!(
            started.elapsed() < WAIT,
            "the listener still accepts though nothing is left to drain"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_post_after_close_is_answered_ok_so_the_client_still_polls() {
    let mut server = start(ServerConfig::default()).await;
    let (sid, _) = handshake(server.addr).await;
    assert_eq!(post(server.addr, &sid, b"4hello").await.text(), "ok");
    server.engine.close();
    // The client had a POST on its way: it is answered `ok` (its packets
    // are not handed on) rather than failing, which would make the client
    // give up on the final poll that carries its last packets.
    let res = post(server.addr, &sid, b"4late").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let res = poll(server.addr, &sid).await;
    assert_eq!(res.text(), "4hello\u{1e}1");
    // Once that poll is taken the session is unknown.
    let res = post(server.addr, &sid, b"4later").await;
    assert_eq!(res.status, 400);
    // The handler saw "hello" and nothing after the close. Handlers run
    // before a POST is answered, so all it saw is recorded by now.
    let messages: Vec<_> = server
        .events
        .pending()
        .into_iter()
        .filter_map(|e| match e {
            Event::Message { msg, .. } => Some(msg),
            _ => None,
        })
        .collect();
    assert_eq!(messages, vec![engineio::Message::Text("hello".into())]);
}

#[tokio::test]
async fn a_websocket_burst_being_written_at_close_is_written_whole() {
    let mut server = start(ServerConfig::default()).await;
    let (mut ws, _) = common::ws_connect(server.addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .expect("websocket");
    assert!(common::ws_text(&mut ws).await.starts_with("0{"));
    ws.send(WsMessage::Text("4cmd:flood".into()))
        .await
        .expect("send");
    server
        .events
        .find(|e| matches!(e, Event::Message { .. }).then_some(()))
        .await;
    // 20 MB queued: the writer is stuck mid-burst on a client that does
    // not read yet when the server closes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.engine.close();
    let mut floods = 0;
    while let Some(m) = common::ws_next(&mut ws).await {
        if let WsMessage::Text(t) = m {
            if t.as_str().starts_with("4flood:") {
                assert!(t.as_str().starts_with(&format!("4flood:{floods}:")));
                floods += 1;
            }
        }
    }
    assert_eq!(floods, common::FLOOD, "queued before the close, but lost");
}

/// `Listener::stop` frees the port before it returns, as closing a Node
/// `http.Server` does: a new server can bind it at once (the accept task
/// has not even run yet on this single-threaded runtime), while an open
/// session goes on being served on its connection.
#[tokio::test]
async fn a_stopped_listener_frees_its_port_at_once() {
    let (handler, _events) = common::recorder();
    let engine = engineio::EngineIo::new(ServerConfig::default(), handler);
    let listener = engine.listen("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr();
    let (sid, _) = handshake(addr).await;

    listener.stop();
    let rebound =
        std::net::TcpListener::bind(addr).expect("the port is free as soon as stop() returns");
    drop(rebound);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a stopped listener refuses new connections"
    );
    // The session itself is the server's, not the listener's: still open.
    assert!(engine.socket(&sid).is_some());
    listener.stopped().await;
}
