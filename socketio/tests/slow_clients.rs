//! Slow and stalled clients, with raw clients on 127.0.0.1 port 0:
//!
//! * a WebSocket client that stops reading while the server broadcasts
//!   heavily must not slow a healthy client, and the server must not buffer
//!   for it without bound: emits to it fail with `EmitError::Full`;
//! * a client that stops responding entirely (a half-open connection) is
//!   reaped by the heartbeat, over WebSocket and over polling, and the
//!   server lets go of its TCP connection;
//! * slowloris: a request head trickled forever is cut off by the standalone
//!   listener's `header_read_timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use socketio::server::{DisconnectReason, EmitError};
use socketio::{ServerConfig, Socket, SocketIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Server

struct Server {
    io: SocketIo,
    addr: SocketAddr,
    /// Every socket that joined `/`.
    joined: mpsc::UnboundedReceiver<Arc<Socket>>,
    /// Every socket that left `/`, with the reason.
    gone: mpsc::UnboundedReceiver<(String, DisconnectReason)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.io.close();
    }
}

impl Server {
    async fn joined(&mut self) -> Arc<Socket> {
        timeout(WAIT, self.joined.recv())
            .await
            .expect("no socket joined in time")
            .expect("joined channel")
    }

    async fn gone(&mut self) -> (String, DisconnectReason) {
        timeout(WAIT, self.gone.recv())
            .await
            .expect("no socket left in time")
            .expect("gone channel")
    }

