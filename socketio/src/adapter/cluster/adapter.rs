//! The cluster adapter, generic over its [`Transport`]: one per namespace,
//! holding the local room index ([`LocalAdapter`]), the request bookkeeping
//! ([`ClusterState`]) with its timer task, the publish queue and its task,
//! the routes of broadcast acknowledgements, and the ordered local delivery
//! of broadcasts ([`Deliveries`]). What other servers ask is applied in
//! [`super::apply`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot, Notify};

use super::delivery::{Deliveries, Offset, OffsetBackoff};
use super::state::{Action, ClusterState, Completed, Responses, Started, StateConfig};
use super::transport::{Protocol, Subscriber, Transport};
use super::{
    ClusterMessage, ClusterPacket, ClusterResponse, Envelope, Frame, RemoteSocket, ServerId,
    WireOptions,
};
use crate::adapter::{
    Adapter, AdapterFactory, BroadcastOptions, LocalAdapter, LocalNamespace, RecoveredSession,
    RemoteAcks, Room, RoomEvent, RoomListener, ServerSideAck, SessionToPersist, Sid,
};
use crate::proto::Value;

/// How long closing waits for the broker to confirm the unsubscription.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long a resuming client's handshake waits for its session.
const RESTORE_WAIT: Duration = Duration::from_secs(3);

/// The options every transport shares.
#[derive(Debug, Clone)]
pub(crate) struct ClusterConfig {
    /// How long requests wait for the other servers.
    pub(crate) requests_timeout: Duration,
    /// Most messages queued for publishing per namespace.
    pub(crate) max_queued_publishes: usize,
    /// Connection state recovery window (`None`: off).
    pub(crate) recovery: Option<Duration>,
    /// The gauges of the publish queues of every namespace.
    pub(crate) queue: Arc<QueueGauge>,
    /// Heartbeat membership: a heartbeat goes out after this long without
    /// publishing.
    pub(crate) heartbeat_interval: Duration,
    /// Heartbeat membership: a server not heard from for this long is
    /// forgotten.
    pub(crate) heartbeat_timeout: Duration,
}

impl ClusterConfig {
    /// Node's defaults, with `requests_timeout`, `max_queued_publishes`
    /// and `recovery`.
    pub(crate) fn new(
        requests_timeout: Duration,
        max_queued_publishes: usize,
        recovery: Option<Duration>,
    ) -> ClusterConfig {
        let defaults = StateConfig::default();
        ClusterConfig {
            requests_timeout,
            max_queued_publishes,
            recovery,
            queue: Arc::default(),
            heartbeat_interval: defaults.heartbeat_interval,
            heartbeat_timeout: defaults.heartbeat_timeout,
        }
    }
}

/// What the publish queues of one server's namespaces hold, summed: read
/// as a metric, and by the tests that check the queues stay bounded while
/// the broker is away.
#[derive(Debug, Default)]
pub(crate) struct QueueGauge {
    /// Signed: the publish task may take a message before its sender
    /// counted it.
    queued: AtomicIsize,
    peak: AtomicUsize,
    dropped: AtomicU64,
}

impl QueueGauge {
    fn pushed(&self) {
        let now = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak
            .fetch_max(usize::try_from(now).unwrap_or(0), Ordering::Relaxed);
    }

