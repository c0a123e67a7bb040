//! The Socket.IO v5 server: namespaces, sockets, events, acks, rooms and
//! broadcasting, on the Engine.IO server.

pub mod admin;
mod client;
mod dynamic;
mod errors;
mod handshake;
mod namespace;
mod observer;
mod operators;
mod reason;
mod serve_client;
mod socket;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use engineio::server::{EngineIoService, Listener, ServerConfig as EngineConfig};
use engineio::EngineIo;
use parking_lot::RwLock;
use serde::Serialize;

pub use crate::codec::ParserKind;
pub use client::{Client, SioHandler};
pub use dynamic::{NamespaceMatcher, ParentNamespace};
/// How a socket's emit is sent ([`Socket::emit_with`]): volatile, uncompressed.
pub use engineio::server::SendOptions;
pub use errors::{AckError, ConnectError, EmitError, JoinError};
pub use handshake::Handshake;
pub use namespace::{ConnectionHandler, FetchedSocket, Middleware, Namespace, ServerSideHandler};
pub use operators::{BroadcastAcks, BroadcastOperator, ClusterAcks};
pub use reason::DisconnectReason;
pub use serve_client::{ClientBundle, ClientBundleError, CLIENT_FILES};
pub use socket::{
    AckSender, AnyListener, DisconnectHandler, EventHandler, EventMiddleware, FallbackHandler,
    IntoRooms, Socket, TimeoutEmitter,
};

use crate::adapter::{Adapter, AdapterFactory, LocalAdapter, LocalNamespace};
use crate::proto::Value;

/// Server options, named after the reference's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The Engine.IO options; `path` defaults to `/socket.io/`.
    pub engine: EngineConfig,
    /// Time a new connection has to join a namespace (default 45 s).
    pub connect_timeout: Duration,
    /// Default wait for acknowledgements (default 5 s).
    pub ack_timeout: Duration,
    /// Most binary attachments a packet may carry (default 10).
    pub max_attachments: usize,
    /// Most namespaces one connection may join; a CONNECT past it is
    /// refused with "Too many namespaces" (default 64).
    pub max_namespaces_per_connection: usize,
    /// Most rooms a socket may be in, its own id room aside (default 1024).
    pub max_rooms_per_socket: usize,
    /// The parser every client of this server uses.
    pub parser: ParserKind,
    /// Connection state recovery; `None` (the default) disables it.
    pub connection_state_recovery: Option<RecoveryConfig>,
    /// Removes a dynamic child namespace once its last socket has left.
    pub cleanup_empty_child_namespaces: bool,
    /// Serves the browser client under the path, as the reference's
    /// `serveClient`: `<path>/socket.io.js`, `socket.io.min.js`,
    /// `socket.io.msgpack.min.js`, `socket.io.esm.min.js` and their `.map`s
    /// (see [`ClientBundle`]). `None` (the default) serves nothing: unlike
    /// the reference, which ships the files and serves them by default,
    /// there is no bundle without an installed `socket.io-client`.
    pub serve_client: Option<ClientBundle>,
}

/// Connection state recovery options, as the reference's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long a session and the packets it may miss are kept (default 2 min).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the namespace middlewares (default true).
    pub skip_middlewares: bool,
}

engineio::__option_setters!(RecoveryConfig {
    max_disconnection_duration: Duration,
    skip_middlewares: bool,
});

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_millis(120_000),
            skip_middlewares: true,
        }
    }
}

engineio::__option_setters!(ServerConfig {
    connect_timeout: Duration,
    ack_timeout: Duration,
    max_attachments: usize,
    max_namespaces_per_connection: usize,
    max_rooms_per_socket: usize,
    parser: ParserKind,
    connection_state_recovery: Option<RecoveryConfig>,
    cleanup_empty_child_namespaces: bool,
    serve_client: Option<ClientBundle>,
});

impl ServerConfig {
    /// Edits the Engine.IO options, builder style, starting from this
    /// configuration's own (whose `path` is `/socket.io/`, not Engine.IO's
    /// `/engine.io/`): `ServerConfig::default().engine(|e| e.ping_interval(d))`.
    #[must_use]
    pub fn engine(mut self, edit: impl FnOnce(EngineConfig) -> EngineConfig) -> Self {
        self.engine = edit(self.engine);
        self
    }

