//! The WebSocket transport: one packet per frame, a reader task and a writer
//! task around tokio-tungstenite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::polling::status_error;
use super::{describe, EventTx, Tasks, TransportEvent, TransportId};
use crate::client::config::ClientConfig;
use crate::client::error::Error;
use crate::client::session::parse_handshake;
use crate::client::tls::tls_cause;
use crate::client::url::Endpoint;
use crate::proto::{Handshake, Packet, Str};
use crate::server::TransportType;

/// A connected WebSocket.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Frames the writer may hold before the driver stops handing it packets.
const WRITE_QUEUE: usize = 64;

/// Opens a WebSocket to the server, for session `sid` when probing.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    sid: Option<&str>,
    config: &ClientConfig,
) -> Result<WsStream, Error> {
    let uri = endpoint.uri(TransportType::Websocket, sid);
    let mut request = uri
        .into_client_request()
        .map_err(|e| Error::InvalidUrl(e.to_string()))?;
    for (k, v) in config.extra_headers.iter() {
        request.headers_mut().append(k, v.clone());
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_ws_message_size))
        .max_frame_size(Some(config.max_ws_message_size));
    #[cfg(feature = "tls")]
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        true,
        endpoint
            .tls()
            .websocket_config()
            .map(tokio_tungstenite::Connector::Rustls),
    );
    #[cfg(not(feature = "tls"))]
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true);
    match connecting.await {
        Ok((stream, _)) => Ok(stream),
        Err(WsError::Http(resp)) => Err(status_error(
            resp.status().as_u16(),
            resp.body().as_deref().unwrap_or_default(),
        )),
        Err(e) => Err(match tls_cause(&e) {
            Some(tls) => Error::Tls(tls),
            None => Error::WebSocket(describe(&e)),
        }),
    }
}

/// Reads the handshake, the first frame of a WebSocket-only session.
pub(crate) async fn read_handshake(stream: &mut WsStream) -> Result<Handshake, Error> {
    loop {
        match stream.next().await {
            Some(Ok(WsMessage::Text(t))) => {
                return match Packet::decode(text_to_str(t)) {
                    Ok(Packet::Open(json)) => parse_handshake(&json),
                    _ => Err(Error::Protocol("expected an open packet".into())),
                }
            }
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(_)) => return Err(Error::Protocol("expected an open packet".into())),
            Some(Err(e)) => return Err(Error::WebSocket(describe(&e))),
            None => return Err(Error::WebSocket("closed before the handshake".into())),
        }
    }
}

fn text_to_str(t: Utf8Bytes) -> Str {
    // SAFETY: `Utf8Bytes` holds valid UTF-8.
    unsafe { Str::from_bytes_unchecked(t.into()) }
}

fn frame(packet: Packet) -> WsMessage {
    match packet {
        Packet::Binary(b) => WsMessage::Binary(b),
        other => {
            let text = other.to_frame_text().unwrap_or_default();
            // SAFETY: `Str` holds valid UTF-8.
            WsMessage::Text(unsafe { Utf8Bytes::from_bytes_unchecked(text.into_bytes()) })
        }
    }
}

/// A running WebSocket transport, as the driver sees it.
pub(crate) struct Websocket {
    tx: mpsc::Sender<WsMessage>,
    writer: Option<JoinHandle<()>>,
    _reader: Tasks,
}

impl std::fmt::Debug for Websocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Websocket").finish_non_exhaustive()
    }
}

impl Websocket {
    /// Starts reading and writing `stream`, reporting as transport `id`.
    pub(crate) fn start(stream: WsStream, id: TransportId, events: EventTx) -> Websocket {
        let (sink, mut source) = stream.split();
        let (tx, mut rx) = mpsc::channel::<WsMessage>(WRITE_QUEUE);
        let writer = tokio::spawn(async move {
            let mut sink = sink;
            // Frames queued together are flushed together.
            while let Some(msg) = rx.recv().await {
                if sink.feed(msg).await.is_err() {
                    return;
                }
                while let Ok(msg) = rx.try_recv() {
                    if sink.feed(msg).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let mut reader = Tasks::default();
        reader.push(tokio::spawn(async move {
            while let Some(frame) = source.next().await {
                let event = match frame {
                    Ok(WsMessage::Text(t)) => match Packet::decode(text_to_str(t)) {
                        Ok(p) => TransportEvent::Packet(p),
                        Err(_) => TransportEvent::ParseError,
                    },
                    Ok(WsMessage::Binary(b)) => TransportEvent::Packet(Packet::Binary(b)),
                    Ok(WsMessage::Close(_)) => TransportEvent::Closed,
                    Ok(_) => continue,
                    Err(e) => TransportEvent::Error(describe(&e)),
                };
                let last = !matches!(event, TransportEvent::Packet(_));
                if events.send((id, event)).await.is_err() || last {
                    return;
                }
            }
            let _ = events.send((id, TransportEvent::Closed)).await;
        }));
        Websocket {
            tx,
            writer: Some(writer),
            _reader: reader,
        }
    }

    /// True when a frame can be queued now.
    pub(crate) fn writable(&self) -> bool {
        self.tx.capacity() > 0
    }

    /// Queues a packet; false when the queue is full (check
    /// [`Websocket::writable`] first) or the writer has stopped.
    pub(crate) fn send(&self, packet: Packet) -> bool {
        self.tx.try_send(frame(packet)).is_ok()
    }

    /// Resolves once the write queue has room again.
    pub(crate) async fn wait_writable(&self) {
        if let Ok(permit) = self.tx.reserve().await {
            drop(permit);
        } else {
            std::future::pending::<()>().await;
        }
    }

    /// Writes what is queued, then closes the WebSocket, waiting at most
    /// `limit`.
    pub(crate) async fn shutdown(mut self, limit: Duration) {
        let writer = self.writer.take();
        drop(self);
        if let Some(mut writer) = writer {
            if tokio::time::timeout(limit, &mut writer).await.is_err() {
                writer.abort();
            }
        }
    }
}

impl Drop for Websocket {
    fn drop(&mut self) {
        if let Some(w) = &self.writer {
            w.abort();
        }
    }
}
