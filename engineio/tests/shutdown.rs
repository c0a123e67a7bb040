//! Closing the server: the listener keeps serving the closing sessions'
//! final polls, refuses new sessions, then stops by itself.

mod common;

use std::time::Duration;

use common::{handshake, poll, post, start, Event, WAIT};
use engineio::ServerConfig;

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
    let server = start(ServerConfig {
        ping_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    })
    .await;
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
