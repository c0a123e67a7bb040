//! HTTP long-polling: a GET loop reading payloads and a POST task writing
//! them, one request of each kind at a time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::{describe, EventTx, Tasks, TransportEvent, TransportId};
use crate::client::error::Error;
use crate::client::tls::{tls_cause, Tls};
use crate::client::url::Endpoint;
use crate::proto::{decode_payload, Packet};
use crate::server::TransportType;

/// The connector of [`Http`]: TLS-capable with the `tls` feature.
#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// An HTTP/1.1 client sending the configured extra headers.
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<Connector, Full<Bytes>>,
    headers: Arc<HeaderMap>,
}

impl Http {
    pub(crate) fn new(headers: HeaderMap, tls: &Tls) -> Result<Http, Error> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        #[cfg(feature = "tls")]
        let connector = tls.http_connector(connector)?;
        #[cfg(not(feature = "tls"))]
        let _ = tls;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Http {
            client,
            headers: Arc::new(headers),
        })
    }

    /// A GET (`body` = `None`) or a POST of a payload; returns the body of a
    /// 2xx answer.
    pub(crate) async fn request(&self, uri: &str, body: Option<Bytes>) -> Result<Bytes, Error> {
        let method = if body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(headers) = req.headers_mut() {
            for (k, v) in self.headers.iter() {
                headers.append(k, v.clone());
            }
            if body.is_some() {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain;charset=UTF-8"),
                );
            }
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| Error::InvalidUrl(e.to_string()))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| match tls_cause(&e) {
                Some(tls) => Error::Tls(tls),
                None => Error::Http(describe(&e)),
            })?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| Error::Http(describe(&e)))?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(status_error(status.as_u16(), &body))
        }
    }
}

