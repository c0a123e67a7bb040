//! The server's cluster-facing and less common parts: dynamic namespaces,
//! per-event middlewares, outgoing listeners, `serverSideEmit` and
//! `allRooms`, and the Redis adapter option.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_core::server::ParentNamespace;
use sio_core::Value;

use super::{
    connection_handler, connection_middleware, lock, Completion, Ctx, Next, Server, Socket,
};
use crate::embed::Error;

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

/// Joins the server to a cluster through Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// e.g. `redis://127.0.0.1:6379`.
    pub url: String,
    /// The channel prefix (Node's `key`, default `socket.io`); with the
    /// sharded flavour its `channelPrefix`, with streams both its
    /// `channelPrefix` and its `streamName`.
    pub key: Option<String>,
    /// The wire protocol.
    pub flavour: RedisFlavour,
    /// How long cluster requests wait for the other servers (Node's
    /// `requestsTimeout`).
    pub requests_timeout: Option<Duration>,
}

/// Connects the Redis adapter factory of a new server; blocks for at most
/// the adapter's connect timeout.
pub(super) fn redis_factory(
    rt: &crate::embed::Runtime,
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
    rt.block_on(async move {
        match flavour {
            RedisFlavour::Classic => {
                let mut config = RedisAdapterConfig::default().recovery(recovery);
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

/// A parent namespace: every namespace name its matcher accepts becomes a
/// child sharing its connection handlers and middlewares. Cheap to clone.
#[derive(Clone)]
pub struct DynamicNamespace {
    parent: Arc<ParentNamespace>,
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for DynamicNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicNamespace").finish_non_exhaustive()
    }
}

impl DynamicNamespace {
    /// Calls `handler` with every socket joining any child; its events are
    /// dispatched after the handler returns.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        self.parent
            .on_connection(connection_handler(self.ctx.clone(), handler));
    }

    /// Adds a middleware run for every joining socket of every child,
    /// before the child's own.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket, Next) + Send + Sync + 'static) {
        self.parent
            .use_middleware(connection_middleware(self.ctx.clone(), middleware));
    }

    /// The names of the children created so far.
    pub fn children(&self) -> Vec<String> {
        self.parent
            .children()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }
}

impl Server {
    /// A parent namespace for every name matching the regular expression
    /// `pattern` (e.g. `^/room-\d+$`).
    pub fn of_regex(&self, pattern: &str) -> Result<DynamicNamespace, Error> {
        let parent = self
            .io
            .of_regex(pattern)
            .map_err(|e| Error::invalid(format!("bad namespace pattern: {e}")))?;
        Ok(DynamicNamespace {
            parent,
            ctx: self.ctx.clone(),
        })
    }

    /// A parent namespace for every name `matcher` accepts. The matcher runs
    /// on a runtime thread, in both dispatch modes (a connection waits for
    /// it): keep it quick.
    pub fn of_dynamic(
        &self,
        matcher: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> DynamicNamespace {
        DynamicNamespace {
            parent: self.io.of_dynamic(matcher),
            ctx: self.ctx.clone(),
        }
    }

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

impl Socket {
    /// Adds a per-event middleware (`socket.use`): `middleware(socket,
    /// event, args)` returns `Err(error)` to stop the event, which then goes
    /// to the [`Socket::on_error`] handlers instead of its own handler.
    ///
    /// It must answer before the event goes on: with an event queue the
    /// runtime thread waits for the queue's poller to run it.
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket, &str, &[Value]) -> Result<(), Value> + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let middleware = Arc::new(middleware);
        self.inner.use_middleware(move |s, event, args| {
            let socket = Socket::new(s.clone(), ctx.clone());
            let verdict = Arc::new(Mutex::new(Ok(())));
            let (m, v, event, args) = (
                middleware.clone(),
                verdict.clone(),
                event.to_owned(),
                args.clone(),
            );
            ctx.run_and_wait(move || *lock(&v) = m(&socket, &event, &args));
            let out = std::mem::replace(&mut *lock(&verdict), Ok(()));
            out
        });
    }

    /// Called with the error of a middleware that stopped an event.
    pub fn on_error(&self, handler: impl Fn(&Socket, Value) + Send + Sync + 'static) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner.on_error(move |s, err| {
            let socket = Socket::new(s, ctx.clone());
            let h = handler.clone();
            ctx.run(move || h(&socket, err));
        });
    }

    /// Listens to every event this socket emits (`onAnyOutgoing`); returns
    /// an id for [`Socket::off_any_outgoing`].
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, Vec<Value>) + Send + Sync + 'static,
    ) -> u64 {
        let ctx = self.ctx.clone();
        let listener = Arc::new(listener);
        self.inner.on_any_outgoing(move |s, event, args| {
            let socket = Socket::new(s.clone(), ctx.clone());
            let (l, event, args) = (listener.clone(), event.to_owned(), args.to_vec());
            ctx.run(move || l(&socket, &event, args));
        })
    }

    /// Removes one outgoing listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<u64>) {
        self.inner.off_any_outgoing(id);
    }
}
