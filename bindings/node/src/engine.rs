//! The engine surface (`io.engine`): its sessions (`connection`, and each
//! session's `upgrade`, `packet` and `close`), `connection_error`, the
//! `headers` / `initial_headers` listeners, `generateId` and the
//! `engine.use` middlewares.
//!
//! The engine's hooks are installed when the server is made and stay idle
//! (one atomic load) until the JS layer says, through `engineWatch`, that
//! someone listens: then they ask JS (`generateId`, middlewares, headers,
//! which the engine waits for) or tell it (the others).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use engineio::proto::Packet;
use engineio::server::{
    ConnectionError, GenerateId, HeadersHook, Message, Middleware, MiddlewareOutcome, RequestInfo,
    ServerConfig, Session, SessionEvent, SessionHook,
};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use parking_lot::Mutex;
use socketio_ffi::embed::{payload, Value};

use crate::dispatch::{Dispatcher, Event, EventKind};

/// What the JS layer listens to: the bits of the mask it hands to
/// `engineWatch`. The JS layer reads them from the native module
/// (`EngineWatch`), so both sides share one list.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineWatch {
    /// `io.engine.on('connection')`, or middlewares (their requests become
    /// the sessions' `request`).
    Connection = 1,
    /// Some session object exists in JS: every close is told.
    Close = 2,
    /// A session object has `upgrade` listeners.
    Upgrade = 4,
    /// A session object has `packet` (or `data`, `message`, `heartbeat`)
    /// listeners.
    Packet = 8,
    /// `io.engine.on('connection_error')`, or middlewares.
    ConnectionError = 16,
    /// `headers` or `initial_headers` listeners.
    Headers = 32,
    /// A `generateId` of the application's.
    GenerateId = 64,
    /// `io.engine.use(...)` middlewares.
    Middleware = 128,
    /// A session object has `packetCreate` listeners.
    PacketCreate = 256,
}

/// The engine side of one server.
#[derive(Default)]
pub(crate) struct EngineState {
    watch: AtomicU32,
    /// The open sessions, by id.
    sessions: Mutex<HashMap<String, Arc<dyn Session>>>,
}

/// Tags handed to middleware-run handshakes (see `RequestInfo::tag`).
static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

impl EngineState {
    fn watching(&self, bit: EngineWatch) -> bool {
        self.watch.load(Ordering::Acquire) & bit as u32 != 0
    }

    pub fn set_watch(&self, mask: u32) {
        self.watch.store(mask, Ordering::Release);
    }

