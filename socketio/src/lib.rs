//! Socket.IO v5: the sans-IO protocol core ([`proto`]), adapters
//! ([`adapter`]), the server ([`server`]) and the client ([`client`]).

pub mod adapter;
pub mod client;
mod codec;
pub mod proto;
pub mod server;

pub use proto::Value;
pub use server::{
    AckSender, BroadcastOperator, ClientBundle, ClusterAcks, ConnectError, DisconnectReason,
    FetchedSocket, Namespace, ServerConfig, Socket, SocketIo,
};
