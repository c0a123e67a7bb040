use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use engineio::server::Sid;
use futures_util::future::BoxFuture;
use serde::Serialize;

use super::client::{mark_connected, send_packet, EngineSocket};
use super::dynamic::ParentNamespace;
use super::errors::{ConnectError, EmitError};
use super::handshake::Handshake;
use super::operators::BroadcastOperator;
use super::socket::{IntoRooms, Socket};
use super::ServerConfig;
use crate::adapter::{Adapter, RecoveredSession, Room, RoomEvent};
use crate::proto::{Packet, Value};

/// A namespace middleware: accepts the socket or refuses it with a
/// [`ConnectError`].
pub type Middleware =
    Arc<dyn Fn(Arc<Socket>) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync>;
/// Called with each socket that joins the namespace.
pub type ConnectionHandler = Arc<dyn Fn(Arc<Socket>) + Send + Sync>;

fn event_array(event: &str, args: Vec<Value>) -> Vec<Value> {
    std::iter::once(Value::String(event.to_owned()))
        .chain(args)
        .collect()
}

/// A Socket.IO namespace: its sockets, middlewares and adapter.
pub struct Namespace {
    name: String,
    sockets: RwLock<HashMap<Sid, Arc<Socket>>>,
    adapter: Arc<dyn Adapter>,
    middlewares: RwLock<Vec<Middleware>>,
    on_connection: RwLock<Vec<ConnectionHandler>>,
    ack_ids: AtomicU64,
    pub(crate) config: Arc<ServerConfig>,
    parent: Option<Arc<ParentNamespace>>,
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
            adapter,
            middlewares: RwLock::new(Vec::new()),
            on_connection: RwLock::new(Vec::new()),
            ack_ids: AtomicU64::new(0),
            config,
            parent: None,
        }
    }

    pub(crate) fn child(
        name: String,
        adapter: Arc<dyn Adapter>,
        config: Arc<ServerConfig>,
        parent: Arc<ParentNamespace>,
    ) -> Self {
        Namespace {
            parent: Some(parent),
            ..Namespace::new(name, adapter, config)
        }
    }

    /// The parent of a dynamic namespace.
    pub fn parent(&self) -> Option<&Arc<ParentNamespace>> {
        self.parent.as_ref()
    }

    /// The namespace name, e.g. `/` or `/admin`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.adapter
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
        if let Ok(mut h) = self.on_connection.write() {
            h.push(Arc::new(handler));
        }
    }

    /// Adds an async middleware, run in order on every joining socket.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Arc<Socket>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        if let Ok(mut m) = self.middlewares.write() {
            m.push(Arc::new(move |s| Box::pin(middleware(s))));
        }
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
        self.adapter.on_room_event(Arc::new(listener));
    }

    /// The connected socket with that id.
    pub fn get_socket(&self, sid: Sid) -> Option<Arc<Socket>> {
        self.sockets.read().ok()?.get(&sid).cloned()
    }

    /// The connected sockets among `sids`, under one lock: a broadcast to
    /// thousands of sockets should not take the lock thousands of times.
    pub(crate) fn sockets_by_id(&self, sids: Vec<Sid>) -> Vec<Arc<Socket>> {
        match self.sockets.read() {
            Ok(map) => sids
                .iter()
                .filter_map(|sid| map.get(sid).cloned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Every connected socket of this server in the namespace.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.sockets
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn remove(&self, sid: Sid) {
        let empty = match self.sockets.write() {
            Ok(mut s) => {
                s.remove(&sid);
                s.is_empty()
            }
            Err(_) => false,
        };
        if let (true, true, Some(parent)) = (
            empty,
            self.config.cleanup_empty_child_namespaces,
            &self.parent,
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
        self.adapter
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
        self.adapter
            .server_side_emit(event_array(event, args), Some(timeout))
            .await
    }

    /// Every room of the namespace across the cluster.
    pub async fn all_rooms(&self) -> std::collections::HashSet<Room> {
        self.adapter.all_rooms().await
    }

    /// The sockets of the namespace as handles (`fetchSockets`).
    pub async fn fetch_sockets(self: &Arc<Self>) -> Vec<Arc<Socket>> {
        self.broadcast().fetch_sockets().await
    }

    /// Every room of the namespace on this server.
    pub fn rooms(&self) -> Vec<Room> {
        self.adapter.rooms().into_iter().collect()
    }

    /// Runs the middlewares, then admits the socket: reply, own room, then
    /// the connection handlers, as the reference orders them.
    pub(crate) fn connect(ns: &Arc<Self>, client: EngineSocket, auth: Value) {
        let recovered = ns.try_recover(&auth);
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
                let mut all = match &ns.parent {
                    Some(p) => p.middlewares.read().map(|m| m.clone()).unwrap_or_default(),
                    None => Vec::new(),
                };
                all.extend(ns.middlewares.read().map(|m| m.clone()).unwrap_or_default());
                all
            }
        };
        if middlewares.is_empty() {
            ns.admit(&client, socket, recovered);
            return;
        }
        let ns = ns.clone();
        tokio::spawn(async move {
            for m in middlewares {
                if let Err(e) = m(socket.clone()).await {
                    // Rooms a middleware joined must not outlive the refusal.
                    ns.adapter.del_all(socket.id());
                    let refusal = Packet::connect_error(ns.name.as_str(), e.message, e.data);
                    let _ = send_packet(&client, &refusal);
                    return;
                }
            }
            ns.admit(&client, socket, recovered);
        });
    }

    /// The session a reconnecting client asks back with `pid` and `offset`.
    fn try_recover(&self, auth: &Value) -> Option<RecoveredSession> {
        if !self.recovery_enabled() {
            return None;
        }
        let pid = auth.get("pid")?.as_str()?;
        let offset = auth.get("offset")?.as_str()?;
        self.adapter.restore_session(pid, offset)
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
            self.adapter.del_all(socket.id());
            return;
        }
        if let Ok(mut s) = self.sockets.write() {
            s.insert(socket.id(), socket.clone());
        }
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
        let _ = send_packet(
            client,
            &Packet::connect(self.name.as_str(), Some(Value::Object(reply))),
        );
        let mut handlers = match &self.parent {
            Some(p) => p
                .on_connection
                .read()
                .map(|h| h.clone())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        handlers.extend(
            self.on_connection
                .read()
                .map(|h| h.clone())
                .unwrap_or_default(),
        );
        for h in handlers {
            h(socket.clone());
        }
    }
}
