//! `NativeServer`: the Rust server under `socketio_rs.Server` and
//! `AsyncServer`. It does what the Python API asks (emit, rooms,
//! disconnect) with the interpreter released; [`crate::sockets`] turns
//! connections and events into jobs for the Python sink.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use socketio::embed::options::{Api, OptionValue};
use socketio::embed::{DynamicNamespace, Error, Namespace, Next, Runtime, Server, Socket};

use crate::convert::to_values;
use crate::errors::to_pyerr;
use crate::options::server_options;
use crate::pool::Pool;
use crate::reply::Pending;
use crate::sockets::{admit, attach_event, connect, Entry, Events, Registry};

struct Ns {
    ns: Namespace,
    events: Arc<Events>,
}

/// The Socket.IO server of a Python `Server` / `AsyncServer`.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct NativeServer {
    server: Server,
    rt: Runtime,
    pool: Pool,
    reg: Arc<Registry>,
    nss: Mutex<HashMap<String, Ns>>,
    /// Every other namespace, once `register_dynamic` was called.
    dynamic: Mutex<Option<(DynamicNamespace, Arc<Events>)>>,
}

impl NativeServer {
    fn ns_handle(&self, ns: &str) -> Option<Namespace> {
        if let Some(n) = self.nss.lock().get(ns) {
            return Some(n.ns.clone());
        }
        // A child of the dynamic namespace, if one was created by a
        // connection (asking for it otherwise would create a plain one).
        let is_child = self
            .dynamic
            .lock()
            .as_ref()
            .is_some_and(|(d, _)| d.children().iter().any(|c| c == ns));
        is_child.then(|| self.server.of(ns))
    }

    fn events_of(&self, ns: &str) -> Option<Arc<Events>> {
        if ns == "*" {
            return self.dynamic.lock().as_ref().map(|(_, e)| e.clone());
        }
        self.nss.lock().get(ns).map(|n| n.events.clone())
    }

    fn socket(&self, ns: &str, sid: &str) -> Option<Socket> {
        self.reg.socket(ns, sid)
    }
}

#[pymethods]
impl NativeServer {
    /// A server whose events go to `pool`'s sink; `options` as
    /// `socketio_rs` normalizes them (seconds as floats).
    #[new]
    fn py_new(pool: &Bound<'_, Pool>, options: &Bound<'_, PyDict>) -> PyResult<Self> {
        let mut opts = server_options(options)?;
        let rt = Runtime::global().map_err(to_pyerr)?;
        opts.set(
            Api::Canonical,
            "runtime",
            OptionValue::Runtime(Some(rt.clone())),
        )
        .map_err(to_pyerr)?;
        let server = Server::new(opts).map_err(to_pyerr)?;
        Ok(NativeServer {
            server,
            rt,
            pool: pool.get().clone(),
            reg: Arc::default(),
            nss: Mutex::default(),
            dynamic: Mutex::default(),
        })
    }

    /// Binds `host:port` (port 0: any free one) and serves; returns the
    /// bound `(host, port)`.
    fn listen(&self, py: Python<'_>, host: &str, port: u16) -> PyResult<(String, u16)> {
        let addr = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let bound = py.detach(|| self.server.listen(&addr)).map_err(to_pyerr)?;
        Ok((bound.ip().to_string(), bound.port()))
    }

    /// The bound `(host, port)`, once listening.
    fn address(&self) -> Option<(String, u16)> {
        self.server
            .local_addr()
            .map(|a| (a.ip().to_string(), a.port()))
    }

    /// Accepts connections to namespace `name` from now on; its connections
    /// and events go to the sink.
    fn register_namespace(&self, name: &str) {
        let mut nss = self.nss.lock();
        if nss.contains_key(name) {
            return;
        }
        let ns = self.server.of(name);
        let events: Arc<Events> = Arc::default();
        let (pool, reg, rt) = (self.pool.clone(), self.reg.clone(), self.rt.clone());
        ns.use_middleware(move |socket: &Socket, next: Next| {
            connect(socket, next, &pool, &reg, &rt);
        });
        ns.on_connection(admit(&self.pool, &self.reg, events.clone()));
        nss.insert(name.to_owned(), Ns { ns, events });
    }

