//! Socket.IO v5: the sans-IO protocol core ([`proto`]), adapters
//! ([`adapter`]), the server ([`server`]), the client ([`client`]) and the
//! server side of the Admin UI ([`admin`]).

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
