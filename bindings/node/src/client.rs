//! The client: one socket.io-client `Socket` (one namespace) per handle;
//! clients of the same server share a connection unless `forceNew`.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, Function};
use napi::Env;
use napi_derive::napi;
use socketio_ffi::embed::{payload, Client, ClientOptions, Error, ReconnectEvent, TransportType};

use crate::dispatch::{kind, Dispatcher, Event, JsEvent};
use crate::socket::{completion, sent};
use crate::{decode, js_err, millis};

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
        let mut list = Vec::new();
        for name in &t {
            list.push(match name.as_str() {
                "polling" => TransportType::Polling,
                "websocket" => TransportType::Websocket,
                other => {
                    return Err(napi::Error::from_reason(format!(
                        "unknown transport {other:?}"
                    )))
                }
            });
        }
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
        m.reconnection_attempts = if v.is_finite() {
            v.clamp(0.0, f64::from(u32::MAX)) as u32
        } else {
            u32::MAX
        };
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
    if o.ca.is_some() || o.reject_unauthorized == Some(false) {
        let mut tls = engineio::client::TlsConfig::default()
            .verify_certificates(o.reject_unauthorized != Some(false));
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

/// A client socket.
#[napi]
pub struct NativeClient {
    client: Client,
    disp: Arc<Dispatcher>,
    ack_timeout: Option<std::time::Duration>,
}

#[napi]
impl NativeClient {
    /// A client of `url` (not connected) whose events go to `dispatch`.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        url: String,
        opts: ClientOpts,
        dispatch: Function<'_, JsEvent, ()>,
    ) -> napi::Result<Self> {
        let options = options(opts)?;
        let ack_timeout = options.socket.ack_timeout;
        let client = Client::new(&url, options).map_err(js_err)?;
        let disp = Dispatcher::new(dispatch)?;
        // The JS `connect` handlers run before the socket's next event, so
        // the handlers they register see it.
        let d = disp.clone();
        client.on_connect(move || d.send_and_wait(Event::new(kind::CONNECT, 0)));
        let d = disp.clone();
        client.on_disconnect(move |reason| d.send(Event::new(kind::DISCONNECT, 0).name(reason)));
        let d = disp.clone();
        client.on_connect_error(move |message, data| {
            let mut ev = Event::new(kind::CONNECT_ERROR, 0).name(message);
            if let Some(data) = data {
                ev = ev.args(&[data]);
            }
            d.send(ev);
        });
        let d = disp.clone();
        client.on_reconnect(move |e| {
            let ev = match e {
                ReconnectEvent::Attempt(n) => {
                    let mut ev = Event::new(kind::RECONNECT_ATTEMPT, 0);
                    ev.num = Some(f64::from(n));
                    ev
                }
                ReconnectEvent::Reconnected(n) => {
                    let mut ev = Event::new(kind::RECONNECT, 0);
                    ev.num = Some(f64::from(n));
                    ev
                }
                ReconnectEvent::Error(m) => Event::new(kind::RECONNECT_ERROR, 0).name(m),
                ReconnectEvent::Failed => Event::new(kind::RECONNECT_FAILED, 0),
            };
            d.send(ev);
        });
        Ok(NativeClient {
            client,
            disp,
            ack_timeout,
        })
    }

    /// Forwards the event `event` to the JS layer (once per name).
    #[napi(catch_unwind)]
    pub fn on(&self, event: String) {
        let d = self.disp.clone();
        self.client.on(&event, move |name, args, ack| {
            let mut ev = Event::new(kind::EVENT, 0).name(name).args(&args);
            ev.ack = ack;
            d.send(ev);
        });
    }

    /// Stops forwarding the event `event`.
    #[napi(catch_unwind)]
    pub fn off(&self, event: String) {
        self.client.off(&event);
    }

    /// Forwards every incoming event to the JS catch-all listeners.
    #[napi(catch_unwind)]
    pub fn on_any(&self) {
        let d = self.disp.clone();
        self.client
            .on_any(move |name, args| d.send(Event::new(kind::ANY, 0).name(name).args(&args)));
    }

    /// Connects (again).
    #[napi(catch_unwind)]
    pub fn connect(&self) -> napi::Result<()> {
        let first = self.client.core().is_none();
        self.client.connect(None).map_err(js_err)?;
        if let (true, Some(socket)) = (first, self.client.core()) {
            // The connection's `close`, for `socket.io.on('close')`.
            // (`open` and `error` can happen before this runs: the JS layer
            // derives them from `connect` and `connect_error`.)
            let d = self.disp.clone();
            socket
                .manager()
                .on_close(move |reason| d.send(Event::new(kind::CLOSE, 0).name(reason.as_str())));
        }
        Ok(())
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
                r.map(|a| Event::new(kind::DONE, cb).args(&a))
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

    /// Whether pending events keep Node alive.
    #[napi(catch_unwind)]
    pub fn set_ref(&self, env: Env, on: bool) -> napi::Result<()> {
        self.disp.set_ref(&env, on)
    }

    /// Stops waiting for the JS layer (the client is being dropped).
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.disp.close();
        self.client.disconnect();
    }
}
