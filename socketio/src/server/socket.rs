use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engineio::server::{SendOptions, Sid};
use futures_util::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use super::client::{send_messages_with, send_packet, Client, EngineSocket};
use super::errors::{AckError, EmitError, JoinError};
use super::handshake::Handshake;
use super::namespace::Namespace;
use super::operators::BroadcastOperator;
use super::reason::DisconnectReason;
use crate::adapter::{BroadcastOptions, Room, SessionToPersist};
use crate::codec::encode_messages;
use crate::proto::{from_value, to_value, Packet, PacketType, Value};

/// An event handler: the socket, the arguments after the event name, and the
/// acknowledgement callback when the client asked for one.
pub type EventHandler = Arc<dyn Fn(Arc<Socket>, Vec<Value>, Option<AckSender>) + Send + Sync>;
/// The handler of events that have no handler of their own: the socket, the
/// event name, its arguments and the acknowledgement callback.
pub type FallbackHandler =
    Arc<dyn Fn(Arc<Socket>, &str, Vec<Value>, Option<AckSender>) + Send + Sync>;
/// A listener for every event (`onAny`, `onAnyOutgoing`).
pub type AnyListener = Arc<dyn Fn(&Arc<Socket>, &str, &[Value]) + Send + Sync>;
/// A per-event middleware (`socket.use`): may edit the arguments, or refuse
/// the event with an error that reaches the socket's `error` handler.
pub type EventMiddleware =
    Arc<dyn Fn(&Arc<Socket>, &str, &mut Vec<Value>) -> Result<(), Value> + Send + Sync>;
/// A disconnect or disconnecting handler.
pub type DisconnectHandler = Arc<dyn Fn(Arc<Socket>, DisconnectReason) + Send + Sync>;
/// A handler of middleware errors.
pub type ErrorHandler = Arc<dyn Fn(Arc<Socket>, Value) + Send + Sync>;

/// Who is waiting for an acknowledgement the socket asked for.
enum AckSlot {
    /// A future, through a channel.
    Wait(oneshot::Sender<Vec<Value>>),
    /// A callback, called where the answer is read: in the order of the
    /// connection's packets, before the events that follow it.
    Call(Box<dyn FnOnce(Result<Vec<Value>, AckError>) + Send>),
}

impl AckSlot {
    fn settle(self, r: Result<Vec<Value>, AckError>) {
        match (self, r) {
            (AckSlot::Wait(tx), Ok(v)) => {
                let _ = tx.send(v);
            }
            // Dropping the sender tells the waiter the socket is gone.
            (AckSlot::Wait(_), Err(_)) => {}
            (AckSlot::Call(f), r) => f(r),
        }
    }
}

#[derive(Default)]
struct Handlers {
    events: HashMap<String, EventHandler>,
    fallback: Option<FallbackHandler>,
    any: Vec<(u64, AnyListener)>,
    any_outgoing: Vec<(u64, AnyListener)>,
    middlewares: Vec<EventMiddleware>,
    disconnecting: Vec<DisconnectHandler>,
    disconnect: Vec<DisconnectHandler>,
    error: Vec<ErrorHandler>,
}

/// A client's connection to one namespace.
pub struct Socket {
    id: Sid,
    serial: u64,
    room: Room,
    pub(crate) ns: Arc<Namespace>,
    pub(crate) client: EngineSocket,
    handshake: Handshake,
    handlers: RwLock<Handlers>,
    listener_ids: AtomicU64,
    /// Whether `any_outgoing` has listeners: read on every broadcast
    /// delivery, so the common case costs one load, not a lock.
    has_outgoing: AtomicBool,
    acks: Mutex<HashMap<u64, AckSlot>>,
    connected: AtomicBool,
    pid: Option<String>,
    recovered: bool,
    data: RwLock<Value>,
    extensions: Mutex<http::Extensions>,
    /// Set while a socket admitted off its session's task runs its
    /// connection handlers: its packets wait in `held` meanwhile, so none
    /// reaches it before the handlers that register for it (socket.io runs
    /// them in the same turn as the CONNECT reply).
    holding: AtomicBool,
    held: Mutex<Option<Vec<Held>>>,
}

