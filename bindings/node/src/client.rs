//! The client: [`NativeManager`] is one connection (socket.io-client's
//! `Manager`, with its Engine.IO session as `manager.engine`), and each
//! [`NativeClient`] one socket.io-client `Socket` (one namespace), made by
//! the manager on its connection, or on its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Weak};
use std::time::Duration;

use napi::bindgen_prelude::{Buffer, Function};
use napi::Env;
use napi_derive::napi;
use parking_lot::Mutex;
use sio_core::client::{Auth, EngineEvent, SocketConfig};
use socketio_ffi::embed::options::parse_transports;
use socketio_ffi::embed::{payload, Client, ClientOptions, Error, ReconnectEvent, Value};

use crate::dispatch::{Dispatcher, Event, EventKind, JsEventArgs};
use crate::socket::{completion, sent};
use crate::{argument_err, decode, js_err, millis};

/// Client options, with socket.io-client's names (times in milliseconds).
#[napi(object)]
pub struct ClientOpts {
    /// The namespace (default: the URL's path).
    pub namespace: Option<String>,
    /// The CONNECT payload, as JSON.
    pub auth: Option<String>,
    /// The Engine.IO path (`/socket.io`).
    pub path: Option<String>,
    /// Extra query parameters.
    pub query: Option<HashMap<String, String>>,
    /// Extra HTTP headers.
    pub extra_headers: Option<HashMap<String, String>>,
    /// Transports in order of preference.
    pub transports: Option<Vec<String>>,
    /// Upgrade from polling to WebSocket.
    pub upgrade: Option<bool>,
    /// Open with WebSocket after a WebSocket success.
    pub remember_upgrade: Option<bool>,
    /// Try the next transport when the first fails.
    pub try_all_transports: Option<bool>,
    /// Cache-busting parameter on polling requests.
    pub timestamp_requests: Option<bool>,
    /// Append `/` to the path.
    pub add_trailing_slash: Option<bool>,
    /// Reconnect after a lost connection.
    pub reconnection: Option<bool>,
    /// Attempts before giving up.
    pub reconnection_attempts: Option<f64>,
    /// First delay between attempts.
    pub reconnection_delay: Option<f64>,
    /// Longest delay between attempts.
    pub reconnection_delay_max: Option<f64>,
    /// Jitter, 0 to 1.
    pub randomization_factor: Option<f64>,
    /// Longest wait for a connection attempt.
    pub timeout: Option<f64>,
    /// Default wait for acknowledgements.
    pub ack_timeout: Option<f64>,
    /// Retries of each emit until acknowledged.
    pub retries: Option<u32>,
    /// A connection of its own.
    pub force_new: Option<bool>,
    /// The msgpack parser (`socket.io-msgpack-parser` servers).
    pub msgpack: Option<bool>,
    /// Name of the cache-busting query parameter (`t`).
    pub timestamp_param: Option<String>,
    /// Trusted root certificates (PEM), replacing the built-in ones, as
    /// Node's `ca`.
    pub ca: Option<Vec<String>>,
    /// `false`: the server's certificate is not checked (development
    /// against self-signed certificates only).
    pub reject_unauthorized: Option<bool>,
    /// The client certificate chain (PEM), Node's `cert`.
    pub cert: Option<String>,
    /// Its private key (PEM, unencrypted), Node's `key`.
    pub key: Option<String>,
}

