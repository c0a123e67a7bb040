//! Why a connection could not open, and why an open one ended.

use std::fmt;

/// A failure to open a connection, or of a transport once open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The URL could not be used.
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    /// The `transports` option is empty.
    #[error("no transports available")]
    NoTransports,
    /// The HTTP request could not be made (connection refused, reset...).
    #[error("http request failed: {0}")]
    Http(String),
    /// The server answered with an error status, with the Engine.IO error
    /// code and message of its JSON body when there was one.
    #[error("server answered HTTP {status}: {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// Engine.IO error code (`0` transport unknown ... `5` unsupported
        /// protocol version).
        code: Option<u64>,
        /// The error message, or the raw body.
        message: String,
    },
    /// The WebSocket connection failed.
    #[error("websocket error: {0}")]
    WebSocket(String),
    /// The server sent something that is not Engine.IO v4.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No handshake within the connect timeout.
    #[error("timeout")]
    Timeout,
    /// TLS failed: an untrusted or invalid server certificate, a failed
    /// handshake, or unusable TLS settings (bad PEM roots).
    #[error("tls error: {0}")]
    Tls(String),
    /// TLS (`https` / `wss`) is not available in this build (the `tls`
    /// feature is off).
    #[error("TLS is not supported by this build")]
    TlsUnsupported,
}

/// Why a connection ended, with the reference client's reason strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// [`Client::close`](super::Client::close) was called, or every handle
    /// was dropped.
    ForcedClose,
    /// The server closed the connection (a close packet or the WebSocket
    /// closing).
    TransportClose,
    /// A transport failed; the text says how.
    TransportError(String),
    /// No ping from the server within `pingInterval + pingTimeout`.
    PingTimeout,
    /// The server sent a packet that could not be decoded.
    ParseError,
}

impl CloseReason {
    /// The reference's reason string (`"transport close"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::ForcedClose => "forced close",
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError(_) => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::TransportError(e) => write!(f, "transport error: {e}"),
            other => f.write_str(other.as_str()),
        }
    }
}
