#![warn(missing_docs)]
//! Engine.IO v4 — the transport layer under Socket.IO — as a sans-IO
//! protocol core ([`proto`]), a server ([`server`]) on hyper 1 and
//! tokio-tungstenite, and a client ([`client`]), each wire-exact with the
//! npm `engine.io` / `engine.io-client` 6.x.
//!
//! Most programs want the `socketio` crate on top; use this one to speak
//! Engine.IO itself (a custom framing, a conformance server, a proxy).
//!
//! # Concepts
//!
//! * A **session** is one client, identified by a 20-character `sid`. It
//!   starts on HTTP long-polling or directly on WebSocket, may *upgrade*
//!   from polling to WebSocket, and is kept alive by the server's `ping`
//!   every `ping_interval`, which the client must answer within
//!   `ping_timeout`.
//! * A **message** ([`Message`]) is text or binary; on polling, several
//!   packets travel in one HTTP body separated by `\x1e`.
//! * **Protocol 3** (Socket.IO v2 clients) is served only with
//!   [`ServerConfig::allow_eio3`]: such a session frames the same packets
//!   the older way ([`proto::v3`]) and its client pings, not the server.
//! * A **handler** ([`Handler`]) is your code: it hears sessions open,
//!   messages arrive and sessions close, and sends through the [`Socket`]
//!   handle it is given. Handlers run on the connection's task and must
//!   not block.
//!
//! # The protocol core
//!
//! [`proto`] does no IO: it turns bytes into packets and back, so the
//! server, the client and tests drive it the same way.
//!
//! ```
//! use engineio::proto::{decode_payload, encode_payload, Packet};
//!
//! let body = encode_payload(&[Packet::Message("hello".into()), Packet::Ping]);
//! assert_eq!(&body[..], b"4hello\x1e2");
//! let back: Vec<Packet> = decode_payload(body).collect::<Result<_, _>>().unwrap();
//! assert_eq!(back, vec![Packet::Message("hello".into()), Packet::Ping]);
//! ```
//!
//! # A server
//!
//! [`EngineIo`] owns the sessions; [`EngineIo::listen`] serves it on its
//! own listener, and [`EngineIo::service`] gives a hyper / tower service to
//! mount under `/engine.io/` in an existing app (axum, hyper).
//!
//! ```no_run
//! use std::sync::Arc;
//! use engineio::server::DisconnectReason;
//! use engineio::{EngineIo, Handler, Message, ServerConfig, Socket};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Data = ();
//!     fn on_connect(&self, _socket: Arc<Socket<()>>) {}
//!     fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
//!         let _ = socket.send(msg);
//!     }
//!     fn on_disconnect(&self, _socket: &Arc<Socket<()>>, _reason: DisconnectReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let mut config = ServerConfig::default();
//! config.ping_interval = std::time::Duration::from_secs(10);
//! let listener = EngineIo::new(config, Echo).listen("127.0.0.1:3000").await?;
//! listener.stopped().await;
//! # Ok(()) }
//! ```
//!
//! The defaults are the reference's, never weaker: without
//! [`server::ServerConfig::cors`] no CORS header is sent, so browsers keep
//! other origins' pages from reading the answers; bodies are capped by
//! `max_http_buffer_size`; every session has its heartbeat deadline. [`server::ServerConfig`] documents each option
//! under the reference's name.
//!
//! # A client
//!
//! [`client::Client::connect`] opens a session (polling first, then the
//! upgrade, as `engine.io-client`) and returns a handle and a stream of
//! [`client::ClientEvent`]s; see the [`client`] module for an example.
//!
//! # Feature flags
//!
//! * `tls`: `https://` and `wss://` in the client (rustls with the `ring`
//!   provider, the platform's or given root certificates).

pub mod client;
pub mod proto;
pub mod server;
mod setters;
pub mod wakes;

pub use proto::Str;
pub use server::{EngineIo, Handler, Message, ServerConfig, Socket};
