//! Socket.IO under a WSGI server (gunicorn's threaded workers, werkzeug):
//! the WSGI worker thread blocks, with the interpreter released, while the
//! Engine.IO service answers its request in-process ([`HttpCall`]: long-
//! polling) or serves the WebSocket connection on the WSGI server's own
//! socket, taken over for the connection's lifetime ([`WsgiSocket`]).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::Bytes;
use engineio::server::Prefixed;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::AbortHandle;

use crate::asgi::HttpRequest;

type Service = engineio::server::EngineIoService<sio_core::server::SioHandler>;

/// An answer as the WSGI app hands it to `start_response`.
type Answer = (u16, Vec<(String, Bytes)>, Bytes);

fn slice(timeout: f64) -> Duration {
    Duration::from_secs_f64(timeout.clamp(0.0, 3600.0))
}

/// One HTTP request (long-polling) being answered by the engine; the WSGI
/// worker thread waits for it in slices, checking between them that its
/// client is still there.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct HttpCall {
    rx: Mutex<mpsc::Receiver<Answer>>,
    task: AbortHandle,
}

#[pymethods]
impl HttpCall {
    /// Waits up to `timeout` seconds with the interpreter released; returns
    /// `(status, [(name, value)], body)`, or `None` if the time ran out.
    fn wait<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let r = py.detach(|| self.rx.lock().recv_timeout(slice(timeout)));
        let (status, headers, body) = match r {
            Ok(a) => a,
            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the request was cancelled"))
            }
        };
        let list = PyList::empty(py);
        for (k, v) in &headers {
            list.append((k.as_str(), PyBytes::new(py, v)))?;
        }
        Ok(Some(
            (status, list, PyBytes::new(py, &body)).into_pyobject(py)?,
        ))
    }

    /// The client went away: drops the engine's request (an abandoned
    /// long-polling GET ends its session, as when a client leaves
    /// `listen()`'s server mid-poll).
    fn cancel(&self) {
        self.task.abort();
    }
}

impl Drop for HttpCall {
    fn drop(&mut self) {
        // Nobody waits any more: the request must not outlive its caller.
        self.task.abort();
    }
}

/// Starts answering `req` with `svc` on the runtime.
pub fn handle(rt: &socketio::embed::Runtime, svc: Service, req: HttpRequest) -> PyResult<HttpCall> {
    let req = req.into_http()?;
    let (tx, rx) = mpsc::sync_channel(1);
    let task = rt.handle().spawn(async move {
        let res = svc.handle(req).await;
        let (parts, body) = res.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => match e {},
        };
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), Bytes::copy_from_slice(v.as_bytes())))
            .collect();
        let _ = tx.send((parts.status.as_u16(), headers, body));
    });
    Ok(HttpCall {
        rx: Mutex::new(rx),
        task: task.abort_handle(),
    })
}

/// The WebSocket connection of one WSGI request, served by the engine on
/// the WSGI server's socket; the WSGI worker thread waits until it ended.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct WsgiSocket {
    rx: Mutex<mpsc::Receiver<u16>>,
    end: Mutex<Option<u16>>,
    shut: Arc<Shut>,
}

#[pymethods]
impl WsgiSocket {
    /// Waits up to `timeout` seconds with the interpreter released; once
    /// the connection is over (the socket is then shut down), returns the
    /// HTTP status the engine answered the request with (101, or the
    /// refusal's 400...; 0 if it answered none); `None` if the time ran out.
    fn wait(&self, py: Python<'_>, timeout: f64) -> Option<u16> {
        if let Some(s) = *self.end.lock() {
            return Some(s);
        }
        let r = py.detach(|| self.rx.lock().recv_timeout(slice(timeout)));
        let s = match r {
            Ok(s) => s,
            Err(mpsc::RecvTimeoutError::Timeout) => return None,
            Err(mpsc::RecvTimeoutError::Disconnected) => 0,
        };
        *self.end.lock() = Some(s);
        Some(s)
    }

    /// Ends the connection now (shuts the socket down).
    fn close(&self) {
        self.shut.shutdown();
    }
}

