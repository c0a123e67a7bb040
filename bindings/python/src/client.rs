//! `NativeClient`: one namespace of a Python `Client` / `AsyncClient`, its
//! events turned into tuples for the Python sink. The first namespace's
//! native client makes the connection (one of its own); the others are its
//! siblings, sockets on the same connection.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use sio_core::client::{Auth, SocketConfig};
use socketio::embed::{Ack, Client, ClientOptions, ReconnectEvent, Value};

use crate::convert::{to_py, to_py_list, to_value, to_values};
use crate::errors::to_pyerr;
use crate::options::transports;
use crate::options::{opt, secs};
use crate::pool::{deliver, key_of, Pool};
use crate::reply::{ack_object, tuple, Pending};

#[derive(Default)]
struct Events {
    names: RwLock<HashSet<String>>,
    catch_all: AtomicBool,
}

/// One namespace of a Socket.IO client.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct NativeClient {
    client: Client,
    pool: Pool,
    nsp: String,
    url: String,
    key: u64,
    events: Arc<Events>,
}

fn client_options(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<ClientOptions> {
    let _ = py;
    let mut o = ClientOptions {
        force_new: true,
        ..ClientOptions::default()
    };
    o.namespace = opt::<String>(d, "namespace")?;
    if let Some(a) = d.get_item("auth")? {
        if !a.is_none() {
            o.auth = Some(to_value(&a)?);
        }
    }
    if let Some(h) = opt::<Vec<(String, String)>>(d, "headers")? {
        for (k, v) in h {
            o.add_header(&k, &v).map_err(to_pyerr)?;
        }
    }
    if let Some(t) = opt::<Vec<String>>(d, "transports")? {
        o.set_transports(transports(&t)?).map_err(to_pyerr)?;
    }
    if let Some(p) = opt::<String>(d, "path")? {
        o.manager.engine.path = p;
    }
    if opt::<bool>(d, "msgpack")?.unwrap_or(false) {
        o.msgpack(true);
    }
    if opt::<bool>(d, "ssl_verify")? == Some(false) {
        o.manager.engine.tls =
            Some(engineio::client::TlsConfig::default().verify_certificates(false));
    }
    let m = &mut o.manager;
    if let Some(b) = opt::<bool>(d, "reconnection")? {
        m.reconnection = b;
    }
    if let Some(n) = opt::<u32>(d, "reconnection_attempts")? {
        // python-socketio's 0 means "no limit".
        m.reconnection_attempts = if n == 0 { u32::MAX } else { n };
    }
    if let Some(t) = secs(d, "reconnection_delay")? {
        m.reconnection_delay = t;
    }
    if let Some(t) = secs(d, "reconnection_delay_max")? {
        m.reconnection_delay_max = t;
    }
    if let Some(f) = opt::<f64>(d, "randomization_factor")? {
        m.randomization_factor = f.clamp(0.0, 1.0);
    }
    if let Some(t) = secs(d, "timeout")? {
        m.timeout = t;
    }
    Ok(o)
}

fn str_obj<'py>(py: Python<'py>, s: &str) -> PyResult<Bound<'py, PyAny>> {
    Ok(s.into_pyobject(py)?.into_any())
}

impl NativeClient {
    /// Queues an event tuple built on the worker thread.
    fn push(
        pool: &Pool,
        key: u64,
        build: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>> + Send + 'static,
    ) {
        pool.push(
            key,
            Box::new(move |py, sink| {
                let ev = build(py);
                deliver(py, sink, ev);
            }),
        );
    }

    fn add_event(&self, name: &str) {
        let (pool, key, nsp) = (self.pool.clone(), self.key, self.nsp.clone());
        self.client.on(
            name,
            move |event: &str, args: Vec<Value>, ack: Option<Ack>| {
                push_event(&pool, key, &nsp, event, args, ack);
            },
        );
    }
}