    /// Accepts Socket.IO v2 clients (Engine.IO protocol 3), as the
    /// reference's `allowEIO3`; sets the engine's
    /// [`allow_eio3`](EngineConfig::allow_eio3). Off by default.
    #[must_use]
    pub fn allow_eio3(mut self, allow: bool) -> Self {
        self.engine.allow_eio3 = allow;
        self
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            engine: EngineConfig::default().path("/socket.io/"),
            connect_timeout: Duration::from_millis(45_000),
            ack_timeout: Duration::from_millis(5_000),
            max_attachments: 10,
            max_namespaces_per_connection: 64,
            max_rooms_per_socket: 1024,
            parser: ParserKind::Default,
            connection_state_recovery: None,
            cleanup_empty_child_namespaces: false,
            serve_client: None,
        }
    }
}

pub(crate) struct ServerInner {
    pub(crate) config: Arc<ServerConfig>,
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    parents: RwLock<Vec<Arc<ParentNamespace>>>,
    /// Replaced only until the first client connects.
    adapters: RwLock<Box<dyn AdapterFactory>>,
    /// Set, under the namespaces' read lock, when the first Engine.IO
    /// client connects: no socket can have used an adapter before.
    clients_seen: std::sync::atomic::AtomicBool,
    /// Instrumentation hooks (the admin UI), shared with every connection.
    pub(crate) observers: Arc<observer::Observers>,
}

impl ServerInner {
    pub(crate) fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.namespaces.read().get(name).cloned()
    }

    /// The namespace for a CONNECT carrying `auth`: an existing one, or a
    /// new child of the first parent whose matcher accepts the name.
    pub(crate) fn namespace_for_connect(&self, name: &str, auth: &Value) -> Option<Arc<Namespace>> {
        if let Some(ns) = self.namespace(name) {
            return Some(ns);
        }
        let parents = self.parents.read().clone();
        let parent = parents.into_iter().find(|p| p.matches(name, auth))?;
        let mut created = false;
        let ns = {
            let mut map = self.namespaces.write();
            map.entry(name.to_owned())
                .or_insert_with(|| {
                    created = true;
                    Arc::new_cyclic(|weak: &std::sync::Weak<Namespace>| {
                        let local: std::sync::Weak<dyn LocalNamespace> = weak.clone();
                        Namespace::child(
                            name.to_owned(),
                            self.adapters.read().create_for(name, local),
                            self.config.clone(),
                            parent.clone(),
                        )
                    })
                })
                .clone()
        };
        parent.add_child(ns.clone());
        if created {
            self.observers.each(|o| o.new_namespace(&ns));
        }
        Some(ns)
    }

    /// Marks that a client connected (the adapters are fixed from now on);
    /// cheap once done.
    pub(crate) fn client_connected(&self) {
        use std::sync::atomic::Ordering;
        if !self.clients_seen.load(Ordering::Acquire) {
            // Under the lock `SocketIo::set_adapter` writes: a replacement
            // either finished before, or sees the flag and refuses.
            let _namespaces = self.namespaces.read();
            self.clients_seen.store(true, Ordering::Release);
        }
    }

    /// Every namespace of the server, dynamic children included.
    pub(crate) fn all_namespaces(&self) -> Vec<Arc<Namespace>> {
        self.namespaces.read().values().cloned().collect()
    }

    pub(crate) fn remove_namespace(&self, name: &str) {
        let removed = self.namespaces.write().remove(name);
        if let Some(ns) = &removed {
            ns.mark_removed();
        }
        if let (Some(ns), Ok(rt)) = (removed, tokio::runtime::Handle::try_current()) {
            let close = ns.adapter().close();
            rt.spawn(close);
        }
    }

    fn of(&self, name: &str) -> Arc<Namespace> {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        if let Some(ns) = self.namespace(&name) {
            return ns;
        }
        let mut created = false;
        let ns = {
            let mut map = self.namespaces.write();
            map.entry(name.clone())
                .or_insert_with(|| {
                    created = true;
                    Arc::new_cyclic(|weak: &std::sync::Weak<Namespace>| {
                        let local: std::sync::Weak<dyn LocalNamespace> = weak.clone();
                        Namespace::new(
                            name.clone(),
                            self.adapters.read().create_for(&name, local),
                            self.config.clone(),
                        )
                    })
                })
                .clone()
        };
        if created {
            self.observers.each(|o| o.new_namespace(&ns));
        }
        ns
    }
}

