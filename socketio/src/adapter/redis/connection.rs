//! The connections of one server's Redis transport: a publishing
//! connection (`redis::aio::ConnectionManager`, which reconnects by itself;
//! a command that meets a dropped connection is tried once more) and one
//! subscriber connection shared by every namespace, so `PUBSUB NUMSUB`
//! counts the server once. The subscriber reconnects with backoff after a
//! Redis restart and subscribes every namespace again; what was published
//! meanwhile is lost, as with Node. It is a RESP3 push connection where
//! sharded pub/sub is needed, as `redis`'s pub/sub connection has no
//! `SSUBSCRIBE`.
//!
//! On a Redis Cluster both are cluster connections: commands go to the
//! node of their key's slot (`SPUBLISH`, `XADD`, `SSUBSCRIBE` to the node
//! that owns the channel), follow `MOVED` redirections, and `PUBSUB
//! NUMSUB` is summed over the nodes. A shard channel whose slot moved to
//! another node is unsubscribed by Redis; the subscriber subscribes it
//! again, which lands on the new owner.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::{
    ConnectionManager, ConnectionManagerConfig, MultiplexedConnection, PubSubSink, PubSubStream,
};
use redis::cluster_async::ClusterConnection;
use tokio::sync::{mpsc, oneshot};

use super::endpoint::Endpoint;
use super::outage::Outage;
use super::reply::numsub_count;
use super::RedisAdapterError;
use crate::adapter::cluster::transport::Subscriber;
use crate::adapter::cluster::{DecodeError, Envelope, Frame, RedisCommand, ServerId};
use crate::adapter::Room;

pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PING_INTERVAL: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(3);
pub(super) const MIN_BACKOFF: Duration = Duration::from_millis(100);
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A flavour's pub/sub channels: what a namespace subscribes to, and what
/// arrives on them.
pub(super) trait Channels: Send + Sync + 'static {
    /// The subscriptions of namespace `nsp`; `rooms` are its local rooms
    /// (per-room channels follow them).
    fn subscriptions(&self, nsp: &str, uid: &ServerId, rooms: &[Room]) -> Vec<RedisCommand>;
    /// The message on `channel` for namespace `nsp`; `None` when the channel
    /// is not one of the namespace's.
    fn inbound(
        &self,
        nsp: &str,
        channel: &str,
        payload: &[u8],
    ) -> Option<Result<Envelope<Frame>, DecodeError>>;
    /// The request a response on `channel` answers, when it can be told
    /// without decoding the response; a subscriber that waits for no such
    /// request skips it.
    fn response_request_id<'p>(
        &self,
        _nsp: &str,
        _channel: &str,
        _payload: &'p [u8],
    ) -> Option<std::borrow::Cow<'p, str>> {
        None
    }
}

fn subscriptions(channels: &dyn Channels, sub: &dyn Subscriber) -> Vec<RedisCommand> {
    channels.subscriptions(sub.nsp(), sub.uid(), &sub.rooms())
}

/// A command connection to a single server or to a cluster: what
/// publishing and the stream readers query.
#[derive(Clone)]
pub(super) enum RedisConn {
    /// A single server's reconnecting connection (the publisher).
    Manager(ConnectionManager),
    /// A single server's plain multiplexed connection (a stream reader).
    Multiplexed(MultiplexedConnection),
    /// A cluster connection, which routes each command by its key.
    Cluster(ClusterConnection),
    /// The master the Sentinels name, looked up again after a failure.
    Sentinel(FollowMaster),
}

/// A connection to the master the Sentinels name. An error that may mean
/// a failover (a lost connection, a timeout, a master turned read-only
/// replica) drops it, and the next command asks the Sentinels again.
#[derive(Clone)]
pub(super) struct FollowMaster {
    endpoint: Endpoint,
    conn: Arc<parking_lot::Mutex<Option<MultiplexedConnection>>>,
}

