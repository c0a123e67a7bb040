//! Shared helpers of the Socket.IO integration tests: a server on
//! 127.0.0.1:0, a line-driven real `socket.io-client` (tests/node), raw
//! WebSocket access for malformed input, and channels to record what the
//! server's handlers saw.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use socketio::{ServerConfig, SocketIo, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The longest any single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Server

/// A Socket.IO server listening on 127.0.0.1, port 0; closed on drop.
pub struct TestServer {
    pub io: SocketIo,
    pub addr: SocketAddr,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.io.close();
    }
}

impl TestServer {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Default options with a short ack timeout, so nothing waits 5 s.
pub fn config() -> ServerConfig {
    ServerConfig::default().ack_timeout(Duration::from_millis(2000))
}

/// Starts `io` (handlers already registered or not) on 127.0.0.1:0.
pub async fn serve(io: SocketIo) -> TestServer {
    let listener = io.listen("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr();
    TestServer { io, addr }
}

/// Waits until `cond` holds, polling every 10 ms; panics after [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "{what}: still false after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------
// Recording what handlers saw

/// A channel handlers send what they saw into.
pub fn record<T>() -> (mpsc::UnboundedSender<T>, Seen<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Seen { rx })
}

/// The receiving end of [`record`].
pub struct Seen<T> {
    rx: mpsc::UnboundedReceiver<T>,
}

impl<T: std::fmt::Debug> Seen<T> {
    /// The next record; panics after [`WAIT`].
    pub async fn next(&mut self) -> T {
        match timeout(WAIT, self.rx.recv()).await {
            Ok(Some(v)) => v,
            Ok(None) => panic!("record channel closed"),
            Err(_) => panic!("nothing recorded within {WAIT:?}"),
        }
    }

    /// Asserts that nothing is recorded for `d`.
    pub async fn assert_quiet(&mut self, d: Duration) {
        if let Ok(Some(v)) = timeout(d, self.rx.recv()).await {
            panic!("unexpected record {v:?}");
        }
    }

    /// Everything recorded so far, without waiting.
    pub fn drain(&mut self) -> Vec<T> {
        let mut v = Vec::new();
        while let Ok(x) = self.rx.try_recv() {
            v.push(x);
        }
        v
    }
}

// ---------------------------------------------------------------------------
// Values as JSON, binary tagged the way sio-client.mjs prints it

/// A [`Value`] as JSON, each buffer as `{"$bin": "<hex>"}`.
pub fn tagged(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Number(n.clone()),
        Value::String(s) => Json::String(s.clone()),
        Value::Binary(b) => json!({ "$bin": hex(b) }),
        Value::Array(a) => Json::Array(a.iter().map(tagged).collect()),
        Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), tagged(v))).collect()),
    }
}

/// Arguments as a tagged JSON array.
pub fn tagged_args(args: &[Value]) -> Json {
    Json::Array(args.iter().map(tagged).collect())
}

/// The inverse of [`tagged`].
pub fn untagged(j: &Json) -> Value {
    match j {
        Json::Object(o) if o.len() == 1 && o.get("$bin").is_some_and(Json::is_string) => {
            Value::Binary(unhex(o["$bin"].as_str().unwrap_or_default()).into())
        }
        Json::Array(a) => Value::Array(a.iter().map(untagged).collect()),
        Json::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), untagged(v))).collect()),
        other => Value::from(other.clone()),
    }
}

/// `{"$bin": "<hex>"}` for these bytes.
pub fn bin(bytes: &[u8]) -> Json {
    json!({ "$bin": hex(bytes) })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

// ---------------------------------------------------------------------------
// Node

/// `tests/node` of the workspace.
pub fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("node")
}

/// A running `node tests/node/<script>`: JSON lines from stdout, JSON
/// commands to stdin, killed on drop and after its time limit.
pub struct NodeProc {
    script: String,
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    /// Lines read but not yet consumed by an `expect`.
    pending: VecDeque<Json>,
    transcript: Vec<String>,
    stderr: Arc<Mutex<String>>,
    deadline: Instant,
    next_req: u64,
}

