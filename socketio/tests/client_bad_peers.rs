//! The Socket.IO client against fake servers that misbehave: a namespace
//! refused, malformed Socket.IO packets, garbage at the Engine.IO layer, a
//! server that stops pinging and one that drops the connection mid-frame.
//! The servers are written here by hand over WebSocket on loopback; every
//! test is bounded.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use socketio::client::{ClientBuilder, DisconnectReason, TransportType};
use socketio::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// The time limit of each test.
const LIMIT: Duration = Duration::from_secs(5);

/// How long the fake servers keep a connection they are done with.
const HOLD: Duration = Duration::from_secs(30);

type Ws = WebSocketStream<TcpStream>;

async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test finished within its time limit");
}

/// An Engine.IO `open` packet with the given heartbeat and no upgrades.
fn open_packet(ping_interval: u64, ping_timeout: u64) -> String {
    format!(
        r#"0{{"sid":"bad-peer-sid","upgrades":[],"pingInterval":{ping_interval},"pingTimeout":{ping_timeout},"maxPayload":1000000}}"#
    )
}

/// A WebSocket server running `script` on the first connection.
async fn ws_server<F, Fut>(script: F) -> String
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("websocket handshake");
        script(ws).await;
    });
    url
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::Text(text.into()))
        .await
        .expect("server send");
}

/// The next text frame from the client.
async fn recv(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) => return t.as_str().to_owned(),
            Some(Ok(_)) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Sends the Engine.IO handshake and waits for the client's CONNECT to `/`.
async fn accept_namespace(ws: &mut Ws, ping_interval: u64, ping_timeout: u64) {
    send(ws, &open_packet(ping_interval, ping_timeout)).await;
    let connect = recv(ws).await;
    assert!(
        connect.starts_with("40"),
        "expected a CONNECT, got {connect:?}"
    );
}

/// Reads (and ignores) whatever the client sends until it goes away.
async fn drain(ws: &mut Ws) {
    let _ = tokio::time::timeout(HOLD, async { while ws.next().await.is_some() {} }).await;
}

/// A client over WebSocket only, without reconnection.
fn builder(url: &str) -> ClientBuilder {
    ClientBuilder::new(url)
        .force_new(true)
        .transports([TransportType::Websocket])
        .reconnection(false)
        .timeout(Duration::from_secs(2))
}

/// A builder reporting its disconnect reasons on a channel.
fn with_disconnects(
    b: ClientBuilder,
) -> (ClientBuilder, mpsc::UnboundedReceiver<DisconnectReason>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let b = b.on_disconnect(move |_, reason| {
        let _ = tx.send(reason);
    });
    (b, rx)
}

async fn next_reason(rx: &mut mpsc::UnboundedReceiver<DisconnectReason>) -> DisconnectReason {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .expect("a disconnect in time")
        .expect("disconnect channel open")
}

// (4) The namespace refused.

#[tokio::test]
async fn refused_namespace_returns_the_connect_error_with_data() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            send(&mut ws, r#"44{"message":"nope","data":{"a":1}}"#).await;
            drain(&mut ws).await;
        })
        .await;
        let errors = Arc::new(AtomicU32::new(0));
        let counted = errors.clone();
        let connects = Arc::new(AtomicU32::new(0));
        let connected = connects.clone();
        let result = builder(&url)
            .on_connect(move |_| {
                connected.fetch_add(1, Ordering::SeqCst);
            })
            .on_connect_error(move |_, e| {
                assert_eq!(e.message, "nope");
                counted.fetch_add(1, Ordering::SeqCst);
            })
            .connect()
            .await;
        let err = result.expect_err("the namespace was refused");
        assert_eq!(err.message, "nope");
        assert_eq!(err.data, Some(Value::from(json!({"a": 1}))));
        assert_eq!(err.to_string(), "nope");
        assert_eq!(errors.load(Ordering::SeqCst), 1);
        assert_eq!(connects.load(Ordering::SeqCst), 0);
    })
    .await;
}

#[tokio::test]
async fn refused_namespace_with_a_bare_string() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            send(&mut ws, r#"44"go away""#).await;
            drain(&mut ws).await;
        })
        .await;
        let err = builder(&url)
            .connect()
            .await
            .expect_err("the namespace was refused");
        assert_eq!(err.message, "go away");
        assert_eq!(err.data, None);
    })
    .await;
}

#[tokio::test]
async fn connect_error_without_payload_fails_connect() {
    bounded(async {
        // CONNECT_ERROR must carry a string or an object; a bare "44" is a
        // parse error, which must still end the pending connect().
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            send(&mut ws, "44").await;
            drain(&mut ws).await;
        })
        .await;
        let result = tokio::time::timeout(Duration::from_secs(3), builder(&url).connect()).await;
        let err = result
            .expect("connect() returns")
            .expect_err("the namespace was not joined");
        assert!(!err.message.is_empty(), "got {err:?}");
    })
    .await;
}