impl FollowMaster {
    async fn current(&self) -> redis::RedisResult<MultiplexedConnection> {
        let cached = self.conn.lock().clone();
        if let Some(conn) = cached {
            return Ok(conn);
        }
        let client = self.endpoint.master().await.ok_or_else(wrong_endpoint)??;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(CONNECT_TIMEOUT));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *self.conn.lock() = Some(conn.clone());
        Ok(conn)
    }

    fn check<T>(&self, result: &redis::RedisResult<T>) {
        if let Err(e) = result {
            if e.is_io_error()
                || e.is_connection_dropped()
                || e.is_timeout()
                || e.code() == Some("READONLY")
            {
                *self.conn.lock() = None;
            }
        }
    }
}

impl redis::aio::ConnectionLike for RedisConn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            RedisConn::Manager(c) => c.req_packed_command(cmd),
            RedisConn::Multiplexed(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
            RedisConn::Sentinel(f) => Box::pin(async move {
                let mut conn = f.current().await?;
                let result = conn.req_packed_command(cmd).await;
                f.check(&result);
                result
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            RedisConn::Manager(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Multiplexed(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Sentinel(f) => Box::pin(async move {
                let mut conn = f.current().await?;
                let result = conn.req_packed_commands(pipeline, offset, count).await;
                f.check(&result);
                result
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Manager(c) => c.get_db(),
            RedisConn::Multiplexed(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
            RedisConn::Sentinel(_) => 0,
        }
    }
}

impl Endpoint {
    /// The publishing connection: a connection manager on one server, a
    /// cluster connection on a cluster, the Sentinels' master (connected
    /// now, so a refused master fails the factory).
    pub(super) async fn publisher(&self) -> redis::RedisResult<RedisConn> {
        match self {
            Endpoint::Sentinel { .. } => {
                let follow = FollowMaster {
                    endpoint: self.clone(),
                    conn: Arc::default(),
                };
                follow.current().await?;
                Ok(RedisConn::Sentinel(follow))
            }
            // One bounded reconnection attempt per command: a command that
            // meets a Redis gone fails at once rather than after the
            // manager's default backoff (six attempts, seconds), so an
            // outage is seen and publishing drops instead of queueing
            // (`publish` tries a command twice when Redis was answering).
            Endpoint::Single(client) => client
                .get_connection_manager_with_config(
                    ConnectionManagerConfig::new()
                        .set_number_of_retries(0)
                        .set_connection_timeout(Some(CONNECT_TIMEOUT))
                        .set_response_timeout(Some(CONNECT_TIMEOUT)),
                )
                .await
                .map(RedisConn::Manager),
            // A bounded wait for each command, retries included: a node
            // that vanished without a word must not stall the publishing
            // queue (the message is dropped and logged, as on one server).
            Endpoint::Cluster { .. } => self
                .cluster_builder()
                .ok_or_else(wrong_endpoint)?
                .response_timeout(CONNECT_TIMEOUT)
                .build()?
                .get_async_connection()
                .await
                .map(RedisConn::Cluster),
        }
    }

    /// A connection of its own whose replies may take `response_timeout`
    /// (a blocking `XREAD`).
    pub(super) async fn blocking_connection(
        &self,
        response_timeout: Duration,
    ) -> redis::RedisResult<RedisConn> {
        match self {
            Endpoint::Single(_) | Endpoint::Sentinel { .. } => {
                let client = self.master().await.ok_or_else(wrong_endpoint)??;
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(response_timeout));
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(RedisConn::Multiplexed)
            }
            Endpoint::Cluster { .. } => {
                let builder = self.cluster_builder().ok_or_else(wrong_endpoint)?;
                builder
                    .response_timeout(response_timeout)
                    .build()?
                    .get_async_connection()
                    .await
                    .map(RedisConn::Cluster)
            }
        }
    }
}

/// Whether an error means Redis could not be reached (rather than that it
/// refused the command).
fn is_unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_connection_refusal()
}

/// A cluster endpoint asked for one server, or the reverse: the code
/// above never does.
fn wrong_endpoint() -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Client, "wrong kind of Redis endpoint"))
}