impl NodeProc {
    /// Starts `node tests/node/<script> <args…>`; every wait on it panics once
    /// `limit` has passed since the start.
    pub fn spawn(script: &str, args: &[&str], limit: Duration) -> NodeProc {
        let dir = node_dir();
        assert!(
            dir.join("node_modules").join("socket.io-client").is_dir(),
            "{}/node_modules is missing: run `npm ci --prefix tests/node` first",
            dir.display()
        );
        let mut child = tokio::process::Command::new("node")
            .arg(dir.join(script))
            .args(args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("could not start `node`; Node 20 must be on PATH");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        NodeProc {
            script: script.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            pending: VecDeque::new(),
            transcript: Vec::new(),
            stderr,
            deadline: Instant::now() + limit,
            next_req: 0,
        }
    }

    fn context(&self) -> String {
        format!(
            "node {}\n--- stdout\n{}\n--- stderr\n{}",
            self.script,
            self.transcript.join("\n"),
            self.stderr.lock().clone()
        )
    }

    /// The next line from the process, `None` at EOF.
    async fn read_line(&mut self, what: &str) -> Option<Json> {
        let wait = (self.deadline - Instant::now().min(self.deadline)).min(WAIT);
        let line = match timeout(wait, self.lines.recv()).await {
            Ok(l) => l?,
            Err(_) => panic!(
                "waiting for {what}: nothing within {wait:?}\n{}",
                self.context()
            ),
        };
        self.transcript.push(line.clone());
        let v: Json = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}\n{}", self.context()));
        if v["event"] == "fail" {
            panic!(
                "the node script failed: {}\n{}",
                v["message"],
                self.context()
            );
        }
        Some(v)
    }

    /// The first line (already read or to come) matching `pred`; the lines
    /// skipped stay available to later calls.
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&Json) -> bool) -> Json {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i).expect("index");
        }
        loop {
            match self.read_line(what).await {
                Some(v) if pred(&v) => return v,
                Some(v) => self.pending.push_back(v),
                None => panic!("waiting for {what}: the script exited\n{}", self.context()),
            }
        }
    }

    /// The first line with this `event` and `client`.
    pub async fn expect_event(&mut self, event: &str, client: &str) -> Json {
        self.expect(&format!("{event} of {client}"), |v| {
            v["event"] == event && v["client"] == client
        })
        .await
    }

    /// Removes and returns the lines already read that match `pred`.
    pub fn take(&mut self, pred: impl Fn(&Json) -> bool) -> Vec<Json> {
        let (hit, keep): (Vec<Json>, Vec<Json>) = self.pending.drain(..).partition(|v| pred(v));
        self.pending = keep.into();
        hit
    }

    /// Lines already read and not consumed.
    pub fn pending(&self) -> impl Iterator<Item = &Json> {
        self.pending.iter()
    }

    /// Writes one command line.
    pub async fn send(&mut self, cmd: Json) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let mut line = cmd.to_string();
        line.push('\n');
        if let Err(e) = stdin.write_all(line.as_bytes()).await {
            panic!("writing {cmd} to node: {e}\n{}", self.context());
        }
        let _ = stdin.flush().await;
    }

    /// Asks the script to exit and checks it exited 0.
    pub async fn finish(mut self) {
        if self.stdin.is_some() {
            self.send(json!({ "cmd": "exit" })).await;
        }
        self.stdin = None;
        // Drain stdout so that a late `fail` line is seen.
        while self.read_line("exit").await.is_some() {}
        let status = match timeout(WAIT, self.child.wait()).await {
            Ok(s) => s.expect("wait for node"),
            Err(_) => panic!("node did not exit\n{}", self.context()),
        };
        assert!(
            status.success(),
            "node exited with {status}\n{}",
            self.context()
        );
    }

    /// Kills the process (as a crashed client or a closed laptop lid).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    // -- helpers for sio-client.mjs ---------------------------------------

    /// Connects socket `client`; `extra` adds fields to the command (nsp,
    /// manager, auth, opts, answer). Returns the `connect` line.
    pub async fn connect(&mut self, client: &str, extra: Json) -> Json {
        self.send_connect(client, extra).await;
        let line = self
            .expect(&format!("connect of {client}"), |v| {
                v["client"] == client && (v["event"] == "connect" || v["event"] == "connect_error")
            })
            .await;
        assert_eq!(
            line["event"], "connect",
            "{client} could not connect: {line}"
        );
        line
    }

    /// Sends a connect command without waiting.
    pub async fn send_connect(&mut self, client: &str, extra: Json) {
        let mut cmd = json!({ "cmd": "connect", "client": client });
        if let Json::Object(o) = extra {
            cmd.as_object_mut().expect("object").extend(o);
        }
        self.send(cmd).await;
    }

    /// A fire-and-forget emit.
    pub async fn emit(&mut self, client: &str, name: &str, args: Json) {
        self.send(json!({ "cmd": "emit", "client": client, "name": name, "args": args }))
            .await;
    }

    /// Emits with an ack callback and returns every argument of the answer.
    pub async fn emit_ack(&mut self, client: &str, name: &str, args: Json) -> Json {
        let req = self.req();
        self.send(json!({
            "cmd": "emit", "client": client, "name": name, "args": args,
            "ack": "callback", "req": req,
        }))
        .await;
        self.ack_line(client, req).await["args"].clone()
    }

    /// `socket.timeout(ms).emitWithAck(...)`: the first answer argument or
    /// the error message.
    pub async fn emit_with_ack(
        &mut self,
        client: &str,
        name: &str,
        args: Json,
        timeout_ms: u64,
    ) -> Result<Json, String> {
        let req = self.req();
        self.send(json!({
            "cmd": "emit", "client": client, "name": name, "args": args,
            "ack": "promise", "timeout": timeout_ms, "req": req,
        }))
        .await;
        let line = self.ack_line(client, req).await;
        if line["event"] == "ack" {
            Ok(line["args"][0].clone())
        } else {
            Err(line["message"].as_str().unwrap_or_default().to_owned())
        }
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    async fn ack_line(&mut self, client: &str, req: u64) -> Json {
        self.expect(&format!("ack {req} of {client}"), |v| {
            (v["event"] == "ack" || v["event"] == "ack_error")
                && v["client"] == client
                && v["req"] == req
        })
        .await
    }

    /// The next event `name` received by `client`: its `recv` line.
    pub async fn recv(&mut self, client: &str, name: &str) -> Json {
        self.expect(&format!("event {name:?} at {client}"), |v| {
            v["event"] == "recv" && v["client"] == client && v["name"] == name
        })
        .await
    }

    /// The disconnect reason the client reports.
    pub async fn disconnected(&mut self, client: &str) -> String {
        let line = self.expect_event("disconnect", client).await;
        line["reason"].as_str().unwrap_or_default().to_owned()
    }
}