/// A Socket.IO server. Cheap to clone; every clone is the same server.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let io = socketio::SocketIo::new(Default::default());
/// io.on_connection(|socket| {
///     socket.on("hello", |socket, args, ack| {
///         if let Some(ack) = ack {
///             let _ = ack.send(args);
///         }
///         let _ = socket.emit("world", &"!");
///     });
/// });
/// let listener = io.listen("127.0.0.1:3000").await?;
/// listener.stopped().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
    engine: Arc<EngineSlot>,
}

/// The engine, replaceable until the server first serves (socket.io gives
/// engine.io its options when it attaches, not when it is made).
struct EngineSlot {
    engine: RwLock<EngineIo<SioHandler>>,
    /// Set, under the read lock, by whatever serves: listening or handing
    /// out the service. The options are fixed from then on.
    served: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The engine serving `inner`'s namespaces with `config`.
fn build_engine(inner: &Arc<ServerInner>, mut config: EngineConfig) -> EngineIo<SioHandler> {
    if let Some(bundle) = inner.config.serve_client.clone() {
        // In front of the engine, as the reference's `attachServe`; an
        // intercept of the caller's comes next.
        let path = config.normalized_path();
        let next = config.intercept.take();
        config.intercept = Some(Arc::new(move |parts: &http::request::Parts| {
            bundle
                .respond(&path, parts)
                .or_else(|| next.as_ref().and_then(|next| next(parts)))
        }));
    }
    EngineIo::new(
        config,
        SioHandler {
            server: inner.clone(),
        },
    )
}

impl SocketIo {
    /// A server with the in-memory adapter.
    pub fn new(config: ServerConfig) -> Self {
        let recovery = config
            .connection_state_recovery
            .as_ref()
            .map(|r| r.max_disconnection_duration);
        Self::with_adapter(config, move |_: &str| -> Arc<dyn Adapter> {
            match recovery {
                Some(max) => Arc::new(LocalAdapter::with_recovery(max)),
                None => Arc::new(LocalAdapter::new()),
            }
        })
    }

    /// A server whose namespaces get their adapter from `factory`.
    pub fn with_adapter(config: ServerConfig, factory: impl AdapterFactory) -> Self {
        let inner = Arc::new(ServerInner {
            config: Arc::new(config.clone()),
            namespaces: RwLock::new(HashMap::new()),
            parents: RwLock::new(Vec::new()),
            adapters: RwLock::new(Box::new(factory)),
            clients_seen: Default::default(),
            observers: Arc::default(),
        });
        inner.of("/");
        let engine = build_engine(&inner, config.engine);
        SocketIo {
            inner,
            engine: Arc::new(EngineSlot {
                engine: RwLock::new(engine),
                served: Default::default(),
            }),
        }
    }

    /// Replaces the engine's options (path, ping times, CORS, transports...)
    /// of a server that has not served yet, keeping its namespaces,
    /// handlers and middlewares: socket.io's `attach(srv, opts)` merging
    /// `opts` into the engine it makes then. Returns false, changing
    /// nothing, once the server has listened or handed out its
    /// [service](Self::service).
    pub fn set_engine_config(&self, config: EngineConfig) -> bool {
        let mut slot = self.engine.engine.write();
        if self.has_served() {
            return false;
        }
        *slot = build_engine(&self.inner, config);
        true
    }

