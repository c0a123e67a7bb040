//! What a [`Server`] shares with the other servers of a cluster: the Redis
//! or Postgres adapter it joins ([`RedisOptions`], whose URL picks the
//! broker), `serverSideEmit`, `allRooms` and the server count.

use std::sync::Arc;
use std::time::Duration;

use sio_core::Value;

use super::queue::Completion;
use super::{Error, Runtime, Server};

/// Which Node Redis adapter's wire protocol a cluster speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RedisFlavour {
    /// `@socket.io/redis-adapter` with PUBLISH/SUBSCRIBE.
    #[default]
    Classic,
    /// `@socket.io/redis-adapter`'s `createShardedAdapter()` (SPUBLISH,
    /// Redis 7+), in its default "dynamic" subscription mode.
    Sharded,
    /// `@socket.io/redis-streams-adapter` 0.3, which also carries connection
    /// state recovery across servers.
    Streams,
}

impl RedisFlavour {
    /// Parses `classic`, `sharded` or `streams`.
    pub fn parse(name: &str) -> Result<RedisFlavour, Error> {
        match name {
            "classic" | "" => Ok(RedisFlavour::Classic),
            "sharded" => Ok(RedisFlavour::Sharded),
            "streams" => Ok(RedisFlavour::Streams),
            other => Err(Error::invalid(format!(
                "unknown Redis adapter flavour {other:?} (classic, sharded or streams)"
            ))),
        }
    }
}

/// Joins the server to a cluster through Redis, or through PostgreSQL with
/// a `postgres://` URL: the bindings' one adapter option serves both.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// e.g. `redis://127.0.0.1:6379`; `rediss://` for TLS,
    /// `redis://user:password@host` for an ACL user, comma-separated seed
    /// URLs for a Redis Cluster, `redis+sentinel://host:port,.../db/service`
    /// for a Sentinel-managed master. A `postgres://` or `postgresql://`
    /// URL joins a `@socket.io/postgres-adapter` cluster instead.
    pub url: String,
    /// The channel prefix (Node's `key`, default `socket.io`); with the
    /// sharded flavour its `channelPrefix`, with streams both its
    /// `channelPrefix` and its `streamName`; with PostgreSQL its
    /// `channelPrefix`.
    pub key: Option<String>,
    /// The wire protocol (Redis only: PostgreSQL has one).
    pub flavour: RedisFlavour,
    /// How long cluster requests wait for the other servers (Node's
    /// `requestsTimeout`).
    pub requests_timeout: Option<Duration>,
    /// The classic flavour's `publishOnSpecificResponseChannel`: answers
    /// go to the requester's own channel (default false, as Node's).
    pub publish_on_specific_response_channel: bool,
    /// The sharded flavour's `subscriptionMode` (default dynamic, as
    /// Node's).
    pub subscription_mode: Option<sio_core::adapter::redis_sharded::SubscriptionMode>,
}

impl RedisOptions {
    /// A cluster at `url` in `flavour`, every other option at Node's
    /// default.
    pub fn new(url: impl Into<String>, flavour: RedisFlavour) -> RedisOptions {
        RedisOptions {
            url: url.into(),
            key: None,
            flavour,
            requests_timeout: None,
            publish_on_specific_response_channel: false,
            subscription_mode: None,
        }
    }

    /// Refuses an option the flavour (or PostgreSQL) does not have.
    fn check(&self) -> Result<(), Error> {
        let postgres = is_postgres(&self.url);
        if self.publish_on_specific_response_channel
            && (postgres || self.flavour != RedisFlavour::Classic)
        {
            return Err(Error::invalid(
                "publishOnSpecificResponseChannel is an option of the classic Redis flavour only",
            ));
        }
        if self.subscription_mode.is_some() && (postgres || self.flavour != RedisFlavour::Sharded) {
            return Err(Error::invalid(
                "subscriptionMode is an option of the sharded Redis flavour only",
            ));
        }
        Ok(())
    }
}

