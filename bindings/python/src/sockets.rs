//! The sockets a server knows, by (namespace, sid), and the handlers that
//! turn their connections and events into jobs for the Python sink.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;
use socketio::embed::{Next, Runtime, Socket, Value};

use crate::convert::{to_py, to_py_list};
use crate::pool::{deliver, key_of, Pool};
use crate::reply::{ack_object, tuple, ConnectReply, OnSettle};

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
        self.map
            .lock()
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
        self.names.read().contains(name)
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
            let mut map = reg.map.lock();
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

/// What a socket's events carry to Python besides their arguments, made
/// once per socket: its namespace and id (as Python strings too, once the
/// first event made them) and where its events go.
pub struct Target {
    nsp: String,
    sid: String,
    key: u64,
    pool: Pool,
    /// The pool's event handler, if it has one (else the sink gets tuples).
    on_event: Option<Arc<Py<PyAny>>>,
    py: PyOnceLock<(Py<PyString>, Py<PyString>)>,
}

impl Target {
    /// The target of `socket`'s events.
    pub fn new(socket: &Socket, pool: &Pool) -> Arc<Target> {
        let nsp = socket.nsp().to_owned();
        let sid = socket.id();
        Arc::new(Target {
            key: key_of(&[&nsp, &sid]),
            nsp,
            sid,
            pool: pool.clone(),
            on_event: pool.event_handler(),
            py: PyOnceLock::new(),
        })
    }

    fn names<'py>(&self, py: Python<'py>) -> (Bound<'py, PyString>, Bound<'py, PyString>) {
        let (n, s) = self.py.get_or_init(py, || {
            (
                PyString::new(py, &self.nsp).unbind(),
                PyString::new(py, &self.sid).unbind(),
            )
        });
        (n.bind(py).clone(), s.bind(py).clone())
    }
}

/// An event name with a handler of its own on a socket, as a Python string
/// once the first event made it.
struct Name {
    name: String,
    py: PyOnceLock<Py<PyString>>,
}

/// The name of an event as it reaches Python.
enum EventName<'a> {
    /// A handled name: its string is made once.
    Known(&'a Arc<Name>),
    /// A name the catch-all takes.
    Other(&'a str),
}

/// Registers the event handlers of a newly admitted socket.
pub fn attach(socket: &Socket, events: &Arc<Events>, pool: &Pool, reg: &Arc<Registry>) {
    let target = Target::new(socket, pool);
    let (nsp, sid, key) = (target.nsp.clone(), target.sid.clone(), target.key);
    let names: Vec<String> = events.names.read().iter().cloned().collect();
    for name in names {
        attach_to(socket, &name, &target);
    }
    let (t, ev) = (target.clone(), events.clone());
    socket.on_fallback(move |_, event, args, ack| {
        // A name Python handles but not yet attached here goes to Python
        // too: it resolves handlers by name.
        if ev.catch_all.load(Ordering::Acquire) || ev.has(event) {
            push_event(&t, EventName::Other(event), args, ack);
        }
    });
    let (p, r) = (pool.clone(), reg.clone());
    socket.on_disconnect(move |_, reason| {
        r.map.lock().remove(&(nsp.clone(), sid.clone()));
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

/// Registers the handler of one event name on a socket (one connected
/// before Python handled that name).
pub fn attach_event(socket: &Socket, name: &str, pool: &Pool) {
    attach_to(socket, name, &Target::new(socket, pool));
}

fn attach_to(socket: &Socket, name: &str, target: &Arc<Target>) {
    let t = target.clone();
    let name = Arc::new(Name {
        name: name.to_owned(),
        py: PyOnceLock::new(),
    });
    socket.on(&name.name.clone(), move |_, _, args, ack| {
        push_event(&t, EventName::Known(&name), args, ack);
    });
}

/// Queues an event for Python: `on_event(ns, sid, name, args, ack_or_None)`
/// with the pool's event handler, else `("event", ns, sid, name, args,
/// ack_or_None)` for the sink.
fn push_event(
    target: &Arc<Target>,
    event: EventName<'_>,
    args: Vec<Value>,
    ack: Option<socketio::embed::Ack>,
) {
    let t = target.clone();
    let event = match event {
        EventName::Known(n) => Ok(n.clone()),
        EventName::Other(n) => Err(n.to_owned()),
    };
    target.pool.push(
        target.key,
        Box::new(move |py, sink| {
            let r = (|| -> PyResult<()> {
                let (nsp, sid) = t.names(py);
                let event = match &event {
                    Ok(n) => {
                        n.py.get_or_init(py, || PyString::new(py, &n.name).unbind())
                            .bind(py)
                            .clone()
                    }
                    Err(n) => PyString::new(py, n),
                };
                let args = to_py_list(py, &args)?;
                let ack = ack_object(py, ack)?;
                match &t.on_event {
                    Some(f) => f.call1(py, (nsp, sid, event, args, ack)).map(drop),
                    None => {
                        let kind = intern!(py, "event").clone().into_any();
                        let ev = tuple(
                            py,
                            vec![
                                kind,
                                nsp.into_any(),
                                sid.into_any(),
                                event.into_any(),
                                args.into_any(),
                                ack,
                            ],
                        )?;
                        sink.call1((ev,)).map(drop)
                    }
                }
            })();
            if let Err(e) = r {
                e.write_unraisable(py, Some(sink));
            }
        }),
    );
}

/// The middleware that hands a connection to Python's connect handler.
pub fn connect(socket: &Socket, next: Next, pool: &Pool, reg: &Arc<Registry>, rt: &Runtime) {
    let nsp = socket.nsp().to_owned();
    let sid = socket.id();
    let key: Key = (nsp.clone(), sid.clone());
    reg.map.lock().insert(
        key.clone(),
        Entry {
            socket: socket.clone(),
            pending: Some(Vec::new()),
        },
    );
    let (r, rt) = (reg.clone(), rt.clone());
    let settle: OnSettle = Box::new(move |ok| {
        if !ok {
            r.map.lock().remove(&key);
            return;
        }
        rt.spawn(async move {
            tokio_sleep(ADMIT_GRACE).await;
            let mut map = r.map.lock();
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