    /// Accepts connections to every other namespace too (python-socketio's
    /// `namespaces='*'`); their events are set with `set_events("*", ...)`.
    fn register_dynamic(&self) {
        let mut slot = self.dynamic.lock();
        if slot.is_some() {
            return;
        }
        let d = self.server.of_dynamic(|_| true);
        let events: Arc<Events> = Arc::default();
        let (pool, reg, rt) = (self.pool.clone(), self.reg.clone(), self.rt.clone());
        d.use_middleware(move |socket: &Socket, next: Next| {
            connect(socket, next, &pool, &reg, &rt);
        });
        d.on_connection(admit(&self.pool, &self.reg, events.clone()));
        *slot = Some((d, events));
    }

    /// The event names handled in namespace `ns`, and whether a catch-all
    /// handler takes the others (without acknowledgements).
    fn set_events(&self, ns: &str, names: Vec<String>, catch_all: bool) {
        let Some(events) = self.events_of(ns) else {
            return;
        };
        let added: Vec<String> = {
            let mut set = events.names.write();
            let added = names
                .iter()
                .filter(|n| !set.contains(*n))
                .cloned()
                .collect();
            *set = names.into_iter().collect();
            added
        };
        events.catch_all.store(catch_all, Ordering::Release);
        if added.is_empty() {
            return;
        }
        // Sockets already connected get the new handlers too ("*": those of
        // the dynamic namespaces).
        let statics: HashSet<String> = self.nss.lock().keys().cloned().collect();
        let sockets: Vec<Socket> = self
            .reg
            .map
            .lock()
            .iter()
            .filter(|(k, e)| {
                let ours = if ns == "*" {
                    !statics.contains(&k.0)
                } else {
                    k.0 == ns
                };
                ours && e.pending.is_none()
            })
            .map(|(_, e)| e.socket.clone())
            .collect();
        for s in sockets {
            for name in &added {
                attach_event(&s, name, &self.pool);
            }
        }
    }

    /// Emits to namespace `ns`: to the rooms (sids are rooms) in `to`, or
    /// everyone; minus the rooms in `skip`.
    #[pyo3(signature = (ns, event, args, to = None, skip = None))]
    fn emit(
        &self,
        py: Python<'_>,
        ns: &str,
        event: &str,
        args: &Bound<'_, PyAny>,
        to: Option<Vec<String>>,
        skip: Option<Vec<String>>,
    ) -> PyResult<()> {
        let args = to_values(args)?;
        let skip = skip.unwrap_or_default();
        let reg = self.reg.clone();
        let Some(nsh) = self.ns_handle(ns) else {
            return Ok(());
        };
        let r = py.detach(move || -> Result<(), Error> {
            if let Some([room]) = to.as_deref() {
                if skip.is_empty() {
                    let direct = {
                        let mut map = reg.map.lock();
                        match map.get_mut(&(ns.to_owned(), room.clone())) {
                            Some(Entry {
                                pending: Some(buf), ..
                            }) => {
                                buf.push((event.to_owned(), args));
                                return Ok(());
                            }
                            Some(e) => Some(e.socket.clone()),
                            None => None,
                        }
                    };
                    if let Some(socket) = direct {
                        return socket.emit(event, args);
                    }
                }
            }
            let mut b = nsh.broadcast();
            for r in to.iter().flatten() {
                b = b.to(r);
            }
            for r in &skip {
                b = b.except(r);
            }
            b.emit(event, args)
        });
        match r {
            // As python-socketio: an emit to a client that just left is
            // not an error.
            Err(Error::Disconnected) | Err(Error::Full) => Ok(()),
            r => r.map_err(to_pyerr),
        }
    }

    /// Emits to one socket asking for an acknowledgement, waiting at most
    /// `timeout` seconds (`None`: the server's ack timeout); with a token,
    /// the outcome also goes to the sink as `("done", token, outcome)`.
    #[pyo3(signature = (ns, sid, event, args, timeout = None, token = None))]
    #[allow(clippy::too_many_arguments)]
    fn emit_with_ack(
        &self,
        py: Python<'_>,
        ns: &str,
        sid: &str,
        event: &str,
        args: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        token: Option<u64>,
    ) -> PyResult<Pending> {
        let args = to_values(args)?;
        let timeout = timeout.map(|t| Duration::from_secs_f64(t.max(0.0)));
        let Some(socket) = self.socket(ns, sid) else {
            return Ok(Pending::ready(&self.pool, token, Err(Error::Disconnected)));
        };
        let (pending, done) = Pending::new(&self.pool, token);
        py.detach(move || {
            socket.emit_with_ack(event, args, timeout, move |r| done.complete(r));
        });
        Ok(pending)
    }