    fn sessions(&self) -> parking_lot::MutexGuard<'_, HashMap<String, Arc<dyn Session>>> {
        self.sessions.lock()
    }

    /// Open sessions (the reference's `clientsCount`).
    pub fn count(&self) -> usize {
        self.sessions().len()
    }

    pub fn session(&self, id: &str) -> Option<Arc<dyn Session>> {
        self.sessions().get(id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<dyn Session>> {
        self.sessions().values().cloned().collect()
    }

    /// Puts the engine's hooks in `c`, asking and telling `disp`.
    pub fn install(self: &Arc<Self>, c: &mut ServerConfig, disp: &Arc<Dispatcher>) {
        c.on_session = Some(self.session_hook(disp));
        c.on_connection_error = Some(self.connection_error_hook(disp));
        c.headers = Some(self.headers_hook(disp));
        c.generate_id = Some(self.generate_id_hook(disp));
        c.middleware = Some(self.middleware_hook(disp));
    }

    fn session_hook(self: &Arc<Self>, disp: &Arc<Dispatcher>) -> SessionHook {
        let (state, d) = (self.clone(), Arc::downgrade(disp));
        Arc::new(move |s: &Arc<dyn Session>, ev: SessionEvent<'_>| {
            // Every packet either way comes here: nothing is made for one
            // that nobody listens to.
            let wanted = match ev {
                SessionEvent::Packet(_) => Some(EngineWatch::Packet),
                SessionEvent::PacketCreate(..) => Some(EngineWatch::PacketCreate),
                _ => None,
            };
            if wanted.is_some_and(|w| !state.watching(w)) {
                return;
            }
            let id = s.id().to_string();
            match ev {
                SessionEvent::Open => {
                    state.sessions().insert(id.clone(), s.clone());
                    if state.watching(EngineWatch::Connection) {
                        if let Some(d) = d.upgrade() {
                            let mut ev = Event::new(EventKind::EngineConnection, 0).name(id);
                            ev.engine = Some(s.clone());
                            // Listeners it adds are in place before the
                            // session's first packet, as with the
                            // reference's synchronous event.
                            d.send_and_wait(ev);
                        }
                    }
                }
                SessionEvent::Upgrade => {
                    if state.watching(EngineWatch::Upgrade) {
                        tell(&d, Event::new(EventKind::EngineUpgrade, 0).name(id));
                    }
                }
                SessionEvent::Packet(p) => {
                    let (kind_name, data) = packet_parts(p);
                    tell(
                        &d,
                        Event::new(EventKind::EnginePacket, 0)
                            .name(id)
                            .args(&[Value::from(kind_name), data]),
                    );
                }
                SessionEvent::PacketCreate(p, compress) => {
                    let (kind_name, data) = packet_parts(p);
                    tell(
                        &d,
                        Event::new(EventKind::EnginePacketCreate, 0)
                            .name(id)
                            .args(&[Value::from(kind_name), data, Value::Bool(compress)]),
                    );
                }
                SessionEvent::Close(reason) => {
                    state.sessions().remove(&id);
                    if state.watching(EngineWatch::Close) {
                        tell(
                            &d,
                            Event::new(EventKind::EngineClose, 0)
                                .name(id)
                                .args(&[Value::from(reason.as_str())]),
                        );
                    }
                }
            }
        })
    }

    fn connection_error_hook(
        self: &Arc<Self>,
        disp: &Arc<Dispatcher>,
    ) -> engineio::server::ConnectionErrorHook {
        let (state, d) = (self.clone(), Arc::downgrade(disp));
        Arc::new(move |e: &ConnectionError| {
            if !state.watching(EngineWatch::ConnectionError) {
                return;
            }
            let context = e
                .context
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(v.as_str())))
                .collect();
            tell(
                &d,
                Event::new(EventKind::ConnectionError, 0).args(&[
                    Value::from(e.code as u8 as i64),
                    Value::from(e.message.as_str()),
                    Value::Object(context),
                    request_value(&e.req, e.req.tag),
                ]),
            );
        })
    }

    /// `headers` and `initial_headers`, in one trip to JS: the listeners
    /// edit a plain object of the answer's headers, which replaces them.
    fn headers_hook(self: &Arc<Self>, disp: &Arc<Dispatcher>) -> HeadersHook {
        let (state, d) = (self.clone(), Arc::downgrade(disp));
        Arc::new(move |headers: &mut http::HeaderMap, req: &RequestInfo| {
            if !state.watching(EngineWatch::Headers) {
                return;
            }
            let Some(d) = d.upgrade() else { return };
            let initial = req.query("sid").is_none();
            // A WebSocket's 101: the handshake's own headers are not the
            // application's (the reference shows only the extra ones).
            let switching = headers.contains_key(http::header::SEC_WEBSOCKET_ACCEPT);
            let shown = |name: &http::HeaderName| {
                !(switching
                    && (name == http::header::UPGRADE
                        || name == http::header::CONNECTION
                        || name == http::header::SEC_WEBSOCKET_ACCEPT))
            };
            let mut object: Vec<(String, Value)> = Vec::new();
            for name in headers.keys() {
                if !shown(name) {
                    continue;
                }
                let mut values: Vec<Value> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                let value = if values.len() == 1 && name != http::header::SET_COOKIE {
                    values.remove(0)
                } else {
                    Value::Array(values)
                };
                object.push((spelling(name.as_str()).to_owned(), value));
            }
            let ev = Event::new(EventKind::Headers, 0).args(&[
                Value::Bool(initial),
                Value::Object(object.into_iter().collect()),
                request_value(req, req.tag),
            ]);
            let Some((1, Some(json))) = d.ask_answer(ev) else {
                return;
            };
            let Ok(Value::Object(edited)) = payload::decode_value(&json, &[]) else {
                return;
            };
            let kept: Vec<_> = headers.keys().filter(|n| !shown(n)).cloned().collect();
            let mut out = http::HeaderMap::new();
            for name in &kept {
                for v in headers.get_all(name) {
                    out.append(name.clone(), v.clone());
                }
            }
            for (name, value) in edited {
                let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else {
                    continue;
                };
                if kept.contains(&name) {
                    continue;
                }
                // A later spelling of a name replaces an earlier one.
                out.remove(&name);
                for v in header_values(&value) {
                    out.append(name.clone(), v);
                }
            }
            *headers = out;
        })
    }

    fn generate_id_hook(self: &Arc<Self>, disp: &Arc<Dispatcher>) -> GenerateId {
        let (state, d) = (self.clone(), Arc::downgrade(disp));
        Arc::new(move |req: &RequestInfo| {
            if !state.watching(EngineWatch::GenerateId) {
                return Box::pin(std::future::ready(Ok(None)));
            }
            let d = d.clone();
            let ev = Event::new(EventKind::GenerateId, 0).args(&[request_value(req, req.tag)]);
            Box::pin(async move {
                match ask_off_runtime(d, ev).await {
                    Some((1, Some(id))) => Ok(Some(id)),
                    Some((_, message)) => {
                        Err(message.unwrap_or_else(|| "generateId failed".to_owned()))
                    }
                    None => Err("generateId did not answer".to_owned()),
                }
            })
        })
    }

    fn middleware_hook(self: &Arc<Self>, disp: &Arc<Dispatcher>) -> Middleware {
        let (state, d) = (self.clone(), Arc::downgrade(disp));
        Arc::new(move |req: &RequestInfo| {
            if !state.watching(EngineWatch::Middleware) {
                return Box::pin(std::future::ready(MiddlewareOutcome::Next {
                    headers: http::HeaderMap::new(),
                    tag: None,
                }));
            }
            // A handshake's request is kept by JS under its tag, to become
            // the session's `request`.
            let tag = req
                .query("sid")
                .is_none()
                .then(|| NEXT_TAG.fetch_add(1, Ordering::Relaxed));
            let d = d.clone();
            let ev = Event::new(EventKind::EngineMiddleware, 0).args(&[request_value(req, tag)]);
            Box::pin(async move {
                match ask_off_runtime(d, ev).await {
                    Some((1, json)) => MiddlewareOutcome::Next {
                        headers: json.map(|j| header_map(&j)).unwrap_or_default(),
                        tag,
                    },
                    Some((2, Some(json))) => match response(&json) {
                        Some(res) => MiddlewareOutcome::Respond(res),
                        None => MiddlewareOutcome::Fail("unreadable middleware answer".into()),
                    },
                    Some((_, message)) => MiddlewareOutcome::Fail(message.unwrap_or_default()),
                    None => MiddlewareOutcome::Fail("the middlewares did not answer".into()),
                }
            })
        })
    }
}