/// What waits for a socket's connection handlers.
enum Held {
    /// A packet of the client's for the socket.
    Packet(Packet),
    /// The connection closed.
    Close(DisconnectReason),
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("nsp", &self.ns.name())
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

/// The serial of the next socket made in this process.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

impl Socket {
    pub(crate) fn new(
        ns: Arc<Namespace>,
        client: EngineSocket,
        handshake: Handshake,
        session: Option<&SessionToPersist>,
    ) -> Self {
        let id = match session {
            Some(s) => s.sid,
            // A v2 client in the main namespace goes by the engine's id, as
            // with the reference (elsewhere it would be `/nsp#<engine id>`,
            // which is no socket id here: such a socket gets its own).
            None if client.protocol() == 3 && ns.name() == "/" => {
                Sid::parse(client.id().as_str()).unwrap_or_default()
            }
            None => Sid::new(),
        };
        let pid = match session {
            Some(s) => Some(s.pid.clone()),
            None => ns.recovery_enabled().then(|| Sid::new().to_string()),
        };
        let data = session.map(|s| s.data.clone()).unwrap_or(Value::Null);
        Socket {
            id,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            room: Room::from(id.as_str()),
            ns,
            client,
            handshake,
            handlers: RwLock::new(Handlers::default()),
            listener_ids: AtomicU64::new(0),
            has_outgoing: AtomicBool::new(false),
            acks: Mutex::new(HashMap::new()),
            connected: AtomicBool::new(false),
            pid,
            recovered: session.is_some(),
            data: RwLock::new(data),
            holding: AtomicBool::new(false),
            held: Mutex::new(None),
            extensions: Mutex::new(http::Extensions::new()),
        }
    }

    /// The socket id (not the Engine.IO session id).
    pub fn id(&self) -> Sid {
        self.id
    }

    /// A number no other socket of this process has (from 1, in order of
    /// creation): a key for an embedder's tables that costs no storage
    /// and no hashing of the id.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The namespace the socket belongs to.
    pub fn nsp(&self) -> &str {
        self.ns.name()
    }

    /// The namespace object.
    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.ns
    }

    /// How the socket connected.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The Engine.IO session id of the underlying connection.
    pub fn conn_id(&self) -> engineio::server::SessionId {
        self.client.id()
    }