/// One server's connections to Redis.
pub(super) struct RedisLink {
    publisher: RedisConn,
    subscriber: mpsc::UnboundedSender<SubCommand>,
    label: &'static str,
    outage: Arc<Outage>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("flavour", &self.label)
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    /// Opens the publishing and the subscriber connections (the latter over
    /// RESP3 when `resp3`) and starts the subscriber task on the current
    /// runtime.
    pub(super) async fn connect(
        endpoint: &Endpoint,
        channels: Arc<dyn Channels>,
        resp3: bool,
        label: &'static str,
    ) -> Result<RedisLink, RedisAdapterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
        // A cluster's subscriber is always a RESP3 push connection: the
        // only pub/sub `redis` speaks to a cluster.
        let sub_client = if resp3 {
            endpoint.resp3()?
        } else {
            endpoint.clone()
        };
        // The subscriber first: one attempt, so a refused handshake (an
        // unknown certificate authority, a wrong password) is the error,
        // where the connection manager would retry it until the timeout.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, SubConn::connect(&sub_client))
            .await
            .map_err(|_| RedisAdapterError::Timeout)??;
        let publisher = tokio::time::timeout(CONNECT_TIMEOUT, endpoint.publisher())
            .await
            .map_err(|_| RedisAdapterError::Timeout)??;
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(subscriber_task(sub_client, first, channels, rx, label));
        Ok(RedisLink {
            publisher,
            subscriber: tx,
            label,
            outage: Arc::default(),
        })
    }

    /// A handle on the publishing connection, for a series of commands.
    pub(super) fn connection(&self) -> RedisConn {
        self.publisher.clone()
    }

    /// Runs a publishing command, once more after a dropped connection;
    /// its reply, or `None` when it failed or Redis is known not to answer
    /// (see [`Outage`]): the message is dropped.
    pub(super) async fn publish(&self, cmd: &RedisCommand) -> Option<redis::Value> {
        // A cluster's nodes fail one by one, each slot failing over on
        // its own: one unreachable master says nothing of the others, so
        // there each message tries its own node.
        let whole = !matches!(self.publisher, RedisConn::Cluster(_));
        if whole && !self.outage.may_try() {
            return None;
        }
        // A probe during an outage is one attempt: the queue fills while
        // it runs.
        let probing = whole && !self.outage.reachable();
        let mut conn = self.publisher.clone();
        let mut result = to_cmd(cmd).query_async::<redis::Value>(&mut conn).await;
        if let Err(e) = &result {
            if is_unreachable(e) && !probing {
                // The connection manager reconnects behind the failed
                // command: try once more.
                tokio::time::sleep(MIN_BACKOFF).await;
                result = to_cmd(cmd).query_async::<redis::Value>(&mut conn).await;
            }
        }
        match result {
            Ok(reply) => {
                self.outage.answered(self.label);
                Some(reply)
            }
            Err(e) if whole && is_unreachable(&e) => {
                self.outage.unreachable(self.label, &e);
                None
            }
            Err(e) => {
                self.outage.drop_one();
                tracing::warn!(command = ?cmd, error = %e, "{}: publish failed, message dropped", self.label);
                None
            }
        }
    }

    /// The link's view of whether Redis answers, and what it dropped.
    pub(super) fn outage(&self) -> Arc<Outage> {
        self.outage.clone()
    }

    /// The subscriber count of a `PUBSUB NUMSUB`-like command: the server
    /// count; 1 (this server) when Redis cannot say.
    pub(super) async fn numsub(&self, nsp: &str, cmd: &RedisCommand) -> usize {
        let mut conn = self.publisher.clone();
        match to_cmd(cmd).query_async::<redis::Value>(&mut conn).await {
            Ok(reply) => numsub_count(&reply).unwrap_or_else(|| {
                tracing::warn!(nsp, ?reply, "{}: unexpected NUMSUB reply", self.label);
                1
            }),
            Err(e) => {
                tracing::warn!(nsp, error = %e, "{}: NUMSUB failed; counting this server only", self.label);
                1
            }
        }
    }

    /// Subscribes a namespace, now and after every reconnection.
    pub(super) fn subscribe(&self, subscriber: Weak<dyn Subscriber>) {
        let (done, _) = oneshot::channel();
        let _ = self
            .subscriber
            .send(SubCommand::Register { subscriber, done });
    }

    /// Unsubscribes a namespace with `commands`; resolves once done.
    pub(super) fn unsubscribe(
        &self,
        subscriber: Weak<dyn Subscriber>,
        commands: Vec<RedisCommand>,
    ) -> BoxFuture<'static, ()> {
        let (done, rx) = oneshot::channel();
        let _ = self.subscriber.send(SubCommand::Unregister {
            subscriber,
            commands,
            done,
        });
        Box::pin(async move {
            let _ = rx.await;
        })
    }

    /// Changes a live namespace's subscriptions (a room channel).
    pub(super) fn change_subscription(&self, cmd: RedisCommand) {
        let _ = self.subscriber.send(SubCommand::Run(cmd));
    }
}

