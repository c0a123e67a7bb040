use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::Full;

use super::request::RequestInfo;

/// The reference server's handshake error codes (`Server.errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// 0: `transport` missing or not enabled.
    UnknownTransport = 0,
    /// 1: no session with that `sid`.
    UnknownSid = 1,
    /// 2: a handshake with a method other than GET.
    BadHandshakeMethod = 2,
    /// 3: transport mismatch, WebSocket without upgrade, bad Origin.
    BadRequest = 3,
    /// 4: `allowRequest` refused the request.
    Forbidden = 4,
    /// 5: `EIO` is not `4`.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The reference's message for the code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A refused request, as passed to the `connection_error` hook.
#[derive(Debug, Clone)]
pub struct ConnectionError {
    /// The error code.
    pub code: ErrorCode,
    /// The message sent to the client.
    pub message: String,
    /// Details of what was refused (the reference's `context`), e.g. the
    /// offending `transport` or `sid`.
    pub context: Vec<(&'static str, String)>,
    /// The refused request.
    pub req: RequestInfo,
}

/// The JSON error answer of an HTTP request.
pub(crate) fn http_error(code: ErrorCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "code": code as u8, "message": message }).to_string();
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = code.status();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    res
}

/// The plain-text refusal of a WebSocket upgrade, as the reference writes it
/// before the 101.
pub(crate) fn upgrade_error(code: ErrorCode, message: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::copy_from_slice(message.as_bytes())));
    *res.status_mut() = code.status();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html"),
    );
    h.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    res
}

/// An empty-bodied answer, used by transport-level polling errors.
pub(crate) fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}