/// A second handle on the socket, to shut it down for every holder: the
/// WSGI server's file descriptor stays open, and must not be written to
/// once the engine owned the connection.
enum Shut {
    Tcp(std::net::TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

impl Shut {
    fn shutdown(&self) {
        let _ = match self {
            Shut::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Shut::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

/// Dropped with the connection (after the WebSocket ended, or after a
/// refusal was written): shuts the socket down and wakes the WSGI thread.
struct EndGuard {
    shut: Arc<Shut>,
    status: Arc<AtomicU16>,
    tx: mpsc::SyncSender<u16>,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.shut.shutdown();
        let _ = self.tx.send(self.status.load(Ordering::Acquire));
    }
}

/// The taken-over socket as hyper reads it: first the request head the
/// WSGI server already consumed (rebuilt from the environ), then the
/// socket's own bytes; the guard ends with it.
type Taken<T> = Prefixed<T, EndGuard>;

/// Serves one connection with hyper on the engine: the request in `head`
/// gets its answer (101 and the WebSocket session, or a refusal with
/// `Connection: close`, after which the connection ends).
fn serve<T>(
    rt: &socketio::embed::Runtime,
    svc: Service,
    io: Taken<T>,
    status: Arc<AtomicU16>,
    client: Option<SocketAddr>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    rt.spawn(async move {
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                if let Some(peer) = client {
                    req.extensions_mut()
                        .insert(engineio::server::RemoteAddr(peer));
                }
                let svc = svc.clone();
                let status = status.clone();
                async move {
                    let mut res = svc.handle(req).await;
                    status.store(res.status().as_u16(), Ordering::Release);
                    // A refusal ends the connection. Not through hyper's
                    // keep-alive switch: that would also add `close` to the
                    // 101's `Connection: Upgrade`, which strict WebSocket
                    // clients (tungstenite) refuse.
                    if res.status() != http::StatusCode::SWITCHING_PROTOCOLS {
                        res.headers_mut().insert(
                            http::header::CONNECTION,
                            http::HeaderValue::from_static("close"),
                        );
                    }
                    Ok::<_, Infallible>(res)
                }
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "WSGI websocket connection error");
        }
    });
}

/// Takes over the WSGI server's socket: `fd` is a duplicate of its file
/// descriptor (owned from now on, closed on every path), `unix` whether it
/// is a Unix domain socket, `head` the request line and headers.
#[cfg(unix)]
pub fn take_socket(
    rt: &socketio::embed::Runtime,
    svc: Service,
    fd: i32,
    unix: bool,
    head: Vec<u8>,
    client: Option<(String, u16)>,
) -> PyResult<WsgiSocket> {
    use std::os::fd::{FromRawFd, OwnedFd};

    if fd < 0 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "bad file descriptor",
        ));
    }
    // SAFETY: the caller hands over `fd`, a descriptor it duplicated for
    // this call and neither uses nor closes afterwards.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let client = client.and_then(|(host, port)| {
        host.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, port))
    });
    let (tx, rx) = mpsc::sync_channel(1);
    let status = Arc::new(AtomicU16::new(0));
    let head = Bytes::from(head);
    // The connection's end is told to the WSGI thread through its guard.
    let end = |shut: &Arc<Shut>| EndGuard {
        shut: shut.clone(),
        status: status.clone(),
        tx,
    };
    let shut = if unix {
        let s = std::os::unix::net::UnixStream::from(owned);
        s.set_nonblocking(true)?;
        let shut = Arc::new(Shut::Unix(s.try_clone()?));
        let io = rt.enter(|| tokio::net::UnixStream::from_std(s))?;
        let _end = end(&shut);
        serve(
            rt,
            svc,
            Prefixed::with_guard(head, io, _end),
            status,
            client,
        );
        shut
    } else {
        let s = std::net::TcpStream::from(owned);
        s.set_nonblocking(true)?;
        let _ = s.set_nodelay(true);
        let shut = Arc::new(Shut::Tcp(s.try_clone()?));
        let io = rt.enter(|| tokio::net::TcpStream::from_std(s))?;
        let _end = end(&shut);
        serve(
            rt,
            svc,
            Prefixed::with_guard(head, io, _end),
            status,
            client,
        );
        shut
    };
    Ok(WsgiSocket {
        rx: Mutex::new(rx),
        end: Mutex::new(None),
        shut,
    })
}

/// Taking over a WSGI server's socket needs Unix file descriptors.
#[cfg(not(unix))]
pub fn take_socket(
    _rt: &socketio::embed::Runtime,
    _svc: Service,
    _fd: i32,
    _unix: bool,
    _head: Vec<u8>,
    _client: Option<(String, u16)>,
) -> PyResult<WsgiSocket> {
    Err(pyo3::exceptions::PyNotImplementedError::new_err(
        "WebSocket under a WSGI server needs a Unix platform",
    ))
}
