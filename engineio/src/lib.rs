//! Engine.IO v4: the sans-IO protocol core ([`proto`]) and a server
//! ([`server`]) on hyper 1 and tokio-tungstenite.

pub mod client;
pub mod proto;
pub mod server;

pub use proto::Str;
pub use server::{EngineIo, Handler, Message, ServerConfig, Socket};
