//! The Redis adapter, wire-compatible with the classic
//! `@socket.io/redis-adapter` 8.x (`createAdapter()`): Rust and Node servers
//! can share one cluster.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis::RedisAdapterFactory;
//! let factory = RedisAdapterFactory::new("redis://127.0.0.1:6379").await?;
//! let io = socketio::SocketIo::with_adapter(Default::default(), factory);
//! io.emit("hello", &"every client of every server")?;
//! # Ok(()) }
//! ```
//!
//! Each factory (one per server) holds one publishing connection
//! (`redis::aio::ConnectionManager`, which reconnects by itself) and one
//! subscriber connection shared by every namespace, so `PUBSUB NUMSUB`
//! counts this server exactly once. The subscriber reconnects with backoff
//! after a Redis restart and subscribes again; what was published meanwhile
//! is lost, as with Node. Failures are logged through `tracing`, never
//! raised as panics.
//!
//! The codec is [`super::cluster::classic`], the request bookkeeping
//! [`super::cluster::state::ClusterState`].

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSub, PubSubSink};
use tokio::sync::{mpsc, oneshot, Notify};

use super::cluster::classic::{ClassicCodec, ClassicIncoming};
use super::cluster::state::{
    Action, ClusterState, Completed, Responses, Started, StateConfig, DEFAULT_REQUEST_TIMEOUT,
};
use super::cluster::{
    ClusterMessage, ClusterPacket, ClusterResponse, Envelope, Membership, RedisCommand,
    RemoteSocket, ServerId, WireOptions,
};
use super::{
    Adapter, AdapterFactory, BroadcastOptions, LocalAdapter, LocalNamespace, RecoveredSession,
    RemoteAcks, Room, RoomListener, ServerSideAck, SessionToPersist, Sid,
};
use crate::proto::Value;

/// The `redis` crate this adapter is built on, to build a
/// [`redis::Client`] for [`RedisAdapterFactory::with_config`].
pub use ::redis as client;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PING_INTERVAL: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(3);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Options of the Redis adapter, named after Node's.
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    /// The channel prefix (Node's `key`, default `socket.io`).
    pub key: String,
    /// How long `fetchSockets`, `allRooms` and `serverSideEmitWithAck`
    /// wait for the other servers (Node's `requestsTimeout`, 5 s).
    pub requests_timeout: Duration,
    /// Answer on the requester's own response channel (Node's
    /// `publishOnSpecificResponseChannel`, default false).
    pub publish_on_specific_response_channel: bool,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while Redis is away.
    pub max_queued_publishes: usize,
    /// Connection state recovery window of the local part (`None`: off);
    /// set it to the server's `max_disconnection_duration` when recovery is
    /// on.
    pub recovery: Option<Duration>,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".into(),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            publish_on_specific_response_channel: false,
            max_queued_publishes: 65_536,
            recovery: None,
        }
    }
}

/// Why the adapter could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedisAdapterError {
    /// Redis refused or failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("timed out connecting to Redis")]
    Timeout,
    /// The factory must be created inside a tokio runtime.
    #[error("the Redis adapter needs a tokio runtime")]
    NoRuntime,
}

/// Creates the Redis adapter of every namespace of one server: pass it to
/// [`crate::SocketIo::with_adapter`]. One factory per server.
pub struct RedisAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapterFactory")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

struct Shared {
    config: RedisAdapterConfig,
    codec: ClassicCodec,
    publisher: ConnectionManager,
    subscriber: mpsc::UnboundedSender<SubCommand>,
    runtime: tokio::runtime::Handle,
}