    fn popped(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages waiting to be published now.
    pub(crate) fn queued(&self) -> usize {
        usize::try_from(self.queued.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// The most messages ever waiting at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Messages dropped because their namespace's queue was full.
    pub(crate) fn dropped_full(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Creates the cluster adapter of every namespace of one server on one
/// transport.
pub(crate) struct ClusterAdapterFactory<T> {
    transport: Arc<T>,
    config: ClusterConfig,
    runtime: tokio::runtime::Handle,
    offsets: Arc<OffsetBackoff>,
}

impl<T: Transport> ClusterAdapterFactory<T> {
    /// A factory whose adapters run their tasks on `runtime`.
    pub(crate) fn new(
        transport: Arc<T>,
        config: ClusterConfig,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        ClusterAdapterFactory {
            transport,
            config,
            runtime,
            offsets: Arc::default(),
        }
    }
}

impl<T: Transport> AdapterFactory for ClusterAdapterFactory<T> {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        let detached: Weak<dyn LocalNamespace> = Weak::<Detached>::new();
        self.create_for(nsp, detached)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        Arc::new(ClusterAdapter::new(self, nsp, local))
    }
}

/// The handle of an adapter created without a namespace: nothing to apply.
struct Detached;

impl LocalNamespace for Detached {
    fn local_name(&self) -> &str {
        ""
    }
    fn deliver(&self, _: Vec<Value>, _: &BroadcastOptions, _: Option<String>) {}
    fn deliver_with_ack(
        &self,
        _: Vec<Value>,
        _: &BroadcastOptions,
        _: Duration,
    ) -> (u64, mpsc::UnboundedReceiver<Vec<Value>>) {
        (0, mpsc::unbounded_channel().1)
    }
    fn apply_join(&self, _: &BroadcastOptions, _: &[Room]) {}
    fn apply_leave(&self, _: &BroadcastOptions, _: &[Room]) {}
    fn apply_disconnect(&self, _: &BroadcastOptions, _: bool) {}
    fn describe_sockets(&self, _: &BroadcastOptions) -> Vec<RemoteSocket> {
        Vec::new()
    }
    fn receive_server_side_emit(&self, _: Vec<Value>, _: Option<ServerSideAck>) {}
}

/// One namespace's cluster adapter; leaves the cluster when dropped.
pub(crate) struct ClusterAdapter<T: Transport> {
    node: Arc<Node<T>>,
}

impl<T: Transport> Drop for ClusterAdapter<T> {
    fn drop(&mut self) {
        // The unsubscription goes out now; nobody waits for it here.
        drop(self.node.shutdown());
    }
}

pub(crate) enum AckEvent {
    Value(Value),
    Done { complete: bool },
}

/// What the publish task sends, in order.
enum Outgoing {
    /// A message, with where its offset goes when the caller waits for it.
    Message {
        envelope: Envelope<ClusterMessage>,
        offset: Option<oneshot::Sender<Option<String>>>,
    },
    Response {
        to: Option<ServerId>,
        envelope: Envelope<ClusterResponse>,
    },
    Session {
        session: SessionToPersist,
        ttl: Duration,
    },
}

/// The state of one namespace's adapter, shared with its tasks.
pub(crate) struct Node<T> {
    pub(crate) transport: Arc<T>,
    pub(crate) config: ClusterConfig,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) local: LocalAdapter,
    pub(crate) nsp: String,
    uid: ServerId,
    pub(crate) ns: Weak<dyn LocalNamespace>,
    state: Mutex<ClusterState>,
    outbox: mpsc::Sender<Outgoing>,
    requests: Mutex<HashMap<String, oneshot::Sender<Completed>>>,
    ack_routes: Mutex<HashMap<String, mpsc::UnboundedSender<AckEvent>>>,
    deliveries: Arc<Deliveries>,
    offsets: Arc<OffsetBackoff>,
    wake: Arc<Notify>,
    closed: AtomicBool,
}

impl<T: Transport> ClusterAdapter<T> {
    fn new(
        factory: &ClusterAdapterFactory<T>,
        nsp: &str,
        ns: Weak<dyn LocalNamespace>,
    ) -> ClusterAdapter<T> {
        let transport = factory.transport.clone();
        let config = factory.config.clone();
        let protocol = transport.protocol();
        let uid = protocol.new_uid();
        let (outbox, rx) = mpsc::channel(config.max_queued_publishes.max(1));
        let mut state = ClusterState::with_config(
            uid.clone(),
            nsp,
            transport.membership(),
            StateConfig {
                request_timeout: config.requests_timeout,
                heartbeat_interval: config.heartbeat_interval,
                heartbeat_timeout: config.heartbeat_timeout,
                classic_request_ids: protocol == Protocol::Classic,
            },
        );
        // Heartbeat membership: the others learn of this server from its
        // first message, and answer it with theirs.
        let announce = state.init(Instant::now());
        let deliveries = Arc::new(Deliveries::new(
            ns.clone(),
            factory.offsets.clone(),
            factory.runtime.clone(),
            transport.label(),
        ));
        let local = match config.recovery {
            // A durable broker keeps recovery data, where any server finds it.
            Some(max) if !transport.durable() => LocalAdapter::with_recovery(max),
            _ => LocalAdapter::new(),
        };
        let node = Arc::new(Node {
            transport,
            config,
            runtime: factory.runtime.clone(),
            local,
            nsp: nsp.to_owned(),
            uid,
            ns,
            state: Mutex::new(state),
            outbox,
            requests: Mutex::new(HashMap::new()),
            ack_routes: Mutex::new(HashMap::new()),
            deliveries,
            offsets: factory.offsets.clone(),
            wake: Arc::new(Notify::new()),
            closed: AtomicBool::new(false),
        });
        if node.transport.follows_rooms() {
            // Weak: the index holding the listener belongs to the node.
            let weak = Arc::downgrade(&node);
            node.local.on_room_event(Arc::new(move |event: &RoomEvent| {
                let Some(node) = weak.upgrade() else { return };
                match event {
                    RoomEvent::CreateRoom(room) => node.transport.room_created(&node.nsp, room),
                    RoomEvent::DeleteRoom(room) => node.transport.room_deleted(&node.nsp, room),
                    _ => {}
                }
            }));
        }
        node.runtime.spawn(publisher_task(
            node.transport.clone(),
            rx,
            node.config.queue.clone(),
        ));
        node.runtime
            .spawn(timer_task(Arc::downgrade(&node), node.wake.clone()));
        let subscriber: Weak<dyn Subscriber> = Arc::downgrade(&node) as Weak<dyn Subscriber>;
        node.transport.subscribe(subscriber);
        if let Some(envelope) = announce {
            node.enqueue_envelope(envelope);
        }
        ClusterAdapter { node }
    }
}

impl<T: Transport> Subscriber for Node<T> {
    fn nsp(&self) -> &str {
        &self.nsp
    }

    fn uid(&self) -> &ServerId {
        &self.uid
    }

    fn rooms(&self) -> Vec<Room> {
        self.local.rooms().into_iter().collect()
    }

    fn receive(self: Arc<Self>, frame: Envelope<Frame>, offset: Option<String>) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let actions = self.state().handle(frame, offset, Instant::now());
        self.run(actions);
    }

    fn awaits_response(&self, request_id: &str) -> bool {
        self.state().awaits(request_id)
    }
}

impl<T: Transport> Node<T> {
    fn state(&self) -> MutexGuard<'_, ClusterState> {
        self.state.lock()
    }

    /// Leaves the cluster; returns the wait for the broker's confirmation.
    fn shutdown(self: &Arc<Self>) -> BoxFuture<'static, ()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Box::pin(async {});
        }
        // Heartbeat membership: the others forget this server now rather
        // than after the heartbeat timeout.
        let goodbye = self.state().close(Instant::now());
        if let Some(envelope) = goodbye {
            self.enqueue_envelope(envelope);
        }
        let rooms: Vec<Room> = self.local.rooms().into_iter().collect();
        let me: Weak<dyn Subscriber> = Arc::downgrade(self) as Weak<dyn Subscriber>;
        let done = self.transport.unsubscribe(me, &self.nsp, &self.uid, &rooms);
        self.wake.notify_one();
        done
    }

    fn enqueue(&self, outgoing: Outgoing) {
        match self.outbox.try_send(outgoing) {
            Ok(()) => self.config.queue.pushed(),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.config.queue.dropped();
                tracing::warn!(nsp = %self.nsp, "{}: publish queue full, message dropped", self.transport.label());
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(nsp = %self.nsp, "{}: publisher gone, message dropped", self.transport.label());
            }
        }
    }

    pub(crate) fn enqueue_envelope(&self, envelope: Envelope<ClusterMessage>) {
        self.enqueue(Outgoing::Message {
            envelope,
            offset: None,
        });
    }

    fn publish_message(&self, body: ClusterMessage) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let envelope = self.state().message(body, Instant::now());
        self.enqueue_envelope(envelope);
    }

    /// Publishes a message, returning where its offset will arrive.
    fn publish_with_offset(
        &self,
        body: ClusterMessage,
    ) -> Option<oneshot::Receiver<Option<String>>> {
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let envelope = self.state().message(body, Instant::now());
        let (tx, rx) = oneshot::channel();
        self.enqueue(Outgoing::Message {
            envelope,
            offset: Some(tx),
        });
        Some(rx)
    }

    pub(crate) fn respond(&self, to: Option<&ServerId>, body: ClusterResponse) {
        let envelope = self.state().response(body);
        self.enqueue(Outgoing::Response {
            to: to.cloned(),
            envelope,
        });
    }

    async fn server_count(&self) -> usize {
        match self.transport.server_count(&self.nsp).await {
            Some(count) => count,
            None => self.state().server_count(1),
        }
    }

    /// Starts a request and waits for it to complete (by answers or by
    /// timeout); `None` when there is no other server.
    async fn request(
        &self,
        start: impl FnOnce(&mut ClusterState, Instant) -> Started,
    ) -> Option<Completed> {
        let (tx, rx) = oneshot::channel();
        let envelope = {
            let mut st = self.state();
            match start(&mut st, Instant::now()) {
                Started::Alone => return None,
                Started::Publish {
                    request_id,
                    envelope,
                } => {
                    self.requests.lock().insert(request_id, tx);
                    envelope
                }
            }
        };
        self.wake.notify_one();
        self.enqueue_envelope(envelope);
        let completed = rx.await.ok()?;
        if let Some(t) = &completed.timed_out {
            tracing::warn!(
                nsp = %self.nsp,
                kind = ?completed.kind,
                expected = t.expected,
                received = t.received,
                missing = ?t.missing,
                "{}: request timed out; returning partial results",
                self.transport.label()
            );
        }
        Some(completed)
    }

    pub(crate) fn run(self: &Arc<Self>, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Apply {
                    message,
                    from,
                    offset,
                } => self.apply(message, from, offset),
                Action::Publish(envelope) => self.enqueue_envelope(envelope),
                Action::Completed(c) => {
                    if let Some(tx) = self.requests.lock().remove(&c.request_id) {
                        let _ = tx.send(c);
                    }
                }
                Action::ClientCount { .. } => {}
                Action::Ack { request_id, value } => {
                    if let Some(tx) = self.ack_routes.lock().get(&request_id) {
                        let _ = tx.send(AckEvent::Value(value));
                    }
                }
                Action::AcksDone {
                    request_id,
                    timed_out,
                } => {
                    if let Some(tx) = self.ack_routes.lock().remove(&request_id) {
                        let _ = tx.send(AckEvent::Done {
                            complete: timed_out.is_none(),
                        });
                    }
                }
            }
        }
    }

    /// The session lifetime, when the broker keeps sessions.
    fn durable_recovery(&self) -> Option<Duration> {
        self.config.recovery.filter(|_| self.transport.durable())
    }
}

