//! Shared helpers of the integration tests: a recording echo server, raw HTTP
//! and WebSocket clients, and a runner for the Node scripts in `tests/node/`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engineio::server::{DisconnectReason, SendOptions, TransportType};
use engineio::{EngineIo, Handler, Message, ServerConfig, Socket};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The longest any single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// What the recording handler saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connect {
        sid: String,
        transport: TransportType,
    },
    Message {
        sid: String,
        msg: Message,
        transport: TransportType,
    },
    Disconnect {
        sid: String,
        reason: DisconnectReason,
    },
}

/// Echoes every message and records every callback. The text `cmd:close`
/// makes it send `bye` and close the session; a text starting `plain:` is
/// echoed with `compress: false`.
pub struct Recorder {
    tx: mpsc::UnboundedSender<Event>,
}

impl Handler for Recorder {
    type Data = ();

    fn on_connect(&self, socket: Arc<Socket<()>>) {
        let _ = self.tx.send(Event::Connect {
            sid: socket.id().to_string(),
            transport: socket.transport(),
        });
    }

    fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
        let _ = self.tx.send(Event::Message {
            sid: socket.id().to_string(),
            msg: msg.clone(),
            transport: socket.transport(),
        });
        match &msg {
            Message::Text(t) if t.as_str() == "cmd:close" => {
                socket
                    .send(Message::Text("bye".into()))
                    .expect("send before close");
                socket.close();
            }
            Message::Text(t) if t.as_str() == "cmd:flood" => {
                // More than the socket buffers hold, so that the writer is
                // still busy with it for a while.
                let pad = "x".repeat(100_000);
                for i in 0..FLOOD {
                    let _ = socket.send(Message::Text(format!("flood:{i}:{pad}").into()));
                }
            }
            Message::Text(t) if t.as_str().starts_with("plain:") => {
                let opts = SendOptions {
                    compress: false,
                    ..SendOptions::default()
                };
                let _ = socket.send_with([msg.clone()], opts);
            }
            _ => {
                let _ = socket.send(msg);
            }
        }
    }

    fn on_disconnect(&self, socket: &Arc<Socket<()>>, reason: DisconnectReason) {
        let _ = self.tx.send(Event::Disconnect {
            sid: socket.id().to_string(),
            reason,
        });
    }
}

/// How many 100 kB messages `cmd:flood` makes the server send.
pub const FLOOD: usize = 200;

/// The recorded events, in order.
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event; panics after [`WAIT`].
    pub async fn next(&mut self) -> Event {
        match timeout(WAIT, self.rx.recv()).await {
            Ok(Some(e)) => e,
            Ok(None) => panic!("event channel closed"),
            Err(_) => panic!("no server event within {WAIT:?}"),
        }
    }

    /// The events recorded so far, without waiting.
    pub fn pending(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.rx.try_recv().ok()).collect()
    }

    /// Skips events until one matches; panics after [`WAIT`].
    pub async fn find<T>(&mut self, mut f: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let e = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => e,
                Ok(None) => panic!("event channel closed"),
                Err(_) => panic!("the expected server event did not come within {WAIT:?}"),
            };
            if let Some(t) = f(&e) {
                return t;
            }
        }
    }

    /// The next connect; returns its sid.
    pub async fn connected(&mut self) -> (String, TransportType) {
        match self.next().await {
            Event::Connect { sid, transport } => (sid, transport),
            other => panic!("expected a connect, got {other:?}"),
        }
    }

    /// Waits for the disconnect of `sid`, returning its reason; every event
    /// in between is returned too.
    pub async fn disconnect_of(&mut self, sid: &str) -> (DisconnectReason, Vec<Event>) {
        let mut before = Vec::new();
        let reason = self
            .find(|e| match e {
                Event::Disconnect { sid: s, reason } if s == sid => Some(*reason),
                other => {
                    before.push(other.clone());
                    None
                }
            })
            .await;
        (reason, before)
    }

    /// Every event already recorded, without waiting.
    pub fn drain(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            v.push(e);
        }
        v
    }

    /// Asserts that nothing is recorded for `d`.
    pub async fn assert_quiet(&mut self, d: Duration) {
        if let Ok(Some(e)) = timeout(d, self.rx.recv()).await {
            panic!("unexpected server event {e:?}");
        }
    }
}

/// A recording echo server on 127.0.0.1, port 0.
pub struct TestServer {
    pub engine: EngineIo<Recorder>,
    pub addr: SocketAddr,
    pub events: Events,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.engine.close();
    }
}

