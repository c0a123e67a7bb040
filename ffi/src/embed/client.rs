//! The client handle for foreign callers: one Socket.IO client socket (one
//! namespace), configured, given handlers, then connected. Clients of
//! several namespaces can share one connection: see [`Client::sibling`],
//! and [`Client::connection`] for a handle to the connection alone (the
//! reference's `Manager`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sio_core::client::{
    Auth, ClientBuilder, ConnectError, EngineEvent, Manager, ManagerConfig, Socket as CoreSocket,
    SocketConfig, TransportType,
};
use sio_core::server::ParserKind;
use sio_core::Value;

use super::queue::Completion;
use super::queue::Ctx;
use super::{Ack, Dispatch, Error, EventQueue, Runtime};

/// Options of a [`Client`], named after socket.io-client's; the defaults
/// are the reference's.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// The namespace (default: the URL's path, else `/`).
    pub namespace: Option<String>,
    /// The CONNECT payload (`auth`).
    pub auth: Option<Value>,
    /// Asked for the CONNECT payload on every connection attempt, in the
    /// client's dispatch mode (socket.io-client's `auth` function); takes
    /// the place of [`auth`](Self::auth).
    pub auth_handler: Option<AuthHandler>,
    /// Connection options: path, query, transports, reconnection, timeout.
    pub manager: ManagerConfig,
    /// Socket options: retries, ack timeout.
    pub socket: SocketConfig,
    /// Extra HTTP headers (checked when set).
    pub headers: Vec<(String, String)>,
    /// A connection of its own rather than one shared with other clients of
    /// the same server (`forceNew`).
    pub force_new: bool,
    /// The runtime to run on; `None`: the global one.
    pub runtime: Option<Runtime>,
    /// Run callbacks inside this queue's [`EventQueue::poll`].
    pub queue: Option<EventQueue>,
}

impl ClientOptions {
    /// Adds an HTTP header sent with every request, after checking it.
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<(), Error> {
        http::HeaderName::try_from(name)
            .map_err(|_| Error::invalid(format!("invalid header name {name:?}")))?;
        http::HeaderValue::try_from(value)
            .map_err(|_| Error::invalid(format!("invalid value for header {name:?}")))?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Transports in order of preference.
    pub fn set_transports(&mut self, transports: Vec<TransportType>) -> Result<(), Error> {
        if transports.is_empty() {
            return Err(Error::invalid("at least one transport is needed"));
        }
        self.manager.engine.transports = transports;
        Ok(())
    }

    /// Selects the msgpack parser (the server must use it too).
    pub fn msgpack(&mut self, on: bool) {
        self.manager.parser = if on {
            ParserKind::MsgPack
        } else {
            ParserKind::Default
        };
    }
}

/// Answers a connection attempt's request for its CONNECT payload, once
/// (see [`ClientOptions::auth_handler`]).
#[derive(Clone)]
pub struct AuthHandler(Arc<dyn Fn(AuthReply) + Send + Sync>);

impl AuthHandler {
    /// A handler calling `f` with the reply to give for each attempt.
    pub fn new(f: impl Fn(AuthReply) + Send + Sync + 'static) -> AuthHandler {
        AuthHandler(Arc::new(f))
    }
}

impl std::fmt::Debug for AuthHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthHandler(..)")
    }
}

/// The pending answer of one [`AuthHandler`] call: the attempt waits for
/// it (at most the manager's `timeout`); dropped unanswered, the attempt
/// fails at once.
#[derive(Debug)]
pub struct AuthReply(tokio::sync::oneshot::Sender<Result<Option<Value>, String>>);

impl AuthReply {
    /// Answers with this payload (`None`: none; the server sees `{}`).
    pub fn send(self, auth: Option<Value>) {
        let _ = self.0.send(Ok(auth));
    }

    /// Fails the attempt with this message.
    pub fn fail(self, message: impl Into<String>) {
        let _ = self.0.send(Err(message.into()));
    }
}

/// The socket settings with the CONNECT payload `options` asks for: a
/// handler dispatched through `ctx` on every attempt, or a fixed object.
fn with_auth(
    socket: SocketConfig,
    auth: Option<Value>,
    handler: Option<AuthHandler>,
    ctx: &Arc<Ctx>,
) -> SocketConfig {
    if let Some(handler) = handler {
        let ctx = ctx.clone();
        return socket.auth(Auth::Deferred(Arc::new(move || {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let h = handler.clone();
            ctx.run(move || (h.0)(AuthReply(tx)));
            Box::pin(async move {
                rx.await
                    .unwrap_or_else(|_| Err("the auth callback gave no answer".to_owned()))
            })
        })));
    }
    match auth {
        Some(v) => socket.auth(Auth::Static(v)),
        None => socket,
    }
}

/// What the reconnection machinery reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconnectEvent {
    /// An attempt is about to start (its number, from 1).
    Attempt(u32),
    /// Reconnected, after this many attempts.
    Reconnected(u32),
    /// An attempt failed.
    Error(String),
    /// Every attempt failed; no more will be made.
    Failed,
}

