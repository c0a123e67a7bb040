//! Cross-origin policy: the npm `cors` package's headers (what socket.io
//! applies) and, when asked, python-engineio's refusal of foreign origins.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};

use super::request::RequestInfo;

/// Decides asynchronously whether an origin is allowed, given the request's
/// `Origin` (absent for same-origin and non-browser clients) and the request.
/// For callbacks that live in another runtime (a JavaScript function, a
/// Python callable).
pub type OriginCallback = Arc<
    dyn Fn(Option<&str>, &RequestInfo) -> Pin<Box<dyn Future<Output = OriginAnswer> + Send>>
        + Send
        + Sync,
>;

/// What an [`OriginCallback`] decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginAnswer {
    /// The request's origin is reflected.
    Allowed,
    /// No `Access-Control-Allow-Origin`; refused outright under
    /// [`Cors::refuse_disallowed`].
    Refused,
    /// This request gets no CORS headers at all (the `cors` package's
    /// `origin: false`), and is served.
    NoCors,
}

impl From<bool> for OriginAnswer {
    fn from(allowed: bool) -> Self {
        if allowed {
            OriginAnswer::Allowed
        } else {
            OriginAnswer::Refused
        }
    }
}

/// Which origins CORS lets in.
#[derive(Clone)]
pub enum CorsOrigin {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Reflect the request's origin, whatever it is.
    Reflect,
    /// Always this origin (the `cors` package's string option): the browser,
    /// not the server, compares it with the page's.
    Fixed(String),
    /// Reflect the request's origin when it is in the list.
    List(Vec<String>),
    /// Reflect the request's origin when the predicate accepts it.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
    /// Reflect the request's origin when the callback accepts it.
    Callback(OriginCallback),
    /// Only the server's own origin: `scheme://Host` of the request, and the
    /// `X-Forwarded-Proto` / `X-Forwarded-Host` variant behind a proxy
    /// (python-engineio's default).
    SameOrigin,
}

impl std::fmt::Debug for CorsOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorsOrigin::Any => f.write_str("Any"),
            CorsOrigin::Reflect => f.write_str("Reflect"),
            CorsOrigin::Fixed(o) => f.debug_tuple("Fixed").field(o).finish(),
            CorsOrigin::List(l) => f.debug_tuple("List").field(l).finish(),
            CorsOrigin::Predicate(_) => f.write_str("Predicate(..)"),
            CorsOrigin::Callback(_) => f.write_str("Callback(..)"),
            CorsOrigin::SameOrigin => f.write_str("SameOrigin"),
        }
    }
}

/// CORS options, with the npm `cors` package's behaviour and defaults.
#[derive(Debug, Clone)]
pub struct Cors {
    /// Allowed origins.
    pub origin: CorsOrigin,
    /// Sends `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// `Access-Control-Allow-Methods` of preflight answers.
    pub methods: String,
    /// `Access-Control-Allow-Headers`; `None` echoes the request's
    /// `Access-Control-Request-Headers`.
    pub allowed_headers: Option<String>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Option<String>,
    /// `Access-Control-Max-Age` in seconds.
    pub max_age: Option<u64>,
    /// Answers a request whose `Origin` is not allowed with 400 "Not an
    /// accepted origin." instead of serving it without CORS headers, as
    /// python-engineio does. Browsers apply no CORS to WebSocket, so only
    /// this keeps other sites' pages from opening sockets with the user's
    /// cookies. Requests without an `Origin` are served.
    pub refuse_disallowed: bool,
}

impl Default for Cors {
    fn default() -> Self {
        Cors {
            origin: CorsOrigin::Any,
            credentials: false,
            methods: "GET,HEAD,PUT,PATCH,POST,DELETE".into(),
            allowed_headers: None,
            exposed_headers: None,
            max_age: None,
            refuse_disallowed: false,
        }
    }
}

/// What the policy says of one request's origin.
#[derive(Debug, Clone)]
pub(crate) struct OriginVerdict {
    /// The `Access-Control-Allow-Origin` to send, if any.
    allow_origin: Option<HeaderValue>,
    /// Whether to add `Vary: Origin` (the answer depends on the origin).
    vary: bool,
    /// The request carried an `Origin` the policy does not allow.
    pub(crate) refused: bool,
    /// No CORS headers at all for this request.
    pub(crate) skip: bool,
}

impl Cors {
    /// CORS allowing any origin.
    pub fn any() -> Self {
        Cors::default()
    }

    /// Only the server's own origin, refusing the others: python-engineio's
    /// default (`cors_allowed_origins=None`), credentials allowed.
    pub fn same_origin() -> Self {
        Cors {
            origin: CorsOrigin::SameOrigin,
            credentials: true,
            refuse_disallowed: true,
            ..Cors::default()
        }
    }