impl RedisAdapterFactory {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`) with
    /// the default options.
    pub async fn new(url: &str) -> Result<RedisAdapterFactory, RedisAdapterError> {
        let client = redis::Client::open(url)?;
        Self::with_config(client, RedisAdapterConfig::default()).await
    }

    /// Connects to the Redis at `url` with `config`.
    pub async fn connect(
        url: &str,
        config: RedisAdapterConfig,
    ) -> Result<RedisAdapterFactory, RedisAdapterError> {
        let client = redis::Client::open(url)?;
        Self::with_config(client, config).await
    }

    /// Connects with `client` and `config`: the publishing and the
    /// subscriber connections are open when this returns.
    pub async fn with_config(
        client: redis::Client,
        config: RedisAdapterConfig,
    ) -> Result<RedisAdapterFactory, RedisAdapterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
        let publisher = tokio::time::timeout(CONNECT_TIMEOUT, client.get_connection_manager())
            .await
            .map_err(|_| RedisAdapterError::Timeout)??;
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
            .await
            .map_err(|_| RedisAdapterError::Timeout)??;
        let codec = ClassicCodec::new(config.key.clone())
            .publish_on_specific_response_channel(config.publish_on_specific_response_channel);
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(subscriber_task(client, codec.clone(), pubsub, rx));
        Ok(RedisAdapterFactory {
            shared: Arc::new(Shared {
                config,
                codec,
                publisher,
                subscriber: tx,
                runtime,
            }),
        })
    }
}

/// The handle of an adapter created without a namespace: nothing to apply.
struct Detached;

impl LocalNamespace for Detached {
    fn local_name(&self) -> &str {
        ""
    }
    fn deliver(&self, _: Vec<Value>, _: &BroadcastOptions) {}
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

impl AdapterFactory for RedisAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        let detached: Weak<dyn LocalNamespace> = Weak::<Detached>::new();
        self.create_for(nsp, detached)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        let shared = self.shared.clone();
        let config = &shared.config;
        let uid = ServerId::random_classic();
        let (outbox, rx) = mpsc::channel(config.max_queued_publishes.max(1));
        let state = ClusterState::with_config(
            uid.clone(),
            nsp,
            Membership::Counted,
            StateConfig {
                request_timeout: config.requests_timeout,
                classic_request_ids: true,
                ..StateConfig::default()
            },
        );
        let inner = Arc::new(Inner {
            local: match config.recovery {
                Some(max) => LocalAdapter::with_recovery(max),
                None => LocalAdapter::new(),
            },
            nsp: nsp.to_owned(),
            uid: uid.clone(),
            ns: local,
            shared: shared.clone(),
            state: Mutex::new(state),
            outbox,
            requests: Mutex::new(HashMap::new()),
            ack_routes: Mutex::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
            closed: AtomicBool::new(false),
        });
        shared
            .runtime
            .spawn(publisher_task(rx, shared.publisher.clone()));
        shared
            .runtime
            .spawn(timer_task(Arc::downgrade(&inner), inner.wake.clone()));
        let (done, _) = oneshot::channel();
        let _ = shared.subscriber.send(SubCommand::Register {
            nsp: nsp.to_owned(),
            uid,
            adapter: Arc::downgrade(&inner),
            done,
        });
        Arc::new(RedisAdapter { inner })
    }
}

enum AckEvent {
    Value(Value),
    Done { complete: bool },
}

/// One namespace's adapter.
struct RedisAdapter {
    inner: Arc<Inner>,
}

impl Drop for RedisAdapter {
    fn drop(&mut self) {
        self.inner.shutdown(None);
    }
}

struct Inner {
    local: LocalAdapter,
    nsp: String,
    uid: ServerId,
    ns: Weak<dyn LocalNamespace>,
    shared: Arc<Shared>,
    state: Mutex<ClusterState>,
    outbox: mpsc::Sender<RedisCommand>,
    requests: Mutex<HashMap<String, oneshot::Sender<Completed>>>,
    ack_routes: Mutex<HashMap<String, mpsc::UnboundedSender<AckEvent>>>,
    wake: Arc<Notify>,
    closed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, ClusterState> {
        lock(&self.state)
    }

    fn shutdown(&self, done: Option<oneshot::Sender<()>>) {
        if self.closed.swap(true, Ordering::SeqCst) {
            if let Some(done) = done {
                let _ = done.send(());
            }
            return;
        }
        let done = done.unwrap_or_else(|| oneshot::channel().0);
        let _ = self.shared.subscriber.send(SubCommand::Unregister {
            nsp: self.nsp.clone(),
            uid: self.uid.clone(),
            done,
        });
        self.wake.notify_one();
    }

    fn enqueue(&self, cmd: RedisCommand) {
        match self.outbox.try_send(cmd) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(cmd)) => {
                tracing::warn!(nsp = %self.nsp, command = ?cmd, "Redis adapter: publish queue full, message dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(nsp = %self.nsp, "Redis adapter: publisher gone, message dropped");
            }
        }
    }

    fn enqueue_envelope(&self, envelope: &Envelope<ClusterMessage>) {
        match self.shared.codec.encode_message(envelope) {
            Ok(cmd) => self.enqueue(cmd),
            Err(e) => {
                tracing::warn!(nsp = %self.nsp, error = %e, "Redis adapter: cannot encode message")
            }
        }
    }

    fn publish_message(&self, body: ClusterMessage) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let envelope = self.state().message(body, Instant::now());
        self.enqueue_envelope(&envelope);
    }

    fn respond(&self, to: Option<&ServerId>, body: ClusterResponse) {
        match self.shared.codec.encode_response(&self.nsp, to, &body) {
            Ok(cmd) => self.enqueue(cmd),
            Err(e) => {
                tracing::warn!(nsp = %self.nsp, error = %e, "Redis adapter: cannot encode response")
            }
        }
    }

    async fn server_count(&self) -> usize {
        let cmd = self.shared.codec.server_count_command(&self.nsp);
        let mut conn = self.shared.publisher.clone();
        match to_cmd(&cmd).query_async::<redis::Value>(&mut conn).await {
            Ok(reply) => numsub_count(&reply).unwrap_or_else(|| {
                tracing::warn!(nsp = %self.nsp, ?reply, "Redis adapter: unexpected NUMSUB reply");
                1
            }),
            Err(e) => {
                tracing::warn!(nsp = %self.nsp, error = %e, "Redis adapter: NUMSUB failed; counting this server only");
                1
            }
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
                    lock(&self.requests).insert(request_id, tx);
                    envelope
                }
            }
        };
        self.wake.notify_one();
        self.enqueue_envelope(&envelope);
        let completed = rx.await.ok()?;
        if let Some(t) = &completed.timed_out {
            tracing::warn!(
                nsp = %self.nsp,
                kind = ?completed.kind,
                expected = t.expected,
                received = t.received,
                "Redis adapter: request timed out; returning partial results"
            );
        }
        Some(completed)
    }

    fn on_message(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let incoming = match self.shared.codec.decode(&self.nsp, channel, payload) {
            Ok(i) => i,
            Err(e) => {
                tracing::debug!(nsp = %self.nsp, channel, error = %e, "Redis adapter: message dropped");
                return;
            }
        };
        let now = Instant::now();
        let actions = {
            let mut st = self.state();
            match incoming {
                ClassicIncoming::Message(env) => st.handle_message(env, None, now),
                ClassicIncoming::Response(env) => st.handle_response(env, now),
            }
        };
        self.run(actions);
    }

    fn run(self: &Arc<Self>, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Apply { message, from, .. } => self.apply(message, from),
                Action::Publish(envelope) => self.enqueue_envelope(&envelope),
                Action::Completed(c) => {
                    if let Some(tx) = lock(&self.requests).remove(&c.request_id) {
                        let _ = tx.send(c);
                    }
                }
                Action::ClientCount { .. } => {}
                Action::Ack { request_id, value } => {
                    if let Some(tx) = lock(&self.ack_routes).get(&request_id) {
                        let _ = tx.send(AckEvent::Value(value));
                    }
                }
                Action::AcksDone {
                    request_id,
                    timed_out,
                } => {
                    if let Some(tx) = lock(&self.ack_routes).remove(&request_id) {
                        let _ = tx.send(AckEvent::Done {
                            complete: timed_out.is_none(),
                        });
                    }
                }
            }
        }
    }

    /// Applies what another server asks to the local sockets, answering
    /// when an answer is expected.
    fn apply(self: &Arc<Self>, message: ClusterMessage, from: Option<ServerId>) {
        let Some(ns) = self.ns.upgrade() else {
            return;
        };
        match message {
            ClusterMessage::Broadcast {
                packet,
                opts,
                request_id: None,
            } => ns.deliver(packet.data, &opts.to_local()),
            ClusterMessage::Broadcast {
                packet,
                opts,
                request_id: Some(request_id),
            } => {
                let timeout = opts
                    .flags
                    .timeout
                    .map_or(self.shared.config.requests_timeout, Duration::from_millis);
                let (count, mut acks) = ns.deliver_with_ack(packet.data, &opts.to_local(), timeout);
                self.respond(
                    from.as_ref(),
                    ClusterResponse::ClientCount {
                        request_id: request_id.clone(),
                        count,
                    },
                );
                if count > 0 {
                    let me = Arc::downgrade(self);
                    self.shared.runtime.spawn(async move {
                        while let Some(args) = acks.recv().await {
                            let Some(me) = me.upgrade() else { return };
                            let value = args.into_iter().next().unwrap_or(Value::Null);
                            me.respond(
                                from.as_ref(),
                                ClusterResponse::Ack {
                                    request_id: request_id.clone(),
                                    value,
                                },
                            );
                        }
                    });
                }
            }
            ClusterMessage::SocketsJoin { opts, rooms } => ns.apply_join(&opts.to_local(), &rooms),
            ClusterMessage::SocketsLeave { opts, rooms } => {
                ns.apply_leave(&opts.to_local(), &rooms)
            }
            ClusterMessage::DisconnectSockets { opts, close } => {
                ns.apply_disconnect(&opts.to_local(), close)
            }
            ClusterMessage::FetchSockets { opts, request_id } => {
                let sockets = ns.describe_sockets(&opts.to_local());
                self.respond(
                    from.as_ref(),
                    ClusterResponse::FetchSockets {
                        request_id,
                        sockets,
                    },
                );
            }
            ClusterMessage::ServerSideEmit {
                args,
                request_id: None,
            } => ns.receive_server_side_emit(args, None),
            ClusterMessage::ServerSideEmit {
                args,
                request_id: Some(request_id),
            } => {
                let (tx, rx) = oneshot::channel();
                ns.receive_server_side_emit(args, Some(ServerSideAck::new(tx)));
                let me = Arc::downgrade(self);
                let timeout = self.shared.config.requests_timeout;
                self.shared.runtime.spawn(async move {
                    if let Ok(Ok(value)) = tokio::time::timeout(timeout, rx).await {
                        if let Some(me) = me.upgrade() {
                            me.respond(
                                from.as_ref(),
                                ClusterResponse::ServerSideEmit { request_id, value },
                            );
                        }
                    }
                });
            }
            ClusterMessage::AllRooms { request_id } => {
                let rooms = self.local.rooms().into_iter().collect();
                self.respond(
                    from.as_ref(),
                    ClusterResponse::AllRooms { request_id, rooms },
                );
            }
            ClusterMessage::Sockets { request_id, rooms } => {
                let opts = BroadcastOptions {
                    rooms,
                    ..BroadcastOptions::default()
                };
                let sockets = self
                    .local
                    .sockets(&opts)
                    .into_iter()
                    .map(|s| s.to_string())
                    .collect();
                self.respond(
                    from.as_ref(),
                    ClusterResponse::SocketIds {
                        request_id,
                        sockets,
                    },
                );
            }
            ClusterMessage::RemoteJoin {
                request_id,
                sid,
                room,
            } => {
                if self.legacy_target(&sid) {
                    ns.apply_join(&one_socket(&sid), &[room]);
                    self.legacy_done(from.as_ref(), request_id);
                }
            }
            ClusterMessage::RemoteLeave {
                request_id,
                sid,
                room,
            } => {
                if self.legacy_target(&sid) {
                    ns.apply_leave(&one_socket(&sid), &[room]);
                    self.legacy_done(from.as_ref(), request_id);
                }
            }
            ClusterMessage::RemoteDisconnect {
                request_id,
                sid,
                close,
            } => {
                if self.legacy_target(&sid) {
                    ns.apply_disconnect(&one_socket(&sid), close);
                    self.legacy_done(from.as_ref(), request_id);
                }
            }
            ClusterMessage::InitialHeartbeat
            | ClusterMessage::Heartbeat
            | ClusterMessage::AdapterClose => {}
        }
    }

    /// Whether a legacy single-socket request names a socket of this server
    /// (its own room exists here).
    fn legacy_target(&self, sid: &str) -> bool {
        !self.local.room_sockets(sid).is_empty()
    }

    fn legacy_done(&self, to: Option<&ServerId>, request_id: Option<String>) {
        if let Some(request_id) = request_id {
            self.respond(to, ClusterResponse::Done { request_id });
        }
    }
}

fn one_socket(sid: &str) -> BroadcastOptions {
    BroadcastOptions {
        rooms: vec![Room::from(sid)],
        ..BroadcastOptions::default()
    }
}

/// The count of a `PUBSUB NUMSUB <channel>` reply: `[channel, count]`.
fn numsub_count(reply: &redis::Value) -> Option<usize> {
    match reply {
        redis::Value::Array(items) => match items.get(1)? {
            redis::Value::Int(n) => usize::try_from(*n).ok(),
            _ => None,
        },
        _ => None,
    }
}

fn to_cmd(c: &RedisCommand) -> redis::Cmd {
    let mut cmd = redis::cmd(c.name);
    for a in &c.args {
        cmd.arg(&a[..]);
    }
    cmd
}

impl Adapter for RedisAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        self.inner.local.add_all(sid, rooms)
    }
    fn del(&self, sid: Sid, room: &str) {
        self.inner.local.del(sid, room)
    }
    fn del_all(&self, sid: Sid) {
        self.inner.local.del_all(sid)
    }
    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.inner.local.socket_rooms(sid)
    }
    fn sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.inner.local.sockets(opts)
    }
    fn rooms(&self) -> HashSet<Room> {
        self.inner.local.rooms()
    }
    fn room_sockets(&self, room: &str) -> Vec<Sid> {
        self.inner.local.room_sockets(room)
    }
    fn on_room_event(&self, listener: RoomListener) {
        self.inner.local.on_room_event(listener)
    }
    fn store_packet(&self, opts: &BroadcastOptions, data: &[Value]) -> Option<String> {
        self.inner.local.store_packet(opts, data)
    }
    fn persist_session(&self, session: SessionToPersist) {
        self.inner.local.persist_session(session)
    }
    fn restore_session(&self, pid: &str, offset: &str) -> Option<RecoveredSession> {
        self.inner.local.restore_session(pid, offset)
    }

    fn server_side_emit(
        &self,
        args: Vec<Value>,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Vec<Value>> {
        let Some(timeout) = timeout else {
            self.inner.publish_message(ClusterMessage::ServerSideEmit {
                args,
                request_id: None,
            });
            return Box::pin(async { Vec::new() });
        };
        let inner = self.inner.clone();
        Box::pin(async move {
            let count = inner.server_count().await;
            let completed = inner
                .request(|st, now| st.server_side_emit_with_ack_timeout(args, count, timeout, now))
                .await;
            match completed.map(|c| c.responses) {
                Some(Responses::Values(values)) => values,
                _ => Vec::new(),
            }
        })
    }

    fn all_rooms(&self) -> BoxFuture<'static, HashSet<Room>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut rooms = inner.local.rooms();
            let count = inner.server_count().await;
            let completed = inner.request(|st, now| st.all_rooms(count, now)).await;
            if let Some(Responses::Rooms(remote)) = completed.map(|c| c.responses) {
                rooms.extend(remote);
            }
            rooms
        })
    }

    fn publish_broadcast(&self, data: &[Value], opts: &BroadcastOptions) {
        self.inner.publish_message(ClusterMessage::Broadcast {
            packet: ClusterPacket::event(data.to_vec()),
            opts: WireOptions::from_local(opts),
            request_id: None,
        });
    }

    fn publish_broadcast_with_ack(
        &self,
        data: Vec<Value>,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'static, RemoteAcks> {
        let inner = self.inner.clone();
        let wire = WireOptions::from_local(opts);
        Box::pin(async move {
            let count = inner.server_count().await;
            let (tx, mut rx) = mpsc::unbounded_channel();
            let (envelope, servers) = {
                let mut st = inner.state();
                let (id, envelope, servers) = st.broadcast_with_ack(
                    ClusterPacket::event(data),
                    wire,
                    timeout,
                    count,
                    Instant::now(),
                );
                if servers > 0 {
                    lock(&inner.ack_routes).insert(id, tx);
                }
                (envelope, servers)
            };
            inner.wake.notify_one();
            inner.enqueue_envelope(&envelope);
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
        self.inner.publish_message(ClusterMessage::SocketsJoin {
            opts: WireOptions::from_local(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn publish_del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        self.inner.publish_message(ClusterMessage::SocketsLeave {
            opts: WireOptions::from_local(opts),
            rooms: rooms.to_vec(),
        });
    }

    fn publish_disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.inner
            .publish_message(ClusterMessage::DisconnectSockets {
                opts: WireOptions::from_local(opts),
                close,
            });
    }

    fn fetch_remote_sockets(
        &self,
        opts: &BroadcastOptions,
    ) -> BoxFuture<'static, Vec<RemoteSocket>> {
        let inner = self.inner.clone();
        let wire = WireOptions::from_local(opts);
        Box::pin(async move {
            let count = inner.server_count().await;
            let completed = inner
                .request(|st, now| st.fetch_sockets(wire, count, now))
                .await;
            match completed.map(|c| c.responses) {
                Some(Responses::Sockets(sockets)) => sockets,
                _ => Vec::new(),
            }
        })
    }

    fn server_count(&self) -> BoxFuture<'static, usize> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.server_count().await })
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let (tx, rx) = oneshot::channel();
        self.inner.shutdown(Some(tx));
        Box::pin(async move {
            let _ = tokio::time::timeout(CONNECT_TIMEOUT, rx).await;
        })
    }
}

/// Sends the queued messages of one namespace, in order.
async fn publisher_task(mut rx: mpsc::Receiver<RedisCommand>, mut conn: ConnectionManager) {
    while let Some(cmd) = rx.recv().await {
        let mut result = to_cmd(&cmd).query_async::<redis::Value>(&mut conn).await;
        if let Err(e) = &result {
            if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                // The connection manager reconnects behind the failed
                // command: try once more.
                tokio::time::sleep(MIN_BACKOFF).await;
                result = to_cmd(&cmd).query_async::<redis::Value>(&mut conn).await;
            }
        }
        if let Err(e) = result {
            tracing::warn!(command = ?cmd, error = %e, "Redis adapter: publish failed, message dropped");
        }
    }
}

/// Times requests out: sleeps until the state's next deadline, or until
/// woken by a new request.
async fn timer_task(adapter: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let deadline = match adapter.upgrade() {
            Some(inner) if !inner.closed.load(Ordering::Relaxed) => inner.state().next_deadline(),
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
        let Some(inner) = adapter.upgrade() else {
            return;
        };
        let actions = inner.state().poll(Instant::now());
        inner.run(actions);
    }
}

enum SubCommand {
    Register {
        nsp: String,
        uid: ServerId,
        adapter: Weak<Inner>,
        done: oneshot::Sender<()>,
    },
    Unregister {
        nsp: String,
        uid: ServerId,
        done: oneshot::Sender<()>,
    },
}

struct Registration {
    nsp: String,
    uid: ServerId,
    adapter: Weak<Inner>,
}

fn channels(cmd: &RedisCommand) -> Vec<String> {
    (0..cmd.args.len())
        .filter_map(|i| cmd.arg_str(i).map(str::to_owned))
        .collect()
}

async fn subscribe(
    sink: &mut PubSubSink,
    codec: &ClassicCodec,
    nsp: &str,
    uid: &ServerId,
) -> redis::RedisResult<()> {
    for cmd in codec.subscribe_commands(nsp, uid) {
        match cmd.name {
            "PSUBSCRIBE" => sink.psubscribe(channels(&cmd)).await?,
            "SUBSCRIBE" => sink.subscribe(channels(&cmd)).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn unsubscribe(
    sink: &mut PubSubSink,
    codec: &ClassicCodec,
    nsp: &str,
    uid: &ServerId,
) -> redis::RedisResult<()> {
    for cmd in codec.unsubscribe_commands(nsp, uid) {
        match cmd.name {
            "PUNSUBSCRIBE" => sink.punsubscribe(channels(&cmd)).await?,
            "UNSUBSCRIBE" => sink.unsubscribe(channels(&cmd)).await?,
            _ => {}
        }
    }
    Ok(())
}

fn route(regs: &mut Vec<Registration>, codec: &ClassicCodec, msg: &redis::Msg) {
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    regs.retain(|r| r.adapter.strong_count() > 0);
    for r in regs.iter() {
        if codec.channel_kind(&r.nsp, channel).is_some() {
            if let Some(adapter) = r.adapter.upgrade() {
                adapter.on_message(channel, payload);
            }
        }
    }
}

/// Handles registrations while waiting to reconnect; false once the
/// factory and every adapter are gone.
async fn backoff(
    delay: &mut Duration,
    commands: &mut mpsc::UnboundedReceiver<SubCommand>,
    regs: &mut Vec<Registration>,
) -> bool {
    let until = tokio::time::Instant::now() + *delay;
    *delay = (*delay * 2).min(MAX_BACKOFF);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            cmd = commands.recv() => match cmd {
                None => return false,
                Some(SubCommand::Register { nsp, uid, adapter, done }) => {
                    regs.push(Registration { nsp, uid, adapter });
                    let _ = done.send(());
                }
                Some(SubCommand::Unregister { nsp, uid, done }) => {
                    regs.retain(|r| !(r.nsp == nsp && r.uid == uid));
                    let _ = done.send(());
                }
            }
        }
    }
}

/// The one subscriber connection of a server: (re)subscribes every
/// namespace and routes what arrives to its adapter.
async fn subscriber_task(
    client: redis::Client,
    codec: ClassicCodec,
    first: PubSub,
    mut commands: mpsc::UnboundedReceiver<SubCommand>,
) {
    let mut regs: Vec<Registration> = Vec::new();
    let mut next = Some(first);
    let mut delay = MIN_BACKOFF;
    loop {
        let pubsub = match next.take() {
            Some(p) => p,
            None => match tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "Redis adapter: subscriber cannot connect; retrying");
                    if !backoff(&mut delay, &mut commands, &mut regs).await {
                        return;
                    }
                    continue;
                }
                Err(_) => {
                    tracing::warn!("Redis adapter: subscriber connection timed out; retrying");
                    if !backoff(&mut delay, &mut commands, &mut regs).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut healthy = true;
        regs.retain(|r| r.adapter.strong_count() > 0);
        for r in &regs {
            if let Err(e) = subscribe(&mut sink, &codec, &r.nsp, &r.uid).await {
                tracing::warn!(nsp = %r.nsp, error = %e, "Redis adapter: subscribe failed");
                healthy = false;
                break;
            }
        }
        if healthy && !regs.is_empty() && delay > MIN_BACKOFF {
            tracing::info!("Redis adapter: subscriber reconnected");
        }
        if healthy {
            delay = MIN_BACKOFF;
        }
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        while healthy {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => route(&mut regs, &codec, &msg),
                    None => {
                        tracing::warn!("Redis adapter: subscriber connection lost; reconnecting");
                        healthy = false;
                    }
                },
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(SubCommand::Register { nsp, uid, adapter, done }) => {
                        let r = subscribe(&mut sink, &codec, &nsp, &uid).await;
                        regs.push(Registration { nsp: nsp.clone(), uid, adapter });
                        let _ = done.send(());
                        if let Err(e) = r {
                            tracing::warn!(nsp = %nsp, error = %e, "Redis adapter: subscribe failed; reconnecting");
                            healthy = false;
                        }
                    }
                    Some(SubCommand::Unregister { nsp, uid, done }) => {
                        regs.retain(|r| !(r.nsp == nsp && r.uid == uid));
                        let r = unsubscribe(&mut sink, &codec, &nsp, &uid).await;
                        let _ = done.send(());
                        if let Err(e) = r {
                            tracing::warn!(nsp = %nsp, error = %e, "Redis adapter: unsubscribe failed; reconnecting");
                            healthy = false;
                        }
                    }
                },
                _ = ping.tick() => {
                    match tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "Redis adapter: subscriber ping failed; reconnecting");
                            healthy = false;
                        }
                        Err(_) => {
                            tracing::warn!("Redis adapter: subscriber ping timed out; reconnecting");
                            healthy = false;
                        }
                    }
                }
            }
        }
        drop(stream);
        if !backoff(&mut delay, &mut commands, &mut regs).await {
            return;
        }
    }
}
