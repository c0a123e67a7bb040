use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use engineio::server::Sid;
use futures_util::future::BoxFuture;
use parking_lot::RwLock;
use serde::Serialize;

use super::client::{
    is_v2, mark_connected, send_messages, send_messages_with, send_packet, EngineSocket,
};
use super::dynamic::ParentNamespace;
use super::errors::{ConnectError, EmitError};
use super::handshake::Handshake;
use super::operators::{BroadcastAcks, BroadcastOperator};
use super::socket::{IntoRooms, Socket};
use super::ServerConfig;
use crate::adapter::{
    Adapter, BroadcastOptions, LocalNamespace, RecoveredSession, RemoteHandshake, RemoteSocket,
    Room, RoomEvent, RoomListener, ServerSideAck,
};
use crate::codec::encode_messages;
use crate::proto::{Packet, Value};

/// A namespace middleware: accepts the socket or refuses it with a
/// [`ConnectError`].
pub type Middleware =
    Arc<dyn Fn(Arc<Socket>) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync>;
/// Called with each socket that joins the namespace.
pub type ConnectionHandler = Arc<dyn Fn(Arc<Socket>) + Send + Sync>;
/// Called with the arguments of a `serverSideEmit` event from another server
/// of the cluster, and the acknowledgement when that server wants one.
pub type ServerSideHandler = Arc<dyn Fn(Vec<Value>, Option<ServerSideAck>) + Send + Sync>;

/// A socket found by [`Namespace::fetch_all_sockets`]: one of this server,
/// or a description of one on another server of the cluster.
#[derive(Debug, Clone)]
pub enum FetchedSocket {
    /// A socket of this server.
    Local(Arc<Socket>),
    /// A socket of another server (act on it with `to(id)`).
    Remote(Box<RemoteSocket>),
}

impl FetchedSocket {
    /// The socket id.
    pub fn id(&self) -> String {
        match self {
            FetchedSocket::Local(s) => s.id().to_string(),
            FetchedSocket::Remote(r) => r.id.clone(),
        }
    }

    /// The socket's rooms, its own id included.
    pub fn rooms(&self) -> Vec<Room> {
        match self {
            FetchedSocket::Local(s) => s.rooms(),
            FetchedSocket::Remote(r) => r.rooms.clone(),
        }
    }

    /// `socket.data`.
    pub fn data(&self) -> Value {
        match self {
            FetchedSocket::Local(s) => s.data(),
            FetchedSocket::Remote(r) => r.data.clone(),
        }
    }

    /// Whether the socket is on this server.
    pub fn is_local(&self) -> bool {
        matches!(self, FetchedSocket::Local(_))
    }
}

fn event_array(event: &str, args: Vec<Value>) -> Vec<Value> {
    std::iter::once(Value::String(event.to_owned()))
        .chain(args)
        .collect()
}

/// A local broadcast with acks under way: the sockets that could not be
/// written to, the packet id, and a wait per socket written to.
pub(crate) struct LocalAcks {
    missing: Vec<Sid>,
    id: u64,
    waits: Vec<(Arc<Socket>, tokio::sync::oneshot::Receiver<Vec<Value>>)>,
}