type EventH = Arc<dyn Fn(&str, Vec<Value>, Option<Ack>) + Send + Sync>;
type FallbackH = EventH;
type AnyH = Arc<dyn Fn(&str, Vec<Value>) + Send + Sync>;
type ConnectH = Arc<dyn Fn() + Send + Sync>;
type DisconnectH = Arc<dyn Fn(&str) + Send + Sync>;
type ConnectErrorH = Arc<dyn Fn(&str, Option<Value>) + Send + Sync>;
type ReconnectH = Arc<dyn Fn(ReconnectEvent) + Send + Sync>;
type EngineH = Arc<dyn Fn(EngineEvent) + Send + Sync>;

enum Reg {
    Event(String, EventH),
    Fallback(FallbackH),
    Any(AnyH),
    Connect(ConnectH),
    Disconnect(DisconnectH),
    ConnectError(ConnectErrorH),
    Reconnect(ReconnectH),
    Engine(EngineH),
}

impl Reg {
    /// A handler of the connection rather than of the namespace.
    fn of_connection(&self) -> bool {
        matches!(self, Reg::Reconnect(_) | Reg::Engine(_))
    }
}

#[derive(Default)]
struct State {
    options: Option<ClientOptions>,
    regs: Vec<Reg>,
    socket: Option<CoreSocket>,
    /// The connection shared with siblings, once there are some.
    link: Option<Arc<Link>>,
    /// The connection is the client's own (`force_new`), not the shared
    /// one of its server: siblings may join it after [`Client::connect`].
    own_connection: bool,
    /// A handle to the connection alone ([`Client::connection`]).
    connection_only: bool,
    /// [`Client::watch_engine_packets`] before the manager was made.
    watch_packets: Option<bool>,
}

impl State {
    /// The manager of the connection, once made.
    fn manager(&self) -> Option<Manager> {
        if let Some(s) = &self.socket {
            return Some(s.manager());
        }
        self.link
            .as_ref()
            .and_then(|l| l.state.lock().manager.clone())
    }
}

/// The connection a client shares with its siblings: one manager, made by
/// whichever of them connects first, never taken from (or given to) the
/// cache of connections by server.
struct Link {
    url: String,
    state: Mutex<LinkState>,
}

struct LinkState {
    /// The connection options, until the manager is made.
    config: Option<(ManagerConfig, Vec<(String, String)>)>,
    manager: Option<Manager>,
    /// The namespaces of the clients on it: one client each.
    namespaces: HashSet<String>,
}

impl Link {
    /// The shared manager, made on first use (inside the runtime: it spawns
    /// its task).
    fn manager(&self, rt: &Runtime) -> Result<Manager, Error> {
        let mut ls = self.state.lock();
        if let Some(m) = &ls.manager {
            return Ok(m.clone());
        }
        let (mut config, headers) = ls
            .config
            .take()
            .ok_or_else(|| Error::state("the connection is being made"))?;
        for (k, v) in &headers {
            let name = http::HeaderName::try_from(k.as_str())
                .map_err(|_| Error::invalid(format!("invalid header name {k:?}")))?;
            let value = http::HeaderValue::try_from(v.as_str())
                .map_err(|_| Error::invalid(format!("invalid value for header {k:?}")))?;
            config.engine.extra_headers.append(name, value);
        }
        let m = rt.enter(|| Manager::new(&self.url, config));
        ls.manager = Some(m.clone());
        Ok(m)
    }
}

/// `admin` → `/admin`.
fn normalize_nsp(nsp: &str) -> String {
    if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}

/// The namespace the path of `url` names (`/` without one), as the core's
/// builder reads it; checks the URL on the way.
fn url_namespace(url: &str) -> Result<String, Error> {
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let uri: http::Uri = full
        .parse()
        .map_err(|e| Error::invalid(format!("invalid url: {e}")))?;
    if uri.host().is_none() {
        return Err(Error::invalid("invalid url: missing host"));
    }
    Ok(match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    })
}

/// The two handlers that complete `done` with the first outcome of a
/// connection attempt (success or connect error), through the context.
fn first_outcome(
    done: Completion<()>,
    ctx: &Arc<Ctx>,
    alive: &Arc<AtomicBool>,
) -> (
    impl Fn(CoreSocket) + Send + Sync + 'static,
    impl Fn(CoreSocket, ConnectError) + Send + Sync + 'static,
) {
    let latch = Arc::new(Mutex::new(Some(done)));
    let (l, c, a) = (latch.clone(), ctx.clone(), alive.clone());
    let on_connect = move |_| {
        let d = l.lock().take();
        if let (Some(d), true) = (d, a.load(Ordering::Acquire)) {
            c.run(move || d(Ok(())));
        }
    };
    let (c, a) = (ctx.clone(), alive.clone());
    let on_error = move |_, e: ConnectError| {
        let d = latch.lock().take();
        if let (Some(d), true) = (d, a.load(Ordering::Acquire)) {
            c.run(move || d(Err(Error::from(e))));
        }
    };
    (on_connect, on_error)
}

/// A Socket.IO client: register handlers, [`connect`](Client::connect),
/// emit. Dropping it disconnects it; its handlers are not called after
/// that.
pub struct Client {
    url: String,
    ctx: Arc<Ctx>,
    state: Mutex<State>,
    /// Cleared on drop: handlers the shared connection still holds go quiet.
    alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `url` (`http://host:port[/namespace]`),
    /// not connected yet.
    pub fn new(url: &str, options: ClientOptions) -> Result<Client, Error> {
        if url.is_empty() {
            return Err(Error::invalid("empty URL"));
        }
        let rt = Runtime::or_global(options.runtime.as_ref())?;
        let dispatch = options
            .queue
            .clone()
            .map(Dispatch::Queue)
            .unwrap_or_default();
        let ack_timeout = options.socket.ack_timeout.unwrap_or(Duration::MAX);
        Ok(Client {
            url: url.to_owned(),
            ctx: Ctx::new(rt, dispatch, ack_timeout),
            state: Mutex::new(State {
                options: Some(options),
                ..State::default()
            }),
            alive: Arc::new(AtomicBool::new(true)),
        })
    }