#[tokio::test]
async fn transport_close_before_namespace_joined_fails_connect() {
    bounded(async {
        // The server takes the handshake and the CONNECT, then drops the
        // connection without answering it.
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            drop(ws);
        })
        .await;
        let result = tokio::time::timeout(Duration::from_secs(3), builder(&url).connect()).await;
        let err = result
            .expect("connect() returns")
            .expect_err("the namespace was not joined");
        assert!(!err.message.is_empty(), "got {err:?}");
    })
    .await;
}

#[tokio::test]
async fn ping_timeout_before_namespace_joined_fails_connect() {
    bounded(async {
        // The server takes the CONNECT but never answers it nor pings.
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 100, 100).await;
            drain(&mut ws).await;
        })
        .await;
        let result = tokio::time::timeout(Duration::from_secs(3), builder(&url).connect()).await;
        let err = result
            .expect("connect() returns")
            .expect_err("the namespace was not joined");
        assert!(!err.message.is_empty(), "got {err:?}");
    })
    .await;
}

// (4) Malformed Socket.IO packets.

#[tokio::test]
async fn malformed_packet_disconnects_with_parse_error() {
    bounded(async {
        // Engine.IO message "4" + Socket.IO EVENT "2{}": an event payload
        // must be an array starting with the event name.
        for bad in ["42{}", "42", "42[]", "49", "4x", "42[\"a\""] {
            let url = ws_server(move |mut ws| async move {
                accept_namespace(&mut ws, 10_000, 5_000).await;
                send(&mut ws, r#"40{"sid":"s1"}"#).await;
                send(&mut ws, bad).await;
                drain(&mut ws).await;
            })
            .await;
            let events = Arc::new(AtomicU32::new(0));
            let counted = events.clone();
            let (b, mut reasons) = with_disconnects(builder(&url).on_any(move |_, _, _| {
                counted.fetch_add(1, Ordering::SeqCst);
            }));
            let socket = b.connect().await.expect("connect");
            assert_eq!(
                next_reason(&mut reasons).await,
                DisconnectReason::ParseError,
                "packet {bad:?}"
            );
            assert_eq!(DisconnectReason::ParseError.as_str(), "parse error");
            assert!(!socket.connected());
            assert_eq!(events.load(Ordering::SeqCst), 0, "packet {bad:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn connect_packet_without_sid_fails_connect() {
    bounded(async {
        // A CONNECT without a sid is what a v2 server sends.
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            send(&mut ws, "40").await;
            drain(&mut ws).await;
        })
        .await;
        let err = builder(&url)
            .connect()
            .await
            .expect_err("a CONNECT without sid");
        assert!(err.message.contains("v2.x"), "got {err:?}");
    })
    .await;
}

// (1) Garbage at the Engine.IO layer.

#[tokio::test]
async fn engineio_garbage_fails_connect() {
    bounded(async {
        for frame in ["xyz", "0{not json", "0{}"] {
            let url = ws_server(move |mut ws| async move {
                send(&mut ws, frame).await;
                drain(&mut ws).await;
            })
            .await;
            let err = builder(&url)
                .connect()
                .await
                .expect_err("garbage handshake");
            assert!(
                err.message.starts_with("protocol error"),
                "frame {frame:?}: got {err:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn engineio_unknown_packet_after_connect_disconnects_with_parse_error() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            send(&mut ws, r#"40{"sid":"s1"}"#).await;
            send(&mut ws, "9").await;
            drain(&mut ws).await;
        })
        .await;
        let (b, mut reasons) = with_disconnects(builder(&url));
        let socket = b.connect().await.expect("connect");
        assert_eq!(
            next_reason(&mut reasons).await,
            DisconnectReason::ParseError
        );
        assert!(!socket.connected());
    })
    .await;
}

// (2) A server that stops pinging.

#[tokio::test]
async fn server_that_never_pings_disconnects_with_ping_timeout() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 100, 100).await;
            send(&mut ws, r#"40{"sid":"s1"}"#).await;
            drain(&mut ws).await;
        })
        .await;
        let start = Instant::now();
        let (b, mut reasons) = with_disconnects(builder(&url));
        let socket = b.connect().await.expect("connect");
        assert_eq!(
            next_reason(&mut reasons).await,
            DisconnectReason::PingTimeout
        );
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(150), "too early: {took:?}");
        assert!(took < Duration::from_millis(1500), "too late: {took:?}");
        assert!(!socket.connected());
    })
    .await;
}

// (3) A connection dropped mid-frame.

#[tokio::test]
async fn half_frame_then_drop_disconnects_with_transport_error() {
    bounded(async {
        let url = ws_server(|mut ws| async move {
            accept_namespace(&mut ws, 10_000, 5_000).await;
            send(&mut ws, r#"40{"sid":"s1"}"#).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let tcp = ws.get_mut();
            let _ = tcp.write_all(&[0x81, 0x7e]).await;
            let _ = tcp.flush().await;
            drop(ws);
        })
        .await;
        let (b, mut reasons) = with_disconnects(builder(&url));
        let socket = b.connect().await.expect("connect");
        let start = Instant::now();
        assert_eq!(
            next_reason(&mut reasons).await,
            DisconnectReason::TransportError
        );
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(!socket.connected());
    })
    .await;
}
