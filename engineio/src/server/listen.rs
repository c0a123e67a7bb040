//! The standalone HTTP/1.1 server behind [`super::EngineIo::listen`].

use std::net::SocketAddr;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::request::RemoteAddr;
use super::service::EngineIoService;
use super::socket::Handler;

/// A running listener.
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    /// A second descriptor of the listening socket, through which
    /// [`Listener::stop`] shuts it down: the port is free when `stop`
    /// returns (as after closing a Node `http.Server`), not only once the
    /// accept task has next run.
    #[cfg(unix)]
    socket: Option<std::os::fd::OwnedFd>,
}

impl Listener {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections now: the port is free for another
    /// socket (with `SO_REUSEADDR`, as Node and tokio bind) when it returns.
    /// Open connections and sessions are left to the server. After
    /// [`super::EngineIo::close`] the listener stops by itself once the
    /// closing sessions have drained.
    pub fn stop(&self) {
        self.stop.cancel();
        #[cfg(unix)]
        if let Some(fd) = &self.socket {
            // Out of LISTEN: connection attempts are refused from now on,
            // and the accept task, woken, sees the cancellation first.
            let _ = socket2::SockRef::from(fd).shutdown(std::net::Shutdown::Both);
        }
    }

    /// Waits until the accept loop has ended.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Bounds the drain after a shutdown: closing sessions give up on their
/// final poll well before this (at most 5 s).
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) fn spawn<H: Handler>(
    svc: EngineIoService<H>,
    tcp: TcpListener,
    shutdown: CancellationToken,
) -> Listener {
    let addr = tcp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    #[cfg(unix)]
    let socket = {
        use std::os::fd::AsFd;
        tcp.as_fd().try_clone_to_owned().ok()
    };
    let stop = CancellationToken::new();
    let token = stop.clone();
    let engine = svc.engine.clone();
    let task = tokio::spawn(async move {
        // Once the server shuts down, accept on until the closing sessions
        // have drained: a polling client collects its last packets and the
        // close packet with one more GET, often on a new connection.
        let drained = async {
            shutdown.cancelled().await;
            engine.drained(DRAIN_LIMIT).await
        };
        tokio::pin!(drained);
        loop {
            let (stream, peer) = tokio::select! {
                // A stopped listener's accept fails: the stop comes first.
                biased;
                _ = token.cancelled() => return,
                _ = &mut drained => return,
                r = tcp.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(svc.clone().serve_connection(stream, Some(peer)));
        }
    });
    Listener {
        addr,
        stop,
        task,
        #[cfg(unix)]
        socket,
    }
}

impl<H: Handler> EngineIoService<H> {
    /// Serves one HTTP/1.1 connection, its WebSocket upgrades included,
    /// until it ends: a connection the listener accepted, or one another
    /// server accepted and hands over (wrap it in
    /// [`Prefixed`](super::Prefixed) with what that server already read).
    /// `peer` becomes the requests' remote address.
    pub async fn serve_connection<T>(self, io: T, peer: Option<SocketAddr>)
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let config = &self.engine.config;
        let builder = {
            let mut b = http1::Builder::new();
            b.timer(TokioTimer::new())
                .header_read_timeout(config.header_read_timeout)
                .max_header_size(config.max_header_size);
            b
        };
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                if let Some(peer) = peer {
                    req.extensions_mut().insert(RemoteAddr(peer));
                }
                let svc = self.clone();
                async move { Ok::<_, std::convert::Infallible>(svc.handle(req).await) }
            });
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection error");
        }
    }
}