    /// A handle to the connection alone, joining no namespace
    /// (socket.io-client's `Manager`): [`connect`](Client::connect) opens
    /// the Engine.IO connection, [`disconnect`](Client::disconnect) closes
    /// it for good (every namespace on it disconnects with `forced close`),
    /// and [`sibling`](Client::sibling) gives the clients of its
    /// namespaces, which open it too when they connect. Its handlers are the
    /// connection's ([`on_reconnect`](Client::on_reconnect),
    /// [`on_engine`](Client::on_engine)); namespace handlers given to it are
    /// never called, and it cannot emit.
    pub fn connection(url: &str, options: ClientOptions) -> Result<Client, Error> {
        url_namespace(url)?;
        let config = (options.manager.clone(), options.headers.clone());
        let client = Client::new(url, options)?;
        let link = Arc::new(Link {
            url: url.to_owned(),
            state: Mutex::new(LinkState {
                config: Some(config),
                manager: None,
                namespaces: HashSet::new(),
            }),
        });
        link.manager(&client.ctx.rt)?;
        {
            let mut st = client.state.lock();
            st.link = Some(link);
            st.connection_only = true;
            st.options = None;
        }
        Ok(client)
    }

    fn register(&self, reg: Reg) {
        let mut st = self.state.lock();
        if let Some(s) = &st.socket {
            return apply_socket(s, reg, &self.ctx, &self.alive);
        }
        if st.connection_only {
            // Namespace handlers have nothing to listen to.
            if let (true, Some(m)) = (reg.of_connection(), st.manager()) {
                apply_manager(&m, reg, &self.ctx, &self.alive);
            }
            return;
        }
        st.regs.push(reg);
    }

