//! Server handles for foreign callers: [`Server`], [`Namespace`], [`Socket`],
//! [`Broadcast`], with callbacks dispatched directly or through an
//! [`EventQueue`](super::EventQueue).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use sio_core::server::{BroadcastOperator, ConnectError, DisconnectReason, ParserKind};
use sio_core::{ServerConfig, SocketIo, Value};
use tokio::sync::oneshot;

use super::queue::Ctx;
use super::{Ack, Dispatch, Error, EventQueue, Runtime};

mod admin;
mod ext;
pub use ext::{DynamicNamespace, RedisFlavour, RedisOptions, ServerSideReply};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A one-shot completion: called once with the outcome.
pub type Completion<T> = Box<dyn FnOnce(Result<T, Error>) + Send>;

impl Ctx {
    /// Runs `fut` eagerly (its synchronous part now, in call order), then
    /// dispatches `done` with its output — never from inside this call.
    pub(crate) fn complete<T, F>(self: &Arc<Self>, fut: F, done: impl FnOnce(T) + Send + 'static)
    where
        T: Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let ctx = self.clone();
        self.rt.spawn_eager(async move {
            let out = fut.await;
            // Off the caller's stack even when `fut` finished at once.
            tokio::task::yield_now().await;
            ctx.run(move || done(out));
        });
    }
}

/// Options of a [`Server`].
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The Socket.IO (and Engine.IO) options.
    pub config: ServerConfig,
    /// The runtime to run on; `None`: the global one.
    pub runtime: Option<Runtime>,
    /// Run callbacks inside this queue's [`EventQueue::poll`] instead of on
    /// the runtime's threads.
    pub queue: Option<EventQueue>,
    /// Join a cluster through Redis instead of the in-memory adapter.
    pub redis: Option<RedisOptions>,
}

impl ServerOptions {
    /// Selects the msgpack parser (`socket.io-msgpack-parser` peers).
    pub fn msgpack(&mut self, on: bool) {
        self.config.parser = if on {
            ParserKind::MsgPack
        } else {
            ParserKind::Default
        };
    }

    /// Serves the official browser client under the server's path, as
    /// socket.io's `serveClient` (see [`sio_core::ClientBundle`]): `dir` is
    /// the directory of the npm package `socket.io-client` (or its `dist/`),
    /// read now; `None` stops serving it (the default). A directory without
    /// the files is an [`Error::Io`] naming what is missing.
    pub fn serve_client(&mut self, dir: Option<&std::path::Path>) -> Result<(), Error> {
        self.config.serve_client = dir
            .map(sio_core::ClientBundle::load)
            .transpose()
            .map_err(|e| Error::Io(e.to_string()))?;
        Ok(())
    }
}

