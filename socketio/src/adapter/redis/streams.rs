//! The transport of `@socket.io/redis-streams-adapter` 0.3: durable
//! messages (plain broadcasts, socketsJoin/Leave, disconnectSockets) are
//! appended to a stream (`XADD`) that every server reads with a blocking
//! `XREAD` on a connection of its own; requests, server-side emits,
//! broadcasts with acknowledgements and responses go over pub/sub. The
//! stream entry id of a broadcast is its recovery offset, and sessions are
//! kept in Redis, where any server finds them. The codec is
//! [`StreamsCodec`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;

use super::connection::{
    to_cmd, Channels, RedisConn, RedisLink, CONNECT_TIMEOUT, MAX_BACKOFF, MIN_BACKOFF,
};
use super::endpoint::Endpoint;
use super::reply::{entries, string, xread_entries};
use super::{PublishStats, RedisAdapterError, RedisAdapterFactory, RedisConnectOptions};
use crate::adapter::cluster::adapter::ClusterConfig;
use crate::adapter::cluster::state::DEFAULT_REQUEST_TIMEOUT;
use crate::adapter::cluster::streams::{StreamEntry, StreamsCodec};
use crate::adapter::cluster::transport::{Protocol, Subscriber, Transport};
use crate::adapter::cluster::{
    ClusterMessage, ClusterResponse, DecodeError, Envelope, Frame, RedisCommand, ServerId,
};
use crate::adapter::{
    Adapter, AdapterFactory, LocalNamespace, RecoveredSession, Room, SessionToPersist,
};

const LABEL: &str = "Redis streams adapter";
/// Node reads at most this many XRANGE pages of missed packets.
const MAX_RANGE_CALLS: usize = 100;
const RANGE_COUNT: &str = "100";

/// Options of the Streams adapter, named after Node's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisStreamsAdapterConfig {
    /// The stream (Node's `streamName`, default `socket.io`).
    pub stream_name: String,
    /// The pub/sub channel prefix (Node's `channelPrefix`, default
    /// `socket.io`).
    pub channel_prefix: String,
    /// Requests and responses over sharded pub/sub (SPUBLISH, Redis 7+)
    /// rather than PUBLISH (Node's `useShardedPubSub`, default false).
    pub use_sharded_pubsub: bool,
    /// The approximate number of entries the stream keeps (Node's `maxLen`,
    /// 10000): it bounds how far back a session can be resumed.
    pub max_len: u64,
    /// Entries per `XREAD` (Node's `readCount`, 100).
    pub read_count: u64,
    /// How long one `XREAD` blocks (Node's `blockTimeInMs`, 5 s).
    pub block_time: Duration,
    /// Where sessions are kept (Node's `sessionKeyPrefix`,
    /// `sio:session:`).
    pub session_key_prefix: String,
    /// How long `fetchSockets` and `serverSideEmitWithAck` wait for the
    /// other servers (5 s, Node's fixed timeout).
    pub requests_timeout: Duration,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while Redis is away.
    pub max_queued_publishes: usize,
    /// Connection state recovery across servers (`None`: off): set it to
    /// the server's `max_disconnection_duration`, which is how long Redis
    /// keeps a disconnected socket's session.
    pub recovery: Option<Duration>,
    /// How to reach Redis beyond the URL: a cluster, TLS material.
    pub connection: RedisConnectOptions,
}

engineio::__option_setters!(RedisStreamsAdapterConfig {
    stream_name: impl Into<String>,
    channel_prefix: impl Into<String>,
    use_sharded_pubsub: bool,
    max_len: u64,
    read_count: u64,
    block_time: Duration,
    session_key_prefix: impl Into<String>,
    requests_timeout: Duration,
    max_queued_publishes: usize,
    recovery: Option<Duration>,
    connection: RedisConnectOptions,
});

impl Default for RedisStreamsAdapterConfig {
    fn default() -> Self {
        RedisStreamsAdapterConfig {
            stream_name: "socket.io".into(),
            channel_prefix: "socket.io".into(),
            use_sharded_pubsub: false,
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_millis(5_000),
            session_key_prefix: "sio:session:".into(),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_queued_publishes: 65_536,
            recovery: None,
            connection: RedisConnectOptions::default(),
        }
    }
}

/// Creates the Streams adapter of every namespace of one server: pass it to
/// [`crate::SocketIo::with_adapter`]. One factory per server. It converts
/// into a [`RedisAdapterFactory`] for code that picks the flavour at run
/// time.
#[derive(Debug, Clone)]
pub struct RedisStreamsAdapterFactory(RedisAdapterFactory);