    /// Handles an event (replacing the previous handler of that name):
    /// `handler(event, args, ack)`, with `ack` when the server asked for an
    /// acknowledgement.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(&str, Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        self.register(Reg::Event(event.to_owned(), Arc::new(handler)));
    }

    /// Removes the handler of an event.
    pub fn off(&self, event: &str) {
        let mut st = self.state.lock();
        match &st.socket {
            Some(s) => s.off(event),
            None => st
                .regs
                .retain(|r| !matches!(r, Reg::Event(name, _) if name == event)),
        }
    }

    /// Handles the events that have no handler of their own:
    /// `handler(event, args, ack)` (python-socketio's `'*'` handler).
    pub fn on_fallback(
        &self,
        handler: impl Fn(&str, Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        self.register(Reg::Fallback(Arc::new(handler)));
    }

    /// Listens to every incoming event, before its handler.
    pub fn on_any(&self, listener: impl Fn(&str, Vec<Value>) + Send + Sync + 'static) {
        self.register(Reg::Any(Arc::new(listener)));
    }

    /// Called on every connection, reconnections included.
    pub fn on_connect(&self, handler: impl Fn() + Send + Sync + 'static) {
        self.register(Reg::Connect(Arc::new(handler)));
    }

    /// Called when the connected socket disconnects, with the reason
    /// (`io server disconnect`, `transport close`...).
    pub fn on_disconnect(&self, handler: impl Fn(&str) + Send + Sync + 'static) {
        self.register(Reg::Disconnect(Arc::new(handler)));
    }

    /// Called when a connection attempt fails or the server refuses the
    /// namespace, with the message and the server's data.
    pub fn on_connect_error(&self, handler: impl Fn(&str, Option<Value>) + Send + Sync + 'static) {
        self.register(Reg::ConnectError(Arc::new(handler)));
    }

    /// Reconnection events of the connection.
    pub fn on_reconnect(&self, handler: impl Fn(ReconnectEvent) + Send + Sync + 'static) {
        self.register(Reg::Reconnect(Arc::new(handler)));
    }

    /// The events of the connection's Engine.IO session (socket.io-client's
    /// `manager.engine`: open, failed attempts, upgrade, ping, close, and
    /// packets while [watched](Client::watch_engine_packets)). Pings and
    /// packets are reported from the session's task, the rest from the
    /// manager's; with a queue, all in that order.
    pub fn on_engine(&self, handler: impl Fn(EngineEvent) + Send + Sync + 'static) {
        self.register(Reg::Engine(Arc::new(handler)));
    }

    /// Whether every packet of the connection, both ways, reaches the
    /// [`on_engine`](Client::on_engine) handlers (off by default: each
    /// costs a copy).
    pub fn watch_engine_packets(&self, on: bool) {
        let mut st = self.state.lock();
        match st.manager() {
            Some(m) => m.watch_engine_packets(on),
            None => st.watch_packets = Some(on),
        }
    }

    /// Closes the current Engine.IO session, as engine.io-client's
    /// `socket.close()`: the namespaces disconnect with `forced close` and,
    /// with reconnection on, the connection is made again.
    pub fn close_engine(&self) {
        let engine = self.manager().and_then(|m| m.engine());
        if let Some(e) = engine {
            e.close();
        }
    }

    /// The id of the Engine.IO session, while one is open.
    pub fn engine_id(&self) -> Option<String> {
        self.manager()
            .and_then(|m| m.engine())
            .filter(|e| !e.is_closed())
            .map(|e| e.sid().to_owned())
    }

    /// The core manager of the connection, once made (at
    /// [`Client::connect`], or at once for [`Client::connection`]), for
    /// Rust callers that need more.
    pub fn manager(&self) -> Option<Manager> {
        self.state.lock().manager()
    }

    /// Applies a setting to the running manager, or to the options it will
    /// be made with.
    fn reconfigure(&self, running: impl FnOnce(&Manager), later: impl FnOnce(&mut ManagerConfig)) {
        let mut st = self.state.lock();
        if let Some(m) = st.manager() {
            drop(st);
            return running(&m);
        }
        if let Some(link) = &st.link {
            if let Some((config, _)) = &mut link.state.lock().config {
                later(config);
            }
            return;
        }
        if let Some(o) = &mut st.options {
            later(&mut o.manager);
        }
    }

    /// Turns reconnection on or off (socket.io-client's
    /// `manager.reconnection(v)`); off stops a reconnection in progress.
    /// On a connection shared with other clients, for all of them.
    pub fn set_reconnection(&self, on: bool) {
        self.reconfigure(|m| m.set_reconnection(on), |c| c.reconnection = on);
    }

    /// Changes how many attempts a reconnection makes.
    pub fn set_reconnection_attempts(&self, attempts: u32) {
        self.reconfigure(
            |m| m.set_reconnection_attempts(attempts),
            |c| c.reconnection_attempts = attempts,
        );
    }

    /// Changes the first delay between reconnection attempts.
    pub fn set_reconnection_delay(&self, delay: Duration) {
        self.reconfigure(
            |m| m.set_reconnection_delay(delay),
            |c| c.reconnection_delay = delay,
        );
    }

    /// Changes the longest delay between reconnection attempts.
    pub fn set_reconnection_delay_max(&self, delay: Duration) {
        self.reconfigure(
            |m| m.set_reconnection_delay_max(delay),
            |c| c.reconnection_delay_max = delay,
        );
    }

    /// Changes the jitter of the delays (0 to 1).
    pub fn set_randomization_factor(&self, factor: f64) {
        let factor = factor.clamp(0.0, 1.0);
        self.reconfigure(
            |m| m.set_randomization_factor(factor),
            |c| c.randomization_factor = factor,
        );
    }

    /// Changes the longest wait for a connection attempt.
    pub fn set_timeout(&self, timeout: Duration) {
        self.reconfigure(|m| m.set_timeout(timeout), |c| c.timeout = timeout);
    }

    /// Connects; `done` gets the outcome of the first attempt (refused:
    /// [`Error::Refused`] with the server's message and data; unreachable:
    /// [`Error::Io`]). With
    /// reconnection on, a failed client keeps trying in the background. On a
    /// disconnected client, connects again.
    pub fn connect(&self, done: Option<Completion<()>>) -> Result<(), Error> {
        let mut st = self.state.lock();
        if st.connection_only {
            let manager = st
                .manager()
                .ok_or_else(|| Error::state("the connection is being made"))?;
            drop(st);
            if let Some(done) = done {
                self.open_outcome(&manager, done);
            }
            manager.open();
            return Ok(());
        }
        if let Some(socket) = &st.socket {
            let s = socket.clone();
            if let Some(done) = done {
                let waiter = s.clone();
                // Registers the waiter (first poll) before connecting.
                self.ctx.complete(
                    async move { waiter.wait_connected().await.map_err(Error::from) },
                    done,
                );
            }
            s.connect();
            return Ok(());
        }
        let options = st
            .options
            .take()
            .ok_or_else(|| Error::state("the client is being connected"))?;
        if let Some(link) = st.link.clone() {
            let regs = std::mem::take(&mut st.regs);
            let socket = self.connect_linked(&link, options, regs, done)?;
            if let Some(on) = st.watch_packets.take() {
                socket.manager().watch_engine_packets(on);
            }
            st.socket = Some(socket);
            return Ok(());
        }
        st.own_connection = options.force_new;
        let mut b = ClientBuilder::new(self.url.clone())
            .manager_config(options.manager)
            .socket_config(with_auth(
                options.socket,
                options.auth,
                options.auth_handler,
                &self.ctx,
            ))
            .force_new(options.force_new);
        if let Some(ns) = &options.namespace {
            b = b.namespace(ns);
        }
        for (k, v) in &options.headers {
            b = b.extra_header(k, v);
        }
        for reg in std::mem::take(&mut st.regs) {
            b = apply_builder(b, reg, &self.ctx, &self.alive);
        }
        if let Some(done) = done {
            // The first outcome completes `done`; registered before the
            // connection starts, so none can be missed, and after the
            // handlers, which thus run first.
            let latch = Arc::new(Mutex::new(Some(done)));
            let (l, ctx, alive) = (latch.clone(), self.ctx.clone(), self.alive.clone());
            b = b.on_connect(move |_| {
                let d = l.lock().take();
                if let (Some(d), true) = (d, alive.load(Ordering::Acquire)) {
                    ctx.run(move || d(Ok(())));
                }
            });
            let (ctx, alive) = (self.ctx.clone(), self.alive.clone());
            b = b.on_connect_error(move |_, e| {
                let d = latch.lock().take();
                if let (Some(d), true) = (d, alive.load(Ordering::Acquire)) {
                    ctx.run(move || d(Err(Error::from(e))));
                }
            });
        }
        let socket = self.ctx.rt.enter(|| b.build())?;
        if let Some(on) = st.watch_packets.take() {
            socket.manager().watch_engine_packets(on);
        }
        st.socket = Some(socket);
        Ok(())
    }

    /// Completes `done` with the outcome of the connection's next attempt
    /// (opened, or failed), once.
    fn open_outcome(&self, manager: &Manager, done: Completion<()>) {
        let latch = Arc::new(Mutex::new(Some(done)));
        let (ctx, alive) = (self.ctx.clone(), self.alive.clone());
        manager.on_engine(move |ev| {
            let result = match ev {
                EngineEvent::Open { .. } => Ok(()),
                EngineEvent::OpenError { message, .. } => Err(Error::Io(message.clone())),
                _ => return,
            };
            let d = latch.lock().take();
            if let (Some(d), true) = (d, alive.load(Ordering::Acquire)) {
                ctx.run(move || d(result));
            }
        });
    }

    fn socket(&self) -> Result<CoreSocket, Error> {
        let st = self.state.lock();
        if st.connection_only {
            return Err(Error::state(
                "a connection handle has no namespace: emit through a sibling",
            ));
        }
        st.socket
            .clone()
            .ok_or_else(|| Error::state("the client is not connected: connect it first"))
    }

    /// Emits an event; buffered while disconnected.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.socket()?.emit_args(event, args)?)
    }

    /// Emits an event, dropped if the client is not connected.
    pub fn emit_volatile(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.socket()?.volatile().emit_args(event, args)?)
    }

    /// Emits an event asking for an acknowledgement; `done` gets its
    /// arguments or the error (timeout after `timeout`, else the client's
    /// `ack_timeout`, else it waits until the socket disconnects).
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        done: impl FnOnce(Result<Vec<Value>, Error>) + Send + 'static,
    ) -> Result<(), Error> {
        let socket = self.socket()?;
        let event = event.to_owned();
        self.ctx.complete(
            async move {
                let r = match timeout {
                    Some(t) => socket.timeout(t).emit_with_ack_args(&event, args).await,
                    None => socket.emit_with_ack_args(&event, args).await,
                };
                r.map_err(Error::from)
            },
            done,
        );
        Ok(())
    }

    /// Leaves the namespace; no reconnection until [`Client::connect`]. On
    /// a [connection handle](Client::connection): closes the connection,
    /// with no reconnection.
    pub fn disconnect(&self) {
        let st = self.state.lock();
        if st.connection_only {
            if let Some(m) = st.manager() {
                drop(st);
                m.close();
            }
            return;
        }
        if let Some(s) = &st.socket {
            s.disconnect();
        }
    }

    /// True while connected (a connection handle: while the connection is
    /// open).
    pub fn connected(&self) -> bool {
        let st = self.state.lock();
        if st.connection_only {
            return st.manager().is_some_and(|m| m.is_open());
        }
        st.socket.as_ref().is_some_and(CoreSocket::connected)
    }

    /// The socket id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        self.state.lock().socket.as_ref().and_then(CoreSocket::id)
    }

    /// The core socket, once [`Client::connect`] has been called (for
    /// Rust callers that need more).
    pub fn core(&self) -> Option<CoreSocket> {
        self.state.lock().socket.clone()
    }

    /// True while the client wants to be connected and reconnects by
    /// itself; false before [`Client::connect`], after
    /// [`Client::disconnect`], a server disconnect or a refused connection.
    pub fn active(&self) -> bool {
        self.state
            .lock()
            .socket
            .as_ref()
            .is_some_and(CoreSocket::active)
    }

    /// A client of namespace `namespace` on this client's connection
    /// (socket.io-client's `manager.socket(nsp)`): one Engine.IO session
    /// carries the namespaces of a client and its siblings, and closes
    /// when none of them is connected. `socket` gives the sibling's auth,
    /// retries and ack timeout; the connection options (URL, path,
    /// transports, headers, reconnection...) and the dispatch are this
    /// client's.
    ///
    /// The connection is made by the first of them to connect, for them
    /// alone: it is never shared with other clients of the same server, as
    /// without `force_new` it otherwise is. Call it before
    /// [`Client::connect`], or after it on a client with `force_new`. Each
    /// namespace has one client on a connection: a second one for the same
    /// namespace is an [`Error::InvalidArgument`].
    pub fn sibling(&self, namespace: &str, socket: SocketConfig) -> Result<Client, Error> {
        let nsp = normalize_nsp(namespace);
        let link = {
            let mut st = self.state.lock();
            match &st.link {
                Some(link) => link.clone(),
                None => {
                    let (own, config, manager) = match (&st.socket, &st.options) {
                        (Some(s), _) if st.own_connection => {
                            (s.nsp().to_owned(), None, Some(s.manager()))
                        }
                        (Some(_), _) => {
                            return Err(Error::state(
                                "the client shares its server's connection: give it \
                                 siblings before connecting it, or set force_new",
                            ));
                        }
                        (None, Some(o)) => {
                            let own = match &o.namespace {
                                Some(n) => normalize_nsp(n),
                                None => url_namespace(&self.url)?,
                            };
                            (own, Some((o.manager.clone(), o.headers.clone())), None)
                        }
                        (None, None) => return Err(Error::state("the client is being connected")),
                    };
                    let link = Arc::new(Link {
                        url: self.url.clone(),
                        state: Mutex::new(LinkState {
                            config,
                            manager,
                            namespaces: HashSet::from([own]),
                        }),
                    });
                    st.link = Some(link.clone());
                    link
                }
            }
        };
        if !link.state.lock().namespaces.insert(nsp.clone()) {
            return Err(Error::invalid(format!(
                "namespace {nsp} already has a client on this connection"
            )));
        }
        let ack_timeout = socket.ack_timeout.unwrap_or(Duration::MAX);
        Ok(Client {
            url: self.url.clone(),
            ctx: Ctx::new(self.ctx.rt.clone(), self.ctx.dispatch.clone(), ack_timeout),
            state: Mutex::new(State {
                options: Some(ClientOptions {
                    namespace: Some(nsp),
                    socket,
                    ..ClientOptions::default()
                }),
                link: Some(link),
                ..State::default()
            }),
            alive: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Connects a client with siblings: its socket on the shared manager.
    fn connect_linked(
        &self,
        link: &Link,
        options: ClientOptions,
        regs: Vec<Reg>,
        done: Option<Completion<()>>,
    ) -> Result<CoreSocket, Error> {
        let nsp = match &options.namespace {
            Some(n) => normalize_nsp(n),
            None => url_namespace(&self.url)?,
        };
        let manager = link.manager(&self.ctx.rt)?;
        let socket = manager.socket(
            &nsp,
            with_auth(
                options.socket,
                options.auth,
                options.auth_handler,
                &self.ctx,
            ),
        );
        for reg in regs {
            apply_socket(&socket, reg, &self.ctx, &self.alive);
        }
        if let Some(done) = done {
            // After the handlers, which thus run first; before the socket
            // connects, so no outcome is missed.
            let (on_connect, on_error) = first_outcome(done, &self.ctx, &self.alive);
            socket.on_connect(on_connect);
            socket.on_connect_error(on_error);
        }
        socket.connect();
        Ok(socket)
    }

    /// The transport the connection uses now: polling until an upgrade to
    /// WebSocket (or WebSocket from the start); `None` while there is no
    /// open connection.
    pub fn transport(&self) -> Option<TransportType> {
        self.manager()?
            .engine()
            .filter(|e| !e.is_closed())
            .map(|e| e.transport())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Release);
        let socket = self.state.lock().socket.take();
        if let Some(s) = socket {
            s.disconnect();
        }
    }
}

/// The core-level closures of a registration: each dispatches through the
/// context, and stays quiet once the client is gone.
fn apply_builder(
    b: ClientBuilder,
    reg: Reg,
    ctx: &Arc<Ctx>,
    alive: &Arc<AtomicBool>,
) -> ClientBuilder {
    let (ctx, alive) = (ctx.clone(), alive.clone());
    let live = move || alive.load(Ordering::Acquire);
    match reg {
        Reg::Event(name, h) => {
            let n: Arc<str> = Arc::from(name.as_str());
            b.on_with_ack(name, move |_, args, ack| {
                if live() {
                    let (h, n) = (h.clone(), n.clone());
                    ctx.run(move || h(&n, args, ack.map(Ack::Client)));
                }
            })
        }
        Reg::Fallback(h) => b.on_fallback(move |_, event, args, ack| {
            if live() {
                let (h, event) = (h.clone(), event.to_owned());
                ctx.run(move || h(&event, args, ack.map(Ack::Client)));
            }
        }),
        Reg::Any(h) => b.on_any(move |_, event, args| {
            if live() {
                let (h, event, args) = (h.clone(), event.to_owned(), args.to_vec());
                ctx.run(move || h(&event, args));
            }
        }),
        Reg::Connect(h) => b.on_connect(move |_| {
            if live() {
                let h = h.clone();
                ctx.run(move || h());
            }
        }),
        Reg::Disconnect(h) => b.on_disconnect(move |_, reason| {
            if live() {
                let h = h.clone();
                ctx.run(move || h(reason.as_str()));
            }
        }),
        Reg::ConnectError(h) => b.on_connect_error(move |_, e| {
            if live() {
                let h = h.clone();
                ctx.run(move || h(&e.message, e.data));
            }
        }),
        Reg::Reconnect(h) => {
            let r = Reconnect::new(h, ctx, live);
            let (r1, r2, r3) = (r.clone(), r.clone(), r.clone());
            b.on_reconnect_attempt(move |n| r1.fire(ReconnectEvent::Attempt(n)))
                .on_reconnect(move |n| r2.fire(ReconnectEvent::Reconnected(n)))
                .on_reconnect_error(move |e| r3.fire(ReconnectEvent::Error(e.to_string())))
                .on_reconnect_failed(move || r.fire(ReconnectEvent::Failed))
        }
        Reg::Engine(h) => b.on_engine(move |ev| {
            if live() {
                let (h, ev) = (h.clone(), ev.clone());
                ctx.run(move || h(ev));
            }
        }),
    }
}

/// A connection handler on `m` (namespace handlers are left out).
fn apply_manager(m: &Manager, reg: Reg, ctx: &Arc<Ctx>, alive: &Arc<AtomicBool>) {
    let (ctx, alive) = (ctx.clone(), alive.clone());
    let live = move || alive.load(Ordering::Acquire);
    match reg {
        Reg::Reconnect(h) => {
            let r = Reconnect::new(h, ctx, live);
            let (r1, r2, r3) = (r.clone(), r.clone(), r.clone());
            m.on_reconnect_attempt(move |n| r1.fire(ReconnectEvent::Attempt(n)));
            m.on_reconnect(move |n| r2.fire(ReconnectEvent::Reconnected(n)));
            m.on_reconnect_error(move |e| r3.fire(ReconnectEvent::Error(e.to_string())));
            m.on_reconnect_failed(move || r.fire(ReconnectEvent::Failed));
        }
        Reg::Engine(h) => m.on_engine(move |ev| {
            if live() {
                let (h, ev) = (h.clone(), ev.clone());
                ctx.run(move || h(ev));
            }
        }),
        _ => {}
    }
}

fn apply_socket(s: &CoreSocket, reg: Reg, ctx: &Arc<Ctx>, alive: &Arc<AtomicBool>) {
    if reg.of_connection() {
        return apply_manager(&s.manager(), reg, ctx, alive);
    }
    let (ctx, alive) = (ctx.clone(), alive.clone());
    let live = move || alive.load(Ordering::Acquire);
    match reg {
        Reg::Event(name, h) => {
            let n: Arc<str> = Arc::from(name.as_str());
            s.on_with_ack(name, move |_, args, ack| {
                if live() {
                    let (h, n) = (h.clone(), n.clone());
                    ctx.run(move || h(&n, args, ack.map(Ack::Client)));
                }
            });
        }
        Reg::Fallback(h) => s.on_fallback(move |_, event, args, ack| {
            if live() {
                let (h, event) = (h.clone(), event.to_owned());
                ctx.run(move || h(&event, args, ack.map(Ack::Client)));
            }
        }),
        Reg::Any(h) => {
            s.on_any(move |_, event, args| {
                if live() {
                    let (h, event, args) = (h.clone(), event.to_owned(), args.to_vec());
                    ctx.run(move || h(&event, args));
                }
            });
        }
        Reg::Connect(h) => s.on_connect(move |_| {
            if live() {
                let h = h.clone();
                ctx.run(move || h());
            }
        }),
        Reg::Disconnect(h) => s.on_disconnect(move |_, reason| {
            if live() {
                let h = h.clone();
                ctx.run(move || h(reason.as_str()));
            }
        }),
        Reg::ConnectError(h) => s.on_connect_error(move |_, e| {
            if live() {
                let h = h.clone();
                ctx.run(move || h(&e.message, e.data));
            }
        }),
        // Applied above.
        Reg::Reconnect(_) | Reg::Engine(_) => {}
    }
}

/// One reconnection handler behind the four manager events.
#[derive(Clone)]
struct Reconnect {
    h: ReconnectH,
    ctx: Arc<Ctx>,
    live: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Reconnect {
    fn new(h: ReconnectH, ctx: Arc<Ctx>, live: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Reconnect {
            h,
            ctx,
            live: Arc::new(live),
        }
    }

    fn fire(&self, ev: ReconnectEvent) {
        if (self.live)() {
            let h = self.h.clone();
            self.ctx.run(move || h(ev));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Instant;

    use super::super::{Server, ServerOptions};
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    /// A server whose namespaces `/`, `/a` and `/b` report the Engine.IO
    /// session of each connection.
    fn server() -> (Server, String, mpsc::Receiver<(String, String)>) {
        let rt = Runtime::new(2).expect("runtime");
        let server = Server::new(ServerOptions {
            runtime: Some(rt),
            ..ServerOptions::default()
        })
        .expect("server");
        let (tx, rx) = mpsc::channel();
        for nsp in ["/", "/a", "/b"] {
            let tx = Mutex::new(tx.clone());
            server.of(nsp).on_connection(move |socket| {
                let conn = socket.core().conn_id().to_string();
                let _ = tx.lock().send((socket.nsp().to_owned(), conn));
            });
        }
        let addr = server.listen("127.0.0.1:0").expect("listen");
        (server, format!("http://{addr}"), rx)
    }

    fn connected(c: &Client) {
        let (tx, rx) = mpsc::channel();
        c.connect(Some(Box::new(move |r| {
            let _ = tx.send(r);
        })))
        .expect("connect");
        assert_eq!(rx.recv_timeout(WAIT).expect("outcome"), Ok(()));
    }

    fn until(mut cond: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + WAIT;
        while !cond() {
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    #[test]
    fn siblings_share_one_engine_session_and_other_clients_do_not() {
        let (_server, url, seen) = server();
        let first = Client::new(&url, ClientOptions::default()).expect("client");
        let a = first.sibling("a", SocketConfig::default()).expect("a");
        let b = first.sibling("/b", SocketConfig::default()).expect("b");
        assert!(matches!(
            first.sibling("/a", SocketConfig::default()),
            Err(Error::InvalidArgument(_))
        ));
        for c in [&b, &first, &a] {
            connected(c);
        }
        let mut conns: Vec<(String, String)> = (0..3)
            .map(|_| seen.recv_timeout(WAIT).expect("connection"))
            .collect();
        conns.sort();
        assert_eq!(
            conns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["/", "/a", "/b"]
        );
        assert!(conns.iter().all(|(_, c)| *c == conns[0].1), "{conns:?}");

        // Another client of the same server (no force_new): a session of
        // its own all the same, since the first one has siblings.
        let other = Client::new(&format!("{url}/a"), ClientOptions::default()).expect("other");
        connected(&other);
        let (nsp, conn) = seen.recv_timeout(WAIT).expect("connection");
        assert_eq!(nsp, "/a");
        assert_ne!(conn, conns[0].1);

        // Leaving one namespace keeps the session; leaving all closes it,
        // and connecting again opens one session for all.
        a.disconnect();
        assert!(first.connected() && b.connected() && !a.connected());
        first.disconnect();
        b.disconnect();
        assert!(until(|| first.transport().is_none()));
        for c in [&first, &a, &b] {
            connected(c);
        }
        let again: Vec<(String, String)> = (0..3)
            .map(|_| seen.recv_timeout(WAIT).expect("connection"))
            .collect();
        assert!(again.iter().all(|(_, c)| *c == again[0].1), "{again:?}");
        assert_ne!(again[0].1, conns[0].1);
    }

    #[test]
    fn siblings_of_a_connected_client_need_its_own_connection() {
        let (_server, url, seen) = server();
        let shared = Client::new(&url, ClientOptions::default()).expect("client");
        connected(&shared);
        assert!(matches!(
            shared.sibling("/a", SocketConfig::default()),
            Err(Error::State(_))
        ));
        let own = Client::new(
            &url,
            ClientOptions {
                force_new: true,
                ..ClientOptions::default()
            },
        )
        .expect("client");
        connected(&own);
        let a = own.sibling("/a", SocketConfig::default()).expect("sibling");
        connected(&a);
        let conns: Vec<String> = (0..3)
            .map(|_| seen.recv_timeout(WAIT).expect("connection").1)
            .collect();
        assert_ne!(conns[0], conns[1]);
        assert_eq!(conns[1], conns[2]);
    }

    #[test]
    fn a_connection_handle_opens_closes_and_reports_the_siblings_session() {
        let (server, url, seen) = server();
        let conn = Client::connection(&url, ClientOptions::default()).expect("connection");
        let (tx, events) = mpsc::channel();
        let tx = Mutex::new(tx);
        conn.on_engine(move |ev| {
            let _ = tx.lock().send(ev);
        });
        assert!(conn.emit("x", vec![]).is_err());
        // Opened with no namespace: a session, no socket.
        let (done_tx, done) = mpsc::channel();
        conn.connect(Some(Box::new(move |r| {
            let _ = done_tx.send(r);
        })))
        .expect("open");
        assert_eq!(done.recv_timeout(WAIT).expect("outcome"), Ok(()));
        let sid = match events.recv_timeout(WAIT).expect("event") {
            EngineEvent::Open { sid, .. } => sid,
            other => panic!("expected open, got {other:?}"),
        };
        assert_eq!(conn.engine_id().as_deref(), Some(sid.as_str()));
        assert!(conn.connected());
        assert!(until(|| server.io().engine_count() == 1));

        // Its namespaces ride on that session.
        let a = conn.sibling("/a", SocketConfig::default()).expect("a");
        let root = conn.sibling("/", SocketConfig::default()).expect("/");
        connected(&a);
        connected(&root);
        let conns: Vec<String> = (0..2)
            .map(|_| seen.recv_timeout(WAIT).expect("connection").1)
            .collect();
        assert!(conns.iter().all(|c| *c == sid), "{conns:?} {sid}");

        // engine.close(): a forced close, then a new session for both.
        conn.close_engine();
        let closed = loop {
            match events.recv_timeout(WAIT).expect("event") {
                ev @ EngineEvent::Close { .. } => break ev,
                _ => continue,
            }
        };
        assert_eq!(
            closed,
            EngineEvent::Close {
                sid: Some(sid.clone()),
                reason: sio_core::client::DisconnectReason::ForcedClose,
                reconnecting: true
            }
        );
        let again: Vec<String> = (0..2)
            .map(|_| seen.recv_timeout(WAIT).expect("reconnection").1)
            .collect();
        assert!(
            again.iter().all(|c| *c == again[0] && *c != sid),
            "{again:?}"
        );

        // Closed for good: the namespaces stay disconnected.
        conn.set_reconnection_delay(Duration::from_millis(10));
        conn.disconnect();
        assert!(until(|| !a.connected()
            && !root.connected()
            && !conn.connected()));
        std::thread::sleep(Duration::from_millis(200));
        assert!(!a.connected() && !root.connected());
    }

    #[test]
    fn transport_is_the_one_in_use() {
        let (_server, url, _seen) = server();
        let c = Client::new(&url, ClientOptions::default()).expect("client");
        assert_eq!(c.transport(), None);
        connected(&c);
        assert!(until(|| c.transport() == Some(TransportType::Websocket)));
        let mut o = ClientOptions::default();
        o.set_transports(vec![TransportType::Polling])
            .expect("transports");
        let p = Client::new(&url, o).expect("client");
        connected(&p);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(p.transport(), Some(TransportType::Polling));
        c.disconnect();
        assert!(until(|| c.transport().is_none()));
    }
}
