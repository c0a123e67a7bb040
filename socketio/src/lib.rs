#![warn(missing_docs)]
//! Socket.IO v5 in Rust: a server and a client wire-exact with the npm
//! `socket.io` / `socket.io-client` 4.x, on the Engine.IO v4 transport of
//! the `engineio` crate. A Rust server serves the official JavaScript,
//! Python, Java, Swift and C++ clients; the Rust client talks to any
//! Socket.IO v5 server; Rust and Node servers share one cluster through
//! the official Redis adapters.
//!
//! # Concepts
//!
//! * A **connection** is one Engine.IO session (polling or WebSocket). On
//!   it, a client joins one or more **namespaces** (`/`, `/admin`, …),
//!   each giving it a [`Socket`] with its own id, handlers and rooms.
//! * An **event** is a name and a list of arguments ([`Value`]s: JSON
//!   plus binary). An event may ask for an **acknowledgement**: the other
//!   side answers it once, with arguments of its own.
//! * A **room** is a set of sockets of one namespace. Every socket is in
//!   its own room (its id); broadcasts address rooms, minus excepted ones.
//! * An **adapter** keeps the rooms and delivers broadcasts. The in-memory
//!   one serves one process; a cluster adapter (`adapter::redis`, feature `redis`)
//!   carries broadcasts, room changes and queries to the other servers.
//! * The **parser** turns packets into Engine.IO messages: JSON text
//!   (the default) or msgpack ([`server::ParserKind`]), as socket.io's.
//!
//! # A server
//!
//! ```no_run
//! use socketio::{ServerConfig, SocketIo};
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_connection(|socket| {
//!     socket.join("lobby");
//!     // Relay to the room, and answer the sender's acknowledgement.
//!     socket.on("chat", |socket, args, ack| {
//!         let _ = socket.to("lobby").emit_args("chat", args.clone());
//!         if let Some(ack) = ack {
//!             let _ = ack.send(args);
//!         }
//!     });
//! });
//! let listener = io.listen("127.0.0.1:3000").await?;
//! listener.stopped().await;
//! # Ok(()) }
//! ```
//!
//! [`SocketIo::service`] gives a hyper / tower service instead, to mount
//! under `/socket.io/` in an existing app (the repository's
//! `socketio/examples/chat.rs` mounts it in axum).
//!
//! What socket.io users know is here under the same names:
//! [`SocketIo::of`] for namespaces (and [`SocketIo::of_dynamic`] /
//! [`SocketIo::of_regex`] for dynamic ones), `use_middleware` to accept or
//! refuse a connection with a [`ConnectError`], [`Socket::on`] /
//! [`Socket::on_typed`] / [`Socket::on_async`] for events,
//! [`Socket::emit_with_ack`] to ask a client, `to` / `except` /
//! `broadcast` / `local` / `volatile` / `timeout` on a
//! [`BroadcastOperator`], `fetch_sockets`, `sockets_join`,
//! `disconnect_sockets`, [`SocketIo::server_side_emit`], and connection
//! state recovery ([`server::RecoveryConfig`]).
//!
//! # Server and client together
//!
//! The client ([`client`]) mirrors `socket.io-client`: a
//! [`client::ClientBuilder`] for the options and handlers, a
//! [`client::Socket`] to emit, acknowledgements with a timeout, automatic
//! reconnection with backoff, several namespaces over one connection.
//! This example runs as a test: a server on a free port, a client asking
//! it a question.
//!
//! ```
//! use std::time::Duration;
//! use socketio::client::ClientBuilder;
//! use socketio::{ServerConfig, SocketIo, Value};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 1)]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_connection(|socket| {
//!     socket.on("add", |_socket, args, ack| {
//!         let sum: i64 = args.iter().filter_map(Value::as_i64).sum();
//!         if let Some(ack) = ack {
//!             let _ = ack.send(vec![Value::from(sum)]);
//!         }
//!     });
//! });
//! let listener = io.listen("127.0.0.1:0").await.unwrap();
//!
//! let url = format!("http://{}", listener.local_addr());
//! let socket = ClientBuilder::new(url).connect().await.unwrap();
//! let answer = socket
//!     .timeout(Duration::from_secs(5))
//!     .emit_with_ack_args("add", vec![Value::from(2), Value::from(3)])
//!     .await
//!     .unwrap();
//! assert_eq!(answer, vec![Value::from(5)]);
//! socket.disconnect();
//! io.close();
//! # }
//! ```
//!
//! # Scaling out
//!
//! With the `redis` feature, `adapter::redis` joins servers into a
//! cluster over Redis, speaking the protocol of the official Node adapter
//! (`@socket.io/redis-adapter`, its sharded variant for Redis 7, or
//! `@socket.io/redis-streams-adapter` with recovery across servers), so
//! Rust and Node servers can serve one application together:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis::RedisAdapterFactory;
//! use socketio::{ServerConfig, SocketIo};
//!
//! let factory = RedisAdapterFactory::new("redis://127.0.0.1:6379").await?;
//! let io = SocketIo::with_adapter(ServerConfig::default(), factory);
//! // Reaches the clients of every server in the cluster.
//! io.to("lobby").emit("news", "hello")?;
//! # Ok(()) }
//! ```
//!
//! With the `postgres` feature, `adapter::postgres` does the same over
//! PostgreSQL's LISTEN/NOTIFY, as `@socket.io/postgres-adapter` does, for
//! applications that run PostgreSQL and no Redis.
//!
//! # The protocol core
//!
//! [`proto`] is sans-IO: packets in, strings and buffers out, encoded
//! exactly as npm `socket.io-parser` does.
//!
//! ```
//! use socketio::proto::{encode, Packet, Value};
//!
//! let packet = Packet::event("/", vec![Value::from("chat"), Value::from("hi")]);
//! assert_eq!(encode(&packet).text, r#"2["chat","hi"]"#);
//! ```
//!
//! # Also here
//!
//! * [`admin`]: the server side of the Socket.IO Admin UI
//!   (`@socket.io/admin-ui`), with its authentication and read-only mode.
//! * [`ClientBundle`]: serves the browser client as socket.io's
//!   `serveClient` does.
//! * Limits with the reference's defaults (`max_http_buffer_size`,
//!   attachments per packet, namespaces per connection, rooms per socket)
//!   and a connect timeout for connections that never join a namespace.

pub mod adapter;
pub mod client;
mod codec;
pub mod proto;
pub mod server;
mod wire;

pub use proto::Value;
pub use server::admin;
pub use server::{
    AckSender, BroadcastOperator, ClientBundle, ClusterAcks, ConnectError, DisconnectReason,
    FetchedSocket, Namespace, ServerConfig, Socket, SocketIo,
};
