//! Raw Engine.IO / Socket.IO clients: WebSocket (tokio-tungstenite) and
//! HTTP long-polling (hyper's low-level HTTP/1.1 client). No Socket.IO
//! parsing beyond the few prefixes the scenarios look for.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;
pub type Error = Box<dyn std::error::Error>;
pub type Result<T> = std::result::Result<T, Error>;

/// How long any single protocol step may take before the client gives up.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

pub fn err(msg: impl Into<String>) -> Error {
    msg.into().into()
}

async fn step<T, E: Into<Error>>(
    what: &str,
    f: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(err(format!("timed out: {what}"))),
    }
}

async fn tcp(addr: SocketAddr) -> Result<TcpStream> {
    let s = step("tcp connect", TcpStream::connect(addr)).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// Opens a WebSocket to the Engine.IO path; `extra` is appended to the query.
pub async fn ws_open(addr: SocketAddr, extra: &str) -> Result<Ws> {
    let stream = tcp(addr).await?;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{extra}");
    // A small read buffer: 10 000 idle clients must fit in the generator too.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = step(
        "websocket handshake",
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
    )
    .await?;
    Ok(ws)
}

/// The next text frame; answers pings (`2`) on the way.
pub async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await?;
            }
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(
                Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_),
            )) => {}
            Some(Ok(Message::Close(_))) | None => return Err(err("connection closed")),
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

async fn expect_prefix(ws: &mut Ws, prefix: &str) -> Result<String> {
    step(prefix, async {
        loop {
            let t = next_text(ws).await?;
            if t.starts_with(prefix) {
                return Ok::<_, Error>(t);
            }
        }
    })
    .await
}

/// A Socket.IO client over WebSocket, joined to `/`.
pub async fn sio_ws(addr: SocketAddr) -> Result<Ws> {
    let mut ws = ws_open(addr, "").await?;
    expect_prefix(&mut ws, "0{").await?;
    ws.send(Message::text("40")).await?;
    expect_prefix(&mut ws, "40").await?;
    Ok(ws)
}

/// The payload every echo carries.
pub const PAYLOAD: &str = "the quick brown fox jumps over the lazy dog";

pub fn echo_frame(id: u64) -> String {
    format!("42{id}[\"echo\",{{\"i\":{id},\"s\":\"{PAYLOAD}\"}}]")
}

/// The id of an ack frame body (after the `43` type).
pub fn ack_id(rest: &str) -> Option<u64> {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// Sends one acked echo and waits for its ack.
pub async fn ws_echo(ws: &mut Ws, id: u64) -> Result<()> {
    ws.send(Message::text(echo_frame(id))).await?;
    step("echo ack", async {
        loop {
            let t = next_text(ws).await?;
            if t.strip_prefix("43").and_then(ack_id) == Some(id) {
                return Ok::<_, Error>(());
            }
        }
    })
    .await
}

/// The number following `"key":` in a JSON text.
pub fn num_after(s: &str, key: &str) -> Option<u64> {
    let at = s.find(key)? + key.len();
    let rest = &s[at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

type BodyFuture = Pin<Box<dyn Future<Output = Result<Bytes>>>>;

/// One HTTP/1.1 connection (keep-alive), its driver spawned on the local set.
pub struct Http {
    send: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

impl Http {
    pub async fn connect(addr: SocketAddr) -> Result<Http> {
        let stream = tcp(addr).await?;
        let (send, conn) = step(
            "http handshake",
            hyper::client::conn::http1::handshake(TokioIo::new(stream)),
        )
        .await?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(Http { send, addr })
    }

    /// Sends a request now; the returned future yields the body.
    pub fn request(&mut self, method: Method, query: &str, body: Option<String>) -> BodyFuture {
        let uri = format!("/socket.io/?EIO=4&transport=polling{query}");
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, self.addr.to_string());
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        let req = req
            .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
            .expect("valid request");
        let sent = self.send.send_request(req);
        Box::pin(async move {
            step("http response", async {
                let res = sent.await?;
                if !res.status().is_success() {
                    return Err(err(format!("HTTP {}", res.status())));
                }
                Ok::<_, Error>(res.into_body().collect().await?.to_bytes())
            })
            .await
        })
    }
}

/// The packets of a polling payload.
pub fn packets(body: &[u8]) -> impl Iterator<Item = &str> {
    body.split(|b| *b == 0x1e)
        .map(|p| std::str::from_utf8(p).unwrap_or(""))
}

/// A Socket.IO client over long-polling, joined to `/`: a GET connection
/// and a POST connection, as a browser has.
pub struct Polling {
    pub get: Http,
    pub post: Http,
    pub sid: String,
}

impl Polling {
    pub fn sid_query(&self) -> String {
        format!("&sid={}", self.sid)
    }

    pub async fn connect(addr: SocketAddr) -> Result<Polling> {
        let mut get = Http::connect(addr).await?;
        let post = Http::connect(addr).await?;
        let open = get.request(Method::GET, "", None).await?;
        let open = std::str::from_utf8(&open)?;
        let sid = open
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .ok_or_else(|| err(format!("no sid in {open:?}")))?
            .to_owned();
        let mut p = Polling { get, post, sid };
        p.post("40".into()).await?;
        loop {
            let body = p.get_now().await?;
            if packets(&body).any(|pk| pk.starts_with("40")) {
                break;
            }
        }
        Ok(p)
    }

    pub fn get_now(&mut self) -> BodyFuture {
        let q = self.sid_query();
        self.get.request(Method::GET, &q, None)
    }

    pub async fn post(&mut self, payload: String) -> Result<()> {
        let q = self.sid_query();
        let body = self.post.request(Method::POST, &q, Some(payload)).await?;
        if &body[..] != b"ok" {
            return Err(err(format!("POST answered {body:?}")));
        }
        Ok(())
    }
}