/// Whether `url` names a PostgreSQL database rather than a Redis.
pub(super) fn is_postgres(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
}

/// The adapters a server's namespaces get: in memory, or of the cluster
/// the options name.
pub(super) enum Factory {
    /// In memory, keeping sessions for this long with connection state
    /// recovery.
    Memory(Option<Duration>),
    Redis(sio_core::adapter::redis::RedisAdapterFactory),
    Postgres(sio_core::adapter::postgres::PostgresAdapterFactory),
}

impl Factory {
    /// Connects to the cluster `cluster` names (blocking for at most the
    /// adapter's connect timeout); in memory without one.
    pub(super) fn new(
        rt: &Runtime,
        cluster: Option<&RedisOptions>,
        config: &sio_core::ServerConfig,
    ) -> Result<Factory, Error> {
        let recovery = config
            .connection_state_recovery
            .as_ref()
            .map(|r| r.max_disconnection_duration);
        if let Some(c) = cluster {
            c.check()?;
        }
        Ok(match cluster {
            None => Factory::Memory(recovery),
            Some(pg) if is_postgres(&pg.url) => Factory::Postgres(postgres_factory(rt, pg)?),
            Some(redis) => Factory::Redis(redis_factory(rt, redis, recovery)?),
        })
    }
}

impl sio_core::adapter::AdapterFactory for Factory {
    fn create(&self, nsp: &str) -> Arc<dyn sio_core::adapter::Adapter> {
        self.create_for(nsp, std::sync::Weak::<sio_core::Namespace>::new())
    }

    fn create_for(
        &self,
        nsp: &str,
        local: std::sync::Weak<dyn sio_core::adapter::LocalNamespace>,
    ) -> Arc<dyn sio_core::adapter::Adapter> {
        use sio_core::adapter::LocalAdapter;
        match self {
            Factory::Memory(Some(max)) => Arc::new(LocalAdapter::with_recovery(*max)),
            Factory::Memory(None) => Arc::new(LocalAdapter::new()),
            Factory::Redis(f) => f.create_for(nsp, local),
            Factory::Postgres(f) => f.create_for(nsp, local),
        }
    }
}

/// Connects the Postgres adapter factory of a new server; blocks for at
/// most the adapter's connect timeout.
pub(super) fn postgres_factory(
    rt: &Runtime,
    opts: &RedisOptions,
) -> Result<sio_core::adapter::postgres::PostgresAdapterFactory, Error> {
    use sio_core::adapter::postgres::{PostgresAdapterConfig, PostgresAdapterFactory};
    if opts.flavour != RedisFlavour::Classic {
        return Err(Error::invalid(format!(
            "the {:?} flavour is a Redis one; a postgres:// URL takes none",
            opts.flavour
        )));
    }
    let mut config = PostgresAdapterConfig::default();
    if let Some(key) = &opts.key {
        config.channel_prefix = key.clone();
    }
    if let Some(t) = opts.requests_timeout {
        config.requests_timeout = t;
    }
    let url = opts.url.clone();
    rt.block_on(async move { PostgresAdapterFactory::connect(&url, config).await })?
        .map_err(|e| {
            // The URL may hold a password: name the broker, not the URL.
            Error::Io(format!("cannot join the Postgres cluster: {e}"))
        })
}

