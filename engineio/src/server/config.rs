use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use super::cors::Cors;
use super::errors::ConnectionError;
use super::request::RequestInfo;
use super::service::ResponseBody;
use super::session::SessionHook;

/// The two transports of Engine.IO v4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportType {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

impl TransportType {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportType::Polling => "polling",
            TransportType::Websocket => "websocket",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "polling" => Some(TransportType::Polling),
            "websocket" => Some(TransportType::Websocket),
            _ => None,
        }
    }
}

/// A transport name that is neither `polling` nor `websocket`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?}")]
pub struct UnknownTransport(pub String);

impl std::str::FromStr for TransportType {
    type Err = UnknownTransport;

    /// Parses a transport's name as the `transport` query parameter and the
    /// reference servers' `transports` option spell it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownTransport(s.to_owned()))
    }
}

impl std::fmt::Display for TransportType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides whether a handshake or upgrade request may proceed; `Err` carries
/// the message of the 403 answer (code 4).
pub type AllowRequest = Arc<dyn Fn(&RequestInfo) -> Result<(), String> + Send + Sync>;

/// Edits response headers: `initial_headers` on the handshake response,
/// `headers` on every polling response and the WebSocket upgrade.
pub type HeadersHook = Arc<dyn Fn(&mut HeaderMap, &RequestInfo) + Send + Sync>;

/// Told about every refused request, as the reference's `connection_error`.
pub type ConnectionErrorHook = Arc<dyn Fn(&ConnectionError) + Send + Sync>;

/// Answers a request under the server's path before the Engine.IO checks,
/// or lets it through (`None`). Its answers get the CORS headers as any
/// other; a CORS preflight is the engine's to answer and never reaches it.
/// Socket.IO serves its browser client this way, as the reference puts its
/// `serveClient` handler in front of the engine's.
pub type Intercept =
    Arc<dyn Fn(&http::request::Parts) -> Option<http::Response<ResponseBody>> + Send + Sync>;

/// Chooses the id of a new session from its handshake request (the
/// reference's `generateId`); asynchronous, so it may ask another runtime.
/// `Ok(None)` keeps the random id. An id must pass
/// [`SessionId::custom`](super::SessionId::custom) and be in no other
/// session's use: otherwise, and on `Err`, the handshake is refused with
/// 400 "Bad request" (code 3, context `name` `ID_GENERATION_ERROR` and
/// `error`, the reason).
pub type GenerateId = Arc<
    dyn Fn(&RequestInfo) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>>
        + Send
        + Sync,
>;

/// What a [`Middleware`] decided about one request.
#[derive(Debug)]
pub enum MiddlewareOutcome {
    /// The request goes on to the engine. `headers` are added to its
    /// answer, those the answer sets itself excepted (`Set-Cookie` values
    /// are added to the answer's); `tag` is kept as the request's
    /// [`RequestInfo::tag`], so a session this request opens carries it.
    Next {
        /// Headers for the answer.
        headers: HeaderMap,
        /// A mark for the request.
        tag: Option<u64>,
    },
    /// The request is refused with 400 "Bad request" (code 3, context
    /// `name` `MIDDLEWARE_FAILURE`); the text is logged.
    Fail(String),
    /// The middleware answered the request itself.
    Respond(http::Response<ResponseBody>),
}

/// Runs on every request under the path before the engine looks at it (the
/// reference's `engine.use` middlewares), CORS preflights and
/// [`Intercept`]ed requests excepted: polls, POSTs, handshakes and
/// WebSocket upgrades alike. Asynchronous, so it may ask another runtime.
pub type Middleware = Arc<
    dyn Fn(&RequestInfo) -> Pin<Box<dyn Future<Output = MiddlewareOutcome> + Send>> + Send + Sync,
>;

/// The `io` cookie set on the handshake response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cookie {
    /// Cookie name (reference default `io`).
    pub name: String,
    /// `Path` attribute; `None` omits it.
    pub path: Option<String>,
    /// `HttpOnly` attribute.
    pub http_only: bool,
    /// `SameSite` attribute (`Lax`, `Strict`, `None`); `None` omits it.
    pub same_site: Option<String>,
    /// `Secure` attribute.
    pub secure: bool,
    /// `Max-Age` in seconds.
    pub max_age: Option<u64>,
    /// `Domain` attribute.
    pub domain: Option<String>,
}