impl TestServer {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's path with the query appended, e.g.
    /// `/engine.io/?EIO=4&transport=polling`.
    pub fn path(&self, query: &str) -> String {
        format!("{}?{query}", self.engine.config().path)
    }
}

/// A recording echo handler and its event stream, for servers mounted
/// elsewhere.
pub fn recorder() -> (Recorder, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Recorder { tx }, Events { rx })
}

/// Starts a recording echo server with `config` on 127.0.0.1:0.
pub async fn start(config: ServerConfig) -> TestServer {
    let (handler, events) = recorder();
    let engine = EngineIo::new(config, handler);
    let listener = engine.listen("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr();
    TestServer {
        engine,
        addr,
        events,
    }
}

/// Options with quick heartbeats, for tests that must see pings.
pub fn fast_heartbeat() -> ServerConfig {
    ServerConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100))
}

// ---------------------------------------------------------------------------
// Node

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The output of a Node script: its JSON lines and raw streams.
#[derive(Debug)]
pub struct NodeRun {
    pub status: std::process::ExitStatus,
    pub lines: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
}

impl NodeRun {
    /// Panics with both streams unless the script exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "node script failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Every line whose `event` is `name`.
    pub fn events(&self, name: &str) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["event"] == name).collect()
    }

    /// The only line whose `event` is `name`.
    pub fn one(&self, name: &str) -> &Value {
        let v = self.events(name);
        assert_eq!(
            v.len(),
            1,
            "expected one {name:?} line in:\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        v[0]
    }
}

/// Runs `node tests/node/<script> <args…>` from the workspace root, killing
/// it after `limit`.
pub async fn run_node(script: &str, args: &[&str], limit: Duration) -> NodeRun {
    let root = workspace_root();
    let node_dir = root.join("tests").join("node");
    assert!(
        node_dir
            .join("node_modules")
            .join("engine.io-client")
            .is_dir(),
        "tests/node/node_modules is missing: run `npm ci --prefix tests/node` first"
    );
    let child = tokio::process::Command::new("node")
        .arg(node_dir.join(script))
        .args(args)
        .current_dir(&root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("could not start `node`; Node 20 must be on PATH");
    let output = match timeout(limit, child.wait_with_output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => panic!("node {script}: {e}"),
        Err(_) => panic!("node {script} {args:?} did not finish within {limit:?}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    NodeRun {
        status: output.status,
        lines,
        stdout,
        stderr,
    }
}

// ---------------------------------------------------------------------------
// Raw HTTP/1.1

/// A response read off the wire.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header of that name.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body {:?} is not JSON: {e}", self.text()))
    }

    /// Asserts a handshake error: status, JSON content type and exact body.
    pub fn assert_error(&self, status: u16, code: u8, message: &str) {
        assert_eq!(self.status, status, "status of {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "content type of {self:?}"
        );
        assert_eq!(
            self.text(),
            serde_json::json!({ "code": code, "message": message }).to_string()
        );
    }

    /// Asserts a transport-level error: status and empty body.
    pub fn assert_empty(&self, status: u16) {
        assert_eq!(self.status, status, "status of {self:?}");
        assert!(self.body.is_empty(), "body of {self:?}");
    }
}

/// Writes `head` (request line and header lines, each ending in CRLF, without
/// the blank line) and `body`, then reads the answer; the request carries
/// `Connection: close`, so the answer ends at EOF.
pub async fn http_raw(addr: SocketAddr, head: &str, body: &[u8]) -> HttpResponse {
    let mut tcp = timeout(WAIT, TcpStream::connect(addr))
        .await
        .expect("connect timeout")
        .expect("connect");
    let mut bytes = format!("{head}Connection: close\r\n\r\n").into_bytes();
    bytes.extend_from_slice(body);
    tcp.write_all(&bytes).await.expect("write request");
    read_response(&mut tcp).await
}

/// Reads one response on a connection the server closes after it.
pub async fn read_response(tcp: &mut TcpStream) -> HttpResponse {
    let mut buf = Vec::new();
    timeout(WAIT, tcp.read_to_end(&mut buf))
        .await
        .expect("response timeout")
        .expect("read response");
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> HttpResponse {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(buf)));
    let head = std::str::from_utf8(&buf[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let raw = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(raw)
    } else {
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(raw.len());
        raw[..len.min(raw.len())].to_vec()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&raw[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// A request with extra headers; a body gets its Content-Length.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    http_raw(addr, &head, body).await
}

pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, &[], b"").await
}