    /// Gives every namespace, present and to come, an adapter from
    /// `factory` (socket.io's `io.adapter(createAdapter(...))`, which sets
    /// the adapter after the server is made, often after it is attached to
    /// an HTTP server), keeping their handlers, middlewares and room event
    /// listeners. Only until the first client connects, while no socket
    /// has joined a room: returns the adapters replaced, for the caller to
    /// [close](Adapter::close) (a cluster adapter leaves its cluster then),
    /// or `None`, changing nothing, once a client has connected
    /// ([`adapter_fixed`](Self::adapter_fixed)).
    pub fn set_adapter(&self, factory: impl AdapterFactory) -> Option<Vec<Arc<dyn Adapter>>> {
        // In the order `of` takes them: no namespace is made meanwhile,
        // and no client connects (see `client_connected`).
        let namespaces = self.inner.namespaces.write();
        if self.adapter_fixed() {
            return None;
        }
        let mut adapters = self.inner.adapters.write();
        *adapters = Box::new(factory);
        let replaced = namespaces
            .values()
            .map(|ns| {
                let local: std::sync::Weak<dyn LocalNamespace> =
                    Arc::downgrade(&(ns.clone() as Arc<dyn LocalNamespace>));
                ns.replace_adapter(adapters.create_for(ns.name(), local))
            })
            .collect();
        Some(replaced)
    }

    /// Whether a client has connected: the adapter is fixed from then on
    /// ([`set_adapter`](Self::set_adapter)).
    pub fn adapter_fixed(&self) -> bool {
        self.inner
            .clients_seen
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether the server has listened or handed out its
    /// [service](Self::service): its engine's options are fixed from then
    /// on.
    pub fn has_served(&self) -> bool {
        self.engine
            .served
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// The engine's options now (those given at creation, or by
    /// [`set_engine_config`](Self::set_engine_config)).
    pub fn engine_config(&self) -> EngineConfig {
        self.engine.engine.read().config().clone()
    }

    /// The engine, as it serves from now on.
    fn serving(&self) -> EngineIo<SioHandler> {
        let slot = self.engine.engine.read();
        self.engine
            .served
            .store(true, std::sync::atomic::Ordering::Release);
        slot.clone()
    }

    /// The engine for a look at its sessions (does not fix the options).
    fn current(&self) -> EngineIo<SioHandler> {
        self.engine.engine.read().clone()
    }

    /// The options the server was made with; its engine's, if replaced
    /// since, are [`engine_config`](Self::engine_config)'s.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The namespace `name`, created if needed.
    pub fn of(&self, name: &str) -> Arc<Namespace> {
        self.inner.of(name)
    }

    /// A parent namespace: connections to any name `matcher` accepts create
    /// a child namespace sharing the parent's handlers and middlewares.
    pub fn of_dynamic(
        &self,
        matcher: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Arc<ParentNamespace> {
        self.of_dynamic_with_auth(move |name, _| matcher(name))
    }

    /// A parent namespace whose `matcher` also reads the `auth` payload of
    /// the CONNECT (an object, `{}` when the client sent none), as the
    /// reference's `io.of((name, auth, next) => ...)`: a tenant's namespace
    /// is made for its own clients only. As in the reference, the matcher is
    /// asked only while the namespace does not exist; who may join it
    /// afterwards is for middlewares to decide.
    pub fn of_dynamic_with_auth(
        &self,
        matcher: impl Fn(&str, &Value) -> bool + Send + Sync + 'static,
    ) -> Arc<ParentNamespace> {
        let parent = Arc::new(ParentNamespace::new(
            Arc::new(matcher),
            Arc::downgrade(&self.inner),
        ));
        self.inner.parents.write().push(parent.clone());
        parent
    }

    /// A parent namespace matching names with a regular expression.
    pub fn of_regex(&self, pattern: &str) -> Result<Arc<ParentNamespace>, regex::Error> {
        let re = regex::Regex::new(pattern)?;
        Ok(self.of_dynamic(move |name| re.is_match(name)))
    }

    /// The main namespace `/`.
    pub fn sockets(&self) -> Arc<Namespace> {
        self.of("/")
    }

    /// Calls `handler` with every socket joining the main namespace.
    pub fn on_connection(&self, handler: impl Fn(Arc<Socket>) + Send + Sync + 'static) {
        self.of("/").on_connection(handler);
    }

    /// Adds an async middleware to the main namespace.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.of("/").use_middleware(middleware);
    }

    /// Targets rooms of the main namespace.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").to(rooms)
    }

    /// Same as [`SocketIo::to`].
    pub fn in_(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Excludes rooms of the main namespace.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperator {
        self.of("/").except(rooms)
    }

    /// A broadcast to the whole main namespace, to chain operators on.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.of("/").broadcast()
    }

    /// Emits to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.of("/").emit(event, data)
    }