fn options(o: ClientOpts) -> napi::Result<ClientOptions> {
    let mut c = ClientOptions {
        namespace: o.namespace,
        force_new: o.force_new.unwrap_or(false),
        ..ClientOptions::default()
    };
    if let Some(a) = o.auth {
        c.auth = Some(payload::decode_value(&a, &[]).map_err(js_err)?);
    }
    let m = &mut c.manager;
    if let Some(p) = o.path {
        m.engine.path = p;
    }
    if let Some(q) = o.query {
        m.engine.query.extend(q);
    }
    if let Some(t) = o.transports {
        let list = parse_transports(&t).map_err(argument_err)?;
        c.set_transports(list).map_err(js_err)?;
    }
    let m = &mut c.manager;
    if let Some(v) = o.upgrade {
        m.engine.upgrade = v;
    }
    if let Some(v) = o.remember_upgrade {
        m.engine.remember_upgrade = v;
    }
    if let Some(v) = o.try_all_transports {
        m.engine.try_all_transports = v;
    }
    if let Some(v) = o.timestamp_requests {
        m.engine.timestamp_requests = v;
    }
    if let Some(v) = o.add_trailing_slash {
        m.engine.add_trailing_slash = v;
    }
    if let Some(v) = o.reconnection {
        m.reconnection = v;
    }
    if let Some(v) = o.reconnection_attempts {
        m.reconnection_attempts = attempts(v);
    }
    if let Some(v) = o.reconnection_delay {
        m.reconnection_delay = millis(v);
    }
    if let Some(v) = o.reconnection_delay_max {
        m.reconnection_delay_max = millis(v);
    }
    if let Some(v) = o.randomization_factor {
        m.randomization_factor = v.clamp(0.0, 1.0);
    }
    if let Some(v) = o.timeout {
        m.timeout = millis(v);
    }
    if let Some(v) = o.ack_timeout {
        c.socket.ack_timeout = Some(millis(v));
    }
    c.socket.retries = o.retries;
    c.msgpack(o.msgpack.unwrap_or(false));
    if let Some(p) = o.timestamp_param {
        c.manager.engine.timestamp_param = p;
    }
    if o.ca.is_some() || o.reject_unauthorized == Some(false) || o.cert.is_some() {
        let mut tls = engineio::client::TlsConfig::default()
            .verify_certificates(o.reject_unauthorized != Some(false));
        if let (Some(cert), Some(key)) = (o.cert, o.key) {
            tls = tls.client_auth_pem(cert.into_bytes(), key.into_bytes());
        }
        if let Some(ca) = o.ca {
            tls = tls.builtin_roots(false);
            for pem in ca {
                tls = tls.root_cert_pem(pem.into_bytes());
            }
        }
        c.manager.engine.tls = Some(tls);
    }
    for (k, v) in o.extra_headers.unwrap_or_default() {
        c.add_header(&k, &v).map_err(js_err)?;
    }
    Ok(c)
}

/// A client socket: one namespace on a [`NativeManager`]'s connection
/// (made by [`NativeManager::socket`]).
#[napi]
pub struct NativeClient {
    client: Client,
    disp: Arc<Dispatcher>,
    ack_timeout: Option<Duration>,
    /// The payload its last `connect()` gave, for the next CONNECT.
    primed: Primed,
}

/// The socket-level events of `client`, to `disp` with target `key`.
fn wire_socket(client: &Client, disp: &Arc<Dispatcher>, key: u32) {
    // Every event crosses, listened to or not: the JS socket hands it to
    // the listeners there are when its turn comes, as socket.io-client, so
    // a listener added by one event's handler sees the events right behind.
    let d = disp.clone();
    client.on_fallback(move |name, args, ack| {
        let mut ev = Event::new(EventKind::Event, key).name(name).args(&args);
        ev.ack = ack;
        d.send(ev);
    });
    // The JS `connect` handlers run before the socket's next event, so
    // the handlers they register see it.
    let d = disp.clone();
    client.on_connect(move || d.send_and_wait(Event::new(EventKind::Connect, key)));
    let d = disp.clone();
    client.on_disconnect(move |reason| d.send(Event::new(EventKind::Disconnect, key).name(reason)));
    let d = disp.clone();
    client.on_connect_error(move |message, data| {
        let mut ev = Event::new(EventKind::ConnectError, key).name(message);
        if let Some(data) = data {
            ev = ev.args(&[data]);
        }
        d.send(ev);
    });
}