/// Copies `client`'s connection settings with the RESP3 protocol.
pub(super) fn resp3_client(client: &redis::Client) -> redis::RedisResult<redis::Client> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
}

pub(super) fn to_cmd(c: &RedisCommand) -> redis::Cmd {
    let mut cmd = redis::cmd(c.name);
    for a in &c.args {
        cmd.arg(&a[..]);
    }
    cmd
}

enum SubCommand {
    Register {
        subscriber: Weak<dyn Subscriber>,
        done: oneshot::Sender<()>,
    },
    Unregister {
        subscriber: Weak<dyn Subscriber>,
        commands: Vec<RedisCommand>,
        done: oneshot::Sender<()>,
    },
    /// A subscription change of a live namespace (a sharded room channel).
    Run(RedisCommand),
}

/// The sending half of a subscriber connection: a RESP2 pub/sub connection,
/// or a RESP3 connection whose pushes carry the messages (the only way
/// `redis` speaks sharded pub/sub to a standalone server).
enum SubSink {
    Resp2(PubSubSink),
    Resp3(MultiplexedConnection),
    /// A cluster connection, with the shard channels subscribed through
    /// it: those Redis drops when their slot moves are subscribed again.
    Cluster(ClusterConnection, HashSet<Vec<u8>>),
}

/// The receiving half.
enum SubStream {
    Resp2(PubSubStream),
    Resp3(mpsc::UnboundedReceiver<redis::PushInfo>),
    Cluster(mpsc::UnboundedReceiver<redis::PushInfo>),
}

/// What arrives on a subscriber connection.
enum Inbound {
    Message(redis::Msg),
    /// Redis unsubscribed a shard channel (its slot moved to another node).
    ShardChannelDropped(Vec<u8>),
}

struct SubConn {
    sink: SubSink,
    stream: SubStream,
}