/// A Socket.IO server. Dropping it closes it.
pub struct Server {
    io: SocketIo,
    ctx: Arc<Ctx>,
    listener: Mutex<Option<engineio::server::Listener>>,
    addr: Mutex<Option<SocketAddr>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &*lock(&self.addr))
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server, not listening yet.
    pub fn new(opts: ServerOptions) -> Result<Server, Error> {
        let rt = Runtime::or_global(opts.runtime.as_ref())?;
        let dispatch = opts.queue.map(Dispatch::Queue).unwrap_or_default();
        let io = match &opts.redis {
            None => SocketIo::new(opts.config.clone()),
            Some(redis) => {
                let recovery = opts
                    .config
                    .connection_state_recovery
                    .as_ref()
                    .map(|r| r.max_disconnection_duration);
                let factory = ext::redis_factory(&rt, redis, recovery)?;
                SocketIo::with_adapter(opts.config.clone(), factory)
            }
        };
        let ctx = Ctx::new(rt, dispatch, opts.config.ack_timeout);
        Ok(Server {
            io,
            ctx,
            listener: Mutex::new(None),
            addr: Mutex::new(None),
        })
    }

    /// The core server, for Rust callers that need more.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    /// A handle on a core socket of this server (one reached through
    /// [`Server::io`], e.g. in a dynamic namespace's handlers), dispatching
    /// like the server's own.
    pub fn wrap_socket(&self, socket: Arc<sio_core::Socket>) -> Socket {
        Socket::new(socket, self.ctx.clone())
    }

    /// Binds `addr` (`host:port`; port 0 picks one) and serves; returns the
    /// bound address. One listener per server.
    pub fn listen(&self, addr: &str) -> Result<SocketAddr, Error> {
        if self.ctx.is_closed() {
            return Err(Error::Closed("the server is closed".into()));
        }
        let mut slot = lock(&self.listener);
        if slot.is_some() {
            return Err(Error::state("the server is already listening"));
        }
        let io = self.io.clone();
        let target = addr.to_owned();
        let listener = self
            .ctx
            .rt
            .block_on(async move { io.listen(target.as_str()).await })?
            .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr();
        *slot = Some(listener);
        *lock(&self.addr) = Some(bound);
        Ok(bound)
    }

    /// Stops accepting connections now; open connections (and the sessions
    /// on them) go on. Before [`Server::close`], this frees the port at once,
    /// as closing a Node `http.Server` does.
    pub fn stop_accepting(&self) {
        if let Some(l) = lock(&self.listener).as_ref() {
            l.stop();
        }
    }

    /// The address [`Server::listen`] bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *lock(&self.addr)
    }

    /// The namespace `name` (`/` is the main one), created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        Namespace {
            ns: self.io.of(name),
            ctx: self.ctx.clone(),
        }
    }

    /// Stops listening and disconnects every client ("server shutting
    /// down"). `done`, if given, is called once the listener has stopped and
    /// the sessions are gone (at most 5 s later).
    pub fn close(&self, done: Option<Completion<()>>) {
        self.ctx.close();
        self.io.close();
        let listener = lock(&self.listener).take();
        let Some(done) = done else { return };
        let io = self.io.clone();
        self.ctx.complete(
            async move {
                // Closing again changes nothing; this waits for the sessions
                // to drain. The listener serves their final polls, then
                // stops by itself.
                io.shutdown(Duration::from_secs(5)).await;
                if let Some(l) = listener {
                    l.stopped().await;
                }
            },
            move |()| done(Ok(())),
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close(None);
    }
}

/// A namespace of a [`Server`]. Cheap to clone.
#[derive(Clone)]
pub struct Namespace {
    ns: Arc<sio_core::Namespace>,
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.ns.name())
            .finish()
    }
}

/// Accepts or refuses a connection, once; given to middlewares. Dropping it
/// unanswered refuses with "middleware did not answer".
#[derive(Debug)]
pub struct Next {
    tx: oneshot::Sender<Result<(), ConnectError>>,
}

impl Next {
    /// Lets the connection through (to the next middleware, then the
    /// connection handlers).
    pub fn accept(self) {
        let _ = self.tx.send(Ok(()));
    }

    /// Refuses the connection: the client gets `connect_error` with this
    /// message and data.
    pub fn refuse(self, message: &str, data: Option<Value>) {
        let _ = self.tx.send(Err(ConnectError {
            message: message.to_owned(),
            data,
        }));
    }
}

impl Namespace {
    /// The name, e.g. `/` or `/admin`.
    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// Handles `event` sent to this namespace by another server with
    /// `serverSideEmit` (Node's `nsp.on(event, ...)`); `handler` gets the
    /// arguments and, when the sender waits for one, the acknowledgement
    /// (the first answer counts).
    pub fn on_server_side_emit(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.ns.on_server_side_emit(event, move |args, ack| {
            let h = handler.clone();
            ctx.run(move || h(args, ack.map(Ack::ServerSide)));
        });
    }

