//! A socket: one namespace on a manager's connection. Its state, the
//! handle applications hold, and what it does with incoming packets (called
//! on the manager's task, so a socket's events reach its handlers in order).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

use super::ack::AckSender;
use super::config::{Auth, SocketConfig};
use super::errors::{AckError, ConnectError, DisconnectReason};
use super::handlers::{AnyListener, SocketHandlers};
use super::manager::{Command, Manager, ManagerInner};
use super::queue::Queued;
use crate::proto::{Packet, PacketType, Value};

/// Where an acknowledgement goes.
pub(crate) type AckReply = oneshot::Sender<Result<Vec<Value>, AckError>>;

/// A pending acknowledgement.
pub(crate) enum AckSlot {
    /// An `emit_with_ack` waiting for it.
    User(AckReply),
    /// The retry queue's packet with this sequence number.
    Queue(u64),
}

/// What a socket knows, behind one lock.
#[derive(Default)]
pub(crate) struct SocketState {
    /// Wants to be connected (the reference's `active`).
    pub(crate) active: bool,
    pub(crate) connected: bool,
    /// CONNECT sent on the current connection, no answer yet.
    pub(crate) connect_sent: bool,
    pub(crate) id: Option<String>,
    pub(crate) pid: Option<String>,
    pub(crate) last_offset: Option<String>,
    pub(crate) recovered: bool,
    pub(crate) send_buffer: VecDeque<Packet>,
    pub(crate) receive_buffer: VecDeque<Packet>,
    pub(crate) next_ack_id: u64,
    pub(crate) acks: HashMap<u64, AckSlot>,
    pub(crate) queue: VecDeque<Queued>,
    pub(crate) queue_seq: u64,
    pub(crate) waiters: Vec<oneshot::Sender<Result<(), ConnectError>>>,
    /// Counts the CONNECT attempts, so that a deferred auth's late answer
    /// to an earlier one is ignored.
    pub(crate) auth_seq: u64,
}

pub(crate) struct SocketInner {
    pub(crate) nsp: String,
    pub(crate) manager: Arc<ManagerInner>,
    pub(crate) config: SocketConfig,
    pub(crate) state: Mutex<SocketState>,
    pub(crate) handlers: RwLock<SocketHandlers>,
    listener_ids: AtomicU64,
}

impl Drop for SocketInner {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if state.connected {
            let _ = self
                .manager
                .send_packet(&Packet::disconnect(self.nsp.clone()));
        }
        self.manager.command(Command::Dropped);
    }
}

