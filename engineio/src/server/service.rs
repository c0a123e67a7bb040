//! Request routing: the reference's checks, in the reference's order, then
//! the transport.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;

use super::config::{MiddlewareOutcome, TransportType};
use super::engine::Engine;
use super::errors::{empty, http_error, upgrade_error, ConnectionError, ErrorCode};
use super::request::{parse_query, RequestInfo, RequestTag};
use super::sid::SessionId;
use super::socket::Handler;
use super::{polling, ws};

/// The body of every response the server writes.
pub type ResponseBody = Full<Bytes>;

/// The Engine.IO server as a hyper / tower service, to mount in an existing
/// app. Requests outside the configured path get a 404.
pub struct EngineIoService<H: Handler> {
    pub(crate) engine: Arc<Engine<H>>,
}

impl<H: Handler> Clone for EngineIoService<H> {
    fn clone(&self) -> Self {
        EngineIoService {
            engine: self.engine.clone(),
        }
    }
}

impl<H: Handler> EngineIoService<H> {
    /// Whether the request is for this server's path (prefix match, as the
    /// reference).
    pub fn matches(&self, path: &str) -> bool {
        path.starts_with(self.engine.path.as_str())
            || path == self.engine.path.trim_end_matches('/')
    }

    /// Handles one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<ResponseBody>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if !self.matches(req.uri().path()) {
            return empty(StatusCode::NOT_FOUND);
        }
        let engine = &self.engine;
        let (parts, body) = req.into_parts();
        let cors = match &engine.config.cors {
            Some(cors) => Some((cors, cors.verdict(&parts).await)),
            None => None,
        };
        if let Some((cors, verdict)) = &cors {
            if cors.refuse_disallowed && verdict.refused {
                return refuse_origin(engine, &parts);
            }
        }
        // CORS headers depend on the request's alone: computed before the
        // request moves on, so no request pays for a copy of its headers.
        let cors_headers = cors.as_ref().map(|(cors, verdict)| {
            let mut extra = HeaderMap::new();
            if parts.method == Method::OPTIONS {
                cors.apply_preflight(verdict, &parts.headers, &mut extra);
            } else {
                cors.apply(verdict, &mut extra);
            }
            extra
        });
        // Without CORS for this request a preflight is no preflight: it goes
        // on to the checks, as with the reference.
        let preflight = cors.as_ref().is_some_and(|(_, verdict)| !verdict.skip);
        let intercepted = match &engine.config.intercept {
            Some(hook) if !(preflight && parts.method == Method::OPTIONS) => hook(&parts),
            _ => None,
        };
        let mut res = match intercepted {
            Some(res) => res,
            None => serve(engine, parts, body, preflight).await,
        };
        if let Some(extra) = cors_headers {
            // Vary has two values on a preflight.
            add_headers(res.headers_mut(), extra, |_| false);
        }
        res
    }
}

/// The answer to a request from an origin the policy refuses: python-engineio's
/// 400 with its message, on polling and WebSocket alike.
fn refuse_origin<H: Handler>(
    engine: &Engine<H>,
    parts: &http::request::Parts,
) -> Response<ResponseBody> {
    const MESSAGE: &str = "Not an accepted origin.";
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned())
        .unwrap_or_default();
    tracing::info!(origin = %origin, "{MESSAGE}");
    if let Some(hook) = &engine.config.on_connection_error {
        hook(&ConnectionError {
            code: ErrorCode::BadRequest,
            message: MESSAGE.into(),
            context: vec![("name", "INVALID_ORIGIN".into()), ("origin", origin)],
            req: RequestInfo::from_parts(parts),
        });
    }
    let mut res = Response::new(Full::new(Bytes::from_static(
        b"\"Not an accepted origin.\"",
    )));
    *res.status_mut() = StatusCode::BAD_REQUEST;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The middleware, then the engine.