    /// Reports the adapter's room events, as Node's adapter emits them:
    /// `handler(kind, room, socket id)` with kind `create-room`,
    /// `delete-room` (no socket id), `join-room` or `leave-room`.
    pub fn on_room_event(
        &self,
        handler: impl Fn(&'static str, String, Option<String>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.ns.on_room_event(move |e| {
            use sio_core::adapter::RoomEvent;
            let (kind, room, sid) = match e {
                RoomEvent::CreateRoom(r) => ("create-room", r.to_string(), None),
                RoomEvent::DeleteRoom(r) => ("delete-room", r.to_string(), None),
                RoomEvent::JoinRoom(r, s) => ("join-room", r.to_string(), Some(s.to_string())),
                RoomEvent::LeaveRoom(r, s) => ("leave-room", r.to_string(), Some(s.to_string())),
            };
            let h = handler.clone();
            ctx.run(move || h(kind, room, sid));
        });
    }

    /// Whether the server dropped this namespace (an empty dynamic child,
    /// `cleanup_empty_child_namespaces`): the handle is stale, the name
    /// belongs to a new namespace if a client connects again.
    pub fn is_removed(&self) -> bool {
        self.ns.is_removed()
    }

    /// Calls `handler` with every socket that joins. The socket's events are
    /// dispatched only after the handler has returned, in both dispatch
    /// modes, so handlers it registers see every event.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        self.ns
            .on_connection(connection_handler(self.ctx.clone(), handler));
    }

    /// Adds a middleware, run in order for every joining socket; it answers
    /// through [`Next`], now or later, from any thread.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket, Next) + Send + Sync + 'static) {
        self.ns
            .use_middleware(connection_middleware(self.ctx.clone(), middleware));
    }

    /// Emits to every socket of the namespace.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        self.broadcast().emit(event, args)
    }

    /// A broadcast to the whole namespace.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast {
            op: self.ns.broadcast(),
            ctx: self.ctx.clone(),
        }
    }

    /// A broadcast to the sockets in `room`.
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// A broadcast to every socket but those in `room`.
    pub fn except(&self, room: &str) -> Broadcast {
        self.broadcast().except(room)
    }

    /// The sockets of the namespace, handed to `done` (`fetchSockets`).
    pub fn fetch_sockets(&self, done: impl FnOnce(Result<Vec<Socket>, Error>) + Send + 'static) {
        self.broadcast().fetch_sockets(done);
    }

    /// The connected sockets of this server in the namespace, now.
    pub fn sockets(&self) -> Vec<Socket> {
        self.ns
            .sockets()
            .into_iter()
            .map(|s| Socket::new(s, self.ctx.clone()))
            .collect()
    }

    /// The rooms of the namespace on this server.
    pub fn rooms(&self) -> Vec<String> {
        self.ns.rooms().iter().map(|r| r.to_string()).collect()
    }
}

/// The core connection handler calling `handler` with the socket; the
/// socket's events are dispatched only after it returns, in both dispatch
/// modes, so handlers it registers see every event.
pub(crate) fn connection_handler(
    ctx: Arc<Ctx>,
    handler: impl Fn(&Socket) + Send + Sync + 'static,
) -> impl Fn(Arc<sio_core::Socket>) + Send + Sync + 'static {
    let handler = Arc::new(handler);
    move |s| {
        let socket = Socket::new(s, ctx.clone());
        let h = handler.clone();
        ctx.run_and_wait(move || h(&socket));
    }
}

/// The core middleware asking `middleware` through a [`Next`], answered
/// now or later from any thread; unanswered, the connection is refused.
pub(crate) fn connection_middleware(
    ctx: Arc<Ctx>,
    middleware: impl Fn(&Socket, Next) + Send + Sync + 'static,
) -> impl Fn(Arc<sio_core::Socket>) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync + 'static
{
    let middleware = Arc::new(middleware);
    move |s| {
        let (tx, rx) = oneshot::channel();
        let socket = Socket::new(s, ctx.clone());
        let m = middleware.clone();
        ctx.run(move || m(&socket, Next { tx }));
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(ConnectError::new("middleware did not answer")))
        })
    }
}