/// Sends a connection event and waits until JS has reacted to it: its
/// listeners ran, and what they started in promise continuations too (JS
/// answers on the next `setImmediate`), so that a listener that closes the
/// connection, leaves a namespace or turns reconnection off stops what the
/// manager would do next, as socket.io-client's synchronous events do.
/// Does not wait on the JS thread itself, nor once the manager is dropped.
fn settle(disp: &Arc<Dispatcher>, ev: Event) {
    let _ = disp.ask_answer(ev);
}

/// The reconnection events of a connection, each [settled](settle).
fn wire_reconnect(client: &Client, disp: &Arc<Dispatcher>) {
    let d = disp.clone();
    client.on_reconnect(move |e| {
        let ev = match e {
            ReconnectEvent::Attempt(n) => {
                let mut ev = Event::new(EventKind::ReconnectAttempt, 0);
                ev.num = Some(f64::from(n));
                ev
            }
            ReconnectEvent::Reconnected(n) => {
                let mut ev = Event::new(EventKind::Reconnect, 0);
                ev.num = Some(f64::from(n));
                ev
            }
            ReconnectEvent::Error(m) => Event::new(EventKind::ReconnectError, 0).name(m),
            ReconnectEvent::Failed => Event::new(EventKind::ReconnectFailed, 0),
        };
        settle(&d, ev);
    });
}

/// engine.io-client's name of a packet's type.
fn packet_type(p: &engineio::proto::Packet) -> (&'static str, Option<Value>) {
    use engineio::proto::Packet as P;
    match p {
        P::Open(json) => ("open", Some(Value::String(json.to_string()))),
        P::Close => ("close", None),
        P::Ping => ("ping", None),
        P::Pong => ("pong", None),
        P::PingProbe => ("ping", Some(Value::String("probe".into()))),
        P::PongProbe => ("pong", Some(Value::String("probe".into()))),
        P::Message(text) => ("message", Some(Value::String(text.to_string()))),
        P::Binary(data) => ("message", Some(Value::Binary(data.clone()))),
        P::Upgrade => ("upgrade", None),
        P::Noop => ("noop", None),
    }
}

/// The events of a connection's Engine.IO session, to `disp`; a close or
/// failed attempt forgets the sockets' primed payloads.
fn wire_engine(client: &Client, disp: &Arc<Dispatcher>, primed: &PrimedSlots) {
    let d = disp.clone();
    let primed = primed.clone();
    client.on_engine(move |ev| match ev {
        // Not settled: the namespaces' CONNECTs follow at once, as the
        // reference's sockets send theirs while `open` is emitted.
        EngineEvent::Open { sid, transport } => d.send(
            Event::new(EventKind::ClientOpen, 0)
                .name(sid)
                .args(&[Value::String(transport.as_str().into())]),
        ),
        EngineEvent::OpenError {
            message,
            reconnecting,
        } => {
            forget_primed(&primed);
            let mut e = Event::new(EventKind::ClientOpenError, 0).name(message);
            e.num = Some(f64::from(u8::from(reconnecting)));
            settle(&d, e);
        }
        EngineEvent::Upgrade(t) => d.send(Event::new(EventKind::ClientUpgrade, 0).name(t.as_str())),
        EngineEvent::Ping => d.send(Event::new(EventKind::ClientPing, 0)),
        EngineEvent::Packet(ref p) | EngineEvent::PacketCreate(ref p) => {
            let k = if matches!(ev, EngineEvent::Packet(_)) {
                EventKind::ClientPacket
            } else {
                EventKind::ClientPacketCreate
            };
            let (name, data) = packet_type(p);
            let mut e = Event::new(k, 0).name(name);
            if let Some(data) = data {
                e = e.args(&[data]);
            }
            d.send(e);
        }
        EngineEvent::Close {
            sid,
            reason,
            reconnecting,
        } => {
            forget_primed(&primed);
            let mut e = Event::new(EventKind::ClientEngineClose, 0).name(reason.as_str());
            if let Some(sid) = sid {
                e = e.args(&[Value::String(sid)]);
            }
            e.num = Some(f64::from(u8::from(reconnecting)));
            settle(&d, e);
        }
        EngineEvent::Idle => d.send(Event::new(EventKind::ClientIdle, 0)),
        _ => {}
    });
}