    /// The name of the transport carrying the connection.
    pub fn transport(&self) -> &'static str {
        self.client.transport().as_str()
    }

    /// The private session id, when connection state recovery is on.
    pub fn pid(&self) -> Option<&str> {
        self.pid.as_deref()
    }

    /// Whether the socket resumed an earlier session (connection state
    /// recovery).
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub(crate) fn set_connected(&self) {
        self.connected.store(true, Ordering::Release);
    }

    /// The per-socket data (`socket.data`).
    pub fn data(&self) -> Value {
        self.data.read().clone()
    }

    /// Replaces the per-socket data.
    pub fn set_data(&self, data: impl Into<Value>) {
        self.replace_data(data.into());
        // Data set by a middleware is part of the connection the observers
        // hear of next, not an update.
        if !self.connected() {
            return;
        }
        if let Some(observers) = self.client.data.observers() {
            observers.each(|o| o.socket_data_changed(self));
        }
    }

    /// Replaces the per-socket data without telling the observers.
    pub(crate) fn replace_data(&self, data: Value) {
        *self.data.write() = data;
    }

    /// Typed per-socket storage for Rust values.
    pub fn extensions(&self) -> parking_lot::MutexGuard<'_, http::Extensions> {
        self.extensions.lock()
    }

    fn with_handlers(&self, f: impl FnOnce(&mut Handlers)) {
        f(&mut self.handlers.write());
    }

    /// Handles an event with dynamic arguments.
    ///
    /// The handler runs on the connection's task, in arrival order; spawn a
    /// task inside it for slow work, or use [`Socket::on_async`].
    pub fn on<F>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Arc<Socket>, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    {
        let event = event.into();
        self.with_handlers(|h| {
            h.events.insert(event, Arc::new(handler));
        });
    }

    /// Handles the events that have no handler of their own, with their
    /// acknowledgement (python-socketio's `'*'` handler; the reference
    /// server drops such events). Replaces the previous one.
    pub fn on_fallback<F>(&self, handler: F)
    where
        F: Fn(Arc<Socket>, &str, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    {
        self.with_handlers(|h| h.fallback = Some(Arc::new(handler)));
    }

    /// Removes the fallback handler.
    pub fn off_fallback(&self) {
        self.with_handlers(|h| h.fallback = None);
    }

    /// Handles an event whose first argument deserializes into `T`; events
    /// whose payload does not fit are logged and dropped.
    pub fn on_typed<T, F>(&self, event: impl Into<String>, handler: F)
    where
        T: DeserializeOwned,
        F: Fn(Arc<Socket>, T, Option<AckSender>) + Send + Sync + 'static,
    {
        let event = event.into();
        let name = event.clone();
        self.on(event, move |socket, args, ack| {
            let first = args.into_iter().next().unwrap_or(Value::Null);
            match from_value::<T>(first) {
                Ok(data) => handler(socket, data, ack),
                Err(e) => tracing::debug!(event = %name, error = %e, "event payload does not fit the handler"),
            }
        });
    }

    /// Handles an event with an async handler, spawned on the runtime; order
    /// between events is then up to the scheduler.
    pub fn on_async<F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Arc<Socket>, Vec<Value>, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.on(event, move |socket, args, ack| {
            tokio::spawn(handler(socket, args, ack));
        });
    }

    /// Removes the handler of an event.
    pub fn off(&self, event: &str) {
        self.with_handlers(|h| {
            h.events.remove(event);
        });
    }

    /// Listens to every incoming event; returns an id for [`Socket::off_any`].
    pub fn on_any(
        &self,
        listener: impl Fn(&Arc<Socket>, &str, &[Value]) + Send + Sync + 'static,
    ) -> u64 {
        let id = self.listener_ids.fetch_add(1, Ordering::Relaxed);
        self.with_handlers(|h| h.any.push((id, Arc::new(listener))));
        id
    }

    /// Like [`Socket::on_any`], but called before the listeners already there.
    pub fn prepend_any(
        &self,
        listener: impl Fn(&Arc<Socket>, &str, &[Value]) + Send + Sync + 'static,
    ) -> u64 {
        let id = self.listener_ids.fetch_add(1, Ordering::Relaxed);
        self.with_handlers(|h| h.any.insert(0, (id, Arc::new(listener))));
        id
    }

    /// Removes one catch-all listener, or all of them with `None`.
    pub fn off_any(&self, id: Option<u64>) {
        self.with_handlers(|h| match id {
            Some(id) => h.any.retain(|(i, _)| *i != id),
            None => h.any.clear(),
        });
    }

    /// Listens to every outgoing event of this socket.
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Arc<Socket>, &str, &[Value]) + Send + Sync + 'static,
    ) -> u64 {
        let id = self.listener_ids.fetch_add(1, Ordering::Relaxed);
        self.with_handlers(|h| {
            h.any_outgoing.push((id, Arc::new(listener)));
            self.has_outgoing.store(true, Ordering::Release);
        });
        id
    }

    /// Removes one outgoing listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<u64>) {
        self.with_handlers(|h| {
            match id {
                Some(id) => h.any_outgoing.retain(|(i, _)| *i != id),
                None => h.any_outgoing.clear(),
            }
            self.has_outgoing
                .store(!h.any_outgoing.is_empty(), Ordering::Release);
        });
    }

    /// Tells the outgoing listeners about an event sent to this socket,
    /// direct or broadcast, as the reference's `notifyOutgoingListeners`.
    pub(crate) fn notify_outgoing(self: &Arc<Self>, event: &str, args: &[Value]) {
        if !self.has_outgoing.load(Ordering::Acquire) {
            return;
        }
        let outgoing = self.handlers.read().any_outgoing.clone();
        for (_, l) in &outgoing {
            l(self, event, args);
        }
    }

    /// Adds a per-event middleware (`socket.use`).
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Arc<Socket>, &str, &mut Vec<Value>) -> Result<(), Value>
            + Send
            + Sync
            + 'static,
    ) {
        self.with_handlers(|h| h.middlewares.push(Arc::new(middleware)));
    }

    /// Called when a middleware refuses an event, and when the connection
    /// sends a packet the parser cannot read (with the reference parser's
    /// message, e.g. `"Illegal attachments"`), before it is closed.
    pub fn on_error(&self, handler: impl Fn(Arc<Socket>, Value) + Send + Sync + 'static) {
        self.with_handlers(|h| h.error.push(Arc::new(handler)));
    }

    /// Called when the socket is about to disconnect, still in its rooms.
    pub fn on_disconnecting(
        &self,
        handler: impl Fn(Arc<Socket>, DisconnectReason) + Send + Sync + 'static,
    ) {
        self.with_handlers(|h| h.disconnecting.push(Arc::new(handler)));
    }

    /// Called once the socket has disconnected.
    pub fn on_disconnect(
        &self,
        handler: impl Fn(Arc<Socket>, DisconnectReason) + Send + Sync + 'static,
    ) {
        self.with_handlers(|h| h.disconnect.push(Arc::new(handler)));
    }

    /// Emits an event with one argument.
    pub fn emit<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.emit_args(event, vec![to_value(data)?])
    }

    /// Emits an event with any number of arguments.
    pub fn emit_args(self: &Arc<Self>, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.send_event(event, args, None, SendOptions::default())
    }

    /// Emits an event as `opts` say: socket.io's `socket.volatile.emit()`
    /// (`volatile`, see [`Socket::emit_volatile`]) and
    /// `socket.compress(false).emit()` (`compress: false`: sent
    /// uncompressed even where the transport compresses).
    pub fn emit_with(
        self: &Arc<Self>,
        event: &str,
        args: Vec<Value>,
        opts: SendOptions,
    ) -> Result<(), EmitError> {
        self.send_event(event, args, None, opts)
    }

    /// Emits an event unless the transport cannot write it now (a
    /// long-poll without a pending GET, a WebSocket still writing earlier
    /// packets, a full buffer), in which case it is silently dropped (the
    /// reference's `volatile`).
    pub fn emit_volatile(self: &Arc<Self>, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let opts = SendOptions {
            volatile: true,
            ..SendOptions::default()
        };
        self.send_event(event, args, None, opts)
    }

    fn send_event(
        self: &Arc<Self>,
        event: &str,
        args: Vec<Value>,
        id: Option<u64>,
        send: SendOptions,
    ) -> Result<(), EmitError> {
        let volatile = send.volatile;
        // With recovery on, an emit to one socket is a broadcast to its own
        // room through the adapter, so it is stored and gets an offset, as
        // the reference: a client briefly away gets it on recovery.
        let stored = id.is_none() && !volatile && self.ns.recovery_enabled();
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        if stored {
            data.extend(args);
            let mut opts = BroadcastOptions {
                rooms: vec![self.room.clone()],
                ..Default::default()
            };
            if !send.compress {
                opts.flags.compress = Some(false);
            }
            self.ns.adapter().broadcast(data, &opts, &*self.ns);
            return Ok(());
        }
        if !self.connected() {
            return Err(EmitError::Disconnected);
        }
        self.notify_outgoing(event, &args);
        data.extend(args);
        let mut packet = Packet::event(self.ns.name(), data);
        packet.id = id;
        let msgs = encode_messages(self.client.data.parser(), &packet);
        match send_messages_with(&self.client, &msgs, send) {
            Err(EmitError::Full) if volatile => Ok(()),
            r => r,
        }
    }

    /// Emits an event and waits for the client's acknowledgement, for at most
    /// the server's `ack_timeout`.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        data: &T,
    ) -> Result<Vec<Value>, AckError> {
        let args = vec![to_value(data).map_err(EmitError::from)?];
        self.emit_with_ack_args(event, args, self.ns.ack_timeout())
            .await
    }

    /// Emits an event and deserializes the first value of the acknowledgement.
    pub async fn emit_with_ack_typed<R: DeserializeOwned, T: Serialize + ?Sized>(
        self: &Arc<Self>,
        event: &str,
        data: &T,
    ) -> Result<R, AckError> {
        let values = self.emit_with_ack(event, data).await?;
        from_value(values.into_iter().next().unwrap_or(Value::Null)).map_err(AckError::Deserialize)
    }

    /// Emits an event with any arguments and waits up to `timeout` for the
    /// acknowledgement.
    pub async fn emit_with_ack_args(
        self: &Arc<Self>,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, AckError> {
        let (id, rx) = self.register_ack();
        if let Err(e) = self.send_event(event, args, Some(id), SendOptions::default()) {
            self.forget_ack(id);
            return Err(e.into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(AckError::Disconnected),
            Err(_) => {
                self.forget_ack(id);
                Err(AckError::Timeout)
            }
        }
    }

    /// An emitter whose acknowledgements wait at most `timeout`.
    pub fn timeout(self: &Arc<Self>, timeout: Duration) -> TimeoutEmitter {
        TimeoutEmitter {
            socket: self.clone(),
            timeout,
        }
    }

    pub(crate) fn register_ack(&self) -> (u64, oneshot::Receiver<Vec<Value>>) {
        let id = self.ns.next_ack_id();
        (id, self.insert_ack(id))
    }

    pub(crate) fn insert_ack(&self, id: u64) -> oneshot::Receiver<Vec<Value>> {
        let (tx, rx) = oneshot::channel();
        self.acks.lock().insert(id, AckSlot::Wait(tx));
        rx
    }

    /// Emits an event asking for an acknowledgement and calls `done` with
    /// it, or with the reason there is none (emit failure, `timeout`, the
    /// socket disconnecting). An answer calls `done` on the connection's
    /// task as its packet is read, so it comes before the client's later
    /// events, as in the reference; for callers (like another language's
    /// event loop) that must see the two in order. The timeout is armed on
    /// the current Tokio runtime: call it from a task or inside
    /// `Handle::enter`. `opts` as [`Socket::emit_with`]'s (a volatile
    /// emit that is dropped times out).
    pub fn emit_with_ack_then(
        self: &Arc<Self>,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
        opts: SendOptions,
        done: impl FnOnce(Result<Vec<Value>, AckError>) + Send + 'static,
    ) {
        let id = self.ns.next_ack_id();
        self.acks.lock().insert(id, AckSlot::Call(Box::new(done)));
        if let Err(e) = self.send_event(event, args, Some(id), opts) {
            self.settle_ack(id, Err(e.into()));
            return;
        }
        // A wait of a year or more is no timeout (JavaScript's Infinity):
        // no timer is left sleeping for it.
        if timeout >= Duration::from_secs(365 * 24 * 3600) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("emit_with_ack_then outside a Tokio runtime: no timeout");
            return;
        };
        let me = Arc::downgrade(self);
        rt.spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(me) = me.upgrade() {
                me.settle_ack(id, Err(AckError::Timeout));
            }
        });
    }

    fn settle_ack(&self, id: u64, r: Result<Vec<Value>, AckError>) {
        let slot = self.acks.lock().remove(&id);
        if let Some(slot) = slot {
            slot.settle(r);
        }
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        self.acks.lock().remove(&id);
    }

    /// Joins rooms. Rooms past `max_rooms_per_socket` are not joined (and
    /// logged); use [`Socket::try_join`] to be told.
    pub fn join(&self, rooms: impl IntoRooms) {
        if let Err(e) = self.try_join(rooms) {
            tracing::warn!(sid = %self.id, error = %e, "join refused");
        }
    }

    /// Joins rooms, or none of them when that would take the socket past
    /// `max_rooms_per_socket` (its own id room not counted).
    pub fn try_join(&self, rooms: impl IntoRooms) -> Result<(), JoinError> {
        let rooms = rooms.into_rooms();
        let max = self.ns.config.max_rooms_per_socket;
        let current = self.ns.adapter().socket_rooms(self.id);
        let new = rooms
            .iter()
            .filter(|r| !current.contains(r) && **r != self.room)
            .count();
        let owned = current.iter().filter(|r| **r != self.room).count();
        if owned + new > max {
            return Err(JoinError::TooManyRooms { max });
        }
        self.ns.adapter().add_all(self.id, &rooms);
        Ok(())
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.ns.adapter().del(self.id, room);
    }

    /// The rooms the socket is in, its own id room included.
    pub fn rooms(&self) -> Vec<Room> {
        self.ns.adapter().socket_rooms(self.id)
    }

    /// Targets the sockets in `rooms`, this socket excluded.
    pub fn to(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`Socket::to`].
    pub fn in_(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.to(rooms)
    }

    /// Targets every socket of the namespace but those in `rooms` and this one.
    pub fn except(self: &Arc<Self>, rooms: impl IntoRooms) -> BroadcastOperator {
        self.broadcast().except(rooms)
    }

    /// Targets every socket of the namespace but this one.
    pub fn broadcast(self: &Arc<Self>) -> BroadcastOperator {
        BroadcastOperator::new(self.ns.clone()).except(self.room.clone())
    }

    /// Disconnects the socket; with `close` the whole underlying connection
    /// (every namespace) closes too.
    pub fn disconnect(self: &Arc<Self>, close: bool) {
        if close {
            // As the reference: every namespace of the connection is left
            // with a DISCONNECT packet (so the client does not reconnect),
            // then the connection closes once those are written.
            for s in Client::sockets(&self.client) {
                s.disconnect(false);
            }
            Client::close(&self.client, DisconnectReason::ForcedServerClose);
        } else if self.on_close(DisconnectReason::ServerNamespaceDisconnect) {
            // The handlers have run before the client can learn of the
            // disconnect, so whatever it sends in reply is seen after them,
            // as on the single-threaded reference.
            let _ = send_packet(&self.client, &Packet::disconnect(self.ns.name()));
        }
    }

    /// Makes the socket's packets wait until [`Socket::release_packets`].
    pub(crate) fn hold_packets(&self) {
        *self.held.lock() = Some(Vec::new());
        self.holding.store(true, Ordering::Release);
    }

    /// Handles the packets that waited, in arrival order, then lets the
    /// next ones through directly.
    pub(crate) fn release_packets(self: &Arc<Self>) {
        loop {
            let batch = {
                let mut held = self.held.lock();
                match held.as_mut() {
                    Some(q) if !q.is_empty() => std::mem::take(q),
                    _ => {
                        *held = None;
                        self.holding.store(false, Ordering::Release);
                        return;
                    }
                }
            };
            // What was held arrived together, as one turn of socket.io's
            // loop, where acknowledgements and a disconnection take effect a
            // tick before events are handled: an event sent with its
            // DISCONNECT is ignored, as there.
            let mut events = Vec::new();
            for h in batch {
                match h {
                    Held::Packet(p)
                        if matches!(p.kind, PacketType::Event | PacketType::BinaryEvent) =>
                    {
                        events.push(p)
                    }
                    Held::Packet(p) => self.dispatch(p),
                    Held::Close(reason) => {
                        self.on_close(reason);
                    }
                }
            }
            for p in events {
                if self.connected() {
                    self.dispatch(p);
                }
            }
        }
    }

    /// The connection closed: the socket closes now, or after the held
    /// packets when its connection handlers are still running (the
    /// `disconnect` handlers they register must hear it).
    pub(crate) fn connection_closed(self: &Arc<Self>, reason: DisconnectReason) {
        if self.holding.load(Ordering::Acquire) {
            let mut held = self.held.lock();
            if let Some(q) = held.as_mut() {
                q.push(Held::Close(reason));
                return;
            }
        }
        self.on_close(reason);
    }

    /// A packet of the client's for this socket: an event, an ack or a
    /// namespace disconnect, handled now or after the held ones.
    pub(crate) fn receive(self: &Arc<Self>, packet: Packet) {
        if self.holding.load(Ordering::Acquire) {
            let mut held = self.held.lock();
            if let Some(q) = held.as_mut() {
                q.push(Held::Packet(packet));
                return;
            }
        }
        self.dispatch(packet);
    }

    fn dispatch(self: &Arc<Self>, packet: Packet) {
        match packet.kind {
            PacketType::Event | PacketType::BinaryEvent => self.on_event(packet),
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(packet),
            _ => {
                self.on_close(DisconnectReason::ClientNamespaceDisconnect);
            }
        }
    }

    /// Dispatches an incoming event: catch-all listeners, middlewares, then
    /// the handler.
    pub(crate) fn on_event(self: &Arc<Self>, packet: Packet) {
        let id = packet.id;
        let mut args = match packet.data {
            Some(Value::Array(items)) => items,
            _ => return,
        };
        if args.is_empty() {
            return;
        }
        let name = match args.remove(0) {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        let (any, middlewares, handler, fallback, error) = {
            let h = self.handlers.read();
            let handler = h.events.get(&name).cloned();
            let fallback = match handler {
                None => h.fallback.clone(),
                Some(_) => None,
            };
            (
                h.any.clone(),
                h.middlewares.clone(),
                handler,
                fallback,
                h.error.clone(),
            )
        };
        for (_, l) in &any {
            l(self, &name, &args);
        }
        for m in &middlewares {
            if let Err(err) = m(self, &name, &mut args) {
                for e in &error {
                    e(self.clone(), err.clone());
                }
                return;
            }
        }
        let ack = id.map(|id| AckSender {
            socket: self.clone(),
            id,
        });
        if let Some(handler) = handler {
            handler(self.clone(), args, ack);
        } else if let Some(fallback) = fallback {
            fallback(self.clone(), &name, args, ack);
        }
    }

    /// Hands an error to the `error` handlers: the connection sent what the
    /// parser cannot read (the reference's `Client.onerror`, just before it
    /// closes the connection).
    pub(crate) fn report_error(self: &Arc<Self>, err: Value) {
        let error = self.handlers.read().error.clone();
        for e in &error {
            e(self.clone(), err.clone());
        }
    }

    pub(crate) fn on_ack(&self, packet: Packet) {
        let Some(id) = packet.id else { return };
        self.settle_ack(id, Ok(packet.into_args()));
    }

    /// Tears the socket down once: `disconnecting` (rooms still there),
    /// rooms left, pending acks failed, then `disconnect`.
    /// Runs the close sequence once; false when the socket was already
    /// closed.
    pub(crate) fn on_close(self: &Arc<Self>, reason: DisconnectReason) -> bool {
        if !self.connected.swap(false, Ordering::AcqRel) {
            return false;
        }
        let disconnecting = self.handlers.read().disconnecting.clone();
        for h in disconnecting {
            h(self.clone(), reason);
        }
        if let (Some(pid), true) = (&self.pid, reason.is_recoverable()) {
            self.ns.adapter().persist_session(SessionToPersist {
                sid: self.id,
                pid: pid.clone(),
                // Its own room included, as the reference: what was emitted to
                // the socket while it was away is replayed too.
                rooms: self.rooms().into_iter().collect(),
                data: self.data(),
            });
        }
        self.ns.adapter().del_all(self.id);
        self.ns.remove(self.id);
        Client::remove(&self.client, self.ns.name());
        let pending = std::mem::take(&mut *self.acks.lock());
        for (_, slot) in pending {
            slot.settle(Err(AckError::Disconnected));
        }
        let handlers = std::mem::take(&mut *self.handlers.write());
        for h in handlers.disconnect {
            h(self.clone(), reason);
        }
        true
    }
}