/// A client's connection to a namespace. Cheap to clone; a clone does not
/// keep the client connected.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<sio_core::Socket>,
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Socket {
    pub(crate) fn new(inner: Arc<sio_core::Socket>, ctx: Arc<Ctx>) -> Socket {
        Socket { inner, ctx }
    }

    /// The core socket.
    pub fn core(&self) -> &Arc<sio_core::Socket> {
        &self.inner
    }

    /// The socket id.
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        self.inner.nsp()
    }

    /// The namespace.
    pub fn namespace(&self) -> Namespace {
        Namespace {
            ns: self.inner.namespace().clone(),
            ctx: self.ctx.clone(),
        }
    }

    /// True while connected.
    pub fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// The transport carrying the connection (`polling` or `websocket`).
    pub fn transport(&self) -> &'static str {
        self.inner.transport()
    }

    /// How the socket connected: `auth`, `query`, `headers`, `address`,
    /// `url`, `issued` (ms since the epoch), `secure`, `xdomain`.
    pub fn handshake(&self) -> Value {
        let h = self.inner.handshake();
        let mut o = indexmap::IndexMap::new();
        o.insert("auth".to_owned(), h.auth.clone());
        let query: indexmap::IndexMap<String, Value> = h
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        o.insert("query".to_owned(), Value::Object(query));
        let headers: indexmap::IndexMap<String, Value> = h
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect();
        o.insert("headers".to_owned(), Value::Object(headers));
        o.insert("address".to_owned(), Value::from(h.address.as_str()));
        o.insert("url".to_owned(), Value::from(h.url.as_str()));
        o.insert("issued".to_owned(), Value::from(h.issued));
        o.insert("secure".to_owned(), Value::from(h.secure));
        o.insert("xdomain".to_owned(), Value::from(h.xdomain));
        Value::Object(o)
    }

    /// The per-socket data (`socket.data`).
    pub fn data(&self) -> Value {
        self.inner.data()
    }

    /// Replaces the per-socket data.
    pub fn set_data(&self, data: Value) {
        self.inner.set_data(data);
    }

    /// Handles an event (replacing the previous handler of that name):
    /// `handler(socket, event, args, ack)`, with `ack` when the client asked
    /// for an acknowledgement.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(&Socket, &str, Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        let name: Arc<str> = Arc::from(event);
        self.inner.on(event, move |s, args, ack| {
            let socket = Socket::new(s, ctx.clone());
            let (h, name) = (handler.clone(), name.clone());
            ctx.run(move || h(&socket, &name, args, ack.map(Ack::Server)));
        });
    }

    /// Removes the handler of an event.
    pub fn off(&self, event: &str) {
        self.inner.off(event);
    }

    /// Handles the events that have no handler of their own, with their
    /// acknowledgement: `handler(socket, event, args, ack)` (python-socketio's
    /// `'*'` handler).
    pub fn on_fallback(
        &self,
        handler: impl Fn(&Socket, &str, Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner.on_fallback(move |s, event, args, ack| {
            let socket = Socket::new(s, ctx.clone());
            let (h, event) = (handler.clone(), event.to_owned());
            ctx.run(move || h(&socket, &event, args, ack.map(Ack::Server)));
        });
    }

    /// Listens to every incoming event (before its handler); returns an id
    /// for [`Socket::off_any`].
    pub fn on_any(
        &self,
        listener: impl Fn(&Socket, &str, Vec<Value>) + Send + Sync + 'static,
    ) -> u64 {
        let ctx = self.ctx.clone();
        let listener = Arc::new(listener);
        self.inner.on_any(move |s, event, args| {
            let socket = Socket::new(s.clone(), ctx.clone());
            let (l, event, args) = (listener.clone(), event.to_owned(), args.to_vec());
            ctx.run(move || l(&socket, &event, args));
        })
    }

    /// Removes one catch-all listener, or all of them with `None`.
    pub fn off_any(&self, id: Option<u64>) {
        self.inner.off_any(id);
    }

    /// Called once the socket has disconnected, with the reason
    /// (`transport close`, `client namespace disconnect`...).
    pub fn on_disconnect(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner
            .on_disconnect(move |s, reason: DisconnectReason| {
                let socket = Socket::new(s, ctx.clone());
                let h = handler.clone();
                ctx.run(move || h(&socket, reason.as_str()));
            });
    }

    /// Called when the socket is about to disconnect, still in its rooms
    /// (direct dispatch only guarantees the rooms are still there).
    pub fn on_disconnecting(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner
            .on_disconnecting(move |s, reason: DisconnectReason| {
                let socket = Socket::new(s, ctx.clone());
                let h = handler.clone();
                ctx.run(move || h(&socket, reason.as_str()));
            });
    }

    /// Emits an event.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.inner.emit_args(event, args)?)
    }

    /// Emits an event, or drops it when the transport cannot write it now
    /// (busy writing, a long-poll without a pending GET, a full buffer).
    pub fn emit_volatile(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.inner.emit_volatile(event, args)?)
    }

    /// Emits an event asking for an acknowledgement; `done` gets its
    /// arguments, or the error (timeout after `timeout`, else the server's
    /// `ack_timeout`; disconnection).
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        done: impl FnOnce(Result<Vec<Value>, Error>) + Send + 'static,
    ) {
        let s = self.inner.clone();
        let event = event.to_owned();
        let timeout = timeout.unwrap_or_else(|| self.ctx.ack_timeout());
        self.ctx.complete(
            async move {
                s.emit_with_ack_args(&event, args, timeout)
                    .await
                    .map_err(Error::from)
            },
            done,
        );
    }

    /// Joins a room.
    pub fn join(&self, room: &str) -> Result<(), Error> {
        Ok(self.inner.try_join(room)?)
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.inner.leave(room);
    }

    /// The rooms the socket is in, its own id room included.
    pub fn rooms(&self) -> Vec<String> {
        self.inner.rooms().iter().map(|r| r.to_string()).collect()
    }

    /// Disconnects the socket; with `close`, the whole connection.
    pub fn disconnect(&self, close: bool) {
        self.inner.disconnect(close);
    }

    /// A broadcast to every other socket of the namespace.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast {
            op: self.inner.broadcast(),
            ctx: self.ctx.clone(),
        }
    }

    /// A broadcast to the sockets in `room`, this one excluded.
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// A broadcast to every other socket but those in `room`.
    pub fn except(&self, room: &str) -> Broadcast {
        self.broadcast().except(room)
    }
}