impl RedisStreamsAdapterFactory {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`) with
    /// the default options.
    pub async fn new(url: &str) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        Self::connect(url, RedisStreamsAdapterConfig::default()).await
    }

    /// Connects to the Redis at `url` (one URL, or comma-separated cluster
    /// seeds) with `config`.
    pub async fn connect(
        url: &str,
        config: RedisStreamsAdapterConfig,
    ) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        let endpoint = Endpoint::open(url, &config.connection)?;
        Self::on_endpoint(endpoint, config).await
    }

    /// Connects with `client` and `config`: the publishing and subscriber
    /// connections are open and the stream reader started when this
    /// returns. `client` says how to reach the one server;
    /// `config.connection` is not used.
    pub async fn with_config(
        client: redis::Client,
        config: RedisStreamsAdapterConfig,
    ) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        Self::on_endpoint(Endpoint::Single(client), config).await
    }

    async fn on_endpoint(
        endpoint: Endpoint,
        config: RedisStreamsAdapterConfig,
    ) -> Result<RedisStreamsAdapterFactory, RedisAdapterError> {
        let codec = StreamsCodec::new()
            .stream_name(config.stream_name.clone())
            .channel_prefix(config.channel_prefix.clone())
            .use_sharded_pubsub(config.use_sharded_pubsub)
            .max_len(config.max_len)
            .read_count(config.read_count.max(1))
            .block_time(config.block_time)
            .session_key_prefix(config.session_key_prefix.clone());
        // Sharded pub/sub exists only on RESP3 push connections in `redis`.
        let resp3 = codec.uses_sharded_pubsub();
        let link = RedisLink::connect(&endpoint, Arc::new(codec.clone()), resp3, LABEL).await?;
        let readers = Arc::new(Readers::default());
        for stream in codec.read_streams() {
            tokio::spawn(stream_reader(
                endpoint.clone(),
                codec.clone(),
                stream,
                Arc::downgrade(&readers),
            ));
        }
        let cluster = ClusterConfig::new(
            config.requests_timeout,
            config.max_queued_publishes,
            config.recovery,
        );
        let outage = link.outage();
        let transport = StreamsTransport {
            link,
            codec,
            readers,
        };
        RedisAdapterFactory::on(transport, cluster, outage).map(RedisStreamsAdapterFactory)
    }

    /// What the adapter did with the messages it publishes so far.
    pub fn publish_stats(&self) -> PublishStats {
        self.0.publish_stats()
    }
}

impl AdapterFactory for RedisStreamsAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        self.0.create(nsp)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        self.0.create_for(nsp, local)
    }
}

impl From<RedisStreamsAdapterFactory> for RedisAdapterFactory {
    fn from(f: RedisStreamsAdapterFactory) -> RedisAdapterFactory {
        f.0
    }
}

/// The namespaces the stream readers hand entries to.
#[derive(Default)]
struct Readers(Mutex<Vec<Weak<dyn Subscriber>>>);

impl Readers {
    fn add(&self, subscriber: Weak<dyn Subscriber>) {
        let mut subs = self.0.lock();
        subs.retain(|s| s.strong_count() > 0);
        subs.push(subscriber);
    }

    fn remove(&self, subscriber: &Weak<dyn Subscriber>) {
        self.0
            .lock()
            .retain(|s| s.strong_count() > 0 && !s.ptr_eq(subscriber));
    }

    /// Hands an entry to its namespace's adapters.
    fn dispatch(&self, entry: StreamEntry) {
        let subs: Vec<Arc<dyn Subscriber>> = self
            .0
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|s| s.nsp() == entry.envelope.nsp)
            .collect();
        for sub in subs {
            sub.receive(entry.envelope.clone(), Some(entry.id.clone()));
        }
    }
}

/// One server's streams transport.
struct StreamsTransport {
    link: RedisLink,
    codec: StreamsCodec,
    readers: Arc<Readers>,
}

impl Channels for StreamsCodec {
    fn subscriptions(&self, nsp: &str, uid: &ServerId, _rooms: &[Room]) -> Vec<RedisCommand> {
        self.subscribe_commands(nsp, uid)
    }

    fn inbound(
        &self,
        nsp: &str,
        channel: &str,
        payload: &[u8],
    ) -> Option<Result<Envelope<Frame>, DecodeError>> {
        // The state drops other namespaces' messages anyway.
        channel
            .starts_with(&self.public_channel(nsp))
            .then(|| self.decode_pubsub(payload))
    }
}

impl Transport for StreamsTransport {
    fn protocol(&self) -> Protocol {
        Protocol::Cluster
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    fn durable(&self) -> bool {
        true
    }

    async fn publish(&self, envelope: Envelope<ClusterMessage>) -> Option<String> {
        match self.codec.encode_message(&envelope) {
            // An XADD answers with the entry id; a PUBLISH with a count.
            Ok(cmd) => self.link.publish(&cmd).await.as_ref().and_then(string),
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode message");
                None
            }
        }
    }

    async fn publish_response(&self, to: Option<ServerId>, envelope: Envelope<ClusterResponse>) {
        let Some(to) = to else {
            tracing::debug!(nsp = %envelope.nsp, "{LABEL}: request without a sender uid; not answered");
            return;
        };
        match self.codec.encode_response(&to, &envelope) {
            Ok(cmd) => {
                self.link.publish(&cmd).await;
            }
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode response")
            }
        }
    }

    async fn server_count(&self, nsp: &str) -> Option<usize> {
        let cmd = self.codec.server_count_command(nsp)?;
        Some(self.link.numsub(nsp, &cmd).await)
    }

    fn subscribe(&self, subscriber: Weak<dyn Subscriber>) {
        self.readers.add(subscriber.clone());
        self.link.subscribe(subscriber);
    }

    fn unsubscribe(
        &self,
        subscriber: Weak<dyn Subscriber>,
        nsp: &str,
        uid: &ServerId,
        _rooms: &[Room],
    ) -> BoxFuture<'static, ()> {
        self.readers.remove(&subscriber);
        let commands = self
            .codec
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
            .collect();
        self.link.unsubscribe(subscriber, commands)
    }

    async fn persist_session(&self, mut session: SessionToPersist, ttl: Duration) {
        // Node keeps the socket's own room among the session's rooms, so a
        // Node server resuming it replays what was sent to the socket alone.
        let own = Room::from(session.sid.to_string());
        if !session.rooms.contains(&own) {
            session.rooms.push(own);
        }
        match self.codec.persist_session_command(&session, ttl) {
            Ok(cmd) => {
                self.link.publish(&cmd).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "{LABEL}: cannot encode session")
            }
        }
    }

    /// Takes a persisted session back from Redis, with the broadcasts it
    /// missed after `offset`, as Node's streams adapter does.
    async fn restore_session(
        &self,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Option<RecoveredSession> {
        let codec = &self.codec;
        let check = codec.offset_check_command(nsp, offset)?;
        let mut conn = self.link.connection();
        let key = codec.session_key(pid);
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
                tracing::debug!(nsp = %nsp, error = %e, "{LABEL}: bad session dropped");
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
        let mut after = offset.to_owned();
        for _ in 0..MAX_RANGE_CALLS {
            let mut cmd = codec.missed_range_command(nsp, &after)?;
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
                match codec.missed_packet(nsp, &id, fields, &rooms) {
                    Ok(Some(packet)) => missed.push(packet),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(nsp = %nsp, id, error = %e, "{LABEL}: entry dropped")
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
    }
}

/// Reads one stream from its end (`$`) with a blocking `XREAD` on a
/// connection of its own, and hands each entry to its namespace's adapter.
/// Stops once the transport is gone.
async fn stream_reader(
    endpoint: Endpoint,
    codec: StreamsCodec,
    stream: String,
    readers: Weak<Readers>,
) {
    let label = LABEL;
    let block = codec.xread_command(&stream, "$");
    // The reply may take the whole block time: allow for it.
    let block_ms = block
        .arg_str(3)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(5_000);
    let response_timeout = Duration::from_millis(block_ms) + CONNECT_TIMEOUT;
    let mut last = "$".to_owned();
    let mut conn: Option<RedisConn> = None;
    let mut delay = MIN_BACKOFF;
    let mut failed = false;
    loop {
        if readers.strong_count() == 0 {
            return;
        }
        let c = match &mut conn {
            Some(c) => c,
            None => match endpoint.blocking_connection(response_timeout).await {
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
                let Some(readers) = readers.upgrade() else {
                    return;
                };
                for (id, fields) in xread_entries(&reply) {
                    last = id.clone();
                    match codec.decode_entry(&id, fields) {
                        Ok(Some(entry)) => readers.dispatch(entry),
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