/// Starts tests/node/sio-client.mjs against `server` and waits until it is
/// ready for commands.
pub async fn sio_client(server: &TestServer, options: Json) -> NodeProc {
    let url = server.url();
    let opts = options.to_string();
    let mut p = NodeProc::spawn("sio-client.mjs", &[&url, &opts], Duration::from_secs(20));
    p.expect("ready", |v| v["event"] == "ready").await;
    p
}

// ---------------------------------------------------------------------------
// Raw WebSocket

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket Engine.IO session under `/socket.io/`; returns the
/// socket and the Engine.IO sid.
pub async fn ws_open(addr: SocketAddr) -> (Ws, String) {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("websocket connect timeout")
        .expect("websocket handshake");
    let open = ws_text(&mut ws).await;
    let v: Json =
        serde_json::from_str(open.strip_prefix('0').expect("open packet")).expect("handshake JSON");
    (ws, v["sid"].as_str().expect("sid").to_owned())
}

/// Joins `nsp` (`/` or `/name`) and returns the Socket.IO sid.
pub async fn ws_join(ws: &mut Ws, nsp: &str) -> String {
    let (connect, prefix) = if nsp == "/" {
        ("40".to_owned(), "40".to_owned())
    } else {
        (format!("40{nsp},"), format!("40{nsp},"))
    };
    ws_send(ws, &connect).await;
    let reply = ws_text(ws).await;
    let json = reply
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected a CONNECT reply to {connect:?}, got {reply:?}"));
    let v: Json = serde_json::from_str(json).expect("CONNECT reply JSON");
    v["sid"].as_str().expect("sid").to_owned()
}

pub async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::text(text)).await.expect("ws send");
}

pub async fn ws_send_binary(ws: &mut Ws, bytes: &[u8]) {
    ws.send(WsMessage::binary(bytes.to_vec()))
        .await
        .expect("ws send");
}

/// The next data frame, skipping WS-level pings and Engine.IO pings (which
/// it answers); `None` once the connection closes.
pub async fn ws_next(ws: &mut Ws) -> Option<WsMessage> {
    loop {
        let frame = timeout(WAIT, ws.next())
            .await
            .expect("websocket read timeout");
        match frame {
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2" => {
                let _ = ws.send(WsMessage::text("3")).await;
            }
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

/// Asserts that the server closes the connection within [`WAIT`] and sends
/// nothing before but Engine.IO close packets.
pub async fn ws_expect_closed(ws: &mut Ws) {
    let deadline = Instant::now() + WAIT;
    loop {
        let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(f) => f,
            Err(_) => panic!("the server did not close the connection within {WAIT:?}"),
        };
        match frame {
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "1" => {}
            Some(Ok(other)) => {
                panic!("expected the server to close the connection, got {other:?}")
            }
        }
    }
}

/// Asserts that nothing arrives and the connection stays open for `d`.
pub async fn ws_expect_silent(ws: &mut Ws, d: Duration) {
    match timeout(d, ws.next()).await {
        Err(_) => {}
        Ok(m) => panic!("expected silence, got {m:?}"),
    }
}

/// The session id in an Engine.IO open packet (or any text holding one).
pub fn session_id(open: &str) -> String {
    open.split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no session id in {open:?}"))
        .to_owned()
}
