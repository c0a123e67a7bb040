//! Delivery of events to the JS thread.
//!
//! Each server and client owns one threadsafe function, the JS layer's
//! dispatcher; every callback of the core turns into an [`Event`] sent
//! through it. One queue per owner keeps the order in which the core
//! produced the events, across sockets and event kinds.
//!
//! Events wait in that queue of ours and the threadsafe function is called
//! once per batch: the JS thread, once woken, hands every queued event to
//! the dispatcher in one go. Calling it per event cost a wake-up of the JS
//! thread each time, and Node writes that wake-up while it holds the
//! function's lock: on a busy core the JS thread preempted the core's
//! thread there and then waited for the lock, three or four context
//! switches per event. A runtime thread that queues an event calls the
//! function when it has run what was ready ([`tokio::task::yield_now`]:
//! before it parks, or after at most tokio's 61 tasks between driver
//! polls), or at once past [`BATCH_AT_MOST`] events; any other thread calls
//! it at once.
//!
//! The function is referenced (it keeps Node's event loop alive) while its
//! owner listens or connects, and unreferenced once it is closed, so a
//! script that closes its servers and clients exits by itself.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use napi::bindgen_prelude::{Buffer, FnArgs, Function, FunctionRef};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, Status};
use napi_derive::napi;
use parking_lot::{Mutex, RwLock};
use socketio_ffi::embed::{Ack, Payload, Runtime, Value};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::mpsc;

use crate::acks::AckTable;
use crate::engine::EngineSocketHandle;
use crate::socket::{MatchHandle, NextHandle, NextKind, SockRef, SocketHandle};

/// Event kinds: what an event ([`JsEventArgs`]) reports or asks. The JS layer reads
/// them from the native module (`EventKind`), so both sides share one list.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A socket joined a namespace (target: the namespace's key).
    Connection = 1,
    /// An event for a socket or client (target: its key).
    Event = 2,
    /// A catch-all listener's copy of an outgoing event.
    AnyOutgoing = 4,
    /// A socket is disconnecting (still in its rooms).
    Disconnecting = 5,
    /// A socket or client disconnected (`name`: the reason).
    Disconnect = 6,
    /// A namespace middleware is asked (target: the namespace's key).
    Middleware = 7,
    /// An asynchronous operation succeeded (target: the callback id).
    Done = 8,
    /// An asynchronous operation failed (`name`: the message).
    Failed = 9,
    /// A client connected.
    Connect = 10,
    /// A client's connection failed or was refused.
    ConnectError = 11,
    /// A reconnection attempt starts (`num`: its number).
    ReconnectAttempt = 12,
    /// Reconnected (`num`: after this many attempts).
    Reconnect = 13,
    /// A reconnection attempt failed (`name`: the message).
    ReconnectError = 14,
    /// No more reconnection attempts.
    ReconnectFailed = 15,
    /// A dynamic namespace's function is asked about a name.
    Match = 16,
    /// A client's connection closed (`name`: the reason).
    Close = 18,
    /// The `cors` origin function is asked about a request's origin
    /// (`name`: the origin, absent without one); answered with a code:
    /// 1 allowed, 0 refused, 2 no CORS headers.
    Origin = 19,
    /// The `allowRequest` function is asked about a handshake (arguments:
    /// the request's method, url, headers, HTTP version, peer address);
    /// answered with 1 (go on) or 0 and the refusal's message.
    AllowRequest = 20,
    /// The `io.engine.use` middlewares are asked about a request
    /// (argument: the request, see `engine::request_value`); answered with
    /// 1 and the headers to add (`[[name, value]...]` JSON), 0 and an
    /// error message, or 2 and the middlewares' own response
    /// (`{status, headers, body}`, the body in hex).
    EngineMiddleware = 21,
    /// `io.engine.generateId` is asked for a new session's id (argument:
    /// the request); answered with 1 and the id, or 0 and an error.
    GenerateId = 22,
    /// The `headers` / `initial_headers` listeners edit an answer's headers
    /// (arguments: whether it is a handshake's, the headers as an object,
    /// the request); answered with 1 and the edited object (JSON).
    Headers = 23,
    /// The engine refused a request (arguments: code, message, context,
    /// the request).
    ConnectionError = 24,
    /// An Engine.IO session opened (`name`: its id; `engine`: it).
    EngineConnection = 25,
    /// A session moved to WebSocket (`name`: its id).
    EngineUpgrade = 26,
    /// A session closed (`name`: its id; argument: the reason).
    EngineClose = 27,
    /// A packet arrived on a session (`name`: its id; arguments: the
    /// packet's type and data).
    EnginePacket = 28,
    /// A socket's `error` (its connection sent what the parser cannot
    /// read): the error as the argument.
    SocketError = 29,
    /// Another server's `serverSideEmit` to a namespace (`name`: the event;
    /// `ack` when it waits for an answer).
    ServerSideEmit = 30,
    /// A room event of a namespace's adapter (`name`: `create-room`,
    /// `delete-room`, `join-room`, `leave-room`; arguments: the room and,
    /// for joins and leaves, the socket id).
    RoomEvent = 31,
    /// A packet is written on a session (`name`: its id; arguments: the
    /// packet's type, its data, and whether it may be compressed).
    EnginePacketCreate = 32,
    /// A client socket's `auth` is asked for its CONNECT (target: the
    /// socket's key); answered with 1 and the payload as JSON (none: no
    /// payload), or 0 and an error message.
    ClientAuth = 40,
    /// A client connection's Engine.IO session opened (`name`: its id;
    /// argument: the transport).
    ClientOpen = 41,
    /// A client connection attempt failed (`name`: the message; `num`: 1
    /// when the manager keeps trying).
    ClientOpenError = 42,
    /// A client connection moved to another transport (`name`: it).
    ClientUpgrade = 43,
    /// The server pinged a client connection.
    ClientPing = 44,
    /// A packet arrived on a client connection (`name`: its type;
    /// argument: its data, if any).
    ClientPacket = 45,
    /// A packet is written on a client connection (as `ClientPacket`).
    ClientPacketCreate = 46,
    /// A client connection's Engine.IO session closed (`name`: the reason;
    /// argument: the session's id, absent when none was open; `num`: 1
    /// when a reconnection follows).
    ClientEngineClose = 47,
    /// A client connection has nothing left to do (no connection, no
    /// reconnection under way): the last event of what led there.
    ClientIdle = 48,
}