    /// The sids a broadcast with these targets reaches now.
    #[pyo3(signature = (ns, to = None, skip = None))]
    fn targets(&self, ns: &str, to: Option<Vec<String>>, skip: Option<Vec<String>>) -> Vec<String> {
        let skip = skip.unwrap_or_default();
        let sockets: Vec<Socket> = self
            .reg
            .map
            .lock()
            .iter()
            .filter(|(k, e)| k.0 == ns && e.pending.is_none())
            .map(|(_, e)| e.socket.clone())
            .collect();
        sockets
            .into_iter()
            .filter(|s| {
                let rooms = s.rooms();
                let wanted = match &to {
                    Some(to) => to.iter().any(|r| rooms.contains(r)),
                    None => true,
                };
                wanted && !skip.iter().any(|r| rooms.contains(r))
            })
            .map(|s| s.id())
            .collect()
    }

    /// Puts a socket in a room.
    fn enter_room(&self, ns: &str, sid: &str, room: &str) -> PyResult<()> {
        match self.socket(ns, sid) {
            Some(s) => s.join(room).map_err(to_pyerr),
            None => Ok(()),
        }
    }

    /// Takes a socket out of a room.
    fn leave_room(&self, ns: &str, sid: &str, room: &str) {
        if let Some(s) = self.socket(ns, sid) {
            s.leave(room);
        }
    }

    /// Takes every socket out of a room.
    fn close_room(&self, ns: &str, room: &str) {
        if let Some(n) = self.ns_handle(ns) {
            n.to(room).leave(room);
        }
    }

    /// The rooms of a socket, its own sid room included.
    fn rooms(&self, ns: &str, sid: &str) -> Vec<String> {
        self.socket(ns, sid).map(|s| s.rooms()).unwrap_or_default()
    }

    /// Disconnects a socket from a namespace.
    fn disconnect(&self, py: Python<'_>, ns: &str, sid: &str) {
        if let Some(s) = self.socket(ns, sid) {
            py.detach(|| s.disconnect(false));
        }
    }