/// A Socket.IO namespace: its sockets, middlewares and adapter.
pub struct Namespace {
    name: String,
    sockets: RwLock<HashMap<Sid, Arc<Socket>>>,
    /// Replaced only until the first client connects
    /// ([`SocketIo::set_adapter`](super::SocketIo::set_adapter)).
    adapter: RwLock<Arc<dyn Adapter>>,
    /// Kept to register again with a replacement adapter.
    room_listeners: RwLock<Vec<RoomListener>>,
    middlewares: RwLock<Vec<Middleware>>,
    on_connection: RwLock<Vec<ConnectionHandler>>,
    server_side: RwLock<Vec<(String, ServerSideHandler)>>,
    ack_ids: AtomicU64,
    pub(crate) config: Arc<ServerConfig>,
    /// Weak: the server keeps parents alive, and a strong link back from
    /// each child would make parent and children keep one another forever.
    parent: Option<Weak<ParentNamespace>>,
    /// Set once the server dropped this namespace (an empty dynamic child
    /// under `cleanup_empty_child_namespaces`): a later connection to the
    /// name gets a new namespace, and handles on this one are stale.
    removed: AtomicBool,
    /// Sockets in the middlewares: a child is not empty while one may still
    /// be admitted.
    joining: AtomicUsize,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    pub(crate) fn new(name: String, adapter: Arc<dyn Adapter>, config: Arc<ServerConfig>) -> Self {
        Namespace {
            name,
            sockets: RwLock::new(HashMap::new()),
            adapter: RwLock::new(adapter),
            room_listeners: RwLock::new(Vec::new()),
            middlewares: RwLock::new(Vec::new()),
            on_connection: RwLock::new(Vec::new()),
            server_side: RwLock::new(Vec::new()),
            ack_ids: AtomicU64::new(0),
            config,
            parent: None,
            removed: AtomicBool::new(false),
            joining: AtomicUsize::new(0),
        }
    }

    pub(crate) fn child(
        name: String,
        adapter: Arc<dyn Adapter>,
        config: Arc<ServerConfig>,
        parent: Arc<ParentNamespace>,
    ) -> Self {
        Namespace {
            parent: Some(Arc::downgrade(&parent)),
            ..Namespace::new(name, adapter, config)
        }
    }

    /// The parent of a dynamic namespace.
    pub fn parent(&self) -> Option<Arc<ParentNamespace>> {
        self.parent.as_ref().and_then(Weak::upgrade)
    }

