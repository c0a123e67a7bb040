//! [`ServerOptions`]: what a [`Server`](super::Server) is made with.

use sio_core::server::ParserKind;
use sio_core::ServerConfig;

use super::{Error, EventQueue, RedisOptions, Runtime};

/// Options of a [`Server`].
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The Socket.IO (and Engine.IO) options.
    pub config: ServerConfig,
    /// The runtime to run on; `None`: the global one.
    pub runtime: Option<Runtime>,
    /// Run callbacks inside this queue's [`EventQueue::poll`] instead of on
    /// the runtime's threads.
    pub queue: Option<EventQueue>,
    /// Join a cluster through Redis instead of the in-memory adapter.
    pub redis: Option<RedisOptions>,
}

impl ServerOptions {
    /// Selects the msgpack parser (`socket.io-msgpack-parser` peers).
    pub fn msgpack(&mut self, on: bool) {
        self.config.parser = if on {
            ParserKind::MsgPack
        } else {
            ParserKind::Default
        };
    }

    /// Serves the official browser client under the server's path, as
    /// socket.io's `serveClient` (see [`sio_core::ClientBundle`]): `dir` is
    /// the directory of the npm package `socket.io-client` (or its `dist/`),
    /// read now; `None` stops serving it (the default). A directory without
    /// the files is an [`Error::Io`] naming what is missing.
    pub fn serve_client(&mut self, dir: Option<&std::path::Path>) -> Result<(), Error> {
        self.config.serve_client = dir
            .map(sio_core::ClientBundle::load)
            .transpose()
            .map_err(|e| Error::Io(e.to_string()))?;
        Ok(())
    }
}