/// A Socket.IO client socket: one namespace of a [`Manager`]'s connection
/// (socket.io-client's `Socket`). Cheap to clone; the socket disconnects
/// when the last handle is dropped.
///
/// Emits while disconnected are buffered and sent in order on (re)connect,
/// except volatile ones, which are dropped.
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.inner.nsp)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl SocketInner {
    pub(crate) fn new(
        nsp: String,
        manager: Arc<ManagerInner>,
        config: SocketConfig,
    ) -> Arc<SocketInner> {
        Arc::new(SocketInner {
            nsp,
            manager,
            config,
            state: Mutex::new(SocketState::default()),
            handlers: RwLock::new(SocketHandlers::default()),
            listener_ids: AtomicU64::new(0),
        })
    }

    pub(crate) fn handle(self: &Arc<Self>) -> Socket {
        Socket {
            inner: self.clone(),
        }
    }

    pub(crate) fn handlers(&self) -> SocketHandlers {
        self.handlers.read().clone()
    }

    pub(crate) fn with_handlers(&self, f: impl FnOnce(&mut SocketHandlers)) {
        let mut h = self.handlers.write();
        f(&mut h);
    }

    pub(crate) fn outgoing_listeners(&self) -> Vec<AnyListener> {
        let h = self.handlers.read();
        h.any_outgoing.iter().map(|(_, l)| l.clone()).collect()
    }

    pub(crate) fn is_active(&self) -> bool {
        self.state.lock().active
    }

    /// Registers a waiter for the next connect or connect error.
    pub(crate) fn connect_waiter(&self) -> oneshot::Receiver<Result<(), ConnectError>> {
        let (tx, rx) = oneshot::channel();
        let mut st = self.state.lock();
        if st.connected {
            let _ = tx.send(Ok(()));
        } else {
            st.waiters.push(tx);
        }
        rx
    }

    // ---- called on the manager's task ----

    /// The connection is open: join the namespace.
    pub(crate) fn on_open(self: &Arc<Self>) {
        if let Auth::Deferred(ask) = &self.config.auth {
            let seq = {
                let mut st = self.state.lock();
                if !st.active || st.connected || st.connect_sent {
                    return;
                }
                st.connect_sent = true;
                st.auth_seq += 1;
                st.auth_seq
            };
            let answer = ask();
            let limit = self.manager.live().timeout;
            let manager = Arc::downgrade(&self.manager);
            let nsp = self.nsp.clone();
            tokio::spawn(async move {
                let result = match tokio::time::timeout(limit, answer).await {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "auth did not answer within {} ms",
                        limit.as_millis()
                    )),
                };
                if let Some(m) = manager.upgrade() {
                    m.command(Command::Auth { nsp, seq, result });
                }
            });
            return;
        }
        let auth = self.config.auth.get();
        {
            let mut st = self.state.lock();
            if !st.active || st.connected || st.connect_sent {
                return;
            }
            st.connect_sent = true;
        }
        self.send_connect(auth);
    }

    /// A deferred auth answered attempt `seq`: sends the CONNECT, or fails
    /// the attempt. True if the socket was given up on.
    pub(crate) fn on_auth(
        self: &Arc<Self>,
        seq: u64,
        result: Result<Option<Value>, String>,
    ) -> bool {
        {
            let st = self.state.lock();
            if st.auth_seq != seq || !st.active || st.connected || !st.connect_sent {
                return false;
            }
        }
        match result {
            Ok(auth) => {
                self.send_connect(auth);
                false
            }
            Err(message) => {
                self.destroy();
                self.connect_error(ConnectError::config(message));
                true
            }
        }
    }

    /// Sends the CONNECT packet with `auth`, and the session to recover.
    fn send_connect(self: &Arc<Self>, auth: Option<Value>) {
        let data = {
            let st = self.state.lock();
            match &st.pid {
                Some(pid) => {
                    // Ask for the session back: `{pid, offset, ...auth}`.
                    let mut obj = IndexMap::new();
                    obj.insert("pid".to_owned(), Value::String(pid.clone()));
                    if let Some(offset) = &st.last_offset {
                        obj.insert("offset".to_owned(), Value::String(offset.clone()));
                    }
                    if let Some(Value::Object(auth)) = auth {
                        obj.extend(auth);
                    }
                    Some(Value::Object(obj))
                }
                None => auth,
            }
        };
        let _ = self
            .manager
            .send_packet(&Packet::connect(self.nsp.clone(), data));
    }

    /// A packet of this namespace; returns true if the socket was destroyed
    /// (refused or disconnected by the server).
    pub(crate) fn on_packet(self: &Arc<Self>, packet: Packet) -> bool {
        match packet.kind {
            PacketType::Connect => {
                let sid = packet
                    .data
                    .as_ref()
                    .and_then(|d| d.get("sid"))
                    .and_then(Value::as_str);
                match sid {
                    Some(sid) => {
                        let pid = packet
                            .data
                            .as_ref()
                            .and_then(|d| d.get("pid"))
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        self.on_connect(sid.to_owned(), pid);
                    }
                    None => self.connect_error(ConnectError::connection(
                        "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible",
                    )),
                }
                false
            }
            PacketType::Event | PacketType::BinaryEvent => {
                self.on_event(packet);
                false
            }
            PacketType::Ack | PacketType::BinaryAck => {
                self.on_ack(packet);
                false
            }
            PacketType::Disconnect => {
                self.destroy();
                self.on_close(DisconnectReason::IoServerDisconnect);
                true
            }
            PacketType::ConnectError => {
                self.destroy();
                self.connect_error(ConnectError::from_payload(packet.data));
                true
            }
        }
    }

    fn destroy(&self) {
        let mut st = self.state.lock();
        st.active = false;
        st.connect_sent = false;
    }

    fn on_connect(self: &Arc<Self>, sid: String, pid: Option<String>) {
        let (flushed, received, waiters) = {
            let mut st = self.state.lock();
            st.recovered = pid.is_some() && st.pid == pid;
            st.pid = pid;
            st.id = Some(sid);
            st.connected = true;
            st.connect_sent = false;
            // Flushed under the lock, so that no emit slips in between.
            let flushed: Vec<Packet> = st.send_buffer.drain(..).collect();
            for p in &flushed {
                if let Err(e) = self.manager.send_packet(p) {
                    tracing::warn!(error = %e, "buffered packet lost on connect");
                }
            }
            let received: Vec<Packet> = st.receive_buffer.drain(..).collect();
            (flushed, received, std::mem::take(&mut st.waiters))
        };
        for p in received {
            self.dispatch(p);
        }
        let outgoing = self.outgoing_listeners();
        if !outgoing.is_empty() {
            let socket = self.handle();
            for p in &flushed {
                notify(&outgoing, &socket, p);
            }
        }
        self.drain_queue(true);
        let socket = self.handle();
        for h in self.handlers().connect {
            h(socket.clone());
        }
        for w in waiters {
            let _ = w.send(Ok(()));
        }
    }

    fn on_event(self: &Arc<Self>, packet: Packet) {
        {
            let mut st = self.state.lock();
            if !st.connected {
                // Arrived before the CONNECT answer (missed events of a
                // recovered session): delivered on connect.
                if st.receive_buffer.len() < self.config.receive_buffer {
                    st.receive_buffer.push_back(packet);
                } else {
                    tracing::warn!(nsp = %self.nsp, "receive buffer full, event dropped");
                }
                return;
            }
        }
        self.dispatch(packet);
    }

    fn dispatch(self: &Arc<Self>, packet: Packet) {
        let id = packet.id;
        let mut items = match packet.data {
            Some(Value::Array(items)) if !items.is_empty() => items,
            _ => return,
        };
        let name = match items.remove(0) {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        let args = items;
        let (any, handler, fallback) = {
            let h = self.handlers.read();
            let handler = h.events.get(&name).cloned();
            let fallback = match handler {
                None => h.fallback.clone(),
                Some(_) => None,
            };
            (
                h.any.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>(),
                handler,
                fallback,
            )
        };
        let socket = self.handle();
        for l in &any {
            l(&socket, &name, &args);
        }
        // With state recovery the server appends the event's offset.
        let offset = match (id, args.last()) {
            (None, Some(Value::String(s))) => Some(s.clone()),
            _ => None,
        };
        let ack = id.map(|id| AckSender::new(Arc::downgrade(self), id));
        if let Some(h) = handler {
            h(socket, args, ack);
        } else if let Some(f) = fallback {
            f(socket, &name, args, ack);
        }
        if let Some(offset) = offset {
            let mut st = self.state.lock();
            if st.pid.is_some() {
                st.last_offset = Some(offset);
            }
        }
    }

    fn on_ack(self: &Arc<Self>, packet: Packet) {
        let Some(id) = packet.id else { return };
        let slot = self.state.lock().acks.remove(&id);
        match slot {
            Some(AckSlot::User(tx)) => {
                let _ = tx.send(Ok(packet.into_args()));
            }
            Some(AckSlot::Queue(seq)) => self.on_queue_result(seq, Ok(packet.into_args())),
            None => {}
        }
    }

    /// The connection closed, or the server disconnected the socket.
    pub(crate) fn on_close(self: &Arc<Self>, reason: DisconnectReason) {
        let (was_connected, was_joining) = {
            let mut st = self.state.lock();
            let was = (st.connected, !st.connected && st.connect_sent);
            st.connected = false;
            st.connect_sent = false;
            st.id = None;
            was
        };
        if was_connected {
            let socket = self.handle();
            for h in self.handlers().disconnect {
                h(socket.clone(), reason);
            }
        } else if was_joining {
            // The connection ended while the namespace CONNECT was pending:
            // whoever waits for the connection must hear of it.
            self.connect_error(ConnectError::connection(reason.as_str()));
        }
        self.clear_acks();
    }

    /// The application disconnected the socket (already marked so).
    pub(crate) fn on_client_disconnect(self: &Arc<Self>) {
        let socket = self.handle();
        for h in self.handlers().disconnect {
            h(socket.clone(), DisconnectReason::IoClientDisconnect);
        }
        self.clear_acks();
    }

    /// A connection attempt failed.
    pub(crate) fn on_error(self: &Arc<Self>, err: ConnectError) {
        if !self.state.lock().connected {
            self.connect_error(err);
        }
    }

    fn connect_error(self: &Arc<Self>, err: ConnectError) {
        let waiters = std::mem::take(&mut self.state.lock().waiters);
        let socket = self.handle();
        for h in self.handlers().connect_error {
            h(socket.clone(), err.clone());
        }
        for w in waiters {
            let _ = w.send(Err(err.clone()));
        }
    }

    /// Fails the acknowledgements whose packets were sent: they will not be
    /// answered. Those of buffered packets wait for the reconnection.
    fn clear_acks(self: &Arc<Self>) {
        let removed: Vec<AckSlot> = {
            let mut st = self.state.lock();
            let buffered: HashSet<u64> = st.send_buffer.iter().filter_map(|p| p.id).collect();
            let ids: Vec<u64> = st
                .acks
                .keys()
                .copied()
                .filter(|id| !buffered.contains(id))
                .collect();
            ids.iter().filter_map(|id| st.acks.remove(id)).collect()
        };
        for slot in removed {
            match slot {
                AckSlot::User(tx) => {
                    let _ = tx.send(Err(AckError::Disconnected));
                }
                // As the reference: a queued packet with a timeout counts the
                // disconnection as a failed try; without one, it is sent
                // again on reconnect.
                AckSlot::Queue(seq) => {
                    if self.config.ack_timeout.is_some() {
                        self.on_queue_result(seq, Err(AckError::Disconnected));
                    }
                }
            }
        }
    }

    /// Forgets an acknowledgement; with `unbuffer`, also the buffered packet
    /// waiting for it.
    pub(crate) fn forget_ack(&self, id: u64, unbuffer: bool) {
        let mut st = self.state.lock();
        st.acks.remove(&id);
        if unbuffer {
            st.send_buffer.retain(|p| p.id != Some(id));
        }
    }
}