    /// Whether the server dropped this namespace (an empty dynamic child
    /// with `cleanup_empty_child_namespaces`); the name now belongs to a new
    /// namespace, if any.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// The namespace name, e.g. `/` or `/admin`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.read().clone()
    }

    /// Puts `adapter` in place of the current one, which is returned; the
    /// room event listeners move over. Only while no client has
    /// connected: the old adapter's rooms are not carried over.
    pub(crate) fn replace_adapter(&self, adapter: Arc<dyn Adapter>) -> Arc<dyn Adapter> {
        // The adapter's lock first, as `on_room_event` takes them: a
        // listener added meanwhile is either copied here or added after.
        let mut slot = self.adapter.write();
        for listener in self.room_listeners.read().iter() {
            adapter.on_room_event(listener.clone());
        }
        std::mem::replace(&mut *slot, adapter)
    }

    pub(crate) fn ack_timeout(&self) -> Duration {
        self.config.ack_timeout
    }

    pub(crate) fn recovery_enabled(&self) -> bool {
        self.config.connection_state_recovery.is_some()
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls `handler` with every socket that joins.
    pub fn on_connection(&self, handler: impl Fn(Arc<Socket>) + Send + Sync + 'static) {
        self.on_connection.write().push(Arc::new(handler));
    }

    /// Adds an async middleware, run in order on every joining socket.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.middlewares
            .write()
            .push(Arc::new(move |s| Box::pin(middleware(s))));
    }

    /// Adds a synchronous middleware.
    pub fn use_fn(
        &self,
        middleware: impl Fn(&Arc<Socket>) -> Result<(), ConnectError> + Send + Sync + 'static,
    ) {
        let middleware = Arc::new(middleware);
        self.use_middleware(move |s| {
            let r = middleware(&s);
            async move { r }
        });
    }

    /// Listens to room events (create, delete, join, leave).
    pub fn on_room_event(&self, listener: impl Fn(&RoomEvent) + Send + Sync + 'static) {
        let listener: RoomListener = Arc::new(listener);
        // Under the adapter's lock, so a replacement sees it or gets it here.
        let adapter = self.adapter.read();
        self.room_listeners.write().push(listener.clone());
        adapter.on_room_event(listener);
    }

    /// The connected socket with that id.
    pub fn get_socket(&self, sid: Sid) -> Option<Arc<Socket>> {
        self.sockets.read().get(&sid).cloned()
    }

    /// The connected sockets among `sids`, under one lock: a broadcast to
    /// thousands of sockets should not take the lock thousands of times.
    pub(crate) fn sockets_by_id(&self, sids: Vec<Sid>) -> Vec<Arc<Socket>> {
        let map = self.sockets.read();
        sids.iter()
            .filter_map(|sid| map.get(sid).cloned())
            .collect()
    }

    /// Every connected socket of this server in the namespace.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.sockets.read().values().cloned().collect()
    }

    pub(crate) fn remove(&self, sid: Sid) {
        self.sockets.write().remove(&sid);
        self.cleanup_if_empty();
    }

    /// Drops an empty dynamic child when `cleanup_empty_child_namespaces` is
    /// on: after its last socket left, or after a refused first one.
    fn cleanup_if_empty(&self) {
        let empty = self.joining.load(Ordering::Acquire) == 0 && self.sockets.read().is_empty();
        if let (true, true, Some(parent)) = (
            empty,
            self.config.cleanup_empty_child_namespaces,
            self.parent(),
        ) {
            parent.remove_child(&self.name);
        }
    }

    /// A broadcast to every socket of the namespace.
    pub fn broadcast(self: &Arc<Self>) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// Targets the sockets in `rooms`.
    pub fn to(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`Namespace::to`].
    pub fn in_(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Targets every socket but those in `rooms`.
    pub fn except(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Emits to every socket of the namespace.
    pub fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.broadcast().emit(event, data)
    }

    /// Sends an event to the other servers of the cluster (never to this
    /// one); with the in-memory adapter there is no one to tell.
    pub async fn server_side_emit(&self, event: &str, args: Vec<Value>) {
        self.adapter()
            .server_side_emit(event_array(event, args), None)
            .await;
    }

    /// Sends an event to the other servers and collects one answer per
    /// server within `timeout`; empty on a single server.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Vec<Value> {
        self.adapter()
            .server_side_emit(event_array(event, args), Some(timeout))
            .await
    }

    /// Every room of the namespace across the cluster.
    pub async fn all_rooms(&self) -> std::collections::HashSet<Room> {
        self.adapter().all_rooms().await
    }

    /// Calls `handler` with the arguments of every `event` another server
    /// sends with `serverSideEmit` (Node's `io.on(event, ...)`); the
    /// acknowledgement is there when the sender used
    /// `serverSideEmitWithAck`.
    pub fn on_server_side_emit(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Vec<Value>, Option<ServerSideAck>) + Send + Sync + 'static,
    ) {
        self.server_side
            .write()
            .push((event.into(), Arc::new(handler)));
    }

    /// How many servers the cluster has, this one included (1 with the
    /// in-memory adapter).
    pub async fn server_count(&self) -> usize {
        self.adapter().server_count().await
    }

    /// The sockets of the namespace as handles (`fetchSockets`), this
    /// server's only; see [`Namespace::fetch_all_sockets`] for the cluster.
    pub async fn fetch_sockets(self: &Arc<Self>) -> Vec<Arc<Socket>> {
        self.broadcast().fetch_sockets().await
    }

    /// The sockets of the namespace across the cluster (`fetchSockets`).
    pub async fn fetch_all_sockets(self: &Arc<Self>) -> Vec<FetchedSocket> {
        self.broadcast().fetch_all_sockets().await
    }

    /// Leaves the cluster: the adapter stops serving other servers.
    pub async fn close_adapter(&self) {
        self.adapter().close().await
    }

    /// The connected local sockets a broadcast with `opts` reaches.
    pub(crate) fn local_targets(&self, opts: &BroadcastOptions) -> Vec<Arc<Socket>> {
        self.sockets_by_id(self.adapter().sockets(opts))
    }

    /// Sends `packet` to the matching local sockets, encoded once; a socket
    /// with a full buffer misses it (logged unless volatile).
    /// Each target's outgoing listeners see the event first; `offset` says
    /// the data ends with a recovery offset they are not shown.
    pub(crate) fn send_local(&self, packet: &Packet, opts: &BroadcastOptions, offset: bool) {
        let msgs = encode_messages(self.config.parser, packet);
        let event = match &packet.data {
            Some(Value::Array(data)) => match data.split_first() {
                Some((Value::String(name), rest)) => Some((
                    name.as_str(),
                    &rest[..rest.len() - usize::from(offset && !rest.is_empty())],
                )),
                _ => None,
            },
            _ => None,
        };
        for s in self.local_targets(opts) {
            if let Some((name, args)) = event {
                s.notify_outgoing(name, args);
            }
            if let Err(e) = send_messages_with(&s.client, &msgs, opts.flags.send_options()) {
                if !opts.flags.volatile {
                    tracing::debug!(sid = %s.id(), error = %e, "broadcast not delivered");
                }
            }
        }
    }

    /// Sends an event expecting acknowledgements to the matching local
    /// sockets: the sockets that could not be written to, and a wait per
    /// socket written to.
    pub(crate) fn start_local_acks(&self, data: Vec<Value>, opts: &BroadcastOptions) -> LocalAcks {
        let mut packet = Packet::event(self.name(), data);
        let id = self.next_ack_id();
        packet.id = Some(id);
        let msgs = encode_messages(self.config.parser, &packet);
        let mut missing = Vec::new();
        let mut waits = Vec::new();
        let event = match packet.data.as_ref() {
            Some(Value::Array(data)) => match data.split_first() {
                Some((Value::String(name), rest)) => Some((name.clone(), rest.to_vec())),
                _ => None,
            },
            _ => None,
        };
        for s in self.local_targets(opts) {
            if let Some((name, args)) = &event {
                s.notify_outgoing(name, args);
            }
            let rx = s.insert_ack(id);
            match send_messages(&s.client, &msgs) {
                Ok(()) => waits.push((s, rx)),
                Err(_) => {
                    s.forget_ack(id);
                    missing.push(s.id());
                }
            }
        }
        LocalAcks { missing, id, waits }
    }

    /// Waits for the acknowledgements [`Namespace::start_local_acks`]
    /// started, each at most `timeout`.
    pub(crate) async fn collect_local_acks(started: LocalAcks, timeout: Duration) -> BroadcastAcks {
        let LocalAcks { missing, id, waits } = started;
        let mut acks = BroadcastAcks {
            responses: Vec::new(),
            missing,
        };
        let results = futures_util::future::join_all(waits.into_iter().map(|(s, rx)| async move {
            let r = tokio::time::timeout(timeout, rx).await;
            s.forget_ack(id);
            (s.id(), r)
        }))
        .await;
        for (sid, r) in results {
            match r {
                Ok(Ok(values)) => acks.responses.push((sid, values)),
                _ => acks.missing.push(sid),
            }
        }
        acks
    }

    /// Every room of the namespace on this server.
    pub fn rooms(&self) -> Vec<Room> {
        self.adapter().rooms().into_iter().collect()
    }

    fn server_side_handlers(&self, event: &str) -> Vec<ServerSideHandler> {
        self.server_side
            .read()
            .iter()
            .filter(|(e, _)| e == event)
            .map(|(_, h)| h.clone())
            .collect()
    }

    /// Runs the middlewares, then admits the socket: reply, own room, then
    /// the connection handlers, as the reference orders them.
    pub(crate) fn connect(ns: &Arc<Self>, client: EngineSocket, auth: Value) {
        let Some(mut restore) = ns.try_recover(&auth) else {
            Self::connect_with(ns, client, auth, None, false);
            return;
        };
        // A session kept in memory is there at once; one kept by a broker
        // comes later, and the connection waits for it off this thread.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(recovered) = restore.as_mut().poll(&mut cx) {
            Self::connect_with(ns, client, auth, recovered, false);
            return;
        }
        let ns = ns.clone();
        ns.joining.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            let recovered = restore.await;
            Self::connect_with(&ns, client, auth, recovered, true);
            ns.joining.fetch_sub(1, Ordering::AcqRel);
            ns.cleanup_if_empty();
        });
    }

    /// Connects a socket, with the session it recovered if any; `detached`
    /// when this runs off the session's task (whose packets then wait for
    /// the connection handlers, as they do when it runs on it).
    fn connect_with(
        ns: &Arc<Self>,
        client: EngineSocket,
        auth: Value,
        recovered: Option<RecoveredSession>,
        detached: bool,
    ) {
        let handshake = Handshake::new(client.req(), auth);
        let skip_middlewares = recovered.is_some()
            && ns
                .config
                .connection_state_recovery
                .as_ref()
                .is_some_and(|r| r.skip_middlewares);
        let session = recovered.as_ref().map(|r| &r.session);
        let socket = Arc::new(Socket::new(ns.clone(), client.clone(), handshake, session));
        let middlewares = match skip_middlewares {
            true => Vec::new(),
            false => {
                let mut all = match ns.parent() {
                    Some(p) => p.middlewares.read().clone(),
                    None => Vec::new(),
                };
                all.extend(ns.middlewares.read().clone());
                all
            }
        };
        if middlewares.is_empty() {
            if detached {
                socket.hold_packets();
                ns.admit(&client, socket.clone(), recovered);
                socket.release_packets();
            } else {
                ns.admit(&client, socket, recovered);
            }
            return;
        }
        socket.hold_packets();
        let ns = ns.clone();
        ns.joining.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            for m in middlewares {
                if let Err(e) = run_middleware(&m, &socket).await {
                    // Rooms a middleware joined must not outlive the refusal.
                    ns.adapter().del_all(socket.id());
                    let refusal = if is_v2(&client) {
                        // A v2 client takes the error itself: the data, or
                        // else the message.
                        let error = e.data.unwrap_or(Value::String(e.message));
                        Packet::connect_error_v2(ns.name.as_str(), error)
                    } else {
                        Packet::connect_error(ns.name.as_str(), e.message, e.data)
                    };
                    let _ = send_packet(&client, &refusal);
                    ns.joining.fetch_sub(1, Ordering::AcqRel);
                    ns.cleanup_if_empty();
                    return;
                }
            }
            ns.admit(&client, socket.clone(), recovered);
            socket.release_packets();
            ns.joining.fetch_sub(1, Ordering::AcqRel);
            // The client may have left while the middlewares ran.
            ns.cleanup_if_empty();
        });
    }

    /// The lookup of the session a reconnecting client asks back with `pid`
    /// and `offset`; `None` when it asks for none.
    fn try_recover(&self, auth: &Value) -> Option<BoxFuture<'static, Option<RecoveredSession>>> {
        if !self.recovery_enabled() {
            return None;
        }
        let pid = auth.get("pid")?.as_str()?;
        let offset = auth.get("offset")?.as_str()?;
        Some(self.adapter().restore_session(pid, offset))
    }

    /// Admits a socket: missed packets first (a recovered session), then the
    /// CONNECT reply, then the connection handlers, as the reference orders
    /// them.
    fn admit(
        &self,
        client: &EngineSocket,
        socket: Arc<Socket>,
        recovered: Option<RecoveredSession>,
    ) {
        if !mark_connected(client, &socket) {
            self.adapter().del_all(socket.id());
            return;
        }
        self.sockets.write().insert(socket.id(), socket.clone());
        socket.set_connected();
        socket.join(socket.id());
        if let Some(r) = recovered {
            socket.join(r.session.rooms);
            for data in r.missed_packets {
                let _ = send_packet(client, &Packet::event(self.name.as_str(), data));
            }
        }
        let mut reply = indexmap::IndexMap::new();
        reply.insert("sid".to_owned(), Value::String(socket.id().to_string()));
        if let Some(pid) = socket.pid() {
            reply.insert("pid".to_owned(), Value::String(pid.to_owned()));
        }
        // A v2 client takes the engine's id as its own and expects no body.
        let reply = (!is_v2(client)).then_some(Value::Object(reply));
        let _ = send_packet(client, &Packet::connect(self.name.as_str(), reply));
        let mut handlers = match self.parent() {
            Some(p) => p.on_connection.read().clone(),
            None => Vec::new(),
        };
        handlers.extend(self.on_connection.read().clone());
        if let Some(observers) = client.data.observers() {
            observers.each(|o| o.socket_connected(&socket));
        }
        for h in handlers {
            h(socket.clone());
        }
    }
}

