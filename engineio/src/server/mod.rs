//! The Engine.IO v4 server: sessions over long-polling and WebSocket, on
//! hyper 1 and tokio-tungstenite.

mod compress;
mod config;
mod cors;
mod deflate;
mod engine;
mod errors;
mod gate;
mod listen;
mod outbox;
mod polling;
mod prefixed;
mod request;
mod service;
mod session;
mod sid;
mod socket;
mod turns;
mod ws;

use std::sync::Arc;

pub use config::{
    AllowRequest, ConnectionErrorHook, Cookie, GenerateId, HeadersHook, Intercept, Middleware,
    MiddlewareOutcome, ServerConfig, TransportType, UnknownTransport,
};
pub use cors::{Cors, CorsOrigin, OriginAnswer, OriginCallback};
pub use errors::{ConnectionError, ErrorCode};
pub use listen::Listener;
pub use prefixed::Prefixed;
pub use request::{parse_query, RemoteAddr, RequestInfo};
pub use service::{EngineIoService, ResponseBody};
pub use session::{Session, SessionEvent, SessionHook};
pub use sid::{SessionId, Sid, MAX_SESSION_ID_LEN};
pub use socket::{DisconnectReason, Handler, Message, SendError, SendOptions, Socket};

use engine::Engine;

/// An Engine.IO server. Cheap to clone; every clone is the same server.
pub struct EngineIo<H: Handler> {
    engine: Arc<Engine<H>>,
}

impl<H: Handler> Clone for EngineIo<H> {
    fn clone(&self) -> Self {
        EngineIo {
            engine: self.engine.clone(),
        }
    }
}

impl<H: Handler> EngineIo<H> {
    /// A server with these options, handing sessions to `handler`.
    pub fn new(config: ServerConfig, handler: H) -> Self {
        EngineIo {
            engine: Arc::new(Engine::new(config, handler)),
        }
    }

    /// The options the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.engine.config
    }

    /// The handler given at creation.
    pub fn handler(&self) -> &H {
        &self.engine.handler
    }

    /// The server as a hyper / tower service, to mount in an existing app.
    pub fn service(&self) -> EngineIoService<H> {
        EngineIoService {
            engine: self.engine.clone(),
        }
    }

    /// Listens on `addr` and serves until [`EngineIo::close`] or the
    /// listener's shutdown; requests outside the path get a 404. On a closed
    /// server it [reopens](Self::reopen) it first, as the reference's
    /// `listen()` after `close()` does.
    pub async fn listen(&self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Listener> {
        let tcp = tokio::net::TcpListener::bind(addr).await?;
        self.engine.reopen();
        Ok(listen::spawn(
            self.service(),
            tcp,
            self.engine.shutdown_token(),
        ))
    }

    /// Accepts new sessions again after [`EngineIo::close`] (needed only by
    /// a server mounted as a [service](Self::service); [`listen`](Self::listen)
    /// does it). The sessions the close ended stay closed, and listeners
    /// made before the close stop once those have drained. Returns false
    /// when the server was not closed.
    pub fn reopen(&self) -> bool {
        self.engine.reopen()
    }

    /// The open session with that id.
    pub fn socket(&self, sid: &str) -> Option<Arc<Socket<H::Data>>> {
        self.engine.get(sid).filter(|s| !s.is_closed())
    }

    /// Every open session.
    pub fn sockets(&self) -> Vec<Arc<Socket<H::Data>>> {
        self.engine
            .sockets()
            .into_iter()
            .filter(|s| !s.is_closed())
            .collect()
    }

    /// Number of sessions, closing ones included.
    pub fn count(&self) -> usize {
        self.engine.count()
    }

    /// Number of sessions opened and not closed yet (the reference's
    /// `clientsCount`): unlike [`count`](Self::count), a session leaves it
    /// as soon as it closes.
    pub fn clients_count(&self) -> usize {
        self.engine.open_count()
    }

    /// Sessions that still owe their client something: open ones, and those
    /// the server closed that wait to hand their last packets to a final
    /// poll. A session the client closed itself is not counted while it
    /// lingers for a poll that may never come.
    pub fn draining_count(&self) -> usize {
        self.engine.draining_count()
    }

    /// Waits until [`draining_count`](Self::draining_count) is 0, at most
    /// `limit`; returns the sessions still draining then (0: all done).
    pub async fn drained(&self, limit: std::time::Duration) -> usize {
        self.engine.drained(limit).await
    }

    /// Closes every session ("server shutting down") and refuses new ones.
    /// A listener keeps serving the closing sessions until each has handed
    /// its last packets to its client (a polling client's final poll may
    /// need a fresh TCP connection), then stops.
    pub fn close(&self) {
        self.engine.close_all();
    }
}