    /// The sockets of the main namespace as handles (`fetchSockets`).
    pub async fn fetch_sockets(&self) -> Vec<Arc<Socket>> {
        self.of("/").fetch_sockets().await
    }

    /// Sends an event to the other servers of the cluster (main namespace).
    pub async fn server_side_emit(&self, event: &str, args: Vec<crate::proto::Value>) {
        self.of("/").server_side_emit(event, args).await
    }

    /// Sends an event to the other servers of the cluster (main namespace)
    /// and collects one answer per server within `timeout`.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<crate::proto::Value>,
        timeout: Duration,
    ) -> Vec<crate::proto::Value> {
        self.of("/")
            .server_side_emit_with_ack(event, args, timeout)
            .await
    }

    /// Handles `serverSideEmit` events from the other servers (main
    /// namespace).
    pub fn on_server_side_emit(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Vec<crate::proto::Value>, Option<crate::adapter::ServerSideAck>)
            + Send
            + Sync
            + 'static,
    ) {
        self.of("/").on_server_side_emit(event, handler);
    }

    /// The sockets of the main namespace across the cluster.
    pub async fn fetch_all_sockets(&self) -> Vec<FetchedSocket> {
        self.of("/").fetch_all_sockets().await
    }

    /// How many servers the cluster has, this one included.
    pub async fn server_count(&self) -> usize {
        self.of("/").server_count().await
    }

    /// Makes every namespace's adapter leave the cluster (a cluster adapter
    /// unsubscribes; the in-memory one has nothing to do).
    pub async fn close_adapters(&self) {
        for ns in self.inner.all_namespaces() {
            ns.close_adapter().await;
        }
    }

    /// The server as a hyper / tower service, to mount in an existing app.
    pub fn service(&self) -> EngineIoService<SioHandler> {
        self.serving().service()
    }

    /// Listens on `addr`.
    pub async fn listen(&self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Listener> {
        self.serving().listen(addr).await
    }

    /// Engine.IO sessions that still owe their client something (open, or
    /// closed by the server with a final poll to answer); what a graceful
    /// shutdown waits for.
    pub fn draining_count(&self) -> usize {
        self.current().draining_count()
    }

    /// Number of Engine.IO sessions, closing ones included.
    pub fn engine_count(&self) -> usize {
        self.current().count()
    }

    /// Whether an open Engine.IO session still uses long-polling (it would
    /// need the listener for its last poll after a close).
    pub fn has_polling_sessions(&self) -> bool {
        self.current()
            .sockets()
            .iter()
            .any(|s| s.transport() == engineio::server::TransportType::Polling)
    }

    /// Disconnects every client ("server shutting down") and stops listening.
    /// What was already queued for a client is still written before its
    /// connection closes.
    pub fn close(&self) {
        self.current().close();
    }

    /// Accepts connections again after [`close`](Self::close), with the
    /// same namespaces, handlers and middlewares (socket.io's `listen()`
    /// after `close()`; [`listen`](Self::listen) does it by itself).
    /// Returns false when the server was not closed.
    pub fn reopen(&self) -> bool {
        self.current().reopen()
    }

    /// Graceful shutdown: [`close`](Self::close), then waits until every
    /// session has written its last packets and gone, at most `grace`.
    /// Returns how many sessions were still open when it gave up (0: all
    /// clean). Every event a handler emitted or acknowledged before the call
    /// reaches its client, if the client keeps reading.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.close();
        self.drained(grace).await
    }

    /// Waits until [`draining_count`](Self::draining_count) is 0, at most
    /// `limit`; returns the sessions still draining then (0: all done).
    /// Unlike [`shutdown`](Self::shutdown) it closes nothing, so a server
    /// reopened meanwhile is left serving.
    pub async fn drained(&self, limit: Duration) -> usize {
        self.current().drained(limit).await
    }
}