/// Sends the queued messages of one namespace, in order.
async fn publisher_task<T: Transport>(
    transport: Arc<T>,
    mut rx: mpsc::Receiver<Outgoing>,
    queue: Arc<QueueGauge>,
) {
    while let Some(outgoing) = rx.recv().await {
        queue.popped();
        match outgoing {
            Outgoing::Message { envelope, offset } => {
                let id = transport.publish(envelope).await;
                if let Some(tx) = offset {
                    let _ = tx.send(id);
                }
            }
            Outgoing::Response { to, envelope } => transport.publish_response(to, envelope).await,
            Outgoing::Session { session, ttl } => transport.persist_session(session, ttl).await,
        }
    }
}

/// Times requests out: sleeps until the state's next deadline, or until
/// woken by a new request.
async fn timer_task<T: Transport>(node: Weak<Node<T>>, wake: Arc<Notify>) {
    loop {
        let deadline = match node.upgrade() {
            Some(node) if !node.closed.load(Ordering::Relaxed) => node.state().next_deadline(),
            _ => return,
        };
        match deadline {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                    _ = wake.notified() => continue,
                }
            }
            None => {
                wake.notified().await;
                continue;
            }
        }
        let Some(node) = node.upgrade() else {
            return;
        };
        let actions = node.state().poll(Instant::now());
        node.run(actions);
    }
}

