//! The connections of one server's Redis transport: a publishing
//! connection (`redis::aio::ConnectionManager`, which reconnects by itself;
//! a command that meets a dropped connection is tried once more) and one
//! subscriber connection shared by every namespace, so `PUBSUB NUMSUB`
//! counts the server once. The subscriber reconnects with backoff after a
//! Redis restart and subscribes every namespace again; what was published
//! meanwhile is lost, as with Node. It is a RESP3 push connection where
//! sharded pub/sub is needed, as `redis`'s pub/sub connection has no
//! `SSUBSCRIBE`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, MultiplexedConnection, PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot};

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
}

fn subscriptions(channels: &dyn Channels, sub: &dyn Subscriber) -> Vec<RedisCommand> {
    channels.subscriptions(sub.nsp(), sub.uid(), &sub.rooms())
}

/// One server's connections to Redis.
pub(super) struct RedisLink {
    publisher: ConnectionManager,
    subscriber: mpsc::UnboundedSender<SubCommand>,
    label: &'static str,
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
        client: &redis::Client,
        channels: Arc<dyn Channels>,
        resp3: bool,
        label: &'static str,
    ) -> Result<RedisLink, RedisAdapterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RedisAdapterError::NoRuntime)?;
        let publisher = tokio::time::timeout(CONNECT_TIMEOUT, client.get_connection_manager())
            .await
            .map_err(|_| RedisAdapterError::Timeout)??;
        let sub_client = if resp3 {
            resp3_client(client)?
        } else {
            client.clone()
        };
        let first = tokio::time::timeout(CONNECT_TIMEOUT, SubConn::connect(&sub_client))
            .await
            .map_err(|_| RedisAdapterError::Timeout)??;
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(subscriber_task(sub_client, first, channels, rx, label));
        Ok(RedisLink {
            publisher,
            subscriber: tx,
            label,
        })
    }

    /// A handle on the publishing connection, for a series of commands.
    pub(super) fn connection(&self) -> ConnectionManager {
        self.publisher.clone()
    }

    /// Runs a publishing command, once more after a dropped connection;
    /// its reply, or `None` (logged) when it failed.
    pub(super) async fn publish(&self, cmd: &RedisCommand) -> Option<redis::Value> {
        let mut conn = self.publisher.clone();
        let mut result = to_cmd(cmd).query_async::<redis::Value>(&mut conn).await;
        if let Err(e) = &result {
            if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                // The connection manager reconnects behind the failed
                // command: try once more.
                tokio::time::sleep(MIN_BACKOFF).await;
                result = to_cmd(cmd).query_async::<redis::Value>(&mut conn).await;
            }
        }
        match result {
            Ok(reply) => Some(reply),
            Err(e) => {
                tracing::warn!(command = ?cmd, error = %e, "{}: publish failed, message dropped", self.label);
                None
            }
        }
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
fn resp3_client(client: &redis::Client) -> redis::RedisResult<redis::Client> {
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
    client: redis::Client,
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
                    Some(msg) => route(&mut regs, &*decoder, &msg, label),
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