/// A socket's CONNECT payload given with its `connect()` (the value of an
/// `auth` object then), used by the next CONNECT instead of asking JS; an
/// `auth` function is always asked. `Some(None)`: no payload.
type Primed = Arc<Mutex<Option<Option<Value>>>>;

/// The primed payloads of a connection's sockets: forgotten when the
/// connection closes or fails, so that a reconnection reads `auth` anew.
type PrimedSlots = Arc<Mutex<Vec<Weak<Mutex<Option<Option<Value>>>>>>>;

fn forget_primed(slots: &PrimedSlots) {
    let mut list = slots.lock();
    list.retain(|w| match w.upgrade() {
        Some(p) => {
            *p.lock() = None;
            true
        }
        None => false,
    });
}

/// Tells the waiting thread that the answer is no longer wanted.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The socket's `auth`, asked of JS on every CONNECT (socket.io-client
/// reads or calls it each time) unless its `connect()` gave the value:
/// JS answers through the event's reply handle, now or later. The wait happens on a blocking thread, given up
/// when the core stops waiting (the manager's `timeout`) or the
/// dispatcher closes; the runtime's threads are never held.
fn js_auth(disp: &Arc<Dispatcher>, key: u32, primed: Primed) -> Auth {
    let weak = Arc::downgrade(disp);
    Auth::Deferred(Arc::new(move || {
        let weak = weak.clone();
        let given = primed.lock().take();
        Box::pin(async move {
            if let Some(payload) = given {
                return Ok(payload);
            }
            let Some(d) = weak.upgrade() else {
                return Err("the client was closed".to_owned());
            };
            if d.is_closed() {
                return Err("the client was closed".to_owned());
            }
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let mut ev = Event::new(EventKind::ClientAuth, key);
            ev.reply = Some(tx);
            d.send(ev);
            drop(d);
            let gone = Arc::new(AtomicBool::new(false));
            let _abandon = Abandon(gone.clone());
            let waited = tokio::task::spawn_blocking(move || loop {
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(answer) => return Some(answer),
                    Err(RecvTimeoutError::Timeout)
                        if !gone.load(Ordering::Acquire)
                            && weak.upgrade().is_some_and(|d| !d.is_closed()) =>
                    {
                        continue
                    }
                    Err(_) => return None,
                }
            })
            .await;
            match waited {
                Ok(Some((1, None))) => Ok(None),
                Ok(Some((1, Some(json)))) => payload::decode_value(&json, &[])
                    .map(Some)
                    .map_err(|e| format!("invalid auth: {e}")),
                Ok(Some((_, message))) => Err(message.unwrap_or_else(|| "auth failed".into())),
                _ => Err("the client was closed".to_owned()),
            }
        })
    }))
}

/// A socket's own options.
#[napi(object)]
pub struct SocketOpts {
    /// Default wait for acknowledgements.
    pub ack_timeout: Option<f64>,
    /// Retries of each emit until acknowledged.
    pub retries: Option<u32>,
}

#[napi]
impl NativeClient {
    /// Connects (again), opening the manager's connection if needed.
    /// With `prime`, `auth` (JSON, absent for none) is the payload of the
    /// CONNECT that follows, which then needs no question to JS (the
    /// value of an `auth` object, read now).
    #[napi(catch_unwind)]
    pub fn connect(&self, prime: bool, auth: Option<String>) -> napi::Result<()> {
        let given = match (prime, auth) {
            (false, _) => None,
            (true, None) => Some(None),
            (true, Some(json)) => Some(Some(payload::decode_value(&json, &[]).map_err(js_err)?)),
        };
        *self.primed.lock() = given;
        self.client.connect(None).map_err(js_err)
    }