/// The rarely set parts of an event, as a plain object: the dispatcher
/// receives the common ones as arguments (kind, target, name, json, ack),
/// which costs far less than setting object properties through N-API on
/// every event, and this object only when one of these is there.
#[napi(object, object_from_js = false)]
pub struct JsEventExtra {
    /// The buffers the placeholders of the arguments' JSON point at.
    pub bins: Option<Vec<Buffer>>,
    /// The socket of a connection or middleware.
    pub socket: Option<SocketHandle>,
    /// Sockets found by `fetchSockets`.
    pub sockets: Option<Vec<SocketHandle>>,
    /// Answers a middleware.
    pub next: Option<NextHandle>,
    /// Answers a dynamic namespace's function.
    pub reply: Option<MatchHandle>,
    /// A number (reconnection attempts).
    pub num: Option<f64>,
    /// An Engine.IO session.
    pub engine: Option<EngineSocketHandle>,
}

/// The dispatcher's arguments: `(kind, target, name, json, ack, extra)`,
/// `null` for what an event lacks. `target` is the key of the socket,
/// namespace or client, or a callback id; `name` an event name, reason or
/// error message; `json` the arguments as a JSON array with binary
/// placeholders; `ack` the key of the peer's acknowledgement request, for
/// the owner's `ack` and `dropAck` (see `acks.rs`).
pub type JsEventArgs = FnArgs<(
    EventKind,
    u32,
    Option<String>,
    Option<String>,
    Option<u32>,
    Option<JsEventExtra>,
)>;

/// JS's answer to a question event: a code (see the kind that asked) and,
/// for a refusal, an optional message.
pub(crate) type Answer = (u32, Option<String>);