/// Tells JS, if the server is still there. At once: the core answers the
/// client by itself (a refused request, an upgrade, a close), and engine.io
/// emits these events before the client can hear of it.
fn tell(d: &Weak<Dispatcher>, ev: Event) {
    if let Some(d) = d.upgrade() {
        d.send_now(ev);
    }
}

/// Asks JS from an asynchronous hook: the answer is waited for on a
/// blocking thread, never on a runtime worker.
async fn ask_off_runtime(d: Weak<Dispatcher>, ev: Event) -> Option<crate::dispatch::Answer> {
    tokio::task::spawn_blocking(move || d.upgrade().and_then(|d| d.ask_answer(ev)))
        .await
        .ok()
        .flatten()
}

/// The reference's spelling of the headers it sets itself.
fn spelling(name: &str) -> &str {
    match name {
        "content-type" => "Content-Type",
        "content-length" => "Content-Length",
        "content-encoding" => "Content-Encoding",
        "set-cookie" => "Set-Cookie",
        "x-xss-protection" => "X-XSS-Protection",
        other => other,
    }
}

/// The header values of a JS value: a string, a number, or an array of them
/// (`null` and the rest: none).
fn header_values(v: &Value) -> Vec<http::HeaderValue> {
    let one = |v: &Value| -> Option<http::HeaderValue> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        http::HeaderValue::from_str(&text).ok()
    };
    match v {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// `[[name, value], ...]` (values as [`header_values`] reads them).
fn header_map(json: &str) -> http::HeaderMap {
    let mut out = http::HeaderMap::new();
    if let Ok(Value::Array(pairs)) = payload::decode_value(json, &[]) {
        for pair in pairs {
            if let Value::Array(kv) = pair {
                if let [Value::String(name), value] = kv.as_slice() {
                    if let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) {
                        for v in header_values(value) {
                            out.append(name.clone(), v);
                        }
                    }
                }
            }
        }
    }
    out
}

/// A middleware's own answer: `{status, headers: [[name, value]...], body}`
/// with the body in hex.
fn response(json: &str) -> Option<http::Response<engineio::server::ResponseBody>> {
    let Ok(Value::Object(o)) = payload::decode_value(json, &[]) else {
        return None;
    };
    let status = match o.get("status") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    };
    let status = http::StatusCode::from_u16(status.unwrap_or(200)).ok()?;
    let body = match o.get("body") {
        Some(Value::String(hex)) => from_hex(hex)?,
        _ => Vec::new(),
    };
    let headers = match o.get("headers") {
        Some(v) => header_map(&payload::to_plain_json(v)),
        None => http::HeaderMap::new(),
    };
    let mut res = http::Response::new(http_body_util::Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    Some(res)
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| match p {
            [h, l] => Some(digit(*h)? << 4 | digit(*l)?),
            _ => None,
        })
        .collect()
}

