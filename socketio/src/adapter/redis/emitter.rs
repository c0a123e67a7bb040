//! An emitter: reaches the clients of a cluster of Socket.IO servers on the
//! classic Redis adapter from a process that is not a server (a worker, a
//! cron job), as `@socket.io/redis-emitter` 5 does for Node, byte for byte.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis::Emitter;
//! let emitter = Emitter::new("redis://127.0.0.1:6379").await?;
//! emitter.to("room1").emit("hello", &"from a worker").await?;
//! emitter.of("/admin").server_side_emit("reload", vec![]).await?;
//! # Ok(()) }
//! ```
//!
//! An emitter only publishes: it subscribes to nothing, so it is not a
//! member of the cluster, is not counted by the servers, and cannot wait
//! for acknowledgements (neither can Node's). Each operation resolves once
//! Redis took the message, or fails with an [`EmitterError`]: a Redis that
//! is away gives an error (after [`EmitterConfig::timeout`] at most), and
//! the next operation tries again on a fresh connection.
//!
//! It reaches Redis as the adapters do ([`RedisConnectOptions`]): one
//! server, a Redis Cluster from its seed nodes (`PUBLISH` reaches every
//! node's subscribers), the master the Sentinels name
//! (`redis+sentinel://…`), over TLS with a private authority or a client
//! certificate.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;

use super::connection::RedisConn;
use super::endpoint::Endpoint;
use super::{RedisAdapterError, RedisConnectOptions};
use crate::adapter::cluster::classic::ClassicCodec;
use crate::adapter::cluster::{
    ClusterMessage, ClusterPacket, EncodeError, Envelope, RedisCommand, ServerId, WireOptions,
};
use crate::adapter::Room;
use crate::proto::{to_value, Value, ValueError, RESERVED_EVENTS};
use crate::server::IntoRooms;

/// Options of an [`Emitter`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmitterConfig {
    /// The channel prefix: the servers' [`super::RedisAdapterConfig::key`]
    /// (Node's `key`, default `socket.io`).
    pub key: String,
    /// How long connecting, and then each operation, may wait for Redis
    /// (default 5 s).
    pub timeout: Duration,
    /// How to reach Redis beyond the URL (cluster seeds, TLS files), as
    /// for the servers' adapters.
    pub connection: RedisConnectOptions,
}

engineio::__option_setters!(EmitterConfig {
    key: impl Into<String>,
    timeout: Duration,
    connection: RedisConnectOptions,
});

impl Default for EmitterConfig {
    fn default() -> Self {
        EmitterConfig {
            key: "socket.io".into(),
            timeout: Duration::from_secs(5),
            connection: RedisConnectOptions::default(),
        }
    }
}