    /// True when the last connection restored the previous session.
    #[napi(getter, catch_unwind)]
    pub fn recovered(&self) -> bool {
        self.client.core().is_some_and(|s| s.recovered())
    }

    /// Leaves the namespace; no reconnection.
    #[napi(catch_unwind)]
    pub fn disconnect(&self) {
        self.client.disconnect();
    }

    /// Emits; false when it could not be queued.
    #[napi(catch_unwind)]
    pub fn emit(
        &self,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        volatile: bool,
    ) -> napi::Result<bool> {
        let args = decode(&json, &bins)?;
        sent(if volatile {
            self.client.emit_volatile(&event, args)
        } else {
            self.client.emit(&event, args)
        })
    }

    /// Emits asking for an acknowledgement, answered to callback `cb`.
    #[napi(catch_unwind)]
    pub fn emit_with_ack(
        &self,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        timeout_ms: Option<f64>,
        cb: u32,
    ) -> napi::Result<()> {
        let args = decode(&json, &bins)?;
        let socket = self.client.core().ok_or_else(|| {
            napi::Error::from_reason("the client is not connected: connect it first")
        })?;
        let timeout = timeout_ms.map(millis).or(self.ack_timeout);
        self.disp.complete(async move {
            let r = match timeout {
                Some(t) => socket.timeout(t).emit_with_ack_args(&event, args).await,
                None => socket.emit_with_ack_args(&event, args).await,
            };
            completion(
                cb,
                r.map(|a| Event::new(EventKind::Done, cb).args(&a))
                    .map_err(Error::from),
            )
        });
        Ok(())
    }

    /// The id the server gave, while connected.
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> Option<String> {
        self.client.id()
    }

    /// True while connected.
    #[napi(getter, catch_unwind)]
    pub fn connected(&self) -> bool {
        self.client.connected()
    }

    /// True while the client wants to be connected (and reconnects).
    #[napi(getter, catch_unwind)]
    pub fn active(&self) -> bool {
        self.client.active()
    }
}

/// A connection (socket.io-client's `Manager`): opened by itself or by its
/// sockets, which share it; its Engine.IO session's events, the
/// reconnection's, and its sockets' all go to one dispatcher, in the order
/// the core produced them.
#[napi]
pub struct NativeManager {
    client: Client,
    disp: Arc<Dispatcher>,
    primed: PrimedSlots,
}

