//! [`Emitter`]: publishes to the clients of a cluster of servers on the
//! classic Redis adapter from a process that is not a server, as
//! `@socket.io/redis-emitter` does. Every call blocks until Redis took the
//! message or failed (at most the emitter's timeout).

use std::time::Duration;

use sio_core::adapter::redis::{
    Emitter as CoreEmitter, EmitterConfig, EmitterError, EmitterOperator,
};
use sio_core::Value;

use super::{Error, Runtime};

/// How long connecting, and then each operation, may wait for Redis.
pub const EMITTER_TIMEOUT: Duration = Duration::from_secs(5);

/// An emitter on one namespace, with the rooms and flags chosen so far.
/// Cheap to clone; clones share the Redis connection.
#[derive(Clone)]
pub struct Emitter {
    emitter: CoreEmitter,
    op: EmitterOperator,
    rt: Runtime,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

impl From<EmitterError> for Error {
    fn from(e: EmitterError) -> Self {
        match e {
            EmitterError::Timeout => Error::Timeout,
            EmitterError::Redis(e) => Error::Io(format!("redis: {e}")),
            other => Error::InvalidArgument(other.to_string()),
        }
    }
}

impl Emitter {
    /// Connects to the Redis at `url` with channel prefix `key` (default
    /// `socket.io`), on the main namespace; blocks for at most
    /// [`EMITTER_TIMEOUT`]. Failing to connect, timeout included, is
    /// [`Error::Io`].
    pub fn connect(rt: &Runtime, url: &str, key: Option<&str>) -> Result<Emitter, Error> {
        let mut config = EmitterConfig::default().timeout(EMITTER_TIMEOUT);
        if let Some(key) = key {
            config.key = key.to_owned();
        }
        let url = url.to_owned();
        let emitter = rt
            .block_on(async move { CoreEmitter::connect(&url, config).await })?
            .map_err(|e| Error::Io(format!("cannot reach Redis: {e}")))?;
        Ok(Emitter {
            op: emitter.broadcast(),
            emitter,
            rt: rt.clone(),
        })
    }

    /// The emitter of namespace `nsp` (a leading `/` is added when
    /// missing), with no rooms or flags, on the same connection.
    pub fn of(&self, nsp: &str) -> Emitter {
        let emitter = self.emitter.of(nsp);
        Emitter {
            op: emitter.broadcast(),
            emitter,
            rt: self.rt.clone(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.emitter.namespace()
    }

    fn map(mut self, f: impl FnOnce(EmitterOperator) -> EmitterOperator) -> Self {
        self.op = f(self.op);
        self
    }

    /// Adds a target room.
    pub fn to(self, room: &str) -> Self {
        self.map(|o| o.to(room))
    }

    /// Excludes a room.
    pub fn except(self, room: &str) -> Self {
        self.map(|o| o.except(room))
    }

    /// The events may be dropped for clients that are not ready for them.
    pub fn volatile(self) -> Self {
        self.map(EmitterOperator::volatile)
    }

    /// The compress flag the servers apply (`false`: uncompressed).
    pub fn compress(self, on: bool) -> Self {
        self.map(|o| o.compress(on))
    }

    fn wait<F>(&self, fut: F) -> Result<(), Error>
    where
        F: std::future::Future<Output = Result<(), EmitterError>>,
    {
        Ok(self.rt.block_on(fut)??)
    }

    /// Emits to the matching clients of every server.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        self.wait(self.op.emit_args(event, args))
    }

    /// Makes the matching sockets join `rooms` (one request).
    pub fn sockets_join(&self, rooms: &[&str]) -> Result<(), Error> {
        self.wait(self.op.sockets_join(rooms.to_vec()))
    }

    /// Makes the matching sockets leave `rooms` (one request).
    pub fn sockets_leave(&self, rooms: &[&str]) -> Result<(), Error> {
        self.wait(self.op.sockets_leave(rooms.to_vec()))
    }

    /// Disconnects the matching sockets; with `close`, their connections.
    pub fn disconnect_sockets(&self, close: bool) -> Result<(), Error> {
        self.wait(self.op.disconnect_sockets(close))
    }

    /// Sends an event to the servers of the namespace (their server-side
    /// handlers); no answers.
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        self.wait(self.emitter.server_side_emit(event, args))
    }
}