/// Why an emitter operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitterError {
    /// Redis refused the command or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within [`EmitterConfig::timeout`].
    #[error("timed out waiting for Redis")]
    Timeout,
    /// The event name is one Socket.IO reserves (`connect`, `disconnect`, …).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// The data could not be turned into a Socket.IO value.
    #[error("cannot serialize the data: {0}")]
    Value(#[from] ValueError),
    /// The message could not be encoded (a value too large for msgpack).
    #[error("cannot encode the message: {0}")]
    Encode(#[from] EncodeError),
    /// The URL or the connection options cannot be used (an unreadable
    /// certificate file, seed nodes that disagree).
    #[error("Redis connection options: {0}")]
    Config(String),
}

impl From<RedisAdapterError> for EmitterError {
    fn from(e: RedisAdapterError) -> Self {
        match e {
            RedisAdapterError::Redis(e) => EmitterError::Redis(e),
            RedisAdapterError::Timeout => EmitterError::Timeout,
            other => EmitterError::Config(other.to_string()),
        }
    }
}

/// What every emitter of one connection shares.
struct Shared {
    conn: RedisConn,
    codec: ClassicCodec,
    timeout: Duration,
}

/// Publishes to the servers of a classic Redis adapter cluster, for one
/// namespace ([`Emitter::of`] gives the others). Cheap to clone; clones
/// share the connection.
#[derive(Clone)]
pub struct Emitter {
    shared: Arc<Shared>,
    nsp: Arc<str>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("key", &self.shared.codec.key())
            .field("nsp", &self.nsp)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// Connects to the Redis at `url` (e.g. `redis://127.0.0.1:6379`) with
    /// the default options.
    pub async fn new(url: &str) -> Result<Emitter, EmitterError> {
        Self::connect(url, EmitterConfig::default()).await
    }

    /// Connects to the Redis at `url` with `config`: one server
    /// (`redis://`, `rediss://`), comma-separated seed nodes of a Redis
    /// Cluster (or one with [`RedisConnectOptions::cluster`]), or
    /// `redis+sentinel://host1:port1,host2:port2[/db[/service]]`. The
    /// connection is open when this returns.
    pub async fn connect(url: &str, config: EmitterConfig) -> Result<Emitter, EmitterError> {
        match Endpoint::open(url, &config.connection)? {
            Endpoint::Single(client) => Self::with_client(client, config).await,
            endpoint => {
                let conn = tokio::time::timeout(config.timeout, endpoint.publisher())
                    .await
                    .map_err(|_| EmitterError::Timeout)??;
                Ok(Self::with_conn(conn, config))
            }
        }
    }

    /// Connects with `client`: the connection is open when this returns.
    pub async fn with_client(
        client: redis::Client,
        config: EmitterConfig,
    ) -> Result<Emitter, EmitterError> {
        // Few retries: a refused connection is reported now rather than
        // after the manager's default backoff (the caller retries, and
        // every later command reconnects if needed).
        let manager = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout));
        let conn = tokio::time::timeout(
            config.timeout,
            client.get_connection_manager_with_config(manager),
        )
        .await
        .map_err(|_| EmitterError::Timeout)??;
        Ok(Self::with_connection(conn, config))
    }

    /// Publishes through an existing connection (shared with other users of
    /// it).
    pub fn with_connection(conn: ConnectionManager, config: EmitterConfig) -> Emitter {
        Self::with_conn(RedisConn::Manager(conn), config)
    }

    fn with_conn(conn: RedisConn, config: EmitterConfig) -> Emitter {
        Emitter {
            shared: Arc::new(Shared {
                conn,
                codec: ClassicCodec::new(config.key),
                timeout: config.timeout,
            }),
            nsp: Arc::from("/"),
        }
    }

    /// The emitter of namespace `nsp` (a leading `/` is added when missing,
    /// as Node does), on the same connection.
    pub fn of(&self, nsp: &str) -> Emitter {
        let nsp = if nsp.starts_with('/') {
            Arc::from(nsp)
        } else {
            Arc::from(format!("/{nsp}"))
        };
        Emitter {
            shared: self.shared.clone(),
            nsp,
        }
    }

    /// The namespace this emitter publishes to.
    pub fn namespace(&self) -> &str {
        &self.nsp
    }

    /// An operation on every socket of the namespace, to chain rooms and
    /// flags onto (as the server's `broadcast()`).
    pub fn broadcast(&self) -> EmitterOperator {
        EmitterOperator {
            emitter: self.clone(),
            targets: Targets::default(),
        }
    }

    /// Targets the sockets in `rooms` (any of them).
    pub fn to(&self, rooms: impl IntoRooms) -> EmitterOperator {
        self.broadcast().to(rooms)
    }

    /// Same as [`Emitter::to`].
    pub fn in_(&self, rooms: impl IntoRooms) -> EmitterOperator {
        self.to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> EmitterOperator {
        self.broadcast().except(rooms)
    }

    /// The event may be dropped for clients that are not ready for it.
    pub fn volatile(&self) -> EmitterOperator {
        self.broadcast().volatile()
    }

    /// The compression hint of the event.
    pub fn compress(&self, compress: bool) -> EmitterOperator {
        self.broadcast().compress(compress)
    }

    /// Emits `event` with one argument to every client of the namespace.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        self.broadcast().emit(event, data).await
    }

    /// Emits `event` with any arguments (none, several, binary) to every
    /// client of the namespace.
    pub async fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitterError> {
        self.broadcast().emit_args(event, args).await
    }

    /// Makes every socket of the namespace join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.broadcast().sockets_join(rooms).await
    }

    /// Makes every socket of the namespace leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.broadcast().sockets_leave(rooms).await
    }

    /// Disconnects every socket of the namespace, closing their underlying
    /// connections when `close`.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.broadcast().disconnect_sockets(close).await
    }

    /// Sends `event` with `args` to the servers of the cluster (their
    /// `on_server_side_emit` handlers). No acknowledgements: the emitter
    /// does not listen for answers.
    pub async fn server_side_emit(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(), EmitterError> {
        let envelope = Envelope::new(
            ServerId::emitter(),
            self.namespace(),
            ClusterMessage::ServerSideEmit {
                args: event_data(event, args),
                request_id: None,
            },
        );
        let cmd = self.shared.codec.encode_message(&envelope)?;
        self.publish(&cmd).await
    }

    async fn publish(&self, cmd: &RedisCommand) -> Result<(), EmitterError> {
        let mut redis_cmd = redis::cmd(cmd.name);
        for arg in &cmd.args {
            redis_cmd.arg(&arg[..]);
        }
        let mut conn = self.shared.conn.clone();
        tokio::time::timeout(
            self.shared.timeout,
            redis_cmd.query_async::<redis::Value>(&mut conn),
        )
        .await
        .map_err(|_| EmitterError::Timeout)??;
        Ok(())
    }
}

