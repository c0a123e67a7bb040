//! The Engine.IO client against fake servers that misbehave: garbage instead
//! of Engine.IO, servers that stop pinging, and connections dropped in the
//! middle of a WebSocket frame or of an HTTP body. The servers are written
//! here by hand on loopback; every test is bounded.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engineio::client::{Client, ClientConfig, ClientEvent, CloseReason, Error, TransportType};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::Receiver;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// The time limit of each test.
const LIMIT: Duration = Duration::from_secs(5);

/// How long the fake servers keep a connection they are done with.
const HOLD: Duration = Duration::from_secs(30);

async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test finished within its time limit");
}

/// An `open` packet with the given heartbeat and no upgrades.
fn open_packet(ping_interval: u64, ping_timeout: u64) -> String {
    format!(
        r#"0{{"sid":"bad-peer-sid","upgrades":[],"pingInterval":{ping_interval},"pingTimeout":{ping_timeout},"maxPayload":1000000}}"#
    )
}

fn config(transport: TransportType) -> ClientConfig {
    ClientConfig::default()
        .transports(vec![transport])
        .connect_timeout(Some(Duration::from_secs(2)))
}

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    (listener, url)
}

/// A WebSocket server running `script` on the first connection.
async fn ws_server<F, Fut>(script: F) -> String
where
    F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listener, url) = listen().await;
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("websocket handshake");
        script(ws).await;
    });
    url
}

/// What the fake polling server answers to one request.
enum Reply {
    /// `200 OK` with this body.
    Body(String),
    /// These bytes as they are, then the connection is dropped.
    Raw(Vec<u8>),
    /// No answer: the request is left hanging.
    Hang,
}

