//! Churn soak: many short-lived clients connect, join namespaces and rooms,
//! emit, and leave in every way a client can (clean namespace disconnect,
//! Engine.IO close, a dropped TCP connection, an aborted long-poll, a server
//! side `disconnect(true)`), over polling, WebSocket and polling upgraded to
//! WebSocket, against one server. Afterwards no session may outlive its
//! connection: no Engine.IO session, no namespace socket, no adapter room.
//!
//! `churn_short` (2 000 cycles) runs with every `cargo test`. The full soak,
//! `churn_soak_100k`, is ignored; it also checks that resident memory comes
//! back to within 10% of its plateau. Run it with `fuzz/churn_soak.sh`, or:
//!
//! ```text
//! cargo test --release -p socketio --test churn -- --ignored --nocapture
//! ```
//!
//! Both use raw clients (Engine.IO / Socket.IO spoken by hand over TCP and
//! tokio-tungstenite), on 127.0.0.1 port 0.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use socketio::{ServerConfig, SocketIo};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The longest one cycle may take before the test fails.
const CYCLE_LIMIT: Duration = Duration::from_secs(10);
/// How long the server may take to forget everything once clients are gone.
const CLEANUP_LIMIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Server

#[derive(Default)]
struct Counters {
    connects: AtomicUsize,
    disconnects: AtomicUsize,
    echoes: AtomicUsize,
}

fn server_config() -> ServerConfig {
    let mut c = ServerConfig::default();
    // Abandoned sessions (none here, but a bug could leave some) and the
    // final-poll grace of closed polling sessions end within a second or two.
    c.engine.ping_interval = Duration::from_millis(1000);
    c.engine.ping_timeout = Duration::from_millis(1000);
    c
}

/// `/` and `/chat`: every socket joins a shared room and a private one,
/// `echo` answers (by ack or by event), `bye` disconnects the whole client,
/// and every tenth echo also broadcasts noise to a shared room.
async fn start_server() -> (SocketIo, SocketAddr, Arc<Counters>) {
    let io = SocketIo::new(server_config());
    let counters = Arc::new(Counters::default());
    for nsp in ["/", "/chat"] {
        let c = counters.clone();
        io.of(nsp).on_connection(move |s| {
            let n = c.connects.fetch_add(1, Ordering::Relaxed);
            s.join(vec![format!("room{}", n % 8), format!("own-{}", s.id())]);
            let c2 = c.clone();
            s.on("echo", move |s, args, ack| {
                let n = c2.echoes.fetch_add(1, Ordering::Relaxed);
                match ack {
                    Some(ack) => {
                        let _ = ack.send(args);
                    }
                    None => {
                        let _ = s.emit_args("echo-back", args);
                    }
                }
                if n % 10 == 0 {
                    let _ = s.to(format!("room{}", n % 8)).emit("noise", &n);
                }
            });
            s.on("bye", |s, _, _| s.disconnect(true));
            let c3 = c.clone();
            s.on_disconnect(move |_, _| {
                c3.disconnects.fetch_add(1, Ordering::Relaxed);
            });
        });
    }
    let listener = io.listen("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr();
    (io, addr, counters)
}

/// Waits until no session outlives its connection; panics with what is left.
async fn assert_all_gone(io: &SocketIo, counters: &Counters) {
    let deadline = Instant::now() + CLEANUP_LIMIT;
    loop {
        let engine = io.engine_count();
        let sockets: usize = ["/", "/chat"]
            .iter()
            .map(|n| io.of(n).sockets().len())
            .sum();
        let rooms: usize = ["/", "/chat"].iter().map(|n| io.of(n).rooms().len()).sum();
        let connects = counters.connects.load(Ordering::Relaxed);
        let disconnects = counters.disconnects.load(Ordering::Relaxed);
        if engine == 0 && sockets == 0 && rooms == 0 && connects == disconnects {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{CLEANUP_LIMIT:?} after the last client left: {engine} Engine.IO sessions, \
             {sockets} namespace sockets, {rooms} rooms, {connects} connects vs \
             {disconnects} disconnects"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------
// Raw WebSocket client

async fn ws_connect(addr: SocketAddr, query: &str) -> Ws {
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{query}");
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket handshake");
    ws
}

/// The next Engine.IO text packet, answering pings; `None` once closed.
async fn ws_recv(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) if t.as_str() == "2" => {
                let _ = ws.send(WsMessage::text("3")).await;
            }
            Some(Ok(WsMessage::Text(t))) => return Some(t.to_string()),
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Skips packets (noise broadcasts) until one starts with `prefix`.
async fn ws_expect(ws: &mut Ws, prefix: &str) -> String {
    loop {
        match ws_recv(ws).await {
            Some(p) if p.starts_with(prefix) => return p,
            Some(_) => {}
            None => panic!("connection closed while waiting for {prefix:?}"),
        }
    }
}

async fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::text(text)).await.expect("ws send");
}

/// Reads until the server closes the connection.
async fn ws_until_closed(ws: &mut Ws) {
    while ws_recv(ws).await.is_some() {}
}

// ---------------------------------------------------------------------------
// Raw HTTP long-polling client: one keep-alive connection for GETs and one
// for POSTs, as a browser has.

struct Http {
    r: BufReader<TcpStream>,
}

impl Http {
    async fn connect(addr: SocketAddr) -> Http {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        Http {
            r: BufReader::new(tcp),
        }
    }

    async fn send(&mut self, method: &str, path: &str, body: &[u8]) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.r.get_mut().write_all(&bytes).await.expect("write");
    }

    async fn response(&mut self) -> (u16, String) {
        let mut line = String::new();
        self.r.read_line(&mut line).await.expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut len = 0;
        loop {
            line.clear();
            self.r.read_line(&mut line).await.expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().expect("content-length");
                }
            }
        }
        let mut body = vec![0; len];
        self.r.read_exact(&mut body).await.expect("body");
        (status, String::from_utf8(body).expect("text body"))
    }

    async fn request(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        self.send(method, path, body).await;
        self.response().await
    }
}

