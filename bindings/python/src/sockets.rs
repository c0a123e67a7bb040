//! The sockets a server knows, by (namespace, sid), and the handlers that
//! turn their connections and events into jobs for the Python sink.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use pyo3::prelude::*;
use socketio::embed::{Next, Runtime, Socket, Value};

use crate::convert::{to_py, to_py_list};
use crate::pool::{deliver, key_of, Pool};
use crate::reply::{ack_object, tuple, ConnectReply, OnSettle};

/// Locks, whether or not a panic poisoned the mutex (the data stays
/// consistent: every critical section is a single map operation).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long an accepted connection may take to be admitted before its
/// bookkeeping is dropped (the client went away meanwhile).
const ADMIT_GRACE: Duration = Duration::from_secs(30);

/// (namespace, sid).
pub type Key = (String, String);

/// A known socket.
pub struct Entry {
    /// The socket handle.
    pub socket: Socket,
    /// While the connect handler runs: emits to the socket, sent once it is
    /// admitted (python-socketio lets a connect handler emit to its client).
    pub pending: Option<Vec<(String, Vec<Value>)>>,
}

/// Sockets by (namespace, sid).
#[derive(Default)]
pub struct Registry {
    /// The sockets.
    pub map: Mutex<HashMap<Key, Entry>>,
}

impl Registry {
    /// The socket `sid` of namespace `ns`.
    pub fn socket(&self, ns: &str, sid: &str) -> Option<Socket> {
        lock(&self.map)
            .get(&(ns.to_owned(), sid.to_owned()))
            .map(|e| e.socket.clone())
    }
}

/// The event names Python handles in a namespace.
#[derive(Default)]
pub struct Events {
    /// Names with a handler of their own (acknowledgements included).
    pub names: RwLock<HashSet<String>>,
    /// Whether the other events go to Python too.
    pub catch_all: AtomicBool,
}

impl Events {
    /// Whether `name` has a handler of its own.
    pub fn has(&self, name: &str) -> bool {
        self.names.read().map(|n| n.contains(name)).unwrap_or(false)
    }
}

/// The connection handler: sends what the connect handler emitted, then
/// registers the socket's event handlers.
pub fn admit(
    pool: &Pool,
    reg: &Arc<Registry>,
    events: Arc<Events>,
) -> impl Fn(&Socket) + Send + Sync + 'static {
    let (pool, reg) = (pool.clone(), reg.clone());
    move |socket: &Socket| {
        let key = (socket.nsp().to_owned(), socket.id());
        {
            let mut map = lock(&reg.map);
            let entry = map.entry(key).or_insert_with(|| Entry {
                socket: socket.clone(),
                pending: None,
            });
            // Under the lock: an emit racing with this one waits, and so
            // cannot overtake the buffered ones.
            for (event, args) in entry.pending.take().unwrap_or_default() {
                let _ = socket.emit(&event, args);
            }
        }
        attach(socket, &events, &pool, &reg);
    }
}

/// Registers the event handlers of a newly admitted socket.
pub fn attach(socket: &Socket, events: &Arc<Events>, pool: &Pool, reg: &Arc<Registry>) {
    let nsp = socket.nsp().to_owned();
    let sid = socket.id();
    let key = key_of(&[&nsp, &sid]);
    let names: Vec<String> = events
        .names
        .read()
        .map(|n| n.iter().cloned().collect())
        .unwrap_or_default();
    for name in names {
        attach_event(socket, &name, pool);
    }
    let (p, ev) = (pool.clone(), events.clone());
    let (n, s) = (nsp.clone(), sid.clone());
    socket.on_fallback(move |_, event, args, ack| {
        // A name Python handles but not yet attached here goes to Python
        // too: it resolves handlers by name.
        if ev.catch_all.load(Ordering::Acquire) || ev.has(event) {
            push_event(&p, key, &n, &s, event, args, ack);
        }
    });
    let (p, r) = (pool.clone(), reg.clone());
    socket.on_disconnect(move |_, reason| {
        lock(&r.map).remove(&(nsp.clone(), sid.clone()));
        let (nsp, sid, reason) = (nsp.clone(), sid.clone(), reason.to_owned());
        p.push(
            key,
            Box::new(move |py, sink| {
                let ev = (|| {
                    tuple(
                        py,
                        vec![
                            "disconnect".into_pyobject(py)?.into_any(),
                            nsp.into_pyobject(py)?.into_any(),
                            sid.into_pyobject(py)?.into_any(),
                            reason.into_pyobject(py)?.into_any(),
                        ],
                    )
                })();
                deliver(py, sink, ev);
            }),
        );
    });
}

/// Registers the handler of one event name on a socket.
pub fn attach_event(socket: &Socket, name: &str, pool: &Pool) {
    let nsp = socket.nsp().to_owned();
    let sid = socket.id();
    let key = key_of(&[&nsp, &sid]);
    let p = pool.clone();
    socket.on(name, move |_, event, args, ack| {
        push_event(&p, key, &nsp, &sid, event, args, ack);
    });
}

/// Queues `("event", ns, sid, name, args, ack_or_None)` for the sink.
pub fn push_event(
    pool: &Pool,
    key: u64,
    nsp: &str,
    sid: &str,
    event: &str,
    args: Vec<Value>,
    ack: Option<socketio::embed::Ack>,
) {
    let (nsp, sid, event) = (nsp.to_owned(), sid.to_owned(), event.to_owned());
    pool.push(
        key,
        Box::new(move |py, sink| {
            let ev = (|| {
                let ack = ack_object(py, ack)?;
                tuple(
                    py,
                    vec![
                        "event".into_pyobject(py)?.into_any(),
                        nsp.into_pyobject(py)?.into_any(),
                        sid.into_pyobject(py)?.into_any(),
                        event.into_pyobject(py)?.into_any(),
                        to_py_list(py, &args)?.into_any(),
                        ack,
                    ],
                )
            })();
            deliver(py, sink, ev);
        }),
    );
}

/// The middleware that hands a connection to Python's connect handler.
pub fn connect(socket: &Socket, next: Next, pool: &Pool, reg: &Arc<Registry>, rt: &Runtime) {
    let nsp = socket.nsp().to_owned();
    let sid = socket.id();
    let key: Key = (nsp.clone(), sid.clone());
    lock(&reg.map).insert(
        key.clone(),
        Entry {
            socket: socket.clone(),
            pending: Some(Vec::new()),
        },
    );
    let (r, rt) = (reg.clone(), rt.clone());
    let settle: OnSettle = Box::new(move |ok| {
        if !ok {
            lock(&r.map).remove(&key);
            return;
        }
        rt.spawn(async move {
            tokio_sleep(ADMIT_GRACE).await;
            let mut map = lock(&r.map);
            if map.get(&key).is_some_and(|e| e.pending.is_some()) {
                map.remove(&key);
            }
        });
    });
    let socket = socket.clone();
    pool.push(
        key_of(&[&nsp, &sid]),
        Box::new(move |py, sink| {
            let ev = (|| {
                let handshake = to_py(py, &socket.handshake())?;
                let reply = Py::new(py, ConnectReply::new(next, settle))?;
                tuple(
                    py,
                    vec![
                        "connect".into_pyobject(py)?.into_any(),
                        nsp.into_pyobject(py)?.into_any(),
                        sid.into_pyobject(py)?.into_any(),
                        handshake,
                        reply.into_bound(py).into_any(),
                    ],
                )
            })();
            deliver(py, sink, ev);
        }),
    );
}

async fn tokio_sleep(d: Duration) {
    tokio::time::sleep(d).await;
}