/// The Rust side of an event ([`JsEventArgs`]), built on any thread; converted to JS
/// values on the JS thread.
pub(crate) struct Event {
    pub kind: EventKind,
    pub target: u32,
    pub name: Option<String>,
    pub payload: Option<Payload>,
    pub ack: Option<Ack>,
    pub socket: Option<SockRef>,
    pub sockets: Option<Vec<SockRef>>,
    pub next: Option<NextKind>,
    pub reply: Option<std::sync::mpsc::SyncSender<Answer>>,
    pub num: Option<f64>,
    pub engine: Option<Arc<dyn engineio::server::Session>>,
    /// Told once the dispatcher has returned from this event.
    returned: Option<std::sync::mpsc::SyncSender<bool>>,
}

impl Event {
    pub fn new(kind: EventKind, target: u32) -> Event {
        Event {
            kind,
            target,
            name: None,
            payload: None,
            ack: None,
            socket: None,
            sockets: None,
            next: None,
            reply: None,
            num: None,
            engine: None,
            returned: None,
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> Event {
        self.name = Some(name.into());
        self
    }

    pub fn args(mut self, args: &[Value]) -> Event {
        self.payload = Some(Payload::from_args(args));
        self
    }

    fn into_js(self, acks: &AckTable) -> JsEventArgs {
        let (json, bins) = match self.payload {
            Some(p) if p.bins.is_empty() => (Some(p.json), None),
            Some(p) => (Some(p.json), Some(buffers(p.bins))),
            None => (None, None),
        };
        let extra = if bins.is_some()
            || self.socket.is_some()
            || self.sockets.is_some()
            || self.next.is_some()
            || self.reply.is_some()
            || self.num.is_some()
            || self.engine.is_some()
        {
            Some(JsEventExtra {
                bins,
                socket: self.socket.map(SocketHandle::new),
                sockets: self
                    .sockets
                    .map(|v| v.into_iter().map(SocketHandle::new).collect()),
                next: self.next.map(NextHandle::new),
                reply: self.reply.map(MatchHandle::new),
                num: self.num,
                engine: self.engine.map(EngineSocketHandle::new),
            })
        } else {
            None
        };
        FnArgs::from((
            self.kind,
            self.target,
            self.name,
            json,
            self.ack.map(|a| acks.insert(a)),
            extra,
        ))
    }
}

fn buffers(bins: Vec<Bytes>) -> Vec<Buffer> {
    bins.into_iter().map(|b| Buffer::from(b.to_vec())).collect()
}

/// The threadsafe function carries nothing: each call hands the queue's
/// events to the dispatcher, then calls it once without arguments (which
/// it ignores).
type Tsfn = ThreadsafeFunction<(), (), (), Status, false, true>;

/// Events queued before the JS thread is woken regardless.
const BATCH_AT_MOST: usize = 64;

/// The events waiting for the JS thread.
#[derive(Default)]
struct Pending {
    events: VecDeque<Event>,
    /// A call of the function is on its way: a new event waits for it
    /// rather than making another.
    scheduled: bool,
    /// A runtime task will call the function once its thread has run what
    /// was ready.
    flushing: bool,
}

/// When a queued event's call of the function is made.
enum Call {
    Now,
    Later,
    Made,
}

/// One owner's way to the JS thread.
pub(crate) struct Dispatcher {
    tsfn: RwLock<Tsfn>,
    pending: Arc<Mutex<Pending>>,
    /// Itself, for the task that calls the function later.
    me: Weak<Dispatcher>,
    /// The acknowledgements JS was handed and has not answered.
    pub acks: Arc<AckTable>,
    closed: AtomicBool,
    js_thread: ThreadId,
    completions: mpsc::UnboundedSender<BoxFuture<'static, Event>>,
    rt: Runtime,
}

impl Dispatcher {
    /// Wraps the JS dispatcher `f`; starts unreferenced.
    pub fn new(f: Function<'_, JsEventArgs, ()>) -> napi::Result<Arc<Dispatcher>> {
        let acks = Arc::new(AckTable::default());
        let table = acks.clone();
        let pending = Arc::new(Mutex::new(Pending::default()));
        let queue = pending.clone();
        let direct: FunctionRef<JsEventArgs, ()> = f.create_ref()?;
        let tsfn = f
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx: ThreadsafeCallContext<()>| {
                let batch = {
                    let mut q = queue.lock();
                    q.scheduled = false;
                    std::mem::take(&mut q.events)
                };
                if !batch.is_empty() {
                    let dispatch = direct.borrow_back(&ctx.env)?;
                    // What the handlers send is queued at once, but the
                    // core's threads are woken once the batch is done:
                    // on a busy core each wake-up would preempt this
                    // thread to write one packet.
                    let holding = engineio::wakes::hold();
                    for mut ev in batch {
                        let returned = ev.returned.take();
                        if dispatch.call(ev.into_js(&table)).is_err() {
                            uncaught(&ctx.env);
                        }
                        if let Some(tx) = returned {
                            let _ = tx.send(true);
                        }
                    }
                    if holding {
                        engineio::wakes::release();
                    }
                }
                Ok(())
            })?;
        let rt = Runtime::global().map_err(crate::js_err)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let d = Arc::new_cyclic(|me| Dispatcher {
            tsfn: RwLock::new(tsfn),
            pending,
            me: me.clone(),
            acks,
            closed: AtomicBool::new(false),
            js_thread: std::thread::current().id(),
            completions: tx,
            rt: rt.clone(),
        });
        rt.spawn(drive_completions(rx, Arc::downgrade(&d)));
        Ok(d)
    }

    /// Runs an asynchronous operation whose outcome is an event: its
    /// synchronous part now, on the calling thread (an emit goes out in
    /// call order), then on the dispatcher's completion task, which
    /// delivers outcomes in the order they came (acknowledgements in the
    /// order the peer sent them).
    pub fn complete(&self, fut: impl Future<Output = Event> + Send + 'static) {
        let mut fut: BoxFuture<'static, Event> = Box::pin(fut);
        let first = self.rt.enter(|| {
            let waker = futures_util::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            fut.as_mut().poll(&mut cx)
        });
        match first {
            Poll::Ready(ev) => self.send(ev),
            Poll::Pending => {
                let _ = self.completions.send(fut);
            }
        }
    }

    /// Queues an event for the JS thread.
    pub fn send(&self, ev: Event) {
        self.queue(ev, false)
    }

    /// Queues an event and wakes the JS thread now rather than once the
    /// runtime thread has run what was ready: for what the core tells the
    /// peer on its own, the JS thread hears it first, as with engine.io's
    /// synchronous events.
    pub fn send_now(&self, ev: Event) {
        self.queue(ev, true)
    }

    /// Queues `ev`; the JS thread is woken now if `now`, else as the
    /// module's notes say.
    fn queue(&self, ev: Event, now: bool) {
        // Only a runtime thread runs the task that calls later.
        let handle = if now {
            None
        } else {
            Handle::try_current().ok()
        };
        let call = {
            let mut q = self.pending.lock();
            q.events.push_back(ev);
            if q.scheduled {
                Call::Made
            } else if handle.is_none() || q.events.len() >= BATCH_AT_MOST {
                q.scheduled = true;
                Call::Now
            } else if q.flushing {
                Call::Made
            } else {
                q.flushing = true;
                Call::Later
            }
        };
        match (call, handle) {
            (Call::Now, _) => self.call_js(),
            (Call::Later, Some(h)) => {
                let me = self.me.clone();
                h.spawn(async move {
                    tokio::task::yield_now().await;
                    if let Some(d) = me.upgrade() {
                        d.flush();
                    }
                });
            }
            _ => {}
        }
    }

    /// Calls the function for what was queued, unless a call is on its way.
    fn flush(&self) {
        {
            let mut q = self.pending.lock();
            q.flushing = false;
            if q.scheduled || q.events.is_empty() {
                return;
            }
            q.scheduled = true;
        }
        self.call_js();
    }

    fn call_js(&self) {
        let status = self
            .tsfn
            .read()
            .call((), ThreadsafeFunctionCallMode::NonBlocking);
        if status != Status::Ok {
            // The function is gone (the environment is shutting down):
            // nothing will take the queue.
            let mut q = self.pending.lock();
            q.events.clear();
            q.scheduled = false;
        }
    }

    /// Queues an event and waits until the JS dispatcher has returned from
    /// it, so that handlers it registers are in place before the core goes
    /// on (a connection's first event must find them). Does not wait on the
    /// JS thread itself, nor once the owner is closed.
    pub fn send_and_wait(self: &Arc<Self>, mut ev: Event) {
        if std::thread::current().id() == self.js_thread || self.is_closed() {
            return self.send(ev);
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<bool>(1);
        ev.returned = Some(tx);
        self.queue(ev, true);
        let me = self.clone();
        wait_for_js(rx, move || me.is_closed());
    }

    /// Queues an event carrying a one-shot answer from JS and waits for it;
    /// false when JS never answers (closed owner, dropped answer).
    pub fn ask(self: &Arc<Self>, ev: Event) -> bool {
        self.ask_code(ev) == Some(1)
    }

    /// [`ask`](Self::ask) for a numeric answer (`MatchHandle::answer_code`);
    /// `None` when JS never answers.
    pub fn ask_code(self: &Arc<Self>, ev: Event) -> Option<u32> {
        self.ask_answer(ev).map(|(code, _)| code)
    }

    /// [`ask`](Self::ask) for a code and a message
    /// (`MatchHandle::answer_with`); `None` when JS never answers.
    pub fn ask_answer(self: &Arc<Self>, mut ev: Event) -> Option<Answer> {
        if std::thread::current().id() == self.js_thread || self.is_closed() {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Answer>(1);
        ev.reply = Some(tx);
        self.queue(ev, true);
        let me = self.clone();
        wait_for_js(rx, move || me.is_closed())
    }

    /// Marks the owner closed: waits in progress give up.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Undoes [`close`](Self::close): the server listens again.
    pub fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    /// Whether the pending events keep Node's event loop alive.
    #[allow(deprecated)] // `refer`/`unref` are the only way to toggle it on a live function.
    pub fn set_ref(&self, env: &Env, on: bool) -> napi::Result<()> {
        let mut t = self.tsfn.write();
        if on {
            t.refer(env)
        } else {
            t.unref(env)
        }
    }
}

/// Hands an exception the dispatcher threw to Node's `uncaughtException`,
/// as the threadsafe function does for the calls it makes.
fn uncaught(env: &Env) {
    let mut err = std::ptr::null_mut();
    // SAFETY: on the JS thread, inside the threadsafe function's callback,
    // with the exception pending from the call that just failed.
    unsafe {
        if napi::sys::napi_get_and_clear_last_exception(env.raw(), &mut err)
            == napi::sys::Status::napi_ok
            && !err.is_null()
        {
            napi::sys::napi_fatal_exception(env.raw(), err);
        }
    }
}

/// Polls the pending operations of one dispatcher in one task, so their
/// outcomes reach JS in the order they were woken.
async fn drive_completions(
    mut rx: mpsc::UnboundedReceiver<BoxFuture<'static, Event>>,
    disp: Weak<Dispatcher>,
) {
    let mut pending = FuturesUnordered::new();
    loop {
        tokio::select! {
            f = rx.recv() => match f {
                Some(f) => pending.push(f),
                None if pending.is_empty() => return,
                None => {
                    while let Some(ev) = pending.next().await {
                        if let Some(d) = disp.upgrade() {
                            d.send(ev);
                        }
                    }
                    return;
                }
            },
            Some(ev) = pending.next(), if !pending.is_empty() => {
                if let Some(d) = disp.upgrade() {
                    d.send(ev);
                }
            }
        }
    }
}

/// Waits for an answer from the JS thread, handing a tokio worker's other
/// tasks to another thread meanwhile; `abandon` is checked every 50 ms.
fn wait_for_js<T>(rx: Receiver<T>, abandon: impl Fn() -> bool) -> Option<T> {
    let wait = || loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Timeout) if !abandon() => continue,
            Err(_) => return None,
        }
    };
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        // A single-threaded runtime cannot wait without stalling itself.
        Ok(_) => None,
        Err(_) => wait(),
    }
}