    /// The transport of a socket (`polling` or `websocket`).
    fn transport(&self, ns: &str, sid: &str) -> Option<&'static str> {
        self.socket(ns, sid).map(|s| s.transport())
    }

    /// The sids connected to a namespace.
    fn sids(&self, ns: &str) -> Vec<String> {
        self.reg
            .map
            .lock()
            .iter()
            .filter(|(k, e)| k.0 == ns && e.pending.is_none())
            .map(|(k, _)| k.1.clone())
            .collect()
    }

    /// Serves the Socket.IO Admin UI on this server (python-socketio's
    /// `instrument`, normalized by the package): `check` decides who logs in
    /// (`None`: anyone), called with the UI's CONNECT payload on a blocking
    /// thread; `development` chooses the mode; `stats_interval` is in
    /// seconds.
    #[pyo3(signature = (check, development, read_only, server_id, namespace, stats_interval))]
    #[allow(clippy::too_many_arguments)]
    fn instrument(
        &self,
        py: Python<'_>,
        check: Option<Py<PyAny>>,
        development: bool,
        read_only: bool,
        server_id: Option<String>,
        namespace: String,
        stats_interval: f64,
    ) -> PyResult<()> {
        use sio_core::admin::{AdminAuth, AdminMode, AdminOptions};
        let auth = match check {
            None => AdminAuth::Disabled,
            Some(f) => self.server.admin_check(move |payload| {
                // Not while the interpreter is finalizing: refused.
                Python::try_attach(|py| {
                    let call = || -> PyResult<bool> {
                        let arg = crate::convert::to_py(py, payload)?;
                        f.call1(py, (arg,))?.bind(py).is_truthy()
                    };
                    call().unwrap_or_else(|e| {
                        e.print(py);
                        false
                    })
                })
                .unwrap_or(false)
            }),
        };
        let mut opts = AdminOptions::new()
            .auth(auth)
            .mode(if development {
                AdminMode::Development
            } else {
                AdminMode::Production
            })
            .readonly(read_only)
            .namespace_name(namespace)
            .server_stats_interval(Duration::try_from_secs_f64(stats_interval).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "server_stats_interval must be a positive number of seconds, \
                         not {stats_interval}"
                ))
            })?);
        if let Some(id) = server_id {
            opts = opts.server_id(id);
        }
        py.detach(|| self.server.instrument(opts))
            .map(drop)
            .map_err(to_pyerr)
    }

    /// Answers one HTTP request of an ASGI server (long-polling); the
    /// outcome `[status, headers, body]` goes to the sink with `token`.
    #[pyo3(signature = (method, uri, headers, body, client, token))]
    #[allow(clippy::too_many_arguments)]
    fn handle_http(
        &self,
        method: String,
        uri: String,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: &[u8],
        client: Option<(String, u16)>,
        token: u64,
    ) -> PyResult<()> {
        let body = body.to_vec();
        let (_, done) = Pending::new(&self.pool, Some(token));
        let req = crate::asgi::HttpRequest {
            method,
            uri,
            headers,
            body,
            client,
        };
        crate::asgi::handle(&self.rt, self.server.io().service(), req, done)
    }

    /// Relays one WebSocket connection of an ASGI server to the engine;
    /// what the engine sends goes to the sink as `("ws", token, kind, data)`.
    #[pyo3(signature = (uri, headers, client, token))]
    fn open_ws(
        &self,
        uri: String,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        client: Option<(String, u16)>,
        token: u64,
    ) -> PyResult<crate::asgi::WsConn> {
        let req = crate::asgi::HttpRequest {
            method: "GET".to_owned(),
            uri,
            headers,
            body: Vec::new(),
            client,
        };
        crate::asgi::open_ws(
            &self.rt,
            self.server.io().service(),
            req,
            self.pool.clone(),
            token,
        )
    }

    /// Starts answering one HTTP request of a WSGI server (long-polling);
    /// the WSGI worker thread waits on the returned call.
    #[pyo3(signature = (method, uri, headers, body, client))]
    fn wsgi_http(
        &self,
        method: String,
        uri: String,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: &[u8],
        client: Option<(String, u16)>,
    ) -> PyResult<crate::wsgi::HttpCall> {
        let req = crate::asgi::HttpRequest {
            method,
            uri,
            headers,
            body: body.to_vec(),
            client,
        };
        crate::wsgi::handle(&self.rt, self.server.io().service(), req)
    }

    /// Serves a WSGI request's WebSocket connection on the WSGI server's
    /// socket: `fd` (a duplicate, owned from now on), `head` the request
    /// line and headers the WSGI server already read.
    #[pyo3(signature = (fd, unix, head, client))]
    fn wsgi_socket(
        &self,
        fd: i32,
        unix: bool,
        head: Vec<u8>,
        client: Option<(String, u16)>,
    ) -> PyResult<crate::wsgi::WsgiSocket> {
        crate::wsgi::take_socket(&self.rt, self.server.io().service(), fd, unix, head, client)
    }

    /// Serves, from now on, a TCP connection another server accepted (an
    /// aiohttp app's WebSocket upgrade under the Socket.IO path): `fd` is
    /// a duplicate of its descriptor, owned from now on (closed on every
    /// path, errors included), `head` the request as the client sent it
    /// and what followed it. The caller then lets go of its own descriptor;
    /// no message passes through Python afterwards.
    /// `client`, when given, is the client's address as the host server
    /// reports it (behind a trusted proxy, not the connection's peer).
    #[pyo3(signature = (fd, head, client = None))]
    fn serve_fd(&self, fd: i32, head: Vec<u8>, client: Option<(String, u16)>) -> PyResult<()> {
        // SAFETY: the caller hands over `fd`, a descriptor it duplicated
        // for this call and neither uses nor closes afterwards. Taken
        // first: on any error below, it is closed here, not leaked.
        let stream = unsafe { socketio::embed::take_fd(fd) }.map_err(to_pyerr)?;
        let peer = match client {
            Some((host, port)) => Some(std::net::SocketAddr::new(
                host.parse().map_err(|_| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "serve_fd: client host {host:?} is not an IP address"
                    ))
                })?,
                port,
            )),
            None => None,
        };
        match peer {
            Some(peer) => self.server.serve_stream_from(stream, &head, Some(peer)),
            None => self.server.serve_stream(stream, &head),
        }
        .map_err(to_pyerr)
    }

    /// Stops listening and disconnects every client; returns once their
    /// sessions are gone, or after `grace` seconds (a long-polling client
    /// that stopped polling cannot be told, and would hold it up).
    #[pyo3(signature = (grace = 1.0))]
    fn close(&self, py: Python<'_>, grace: f64) -> PyResult<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.server.close(Some(Box::new(move |r| {
            let _ = tx.send(r);
        })));
        let grace = Duration::from_secs_f64(grace.clamp(0.0, 60.0));
        match py.detach(move || rx.recv_timeout(grace)) {
            Ok(r) => r.map_err(to_pyerr),
            // Still closing: it goes on in the background.
            Err(_) => Ok(()),
        }
    }
}