async fn serve<H: Handler, B>(
    engine: &Arc<Engine<H>>,
    mut parts: http::request::Parts,
    body: B,
    cors: bool,
) -> Response<ResponseBody>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut extra = None;
    if let Some(middleware) = &engine.config.middleware {
        // A preflight is answered by the CORS policy, as the reference's
        // `cors` middleware ends it before the application's run.
        if !(cors && parts.method == Method::OPTIONS) {
            match middleware(&RequestInfo::from_parts(&parts)).await {
                MiddlewareOutcome::Next { headers, tag } => {
                    if let Some(tag) = tag {
                        parts.extensions.insert(RequestTag(tag));
                    }
                    extra = Some(headers);
                }
                MiddlewareOutcome::Fail(error) => {
                    tracing::debug!(%error, "middleware failure");
                    let upgrade = is_ws_upgrade(&parts.headers);
                    return refusal(
                        engine,
                        &parts,
                        upgrade,
                        ErrorCode::BadRequest,
                        None,
                        vec![("name", "MIDDLEWARE_FAILURE".into())],
                    );
                }
                MiddlewareOutcome::Respond(res) => return res,
            }
        }
    }
    let mut res = route(engine, parts, body, cors).await;
    if let Some(extra) = extra {
        // As Node's `writeHead` over headers set before: the answer's own
        // win, cookies add up.
        add_headers(res.headers_mut(), extra, |k| k == header::SET_COOKIE);
    }
    res
}

/// Adds every value of each header of `extra` the answer does not set
/// itself, or that `adds_up` says accumulates.
fn add_headers(res: &mut HeaderMap, extra: HeaderMap, adds_up: impl Fn(&http::HeaderName) -> bool) {
    let mut name = None;
    for (k, v) in extra {
        if let Some(k) = k {
            name = (adds_up(&k) || !res.contains_key(&k)).then_some(k);
        }
        if let Some(k) = &name {
            res.append(k, v);
        }
    }
}

