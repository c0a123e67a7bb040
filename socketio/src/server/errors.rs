use crate::proto::{Value, ValueError};

/// Why an emit failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The payload could not be turned into Socket.IO values.
    #[error("cannot serialize payload: {0}")]
    Serialize(#[from] ValueError),
    /// The socket's send buffer is full.
    #[error("send buffer full")]
    Full,
    /// The socket is disconnected.
    #[error("socket disconnected")]
    Disconnected,
}

impl From<engineio::server::SendError> for EmitError {
    fn from(e: engineio::server::SendError) -> Self {
        match e {
            // Only volatile sends meet a busy transport; they are dropped
            // as a full buffer drops them.
            engineio::server::SendError::Full | engineio::server::SendError::Busy => {
                EmitError::Full
            }
            engineio::server::SendError::Closed => EmitError::Disconnected,
        }
    }
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
    /// No answer within the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before answering.
    #[error("socket disconnected")]
    Disconnected,
    /// The answer did not match the expected type.
    #[error("cannot deserialize ack: {0}")]
    Deserialize(ValueError),
}

/// Why a socket could not join rooms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The socket would be in more than `max_rooms_per_socket` rooms.
    #[error("a socket may be in at most {max} rooms")]
    TooManyRooms {
        /// The limit.
        max: usize,
    },
}

/// A namespace middleware's refusal; the client receives it as
/// `connect_error` with `message` and `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The error message.
    pub message: String,
    /// Extra data, sent as the `data` field when present.
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data to the refusal.
    pub fn with_data(mut self, data: impl Into<Value>) -> Self {
        self.data = Some(data.into());
        self
    }
}

impl<T: Into<String>> From<T> for ConnectError {
    fn from(message: T) -> Self {
        ConnectError::new(message)
    }
}
