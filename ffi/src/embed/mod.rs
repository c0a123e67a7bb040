//! The embedding layer: everything a foreign caller (the C API, the Python
//! and Node bindings) needs, in safe Rust.
//!
//! - [`Runtime`]: the tokio runtime everything runs on — a global one, or
//!   one the caller creates with a thread count.
//! - Handles: [`Server`], [`Namespace`], [`Socket`], [`Broadcast`],
//!   [`Client`], [`Emitter`]; one-shot answers [`Ack`] and [`Next`].
//! - Callbacks are plain Rust closures. Where they run is the
//!   [`Dispatch`] of their server or client: on the runtime's threads as
//!   events happen (the default), or inside [`EventQueue::poll`] on a thread
//!   of the caller's, with a file descriptor that is readable while events
//!   wait.
//! - Asynchronous operations (acks, `emit_with_ack`, connect, close,
//!   `fetch_sockets`) take a completion closure, called exactly once when
//!   the operation ends — never from inside the call that started it —
//!   unless the object is dropped first.
//! - Payloads are [`sio_core::Value`] (JSON-like with binary buffers);
//!   [`payload`] converts them to and from JSON text plus buffers.
//!
//! Ordering: the events of one socket (or client) reach their callbacks in
//! the order they arrived, in both dispatch modes; a socket's events are
//! dispatched only after its connection callbacks have returned.

mod admin;
mod broadcast;
mod client;
mod cluster;
mod emitter;
mod error;
mod namespace;
pub mod options;
pub mod payload;
mod queue;
mod runtime;
mod server;
mod socket;

pub use broadcast::{Broadcast, BroadcastReplies, FetchedSocket};
pub use client::{AuthHandler, AuthReply, Client, ClientOptions, ReconnectEvent};
pub use cluster::{RedisFlavour, RedisOptions, ServerSideReply};
pub use emitter::{Emitter, EMITTER_TIMEOUT};
pub use error::Error;
pub use namespace::{DynamicNamespace, Namespace, Next};
pub use options::ServerOptions;
pub use payload::Payload;
pub use queue::{Completion, Dispatch, EventQueue, Job};
pub use runtime::Runtime;
pub use server::{take_fd, Server};
pub use sio_core::client::TransportType;
pub use sio_core::Value;
pub use socket::Socket;

/// Answers one acknowledgement request, once; dropping it answers nothing.
#[derive(Debug)]
pub enum Ack {
    /// A client's request, answered by the server.
    Server(sio_core::AckSender),
    /// A server's request, answered by the client.
    Client(sio_core::client::AckSender),
    /// Another server's `serverSideEmitWithAck`, answered by this one (the
    /// first argument only, as Node keeps it).
    ServerSide(sio_core::adapter::ServerSideAck),
}

impl Ack {
    /// Sends the acknowledgement with these arguments.
    pub fn send(self, args: Vec<Value>) -> Result<(), Error> {
        match self {
            Ack::Server(a) => Ok(a.send(args)?),
            Ack::Client(a) => Ok(a.send(args)?),
            Ack::ServerSide(a) => {
                a.send(args.into_iter().next().unwrap_or(Value::Null));
                Ok(())
            }
        }
    }
}