/// Refuses a request: tells the `on_connection_error` hook, answers with
/// the reference's JSON error (a plain-text one for a WebSocket upgrade).
fn refusal<H: Handler>(
    engine: &Engine<H>,
    parts: &http::request::Parts,
    upgrade: bool,
    code: ErrorCode,
    message: Option<String>,
    context: Vec<(&'static str, String)>,
) -> Response<ResponseBody> {
    let message = message.unwrap_or_else(|| code.message().to_owned());
    if let Some(hook) = &engine.config.on_connection_error {
        hook(&ConnectionError {
            code,
            message: message.clone(),
            context,
            req: RequestInfo::from_parts(parts),
        });
    }
    if upgrade {
        upgrade_error(code, &message)
    } else {
        http_error(code, &message)
    }
}

/// The id of a new session: the `generate_id` hook's, checked, or a random
/// one.
async fn new_session_id<H: Handler>(
    engine: &Engine<H>,
    parts: &http::request::Parts,
) -> Result<SessionId, String> {
    let Some(generate) = &engine.config.generate_id else {
        return Ok(SessionId::random());
    };
    let Some(id) = generate(&RequestInfo::from_parts(parts)).await? else {
        return Ok(SessionId::random());
    };
    let sid = SessionId::custom(&id)?;
    if engine.has(sid.as_str()) {
        return Err(format!("the generated id {id:?} is already in use"));
    }
    Ok(sid)
}

#[derive(Default)]
struct Query {
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

fn query_of(uri: &http::Uri) -> Query {
    let mut q = Query::default();
    for (k, v) in parse_query(uri.query().unwrap_or("")) {
        match k.as_str() {
            "EIO" => q.eio = Some(v),
            "transport" => q.transport = Some(v),
            "sid" => q.sid = Some(v),
            _ => {}
        }
    }
    q
}

fn is_ws_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The reference's `isOriginInvalid`: only tab, visible ASCII and obs-text.
fn origin_invalid(headers: &HeaderMap) -> bool {
    headers.get(header::ORIGIN).is_some_and(|v| {
        v.as_bytes()
            .iter()
            .any(|&b| !(b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80))
    })
}

async fn route<H: Handler, B>(
    engine: &Arc<Engine<H>>,
    mut parts: http::request::Parts,
    body: B,
    cors: bool,
) -> Response<ResponseBody>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if parts.method == Method::OPTIONS && cors {
        // The preflight's CORS headers are added by the caller.
        let mut res = empty(StatusCode::NO_CONTENT);
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        return res;
    }
    let query = query_of(&parts.uri);
    let upgrade = is_ws_upgrade(&parts.headers);
    let refuse =
        |code: ErrorCode, message: Option<String>, context: Vec<(&'static str, String)>| {
            refusal(engine, &parts, upgrade, code, message, context)
        };

    let transport = match query.transport.as_deref().and_then(TransportType::parse) {
        Some(t) if engine.config.allows(t) => t,
        _ => {
            return refuse(
                ErrorCode::UnknownTransport,
                None,
                vec![("transport", query.transport.clone().unwrap_or_default())],
            )
        }
    };
    if origin_invalid(&parts.headers) {
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned())
            .unwrap_or_default();
        return refuse(
            ErrorCode::BadRequest,
            None,
            vec![("name", "INVALID_ORIGIN".into()), ("origin", origin)],
        );
    }
    if let Some(sid) = &query.sid {
        // A polling session the server closed still answers its client until
        // the final GET: a POST then is answered `ok` and ignored, as the
        // reference does for a closing socket (an error would make the
        // client give up before collecting its last packets).
        let closing_poll = transport == TransportType::Polling
            && matches!(parts.method, Method::GET | Method::POST);
        let Some(socket) = engine.get(sid).filter(|s| {
            !s.is_closed()
                || closing_poll
                    && s.awaits_final_poll()
                    && (parts.method == Method::GET
                        || s.disconnect_reason().is_some_and(|r| r.flushes()))
        }) else {
            return refuse(ErrorCode::UnknownSid, None, vec![("sid", sid.clone())]);
        };
        if !(upgrade && transport == TransportType::Websocket) && socket.transport() != transport {
            return refuse(
                ErrorCode::BadRequest,
                None,
                vec![
                    ("name", "TRANSPORT_MISMATCH".into()),
                    ("transport", transport.as_str().into()),
                    ("previousTransport", socket.transport().as_str().into()),
                ],
            );
        }
        if transport == TransportType::Websocket {
            // An upgrade of a polling session.
            return websocket_upgrade(engine, &mut parts, |engine, upgraded, info| {
                ws::serve_upgrade(engine, socket, upgraded, info)
            });
        }
        let mut res = match parts.method {
            Method::GET => polling::get(engine, &socket, &parts.headers).await,
            Method::POST => polling::post(engine, &socket, &parts.headers, body).await,
            _ => empty(StatusCode::INTERNAL_SERVER_ERROR),
        };
        run_headers_hook(engine, &parts, res.headers_mut(), false);
        return res;
    }
    if parts.method != Method::GET {
        return refuse(
            ErrorCode::BadHandshakeMethod,
            None,
            vec![("method", parts.method.to_string())],
        );
    }
    if transport == TransportType::Websocket && !upgrade {
        return refuse(
            ErrorCode::BadRequest,
            None,
            vec![("name", "TRANSPORT_HANDSHAKE_ERROR".into())],
        );
    }
    if let Some(allow) = &engine.config.allow_request {
        if let Err(message) = allow(&RequestInfo::from_parts(&parts)) {
            return refuse(ErrorCode::Forbidden, Some(message), vec![]);
        }
    }
    if engine.is_shut_down() {
        // Closed: the listener only serves the closing sessions' last polls.
        return refuse(
            ErrorCode::Forbidden,
            Some("Server shutting down".into()),
            vec![],
        );
    }
    if engine
        .config
        .max_connections
        .is_some_and(|max| engine.count() >= max)
    {
        return refuse(
            ErrorCode::Forbidden,
            Some("Too many connections".into()),
            vec![],
        );
    }
    // As the reference, anything but `EIO=4` is protocol 3.
    let eio3 = query.eio.as_deref() != Some("4");
    if eio3 && !engine.config.allow_eio3 {
        return refuse(
            ErrorCode::UnsupportedProtocolVersion,
            None,
            vec![("protocol", query.eio.clone().unwrap_or_default())],
        );
    }
    let sid = match new_session_id(engine, &parts).await {
        Ok(sid) => sid,
        Err(error) => {
            return refuse(
                ErrorCode::BadRequest,
                None,
                vec![("name", "ID_GENERATION_ERROR".into()), ("error", error)],
            )
        }
    };
    match transport {
        TransportType::Websocket => {
            websocket_upgrade(engine, &mut parts, move |engine, upgraded, info| {
                ws::serve_new(engine, upgraded, info, sid, eio3)
            })
        }
        TransportType::Polling => {
            let Some((socket, open)) = engine.open(
                TransportType::Polling,
                RequestInfo::from_parts(&parts),
                sid,
                eio3,
            ) else {
                return refuse(
                    ErrorCode::BadRequest,
                    None,
                    vec![
                        ("name", "ID_GENERATION_ERROR".into()),
                        ("error", "the generated id is already in use".into()),
                    ],
                );
            };
            let mut res = polling::payload_response(engine, &socket, &parts.headers, &[open], true);
            if let Some(cookie) = &engine.config.cookie {
                if let Ok(v) = HeaderValue::from_str(&cookie.header_value(socket.id().as_str())) {
                    res.headers_mut().insert(header::SET_COOKIE, v);
                }
            }
            run_headers_hook(engine, &parts, res.headers_mut(), true);
            res
        }
    }
}