impl SubConn {
    async fn connect(endpoint: &Endpoint) -> redis::RedisResult<SubConn> {
        let client = match endpoint {
            Endpoint::Single(_) | Endpoint::Sentinel { .. } => {
                &endpoint.master().await.ok_or_else(wrong_endpoint)??
            }
            Endpoint::Cluster { .. } => {
                let (tx, rx) = mpsc::unbounded_channel();
                let builder = endpoint.cluster_builder().ok_or_else(wrong_endpoint)?;
                let conn = builder
                    .use_protocol(redis::ProtocolVersion::RESP3)
                    .push_sender(tx)
                    .response_timeout(PING_TIMEOUT)
                    .build()?
                    .get_async_connection()
                    .await?;
                return Ok(SubConn {
                    sink: SubSink::Cluster(conn, HashSet::new()),
                    stream: SubStream::Cluster(rx),
                });
            }
        };
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
            // One channel per command: channels of different slots live
            // on different nodes.
            SubSink::Cluster(conn, shard_channels) => {
                for channel in &cmd.args {
                    match cmd.name {
                        "SUBSCRIBE" => conn.subscribe(&channel[..]).await?,
                        "PSUBSCRIBE" => conn.psubscribe(&channel[..]).await?,
                        "UNSUBSCRIBE" => conn.unsubscribe(&channel[..]).await?,
                        "PUNSUBSCRIBE" => conn.punsubscribe(&channel[..]).await?,
                        "SSUBSCRIBE" => {
                            shard_channels.insert(channel.to_vec());
                            conn.ssubscribe(&channel[..]).await?
                        }
                        "SUNSUBSCRIBE" => {
                            // Forgotten first: the confirmation must not
                            // read as a slot move.
                            shard_channels.remove(&channel[..]);
                            conn.sunsubscribe(&channel[..]).await?
                        }
                        other => {
                            return Err(redis::RedisError::from((
                                redis::ErrorKind::Client,
                                "unsupported subscription command",
                                other.to_owned(),
                            )))
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Subscribes again a shard channel Redis dropped, if it is still
    /// wanted.
    async fn shard_channel_dropped(&mut self, channel: &[u8]) -> redis::RedisResult<()> {
        match self {
            SubSink::Cluster(conn, shard_channels) if shard_channels.contains(channel) => {
                conn.ssubscribe(channel).await
            }
            _ => Ok(()),
        }
    }

    async fn ping(&mut self) -> redis::RedisResult<()> {
        match self {
            SubSink::Resp2(sink) => sink.ping::<redis::Value>().await.map(drop),
            SubSink::Resp3(conn) => redis::cmd("PING")
                .query_async::<redis::Value>(conn)
                .await
                .map(drop),
            // Any node: a lost node shows as a disconnection push.
            SubSink::Cluster(conn, _) => conn
                .route_command(
                    redis::cmd("PING"),
                    redis::cluster_routing::RoutingInfo::SingleNode(
                        redis::cluster_routing::SingleNodeRoutingInfo::Random,
                    ),
                )
                .await
                .map(drop),
        }
    }
}

impl SubStream {
    /// The next message; `None` once the connection is lost.
    async fn next(&mut self) -> Option<Inbound> {
        match self {
            SubStream::Resp2(stream) => stream.next().await.map(Inbound::Message),
            SubStream::Resp3(rx) => loop {
                let push = rx.recv().await?;
                if push.kind == redis::PushKind::Disconnection {
                    return None;
                }
                if let Some(msg) = redis::Msg::from_push_info(push) {
                    return Some(Inbound::Message(msg));
                }
            },
            SubStream::Cluster(rx) => loop {
                let push = rx.recv().await?;
                match push.kind {
                    // A node went away (a failover, a restart): connect
                    // anew, on the topology as it is now, and subscribe
                    // every channel again.
                    redis::PushKind::Disconnection => return None,
                    redis::PushKind::SUnsubscribe => {
                        if let Some(redis::Value::BulkString(channel)) = push.data.first() {
                            return Some(Inbound::ShardChannelDropped(channel.clone()));
                        }
                    }
                    _ => {
                        if let Some(msg) = redis::Msg::from_push_info(push) {
                            return Some(Inbound::Message(msg));
                        }
                    }
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

fn route(
    regs: &mut Vec<Weak<dyn Subscriber>>,
    decoder: &dyn Channels,
    msg: &redis::Msg,
    label: &str,
) {
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    regs.retain(|r| r.strong_count() > 0);
    for r in regs.iter() {
        let Some(sub) = r.upgrade() else { continue };
        if let Some(id) = decoder.response_request_id(sub.nsp(), channel, payload) {
            if !sub.awaits_response(&id) {
                continue;
            }
        }
        match decoder.inbound(sub.nsp(), channel, payload) {
            None => {}
            Some(Ok(frame)) => sub.receive(frame, None),
            Some(Err(e)) => {
                tracing::debug!(nsp = %sub.nsp(), channel, error = %e, "{label}: message dropped")
            }
        }
    }
}

/// Handles registrations while waiting to reconnect; false once the
/// factory and every adapter are gone.
async fn backoff(
    delay: &mut Duration,
    commands: &mut mpsc::UnboundedReceiver<SubCommand>,
    regs: &mut Vec<Weak<dyn Subscriber>>,
) -> bool {
    let until = tokio::time::Instant::now() + *delay;
    *delay = (*delay * 2).min(MAX_BACKOFF);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            cmd = commands.recv() => match cmd {
                None => return false,
                Some(SubCommand::Register { subscriber: adapter, done }) => {
                    regs.push(adapter);
                    let _ = done.send(());
                }
                Some(SubCommand::Unregister { subscriber: adapter, done, .. }) => {
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
    client: Endpoint,
    first: SubConn,
    decoder: Arc<dyn Channels>,
    mut commands: mpsc::UnboundedReceiver<SubCommand>,
    label: &'static str,
) {
    let mut regs: Vec<Weak<dyn Subscriber>> = Vec::new();
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
            let Some(sub) = r.upgrade() else { continue };
            for cmd in subscriptions(&*decoder, &*sub) {
                if let Err(e) = sink.run(&cmd).await {
                    tracing::warn!(nsp = %sub.nsp(), error = %e, "{label}: subscribe failed");
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
                    Some(Inbound::Message(msg)) => route(&mut regs, &*decoder, &msg, label),
                    Some(Inbound::ShardChannelDropped(channel)) => {
                        if let Err(e) = sink.shard_channel_dropped(&channel).await {
                            tracing::warn!(error = %e, "{label}: shard channel resubscription failed; reconnecting");
                            healthy = false;
                        }
                    }
                    None => {
                        tracing::warn!("{label}: subscriber connection lost; reconnecting");
                        healthy = false;
                    }
                },
                cmd = commands.recv() => match cmd {
                    None => return,
                    Some(SubCommand::Register { subscriber: adapter, done }) => {
                        let mut result = Ok(());
                        if let Some(sub) = adapter.upgrade() {
                            for cmd in subscriptions(&*decoder, &*sub) {
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
                    Some(SubCommand::Unregister { subscriber: adapter, commands: cmds, done }) => {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::adapter::cluster::classic::ClassicCodec;

    /// Counts what reaches it; awaits the response it is told to.
    struct Probe {
        uid: ServerId,
        awaits: AtomicBool,
        received: AtomicUsize,
    }

    impl Subscriber for Probe {
        fn nsp(&self) -> &str {
            "/"
        }
        fn uid(&self) -> &ServerId {
            &self.uid
        }
        fn rooms(&self) -> Vec<Room> {
            Vec::new()
        }
        fn receive(self: Arc<Self>, _: Envelope<Frame>, _: Option<String>) {
            self.received.fetch_add(1, Ordering::SeqCst);
        }
        fn awaits_response(&self, request_id: &str) -> bool {
            assert_eq!(request_id, "r1");
            self.awaits.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn another_servers_answer_is_not_decoded() {
        let bulk = |s: &[u8]| redis::Value::BulkString(s.to_vec());
        let msg = redis::Msg::from_owned_value(redis::Value::Array(vec![
            bulk(b"message"),
            bulk(b"socket.io-response#/#"),
            bulk(br#"{"requestId":"r1","sockets":[]}"#),
        ]));
        let Some(msg) = msg else {
            panic!("not a pub/sub message")
        };
        let probe = Arc::new(Probe {
            uid: ServerId::from("me"),
            awaits: AtomicBool::new(false),
            received: AtomicUsize::new(0),
        });
        let weak: Weak<dyn Subscriber> = Arc::downgrade(&probe) as Weak<dyn Subscriber>;
        let mut regs = vec![weak];
        let codec = ClassicCodec::default();
        route(&mut regs, &codec, &msg, "test");
        assert_eq!(probe.received.load(Ordering::SeqCst), 0, "skipped unread");
        probe.awaits.store(true, Ordering::SeqCst);
        route(&mut regs, &codec, &msg, "test");
        assert_eq!(
            probe.received.load(Ordering::SeqCst),
            1,
            "its own answer is read"
        );
    }
}