/// Tells outgoing listeners about a sent packet.
pub(crate) fn notify(listeners: &[AnyListener], socket: &Socket, packet: &Packet) {
    let items = match &packet.data {
        Some(Value::Array(items)) => items.as_slice(),
        _ => return,
    };
    let Some((first, args)) = items.split_first() else {
        return;
    };
    let name = match first {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return,
    };
    for l in listeners {
        l(socket, &name, args);
    }
}

impl Socket {
    /// The namespace, e.g. `/` or `/admin`.
    pub fn nsp(&self) -> &str {
        &self.inner.nsp
    }

    /// The socket id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        self.inner.state.lock().id.clone()
    }

    /// True while the namespace is connected.
    pub fn connected(&self) -> bool {
        self.inner.state.lock().connected
    }

    /// True if the last connection restored the previous session
    /// (connection state recovery): same id, rooms kept, missed events
    /// delivered.
    pub fn recovered(&self) -> bool {
        self.inner.state.lock().recovered
    }

    /// True while the socket wants to be connected: it reconnects with the
    /// manager. False after [`Socket::disconnect`], a server disconnect or a
    /// refused connection.
    pub fn active(&self) -> bool {
        self.inner.is_active()
    }

    /// The manager carrying this socket.
    pub fn manager(&self) -> Manager {
        Manager {
            inner: self.inner.manager.clone(),
        }
    }

    /// Connects (again) the namespace; opens the connection if needed.
    /// Returns at once: see [`Socket::wait_connected`] or the `connect`
    /// handlers.
    pub fn connect(&self) {
        {
            let mut st = self.inner.state.lock();
            if st.connected {
                return;
            }
            st.active = true;
        }
        self.inner
            .manager
            .command(Command::Connect(self.inner.nsp.clone()));
    }

    /// Waits until the socket is connected, or the next connection attempt
    /// fails.
    pub async fn wait_connected(&self) -> Result<(), ConnectError> {
        self.inner
            .connect_waiter()
            .await
            .unwrap_or_else(|_| Err(ConnectError::closed()))
    }

    /// Leaves the namespace; the socket does not reconnect until
    /// [`Socket::connect`]. The connection closes when no socket uses it.
    pub fn disconnect(&self) {
        let was_connected = {
            let mut st = self.inner.state.lock();
            let was = st.connected;
            st.active = false;
            st.connected = false;
            st.connect_sent = false;
            st.id = None;
            was
        };
        if was_connected {
            let _ = self
                .inner
                .manager
                .send_packet(&Packet::disconnect(self.inner.nsp.clone()));
        }
        // Decided now, as the reference does: a `connect()` right after
        // must find the connection closed and open a new one, not send its
        // CONNECT behind the DISCONNECT (a server reading both at once
        // takes that for a protocol error and drops the connection).
        let last = !self
            .inner
            .manager
            .sockets()
            .iter()
            .any(|s| s.nsp != self.inner.nsp && s.is_active());
        self.inner.manager.command(Command::Disconnected(
            self.inner.nsp.clone(),
            was_connected,
            last,
        ));
    }

    /// Handles an event; replaces the previous handler of that event. The
    /// handler runs on the connection's task, in arrival order: spawn a task
    /// for slow work.
    pub fn on(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Socket, Vec<Value>) + Send + Sync + 'static,
    ) {
        self.on_with_ack(event, move |socket, args, _ack| handler(socket, args));
    }

    /// Handles an event, with the callback to answer the server's
    /// acknowledgement request when it made one.
    pub fn on_with_ack(
        &self,
        event: impl Into<String>,
        handler: impl Fn(Socket, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    ) {
        let event = event.into();
        self.inner.with_handlers(|h| {
            h.events.insert(event, Arc::new(handler));
        });
    }

    /// Removes the handler of an event.
    pub fn off(&self, event: &str) {
        self.inner.with_handlers(|h| {
            h.events.remove(event);
        });
    }

    /// Handles the events that have no handler of their own, with the
    /// callback answering the server's acknowledgement request
    /// (python-socketio's `'*'` handler). Replaces the previous one.
    pub fn on_fallback(
        &self,
        handler: impl Fn(Socket, &str, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    ) {
        self.inner
            .with_handlers(|h| h.fallback = Some(Arc::new(handler)));
    }

    /// Removes the fallback handler.
    pub fn off_fallback(&self) {
        self.inner.with_handlers(|h| h.fallback = None);
    }

    /// Listens to every incoming event (before its handler); returns an id
    /// for [`Socket::off_any`].
    pub fn on_any(
        &self,
        listener: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> u64 {
        let id = self.inner.listener_ids.fetch_add(1, Ordering::Relaxed);
        self.inner
            .with_handlers(|h| h.any.push((id, Arc::new(listener))));
        id
    }

    /// Removes one catch-all listener, or all with `None`.
    pub fn off_any(&self, id: Option<u64>) {
        self.inner.with_handlers(|h| match id {
            Some(id) => h.any.retain(|(i, _)| *i != id),
            None => h.any.clear(),
        });
    }

    /// Listens to every event this socket sends, when it is written.
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> u64 {
        let id = self.inner.listener_ids.fetch_add(1, Ordering::Relaxed);
        self.inner
            .with_handlers(|h| h.any_outgoing.push((id, Arc::new(listener))));
        id
    }

    /// Removes one outgoing listener, or all with `None`.
    pub fn off_any_outgoing(&self, id: Option<u64>) {
        self.inner.with_handlers(|h| match id {
            Some(id) => h.any_outgoing.retain(|(i, _)| *i != id),
            None => h.any_outgoing.clear(),
        });
    }

    /// Called on every connection of the namespace, reconnections included.
    pub fn on_connect(&self, handler: impl Fn(Socket) + Send + Sync + 'static) {
        self.inner
            .with_handlers(|h| h.connect.push(Arc::new(handler)));
    }

    /// Called when a connection attempt fails or the server refuses the
    /// namespace.
    pub fn on_connect_error(&self, handler: impl Fn(Socket, ConnectError) + Send + Sync + 'static) {
        self.inner
            .with_handlers(|h| h.connect_error.push(Arc::new(handler)));
    }

    /// Called when a connected socket disconnects.
    pub fn on_disconnect(
        &self,
        handler: impl Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    ) {
        self.inner
            .with_handlers(|h| h.disconnect.push(Arc::new(handler)));
    }

    pub(crate) fn add_handlers(&self, mut handlers: SocketHandlers) {
        // Listener ids come from this socket's counter, so that `off_any`
        // can name the builder's listeners too.
        let ids = &self.inner.listener_ids;
        for (id, _) in handlers
            .any
            .iter_mut()
            .chain(handlers.any_outgoing.iter_mut())
        {
            *id = ids.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.with_handlers(|h| h.merge(handlers));
    }
}
