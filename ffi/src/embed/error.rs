//! The one error type of the embedding layer, with a stable kind per variant
//! that the C API turns into its status codes.

use sio_core::Value;

/// What went wrong in a call of the embedding layer, or in an asynchronous
/// operation reported to a completion callback.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A bad argument from the caller: a null pointer, text that is not
    /// UTF-8, a payload that is not a JSON array, a placeholder without its
    /// buffer, an out-of-range option.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The call does not fit the object's state (listening twice, emitting
    /// on a client that was never connected...).
    #[error("{0}")]
    State(String),
    /// An operating-system error (binding a port, creating threads).
    #[error("{0}")]
    Io(String),
    /// The socket is disconnected.
    #[error("socket disconnected")]
    Disconnected,
    /// A send buffer is full.
    #[error("send buffer full")]
    Full,
    /// No acknowledgement (or answer) came in time.
    #[error("operation has timed out")]
    Timeout,
    /// The server refused the connection (a middleware's `message`, with its
    /// `data`, or `Invalid namespace`). A server that cannot be reached is
    /// [`Error::Io`].
    #[error("{message}")]
    Refused {
        /// The refusal or failure message.
        message: String,
        /// The data the server attached to its refusal.
        data: Option<Value>,
    },
    /// The object was closed (a freed queue, a closed server).
    #[error("{0}")]
    Closed(String),
    /// A limit was reached (rooms per socket).
    #[error("{0}")]
    Limit(String),
    /// A panic inside the library, caught before it reached the caller.
    #[error("internal error: {0}")]
    Panic(String),
}

impl Error {
    /// A bad-argument error.
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }

    /// A wrong-state error.
    pub fn state(msg: impl Into<String>) -> Error {
        Error::State(msg.into())
    }

    /// The message of a caught panic's payload.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Error {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        Error::Panic(msg)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<sio_core::server::EmitError> for Error {
    fn from(e: sio_core::server::EmitError) -> Self {
        use sio_core::server::EmitError as E;
        match e {
            E::Serialize(e) => Error::InvalidArgument(e.to_string()),
            E::Full => Error::Full,
            E::Disconnected => Error::Disconnected,
        }
    }
}

impl From<sio_core::server::AckError> for Error {
    fn from(e: sio_core::server::AckError) -> Self {
        use sio_core::server::AckError as E;
        match e {
            E::Emit(e) => e.into(),
            E::Timeout => Error::Timeout,
            E::Disconnected => Error::Disconnected,
            E::Deserialize(e) => Error::InvalidArgument(e.to_string()),
        }
    }
}

impl From<sio_core::server::JoinError> for Error {
    fn from(e: sio_core::server::JoinError) -> Self {
        Error::Limit(e.to_string())
    }
}

impl From<sio_core::client::EmitError> for Error {
    fn from(e: sio_core::client::EmitError) -> Self {
        use sio_core::client::EmitError as E;
        match e {
            E::Serialize(e) => Error::InvalidArgument(e.to_string()),
            E::Reserved(name) => {
                Error::InvalidArgument(format!("{name:?} is a reserved event name"))
            }
            E::Full => Error::Full,
            E::Disconnected => Error::Disconnected,
        }
    }
}

impl From<sio_core::client::AckError> for Error {
    fn from(e: sio_core::client::AckError) -> Self {
        use sio_core::client::AckError as E;
        match e {
            E::Emit(e) => e.into(),
            E::Timeout => Error::Timeout,
            E::Disconnected => Error::Disconnected,
            E::Deserialize(e) => Error::InvalidArgument(e.to_string()),
        }
    }
}

impl From<sio_core::client::ConnectError> for Error {
    fn from(e: sio_core::client::ConnectError) -> Self {
        use sio_core::client::ConnectErrorKind as Kind;
        match e.kind {
            Kind::Refused => Error::Refused {
                message: e.message,
                data: e.data,
            },
            Kind::Connection => Error::Io(e.message),
            Kind::Closed => Error::Closed(e.message),
            Kind::Config => Error::InvalidArgument(e.message),
        }
    }
}