/// A polling handshake under `/engine.io/`; returns the sid and the
/// handshake JSON.
pub async fn handshake(addr: SocketAddr) -> (String, Value) {
    handshake_at(addr, "/engine.io/").await
}

pub async fn handshake_at(addr: SocketAddr, base: &str) -> (String, Value) {
    let res = get(addr, &format!("{base}?EIO=4&transport=polling")).await;
    assert_eq!(res.status, 200, "handshake failed: {res:?}");
    let body = res.text();
    let json = body
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("handshake body {body:?} is not an open packet"));
    let v: Value = serde_json::from_str(json).expect("handshake JSON");
    (v["sid"].as_str().expect("sid").to_owned(), v)
}

pub async fn poll(addr: SocketAddr, sid: &str) -> HttpResponse {
    get(
        addr,
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
    )
    .await
}

pub async fn post(addr: SocketAddr, sid: &str, body: &[u8]) -> HttpResponse {
    http(
        addr,
        "POST",
        &format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        body,
    )
    .await
}

/// Proves the server still serves: a fresh polling session echoes a
/// message, and a fresh WebSocket session too. Events of these sessions
/// are consumed from `events` when given.
pub async fn assert_healthy(addr: SocketAddr) {
    let (sid, _) = handshake(addr).await;
    let res = post(addr, &sid, b"4health").await;
    assert_eq!((res.status, res.text()), (200, "ok".to_owned()));
    let res = poll(addr, &sid).await;
    assert_eq!((res.status, res.text()), (200, "4health".to_owned()));
    assert_eq!(post(addr, &sid, b"1").await.status, 200);

    let (mut ws, _) = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .expect("websocket handshake");
    let open = ws_text(&mut ws).await;
    assert!(open.starts_with("0{"), "open packet {open:?}");
    ws.send(WsMessage::text("4health")).await.expect("ws send");
    assert_eq!(ws_text(&mut ws).await, "4health");
    let _ = ws.close(None).await;
}

// ---------------------------------------------------------------------------
// WebSocket

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `path_and_query`, with extra request headers.
pub async fn ws_connect_with(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&'static str, &str)],
) -> Result<
    (
        Ws,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    let mut req = format!("ws://{addr}{path_and_query}")
        .into_client_request()
        .expect("request");
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, v.parse().expect("header value"));
    }
    timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("websocket connect timeout")
}

pub async fn ws_connect(
    addr: SocketAddr,
    path_and_query: &str,
) -> Result<
    (
        Ws,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    ws_connect_with(addr, path_and_query, &[]).await
}

/// The WebSocket of an upgrade of polling session `sid`, its probe answered
/// (the session is upgrading until `5` is sent).
pub async fn ws_probe(addr: SocketAddr, sid: &str) -> Ws {
    let (mut ws, _) = ws_connect(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .expect("websocket of the upgrade");
    ws.send(WsMessage::text("2probe"))
        .await
        .expect("probe sent");
    assert_eq!(ws_text(&mut ws).await, "3probe");
    ws
}

/// The next data frame (text or binary), skipping WS pings; `None` once the
/// connection closes.
pub async fn ws_next(ws: &mut Ws) -> Option<WsMessage> {
    loop {
        match timeout(WAIT, ws.next())
            .await
            .expect("websocket read timeout")
        {
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(m)) => return Some(m),
        }
    }
}

/// The next text frame; panics on anything else.
pub async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        Some(WsMessage::Text(t)) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Asserts that the server closes the connection within [`WAIT`] and that
/// nothing but `allowed` text frames come before.
pub async fn ws_expect_closed(ws: &mut Ws, allowed: &[&str]) {
    while let Some(m) = ws_next(ws).await {
        match &m {
            WsMessage::Text(t) if allowed.contains(&t.as_str()) => {}
            other => panic!("expected the server to close, got {other:?}"),
        }
    }
}

/// Opens a WebSocket session; returns the socket and its sid.
pub async fn ws_session(addr: SocketAddr) -> (Ws, String) {
    let (mut ws, _) = ws_connect(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .expect("websocket handshake");
    let open = ws_text(&mut ws).await;
    let v: Value = serde_json::from_str(open.strip_prefix('0').expect("open packet")).unwrap();
    (ws, v["sid"].as_str().unwrap().to_owned())
}
