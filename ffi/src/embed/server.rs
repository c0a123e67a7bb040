//! [`Server`]: a Socket.IO server for foreign callers — made from
//! [`ServerOptions`], listening, giving out its namespaces, closing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sio_core::SocketIo;

use super::queue::Completion;
use super::queue::Ctx;
use super::{
    cluster, Dispatch, DynamicNamespace, Error, Namespace, Runtime, ServerOptions, Socket,
};

/// A Socket.IO server. Dropping it closes it.
pub struct Server {
    pub(super) io: SocketIo,
    pub(super) ctx: Arc<Ctx>,
    listener: Mutex<Option<engineio::server::Listener>>,
    addr: Mutex<Option<SocketAddr>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &*self.addr.lock())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server, not listening yet.
    pub fn new(opts: ServerOptions) -> Result<Server, Error> {
        let rt = Runtime::or_global(opts.runtime.as_ref())?;
        let dispatch = opts.queue.map(Dispatch::Queue).unwrap_or_default();
        let factory = cluster::Factory::new(&rt, opts.redis.as_ref(), &opts.config)?;
        let io = SocketIo::with_adapter(opts.config.clone(), factory);
        let ctx = Ctx::new(rt, dispatch, opts.config.ack_timeout);
        Ok(Server {
            io,
            ctx,
            listener: Mutex::new(None),
            addr: Mutex::new(None),
        })
    }

    /// Replaces the engine's options (path, ping times, CORS...) before
    /// the server first serves, its namespaces and handlers kept:
    /// socket.io's `attach(srv, opts)`, which gives engine.io its options
    /// then. An error once the server has listened or served a connection.
    pub fn set_engine_config(&self, config: engineio::server::ServerConfig) -> Result<(), Error> {
        if self.io.set_engine_config(config) {
            Ok(())
        } else {
            Err(Error::state(
                "the engine's options are fixed once the server has served",
            ))
        }
    }

    /// Joins the cluster `cluster` names, or goes back to the in-memory
    /// adapter with `None`, until the first client connects: socket.io's
    /// `io.adapter(...)` after the server is made (or attached, or
    /// listening). The adapters replaced are closed (a cluster's leave
    /// it). An error once a client has connected, or if the cluster cannot
    /// be reached (the server keeps its adapter then).
    pub fn set_adapter(&self, cluster: Option<&super::RedisOptions>) -> Result<(), Error> {
        let fixed = || Error::state("the adapter is fixed once a client has connected");
        // Checked again when replacing; here so a cluster is not joined
        // for nothing.
        if self.io.adapter_fixed() {
            return Err(fixed());
        }
        let factory = cluster::Factory::new(&self.ctx.rt, cluster, self.io.config())?;
        let replaced = self.io.set_adapter(factory).ok_or_else(fixed)?;
        self.ctx.rt.block_on(async move {
            for adapter in replaced {
                adapter.close().await;
            }
        })?;
        Ok(())
    }

    /// The core server, for Rust callers that need more.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    /// A handle on a core socket of this server (one reached through
    /// [`Server::io`], e.g. in a dynamic namespace's handlers), dispatching
    /// like the server's own.
    pub fn wrap_socket(&self, socket: Arc<sio_core::Socket>) -> Socket {
        Socket::new(socket, self.ctx.clone())
    }

    /// Binds `addr` (`host:port`; port 0 picks one) and serves; returns the
    /// bound address. One listener per server. After [`Server::close`] it
    /// serves again with the same namespaces and handlers, as socket.io's
    /// `listen()` after `close()` (the clients that were disconnected
    /// reconnect).
    pub fn listen(&self, addr: &str) -> Result<SocketAddr, Error> {
        let mut slot = self.listener.lock();
        if slot.is_some() {
            return Err(Error::state("the server is already listening"));
        }
        let io = self.io.clone();
        let target = addr.to_owned();
        let listener = self
            .ctx
            .rt
            .block_on(async move { io.listen(target.as_str()).await })?
            .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr();
        // The core reopened itself in `listen`; handles work again.
        self.ctx.reopen();
        *slot = Some(listener);
        *self.addr.lock() = Some(bound);
        Ok(bound)
    }

    /// Serves a TCP connection another HTTP server accepted (mounting the
    /// Socket.IO server in a host server): `head` is what the host already
    /// read of it (the request line and headers, maybe more), replayed
    /// first. The connection is this server's from now on, keep-alive
    /// requests and a WebSocket upgrade included; requests outside the
    /// server's path get a 404.
    pub fn serve_stream(&self, stream: std::net::TcpStream, head: &[u8]) -> Result<(), Error> {
        let peer = stream.peer_addr().ok();
        self.serve_stream_from(stream, head, peer)
    }

    /// [`Server::serve_stream`] for a connection whose client is `peer`
    /// rather than the connection's own peer: the address a host server
    /// took from a trusted proxy's `X-Forwarded-For`, which the sockets'
    /// handshakes then report as the host's own requests do.
    pub fn serve_stream_from(
        &self,
        stream: std::net::TcpStream,
        head: &[u8],
        peer: Option<std::net::SocketAddr>,
    ) -> Result<(), Error> {
        if self.ctx.is_closed() {
            return Err(Error::Closed("the server is closed".into()));
        }
        stream
            .set_nonblocking(true)
            .map_err(|e| Error::Io(format!("cannot serve the connection: {e}")))?;
        let _ = stream.set_nodelay(true);
        let io = self
            .ctx
            .rt
            .enter(|| tokio::net::TcpStream::from_std(stream))
            .map_err(|e| Error::Io(format!("cannot serve the connection: {e}")))?;
        let io = engineio::server::Prefixed::new(bytes::Bytes::copy_from_slice(head), io);
        self.ctx
            .rt
            .spawn(self.io.service().serve_connection(io, peer));
        Ok(())
    }

    /// Stops accepting connections now; open connections (and the sessions
    /// on them) go on. Before [`Server::close`], this frees the port at once,
    /// as closing a Node `http.Server` does.
    pub fn stop_accepting(&self) {
        if let Some(l) = self.listener.lock().as_ref() {
            l.stop();
        }
    }

    /// The address [`Server::listen`] bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        *self.addr.lock()
    }

    /// The namespace `name` (`/` is the main one), created if needed.
    pub fn of(&self, name: &str) -> Namespace {
        Namespace {
            ns: self.io.of(name),
            ctx: self.ctx.clone(),
        }
    }

    /// A parent namespace for every name matching the regular expression
    /// `pattern` (e.g. `^/room-\d+$`).
    pub fn of_regex(&self, pattern: &str) -> Result<DynamicNamespace, Error> {
        let parent = self
            .io
            .of_regex(pattern)
            .map_err(|e| Error::invalid(format!("bad namespace pattern: {e}")))?;
        Ok(DynamicNamespace {
            parent,
            ctx: self.ctx.clone(),
        })
    }

    /// A parent namespace for every name `matcher` accepts. The matcher runs
    /// on a runtime thread, in both dispatch modes (a connection waits for
    /// it): keep it quick.
    pub fn of_dynamic(
        &self,
        matcher: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> DynamicNamespace {
        DynamicNamespace {
            parent: self.io.of_dynamic(matcher),
            ctx: self.ctx.clone(),
        }
    }

    /// A parent namespace for every name `matcher` accepts, given the
    /// CONNECT's `auth` too (`{}` when the client sent none), as the
    /// reference's `io.of((name, auth, next) => ...)`. Runs as
    /// [`of_dynamic`](Self::of_dynamic)'s matcher does.
    pub fn of_dynamic_with_auth(
        &self,
        matcher: impl Fn(&str, &sio_core::Value) -> bool + Send + Sync + 'static,
    ) -> DynamicNamespace {
        DynamicNamespace {
            parent: self.io.of_dynamic_with_auth(matcher),
            ctx: self.ctx.clone(),
        }
    }

    /// Stops listening and disconnects every client ("server shutting
    /// down"). `done`, if given, is called once the listener has stopped and
    /// the sessions are gone (at most 5 s later).
    pub fn close(&self, done: Option<Completion<()>>) {
        self.ctx.close();
        self.io.close();
        let listener = self.listener.lock().take();
        let Some(done) = done else { return };
        let io = self.io.clone();
        self.ctx.complete(
            async move {
                // Waits for the sessions to drain (without closing again: the
                // server may be listening anew by then). The listener serves
                // their final polls, then stops by itself.
                io.drained(Duration::from_secs(5)).await;
                if let Some(l) = listener {
                    l.stopped().await;
                }
            },
            move |()| done(Ok(())),
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close(None);
    }
}

/// Owns the caller's connected TCP socket `fd`, for
/// [`Server::serve_stream`]: what the C API and the bindings' take-overs
/// hand in.
///
/// # Safety
/// `fd` must be an open descriptor that the caller neither uses nor
/// closes afterwards.
#[cfg(unix)]
pub unsafe fn take_fd(fd: i32) -> Result<std::net::TcpStream, Error> {
    use std::os::fd::FromRawFd;
    if fd < 0 {
        return Err(Error::invalid(format!("bad file descriptor {fd}")));
    }
    Ok(std::net::TcpStream::from_raw_fd(fd))
}

/// Descriptors are a POSIX thing: an error elsewhere.
///
/// # Safety
/// None needed; unsafe as its POSIX twin.
#[cfg(not(unix))]
pub unsafe fn take_fd(_fd: i32) -> Result<std::net::TcpStream, Error> {
    Err(Error::invalid(
        "serving a file descriptor needs a POSIX system",
    ))
}