    /// Judges the request's origin; awaits only a [`CorsOrigin::Callback`].
    pub(crate) async fn verdict(&self, parts: &http::request::Parts) -> OriginVerdict {
        let origin = parts.headers.get(header::ORIGIN);
        let text = origin.and_then(|o| o.to_str().ok());
        let allowed = match &self.origin {
            CorsOrigin::Any => {
                return OriginVerdict {
                    allow_origin: Some(HeaderValue::from_static("*")),
                    vary: false,
                    refused: false,
                    skip: false,
                }
            }
            CorsOrigin::Fixed(fixed) => {
                return OriginVerdict {
                    allow_origin: HeaderValue::from_str(fixed).ok(),
                    vary: true,
                    refused: self.refuse_disallowed && text.is_some_and(|t| t != fixed),
                    skip: false,
                }
            }
            CorsOrigin::Reflect => true,
            CorsOrigin::List(list) => text.is_some_and(|o| list.iter().any(|l| l == o)),
            CorsOrigin::Predicate(f) => text.is_some_and(|o| f(o)),
            CorsOrigin::Callback(f) => match f(text, &RequestInfo::from_parts(parts)).await {
                OriginAnswer::Allowed => true,
                OriginAnswer::Refused => false,
                OriginAnswer::NoCors => {
                    return OriginVerdict {
                        allow_origin: None,
                        vary: false,
                        refused: false,
                        skip: true,
                    }
                }
            },
            CorsOrigin::SameOrigin => text.is_some_and(|o| same_origins(parts).any(|s| s == o)),
        };
        OriginVerdict {
            allow_origin: origin.filter(|_| allowed).cloned(),
            vary: true,
            refused: origin.is_some() && !allowed,
            skip: false,
        }
    }

    /// Adds the headers of an actual (non-preflight) response.
    pub(crate) fn apply(&self, verdict: &OriginVerdict, out: &mut HeaderMap) {
        if verdict.skip {
            return;
        }
        self.apply_origin(verdict, out);
        self.apply_credentials(out);
        self.apply_exposed(out);
    }

