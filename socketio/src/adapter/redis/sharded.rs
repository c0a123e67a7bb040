//! The transport of `createShardedAdapter()` (Redis 7+ sharded pub/sub):
//! `SPUBLISH` on `prefix#<nsp>#`, plain broadcasts to one room on that
//! room's channel (in the "dynamic" subscription modes, whose channels
//! follow the local rooms), responses on the requester's
//! `prefix#<nsp>#<uid>#`; the server count is `PUBSUB SHARDNUMSUB
//! prefix#<nsp>#`. The codec is [`ShardedCodec`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::connection::{Channels, RedisLink};
use super::endpoint::Endpoint;
use super::{PublishStats, RedisAdapterError, RedisAdapterFactory, RedisConnectOptions};
use crate::adapter::cluster::adapter::ClusterConfig;
use crate::adapter::cluster::sharded::ShardedCodec;
pub use crate::adapter::cluster::sharded::SubscriptionMode;
use crate::adapter::cluster::state::DEFAULT_REQUEST_TIMEOUT;
use crate::adapter::cluster::transport::{Protocol, Subscriber, Transport};
use crate::adapter::cluster::{
    ClusterMessage, ClusterResponse, DecodeError, Envelope, Frame, RedisCommand, ServerId,
};
use crate::adapter::{Adapter, AdapterFactory, LocalNamespace, Room};

const LABEL: &str = "sharded Redis adapter";

/// Options of the sharded adapter, named after Node's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShardedRedisAdapterConfig {
    /// The channel prefix (Node's `channelPrefix`, default `socket.io`).
    pub channel_prefix: String,
    /// Which rooms get a channel of their own (Node's `subscriptionMode`,
    /// default dynamic); every server of a cluster must use the same one.
    pub subscription_mode: SubscriptionMode,
    /// How long `fetchSockets` and `serverSideEmitWithAck` wait for the
    /// other servers (5 s, Node's fixed timeout).
    pub requests_timeout: Duration,
    /// Most messages queued for publishing per namespace; past it messages
    /// are dropped (and logged) rather than piling up while Redis is away.
    pub max_queued_publishes: usize,
    /// Connection state recovery window of the local part (`None`: off);
    /// set it to the server's `max_disconnection_duration` when recovery is
    /// on. Sessions do not cross servers with this flavour, as with Node.
    pub recovery: Option<Duration>,
    /// How to reach Redis beyond the URL: a cluster, TLS material.
    pub connection: RedisConnectOptions,
}

engineio::__option_setters!(ShardedRedisAdapterConfig {
    channel_prefix: impl Into<String>,
    subscription_mode: SubscriptionMode,
    requests_timeout: Duration,
    max_queued_publishes: usize,
    recovery: Option<Duration>,
    connection: RedisConnectOptions,
});

impl Default for ShardedRedisAdapterConfig {
    fn default() -> Self {
        ShardedRedisAdapterConfig {
            channel_prefix: "socket.io".into(),
            subscription_mode: SubscriptionMode::default(),
            requests_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_queued_publishes: 65_536,
            recovery: None,
            connection: RedisConnectOptions::default(),
        }
    }
}

/// Creates the sharded Redis adapter of every namespace of one server: pass
/// it to [`crate::SocketIo::with_adapter`]. One factory per server. It
/// converts into a [`RedisAdapterFactory`] for code that picks the flavour
/// at run time.
#[derive(Debug, Clone)]
pub struct ShardedRedisAdapterFactory(RedisAdapterFactory);

