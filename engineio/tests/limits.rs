//! Limits of the Engine.IO server at and past their edges.

mod common;

use std::time::Duration;

use common::{http_raw, start, WAIT};
use engineio::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn handshake(server: &common::TestServer) -> common::HttpResponse {
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\n",
        server.path("EIO=4&transport=polling")
    );
    http_raw(server.addr, &head, b"").await
}

#[tokio::test]
async fn max_connections_refuses_past_the_limit_and_frees_on_close() {
    // A short ping timeout bounds how long a closed polling session waits
    // for its final poll, i.e. how long it holds its slot.
    let server = start(
        ServerConfig::default()
            .max_connections(Some(2))
            .ping_timeout(Duration::from_millis(200)),
    )
    .await;
    assert_eq!(handshake(&server).await.status, 200);
    assert_eq!(handshake(&server).await.status, 200);
    handshake(&server)
        .await
        .assert_error(403, 4, "Too many connections");
    let first = server
        .engine
        .sockets()
        .into_iter()
        .next()
        .expect("a session");
    first.close();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let res = handshake(&server).await;
        if res.status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slot never freed: {res:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn oversized_request_head_gets_431() {
    let server = start(ServerConfig::default().max_header_size(8 * 1024)).await;
    let big = "a".repeat(9 * 1024);
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n",
        server.path("EIO=4&transport=polling")
    );
    assert_eq!(http_raw(server.addr, &head, b"").await.status, 431);
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nX-Ok: {}\r\n",
        server.path("EIO=4&transport=polling"),
        "a".repeat(4096)
    );
    assert_eq!(http_raw(server.addr, &head, b"").await.status, 200);
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off() {
    let server =
        start(ServerConfig::default().header_read_timeout(Duration::from_millis(300))).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = tokio::time::Instant::now();
    let mut buf = Vec::new();
    // The server must close the connection well before the test's bound,
    // while the client keeps the head incomplete.
    let read = tokio::time::timeout(WAIT, async {
        loop {
            tokio::select! {
                r = tcp.read_buf(&mut buf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if tcp.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "a trickling client kept its connection");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A client whose send buffer is full but who keeps reading still gets its
/// pings (they wait for room rather than being dropped), answers them, and
/// stays connected across several heartbeats.
#[tokio::test]
async fn ping_waits_behind_a_full_buffer() {
    let server = start(
        ServerConfig::default()
            .max_buffer_size(4)
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(300)),
    )
    .await;
    let (sid, _) = common::handshake_at(server.addr, &server.engine.config().path).await;
    let session = server
        .engine
        .sockets()
        .into_iter()
        .next()
        .expect("the session");
    let poll = server.path(&format!("EIO=4&transport=polling&sid={sid}"));
    let start = tokio::time::Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_millis(1200) {
        // Keep the buffer full: whatever room the last poll made is taken
        // again at once.
        while session
            .send(engineio::Message::Text(engineio::Str::from("filler")))
            .is_ok()
        {}
        tokio::time::sleep(Duration::from_millis(40)).await;
        let res = common::get(server.addr, &poll).await;
        assert_eq!(res.status, 200, "{res:?}");
        let body = res.text();
        if body.split('\u{1e}').any(|p| p == "2") {
            pings += 1;
            let pong = common::http(server.addr, "POST", &poll, &[], b"3").await;
            assert_eq!(pong.status, 200);
        }
        assert!(!session.is_closed(), "closed after {pings} pings");
    }
    assert!(pings >= 4, "only {pings} pings reached the client");
}

/// A polling session the client closed (a close packet with no GET
/// pending) lingers for a final poll that may never come; it is not counted
/// among the sessions a graceful shutdown waits for, while one the server
/// closed with packets still to hand over is.
#[tokio::test]
async fn client_closed_sessions_do_not_hold_up_a_shutdown() {
    let server = start(ServerConfig::default()).await;
    let path = server.engine.config().path.clone();
    let (sid, _) = common::handshake_at(server.addr, &path).await;
    let (other, _) = common::handshake_at(server.addr, &path).await;
    assert_eq!(server.engine.draining_count(), 2);

    let poll = server.path(&format!("EIO=4&transport=polling&sid={sid}"));
    let res = common::http(server.addr, "POST", &poll, &[], b"1").await;
    assert_eq!(res.status, 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.engine.draining_count() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "still counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // It still lingers, waiting for its last poll.
    assert_eq!(server.engine.count(), 2);

    // Closed by the server, the other one waits to deliver its close.
    let s = server
        .engine
        .sockets()
        .into_iter()
        .find(|s| s.id().to_string() == other)
        .expect("the other session");
    s.close();
    assert_eq!(server.engine.draining_count(), 1);
    let poll = server.path(&format!("EIO=4&transport=polling&sid={other}"));
    let res = common::get(server.addr, &poll).await;
    // No GET waited when it closed: a noop then the close, as the reference.
    assert_eq!(res.text(), "6\u{1e}1");
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.engine.draining_count() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still counted after its final poll"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