/// A polling server; `answer(method, n)` is called with the request method
/// and the number of GETs before this one (0 for the handshake).
async fn http_server(answer: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> String {
    let (listener, url) = listen().await;
    let answer = Arc::new(answer);
    let gets = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            let gets = gets.clone();
            tokio::spawn(async move {
                let mut conn = BufReader::new(tcp);
                loop {
                    // The request line and headers.
                    let mut method = String::new();
                    let mut content_length = 0usize;
                    let mut first = true;
                    loop {
                        let mut line = String::new();
                        match conn.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let line = line.trim_end();
                        if first {
                            method = line.split(' ').next().unwrap_or_default().to_owned();
                            first = false;
                        } else if line.is_empty() {
                            break;
                        } else if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                content_length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; content_length];
                    if conn.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let n = if method == "GET" {
                        gets.fetch_add(1, Ordering::SeqCst)
                    } else {
                        0
                    };
                    match answer(&method, n) {
                        Reply::Body(body) => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            );
                            let out = conn.get_mut();
                            if out.write_all(head.as_bytes()).await.is_err()
                                || out.write_all(body.as_bytes()).await.is_err()
                            {
                                return;
                            }
                        }
                        Reply::Raw(bytes) => {
                            let out = conn.get_mut();
                            let _ = out.write_all(&bytes).await;
                            let _ = out.shutdown().await;
                            return;
                        }
                        Reply::Hang => {
                            tokio::time::sleep(HOLD).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    url
}

/// The next event, skipping upgrades.
async fn next(events: &mut Receiver<ClientEvent>) -> ClientEvent {
    loop {
        let ev = tokio::time::timeout(LIMIT, events.recv())
            .await
            .expect("an event in time")
            .expect("events open");
        if !matches!(ev, ClientEvent::Upgrade(_)) {
            return ev;
        }
    }
}

/// The close reason, with how long it took from `since`.
async fn close_reason(
    events: &mut Receiver<ClientEvent>,
    since: Instant,
) -> (CloseReason, Duration) {
    match next(events).await {
        ClientEvent::Close(reason) => (reason, since.elapsed()),
        other => panic!("expected a close, got {other:?}"),
    }
}

async fn connect_err(url: &str, transport: TransportType) -> Error {
    match Client::connect(url, config(transport)).await {
        Ok((client, _)) => panic!("connected to a bad peer: {client:?}"),
        Err(e) => e,
    }
}

// (1) Garbage.

#[tokio::test]
async fn websocket_garbage_instead_of_open_fails_connect() {
    bounded(async {
        for frame in ["xyz", "", "4hello", "2"] {
            let url = ws_server(move |mut ws| async move {
                let _ = ws.send(WsMessage::Text(frame.into())).await;
                tokio::time::sleep(HOLD).await;
            })
            .await;
            let err = connect_err(&url, TransportType::Websocket).await;
            assert!(
                matches!(err, Error::Protocol(_)),
                "frame {frame:?}: got {err:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn websocket_binary_instead_of_open_fails_connect() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            let _ = ws.send(WsMessage::Binary(vec![0u8, 1, 2].into())).await;
            tokio::time::sleep(HOLD).await;
        })
        .await;
        let err = connect_err(&url, TransportType::Websocket).await;
        assert!(matches!(err, Error::Protocol(_)), "got {err:?}");
    })
    .await;
}

#[tokio::test]
async fn websocket_invalid_handshake_json_fails_connect() {
    bounded(async {
        for frame in [
            "0{not json",
            "0{}",
            r#"0"a string""#,
            r#"0{"sid":"s","pingInterval":"soon","pingTimeout":100}"#,
            r#"0{"sid":"s","pingInterval":-1,"pingTimeout":100}"#,
        ] {
            let url = ws_server(move |mut ws| async move {
                let _ = ws.send(WsMessage::Text(frame.into())).await;
                tokio::time::sleep(HOLD).await;
            })
            .await;
            let err = connect_err(&url, TransportType::Websocket).await;
            assert!(
                matches!(err, Error::Protocol(ref m) if m.contains("handshake")),
                "frame {frame:?}: got {err:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn websocket_unknown_packet_after_open_is_a_parse_error() {
    bounded(async {
        for frame in ["9", "xyz", "", "7abc"] {
            let url = ws_server(move |mut ws| async move {
                let _ = ws
                    .send(WsMessage::Text(open_packet(10_000, 5_000).into()))
                    .await;
                let _ = ws.send(WsMessage::Text(frame.into())).await;
                tokio::time::sleep(HOLD).await;
            })
            .await;
            let (client, mut events) = Client::connect(&url, config(TransportType::Websocket))
                .await
                .expect("connect");
            let (reason, _) = close_reason(&mut events, Instant::now()).await;
            assert_eq!(reason, CloseReason::ParseError, "frame {frame:?}");
            assert!(client.is_closed());
        }
    })
    .await;
}

#[tokio::test]
async fn polling_garbage_handshake_fails_connect() {
    bounded(async {
        for body in [
            "xyz",
            "",
            "4hello",
            "0{not json",
            "0{}",
            r#"0{"sid":"s","pingInterval":"soon","pingTimeout":100}"#,
        ] {
            let url = http_server(move |_, _| Reply::Body(body.into())).await;
            let err = connect_err(&url, TransportType::Polling).await;
            assert!(
                matches!(err, Error::Protocol(_)),
                "body {body:?}: got {err:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn polling_unknown_packet_after_open_is_a_parse_error() {
    bounded(async {
        for payload in ["9", "xyz", "4ok\u{1e}9"] {
            let url = http_server(move |method, n| match (method, n) {
                ("GET", 0) => Reply::Body(open_packet(10_000, 5_000)),
                ("GET", 1) => Reply::Body(payload.into()),
                ("GET", _) => Reply::Hang,
                _ => Reply::Body("ok".into()),
            })
            .await;
            let (client, mut events) = Client::connect(&url, config(TransportType::Polling))
                .await
                .expect("connect");
            // A payload with one bad record is dropped whole: no message.
            let (reason, _) = close_reason(&mut events, Instant::now()).await;
            assert_eq!(reason, CloseReason::ParseError, "payload {payload:?}");
            assert!(client.is_closed());
        }
    })
    .await;
}

// (2) A server that stops pinging.

#[tokio::test]
async fn websocket_server_that_never_pings_times_out() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            let _ = ws.send(WsMessage::Text(open_packet(100, 100).into())).await;
            // Read (and ignore) whatever comes, never ping.
            let _ = tokio::time::timeout(HOLD, async { while ws.next().await.is_some() {} }).await;
        })
        .await;
        let (_client, mut events) = Client::connect(&url, config(TransportType::Websocket))
            .await
            .expect("connect");
        let start = Instant::now();
        let (reason, took) = close_reason(&mut events, start).await;
        assert_eq!(reason, CloseReason::PingTimeout);
        assert!(took >= Duration::from_millis(150), "too early: {took:?}");
        assert!(took < Duration::from_millis(1500), "too late: {took:?}");
    })
    .await;
}

#[tokio::test]
async fn websocket_server_that_stops_pinging_times_out() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            let _ = ws.send(WsMessage::Text(open_packet(100, 100).into())).await;
            // Three pings on time, each answered, then silence.
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = ws.send(WsMessage::Text("2".into())).await;
                match ws.next().await {
                    Some(Ok(WsMessage::Text(t))) => assert_eq!(t.as_str(), "3"),
                    other => panic!("expected a pong, got {other:?}"),
                }
            }
            let _ = tokio::time::timeout(HOLD, async { while ws.next().await.is_some() {} }).await;
        })
        .await;
        let start = Instant::now();
        let (_client, mut events) = Client::connect(&url, config(TransportType::Websocket))
            .await
            .expect("connect");
        let (reason, took) = close_reason(&mut events, start).await;
        assert_eq!(reason, CloseReason::PingTimeout);
        // Three pings 100 ms apart kept it alive past the first window.
        assert!(took >= Duration::from_millis(450), "too early: {took:?}");
        assert!(took < Duration::from_millis(2000), "too late: {took:?}");
    })
    .await;
}

#[tokio::test]
async fn polling_server_that_never_pings_times_out() {
    bounded(async {
        let url = http_server(|method, n| match (method, n) {
            ("GET", 0) => Reply::Body(open_packet(100, 100)),
            ("GET", _) => Reply::Hang,
            _ => Reply::Body("ok".into()),
        })
        .await;
        let (_client, mut events) = Client::connect(&url, config(TransportType::Polling))
            .await
            .expect("connect");
        let start = Instant::now();
        let (reason, took) = close_reason(&mut events, start).await;
        assert_eq!(reason, CloseReason::PingTimeout);
        assert!(took >= Duration::from_millis(150), "too early: {took:?}");
        assert!(took < Duration::from_millis(1500), "too late: {took:?}");
    })
    .await;
}

// (3) Connections dropped mid-frame / mid-body.

#[tokio::test]
async fn websocket_half_frame_then_drop_closes_promptly() {
    bounded(async {
        // A text frame header announcing 126+ bytes: the extended length and
        // the payload never come.
        for partial in [
            &[0x81u8][..],
            &[0x81, 0x7e][..],
            &[0x81, 0x05, b'4', b'h'][..],
        ] {
            let url = ws_server(move |mut ws| async move {
                let _ = ws
                    .send(WsMessage::Text(open_packet(10_000, 5_000).into()))
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                let tcp = ws.get_mut();
                let _ = tcp.write_all(partial).await;
                let _ = tcp.flush().await;
                drop(ws);
            })
            .await;
            let (_client, mut events) = Client::connect(&url, config(TransportType::Websocket))
                .await
                .expect("connect");
            let (reason, took) = close_reason(&mut events, Instant::now()).await;
            assert!(
                matches!(reason, CloseReason::TransportError(_)),
                "partial {partial:?}: got {reason:?}"
            );
            assert!(
                took < Duration::from_secs(1),
                "partial {partial:?}: took {took:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn websocket_half_frame_before_open_fails_connect() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            let tcp = ws.get_mut();
            let _ = tcp.write_all(&[0x81, 0x7e]).await;
            let _ = tcp.flush().await;
            drop(ws);
        })
        .await;
        let err = connect_err(&url, TransportType::Websocket).await;
        assert!(matches!(err, Error::WebSocket(_)), "got {err:?}");
    })
    .await;
}

#[tokio::test]
async fn polling_truncated_body_after_open_closes_promptly() {
    bounded(async {
        let url = http_server(|method, n| match (method, n) {
            ("GET", 0) => Reply::Body(open_packet(10_000, 5_000)),
            ("GET", 1) => Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4hel"
                    .to_vec(),
            ),
            ("GET", _) => Reply::Hang,
            _ => Reply::Body("ok".into()),
        })
        .await;
        let (_client, mut events) = Client::connect(&url, config(TransportType::Polling))
            .await
            .expect("connect");
        let (reason, took) = close_reason(&mut events, Instant::now()).await;
        assert!(
            matches!(reason, CloseReason::TransportError(_)),
            "got {reason:?}"
        );
        assert!(took < Duration::from_secs(1), "took {took:?}");
    })
    .await;
}

#[tokio::test]
async fn polling_truncated_headers_after_open_closes_promptly() {
    bounded(async {
        let url = http_server(|method, n| match (method, n) {
            ("GET", 0) => Reply::Body(open_packet(10_000, 5_000)),
            ("GET", 1) => Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()),
            ("GET", _) => Reply::Hang,
            _ => Reply::Body("ok".into()),
        })
        .await;
        let (_client, mut events) = Client::connect(&url, config(TransportType::Polling))
            .await
            .expect("connect");
        let (reason, took) = close_reason(&mut events, Instant::now()).await;
        assert!(
            matches!(reason, CloseReason::TransportError(_)),
            "got {reason:?}"
        );
        assert!(took < Duration::from_secs(1), "took {took:?}");
    })
    .await;
}

#[tokio::test]
async fn polling_truncated_handshake_fails_connect() {
    bounded(async {
        let url = http_server(|_, _| {
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\n0{\"sid\":"
                    .to_vec(),
            )
        })
        .await;
        let start = Instant::now();
        let err = connect_err(&url, TransportType::Polling).await;
        assert!(matches!(err, Error::Http(_)), "got {err:?}");
        assert!(start.elapsed() < Duration::from_secs(1));
    })
    .await;
}