impl ShardedRedisAdapterFactory {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`) with
    /// the default options.
    pub async fn new(url: &str) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        Self::connect(url, ShardedRedisAdapterConfig::default()).await
    }

    /// Connects to the Redis at `url` (one URL, or comma-separated cluster
    /// seeds) with `config`.
    pub async fn connect(
        url: &str,
        config: ShardedRedisAdapterConfig,
    ) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        let endpoint = Endpoint::open(url, &config.connection)?;
        Self::on_endpoint(endpoint, config).await
    }

    /// Connects with `client` and `config`: the publishing and the
    /// subscriber connections are open when this returns. `client` says
    /// how to reach the one server; `config.connection` is not used.
    pub async fn with_config(
        client: redis::Client,
        config: ShardedRedisAdapterConfig,
    ) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        Self::on_endpoint(Endpoint::Single(client), config).await
    }

    async fn on_endpoint(
        endpoint: Endpoint,
        config: ShardedRedisAdapterConfig,
    ) -> Result<ShardedRedisAdapterFactory, RedisAdapterError> {
        let codec = ShardedCodec::new(config.channel_prefix.clone())
            .subscription_mode(config.subscription_mode);
        // Sharded pub/sub exists only on RESP3 push connections in `redis`.
        let link = RedisLink::connect(&endpoint, Arc::new(codec.clone()), true, LABEL).await?;
        let cluster = ClusterConfig::new(
            config.requests_timeout,
            config.max_queued_publishes,
            config.recovery,
        );
        let outage = link.outage();
        RedisAdapterFactory::on(ShardedTransport { link, codec }, cluster, outage)
            .map(ShardedRedisAdapterFactory)
    }

    /// What the adapter did with the messages it publishes so far.
    pub fn publish_stats(&self) -> PublishStats {
        self.0.publish_stats()
    }
}

impl AdapterFactory for ShardedRedisAdapterFactory {
    fn create(&self, nsp: &str) -> Arc<dyn Adapter> {
        self.0.create(nsp)
    }

    fn create_for(&self, nsp: &str, local: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        self.0.create_for(nsp, local)
    }
}

impl From<ShardedRedisAdapterFactory> for RedisAdapterFactory {
    fn from(f: ShardedRedisAdapterFactory) -> RedisAdapterFactory {
        f.0
    }
}

/// Whether a room is a socket's own room, which Node's "dynamic" mode keeps
/// off per-room channels: socket ids are 20 characters, and Node's
/// publishers decide by that length alone.
fn looks_private(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

/// One server's sharded transport.
#[derive(Debug)]
struct ShardedTransport {
    link: RedisLink,
    codec: ShardedCodec,
}

impl Channels for ShardedCodec {
    fn subscriptions(&self, nsp: &str, uid: &ServerId, rooms: &[Room]) -> Vec<RedisCommand> {
        let mut cmds = self.subscribe_commands(nsp, uid);
        cmds.extend(
            rooms
                .iter()
                .filter_map(|r| self.room_created(nsp, r, looks_private(r))),
        );
        cmds
    }

    fn inbound(
        &self,
        nsp: &str,
        channel: &str,
        payload: &[u8],
    ) -> Option<Result<Envelope<Frame>, DecodeError>> {
        // The state drops other namespaces' messages anyway.
        channel
            .starts_with(&self.channel(nsp))
            .then(|| self.decode(payload))
    }
}

impl Transport for ShardedTransport {
    fn protocol(&self) -> Protocol {
        Protocol::Cluster
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    fn follows_rooms(&self) -> bool {
        self.codec.room_has_channel(false) || self.codec.room_has_channel(true)
    }

    async fn publish(&self, envelope: Envelope<ClusterMessage>) -> Option<String> {
        match self.codec.encode_message(&envelope) {
            Ok(cmd) => {
                self.link.publish(&cmd).await;
            }
            Err(e) => {
                tracing::warn!(nsp = %envelope.nsp, error = %e, "{LABEL}: cannot encode message")
            }
        }
        None
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
        Some(
            self.link
                .numsub(nsp, &self.codec.server_count_command(nsp))
                .await,
        )
    }

    fn subscribe(&self, subscriber: Weak<dyn Subscriber>) {
        self.link.subscribe(subscriber);
    }

    fn unsubscribe(
        &self,
        subscriber: Weak<dyn Subscriber>,
        nsp: &str,
        uid: &ServerId,
        rooms: &[Room],
    ) -> BoxFuture<'static, ()> {
        let commands = self.codec.unsubscribe_commands(
            nsp,
            uid,
            rooms.iter().map(|r| (&**r, looks_private(r))),
        );
        self.link.unsubscribe(subscriber, commands)
    }

    fn room_created(&self, nsp: &str, room: &Room) {
        if let Some(cmd) = self.codec.room_created(nsp, room, looks_private(room)) {
            self.link.change_subscription(cmd);
        }
    }

    fn room_deleted(&self, nsp: &str, room: &Room) {
        if let Some(cmd) = self.codec.room_deleted(nsp, room, looks_private(room)) {
            self.link.change_subscription(cmd);
        }
    }
}