/// Connects the Redis adapter factory of a new server; blocks for at most
/// the adapter's connect timeout.
pub(super) fn redis_factory(
    rt: &Runtime,
    opts: &RedisOptions,
    recovery: Option<Duration>,
) -> Result<sio_core::adapter::redis::RedisAdapterFactory, Error> {
    use sio_core::adapter::redis::{RedisAdapterConfig, RedisAdapterFactory};
    use sio_core::adapter::redis_sharded::{ShardedRedisAdapterConfig, ShardedRedisAdapterFactory};
    use sio_core::adapter::redis_streams::{RedisStreamsAdapterConfig, RedisStreamsAdapterFactory};
    let url = opts.url.clone();
    let flavour = opts.flavour;
    let key = opts.key.clone();
    let timeout = opts.requests_timeout;
    let specific = opts.publish_on_specific_response_channel;
    let mode = opts.subscription_mode;
    rt.block_on(async move {
        match flavour {
            RedisFlavour::Classic => {
                let mut config = RedisAdapterConfig::default().recovery(recovery);
                config.publish_on_specific_response_channel = specific;
                if let Some(key) = key {
                    config.key = key;
                }
                if let Some(t) = timeout {
                    config.requests_timeout = t;
                }
                RedisAdapterFactory::connect(&url, config).await
            }
            RedisFlavour::Sharded => {
                let mut config = ShardedRedisAdapterConfig::default().recovery(recovery);
                if let Some(mode) = mode {
                    config.subscription_mode = mode;
                }
                if let Some(key) = key {
                    config.channel_prefix = key;
                }
                if let Some(t) = timeout {
                    config.requests_timeout = t;
                }
                ShardedRedisAdapterFactory::connect(&url, config)
                    .await
                    .map(RedisAdapterFactory::from)
            }
            RedisFlavour::Streams => {
                let mut config = RedisStreamsAdapterConfig::default().recovery(recovery);
                if let Some(key) = key {
                    config.channel_prefix = key.clone();
                    config.stream_name = key;
                }
                if let Some(t) = timeout {
                    config.requests_timeout = t;
                }
                RedisStreamsAdapterFactory::connect(&url, config)
                    .await
                    .map(RedisAdapterFactory::from)
            }
        }
    })?
    .map_err(|e| {
        Error::Io(format!(
            "cannot join the Redis cluster at {}: {e}",
            opts.url
        ))
    })
}

impl Server {
    /// Sends an event to the other servers of the cluster (main namespace);
    /// nobody hears it on a single server.
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) {
        let io = self.io.clone();
        let event = event.to_owned();
        self.ctx
            .rt
            .spawn_eager(async move { io.server_side_emit(&event, args).await });
    }

    /// Sends an event to the other servers and hands `done` one answer per
    /// server that answered within `timeout`.
    pub fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
        done: Completion<Vec<Value>>,
    ) {
        let io = self.io.clone();
        let event = event.to_owned();
        self.ctx.complete(
            async move { Ok(io.server_side_emit_with_ack(&event, args, timeout).await) },
            done,
        );
    }

    /// Handles `event` sent by another server with `serverSideEmit`;
    /// `handler` gets the arguments and, when the sender waits for one, a
    /// function answering it (the first answer counts).
    pub fn on_server_side_emit(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<ServerSideReply>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.io.on_server_side_emit(event, move |args, ack| {
            let h = handler.clone();
            ctx.run(move || h(args, ack.map(ServerSideReply)));
        });
    }

    /// Every room of the main namespace across the cluster, handed to
    /// `done` (`allRooms`).
    pub fn all_rooms(&self, done: Completion<Vec<String>>) {
        let ns = self.io.of("/");
        self.ctx.complete(
            async move {
                let mut rooms: Vec<String> =
                    ns.all_rooms().await.iter().map(|r| r.to_string()).collect();
                rooms.sort();
                Ok(rooms)
            },
            done,
        );
    }

    /// How many servers the cluster has, this one included.
    pub fn server_count(&self, done: Completion<usize>) {
        let io = self.io.clone();
        self.ctx
            .complete(async move { Ok(io.server_count().await) }, done);
    }
}

/// Answers another server's `serverSideEmitWithAck`.
#[derive(Debug, Clone)]
pub struct ServerSideReply(sio_core::adapter::ServerSideAck);

impl ServerSideReply {
    /// Sends the answer (Node keeps the first argument only).
    pub fn send(&self, value: Value) {
        self.0.send(value);
    }
}