/// Acknowledgements collected by [`Broadcast::emit_with_ack`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BroadcastReplies {
    /// Each answering socket's id with its acknowledgement arguments.
    pub replies: Vec<(String, Vec<Value>)>,
    /// Ids of sockets that did not answer in time.
    pub missing: Vec<String>,
    /// The other servers' clients' answers (their first argument each,
    /// as Node forwards them); none without a cluster adapter.
    pub remote: Vec<Value>,
    /// Whether every other server reported and all its clients answered
    /// in time.
    pub remote_complete: bool,
}

impl BroadcastReplies {
    /// Whether every recipient, on every server, answered in time.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.remote_complete
    }
}

/// A socket [`Broadcast::fetch_all_sockets`] found.
#[derive(Debug)]
pub enum FetchedSocket {
    /// A socket of this server.
    Local(Socket),
    /// A socket of another server of the cluster, described as Node
    /// describes it: `{id, handshake, rooms, data}` (act on it with
    /// [`Namespace::to`] its id).
    Remote(Value),
}

/// A broadcast being built: chain operators, then emit or act on the
/// matching sockets. Cheap to clone.
#[derive(Clone)]
pub struct Broadcast {
    op: BroadcastOperator,
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

impl Broadcast {
    fn map(mut self, f: impl FnOnce(BroadcastOperator) -> BroadcastOperator) -> Self {
        self.op = f(self.op);
        self
    }