/// A packet from a client: its type name and its data.
fn packet_parts(p: &Packet) -> (&'static str, Value) {
    match p {
        Packet::Message(s) => ("message", Value::from(s.as_str())),
        Packet::Binary(b) => ("message", Value::Binary(b.clone())),
        Packet::Open(_) => ("open", Value::Null),
        Packet::Close => ("close", Value::Null),
        Packet::Ping => ("ping", Value::Null),
        Packet::PingProbe => ("ping", Value::from("probe")),
        Packet::Pong => ("pong", Value::Null),
        Packet::PongProbe => ("pong", Value::from("probe")),
        Packet::Upgrade => ("upgrade", Value::Null),
        Packet::Noop => ("noop", Value::Null),
    }
}

/// A request's headers as Node's `IncomingMessage` has them: names in lower
/// case, repeated ones joined (`; ` for cookies, `, ` otherwise).
pub(crate) fn joined_headers(req: &RequestInfo) -> Vec<(String, Value)> {
    req.headers
        .iter()
        .fold(Vec::<(String, String)>::new(), |mut all, (k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            match all.iter_mut().find(|(name, _)| name == k.as_str()) {
                Some((_, prev)) => {
                    prev.push_str(if k.as_str() == "cookie" { "; " } else { ", " });
                    prev.push_str(&v);
                }
                None => all.push((k.as_str().to_owned(), v)),
            }
            all
        })
        .into_iter()
        .map(|(k, v)| (k, Value::from(v)))
        .collect()
}

/// `HTTP/1.1` as Node's `httpVersion`, `1.1`.
pub(crate) fn http_version(req: &RequestInfo) -> String {
    format!("{:?}", req.version)
        .trim_start_matches("HTTP/")
        .to_owned()
}

pub(crate) fn url_of(req: &RequestInfo) -> String {
    req.uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default()
}

pub(crate) fn address_of(req: &RequestInfo) -> String {
    req.remote_addr
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// What the JS layer builds its `IncomingMessage` stand-in from:
/// `{method, url, headers, httpVersion, remoteAddress, tag}`.
pub(crate) fn request_value(req: &RequestInfo, tag: Option<u64>) -> Value {
    let o: Vec<(String, Value)> = vec![
        ("method".into(), Value::from(req.method.as_str())),
        ("url".into(), Value::from(url_of(req))),
        (
            "headers".into(),
            Value::Object(joined_headers(req).into_iter().collect()),
        ),
        ("httpVersion".into(), Value::from(http_version(req))),
        ("remoteAddress".into(), Value::from(address_of(req))),
        (
            "tag".into(),
            tag.map(|t| Value::from(t as f64)).unwrap_or(Value::Null),
        ),
    ];
    Value::Object(o.into_iter().collect())
}

/// An Engine.IO session (`io.engine`'s `connection`, `socket.conn`).
#[napi]
pub struct EngineSocketHandle {
    s: Arc<dyn Session>,
}

impl EngineSocketHandle {
    pub(crate) fn new(s: Arc<dyn Session>) -> EngineSocketHandle {
        EngineSocketHandle { s }
    }
}

#[napi]
impl EngineSocketHandle {
    /// The session id.
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> String {
        self.s.id().to_string()
    }

    /// `polling` or `websocket`, now.
    #[napi(getter, catch_unwind)]
    pub fn transport(&self) -> String {
        self.s.transport().as_str().to_owned()
    }

    /// Whether the session has ended.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.s.is_closed()
    }

    /// Why it ended, once it has.
    #[napi(getter, catch_unwind)]
    pub fn reason(&self) -> Option<String> {
        self.s.disconnect_reason().map(|r| r.as_str().to_owned())
    }

    /// The handshake request as JSON (see `request_value`), with the tag
    /// its middlewares gave it.
    #[napi(catch_unwind)]
    pub fn request(&self) -> String {
        let req = self.s.req();
        payload::to_plain_json(&request_value(req, req.tag))
    }

    /// Closes the session ("forced close").
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.s.close();
    }

    /// Sends a raw Engine.IO message; false when it could not be queued.
    #[napi(catch_unwind)]
    pub fn send_text(&self, text: String) -> bool {
        self.s.send(Message::Text(text.into())).is_ok()
    }

    /// Sends a raw binary Engine.IO message.
    #[napi(catch_unwind)]
    pub fn send_binary(&self, data: Buffer) -> bool {
        self.s
            .send(Message::Binary(Bytes::copy_from_slice(&data)))
            .is_ok()
    }
}