/// Answers a client's acknowledgement request; dropping it sends nothing.
pub struct AckSender {
    socket: Arc<Socket>,
    id: u64,
}

impl std::fmt::Debug for AckSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckSender").field("id", &self.id).finish()
    }
}

impl AckSender {
    /// Sends the acknowledgement with these arguments.
    pub fn send(self, args: Vec<Value>) -> Result<(), EmitError> {
        if !self.socket.connected() {
            return Err(EmitError::Disconnected);
        }
        let packet = Packet::ack(self.socket.ns.name(), self.id, args);
        send_packet(&self.socket.client, &packet)
    }

    /// Sends the acknowledgement with one serialized argument.
    pub fn send_value<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let v = to_value(data)?;
        self.send(vec![v])
    }
}

/// `socket.timeout(d)`: emits whose acknowledgement waits at most `d`.
pub struct TimeoutEmitter {
    socket: Arc<Socket>,
    timeout: Duration,
}

impl TimeoutEmitter {
    /// Emits and waits for the acknowledgement.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Vec<Value>, AckError> {
        let args = vec![to_value(data).map_err(EmitError::from)?];
        self.socket
            .emit_with_ack_args(event, args, self.timeout)
            .await
    }

    /// Emits with any arguments and waits for the acknowledgement.
    pub fn emit_with_ack_args(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> BoxFuture<'static, Result<Vec<Value>, AckError>> {
        let socket = self.socket.clone();
        let event = event.to_owned();
        let timeout = self.timeout;
        Box::pin(async move { socket.emit_with_ack_args(&event, args, timeout).await })
    }
}

/// Anything that names one or more rooms.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter()
            .cloned()
            .flat_map(IntoRooms::into_rooms)
            .collect()
    }
}

impl<const N: usize, T: IntoRooms> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}
