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

    /// Stops accepting connections; open sessions are left to the server.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Waits until the accept loop has ended.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

pub(crate) fn spawn<H: Handler>(
    svc: EngineIoService<H>,
    tcp: TcpListener,
    shutdown: CancellationToken,
) -> Listener {
    let addr = tcp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let stop = shutdown.child_token();
    let header_read_timeout = svc.engine.config.header_read_timeout;
    let max_header_size = svc.engine.config.max_header_size;
    let token = stop.clone();
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = token.cancelled() => return,
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