#[pymethods]
impl NativeClient {
    /// A client of namespace `options["namespace"]` of the server at
    /// `url`, not connected yet; events go to `pool`'s sink.
    #[new]
    fn py_new(
        py: Python<'_>,
        pool: &Bound<'_, Pool>,
        url: &str,
        options: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let opts = client_options(py, options)?;
        let pool = pool.get().clone();
        let nsp = opts.namespace.clone().unwrap_or_else(|| "/".to_owned());
        let client = Client::new(url, opts).map_err(to_pyerr)?;
        let key = key_of(&[url, &nsp, "client"]);
        let events: Arc<Events> = Arc::default();
        let me = NativeClient {
            client,
            pool,
            nsp,
            url: url.to_owned(),
            key,
            events,
        };
        me.register_lifecycle();
        Ok(me)
    }

    /// Handles these event names (acknowledgements included); with
    /// `catch_all`, other events go to the sink too.
    fn set_events(&self, names: Vec<String>, catch_all: bool) {
        let added: Vec<String> = {
            let mut set = self.events.names.write();
            let added = names
                .iter()
                .filter(|n| !set.contains(*n))
                .cloned()
                .collect();
            set.extend(names);
            added
        };
        self.events.catch_all.store(catch_all, Ordering::Release);
        for name in added {
            self.add_event(&name);
        }
    }

    /// Starts connecting; the outcome of the first attempt completes the
    /// returned [`Pending`] (and goes to the sink with a token).
    #[pyo3(signature = (token = None))]
    fn connect(&self, py: Python<'_>, token: Option<u64>) -> Pending {
        let (pending, done) = Pending::new(&self.pool, token);
        let r = py.detach(|| {
            self.client.connect(Some(Box::new(move |r| {
                done.complete(r.map(|()| Vec::new()))
            })))
        });
        match r {
            Ok(()) => pending,
            Err(e) => Pending::ready(&self.pool, token, Err(e)),
        }
    }

    /// Emits an event (buffered while reconnecting).
    fn emit(&self, py: Python<'_>, event: &str, args: &Bound<'_, PyAny>) -> PyResult<()> {
        let args = to_values(args)?;
        py.detach(|| self.client.emit(event, args))
            .map_err(to_pyerr)
    }

    /// Emits an event asking for an acknowledgement, waiting at most
    /// `timeout` seconds (`None`: until disconnected).
    #[pyo3(signature = (event, args, timeout = None, token = None))]
    fn emit_with_ack(
        &self,
        py: Python<'_>,
        event: &str,
        args: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        token: Option<u64>,
    ) -> PyResult<Pending> {
        let args = to_values(args)?;
        let timeout = timeout.map(|t| Duration::from_secs_f64(t.max(0.0)));
        let (pending, done) = Pending::new(&self.pool, token);
        py.detach(|| {
            self.client
                .emit_with_ack(event, args, timeout, move |r| done.complete(r))
        })
        .map_err(to_pyerr)?;
        Ok(pending)
    }

    /// Leaves the namespace; no reconnection after that.
    fn disconnect(&self, py: Python<'_>) {
        py.detach(|| self.client.disconnect());
    }

    /// True while connected.
    fn connected(&self) -> bool {
        self.client.connected()
    }

    /// The sid the server gave, while connected.
    fn sid(&self) -> Option<String> {
        self.client.id()
    }

    /// The namespace.
    fn namespace(&self) -> String {
        self.nsp.clone()
    }

    /// The client of namespace `namespace` on this one's connection, with
    /// `auth` as its CONNECT payload; its events go to the same sink. Made
    /// before either connects.
    #[pyo3(signature = (namespace, auth = None))]
    fn sibling(&self, namespace: &str, auth: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let auth = match auth {
            Some(a) if !a.is_none() => Auth::Static(to_value(a)?),
            _ => Auth::None,
        };
        let client = self
            .client
            .sibling(namespace, SocketConfig::default().auth(auth))
            .map_err(to_pyerr)?;
        let nsp = namespace_of(namespace);
        let me = NativeClient {
            client,
            pool: self.pool.clone(),
            key: key_of(&[&self.url, &nsp, "client"]),
            nsp,
            url: self.url.clone(),
            events: Arc::default(),
        };
        me.register_lifecycle();
        Ok(me)
    }

