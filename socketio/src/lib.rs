//! Socket.IO v5: the sans-IO protocol core ([`proto`]), adapters
//! ([`adapter`]) and the server ([`server`]).

pub mod adapter;
pub mod client;
pub mod proto;
pub mod server;

pub use proto::Value;
pub use server::{
    AckSender, BroadcastOperator, ConnectError, DisconnectReason, Namespace, ServerConfig, Socket,
    SocketIo,
};