struct Polling {
    addr: SocketAddr,
    sid: String,
    get: Http,
    post: Http,
    inbox: VecDeque<String>,
}

impl Polling {
    async fn open(addr: SocketAddr) -> Polling {
        let mut get = Http::connect(addr).await;
        let (status, body) = get
            .request("GET", "/socket.io/?EIO=4&transport=polling", b"")
            .await;
        assert_eq!(status, 200, "handshake: {body}");
        let sid = body
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no sid in {body:?}"))
            .to_owned();
        let post = Http::connect(addr).await;
        Polling {
            addr,
            sid,
            get,
            post,
            inbox: VecDeque::new(),
        }
    }

    fn path(&self) -> String {
        format!("/socket.io/?EIO=4&transport=polling&sid={}", self.sid)
    }

    async fn send(&mut self, packets: &[&str]) {
        let path = self.path();
        let (status, body) = self
            .post
            .request("POST", &path, packets.join("\u{1e}").as_bytes())
            .await;
        assert_eq!((status, body.as_str()), (200, "ok"), "POST {packets:?}");
    }

    /// Starts a long-poll without waiting for its answer.
    async fn start_poll(&mut self) {
        let path = self.path();
        self.get.send("GET", &path, b"").await;
    }

    async fn finish_poll(&mut self) -> String {
        let (status, body) = self.get.response().await;
        assert_eq!(status, 200, "poll: {body}");
        body
    }

    /// The next packet, answering pings and skipping noops.
    async fn recv(&mut self) -> String {
        loop {
            if let Some(p) = self.inbox.pop_front() {
                match p.as_str() {
                    "2" => self.send(&["3"]).await,
                    "6" => {}
                    _ => return p,
                }
                continue;
            }
            self.start_poll().await;
            let body = self.finish_poll().await;
            self.inbox.extend(body.split('\u{1e}').map(str::to_owned));
        }
    }