impl<T: Transport> Adapter for ClusterAdapter<T> {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.node.local.add_all(sid, rooms)
    }
    fn del(&self, sid: Sid, room: &str) {
        self.node.local.del(sid, room)
    }
    fn del_all(&self, sid: Sid) {
        self.node.local.del_all(sid)
    }
    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.node.local.socket_rooms(sid)
    }
    fn sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.node.local.sockets(opts)
    }
    fn rooms(&self) -> HashSet<Room> {
        self.node.local.rooms()
    }
    fn room_sockets(&self, room: &str) -> Vec<Sid> {
        self.node.local.room_sockets(room)
    }
    fn on_room_event(&self, listener: RoomListener) {
        self.node.local.on_room_event(listener)
    }

    fn broadcast(&self, data: Vec<Value>, opts: &BroadcastOptions, local: &dyn LocalNamespace) {
        let node = &self.node;
        if !opts.flags.local {
            let message = ClusterMessage::Broadcast {
                packet: ClusterPacket::event(data.clone()),
                opts: WireOptions::from_local(opts),
                request_id: None,
            };
            // What the broker answers is the packet's offset, on every
            // server: the local part waits for it, without blocking.
            let waits = node.durable_recovery().is_some()
                && !opts.flags.volatile
                && !node.offsets.failing();
            if !waits {
                node.publish_message(message);
            } else if let Some(reply) = node.publish_with_offset(message) {
                node.deliveries
                    .deliver(data, opts, Offset::Pending(reply), local);
                return;
            }
        }
        let offset = node.local.store_packet(opts, &data);
        node.deliveries
            .deliver(data, opts, Offset::Known(offset), local);
    }

    fn persist_session(&self, session: SessionToPersist) {
        match self.node.durable_recovery() {
            Some(ttl) => self.node.enqueue(Outgoing::Session { session, ttl }),
            None => self.node.local.persist_session(session),
        }
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RecoveredSession>> {
        if self.node.durable_recovery().is_none() {
            return self.node.local.restore_session(pid, offset);
        }
        let node = self.node.clone();
        let (pid, offset) = (pid.to_owned(), offset.to_owned());
        Box::pin(async move {
            let lookup = node.transport.restore_session(&node.nsp, &pid, &offset);
            match tokio::time::timeout(RESTORE_WAIT, lookup).await {
                Ok(found) => found,
                Err(_) => {
                    tracing::warn!(nsp = %node.nsp, "{}: session lookup timed out", node.transport.label());
                    None
                }
            }
        })
    }

    fn server_side_emit(
        &self,
        args: Vec<Value>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Vec<Value>> {
        let Some(timeout) = timeout else {
            self.node.publish_message(ClusterMessage::ServerSideEmit {
                args,
                request_id: None,
            });
            return Box::pin(async { Vec::new() });
        };
        let node = self.node.clone();
        Box::pin(async move {
            let count = node.server_count().await;
            let completed = node
                .request(|st, now| st.server_side_emit_with_ack_timeout(args, count, timeout, now))
                .await;
            match completed.map(|c| c.responses) {
                Some(Responses::Values(values)) => values,
                _ => Vec::new(),
            }
        })
    }

    fn all_rooms(&self) -> BoxFuture<'static, HashSet<Room>> {
        let node = self.node.clone();
        Box::pin(async move {
            let mut rooms = node.local.rooms();
            if node.transport.protocol() != Protocol::Classic {
                // The ClusterAdapter protocol has no allRooms request.
                return rooms;
            }
            let count = node.server_count().await;
            let completed = node.request(|st, now| st.all_rooms(count, now)).await;
            if let Some(Responses::Rooms(remote)) = completed.map(|c| c.responses) {
                rooms.extend(remote);
            }
            rooms
        })
    }

    fn publish_broadcast_with_ack(
        &self,
        data: Vec<Value>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let node = self.node.clone();
        let wire = WireOptions::from_local(opts);
        Box::pin(async move {
            let count = node.server_count().await;
            let (tx, mut rx) = mpsc::unbounded_channel();
            let (envelope, servers) = {
                let mut st = node.state();
                let (id, envelope, servers) = st.broadcast_with_ack(
                    ClusterPacket::event(data),
                    wire,
                    timeout,
                    count,
                    Instant::now(),
                );
                if servers > 0 {
                    node.ack_routes.lock().insert(id, tx);
                }
                (envelope, servers)
            };
            node.wake.notify_one();
            node.enqueue_envelope(envelope);
            let mut values = Vec::new();
            if servers == 0 {
                return RemoteAcks {
                    values,
                    complete: true,
                };
            }
            // The state machine ends the request at `timeout`; this guard
            // only covers a stopped timer.
            let deadline = tokio::time::Instant::now() + timeout + Duration::from_secs(1);
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(AckEvent::Value(v))) => values.push(v),
                    Ok(Some(AckEvent::Done { complete })) => {
                        return RemoteAcks { values, complete }
                    }
                    Ok(None) | Err(_) => {
                        return RemoteAcks {
                            values,
                            complete: false,
                        }
                    }
                }
            }
        })
    }

    fn publish_add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.node.publish_message(ClusterMessage::SocketsJoin {
            opts: WireOptions::from_local(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn publish_del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.node.publish_message(ClusterMessage::SocketsLeave {
            opts: WireOptions::from_local(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn publish_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.node
            .publish_message(ClusterMessage::DisconnectSockets {
                opts: WireOptions::from_local(opts),
                close,
            });
    }

    fn fetch_remote_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Vec<RemoteSocket>> {
        let node = self.node.clone();
        let wire = WireOptions::from_local(opts);
        Box::pin(async move {
            let count = node.server_count().await;
            let completed = node
                .request(|st, now| st.fetch_sockets(wire, count, now))
                .await;
            match completed.map(|c| c.responses) {
                Some(Responses::Sockets(sockets)) => sockets,
                _ => Vec::new(),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        let node = self.node.clone();
        Box::pin(async move { node.server_count().await })
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let done = self.node.shutdown();
        Box::pin(async move {
            let _ = tokio::time::timeout(CLOSE_WAIT, done).await;
        })
    }
}