crate::__option_setters!(Cookie {
    name: impl Into<String>,
    path: Option<String>,
    http_only: bool,
    same_site: Option<String>,
    secure: bool,
    max_age: Option<u64>,
    domain: Option<String>,
});

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: "io".into(),
            path: Some("/".into()),
            http_only: true,
            same_site: Some("Lax".into()),
            secure: false,
            max_age: None,
            domain: None,
        }
    }
}

impl Cookie {
    pub(crate) fn header_value(&self, sid: &str) -> String {
        let mut v = format!("{}={}", self.name, sid);
        if let Some(d) = &self.domain {
            v.push_str("; Domain=");
            v.push_str(d);
        }
        if let Some(p) = &self.path {
            v.push_str("; Path=");
            v.push_str(p);
        }
        if let Some(m) = self.max_age {
            v.push_str(&format!("; Max-Age={m}"));
        }
        if self.http_only {
            v.push_str("; HttpOnly");
        }
        if self.secure {
            v.push_str("; Secure");
        }
        if let Some(s) = &self.same_site {
            v.push_str("; SameSite=");
            v.push_str(s);
        }
        v
    }
}

/// Server options, named after the reference `engine.io` options and with its
/// defaults.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Path the server answers under (prefix match), default `/engine.io/`.
    pub path: String,
    /// Interval between pings (default 25 s).
    pub ping_interval: Duration,
    /// Time the client has to answer a ping (default 20 s).
    pub ping_timeout: Duration,
    /// Time a probing WebSocket has to complete the upgrade (default 10 s).
    pub upgrade_timeout: Duration,
    /// Largest accepted message or POST body, in bytes; advertised as
    /// `maxPayload` (default 1e6).
    pub max_http_buffer_size: usize,
    /// Enabled transports (default both).
    pub transports: Vec<TransportType>,
    /// Whether polling sessions may upgrade to WebSocket.
    pub allow_upgrades: bool,
    /// CORS policy; `None` adds no CORS headers, as the reference.
    pub cors: Option<Cors>,
    /// The `io=<sid>` cookie; `None` (the default) sets none.
    pub cookie: Option<Cookie>,
    /// Accepts or refuses handshakes and upgrades.
    pub allow_request: Option<AllowRequest>,
    /// Edits the headers of the handshake response.
    pub initial_headers: Option<HeadersHook>,
    /// Edits the headers of every polling response and upgrade.
    pub headers: Option<HeadersHook>,
    /// Receives every refused request.
    pub on_connection_error: Option<ConnectionErrorHook>,
    /// Answers some requests under the path itself (see [`Intercept`]);
    /// `None` (the default) leaves every request to the engine.
    pub intercept: Option<Intercept>,
    /// Runs before the engine on every request (see [`Middleware`]).
    pub middleware: Option<Middleware>,
    /// Chooses the ids of new sessions; `None` (the default): random
    /// 20-character ids.
    pub generate_id: Option<GenerateId>,
    /// Hears every session open, upgrade, packet in and close (see
    /// [`SessionHook`]).
    pub on_session: Option<SessionHook>,
    /// Compress polling responses of at least this many bytes with gzip or
    /// deflate when the client accepts it; `None` disables (default 1024).
    pub http_compression_threshold: Option<usize>,
    /// Frames buffered per session before `send` fails (volatile sends drop).
    pub max_buffer_size: usize,
    /// Size of the WebSocket read buffer per connection: a per-connection
    /// memory cost, so small by default.
    pub ws_read_buffer_size: usize,
    /// Most sessions at once; a handshake past it is refused with 403 code 4
    /// "Too many connections". `None` (the default) sets no limit.
    pub max_connections: Option<usize>,
    /// Largest request head (request line and headers) the standalone
    /// listener reads, in bytes; larger ones get 431 (default 16 KiB).
    pub max_header_size: usize,
    /// Time the standalone listener gives a client to send a request head,
    /// so partial requests cannot hold connections open (default 10 s).
    pub header_read_timeout: Duration,
    /// Accepts Engine.IO protocol 3 clients (Socket.IO v2), as the
    /// reference's `allowEIO3` (default false: they are refused with
    /// "Unsupported protocol version"). A handshake without `EIO=4` then
    /// opens a protocol 3 session.
    pub allow_eio3: bool,
    /// WebSocket compression (`permessage-deflate`), as the reference's
    /// `perMessageDeflate`: negotiated with clients that offer it, and then
    /// messages of at least this many bytes go compressed (the reference's
    /// `threshold`, 1024 there); client messages are inflated within
    /// `max_http_buffer_size`. `None` (the default, as the reference's
    /// `false`) never negotiates it.
    pub per_message_deflate: Option<usize>,
}