    /// Adds the headers of a preflight answer.
    pub(crate) fn apply_preflight(
        &self,
        verdict: &OriginVerdict,
        req: &HeaderMap,
        out: &mut HeaderMap,
    ) {
        if verdict.skip {
            return;
        }
        self.apply_origin(verdict, out);
        self.apply_credentials(out);
        if let Ok(v) = HeaderValue::from_str(&self.methods) {
            out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        match &self.allowed_headers {
            Some(h) => {
                if let Ok(v) = HeaderValue::from_str(h) {
                    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
                }
            }
            None => {
                if let Some(v) = req.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
                }
                out.append(
                    header::VARY,
                    HeaderValue::from_static("Access-Control-Request-Headers"),
                );
            }
        }
        if let Some(age) = self.max_age {
            out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
        self.apply_exposed(out);
    }

    fn apply_origin(&self, verdict: &OriginVerdict, out: &mut HeaderMap) {
        if let Some(v) = &verdict.allow_origin {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v.clone());
        }
        if verdict.vary {
            out.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }

    fn apply_credentials(&self, out: &mut HeaderMap) {
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    fn apply_exposed(&self, out: &mut HeaderMap) {
        if let Some(v) = self
            .exposed_headers
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }
}

/// The origins a request counts as its own: `scheme://Host`, and with
/// `X-Forwarded-Proto` or `X-Forwarded-Host` the origin the proxy was asked
/// for (first value of each list), as python-engineio computes them. The
/// scheme is the request URI's (an embedding layer that knows it was reached
/// over TLS passes an absolute `https` URI), `http` otherwise.
fn same_origins(parts: &http::request::Parts) -> impl Iterator<Item = String> {
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
    };
    let scheme = match parts.uri.scheme_str() {
        Some("https") | Some("wss") => "https",
        _ => "http",
    };
    let host = header_str(header::HOST.as_str());
    let direct = host.as_ref().map(|h| format!("{scheme}://{h}"));
    let fwd_proto = header_str("x-forwarded-proto");
    let fwd_host = header_str("x-forwarded-host");
    let forwarded = match (&host, fwd_proto.is_some() || fwd_host.is_some()) {
        (Some(h), true) => Some(format!(
            "{}://{}",
            fwd_proto.as_deref().unwrap_or(scheme),
            fwd_host.as_deref().unwrap_or(h)
        )),
        _ => None,
    };
    direct.into_iter().chain(forwarded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn req(origin: &str) -> http::request::Parts {
        parts(
            "/engine.io/",
            &[
                ("origin", origin),
                ("access-control-request-headers", "x-a"),
            ],
        )
    }

    fn verdict(cors: &Cors, p: &http::request::Parts) -> OriginVerdict {
        futures_executor_block_on(cors.verdict(p))
    }

    /// A verdict future is ready at once unless a callback defers it; the
    /// tests' callbacks never do.
    fn futures_executor_block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn allow_origin(cors: &Cors, p: &http::request::Parts) -> Option<String> {
        let mut out = HeaderMap::new();
        cors.apply(&verdict(cors, p), &mut out);
        out.get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn any_origin() {
        assert_eq!(
            allow_origin(&Cors::any(), &req("http://a")).as_deref(),
            Some("*")
        );
    }

    #[test]
    fn list_reflects_only_listed() {
        let cors = Cors {
            origin: CorsOrigin::List(vec!["http://a".into()]),
            credentials: true,
            ..Cors::default()
        };
        let mut out = HeaderMap::new();
        cors.apply(&verdict(&cors, &req("http://a")), &mut out);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://a");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let refused = verdict(&cors, &req("http://b"));
        assert!(refused.refused);
        assert_eq!(allow_origin(&cors, &req("http://b")), None);
    }

    #[test]
    fn fixed_origin_is_sent_whatever_the_request_says() {
        let cors = Cors {
            origin: CorsOrigin::Fixed("http://good.test".into()),
            ..Cors::default()
        };
        assert_eq!(
            allow_origin(&cors, &req("http://evil.test")).as_deref(),
            Some("http://good.test")
        );
    }

    #[test]
    fn predicate_never_widens() {
        let cors = Cors {
            origin: CorsOrigin::Predicate(Arc::new(|o| o.ends_with(".good.test"))),
            ..Cors::default()
        };
        assert_eq!(
            allow_origin(&cors, &req("http://a.good.test")).as_deref(),
            Some("http://a.good.test")
        );
        assert_eq!(allow_origin(&cors, &req("http://evil.test")), None);
    }

    #[test]
    fn callback_decides() {
        let cors = Cors {
            origin: CorsOrigin::Callback(Arc::new(|o, _| {
                let answer = match o {
                    Some("http://ok.test") => OriginAnswer::Allowed,
                    Some("http://off.test") => OriginAnswer::NoCors,
                    _ => OriginAnswer::Refused,
                };
                Box::pin(async move { answer })
            })),
            ..Cors::default()
        };
        assert_eq!(
            allow_origin(&cors, &req("http://ok.test")).as_deref(),
            Some("http://ok.test")
        );
        assert_eq!(allow_origin(&cors, &req("http://evil.test")), None);
        assert!(verdict(&cors, &req("http://evil.test")).refused);
        let mut out = HeaderMap::new();
        cors.apply(&verdict(&cors, &req("http://off.test")), &mut out);
        assert!(out.is_empty(), "no CORS header at all: {out:?}");
    }

    #[test]
    fn same_origin_allows_the_host_and_the_proxied_origin_only() {
        let cors = Cors::same_origin();
        let own = parts(
            "/socket.io/",
            &[
                ("origin", "http://app.test:8000"),
                ("host", "app.test:8000"),
            ],
        );
        assert!(!verdict(&cors, &own).refused);
        assert_eq!(
            allow_origin(&cors, &own).as_deref(),
            Some("http://app.test:8000")
        );
        let foreign = parts(
            "/socket.io/",
            &[("origin", "http://evil.test"), ("host", "app.test:8000")],
        );
        assert!(verdict(&cors, &foreign).refused);
        // The scheme counts: an https page is another origin than http.
        let other_scheme = parts(
            "/socket.io/",
            &[
                ("origin", "https://app.test:8000"),
                ("host", "app.test:8000"),
            ],
        );
        assert!(verdict(&cors, &other_scheme).refused);
        let tls = parts(
            "https://app.test/socket.io/",
            &[("origin", "https://app.test"), ("host", "app.test")],
        );
        assert!(!verdict(&cors, &tls).refused);
        let proxied = parts(
            "/socket.io/",
            &[
                ("origin", "https://public.test"),
                ("host", "127.0.0.1:8000"),
                ("x-forwarded-proto", "https, http"),
                ("x-forwarded-host", "public.test"),
            ],
        );
        assert!(!verdict(&cors, &proxied).refused);
        // No Origin (a non-browser client): served, no header.
        let none = parts("/socket.io/", &[("host", "app.test")]);
        assert!(!verdict(&cors, &none).refused);
        assert_eq!(allow_origin(&cors, &none), None);
    }

    #[test]
    fn preflight_echoes_request_headers() {
        let cors = Cors {
            origin: CorsOrigin::Predicate(Arc::new(|o| o.ends_with(".test"))),
            exposed_headers: Some("x-b".into()),
            max_age: Some(60),
            ..Cors::default()
        };
        let p = req("http://x.test");
        let mut out = HeaderMap::new();
        cors.apply_preflight(&verdict(&cors, &p), &p.headers, &mut out);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://x.test");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_HEADERS], "x-a");
        assert_eq!(out[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-b");
        assert_eq!(out[header::ACCESS_CONTROL_MAX_AGE], "60");
        assert_eq!(
            out[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET,HEAD,PUT,PATCH,POST,DELETE"
        );
    }
}
