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
//!
//! This module also holds the machinery the other flavours
//! ([`super::redis_sharded`], [`super::redis_streams`]) share: the
//! connections, the per-namespace publish queue, the request timer, the
//! subscriber task (a RESP3 push connection where sharded pub/sub is needed,
//! as `redis`'s pub/sub connection has no `SSUBSCRIBE`), the stream reader,
//! and the dispatch of what arrives to the namespace.

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, MultiplexedConnection, PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot, Notify};

use super::cluster::classic::{ClassicCodec, ClassicIncoming};
use super::cluster::delivery::{Deliveries, Offset, OffsetBackoff};
use super::cluster::sharded::ShardedCodec;
use super::cluster::state::{
    Action, ClusterState, Completed, Responses, Started, StateConfig, DEFAULT_REQUEST_TIMEOUT,
};
use super::cluster::streams::{StreamEntry, StreamsCodec};
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
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

/// The wire protocol one factory speaks: which Node adapter it mirrors.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    /// `createAdapter()`.
    Classic(ClassicCodec),
    /// `createShardedAdapter()`.
    Sharded(ShardedCodec),
    /// `@socket.io/redis-streams-adapter` 0.3.
    Streams(StreamsCodec),
}

impl Wire {
    fn is_classic(&self) -> bool {
        matches!(self, Wire::Classic(_))
    }

    /// Sharded pub/sub exists only on RESP3 push connections in `redis`.
    fn needs_resp3(&self) -> bool {
        match self {
            Wire::Classic(_) => false,
            Wire::Sharded(_) => true,
            Wire::Streams(c) => c.uses_sharded_pubsub(),
        }
    }

    fn new_uid(&self) -> ServerId {
        match self {
            Wire::Classic(_) => ServerId::random_classic(),
            _ => ServerId::random_hex(),
        }
    }

    fn encode_message(
        &self,
        envelope: &Envelope<ClusterMessage>,
    ) -> Result<RedisCommand, super::cluster::EncodeError> {
        match self {
            Wire::Classic(c) => c.encode_message(envelope),
            Wire::Sharded(c) => c.encode_message(envelope),
            Wire::Streams(c) => c.encode_message(envelope),
        }
    }

    fn server_count_command(&self, nsp: &str) -> Option<RedisCommand> {
        match self {
            Wire::Classic(c) => Some(c.server_count_command(nsp)),
            Wire::Sharded(c) => Some(c.server_count_command(nsp)),
            Wire::Streams(c) => c.server_count_command(nsp),
        }
    }

    /// What namespace `nsp` subscribes to; `rooms` are its local rooms
    /// (sharded dynamic modes subscribe to their channels too).
    fn subscribe_commands(&self, nsp: &str, uid: &ServerId, rooms: &[Room]) -> Vec<RedisCommand> {
        match self {
            Wire::Classic(c) => c.subscribe_commands(nsp, uid),
            Wire::Sharded(c) => {
                let mut cmds = c.subscribe_commands(nsp, uid);
                cmds.extend(
                    rooms
                        .iter()
                        .filter_map(|r| c.room_created(nsp, r, looks_private(r))),
                );
                cmds
            }
            Wire::Streams(c) => c.subscribe_commands(nsp, uid),
        }
    }

    fn unsubscribe_commands(&self, nsp: &str, uid: &ServerId, rooms: &[Room]) -> Vec<RedisCommand> {
        match self {
            Wire::Classic(c) => c.unsubscribe_commands(nsp, uid),
            Wire::Sharded(c) => {
                c.unsubscribe_commands(nsp, uid, rooms.iter().map(|r| (&**r, looks_private(r))))
            }
            Wire::Streams(c) => c
                .subscribe_commands(nsp, uid)
                .into_iter()
                .map(|cmd| RedisCommand {
                    name: if cmd.name == "SSUBSCRIBE" {
                        "SUNSUBSCRIBE"
                    } else {
                        "UNSUBSCRIBE"
                    },
                    args: cmd.args,
                })
                .collect(),
        }
    }

    /// Whether a pub/sub message on `channel` may be for namespace `nsp`
    /// (the cluster state drops other namespaces' messages anyway).
    fn accepts(&self, nsp: &str, channel: &str) -> bool {
        match self {
            Wire::Classic(c) => c.channel_kind(nsp, channel).is_some(),
            Wire::Sharded(c) => channel.starts_with(&c.channel(nsp)),
            Wire::Streams(c) => channel.starts_with(&c.public_channel(nsp)),
        }
    }
}

