use engineio::server::DisconnectReason as EngineReason;

/// Why a socket disconnected, with the reference's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The connection was closed (the user closed the page, lost network).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client stopped answering pings.
    PingTimeout,
    /// The client sent a packet the server could not decode.
    ParseError,
    /// The Engine.IO session was closed by the server.
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The socket was disconnected with `disconnect(true)`.
    ForcedServerClose,
    /// The socket was disconnected with `disconnect(false)`.
    ServerNamespaceDisconnect,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
}

impl DisconnectReason {
    /// Whether connection state recovery keeps the session for a reconnect.
    pub fn is_recoverable(self) -> bool {
        !matches!(
            self,
            DisconnectReason::ParseError
                | DisconnectReason::ServerNamespaceDisconnect
                | DisconnectReason::ClientNamespaceDisconnect
        )
    }

    /// The reference's reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
        }
    }
}

impl From<EngineReason> for DisconnectReason {
    fn from(r: EngineReason) -> Self {
        match r {
            EngineReason::TransportClose => DisconnectReason::TransportClose,
            EngineReason::TransportError => DisconnectReason::TransportError,
            EngineReason::PingTimeout => DisconnectReason::PingTimeout,
            EngineReason::ParseError => DisconnectReason::ParseError,
            EngineReason::ForcedClose => DisconnectReason::ForcedClose,
            EngineReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
