//! Socket.IO under an ASGI server: HTTP requests (long-polling) answered by
//! the Engine.IO service in-process, and WebSocket connections relayed to it.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use socketio::embed::{Error, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::Message;

use crate::convert::to_py;
use crate::pool::{deliver, key_of, Pool};
use crate::reply::{tuple, Completer};

/// A request as the ASGI scope gives it.
pub struct HttpRequest {
    /// `GET`, `POST`, `OPTIONS`...
    pub method: String,
    /// Path and query string.
    pub uri: String,
    /// Header names and values, as bytes.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The whole body.
    pub body: Vec<u8>,
    /// The client's address, when the ASGI server knows it.
    pub client: Option<(String, u16)>,
}

impl HttpRequest {
    pub(crate) fn into_http(self) -> PyResult<http::Request<Full<Bytes>>> {
        let mut b = http::Request::builder()
            .method(self.method.as_str())
            .uri(self.uri.as_str());
        for (k, v) in &self.headers {
            b = b.header(k.as_slice(), v.as_slice());
        }
        let mut req = b
            .body(Full::new(Bytes::from(self.body)))
            .map_err(|e| PyValueError::new_err(format!("bad request: {e}")))?;
        if let Some((host, port)) = self.client {
            if let Ok(ip) = host.parse::<IpAddr>() {
                req.extensions_mut()
                    .insert(engineio::server::RemoteAddr(SocketAddr::new(ip, port)));
            }
        }
        Ok(req)
    }
}

/// Answers `req` with `svc` on the runtime; `done` gets
/// `[status, [[name, value], ...], body]`.
pub fn handle(
    rt: &socketio::embed::Runtime,
    svc: engineio::server::EngineIoService<sio_core::server::SioHandler>,
    req: HttpRequest,
    done: Completer,
) -> PyResult<()> {
    let req = req.into_http()?;
    rt.spawn(async move {
        let res = svc.handle(req).await;
        let (parts, body) = res.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => match e {},
        };
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                Value::Array(vec![
                    Value::from(k.as_str()),
                    Value::Binary(Bytes::copy_from_slice(v.as_bytes())),
                ])
            })
            .collect();
        done.complete(Ok::<_, Error>(vec![
            Value::from(u32::from(parts.status.as_u16())),
            Value::Array(headers),
            Value::Binary(body),
        ]));
    });
    Ok(())
}

/// The WebSocket transport under an ASGI server: the Engine.IO service
/// serves an in-memory connection, and a WebSocket client on its other end
/// relays the ASGI messages. Created by `NativeServer.open_ws`; what the
/// engine sends goes to the sink as `("ws", token, kind, data)`, kind one
/// of `open`, `error`, `text`, `bytes`, `close`.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct WsConn {
    tx: mpsc::UnboundedSender<Message>,
}

#[pymethods]
impl WsConn {
    /// Relays a text message from the client.
    fn send_text(&self, text: String) -> bool {
        self.tx.send(Message::Text(text.into())).is_ok()
    }

    /// Relays a binary message from the client.
    fn send_bytes(&self, data: &[u8]) -> bool {
        self.tx
            .send(Message::Binary(Bytes::copy_from_slice(data)))
            .is_ok()
    }

    /// The client went away: closes the engine's side.
    fn close(&self) {
        let _ = self.tx.send(Message::Close(None));
    }
}

/// Headers the relay's own WebSocket handshake sets (or must not pass on:
/// an extension the relay did not negotiate).
const HOP_HEADERS: [&str; 7] = [
    "host",
    "connection",
    "upgrade",
    "sec-websocket-version",
    "sec-websocket-key",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

fn ws_request(req: &HttpRequest) -> Result<http::Request<()>, http::Error> {
    // The client wants an absolute ws:// URI; only its path and query go
    // on the request line the engine reads. The browser's Host goes on: the
    // same-origin check compares the page's origin with it.
    let host = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"host"))
        .map_or(&b"asgi"[..], |(_, v)| v.as_slice());
    let mut b = http::Request::builder()
        .method("GET")
        .uri(format!("ws://asgi{}", req.uri))
        .header("Host", host)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", generate_key());
    for (k, v) in &req.headers {
        let name = String::from_utf8_lossy(k).to_ascii_lowercase();
        if !HOP_HEADERS.contains(&name.as_str()) {
            b = b.header(k.as_slice(), v.as_slice());
        }
    }
    b.body(())
}

/// Opens the relay for one ASGI WebSocket connection.
pub fn open_ws(
    rt: &socketio::embed::Runtime,
    svc: engineio::server::EngineIoService<sio_core::server::SioHandler>,
    req: HttpRequest,
    pool: Pool,
    token: u64,
) -> PyResult<WsConn> {
    let request =
        ws_request(&req).map_err(|e| PyValueError::new_err(format!("bad request: {e}")))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let key = key_of(&["asgi-ws", &token.to_string()]);
    let notify = move |kind: &'static str, data: Option<Value>| {
        pool.push(
            key,
            Box::new(move |py, sink| {
                let ev = (|| {
                    let data = match &data {
                        Some(d) => to_py(py, d)?,
                        None => py.None().into_bound(py),
                    };
                    tuple(
                        py,
                        vec![
                            "ws".into_pyobject(py)?.into_any(),
                            token.into_pyobject(py)?.into_any(),
                            kind.into_pyobject(py)?.into_any(),
                            data,
                        ],
                    )
                })();
                deliver(py, sink, ev);
            }),
        );
    };
    rt.spawn(async move {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server_io), svc)
                .with_upgrades()
                .await;
        });
        let ws = match tokio_tungstenite::client_async(request, client_io).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                notify("error", Some(Value::from(e.to_string())));
                return;
            }
        };
        notify("open", None);
        let (mut sink, mut stream) = ws.split();
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(Message::Close(_)) | None => {
                        let _ = sink.close().await;
                        break;
                    }
                    Some(m) => {
                        if sink.send(m).await.is_err() {
                            break;
                        }
                    }
                },
                m = stream.next() => match m {
                    Some(Ok(Message::Text(t))) => notify("text", Some(Value::from(t.as_str()))),
                    Some(Ok(Message::Binary(b))) => notify("bytes", Some(Value::Binary(b))),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        notify("close", None);
    });
    Ok(WsConn { tx })
}