    async fn expect(&mut self, prefix: &str) -> String {
        loop {
            let p = self.recv().await;
            if p.starts_with(prefix) {
                return p;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Cycles

/// The ways a client comes and goes; cycle `i` uses mode `i % 7`.
async fn cycle(addr: SocketAddr, i: usize) {
    match i % 7 {
        // WebSocket: emit with ack, leave the namespace, close cleanly.
        0 => {
            let mut ws = ws_connect(addr, "").await;
            ws_expect(&mut ws, "0{").await;
            ws_send(&mut ws, "40").await;
            ws_expect(&mut ws, "40{").await;
            ws_send(&mut ws, &format!("42{i}[\"echo\",{i}]")).await;
            ws_expect(&mut ws, &format!("43{i}[{i}]")).await;
            ws_send(&mut ws, "41").await;
            let _ = ws.close(None).await;
            ws_until_closed(&mut ws).await;
        }
        // WebSocket on two namespaces, then the TCP connection just drops.
        1 => {
            let mut ws = ws_connect(addr, "").await;
            ws_expect(&mut ws, "0{").await;
            ws_send(&mut ws, "40").await;
            ws_expect(&mut ws, "40{").await;
            ws_send(&mut ws, "40/chat,").await;
            ws_expect(&mut ws, "40/chat,{").await;
            ws_send(&mut ws, &format!("42/chat,[\"echo\",{i}]")).await;
            ws_expect(&mut ws, &format!("42/chat,[\"echo-back\",{i}]")).await;
            drop(ws);
        }
        // WebSocket: the server disconnects the client (`disconnect(true)`).
        2 => {
            let mut ws = ws_connect(addr, "").await;
            ws_expect(&mut ws, "0{").await;
            ws_send(&mut ws, "40").await;
            ws_expect(&mut ws, "40{").await;
            ws_send(&mut ws, "42[\"bye\"]").await;
            ws_expect(&mut ws, "41").await;
            ws_until_closed(&mut ws).await;
        }
        // WebSocket: Engine.IO close packet without leaving the namespace.
        3 => {
            let mut ws = ws_connect(addr, "").await;
            ws_expect(&mut ws, "0{").await;
            ws_send(&mut ws, "40/chat,").await;
            ws_expect(&mut ws, "40/chat,{").await;
            ws_send(&mut ws, &format!("42/chat,{i}[\"echo\",\"x\"]")).await;
            ws_expect(&mut ws, &format!("43/chat,{i}[\"x\"]")).await;
            ws_send(&mut ws, "1").await;
            ws_until_closed(&mut ws).await;
        }
        // Polling: join, emit, then leave and close with a poll pending.
        4 => {
            let mut p = Polling::open(addr).await;
            p.send(&["40"]).await;
            p.expect("40{").await;
            p.send(&[&format!("42[\"echo\",{i}]")]).await;
            p.expect(&format!("42[\"echo-back\",{i}]")).await;
            p.start_poll().await;
            p.send(&["41", "1"]).await;
            // The pending poll ends (a noop, or what was still queued).
            p.finish_poll().await;
        }
        // Polling: join, emit, then abort a pending long-poll (TCP close).
        5 => {
            let mut p = Polling::open(addr).await;
            p.send(&["40/chat,"]).await;
            p.expect("40/chat,{").await;
            p.send(&[&format!("42/chat,{i}[\"echo\",{i}]")]).await;
            p.expect(&format!("43/chat,{i}[{i}]")).await;
            p.start_poll().await;
            // Give the poll time to reach the server before it is aborted.
            tokio::time::sleep(Duration::from_millis(5)).await;
            drop(p);
        }
        // Polling upgraded to WebSocket, then a clean close.
        _ => {
            let mut p = Polling::open(addr).await;
            p.send(&["40"]).await;
            p.expect("40{").await;
            let sid = p.sid.clone();
            p.start_poll().await;
            let mut ws = ws_connect(p.addr, &format!("&sid={sid}")).await;
            ws_send(&mut ws, "2probe").await;
            ws_expect(&mut ws, "3probe").await;
            // The pending poll is ended so the client can upgrade.
            p.finish_poll().await;
            ws_send(&mut ws, "5").await;
            ws_send(&mut ws, &format!("42[\"echo\",{i}]")).await;
            ws_expect(&mut ws, &format!("42[\"echo-back\",{i}]")).await;
            let _ = ws.close(None).await;
            ws_until_closed(&mut ws).await;
        }
    }
}

/// Runs `cycles` cycles on `workers` concurrent clients; calls `sample`
/// after every `every` completed cycles.
async fn churn(addr: SocketAddr, cycles: usize, workers: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cycles {
                    return;
                }
                if timeout(CYCLE_LIMIT, cycle(addr, i)).await.is_err() {
                    panic!("cycle {i} (mode {}) took over {CYCLE_LIMIT:?}", i % 7);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_short() {
    let (io, addr, counters) = start_server().await;
    let started = Instant::now();
    churn(addr, 2_000, 16).await;
    let took = started.elapsed();
    assert_all_gone(&io, &counters).await;
    // Mode 1 joins two namespaces.
    let joins = 2_000 + (0..2_000).filter(|i| i % 7 == 1).count();
    assert_eq!(counters.connects.load(Ordering::Relaxed), joins);
    eprintln!(
        "churn_short: 2000 cycles in {took:?}, all cleaned up after {:?}",
        started.elapsed()
    );
    io.close();
}

/// The full soak: at least 100 000 cycles in rounds of 5 000; after each
/// round the server must hold nothing, and resident memory is sampled.
///
/// The plateau is the first sample taken once `connect_timeout` (45 s) and a
/// margin have passed: every Engine.IO connection leaves a connect-timeout
/// task behind that lives that long, even after the connection closed, so
/// memory climbs for that long before it levels off (reported as a server
/// finding). A leak keeps climbing after it; the last sample, at least three
/// rounds after the plateau, must be within 10% of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: 100 000 cycles, run with fuzz/churn_soak.sh"]
async fn churn_soak_100k() {
    const MIN_CYCLES: usize = 100_000;
    const ROUND: usize = 5_000;
    let (io, addr, counters) = start_server().await;
    let settle = io.config().connect_timeout + Duration::from_secs(5);
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut plateau = None;
    let mut rounds_after = 0;
    let mut cycles = 0;
    while cycles < MIN_CYCLES || rounds_after < 3 {
        assert!(cycles < 10 * MIN_CYCLES, "no plateau reached");
        churn(addr, ROUND, 32).await;
        cycles += ROUND;
        // Each round starts from no client at all.
        assert_all_gone(&io, &counters).await;
        let now = rss();
        samples.push(now);
        match plateau {
            None if started.elapsed() >= settle => plateau = Some(now),
            Some(_) => rounds_after += 1,
            None => {}
        }
        eprintln!(
            "churn_soak: {cycles} cycles, {:?}, rss {:.1} MiB{}",
            started.elapsed(),
            now as f64 / 1048576.0,
            if plateau == Some(now) && rounds_after == 0 {
                " (plateau)"
            } else {
                ""
            }
        );
    }
    let plateau = plateau.expect("plateau");
    let first = samples[0];
    let last = *samples.last().expect("samples");
    eprintln!(
        "churn_soak: first round {:.1} MiB, plateau {:.1} MiB, end {:.1} MiB",
        first as f64 / 1048576.0,
        plateau as f64 / 1048576.0,
        last as f64 / 1048576.0
    );
    assert!(
        last as f64 <= plateau as f64 * 1.10,
        "resident memory grew from a plateau of {plateau} to {last} bytes \
         (samples every {ROUND} cycles: {samples:?})"
    );
    io.close();
}