    /// Waits until the server holds nothing of any client.
    async fn assert_empty(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let (engine, sockets, rooms) = (
                self.io.engine_count(),
                self.io.of("/").sockets().len(),
                self.io.of("/").rooms().len(),
            );
            if (engine, sockets, rooms) == (0, 0, 0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "left over: {engine} sessions, {sockets} sockets, {rooms} rooms"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn start(config: ServerConfig) -> Server {
    let io = SocketIo::new(config);
    let (joined_tx, joined) = mpsc::unbounded_channel();
    let (gone_tx, gone) = mpsc::unbounded_channel();
    io.on_connection(move |s| {
        s.join("everyone");
        let gone_tx = gone_tx.clone();
        s.on_disconnect(move |s, reason| {
            let _ = gone_tx.send((s.id().to_string(), reason));
        });
        let _ = joined_tx.send(s);
    });
    let listener = io.listen("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr();
    Server {
        io,
        addr,
        joined,
        gone,
    }
}

fn fast_heartbeat() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.engine.ping_interval = Duration::from_millis(200);
    c.engine.ping_timeout = Duration::from_millis(200);
    c
}

// ---------------------------------------------------------------------------
// Raw clients

/// A WebSocket session on a socket whose receive buffer is `rcvbuf` bytes
/// (so a client that stops reading fills it quickly); joins `/` and returns
/// the Socket.IO sid.
async fn ws_join(addr: SocketAddr, rcvbuf: Option<u32>) -> (Ws, String) {
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    let tcp = socket.connect(addr).await.expect("connect");
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = timeout(WAIT, tokio_tungstenite::client_async(url, tcp))
        .await
        .expect("websocket handshake timeout")
        .expect("websocket handshake");
    let open = ws_text(&mut ws).await;
    assert!(open.starts_with("0{"), "open packet: {open}");
    ws.send(WsMessage::text("40")).await.expect("send CONNECT");
    let reply = ws_text(&mut ws).await;
    let sid = reply
        .strip_prefix("40{\"sid\":\"")
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("CONNECT reply: {reply}"))
        .to_owned();
    (ws, sid)
}

/// The next text frame, answering Engine.IO pings.
async fn ws_text(ws: &mut Ws) -> String {
    loop {
        match timeout(WAIT, ws.next())
            .await
            .expect("websocket read timeout")
        {
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2" => {
                ws.send(WsMessage::text("3")).await.expect("pong");
            }
            Some(Ok(WsMessage::Text(t))) => return t.to_string(),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The TCP states (`/proc/net/tcp` codes: 01 ESTABLISHED, 04 FIN_WAIT1, ...)
/// of the server's end of the connection from `client_port`.
fn server_side_states(server_port: u16, client_port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let port = |field: &str| {
        field
            .rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, remote, state) = (f.get(1)?, f.get(2)?, f.get(3)?);
            (port(local) == Some(server_port) && port(remote) == Some(client_port))
                .then(|| state.to_string())
        })
        .collect()
}

/// Waits until the server no longer holds its end of the connection open
/// (its socket is closed: gone, or FIN_WAIT / TIME_WAIT / CLOSING / LAST_ACK).
async fn assert_server_released(server_port: u16, client_port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let states = server_side_states(server_port, client_port);
        // 01 ESTABLISHED and 08 CLOSE_WAIT mean the server still has it open.
        if !states.iter().any(|s| s == "01" || s == "08") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server still holds the connection from port {client_port} open \
             {within:?} later (TCP states {states:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("statm resident");
    pages * 4096
}

// ---------------------------------------------------------------------------
// A client that stops reading

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_reader_does_not_slow_a_healthy_client_and_fills_up() {
    const BUFFER: usize = 32;
    const PAYLOAD: usize = 32 * 1024;
    const ROUNDS: usize = 300;
    const BURST: usize = 4;
    let mut config = ServerConfig::default();
    config.engine.max_buffer_size = BUFFER;
    let mut server = start(config).await;

    // The stalled client joins, then never reads again.
    let (stalled_ws, stalled_sid) = ws_join(server.addr, Some(4096)).await;
    let stalled = server.joined().await;
    assert_eq!(stalled.id().to_string(), stalled_sid);

    // The healthy client reports every tick it receives.
    let (mut healthy_ws, healthy_sid) = ws_join(server.addr, None).await;
    assert_eq!(server.joined().await.id().to_string(), healthy_sid);
    let (ticks_tx, mut ticks) = mpsc::unbounded_channel::<u64>();
    let reader = tokio::spawn(async move {
        loop {
            let text = ws_text(&mut healthy_ws).await;
            // `emit("tick", &(n, payload))`: one argument, `[n, payload]`.
            if let Some(rest) = text.strip_prefix("42[\"tick\",[") {
                let n = rest.split(',').next().and_then(|n| n.parse().ok());
                let _ = ticks_tx.send(n.expect("tick number"));
            }
        }
    });

    let rss_before = rss();
    let payload = "x".repeat(PAYLOAD);
    let mut latencies = Vec::with_capacity(ROUNDS);
    let (mut accepted, mut full) = (0usize, 0usize);
    let mut first_full = None;
    let mut n = 0u64;
    for round in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..BURST {
            server
                .io
                .emit("tick", &(n, &payload))
                .expect("a broadcast never fails for one slow client");
            n += 1;
        }
        // Straight to the stalled client, to see its buffer fill.
        match stalled.emit("direct", &payload) {
            Ok(()) => accepted += 1,
            Err(EmitError::Full) => {
                full += 1;
                first_full.get_or_insert(round);
            }
            Err(e) => panic!("emit to the stalled client: {e}"),
        }
        // The healthy client gets the whole burst, in order, promptly.
        for expected in n - BURST as u64..n {
            let got = timeout(WAIT, ticks.recv())
                .await
                .expect("the healthy client stopped receiving")
                .expect("reader ended");
            assert_eq!(got, expected, "ticks out of order or lost");
        }
        latencies.push(started.elapsed());
    }
    let rss_growth = rss().saturating_sub(rss_before);
    reader.abort();
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    eprintln!(
        "stalled reader: {accepted} direct emits accepted, {full} refused (first at round \
         {first_full:?}); healthy burst latency p50 {p50:?}, max {max:?}; rss +{} KiB over \
         {} MiB emitted",
        rss_growth / 1024,
        ROUNDS * (BURST + 1) * PAYLOAD / (1024 * 1024)
    );
    let first_full = first_full.expect("the stalled client's buffer never filled up");
    assert!(
        full == ROUNDS - first_full,
        "once full, every later emit must fail too: {full} of {} refused",
        ROUNDS - first_full
    );
    assert!(
        max < Duration::from_secs(2),
        "the healthy client was slowed down: a burst took {max:?}"
    );
    // Queued for the stalled client: at most its buffer of packets, each
    // payload shared with the broadcast or 32 KiB of its own; the 47 MiB
    // sent in all must not pile up in memory.
    assert!(
        rss_growth < 24 * 1024 * 1024,
        "memory grew by {rss_growth} bytes for a client that does not read"
    );
    assert!(!stalled.id().to_string().is_empty());
    drop(stalled_ws);
}

// ---------------------------------------------------------------------------
// Half-open connections: the client stops responding entirely

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_websocket_is_reaped_by_the_heartbeat() {
    let mut server = start(fast_heartbeat()).await;
    let (mut ws, sid) = ws_join(server.addr, None).await;
    let client_port = ws.get_ref().local_addr().expect("local addr").port();
    server.joined().await;
    // From here on the client neither reads nor writes.
    let started = Instant::now();
    let (gone, reason) = server.gone().await;
    assert_eq!(
        (gone.as_str(), reason),
        (sid.as_str(), DisconnectReason::PingTimeout)
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "reaped after {took:?} (pingInterval + pingTimeout is 400 ms)"
    );
    server.assert_empty().await;
    assert_server_released(server.addr.port(), client_port, Duration::from_secs(2)).await;
    // What the server wrote before closing is still there to read, then the
    // connection ends.
    let drained = timeout(WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the connection did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_polling_is_reaped_by_the_heartbeat() {
    let mut server = start(fast_heartbeat()).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let request = |method: &str, query: &str, body: &str| {
        format!(
            "{method} /socket.io/?EIO=4&transport=polling{query} HTTP/1.1\r\nHost: x\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    tcp.write_all(request("GET", "", "").as_bytes())
        .await
        .expect("handshake");
    let mut buf = vec![0; 4096];
    let n = timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("handshake timeout")
        .expect("read");
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    let sid = head
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("handshake: {head}"))
        .to_owned();
    // Join over a second connection, then leave a long-poll pending on the
    // first and never read or write again.
    let mut post = TcpStream::connect(server.addr).await.expect("connect");
    post.write_all(request("POST", &format!("&sid={sid}"), "40").as_bytes())
        .await
        .expect("POST");
    let _ = timeout(WAIT, post.read(&mut buf)).await;
    server.joined().await;
    drop(post);
    tcp.write_all(request("GET", &format!("&sid={sid}"), "").as_bytes())
        .await
        .expect("poll");
    let started = Instant::now();
    let (_, reason) = server.gone().await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "reaped after {took:?}");
    // The HTTP connection itself may stay open for a next request; it must
    // hold no session.
    server.assert_empty().await;
}

/// A client that stops reading *and* answering while the server has a lot
/// to send: the server's writes block on the full TCP window. The heartbeat
/// must still end the session and the server must let go of the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_websocket_under_load_is_reaped() {
    let mut config = fast_heartbeat();
    config.engine.max_buffer_size = 16;
    let mut server = start(config).await;
    let (ws, sid) = ws_join(server.addr, Some(4096)).await;
    let client_port = ws.get_ref().local_addr().expect("local addr").port();
    let socket = server.joined().await;
    // Fill the TCP window and the send buffer.
    let payload = "y".repeat(64 * 1024);
    let mut full = false;
    for _ in 0..2000 {
        match socket.emit("flood", &payload) {
            Ok(()) => tokio::task::yield_now().await,
            Err(EmitError::Full) => {
                full = true;
                break;
            }
            Err(e) => panic!("emit: {e}"),
        }
    }
    assert!(full, "the send buffer never filled up");
    let (gone, reason) = server.gone().await;
    assert_eq!(
        (gone.as_str(), reason),
        (sid.as_str(), DisconnectReason::PingTimeout)
    );
    server.assert_empty().await;
    assert_server_released(server.addr.port(), client_port, Duration::from_secs(3)).await;
    drop(ws);
}

// ---------------------------------------------------------------------------
// Slowloris

/// Trickles `head` then endless header lines, one every 100 ms, and returns
/// how long the server took to close the connection (`None`: it did not
/// within `limit`).
async fn trickle(addr: SocketAddr, head: &[u8], limit: Duration) -> Option<Duration> {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let started = Instant::now();
    tcp.write_all(head).await.expect("write head");
    let mut buf = [0u8; 1024];
    let mut i = 0u32;
    loop {
        if started.elapsed() > limit {
            return None;
        }
        // Whatever the server answers (a 408, or nothing), it must close.
        match timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        i += 1;
        if tcp
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            return Some(started.elapsed());
        }
    }
}

fn slowloris_config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.engine.header_read_timeout = Duration::from_millis(1000);
    c
}

#[tokio::test]
async fn slowloris_request_head_is_cut_off() {
    let server = start(slowloris_config()).await;
    let head = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n";
    let took = trickle(server.addr, head, Duration::from_secs(6)).await;
    let took = took.expect("a request head trickled for 6 s was never cut off");
    assert!(
        took < Duration::from_millis(3000),
        "cut off only after {took:?} (header_read_timeout 1 s)"
    );
}

#[tokio::test]
async fn slowloris_on_a_kept_alive_connection_is_cut_off() {
    let server = start(slowloris_config()).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    // One complete request (a refused handshake, answered at once).
    tcp.write_all(b"GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("answer timeout")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Then the next request's head, trickled.
    let started = Instant::now();
    tcp.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n")
        .await
        .expect("write");
    let mut i = 0u32;
    let closed = loop {
        if started.elapsed() > Duration::from_secs(6) {
            break None;
        }
        match timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        i += 1;
        if tcp
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            break Some(started.elapsed());
        }
    };
    let took = closed.expect("a second request head trickled for 6 s was never cut off");
    assert!(
        took < Duration::from_millis(3000),
        "cut off only after {took:?}"
    );
}

#[tokio::test]
async fn idle_connection_without_a_request_is_cut_off() {
    let server = start(slowloris_config()).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = timeout(Duration::from_secs(6), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a connection that never sent a byte was still open after 6 s"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(3000),
        "cut off only after {took:?}"
    );
}

/// A POST whose head is complete but whose body is trickled forever, on a
/// session the heartbeat then closes (the client answers no ping).
#[tokio::test]
async fn slow_post_body_is_cut_off() {
    let mut config = slowloris_config();
    config.engine.ping_interval = Duration::from_millis(200);
    config.engine.ping_timeout = Duration::from_millis(200);
    let server = start(config).await;
    let mut get = TcpStream::connect(server.addr).await.expect("connect");
    get.write_all(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("handshake");
    let mut buf = vec![0; 4096];
    let n = timeout(WAIT, get.read(&mut buf))
        .await
        .expect("handshake timeout")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    let sid = text
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("handshake: {text}"))
        .to_owned();
    let head = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
         Content-Length: 100000\r\n\r\n4"
    );
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut session_gone = None;
    let closed = loop {
        if started.elapsed() > Duration::from_secs(6) {
            break None;
        }
        if session_gone.is_none() && server.io.engine_count() == 0 {
            session_gone = Some(started.elapsed());
        }
        match timeout(Duration::from_millis(100), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        if tcp.write_all(b"x").await.is_err() {
            break Some(started.elapsed());
        }
    };
    assert!(
        closed.is_some(),
        "a POST body trickled one byte per 100 ms was still being read after 6 s \
         (its session was closed after {session_gone:?})"
    );
}
