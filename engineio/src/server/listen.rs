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
}

impl Listener {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections now; open sessions are left to the
    /// server. After [`super::EngineIo::close`] the listener stops by itself
    /// once the closing sessions have drained.
    pub fn stop(&self) {
        self.stop.cancel();
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
    let stop = CancellationToken::new();
    let header_read_timeout = svc.engine.config.header_read_timeout;
    let max_header_size = svc.engine.config.max_header_size;
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
            let svc = svc.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(RemoteAddr(peer));
                        let svc = svc.clone();
                        async move { Ok::<_, std::convert::Infallible>(svc.handle(req).await) }
                    },
                );
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout)
                    .max_header_size(max_header_size)
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection error");
                }
            });
        }
    });
    Listener { addr, stop, task }
}
