//! The Engine.IO server's HTTP entry: arbitrary sequences of requests (some
//! left pending while others run), server-side sends and closes, and
//! virtual-time jumps against one `EngineIo`, through
//! `EngineIoService::handle`, in a current-thread runtime with paused time
//! (long-polls and heartbeats run at once).
//!
//! Checks, besides "no panic anywhere" (libFuzzer aborts on a panic in any
//! task): every answer has a known status; a handshake answers an `open`
//! packet; a 200 poll is a well-formed payload; the handler hears of each
//! session's connect once, then messages, then one disconnect; and once the
//! server is closed every pending request is answered and every session is
//! gone.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use bytes::Bytes;
use engineio::proto::{decode_payload, encode_payload, Packet};
use engineio::server::{
    Cookie, Cors, DisconnectReason, EngineIoService, Handler, Message, ServerConfig, Socket,
};
use engineio::{EngineIo, Str};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum MethodSel {
    Get,
    Post,
    Options,
    Put,
    Head,
}

#[derive(Arbitrary, Debug)]
enum PathSel {
    Engine,
    EngineNoSlash,
    EngineSub(String),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Eio {
    Four,
    Three,
    Other(String),
    Missing,
}

#[derive(Arbitrary, Debug)]
enum TransportSel {
    Polling,
    Websocket,
    Other(String),
    Missing,
}

#[derive(Arbitrary, Debug)]
enum SidSel {
    None,
    /// One of the sessions opened so far, by index.
    Session(u8),
    /// Well-formed, unknown.
    Stale,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum HeaderSel {
    ContentType,
    ContentLength,
    AcceptEncoding,
    Origin,
    Upgrade,
    Connection,
    SecWebSocketKey,
    AccessControlRequestHeaders,
    Cookie,
    Custom(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum PacketSel {
    Message(String),
    Binary(Vec<u8>),
    Open(String),
    Close,
    Ping,
    Pong,
    PingProbe,
    PongProbe,
    Upgrade,
    Noop,
}

#[derive(Arbitrary, Debug)]
enum BodySel {
    Empty,
    Raw(Vec<u8>),
    Packets(Vec<PacketSel>),
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: MethodSel,
    path: PathSel,
    eio: Eio,
    transport: TransportSel,
    sid: SidSel,
    extra_query: Option<String>,
    headers: Vec<(HeaderSel, Vec<u8>)>,
    body: BodySel,
    /// Run it in the background and go on with the next operation.
    background: bool,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Request(Req),
    Sleep(u16),
    ServerSend(u8, Option<String>, Vec<u8>),
    ServerClose(u8),
    Yield,
}

/// What the handler heard of one session.
#[derive(Debug, Default)]
struct Life {
    messages: usize,
    disconnects: usize,
}

#[derive(Default)]
struct State {
    order: Vec<String>,
    lives: HashMap<String, Life>,
}

#[derive(Clone, Default)]
struct Echo(Arc<Mutex<State>>);

impl Handler for Echo {
    type Data = ();

    fn on_connect(&self, socket: Arc<Socket<()>>) {
        let mut st = self.0.lock().unwrap();
        let sid = socket.id().to_string();
        assert!(!st.lives.contains_key(&sid), "two connects for {sid}");
        st.order.push(sid.clone());
        st.lives.insert(sid, Life::default());
    }

    fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
        {
            let mut st = self.0.lock().unwrap();
            let life = st
                .lives
                .get_mut(socket.id().as_str())
                .expect("message for a session never connected");
            assert_eq!(life.disconnects, 0, "message after disconnect");
            life.messages += 1;
        }
        let _ = socket.send(msg);
    }

    fn on_disconnect(&self, socket: &Arc<Socket<()>>, _reason: DisconnectReason) {
        let mut st = self.0.lock().unwrap();
        let life = st
            .lives
            .get_mut(socket.id().as_str())
            .expect("disconnect of a session never connected");
        life.disconnects += 1;
        assert_eq!(life.disconnects, 1, "two disconnects for {}", socket.id());
    }
}

fn config() -> ServerConfig {
    ServerConfig::default()
        .max_http_buffer_size(2_000)
        .max_buffer_size(8)
        .http_compression_threshold(Some(64))
        .cors(Some(Cors::any()))
        .cookie(Some(Cookie::default()))
        .max_connections(Some(16))
}

fn packet(p: PacketSel) -> Packet {
    match p {
        PacketSel::Message(s) => Packet::Message(Str::from(s.replace('\u{1e}', ""))),
        PacketSel::Binary(b) => Packet::Binary(b.into()),
        PacketSel::Open(s) => Packet::Open(Str::from(s.replace('\u{1e}', ""))),
        PacketSel::Close => Packet::Close,
        PacketSel::Ping => Packet::Ping,
        PacketSel::Pong => Packet::Pong,
        PacketSel::PingProbe => Packet::PingProbe,
        PacketSel::PongProbe => Packet::PongProbe,
        PacketSel::Upgrade => Packet::Upgrade,
        PacketSel::Noop => Packet::Noop,
    }
}

fn sid_of(state: &Mutex<State>, sel: &SidSel) -> Option<String> {
    match sel {
        SidSel::None => None,
        SidSel::Session(i) => {
            let st = state.lock().unwrap();
            match st.order.len() {
                0 => Some("AAAAAAAAAAAAAAAAAAAA".into()),
                n => Some(st.order[*i as usize % n].clone()),
            }
        }
        SidSel::Stale => Some("AAAAAAAAAAAAAAAAAAAA".into()),
        SidSel::Raw(s) => Some(s.clone()),
    }
}

/// Percent-encodes anything outside the unreserved set, so every string
/// makes a valid query.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn build(req: &Req, state: &Mutex<State>) -> Option<Request<Full<Bytes>>> {
    let method = match req.method {
        MethodSel::Get => Method::GET,
        MethodSel::Post => Method::POST,
        MethodSel::Options => Method::OPTIONS,
        MethodSel::Put => Method::PUT,
        MethodSel::Head => Method::HEAD,
    };
    let path = match &req.path {
        PathSel::Engine => "/engine.io/".to_owned(),
        PathSel::EngineNoSlash => "/engine.io".to_owned(),
        PathSel::EngineSub(s) => format!("/engine.io/{}", enc(s)),
        PathSel::Other(s) => format!("/{}", enc(s)),
    };
    let mut query = Vec::new();
    match &req.eio {
        Eio::Four => query.push("EIO=4".to_owned()),
        Eio::Three => query.push("EIO=3".to_owned()),
        Eio::Other(s) => query.push(format!("EIO={}", enc(s))),
        Eio::Missing => {}
    }
    match &req.transport {
        TransportSel::Polling => query.push("transport=polling".to_owned()),
        TransportSel::Websocket => query.push("transport=websocket".to_owned()),
        TransportSel::Other(s) => query.push(format!("transport={}", enc(s))),
        TransportSel::Missing => {}
    }
    if let Some(sid) = sid_of(state, &req.sid) {
        query.push(format!("sid={}", enc(&sid)));
    }
    if let Some(extra) = &req.extra_query {
        query.push(enc(extra));
    }
    let uri = format!("{path}?{}", query.join("&"));
    let body = match &req.body {
        BodySel::Empty => Bytes::new(),
        BodySel::Raw(b) => Bytes::copy_from_slice(b),
        BodySel::Packets(ps) => {
            let ps: Vec<Packet> = ps.iter().cloned().map(packet).collect();
            encode_payload(&ps)
        }
    };
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in &req.headers {
        let name = match name {
            HeaderSel::ContentType => http::header::CONTENT_TYPE,
            HeaderSel::ContentLength => http::header::CONTENT_LENGTH,
            HeaderSel::AcceptEncoding => http::header::ACCEPT_ENCODING,
            HeaderSel::Origin => http::header::ORIGIN,
            HeaderSel::Upgrade => http::header::UPGRADE,
            HeaderSel::Connection => http::header::CONNECTION,
            HeaderSel::SecWebSocketKey => http::header::SEC_WEBSOCKET_KEY,
            HeaderSel::AccessControlRequestHeaders => http::header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderSel::Cookie => http::header::COOKIE,
            HeaderSel::Custom(s) => HeaderName::from_bytes(s.as_bytes()).ok()?,
        };
        builder = builder.header(name, HeaderValue::from_bytes(value).ok()?);
    }
    builder.body(Full::new(body)).ok()
}

async fn body_of(res: Response<Full<Bytes>>) -> (http::response::Parts, Bytes) {
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("Full never fails").to_bytes();
    (parts, bytes)
}

/// Checks one answer against what the request was.
async fn check(is_handshake_like: bool, has_sid: bool, is_get: bool, res: Response<Full<Bytes>>) {
    let (parts, body) = body_of(res).await;
    let status = parts.status.as_u16();
    assert!(
        matches!(status, 101 | 200 | 204 | 400 | 403 | 404 | 413 | 500),
        "unexpected status {status}"
    );
    if status != 200 || parts.headers.contains_key(http::header::CONTENT_ENCODING) {
        return;
    }
    if is_handshake_like && !has_sid {
        let text = std::str::from_utf8(&body).expect("handshake is text");
        assert!(text.starts_with("0{"), "handshake answered {text:?}");
    }
    if has_sid && is_get {
        for p in decode_payload(body.clone()) {
            let p = p.unwrap_or_else(|e| panic!("poll answered a bad payload {body:?}: {e}"));
            assert!(
                !matches!(p, Packet::Open(_) | Packet::PingProbe | Packet::PongProbe),
                "unexpected packet in a poll: {p:?}"
            );
        }
    }
}

async fn run(ops: Vec<Op>) {
    let handler = Echo::default();
    let state = handler.0.clone();
    let io = EngineIo::new(config(), handler);
    let svc: EngineIoService<Echo> = io.service();
    let mut background = tokio::task::JoinSet::new();
    for op in ops.into_iter().take(48) {
        match op {
            Op::Request(req) => {
                let Some(http_req) = build(&req, &state) else {
                    continue;
                };
                let is_get = http_req.method() == Method::GET;
                let has_sid = !matches!(req.sid, SidSel::None);
                let svc = svc.clone();
                let fut = async move {
                    let res = svc.handle(http_req).await;
                    check(is_get, has_sid, is_get, res).await;
                };
                if req.background {
                    background.spawn(fut);
                } else {
                    // A request may legitimately wait for the next ping; it
                    // must never wait for ever.
                    tokio::time::timeout(Duration::from_secs(3600), fut)
                        .await
                        .expect("a request was never answered");
                }
            }
            Op::Sleep(ms) => tokio::time::sleep(Duration::from_millis(u64::from(ms) * 4)).await,
            Op::ServerSend(i, text, bin) => {
                let sid = sid_of(&state, &SidSel::Session(i));
                if let Some(s) = sid.and_then(|sid| io.socket(&sid)) {
                    let msg = match text {
                        // U+001E is the polling record separator: text holding
                        // it cannot be framed (the reference does not escape
                        // it either), so applications must not send it.
                        Some(t) => Message::Text(Str::from(t.replace('\u{1e}', ""))),
                        None => Message::Binary(bin.into()),
                    };
                    let _ = s.send(msg);
                }
            }
            Op::ServerClose(i) => {
                let sid = sid_of(&state, &SidSel::Session(i));
                if let Some(s) = sid.and_then(|sid| io.socket(&sid)) {
                    s.close();
                }
            }
            Op::Yield => tokio::task::yield_now().await,
        }
    }
    io.close();
    // Everything pending must be answered once the server is closed.
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(r) = background.join_next().await {
            r.expect("request task failed");
        }
    })
    .await
    .expect("a request was still pending after the server closed");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(io.count(), 0, "sessions left after close");
    let st = state.lock().unwrap();
    for (sid, life) in &st.lives {
        assert_eq!(life.disconnects, 1, "session {sid}: {life:?}");
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(run(ops));
});