crate::__option_setters!(ServerConfig {
    path: impl Into<String>,
    ping_interval: Duration,
    ping_timeout: Duration,
    upgrade_timeout: Duration,
    max_http_buffer_size: usize,
    transports: Vec<TransportType>,
    allow_upgrades: bool,
    cors: Option<Cors>,
    cookie: Option<Cookie>,
    allow_request: Option<AllowRequest>,
    initial_headers: Option<HeadersHook>,
    headers: Option<HeadersHook>,
    on_connection_error: Option<ConnectionErrorHook>,
    intercept: Option<Intercept>,
    middleware: Option<Middleware>,
    generate_id: Option<GenerateId>,
    on_session: Option<SessionHook>,
    http_compression_threshold: Option<usize>,
    max_buffer_size: usize,
    ws_read_buffer_size: usize,
    max_connections: Option<usize>,
    max_header_size: usize,
    header_read_timeout: Duration,
    allow_eio3: bool,
    per_message_deflate: Option<usize>,
});

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_http_buffer_size: 1_000_000,
            transports: vec![TransportType::Polling, TransportType::Websocket],
            allow_upgrades: true,
            cors: None,
            cookie: None,
            allow_request: None,
            initial_headers: None,
            headers: None,
            on_connection_error: None,
            intercept: None,
            middleware: None,
            generate_id: None,
            on_session: None,
            http_compression_threshold: Some(1024),
            max_buffer_size: 1024,
            ws_read_buffer_size: 1024,
            max_connections: None,
            max_header_size: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
            allow_eio3: false,
            per_message_deflate: None,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_http_buffer_size", &self.max_http_buffer_size)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("cors", &self.cors)
            .field("cookie", &self.cookie)
            .field(
                "http_compression_threshold",
                &self.http_compression_threshold,
            )
            .field("max_buffer_size", &self.max_buffer_size)
            .field("allow_eio3", &self.allow_eio3)
            .field("per_message_deflate", &self.per_message_deflate)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    pub(crate) fn allows(&self, t: TransportType) -> bool {
        self.transports.contains(&t)
    }

    /// The path as the server matches it (a prefix, as the reference's):
    /// always with a leading and a trailing slash.
    pub fn normalized_path(&self) -> String {
        let trimmed = self.path.trim_matches('/');
        if trimmed.is_empty() {
            "/".into()
        } else {
            format!("/{trimmed}/")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        assert_eq!(
            Cookie::default().header_value("abc"),
            "io=abc; Path=/; HttpOnly; SameSite=Lax"
        );
        let c = Cookie {
            name: "x".into(),
            path: None,
            http_only: false,
            same_site: None,
            secure: true,
            max_age: Some(60),
            domain: Some("example.com".into()),
        };
        assert_eq!(
            c.header_value("s"),
            "x=s; Domain=example.com; Max-Age=60; Secure"
        );
    }

    #[test]
    fn path_normalisation() {
        let mut c = ServerConfig::default();
        assert_eq!(c.normalized_path(), "/engine.io/");
        c.path = "socket.io".into();
        assert_eq!(c.normalized_path(), "/socket.io/");
    }

    #[test]
    fn transport_names_round_trip() {
        for t in [TransportType::Polling, TransportType::Websocket] {
            assert_eq!(t.to_string().parse::<TransportType>(), Ok(t));
        }
        let err = "webtransport".parse::<TransportType>().unwrap_err();
        assert_eq!(err, UnknownTransport("webtransport".into()));
        assert_eq!(err.to_string(), "unknown transport \"webtransport\"");
    }
}