    /// Adds a target room.
    pub fn to(self, room: &str) -> Self {
        self.map(|o| o.to(room))
    }

    /// Excludes a room.
    pub fn except(self, room: &str) -> Self {
        self.map(|o| o.except(room))
    }

    /// Only this server's sockets (matters with a cluster adapter).
    pub fn local(self) -> Self {
        self.map(BroadcastOperator::local)
    }

    /// Drops the message for sockets whose transport cannot write it now
    /// (busy writing, a long-poll without a pending GET, a full buffer).
    pub fn volatile(self) -> Self {
        self.map(BroadcastOperator::volatile)
    }

    /// Compression hint.
    pub fn compress(self, on: bool) -> Self {
        self.map(|o| o.compress(on))
    }

    /// How long [`Broadcast::emit_with_ack`] waits.
    pub fn timeout(self, t: Duration) -> Self {
        self.map(|o| o.timeout(t))
    }

    /// Emits to every matching socket.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.op.emit_args(event, args)?)
    }

    /// Emits to every matching socket and collects their acknowledgements
    /// until the timeout.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        done: impl FnOnce(Result<BroadcastReplies, Error>) + Send + 'static,
    ) {
        let op = self.op.clone();
        let event = event.to_owned();
        self.ctx.complete(
            async move {
                let acks = op.emit_with_ack_all_args(&event, args).await?;
                Ok(BroadcastReplies {
                    replies: acks
                        .local
                        .responses
                        .into_iter()
                        .map(|(sid, v)| (sid.to_string(), v))
                        .collect(),
                    missing: acks.local.missing.iter().map(|s| s.to_string()).collect(),
                    remote: acks.remote,
                    remote_complete: acks.remote_complete,
                })
            },
            done,
        );
    }

    /// The matching sockets of the whole cluster, handed to `done`
    /// (`fetchSockets` with a cluster adapter): this server's as handles,
    /// the others' described; after the adapter's timeout, what arrived.
    pub fn fetch_all_sockets(
        &self,
        done: impl FnOnce(Result<Vec<FetchedSocket>, Error>) + Send + 'static,
    ) {
        let op = self.op.clone();
        let ctx = self.ctx.clone();
        self.ctx.complete(
            async move {
                Ok(op
                    .fetch_all_sockets()
                    .await
                    .into_iter()
                    .map(|f| match f {
                        sio_core::server::FetchedSocket::Local(s) => {
                            FetchedSocket::Local(Socket::new(s, ctx.clone()))
                        }
                        sio_core::server::FetchedSocket::Remote(r) => {
                            FetchedSocket::Remote(r.to_value())
                        }
                    })
                    .collect())
            },
            done,
        );
    }

    /// The matching sockets, handed to `done` (`fetchSockets`).
    pub fn fetch_sockets(&self, done: impl FnOnce(Result<Vec<Socket>, Error>) + Send + 'static) {
        let op = self.op.clone();
        let ctx = self.ctx.clone();
        self.ctx.complete(
            async move {
                let sockets = op.fetch_sockets().await;
                Ok(sockets
                    .into_iter()
                    .map(|s| Socket::new(s, ctx.clone()))
                    .collect())
            },
            done,
        );
    }

    /// Makes the matching sockets join a room.
    pub fn join(&self, room: &str) {
        self.op.sockets_join(room);
    }

    /// Makes the matching sockets leave a room.
    pub fn leave(&self, room: &str) {
        self.op.sockets_leave(room);
    }

    /// Disconnects the matching sockets; with `close`, their connections.
    pub fn disconnect(&self, close: bool) {
        self.op.disconnect_sockets(close);
    }
}
