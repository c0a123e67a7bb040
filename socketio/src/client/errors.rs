//! Errors and reasons reported by the client.

use std::fmt;

use crate::proto::{Value, ValueError};

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The payload could not be turned into Socket.IO values.
    #[error("cannot serialize payload: {0}")]
    Serialize(#[from] ValueError),
    /// The event name is one the client reserves for itself (`connect`,
    /// `disconnect`, ...).
    #[error("{0:?} is a reserved event name")]
    Reserved(String),
    /// The send buffer (while disconnected) or the connection's buffer is
    /// full.
    #[error("send buffer full")]
    Full,
    /// An acknowledgement could not be sent: the connection is gone.
    #[error("socket disconnected")]
    Disconnected,
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer within the timeout (after every retry, with `retries`).
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before the answer came.
    #[error("socket has been disconnected")]
    Disconnected,
    /// The answer did not match the expected type.
    #[error("cannot deserialize ack: {0}")]
    Deserialize(ValueError),
}

/// Why a namespace connection failed: the server refused it (`message` and
/// `data` of its CONNECT_ERROR), or the connection to the server failed;
/// [`ConnectError::kind`] tells which.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// The error message.
    pub message: String,
    /// The `data` the server attached, if any.
    pub data: Option<Value>,
    /// Refused by the server, or never reached it.
    pub kind: ConnectErrorKind,
}

/// What kind of failure a [`ConnectError`] is. Callers retry a
/// [`Connection`](ConnectErrorKind::Connection) failure, not a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// The server answered CONNECT_ERROR: a middleware refused, or the
    /// namespace does not exist (`Invalid namespace`).
    Refused,
    /// The server could not be reached or the connection broke before the
    /// namespace joined (network, TLS, HTTP or protocol errors, timeouts).
    Connection,
    /// The client was closed while connecting.
    Closed,
    /// The client's own settings are wrong (URL, auth, headers).
    Config,
}

impl ConnectError {
    pub(crate) fn with_kind(kind: ConnectErrorKind, message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
            kind,
        }
    }

    /// A failure to reach the server or to keep the connection.
    pub(crate) fn connection(message: impl Into<String>) -> ConnectError {
        ConnectError::with_kind(ConnectErrorKind::Connection, message)
    }

    /// A bad client setting.
    pub(crate) fn config(message: impl Into<String>) -> ConnectError {
        ConnectError::with_kind(ConnectErrorKind::Config, message)
    }

    /// The client closed while connecting.
    pub(crate) fn closed() -> ConnectError {
        ConnectError::with_kind(ConnectErrorKind::Closed, "socket closed")
    }

    /// Reads a CONNECT_ERROR payload: `{"message", "data"}` or a string.
    pub(crate) fn from_payload(data: Option<Value>) -> ConnectError {
        match data {
            Some(Value::String(message)) => {
                ConnectError::with_kind(ConnectErrorKind::Refused, message)
            }
            Some(Value::Object(mut o)) => ConnectError {
                message: match o.shift_remove("message") {
                    Some(Value::String(s)) => s,
                    _ => String::new(),
                },
                data: o.shift_remove("data"),
                kind: ConnectErrorKind::Refused,
            },
            _ => ConnectError::with_kind(ConnectErrorKind::Refused, ""),
        }
    }
}

/// Why a socket disconnected, with the reference client's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The server disconnected the socket; the client does not reconnect it.
    IoServerDisconnect,
    /// [`Socket::disconnect`](super::Socket::disconnect) was called.
    IoClientDisconnect,
    /// The server stopped pinging.
    PingTimeout,
    /// The connection was closed (by the server or the network).
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The server sent a packet that could not be decoded.
    ParseError,
    /// The manager was closed.
    ForcedClose,
}

impl DisconnectReason {
    /// The reference's reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
        }
    }

    /// True when the client reconnects by itself after this reason.
    pub fn reconnects(self) -> bool {
        !matches!(
            self,
            DisconnectReason::IoServerDisconnect
                | DisconnectReason::IoClientDisconnect
                | DisconnectReason::ForcedClose
        )
    }

    pub(crate) fn from_engine(reason: &engineio::client::CloseReason) -> DisconnectReason {
        use engineio::client::CloseReason as R;
        match reason {
            R::ForcedClose => DisconnectReason::ForcedClose,
            R::TransportClose => DisconnectReason::TransportClose,
            R::TransportError(_) => DisconnectReason::TransportError,
            R::PingTimeout => DisconnectReason::PingTimeout,
            R::ParseError => DisconnectReason::ParseError,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[test]
    fn connect_error_payloads() {
        let mut o = IndexMap::new();
        o.insert("message".to_owned(), Value::from("nope"));
        o.insert("data".to_owned(), Value::from(3));
        let e = ConnectError::from_payload(Some(Value::Object(o)));
        assert_eq!(e.message, "nope");
        assert_eq!(e.data, Some(Value::from(3)));
        assert_eq!(ConnectError::from_payload(Some("x".into())).message, "x");
        assert_eq!(ConnectError::from_payload(None).message, "");
    }

    #[test]
    fn reasons() {
        assert_eq!(
            DisconnectReason::IoServerDisconnect.to_string(),
            "io server disconnect"
        );
        assert!(DisconnectReason::PingTimeout.reconnects());
        assert!(!DisconnectReason::IoClientDisconnect.reconnects());
    }
}