fn event_data(event: &str, args: Vec<Value>) -> Vec<Value> {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(event.to_owned()));
    data.extend(args);
    data
}

/// Adds `rooms` to `to` once each, in order: Node keeps them in a `Set`.
fn add_rooms(to: &mut Vec<Room>, rooms: impl IntoRooms) {
    for room in rooms.into_rooms() {
        if !to.contains(&room) {
            to.push(room);
        }
    }
}

/// An emission being built on an [`Emitter`] (Node's `BroadcastOperator`):
/// chain rooms and flags, then emit or act on the matching sockets.
#[derive(Debug, Clone)]
pub struct EmitterOperator {
    emitter: Emitter,
    targets: Targets,
}

/// The rooms and flags of an emission.
#[derive(Debug, Clone, Default)]
struct Targets {
    rooms: Vec<Room>,
    except: Vec<Room>,
    /// In the order first set: that order is on the wire.
    flags: Vec<(&'static str, bool)>,
}

impl Targets {
    fn set_flag(&mut self, name: &'static str, value: bool) {
        match self.flags.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.flags.push((name, value)),
        }
    }
}

impl EmitterOperator {
    /// Adds target rooms.
    pub fn to(mut self, rooms: impl IntoRooms) -> EmitterOperator {
        add_rooms(&mut self.targets.rooms, rooms);
        self
    }

    /// Same as [`EmitterOperator::to`].
    pub fn in_(self, rooms: impl IntoRooms) -> EmitterOperator {
        self.to(rooms)
    }