/// An error answer, with the `{"code":…,"message":…}` body the reference
/// server sends when there is one.
pub(crate) fn status_error(status: u16, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Body {
        code: Option<u64>,
        message: Option<String>,
    }
    // A refused WebSocket handshake hands over the raw body, which may still
    // be chunk-encoded: look for the JSON object inside.
    let json = match (
        body.iter().position(|&b| b == b'{'),
        body.iter().rposition(|&b| b == b'}'),
    ) {
        (Some(start), Some(end)) if start < end => &body[start..=end],
        _ => body,
    };
    match serde_json::from_slice::<Body>(json) {
        Ok(b) => Error::Status {
            status,
            code: b.code,
            message: b.message.unwrap_or_default(),
        },
        Err(_) => Error::Status {
            status,
            code: None,
            message: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

/// Decodes a polling payload; `None` if any record is malformed.
pub(crate) fn decode(body: Bytes) -> Option<Vec<Packet>> {
    decode_payload(body).collect::<Result<_, _>>().ok()
}

/// A running polling transport, as the driver sees it.
pub(crate) struct Polling {
    http: Http,
    endpoint: Arc<Endpoint>,
    sid: String,
    id: TransportId,
    events: EventTx,
    pause: Arc<AtomicBool>,
    post_tx: mpsc::Sender<Bytes>,
    posting: bool,
    pause_requested: bool,
    paused: bool,
    _tasks: Tasks,
}

impl Polling {
    /// Starts polling session `sid`.
    pub(crate) fn start(
        http: Http,
        endpoint: Arc<Endpoint>,
        sid: String,
        id: TransportId,
        events: EventTx,
    ) -> Polling {
        let pause = Arc::new(AtomicBool::new(false));
        let (post_tx, post_rx) = mpsc::channel(1);
        let mut tasks = Tasks::default();
        tasks.push(tokio::spawn(post_loop(
            http.clone(),
            endpoint.clone(),
            sid.clone(),
            id,
            events.clone(),
            post_rx,
        )));
        let mut polling = Polling {
            http,
            endpoint,
            sid,
            id,
            events,
            pause,
            post_tx,
            posting: false,
            pause_requested: false,
            paused: false,
            _tasks: tasks,
        };
        polling.spawn_get_loop();
        polling
    }

    fn spawn_get_loop(&mut self) {
        self._tasks.push(tokio::spawn(get_loop(
            self.http.clone(),
            self.endpoint.clone(),
            self.sid.clone(),
            self.id,
            self.events.clone(),
            self.pause.clone(),
        )));
    }

    /// True when a payload can be posted now: no POST pending, and polling
    /// not paused yet. While a pause waits for the pending GET (an upgrade
    /// in progress), payloads still go: the server reads them on this
    /// transport before the upgrade, in order, and answers on that GET,
    /// which ends the wait sooner than its periodic `noop` would.
    pub(crate) fn writable(&self) -> bool {
        !self.posting && !self.paused
    }

    /// Posts a payload; only call when [`Polling::writable`].
    pub(crate) fn post(&mut self, body: Bytes) {
        self.posting = true;
        // The channel holds one payload and the driver only posts when the
        // previous one has drained, so there is always room.
        let _ = self.post_tx.try_send(body);
    }

    /// The pending POST completed.
    pub(crate) fn on_drained(&mut self) {
        self.posting = false;
    }

    /// Stops polling once the pending GET returns (the reference's `pause`).
    pub(crate) fn pause(&mut self) {
        self.pause_requested = true;
        self.pause.store(true, Ordering::Release);
    }

    /// The GET loop stopped; if the pause was cancelled meanwhile, polling
    /// starts again.
    pub(crate) fn on_paused(&mut self) {
        if self.pause_requested {
            self.paused = true;
        } else {
            self.spawn_get_loop();
        }
    }

    /// Cancels a pause (a failed upgrade): polling goes on.
    pub(crate) fn resume(&mut self) {
        self.pause.store(false, Ordering::Release);
        self.pause_requested = false;
        if self.paused {
            self.paused = false;
            self.spawn_get_loop();
        }
    }

    /// True once neither a GET nor a POST is pending after a pause.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused && !self.posting
    }
}

async fn get_loop(
    http: Http,
    endpoint: Arc<Endpoint>,
    sid: String,
    id: TransportId,
    events: EventTx,
    pause: Arc<AtomicBool>,
) {
    loop {
        if pause.load(Ordering::Acquire) {
            let _ = events.send((id, TransportEvent::Paused)).await;
            return;
        }
        let uri = endpoint.uri(TransportType::Polling, Some(&sid));
        let event = match http.request(&uri, None).await {
            Err(e) => TransportEvent::Error(e.to_string()),
            Ok(body) => match decode(body) {
                None => TransportEvent::ParseError,
                Some(packets) => TransportEvent::Packets(packets),
            },
        };
        let last = !matches!(&event, TransportEvent::Packets(p) if !p.contains(&Packet::Close));
        if events.send((id, event)).await.is_err() || last {
            return;
        }
    }
}

async fn post_loop(
    http: Http,
    endpoint: Arc<Endpoint>,
    sid: String,
    id: TransportId,
    events: EventTx,
    mut bodies: mpsc::Receiver<Bytes>,
) {
    while let Some(body) = bodies.recv().await {
        let uri = endpoint.uri(TransportType::Polling, Some(&sid));
        let event = match http.request(&uri, Some(body)).await {
            Ok(_) => TransportEvent::Drained,
            Err(e) => TransportEvent::Error(e.to_string()),
        };
        let failed = matches!(event, TransportEvent::Error(_));
        if events.send((id, event)).await.is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies() {
        let e = status_error(400, br#"{"code":1,"message":"Session ID unknown"}"#);
        assert_eq!(
            e,
            Error::Status {
                status: 400,
                code: Some(1),
                message: "Session ID unknown".into()
            }
        );
        let e = status_error(
            400,
            b"28\r\n{\"code\":0,\"message\":\"Transport unknown\"}\r\n0\r\n\r\n",
        );
        assert!(matches!(
            e,
            Error::Status {
                status: 400,
                code: Some(0),
                ..
            }
        ));
        let e = status_error(413, b"");
        assert!(matches!(
            e,
            Error::Status {
                status: 413,
                code: None,
                ..
            }
        ));
    }

    #[test]
    fn decodes_payloads() {
        let p = decode(Bytes::from_static(b"4a\x1e2\x1ebAQI=")).expect("valid");
        assert_eq!(p.len(), 3);
        assert!(decode(Bytes::from_static(b"4a\x1e9")).is_none());
    }
}