impl LocalNamespace for Namespace {
    fn local_name(&self) -> &str {
        &self.name
    }

    fn deliver(&self, mut data: Vec<Value>, opts: &BroadcastOptions, offset: Option<String>) {
        let has_offset = offset.is_some();
        if let Some(offset) = offset {
            data.push(Value::String(offset));
        }
        self.send_local(&Packet::event(self.name.as_str(), data), opts, has_offset);
    }

    fn deliver_with_ack(
        &self,
        data: Vec<Value>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> (u64, tokio::sync::mpsc::UnboundedReceiver<Vec<Value>>) {
        let LocalAcks { id, waits, .. } = self.start_local_acks(data, opts);
        let count = waits.len() as u64;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if !waits.is_empty() {
            let wait_all = futures_util::future::join_all(waits.into_iter().map(|(s, r)| {
                let tx = tx.clone();
                async move {
                    if let Ok(Ok(values)) = tokio::time::timeout(timeout, r).await {
                        let _ = tx.send(values);
                    }
                    s.forget_ack(id);
                }
            }));
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(wait_all);
                }
                Err(_) => tracing::warn!("no tokio runtime: remote broadcast acks dropped"),
            }
        }
        (count, rx)
    }

    fn apply_join(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in self.local_targets(opts) {
            s.join(rooms.to_vec());
        }
    }

    fn apply_leave(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in self.local_targets(opts) {
            for r in rooms {
                s.leave(r);
            }
        }
    }

    fn apply_disconnect(&self, opts: &BroadcastOptions, close: bool) {
        for s in self.local_targets(opts) {
            s.disconnect(close);
        }
    }

    fn describe_sockets(&self, opts: &BroadcastOptions) -> Vec<RemoteSocket> {
        self.local_targets(opts)
            .into_iter()
            .map(|s| RemoteSocket {
                id: s.id().to_string(),
                handshake: RemoteHandshake::from(s.handshake()),
                rooms: s.rooms(),
                data: s.data(),
            })
            .collect()
    }

    fn receive_server_side_emit(&self, data: Vec<Value>, ack: Option<ServerSideAck>) {
        let mut data = data.into_iter();
        let Some(Value::String(event)) = data.next() else {
            tracing::debug!(nsp = %self.name, "serverSideEmit without an event name dropped");
            return;
        };
        let args: Vec<Value> = data.collect();
        for h in self.server_side_handlers(&event) {
            h(args.clone(), ack.clone());
        }
    }
}