    /// The transport in use (`"polling"`, or `"websocket"` once upgraded),
    /// `None` while there is no connection.
    fn transport(&self) -> Option<&'static str> {
        self.client.transport().map(|t| t.as_str())
    }

    /// The transports the server offered to upgrade to (its handshake's
    /// `upgrades`), while connected.
    fn upgrades(&self) -> Vec<String> {
        self.client
            .core()
            .and_then(|s| s.manager().engine())
            .map(|e| e.handshake().upgrades.clone())
            .unwrap_or_default()
    }
}

/// `admin` → `/admin`.
fn namespace_of(nsp: &str) -> String {
    if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}

impl NativeClient {
    /// Connection events: `("connect", ns)`, `("disconnect", ns, reason)`,
    /// `("connect_error", ns, message, data)`, `("reconnect", ns, kind, n)`,
    /// and catch-all events `("event", ns, name, args, None)`.
    fn register_lifecycle(&self) {
        let (pool, key, nsp) = (self.pool.clone(), self.key, self.nsp.clone());
        self.client.on_connect(move || {
            let nsp = nsp.clone();
            NativeClient::push(&pool, key, move |py| {
                tuple(py, vec![str_obj(py, "connect")?, str_obj(py, &nsp)?])
            });
        });
        let (pool, nsp) = (self.pool.clone(), self.nsp.clone());
        self.client.on_disconnect(move |reason: &str| {
            let (nsp, reason) = (nsp.clone(), reason.to_owned());
            NativeClient::push(&pool, key, move |py| {
                tuple(
                    py,
                    vec![
                        str_obj(py, "disconnect")?,
                        str_obj(py, &nsp)?,
                        str_obj(py, &reason)?,
                    ],
                )
            });
        });
        let (pool, nsp) = (self.pool.clone(), self.nsp.clone());
        self.client
            .on_connect_error(move |message: &str, data: Option<Value>| {
                let (nsp, message) = (nsp.clone(), message.to_owned());
                NativeClient::push(&pool, key, move |py| {
                    let data = match &data {
                        Some(d) => to_py(py, d)?,
                        None => py.None().into_bound(py),
                    };
                    tuple(
                        py,
                        vec![
                            str_obj(py, "connect_error")?,
                            str_obj(py, &nsp)?,
                            str_obj(py, &message)?,
                            data,
                        ],
                    )
                });
            });
        let (pool, nsp) = (self.pool.clone(), self.nsp.clone());
        self.client.on_reconnect(move |ev: ReconnectEvent| {
            let nsp = nsp.clone();
            NativeClient::push(&pool, key, move |py| {
                let (kind, detail) = match ev {
                    ReconnectEvent::Attempt(n) => ("attempt", n.into_pyobject(py)?.into_any()),
                    ReconnectEvent::Reconnected(n) => {
                        ("reconnected", n.into_pyobject(py)?.into_any())
                    }
                    ReconnectEvent::Error(e) => ("error", str_obj(py, &e)?),
                    ReconnectEvent::Failed => ("failed", py.None().into_bound(py)),
                };
                tuple(
                    py,
                    vec![
                        str_obj(py, "reconnect")?,
                        str_obj(py, &nsp)?,
                        str_obj(py, kind)?,
                        detail,
                    ],
                )
            });
        });
        let (pool, nsp, events) = (self.pool.clone(), self.nsp.clone(), self.events.clone());
        self.client
            .on_fallback(move |event: &str, args: Vec<Value>, ack: Option<Ack>| {
                // A name Python handles but not yet registered here goes to
                // Python too: it resolves handlers by name.
                let known = events.names.read().contains(event);
                if !known && !events.catch_all.load(Ordering::Acquire) {
                    return;
                }
                push_event(&pool, key, &nsp, event, args, ack);
            });
    }
}

/// Queues `("event", ns, name, args, ack_or_None)` for the sink.
fn push_event(pool: &Pool, key: u64, nsp: &str, event: &str, args: Vec<Value>, ack: Option<Ack>) {
    let (nsp, event) = (nsp.to_owned(), event.to_owned());
    NativeClient::push(pool, key, move |py| {
        tuple(
            py,
            vec![
                str_obj(py, "event")?,
                str_obj(py, &nsp)?,
                str_obj(py, &event)?,
                to_py_list(py, &args)?.into_any(),
                ack_object(py, ack)?,
            ],
        )
    });
}