fn run_headers_hook<H: Handler>(
    engine: &Engine<H>,
    parts: &http::request::Parts,
    headers: &mut HeaderMap,
    initial: bool,
) {
    let hooks = [
        if initial {
            engine.config.initial_headers.as_ref()
        } else {
            None
        },
        engine.config.headers.as_ref(),
    ];
    if hooks.iter().any(Option::is_some) {
        let info = RequestInfo::from_parts(parts);
        for hook in hooks.into_iter().flatten() {
            hook(headers, &info);
        }
    }
}

/// Answers 101 and hands the upgraded connection to `serve` once hyper has
/// switched protocols.
fn websocket_upgrade<H: Handler, F: Future<Output = ()> + Send + 'static>(
    engine: &Arc<Engine<H>>,
    parts: &mut http::request::Parts,
    serve: impl FnOnce(Arc<Engine<H>>, hyper::upgrade::Upgraded, RequestInfo) -> F + Send + 'static,
) -> Response<ResponseBody> {
    let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY) else {
        return upgrade_error(ErrorCode::BadRequest, "Bad request");
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return upgrade_error(ErrorCode::BadRequest, "Bad request");
    };
    let info = RequestInfo::from_parts(parts);
    let engine = engine.clone();
    let initial = !parts.uri.query().unwrap_or("").contains("sid=");
    let mut res = empty(StatusCode::SWITCHING_PROTOCOLS);
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    // The stream under the WebSocket makes the same decision from the same
    // request headers (`ws::accept`).
    if engine.config.per_message_deflate.is_some() && super::deflate::accepts(&parts.headers) {
        h.insert(
            header::SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static(super::deflate::RESPONSE),
        );
    }
    run_headers_hook(&engine, parts, res.headers_mut(), initial);
    tokio::spawn(async move {
        match on_upgrade.await {
            // The opening runs here; the session's loop gets a task of
            // its own once open.
            Ok(upgraded) => serve(engine, upgraded, info).await,
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    res
}

impl<H: Handler, B> tower_service::Service<Request<B>> for EngineIoService<H>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let svc = self.clone();
        Box::pin(async move { Ok(svc.handle(req).await) })
    }
}

impl<H: Handler> hyper::service::Service<Request<hyper::body::Incoming>> for EngineIoService<H> {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<hyper::body::Incoming>) -> Self::Future {
        let svc = self.clone();
        Box::pin(async move { Ok(svc.handle(req).await) })
    }
}
