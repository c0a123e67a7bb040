//! Sessions as the server's hooks see them: without the layer above's data.

use std::sync::Arc;

use super::config::TransportType;
use super::request::RequestInfo;
use super::sid::SessionId;
use super::socket::{DisconnectReason, Message, SendError, Socket};
use crate::proto::Packet;

/// An Engine.IO session without the type of the layer above's data: what
/// [`ServerConfig::on_session`](super::ServerConfig::on_session) is given.
/// Implemented by every [`Socket`].
pub trait Session: Send + Sync + 'static {
    /// The session id.
    fn id(&self) -> SessionId;
    /// The transport currently carrying the session.
    fn transport(&self) -> TransportType;
    /// The request that opened the session.
    fn req(&self) -> &RequestInfo;
    /// Whether the session has ended.
    fn is_closed(&self) -> bool;
    /// Why the session ended, once it has.
    fn disconnect_reason(&self) -> Option<DisconnectReason>;
    /// Closes the session ("forced close").
    fn close(&self);
    /// Queues a message, as [`Socket::send`].
    fn send(&self, msg: Message) -> Result<(), SendError>;
}

impl<D: Send + Sync + 'static> Session for Socket<D> {
    fn id(&self) -> SessionId {
        Socket::id(self)
    }

    fn transport(&self) -> TransportType {
        Socket::transport(self)
    }

    fn req(&self) -> &RequestInfo {
        Socket::req(self)
    }

    fn is_closed(&self) -> bool {
        Socket::is_closed(self)
    }

    fn disconnect_reason(&self) -> Option<DisconnectReason> {
        Socket::disconnect_reason(self)
    }

    fn close(&self) {
        Socket::close(self)
    }

    fn send(&self, msg: Message) -> Result<(), SendError> {
        Socket::send(self, msg)
    }
}

/// What happened to a session, for
/// [`ServerConfig::on_session`](super::ServerConfig::on_session): the
/// reference server's `connection` event and its sockets' `upgrade`,
/// `packet`, `packetCreate` and `close`.
#[derive(Debug)]
pub enum SessionEvent<'a> {
    /// The session opened; the [`Handler`](super::Handler) has been told.
    Open,
    /// The session moved from long-polling to WebSocket.
    Upgrade,
    /// A packet arrived from the client, before the server acts on it.
    Packet(&'a Packet),
    /// A packet is being written to the client (the reference's
    /// `packetCreate`), with whether the transport may compress it.
    PacketCreate(&'a Packet, bool),
    /// The session closed; the [`Handler`](super::Handler) has been told.
    Close(DisconnectReason),
}

/// Called with every [`SessionEvent`] of every session, on the task serving
/// the session; it must not block.
pub type SessionHook = Arc<dyn Fn(&Arc<dyn Session>, SessionEvent<'_>) + Send + Sync>;