/// Whether a room is a socket's own room, which Node's "dynamic" mode keeps
/// off per-room channels: socket ids are 20 characters, and Node's
/// publishers decide by that length alone.
fn looks_private(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

/// The options every flavour shares.
#[derive(Debug, Clone)]
pub(crate) struct EngineConfig {
    pub(crate) requests_timeout: Duration,
    pub(crate) max_queued_publishes: usize,
    pub(crate) recovery: Option<Duration>,
}

pub(crate) struct Shared {
    config: EngineConfig,
    wire: Wire,
    publisher: ConnectionManager,
    subscriber: mpsc::UnboundedSender<SubCommand>,
    runtime: tokio::runtime::Handle,
    /// Every live adapter, for what arrives outside pub/sub (stream entries).
    adapters: Mutex<Vec<Weak<Inner>>>,
    /// The flavour's name in logs.
    label: &'static str,
    /// Whether stream entry ids (offsets) are not coming lately.
    offsets: Arc<OffsetBackoff>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("flavour", &self.label)
            .field("wire", &self.wire)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Copies `client`'s connection settings with the RESP3 protocol.
fn resp3_client(client: &redis::Client) -> redis::RedisResult<redis::Client> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}

/// Opens the connections of one server's adapters and starts the
/// subscriber (and, for streams, the stream readers).
pub(crate) async fn start_engine(
    client: redis::Client,
    wire: Wire,
    config: EngineConfig,
    label: &'static str,
) -> Result<Arc<Shared>, RedisAdapterError> {
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
    let publisher = tokio::time::timeout(CONNECT_TIMEOUT, client.get_connection_manager())
        .await
        .map_err(|_| RedisAdapterError::Timeout)??;
    let sub_client = if wire.needs_resp3() {
        resp3_client(&client)?
    } else {
        client.clone()
    };
    let first = tokio::time::timeout(CONNECT_TIMEOUT, SubConn::connect(&sub_client))
        .await
        .map_err(|_| RedisAdapterError::Timeout)??;
    let (tx, rx) = mpsc::unbounded_channel();
    runtime.spawn(subscriber_task(sub_client, first, rx, label));
    let shared = Arc::new(Shared {
        config,
        wire,
        publisher,
        subscriber: tx,
        runtime,
        adapters: Mutex::new(Vec::new()),
        label,
        offsets: Arc::default(),
    });
    if let Wire::Streams(codec) = &shared.wire {
        for stream in codec.read_streams() {
            shared.runtime.spawn(stream_reader(
                client.clone(),
                codec.clone(),
                stream,
                Arc::downgrade(&shared),
            ));
        }
    }
    Ok(shared)
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
        let codec = ClassicCodec::new(config.key.clone())
            .publish_on_specific_response_channel(config.publish_on_specific_response_channel);
        let engine = EngineConfig {
            requests_timeout: config.requests_timeout,
            max_queued_publishes: config.max_queued_publishes,
            recovery: config.recovery,
        };
        let shared = start_engine(client, Wire::Classic(codec), engine, "Redis adapter").await?;
        Ok(RedisAdapterFactory { shared })
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> RedisAdapterFactory {
        RedisAdapterFactory { shared }
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

impl AdapterFactory for RedisAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        let detached: Weak<dyn LocalNamespace> = Weak::<Detached>::new();
        self.create_for(nsp, detached)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        create_adapter(&self.shared, nsp, local)
    }
}

/// One namespace's adapter on `shared`'s connections.
pub(crate) fn create_adapter(
    shared: &Arc<Shared>,
    nsp: &str,
    local: Weak<dyn LocalNamespace>,
) -> Arc<dyn Adapter> {
    let config = &shared.config;
    let uid = shared.wire.new_uid();
    let (outbox, rx) = mpsc::channel(config.max_queued_publishes.max(1));
    let state = ClusterState::with_config(
        uid.clone(),
        nsp,
        Membership::Counted,
        StateConfig {
            request_timeout: config.requests_timeout,
            classic_request_ids: shared.wire.is_classic(),
            ..StateConfig::default()
        },
    );
    let deliveries = Arc::new(Deliveries::new(
        local.clone(),
        shared.offsets.clone(),
        shared.runtime.clone(),
        shared.label,
    ));
    let inner = Arc::new(Inner {
        deliveries,
        // Streams keep recovery data in Redis, where any server finds it.
        local: match (config.recovery, &shared.wire) {
            (Some(max), Wire::Classic(_) | Wire::Sharded(_)) => LocalAdapter::with_recovery(max),
            _ => LocalAdapter::new(),
        },
        nsp: nsp.to_owned(),
        uid,
        ns: local,
        shared: shared.clone(),
        state: Mutex::new(state),
        outbox,
        requests: Mutex::new(HashMap::new()),
        ack_routes: Mutex::new(HashMap::new()),
        wake: Arc::new(Notify::new()),
        closed: AtomicBool::new(false),
    });
    if let Wire::Sharded(codec) = &shared.wire {
        if codec.room_has_channel(false) || codec.room_has_channel(true) {
            // Rooms come and go with their local sockets; their channels
            // follow, as Node's "dynamic" subscription modes do.
            let codec = codec.clone();
            let nsp = nsp.to_owned();
            let subscriber = shared.subscriber.clone();
            inner
                .local
                .on_room_event(Arc::new(move |event: &super::RoomEvent| {
                    let cmd = match event {
                        super::RoomEvent::CreateRoom(room) => {
                            codec.room_created(&nsp, room, looks_private(room))
                        }
                        super::RoomEvent::DeleteRoom(room) => {
                            codec.room_deleted(&nsp, room, looks_private(room))
                        }
                        _ => None,
                    };
                    if let Some(cmd) = cmd {
                        let _ = subscriber.send(SubCommand::Run(cmd));
                    }
                }));
        }
    }
    lock(&shared.adapters).retain(|a| a.strong_count() > 0);
    lock(&shared.adapters).push(Arc::downgrade(&inner));
    shared
        .runtime
        .spawn(publisher_task(rx, shared.publisher.clone(), shared.label));
    shared
        .runtime
        .spawn(timer_task(Arc::downgrade(&inner), inner.wake.clone()));
    let (done, _) = oneshot::channel();
    let _ = shared.subscriber.send(SubCommand::Register {
        adapter: Arc::downgrade(&inner),
        done,
    });
    Arc::new(RedisAdapter { inner })
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
    deliveries: Arc<Deliveries>,
    local: LocalAdapter,
    nsp: String,
    uid: ServerId,
    ns: Weak<dyn LocalNamespace>,
    shared: Arc<Shared>,
    state: Mutex<ClusterState>,
    outbox: mpsc::Sender<Outgoing>,
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

    fn shutdown(self: &Arc<Self>, done: Option<oneshot::Sender<()>>) {
        if self.closed.swap(true, Ordering::SeqCst) {
            if let Some(done) = done {
                let _ = done.send(());
            }
            return;
        }
        let done = done.unwrap_or_else(|| oneshot::channel().0);
        let rooms: Vec<Room> = self.local.rooms().into_iter().collect();
        let _ = self.shared.subscriber.send(SubCommand::Unregister {
            adapter: Arc::downgrade(self),
            commands: self
                .shared
                .wire
                .unsubscribe_commands(&self.nsp, &self.uid, &rooms),
            done,
        });
        self.wake.notify_one();
    }

    fn subscribe_commands(&self) -> Vec<RedisCommand> {
        let rooms: Vec<Room> = self.local.rooms().into_iter().collect();
        self.shared
            .wire
            .subscribe_commands(&self.nsp, &self.uid, &rooms)
    }

    fn enqueue(&self, cmd: RedisCommand) {
        self.enqueue_with_reply(cmd, None);
    }

    fn enqueue_with_reply(
        &self,
        cmd: RedisCommand,
        reply: Option<oneshot::Sender<Option<String>>>,
    ) {
        match self.outbox.try_send(Outgoing { cmd, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(Outgoing { cmd, .. })) => {
                tracing::warn!(nsp = %self.nsp, command = ?cmd, "Redis adapter: publish queue full, message dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(nsp = %self.nsp, "Redis adapter: publisher gone, message dropped");
            }
        }
    }

    fn enqueue_envelope(&self, envelope: &Envelope<ClusterMessage>) {
        match self.shared.wire.encode_message(envelope) {
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
        let encoded = match (&self.shared.wire, to) {
            (Wire::Classic(c), _) => c.encode_response(&self.nsp, to, &body),
            (Wire::Sharded(c), Some(to)) => c.encode_response(to, &self.state().response(body)),
            (Wire::Streams(c), Some(to)) => c.encode_response(to, &self.state().response(body)),
            (_, None) => {
                tracing::debug!(nsp = %self.nsp, "Redis adapter: request without a sender uid; not answered");
                return;
            }
        };
        match encoded {
            Ok(cmd) => self.enqueue(cmd),
            Err(e) => {
                tracing::warn!(nsp = %self.nsp, error = %e, "Redis adapter: cannot encode response")
            }
        }
    }

    async fn server_count(&self) -> usize {
        let Some(cmd) = self.shared.wire.server_count_command(&self.nsp) else {
            return self.state().server_count(1);
        };
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
                missing = ?t.missing,
                "{}: request timed out; returning partial results",
                self.shared.label
            );
        }
        Some(completed)
    }

    fn on_message(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        let actions = match &self.shared.wire {
            Wire::Classic(codec) => match codec.decode(&self.nsp, channel, payload) {
                Ok(ClassicIncoming::Message(env)) => self.state().handle_message(env, None, now),
                Ok(ClassicIncoming::Response(env)) => self.state().handle_response(env, now),
                Err(e) => {
                    tracing::debug!(nsp = %self.nsp, channel, error = %e, "Redis adapter: message dropped");
                    return;
                }
            },
            Wire::Sharded(codec) => match codec.decode(payload) {
                Ok(env) => self.state().handle(env, None, now),
                Err(e) => {
                    tracing::debug!(nsp = %self.nsp, channel, error = %e, "Redis adapter: message dropped");
                    return;
                }
            },
            Wire::Streams(codec) => match codec.decode_pubsub(payload) {
                Ok(env) => self.state().handle(env, None, now),
                Err(e) => {
                    tracing::debug!(nsp = %self.nsp, channel, error = %e, "Redis adapter: message dropped");
                    return;
                }
            },
        };
        self.run(actions);
    }

    /// Handles a stream entry of this namespace.
    fn on_entry(self: &Arc<Self>, entry: StreamEntry) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let actions = self
            .state()
            .handle(entry.envelope, Some(entry.id), Instant::now());
        self.run(actions);
    }

    fn run(self: &Arc<Self>, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Apply {
                    message,
                    from,
                    offset,
                } => self.apply(message, from, offset),
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
    fn apply(
        self: &Arc<Self>,
        message: ClusterMessage,
        from: Option<ServerId>,
        offset: Option<String>,
    ) {
        let Some(ns) = self.ns.upgrade() else {
            return;
        };
        if let ClusterMessage::Broadcast { packet, .. } = &message {
            // Clients cannot parse an event without a name: a peer's bad
            // packet must not become their parse error.
            if !matches!(packet.data.first(), Some(Value::String(_))) {
                tracing::debug!(nsp = %self.nsp, "Redis adapter: broadcast without an event name dropped");
                return;
            }
        }
        match message {
            ClusterMessage::Broadcast {
                packet,
                opts,
                request_id: None,
            } => {
                // A stream entry's id is the packet's recovery offset on
                // every server, as Node's streams adapter appends it.
                let offset = offset.filter(|_| {
                    self.shared.config.recovery.is_some() && opts.flags.volatile != Some(true)
                });
                ns.deliver(packet.data, &opts.to_local(), offset)
            }
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

/// How long a resuming client's handshake waits for its session.
const RESTORE_WAIT: Duration = Duration::from_secs(3);
/// Node reads at most this many XRANGE pages of missed packets.
const MAX_RANGE_CALLS: usize = 100;
const RANGE_COUNT: &str = "100";

impl Inner {
    /// The streams codec and session lifetime, when this is a streams
    /// adapter with connection state recovery.
    fn streams_recovery(&self) -> Option<(&StreamsCodec, Duration)> {
        match (&self.shared.wire, self.shared.config.recovery) {
            (Wire::Streams(codec), Some(ttl)) => Some((codec, ttl)),
            _ => None,
        }
    }

    /// Publishes a message, returning where its stream entry id (its
    /// recovery offset) will arrive.
    fn publish_with_offset(
        &self,
        body: ClusterMessage,
    ) -> Option<oneshot::Receiver<Option<String>>> {
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let envelope = self.state().message(body, Instant::now());
        match self.shared.wire.encode_message(&envelope) {
            Ok(cmd) => {
                let (tx, rx) = oneshot::channel();
                self.enqueue_with_reply(cmd, Some(tx));
                Some(rx)
            }
            Err(e) => {
                tracing::warn!(nsp = %self.nsp, error = %e, "Redis streams adapter: cannot encode message");
                None
            }
        }
    }

    /// Takes a persisted session back from Redis, with the broadcasts it
    /// missed after `offset`, as Node's streams adapter does.
    fn restore_from_redis(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RecoveredSession>> {
        let Some((codec, _)) = self.streams_recovery() else {
            return Box::pin(std::future::ready(None));
        };
        let codec = codec.clone();
        let Some(check) = codec.offset_check_command(&self.nsp, offset) else {
            return Box::pin(std::future::ready(None));
        };
        let mut conn = self.shared.publisher.clone();
        let nsp = self.nsp.clone();
        let key = codec.session_key(pid);
        let offset = offset.to_owned();
        let fut = async move {
            let (value, _): (Option<Vec<u8>>, redis::Value) = redis::pipe()
                .atomic()
                .cmd("GET")
                .arg(&key)
                .cmd("DEL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .ok()?;
            let session = match codec.decode_session(&value?) {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(nsp = %nsp, error = %e, "Redis streams adapter: bad session dropped");
                    return None;
                }
            };
            let found = to_cmd(&check)
                .query_async::<redis::Value>(&mut conn)
                .await
                .ok()?;
            if entries(&found).is_empty() {
                // Too old: the stream was trimmed past it.
                return None;
            }
            let mut rooms = session.rooms.clone();
            rooms.push(Room::from(session.sid.to_string()));
            let mut missed = Vec::new();
            let mut after = offset;
            for _ in 0..MAX_RANGE_CALLS {
                let mut cmd = codec.missed_range_command(&nsp, &after)?;
                cmd.args.push(bytes::Bytes::from_static(b"COUNT"));
                cmd.args
                    .push(bytes::Bytes::from_static(RANGE_COUNT.as_bytes()));
                let reply = to_cmd(&cmd)
                    .query_async::<redis::Value>(&mut conn)
                    .await
                    .ok()?;
                let entries = entries(&reply);
                let full = entries.len().to_string() == RANGE_COUNT;
                for (id, fields) in entries {
                    match codec.missed_packet(&nsp, &id, fields, &rooms) {
                        Ok(Some(packet)) => missed.push(packet),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(nsp = %nsp, id, error = %e, "Redis streams adapter: entry dropped")
                        }
                    }
                    after = id;
                }
                if !full {
                    break;
                }
            }
            Some(RecoveredSession {
                session,
                missed_packets: missed,
            })
        };
        let nsp = self.nsp.clone();
        Box::pin(async move {
            match tokio::time::timeout(RESTORE_WAIT, fut).await {
                Ok(found) => found,
                Err(_) => {
                    tracing::warn!(nsp = %nsp, "Redis streams adapter: session lookup timed out");
                    None
                }
            }
        })
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
    fn broadcast(&self, data: Vec<Value>, opts: &BroadcastOptions, local: &dyn LocalNamespace) {
        let inner = &self.inner;
        if !opts.flags.local {
            let message = ClusterMessage::Broadcast {
                packet: ClusterPacket::event(data.clone()),
                opts: WireOptions::from_local(opts),
                request_id: None,
            };
            // The stream entry id is the packet's offset, on every server.
            if inner.streams_recovery().is_some()
                && !opts.flags.volatile
                && !inner.shared.offsets.failing()
            {
                if let Some(reply) = inner.publish_with_offset(message) {
                    inner
                        .deliveries
                        .deliver(data, opts, Offset::Pending(reply), local);
                    return;
                }
            } else {
                inner.publish_message(message);
            }
        }
        let offset = inner.local.store_packet(opts, &data);
        inner
            .deliveries
            .deliver(data, opts, Offset::Known(offset), local);
    }
    fn persist_session(&self, session: SessionToPersist) {
        if let Some((codec, ttl)) = self.inner.streams_recovery() {
            let mut session = session;
            // Node keeps the socket's own room among the session's rooms, so
            // a Node server resuming it replays what was sent to the socket
            // alone.
            let own: Room = Room::from(session.sid.to_string());
            if !session.rooms.contains(&own) {
                session.rooms.push(own);
            }
            match codec.persist_session_command(&session, ttl) {
                Ok(cmd) => self.inner.enqueue(cmd),
                Err(e) => {
                    tracing::warn!(nsp = %self.inner.nsp, error = %e, "Redis streams adapter: cannot encode session")
                }
            }
            return;
        }
        self.inner.local.persist_session(session)
    }
    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RecoveredSession>> {
        if self.inner.streams_recovery().is_some() {
            return self.inner.restore_from_redis(pid, offset);
        }
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
            if !inner.shared.wire.is_classic() {
                // The ClusterAdapter protocol has no allRooms request.
                return rooms;
            }
            let count = inner.server_count().await;
            let completed = inner.request(|st, now| st.all_rooms(count, now)).await;
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

/// A command for the publisher, with where to send its reply when the
/// caller needs it (an XADD's entry id).
struct Outgoing {
    cmd: RedisCommand,
    reply: Option<oneshot::Sender<Option<String>>>,
}

/// Sends the queued messages of one namespace, in order.
async fn publisher_task(
    mut rx: mpsc::Receiver<Outgoing>,
    mut conn: ConnectionManager,
    label: &'static str,
) {
    while let Some(Outgoing { cmd, reply }) = rx.recv().await {
        let mut result = to_cmd(&cmd).query_async::<redis::Value>(&mut conn).await;
        if let Err(e) = &result {
            if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                // The connection manager reconnects behind the failed
                // command: try once more.
                tokio::time::sleep(MIN_BACKOFF).await;
                result = to_cmd(&cmd).query_async::<redis::Value>(&mut conn).await;
            }
        }
        if let Err(e) = &result {
            tracing::warn!(command = ?cmd, error = %e, "{label}: publish failed, message dropped");
        }
        if let Some(reply) = reply {
            let id = result
                .ok()
                .as_ref()
                .and_then(bulk)
                .and_then(|id| String::from_utf8(id).ok());
            let _ = reply.send(id);
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
        adapter: Weak<Inner>,
        done: oneshot::Sender<()>,
    },
    Unregister {
        adapter: Weak<Inner>,
        commands: Vec<RedisCommand>,
        done: oneshot::Sender<()>,
    },
    /// A subscription change of a live adapter (a sharded room channel).
    Run(RedisCommand),
}

/// The sending half of a subscriber connection: a RESP2 pub/sub connection,
/// or a RESP3 connection whose pushes carry the messages (the only way
/// `redis` speaks sharded pub/sub to a standalone server).
enum SubSink {
    Resp2(PubSubSink),
    Resp3(MultiplexedConnection),
}

/// The receiving half.
enum SubStream {
    Resp2(PubSubStream),
    Resp3(mpsc::UnboundedReceiver<redis::PushInfo>),
}

struct SubConn {
    sink: SubSink,
    stream: SubStream,
}

impl SubConn {
    async fn connect(client: &redis::Client) -> redis::RedisResult<SubConn> {
        if client.get_connection_info().redis_settings().protocol() == redis::ProtocolVersion::RESP2
        {
            let (sink, stream) = client.get_async_pubsub().await?.split();
            return Ok(SubConn {
                sink: SubSink::Resp2(sink),
                stream: SubStream::Resp2(stream),
            });
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let config = redis::AsyncConnectionConfig::new()
            .set_push_sender(tx)
            .set_response_timeout(Some(PING_TIMEOUT));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(SubConn {
            sink: SubSink::Resp3(conn),
            stream: SubStream::Resp3(rx),
        })
    }
}

impl SubSink {
    async fn run(&mut self, cmd: &RedisCommand) -> redis::RedisResult<()> {
        match self {
            SubSink::Resp2(sink) => {
                let channels = channels(cmd);
                match cmd.name {
                    "SUBSCRIBE" => sink.subscribe(channels).await,
                    "PSUBSCRIBE" => sink.psubscribe(channels).await,
                    "UNSUBSCRIBE" => sink.unsubscribe(channels).await,
                    "PUNSUBSCRIBE" => sink.punsubscribe(channels).await,
                    other => Err(redis::RedisError::from((
                        redis::ErrorKind::Client,
                        "unsupported subscription command",
                        other.to_owned(),
                    ))),
                }
            }
            // One channel per command: RESP3 answers each channel with its
            // own confirmation push, and `redis` takes the first as the
            // reply.
            SubSink::Resp3(conn) => {
                for channel in &cmd.args {
                    redis::cmd(cmd.name)
                        .arg(&channel[..])
                        .query_async::<redis::Value>(conn)
                        .await?;
                }
                Ok(())
            }
        }
    }

    async fn ping(&mut self) -> redis::RedisResult<()> {
        match self {
            SubSink::Resp2(sink) => sink.ping::<redis::Value>().await.map(drop),
            SubSink::Resp3(conn) => redis::cmd("PING")
                .query_async::<redis::Value>(conn)
                .await
                .map(drop),
        }
    }
}

impl SubStream {
    /// The next message; `None` once the connection is lost.
    async fn next(&mut self) -> Option<redis::Msg> {
        match self {
            SubStream::Resp2(stream) => stream.next().await,
            SubStream::Resp3(rx) => loop {
                let push = rx.recv().await?;
                if push.kind == redis::PushKind::Disconnection {
                    return None;
                }
                if let Some(msg) = redis::Msg::from_push_info(push) {
                    return Some(msg);
                }
            },
        }
    }
}

fn channels(cmd: &RedisCommand) -> Vec<String> {
    (0..cmd.args.len())
        .filter_map(|i| cmd.arg_str(i).map(str::to_owned))
        .collect()
}

fn route(regs: &mut Vec<Weak<Inner>>, msg: &redis::Msg) {
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    regs.retain(|r| r.strong_count() > 0);
    for r in regs.iter() {
        if let Some(adapter) = r.upgrade() {
            if adapter.shared.wire.accepts(&adapter.nsp, channel) {
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
    regs: &mut Vec<Weak<Inner>>,
) -> bool {
    let until = tokio::time::Instant::now() + *delay;
    *delay = (*delay * 2).min(MAX_BACKOFF);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            cmd = commands.recv() => match cmd {
                None => return false,
                Some(SubCommand::Register { adapter, done }) => {
                    regs.push(adapter);
                    let _ = done.send(());
                }
                Some(SubCommand::Unregister { adapter, done, .. }) => {
                    regs.retain(|r| !r.ptr_eq(&adapter));
                    let _ = done.send(());
                }
                // Resubscribing after the reconnect covers it.
                Some(SubCommand::Run(_)) => {}
            }
        }
    }
}

/// The one subscriber connection of a server: (re)subscribes every
/// namespace and routes what arrives to its adapter.
async fn subscriber_task(
    client: redis::Client,
    first: SubConn,
    mut commands: mpsc::UnboundedReceiver<SubCommand>,
    label: &'static str,
) {
    let mut regs: Vec<Weak<Inner>> = Vec::new();
    let mut next = Some(first);
    let mut delay = MIN_BACKOFF;
    loop {
        let conn = match next.take() {
            Some(c) => c,
            None => match tokio::time::timeout(CONNECT_TIMEOUT, SubConn::connect(&client)).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "{label}: subscriber cannot connect; retrying");
                    if !backoff(&mut delay, &mut commands, &mut regs).await {
                        return;
                    }
                    continue;
                }
                Err(_) => {
                    tracing::warn!("{label}: subscriber connection timed out; retrying");
                    if !backoff(&mut delay, &mut commands, &mut regs).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let SubConn {
            mut sink,
            mut stream,
        } = conn;
        let mut healthy = true;
        regs.retain(|r| r.strong_count() > 0);
        'resubscribe: for r in &regs {
            let Some(adapter) = r.upgrade() else { continue };
            for cmd in adapter.subscribe_commands() {
                if let Err(e) = sink.run(&cmd).await {
                    tracing::warn!(nsp = %adapter.nsp, error = %e, "{label}: subscribe failed");
                    healthy = false;
                    break 'resubscribe;
                }
            }
        }
        if healthy && !regs.is_empty() && delay > MIN_BACKOFF {
            tracing::info!("{label}: subscriber reconnected");
        }
        if healthy {
            delay = MIN_BACKOFF;
        }
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        while healthy {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => route(&mut regs, &msg),
                    None => {
                        tracing::warn!("{label}: subscriber connection lost; reconnecting");
                        healthy = false;
                    }
                },
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(SubCommand::Register { adapter, done }) => {
                        let mut result = Ok(());
                        if let Some(a) = adapter.upgrade() {
                            for cmd in a.subscribe_commands() {
                                result = sink.run(&cmd).await;
                                if result.is_err() {
                                    break;
                                }
                            }
                        }
                        regs.push(adapter);
                        let _ = done.send(());
                        if let Err(e) = result {
                            tracing::warn!(error = %e, "{label}: subscribe failed; reconnecting");
                            healthy = false;
                        }
                    }
                    Some(SubCommand::Unregister { adapter, commands: cmds, done }) => {
                        regs.retain(|r| !r.ptr_eq(&adapter));
                        let mut result = Ok(());
                        for cmd in &cmds {
                            result = sink.run(cmd).await;
                            if result.is_err() {
                                break;
                            }
                        }
                        let _ = done.send(());
                        if let Err(e) = result {
                            tracing::warn!(error = %e, "{label}: unsubscribe failed; reconnecting");
                            healthy = false;
                        }
                    }
                    Some(SubCommand::Run(cmd)) => {
                        if let Err(e) = sink.run(&cmd).await {
                            tracing::warn!(command = ?cmd, error = %e, "{label}: subscription change failed; reconnecting");
                            healthy = false;
                        }
                    }
                },
                _ = ping.tick() => {
                    match tokio::time::timeout(PING_TIMEOUT, sink.ping()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "{label}: subscriber ping failed; reconnecting");
                            healthy = false;
                        }
                        Err(_) => {
                            tracing::warn!("{label}: subscriber ping timed out; reconnecting");
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

/// Reads one stream from its end (`$`) with a blocking `XREAD` on a
/// connection of its own, and hands each entry to its namespace's adapter.
/// Stops once the factory and every adapter are gone.
async fn stream_reader(
    client: redis::Client,
    codec: StreamsCodec,
    stream: String,
    shared: Weak<Shared>,
) {
    let label = "Redis streams adapter";
    let block = codec.xread_command(&stream, "$");
    // The reply may take the whole block time: allow for it.
    let block_ms = block
        .arg_str(3)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(5_000);
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(Duration::from_millis(block_ms) + CONNECT_TIMEOUT));
    let mut last = "$".to_owned();
    let mut conn: Option<MultiplexedConnection> = None;
    let mut delay = MIN_BACKOFF;
    let mut failed = false;
    loop {
        if shared.strong_count() == 0 {
            return;
        }
        let c = match &mut conn {
            Some(c) => c,
            None => match client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    if !failed {
                        tracing::warn!(stream, error = %e, "{label}: cannot read the stream; retrying");
                    }
                    failed = true;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        let cmd = codec.xread_command(&stream, &last);
        match to_cmd(&cmd).query_async::<redis::Value>(c).await {
            Ok(reply) => {
                if failed {
                    tracing::info!(stream, "{label}: reading the stream again");
                    failed = false;
                }
                delay = MIN_BACKOFF;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                for (id, fields) in xread_entries(&reply) {
                    last = id.clone();
                    match codec.decode_entry(&id, fields) {
                        Ok(Some(entry)) => dispatch_entry(&shared, entry),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(stream, id, error = %e, "{label}: entry dropped")
                        }
                    }
                }
            }
            Err(e) => {
                // Node retries at once; a pause keeps a Redis outage from
                // becoming a busy loop.
                if !failed {
                    tracing::warn!(stream, error = %e, "{label}: XREAD failed; retrying");
                }
                failed = true;
                conn = None;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn dispatch_entry(shared: &Shared, entry: StreamEntry) {
    let adapters: Vec<Arc<Inner>> = lock(&shared.adapters)
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|a| a.nsp == entry.envelope.nsp)
        .collect();
    for adapter in adapters {
        adapter.on_entry(entry.clone());
    }
}

fn bulk(v: &redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.clone().into_bytes()),
        redis::Value::VerbatimString { text, .. } => Some(text.clone().into_bytes()),
        _ => None,
    }
}

/// A stream entry as Redis returns it: its id and field/value pairs.
type RawStreamEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// The entries of an `XREAD` reply, `[[stream, entries], ...]` (RESP3: a
/// map stream => entries), as `(id, [(field, value)])`. Malformed parts are
/// skipped.
fn xread_entries(reply: &redis::Value) -> Vec<RawStreamEntry> {
    let streams: Vec<&redis::Value> = match reply {
        redis::Value::Array(items) => items
            .iter()
            .filter_map(|s| match s {
                redis::Value::Array(pair) => pair.get(1),
                _ => None,
            })
            .collect(),
        redis::Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    streams.into_iter().flat_map(entries).collect()
}

/// The entries of an `XRANGE` reply, `[[id, [field, value, ...]], ...]`.
fn entries(v: &redis::Value) -> Vec<RawStreamEntry> {
    let redis::Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let redis::Value::Array(e) = e else {
                return None;
            };
            let id = String::from_utf8(bulk(e.first()?)?).ok()?;
            let fields = match e.get(1)? {
                redis::Value::Array(kv) => kv
                    .chunks(2)
                    .filter_map(|p| Some((bulk(p.first()?)?, bulk(p.get(1)?)?)))
                    .collect(),
                _ => Vec::new(),
            };
            Some((id, fields))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value as V;

    fn b(s: &str) -> V {
        V::BulkString(s.as_bytes().to_vec())
    }

    fn entry(id: &str, kv: &[&str]) -> V {
        V::Array(vec![b(id), V::Array(kv.iter().map(|s| b(s)).collect())])
    }

    #[test]
    fn stream_replies_are_parsed_and_malformed_parts_skipped() {
        let range = V::Array(vec![
            entry("1-0", &["nsp", "/", "type", "3"]),
            V::Int(7),
            entry("1-1", &["odd"]),
        ]);
        let got = entries(&range);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "1-0");
        assert_eq!(got[0].1[0], (b"nsp".to_vec(), b"/".to_vec()));
        assert!(got[1].1.is_empty());
        // XREAD: [[stream, entries]], and RESP3's map.
        let read = V::Array(vec![V::Array(vec![b("socket.io"), range.clone()])]);
        assert_eq!(xread_entries(&read).len(), 2);
        let map = V::Map(vec![(b("socket.io"), range)]);
        assert_eq!(xread_entries(&map).len(), 2);
        assert!(xread_entries(&V::Nil).is_empty());
        assert!(xread_entries(&V::Array(vec![V::Int(1)])).is_empty());
    }

    #[test]
    fn numsub_replies() {
        let reply = V::Array(vec![b("socket.io#/#"), V::Int(3)]);
        assert_eq!(numsub_count(&reply), Some(3));
        assert_eq!(numsub_count(&V::Array(vec![b("c"), V::Int(-1)])), None);
        assert_eq!(numsub_count(&V::Nil), None);
    }
}
