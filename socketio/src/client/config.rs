//! Options of the manager (one Engine.IO connection) and of its sockets
//! (one per namespace), named after socket.io-client's.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::codec::ParserKind;
use crate::proto::Value;

/// Options of a [`Manager`](super::Manager); the defaults are the
/// reference's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// The Engine.IO options; `path` defaults to `/socket.io`.
    pub engine: engineio::client::ClientConfig,
    /// Reconnects after a lost connection (`reconnection`, default true).
    pub reconnection: bool,
    /// Attempts before giving up (`reconnectionAttempts`, default
    /// unlimited: `u32::MAX`).
    pub reconnection_attempts: u32,
    /// First delay between attempts (`reconnectionDelay`, default 1 s).
    pub reconnection_delay: Duration,
    /// Longest delay between attempts (`reconnectionDelayMax`, default 5 s).
    pub reconnection_delay_max: Duration,
    /// Jitter of the delays, 0 to 1 (`randomizationFactor`, default 0.5).
    pub randomization_factor: f64,
    /// Longest wait for each connection attempt (`timeout`, default 20 s).
    pub timeout: Duration,
    /// Most binary attachments an incoming packet may carry (default 10).
    pub max_attachments: usize,
    /// The Socket.IO parser; the server must use the same (default: JSON
    /// text with binary attachments).
    pub parser: ParserKind,
}

engineio::__option_setters!(ManagerConfig {
    reconnection: bool,
    reconnection_attempts: u32,
    reconnection_delay: Duration,
    reconnection_delay_max: Duration,
    randomization_factor: f64,
    timeout: Duration,
    max_attachments: usize,
    parser: ParserKind,
});

impl ManagerConfig {
    /// Edits the Engine.IO client options, builder style, starting from
    /// this configuration's own (whose `path` is `/socket.io`):
    /// `ManagerConfig::default().engine(|e| e.upgrade(false))`.
    #[must_use]
    pub fn engine(
        mut self,
        edit: impl FnOnce(engineio::client::ClientConfig) -> engineio::client::ClientConfig,
    ) -> Self {
        self.engine = edit(self.engine);
        self
    }
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            engine: engineio::client::ClientConfig::default().path("/socket.io"),
            reconnection: true,
            reconnection_attempts: u32::MAX,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Duration::from_millis(20_000),
            max_attachments: 10,
            parser: ParserKind::Default,
        }
    }
}

/// Produces the CONNECT payload on every (re)connection.
pub type AuthFn = Arc<dyn Fn() -> Option<Value> + Send + Sync>;

/// Starts producing the CONNECT payload on every (re)connection: the
/// future answers the payload, or why there is none.
pub type AuthFuture = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Option<Value>, String>> + Send>> + Send + Sync,
>;

/// The CONNECT payload (`auth`): the server's `socket.handshake.auth`.
#[derive(Clone, Default)]
pub enum Auth {
    /// No payload (the server sees `{}`).
    #[default]
    None,
    /// The same object on every connection.
    Static(Value),
    /// Asked anew on every connection and reconnection, e.g. for a token
    /// that expires.
    Callback(AuthFn),
    /// Asked anew on every connection and reconnection, answering later
    /// (socket.io-client's `auth(cb)` may call `cb` whenever it likes), e.g.
    /// from another thread or language. The namespace's CONNECT waits for
    /// the answer, the manager and its other namespaces do not. No answer
    /// within the manager's `timeout`, or an error, fails the attempt: the
    /// socket gets a [`ConnectError`](super::ConnectError) of kind
    /// [`Config`](super::ConnectErrorKind::Config) and stays disconnected
    /// until connected again, as after a refusal.
    Deferred(AuthFuture),
}

impl Auth {
    pub(crate) fn get(&self) -> Option<Value> {
        match self {
            Auth::None => None,
            Auth::Static(v) => Some(v.clone()),
            Auth::Callback(f) => f(),
            // Asked by the socket, which waits for it on a task of its own.
            Auth::Deferred(_) => None,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Static(v) => f.debug_tuple("Static").field(v).finish(),
            Auth::Callback(_) => f.write_str("Callback(..)"),
            Auth::Deferred(_) => f.write_str("Deferred(..)"),
        }
    }
}

/// Options of one [`Socket`](super::Socket).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SocketConfig {
    /// The CONNECT payload.
    pub auth: Auth,
    /// Sends every event through a queue, one at a time, each retried up to
    /// this many times until the server acknowledges it (`retries`).
    pub retries: Option<u32>,
    /// Default wait for acknowledgements (`ackTimeout`; none by default).
    pub ack_timeout: Option<Duration>,
    /// Emits held while disconnected before emitting fails with
    /// [`EmitError::Full`](super::EmitError::Full) (default 4096).
    pub send_buffer: usize,
    /// Events held when they arrive before the namespace is connected (the
    /// missed events of a recovered session; default 4096).
    pub receive_buffer: usize,
}

engineio::__option_setters!(SocketConfig {
    auth: Auth,
    retries: Option<u32>,
    ack_timeout: Option<Duration>,
    send_buffer: usize,
    receive_buffer: usize,
});

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            auth: Auth::None,
            retries: None,
            ack_timeout: None,
            send_buffer: 4096,
            receive_buffer: 4096,
        }
    }
}