    /// Excludes rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> EmitterOperator {
        add_rooms(&mut self.targets.except, rooms);
        self
    }

    /// The event may be dropped for clients that are not ready for it.
    pub fn volatile(self) -> EmitterOperator {
        self.flag("volatile", true)
    }

    /// The compression hint of the event.
    pub fn compress(self, compress: bool) -> EmitterOperator {
        self.flag("compress", compress)
    }

    fn flag(mut self, name: &'static str, value: bool) -> EmitterOperator {
        self.targets.set_flag(name, value);
        self
    }

    /// Emits `event` with one argument to the matching clients.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitterError> {
        self.emit_args(event, vec![to_value(data)?]).await
    }

    /// Emits `event` with any arguments (none, several, binary) to the
    /// matching clients.
    pub async fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitterError::ReservedEvent(event.to_owned()));
        }
        let packet = ClusterPacket::event(event_data(event, args));
        let cmd = self.emitter.shared.codec.encode_emitter_broadcast(
            self.emitter.namespace(),
            &packet,
            &self.targets.rooms,
            &self.targets.except,
            &self.targets.flags,
        )?;
        self.emitter.publish(&cmd).await
    }

    /// Makes the matching sockets join `rooms`.
    pub async fn sockets_join(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.request(ClusterMessage::SocketsJoin {
            opts: self.wire_options(),
            rooms: rooms.into_rooms(),
        })
        .await
    }

    /// Makes the matching sockets leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl IntoRooms) -> Result<(), EmitterError> {
        self.request(ClusterMessage::SocketsLeave {
            opts: self.wire_options(),
            rooms: rooms.into_rooms(),
        })
        .await
    }

    /// Disconnects the matching sockets, closing their underlying
    /// connections when `close`.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        self.request(ClusterMessage::DisconnectSockets {
            opts: self.wire_options(),
            close,
        })
        .await
    }

    fn wire_options(&self) -> WireOptions {
        WireOptions {
            rooms: self.targets.rooms.clone(),
            except: self.targets.except.clone(),
            ..WireOptions::default()
        }
    }

    /// A request as the npm emitter publishes it: without a uid.
    async fn request(&self, body: ClusterMessage) -> Result<(), EmitterError> {
        let envelope = Envelope {
            uid: None,
            nsp: self.emitter.namespace().to_owned(),
            body,
        };
        let cmd = self.emitter.shared.codec.encode_message(&envelope)?;
        self.emitter.publish(&cmd).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `@socket.io/redis-emitter` 5.1.0 publishes (channel, payload as
    /// hex) for the operations of [`operations`], captured from the npm
    /// package with a recording client.
    const NPM: &[(&str, &str)] = &[
        ("socket.io#/#", "93a7656d697474657283a47479706502a46461746198a568656c6c6fa5776f726c6401cb4004000000000000fdc3c081a1619201a178a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"),
        ("socket.io#/#room1#", "93a7656d697474657283a47479706502a46461746192a26576c403010203a36e7370a12f83a5726f6f6d7391a5726f6f6d31a5666c61677380a665786365707490"),
        ("socket.io#/#", "93a7656d697474657283a47479706502a46461746191a3657632a36e7370a12f83a5726f6f6d7392a27231a27232a5666c61677380a665786365707491a178"),
        ("socket.io#/#", "93a7656d697474657283a47479706502a46461746191a5666c616773a36e7370a12f83a5726f6f6d7390a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2a665786365707490"),
        ("socket.io#/#", "93a7656d697474657283a47479706502a46461746191a6666c61677332a36e7370a12f83a5726f6f6d7390a5666c61677382a8636f6d7072657373c3a8766f6c6174696c65c3a665786365707490"),
        ("socket.io#/admin#r#", "93a7656d697474657283a47479706502a46461746191a36e7370a36e7370a62f61646d696e83a5726f6f6d7391a172a5666c61677380a665786365707490"),
        ("socket.io-request#/chat#", "7b2274797065223a322c226f707473223a7b22726f6f6d73223a5b5d2c22657863657074223a5b5d7d2c22726f6f6d73223a5b2267225d7d"),
        ("socket.io-request#/#", "7b2274797065223a332c226f707473223a7b22726f6f6d73223a5b2261225d2c22657863657074223a5b2262225d7d2c22726f6f6d73223a5b2263222c2264225d7d"),
        ("socket.io-request#/#", "7b2274797065223a342c226f707473223a7b22726f6f6d73223a5b2261225d2c22657863657074223a5b5d7d2c22636c6f7365223a747275657d"),
        ("socket.io-request#/#", "7b2274797065223a342c226f707473223a7b22726f6f6d73223a5b5d2c22657863657074223a5b5d7d2c22636c6f7365223a66616c73657d"),
        ("socket.io-request#/#", "7b22756964223a22656d6974746572222c2274797065223a362c2264617461223a5b226e6f7465222c2278222c325d7d"),
        ("custom#/n#r#", "93a7656d697474657283a47479706502a46461746191a16ba36e7370a22f6e83a5726f6f6d7391a172a5666c61677380a665786365707490"),
    ];

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The operations behind [`NPM`], through the codec calls the emitter
    /// makes (no Redis needed).
    fn operations() -> Vec<RedisCommand> {
        let codec = ClassicCodec::new("socket.io");
        let room = |r: &str| -> Room { Room::from(r) };
        let event = |data: Vec<Value>| ClusterPacket::event(data);
        let broadcast = |codec: &ClassicCodec,
                         nsp: &str,
                         data: Vec<Value>,
                         rooms: &[Room],
                         except: &[Room],
                         flags: &[(&str, bool)]| {
            codec
                .encode_emitter_broadcast(nsp, &event(data), rooms, except, flags)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let request = |nsp: &str, uid: Option<ServerId>, body| {
            codec
                .encode_message(&Envelope {
                    uid,
                    nsp: nsp.to_owned(),
                    body,
                })
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let opts = |rooms: &[&str], except: &[&str]| WireOptions {
            rooms: rooms.iter().map(|r| room(r)).collect(),
            except: except.iter().map(|r| room(r)).collect(),
            ..WireOptions::default()
        };
        let mut object = indexmap::IndexMap::new();
        object.insert(
            "a".to_owned(),
            Value::Array(vec![Value::from(1), Value::from("x")]),
        );
        vec![
            broadcast(
                &codec,
                "/",
                vec![
                    "hello".into(),
                    "world".into(),
                    Value::from(1),
                    Value::from(2.5),
                    Value::from(-3),
                    Value::Bool(true),
                    Value::Null,
                    Value::Object(object),
                ],
                &[],
                &[],
                &[],
            ),
            broadcast(
                &codec,
                "/",
                vec!["ev".into(), Value::Binary(vec![1u8, 2, 3].into())],
                &[room("room1")],
                &[],
                &[],
            ),
            broadcast(
                &codec,
                "/",
                vec!["ev2".into()],
                &[room("r1"), room("r2")],
                &[room("x")],
                &[],
            ),
            broadcast(
                &codec,
                "/",
                vec!["flags".into()],
                &[],
                &[],
                &[("volatile", true), ("compress", false)],
            ),
            broadcast(
                &codec,
                "/",
                vec!["flags2".into()],
                &[],
                &[],
                &[("compress", true), ("volatile", true)],
            ),
            broadcast(&codec, "/admin", vec!["nsp".into()], &[room("r")], &[], &[]),
            request(
                "/chat",
                None,
                ClusterMessage::SocketsJoin {
                    opts: opts(&[], &[]),
                    rooms: vec![room("g")],
                },
            ),
            request(
                "/",
                None,
                ClusterMessage::SocketsLeave {
                    opts: opts(&["a"], &["b"]),
                    rooms: vec![room("c"), room("d")],
                },
            ),
            request(
                "/",
                None,
                ClusterMessage::DisconnectSockets {
                    opts: opts(&["a"], &[]),
                    close: true,
                },
            ),
            request(
                "/",
                None,
                ClusterMessage::DisconnectSockets {
                    opts: opts(&[], &[]),
                    close: false,
                },
            ),
            request(
                "/",
                Some(ServerId::emitter()),
                ClusterMessage::ServerSideEmit {
                    args: vec!["note".into(), "x".into(), Value::from(2)],
                    request_id: None,
                },
            ),
            broadcast(
                &ClassicCodec::new("custom"),
                "/n",
                vec!["k".into()],
                &[room("r")],
                &[],
                &[],
            ),
        ]
    }

    #[test]
    fn bytes_are_the_npm_emitters() {
        let ours = operations();
        assert_eq!(ours.len(), NPM.len());
        for (cmd, (channel, payload)) in ours.iter().zip(NPM) {
            assert_eq!(cmd.name, "PUBLISH");
            assert_eq!(cmd.arg_str(0), Some(*channel));
            assert_eq!(hex(&cmd.args[1]), *payload, "on {channel}");
        }
    }

    #[test]
    fn rooms_are_kept_once_and_flags_in_first_set_order() {
        let mut t = Targets::default();
        add_rooms(&mut t.rooms, "a");
        add_rooms(&mut t.rooms, vec!["b", "a"]);
        add_rooms(&mut t.except, "c");
        add_rooms(&mut t.except, vec!["c"]);
        t.set_flag("compress", true);
        t.set_flag("volatile", true);
        t.set_flag("compress", false);
        assert_eq!(t.rooms, vec![Room::from("a"), Room::from("b")]);
        assert_eq!(t.except, vec![Room::from("c")]);
        assert_eq!(t.flags, vec![("compress", false), ("volatile", true)]);
    }
}