/// Runs one middleware, turning a panic (while building its future or
/// while polling it) into a refusal: a middleware that cannot finish has
/// not let the socket in.
async fn run_middleware(m: &Middleware, socket: &Arc<Socket>) -> Result<(), ConnectError> {
    use futures_util::FutureExt;
    use std::panic::AssertUnwindSafe;
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| m(socket.clone()))) {
        Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    outcome.unwrap_or_else(|_| {
        tracing::error!("a middleware panicked; connection refused");
        Err(ConnectError::new("Internal server error"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocketIo;

    /// A panic while a namespace's middleware list is locked must not
    /// empty the list for later connections: the list is what keeps
    /// unauthenticated sockets out, so its lock fails closed.
    #[tokio::test]
    async fn middlewares_survive_a_panic_under_their_lock() {
        let io = SocketIo::new(Default::default());
        let ns = io.of("/");
        ns.use_middleware(|_| async { Err(ConnectError::new("refused")) });
        let poisoner = ns.clone();
        let panicked = std::thread::spawn(move || {
            let _guard = poisoner.middlewares.write();
            panic!("panic while the middleware list is locked");
        })
        .join()
        .is_err();
        assert!(panicked);
        assert_eq!(ns.middlewares.read().len(), 1);
        let handlers = ns.clone();
        let _ = std::thread::spawn(move || {
            let _guard = handlers.on_connection.write();
            panic!("panic while the handler list is locked");
        })
        .join();
        ns.on_connection(|_| {});
        assert_eq!(ns.on_connection.read().len(), 1);
    }
}