#[napi]
impl NativeManager {
    /// The connection to `url` (not opened), whose events, and its
    /// sockets', go to `dispatch`.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        url: String,
        opts: ClientOpts,
        dispatch: Function<'_, JsEventArgs, ()>,
    ) -> napi::Result<Self> {
        let options = options(opts)?;
        let client = Client::connection(&url, options).map_err(js_err)?;
        let disp = Dispatcher::new(dispatch)?;
        let primed = PrimedSlots::default();
        wire_engine(&client, &disp, &primed);
        wire_reconnect(&client, &disp);
        if let Some(m) = client.manager() {
            // After the namespaces' `disconnect`, as socket.io-client's
            // manager `close` reaches its sockets first.
            let d = disp.clone();
            m.on_close(move |reason| {
                settle(&d, Event::new(EventKind::Close, 0).name(reason.as_str()))
            });
        }
        Ok(NativeManager {
            client,
            disp,
            primed,
        })
    }

    /// The socket of namespace `nsp` on this connection, its events
    /// carrying `key`; its `auth` is asked of JS on every CONNECT.
    #[napi(catch_unwind)]
    pub fn socket(&self, nsp: String, opts: SocketOpts, key: u32) -> napi::Result<NativeClient> {
        let ack_timeout = opts.ack_timeout.map(millis);
        let primed = Primed::default();
        self.primed.lock().push(Arc::downgrade(&primed));
        let config = SocketConfig::default()
            .auth(js_auth(&self.disp, key, primed.clone()))
            .retries(opts.retries)
            .ack_timeout(ack_timeout);
        let client = self.client.sibling(&nsp, config).map_err(js_err)?;
        wire_socket(&client, &self.disp, key);
        Ok(NativeClient {
            client,
            disp: self.disp.clone(),
            ack_timeout,
            primed,
        })
    }

    /// Opens the connection (no namespace joins until a socket connects).
    #[napi(catch_unwind)]
    pub fn open(&self) -> napi::Result<()> {
        self.client.connect(None).map_err(js_err)
    }

    /// Closes the connection, with no reconnection: its sockets disconnect
    /// with `forced close`.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.client.disconnect();
    }

    /// Closes the current Engine.IO session (engine.io-client's
    /// `socket.close()`); the manager reconnects if reconnection is on.
    #[napi(catch_unwind)]
    pub fn close_engine(&self) {
        self.client.close_engine();
    }

    /// Whether every packet of the connection is reported (for the
    /// engine's `packet` and `packetCreate` listeners).
    #[napi(catch_unwind)]
    pub fn watch_packets(&self, on: bool) {
        self.client.watch_engine_packets(on);
    }

    /// The Engine.IO session id, while open.
    #[napi(getter, catch_unwind)]
    pub fn engine_id(&self) -> Option<String> {
        self.client.engine_id()
    }

    /// The transport in use (`polling`, `websocket`), while open.
    #[napi(getter, catch_unwind)]
    pub fn transport(&self) -> Option<String> {
        self.client.transport().map(|t| t.as_str().to_owned())
    }

    /// Turns reconnection on or off; off stops a reconnection in progress.
    #[napi(catch_unwind)]
    pub fn set_reconnection(&self, on: bool) {
        self.client.set_reconnection(on);
    }

    /// How many attempts a reconnection makes (`Infinity`: no limit).
    #[napi(catch_unwind)]
    pub fn set_reconnection_attempts(&self, n: f64) {
        self.client.set_reconnection_attempts(attempts(n));
    }

    /// The first delay between attempts, in milliseconds.
    #[napi(catch_unwind)]
    pub fn set_reconnection_delay(&self, ms: f64) {
        self.client.set_reconnection_delay(millis(ms));
    }

    /// The longest delay between attempts, in milliseconds.
    #[napi(catch_unwind)]
    pub fn set_reconnection_delay_max(&self, ms: f64) {
        self.client.set_reconnection_delay_max(millis(ms));
    }

    /// The jitter of the delays, 0 to 1.
    #[napi(catch_unwind)]
    pub fn set_randomization_factor(&self, factor: f64) {
        self.client.set_randomization_factor(factor);
    }

    /// The longest wait for a connection attempt, in milliseconds
    /// (`Infinity`: none).
    #[napi(catch_unwind)]
    pub fn set_timeout(&self, ms: f64) {
        self.client.set_timeout(millis(ms));
    }

    /// Answers the acknowledgement request of key `key` (an event's
    /// `ack`); later calls, and keys already dropped, do nothing. `bins`
    /// only when the JSON has binary placeholders.
    #[napi(catch_unwind)]
    pub fn ack(&self, key: u32, json: String, bins: Option<Vec<Buffer>>) -> napi::Result<()> {
        self.disp.acks.send(key, &json, bins.as_deref())
    }

    /// Forgets the acknowledgement request of key `key` unanswered (its JS
    /// function was collected).
    #[napi(catch_unwind)]
    pub fn drop_ack(&self, key: u32) {
        self.disp.acks.drop_key(key);
    }

    /// Whether pending events keep Node alive.
    #[napi(catch_unwind)]
    pub fn set_ref(&self, env: Env, on: bool) -> napi::Result<()> {
        self.disp.set_ref(&env, on)
    }
}

/// An attempt count from JS: `Infinity` (or anything past `u32::MAX`) is
/// no limit.
fn attempts(v: f64) -> u32 {
    if v.is_finite() {
        v.clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        u32::MAX
    }
}
