//! The Socket.IO v5 client, on par with the npm `socket.io-client`:
//! namespaces multiplexed over one connection, acknowledgements both ways,
//! reconnection with the reference backoff, a send buffer while
//! disconnected, `retries`, and connection state recovery.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::client::ClientBuilder;
//!
//! let socket = ClientBuilder::new("http://localhost:3000")
//!     .on("chat", |socket, args| {
//!         println!("{:?} says {args:?}", socket.id());
//!     })
//!     .on_disconnect(|_, reason| println!("disconnected: {reason}"))
//!     .connect()
//!     .await?;
//! socket.emit("chat", &"hello")?;
//! let reply = socket.timeout(std::time::Duration::from_secs(5)).emit_with_ack("ping", &()).await?;
//! # Ok(()) }
//! ```
//!
//! Layout: [`Manager`] owns one Engine.IO connection and a task that routes
//! incoming packets to each namespace's [`Socket`], in order, and runs the
//! reconnection loop ([`Backoff`] is the reference's, number for number).
//! Handlers run on that task: keep them short, spawn for slow work.

mod ack;
mod backoff;
mod builder;
mod config;
mod emit;
mod engine_events;
mod errors;
mod handlers;
mod manager;
mod queue;
mod socket;
mod task;

pub use ack::AckSender;
pub use backoff::Backoff;
pub use builder::ClientBuilder;
pub use config::{Auth, AuthFn, AuthFuture, ManagerConfig, SocketConfig};
pub use emit::Emitter;
pub use engine_events::EngineEvent;
pub use errors::{AckError, ConnectError, ConnectErrorKind, DisconnectReason, EmitError};
pub use handlers::{
    AnyListener, AttemptHandler, CloseHandler, ConnectErrorHandler, ConnectHandler,
    DisconnectHandler, EngineHandler, ErrorHandler, EventHandler, FallbackHandler, SignalHandler,
};
pub use manager::Manager;
pub use socket::Socket;

pub use engineio::client::TransportType;
