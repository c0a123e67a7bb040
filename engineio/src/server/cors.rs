use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};

/// Which origins CORS lets in.
#[derive(Clone)]
pub enum CorsOrigin {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Reflect the request's origin, whatever it is.
    Reflect,
    /// Reflect the request's origin when it is in the list.
    List(Vec<String>),
    /// Reflect the request's origin when the predicate accepts it.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl std::fmt::Debug for CorsOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorsOrigin::Any => f.write_str("Any"),
            CorsOrigin::Reflect => f.write_str("Reflect"),
            CorsOrigin::List(l) => f.debug_tuple("List").field(l).finish(),
            CorsOrigin::Predicate(_) => f.write_str("Predicate(..)"),
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
        }
    }
}

impl Cors {
    /// CORS allowing any origin.
    pub fn any() -> Self {
        Cors::default()
    }

    /// Adds the headers of an actual (non-preflight) response.
    pub(crate) fn apply(&self, req: &HeaderMap, out: &mut HeaderMap) {
        self.apply_origin(req, out);
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = self
            .exposed_headers
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }

    /// Adds the headers of a preflight answer.
    pub(crate) fn apply_preflight(&self, req: &HeaderMap, out: &mut HeaderMap) {
        self.apply_origin(req, out);
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
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
    }

    fn apply_origin(&self, req: &HeaderMap, out: &mut HeaderMap) {
        let origin = req.get(header::ORIGIN);
        let allowed = match &self.origin {
            CorsOrigin::Any => {
                out.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                return;
            }
            CorsOrigin::Reflect => true,
            CorsOrigin::List(list) => origin
                .and_then(|o| o.to_str().ok())
                .is_some_and(|o| list.iter().any(|l| l == o)),
            CorsOrigin::Predicate(f) => origin.and_then(|o| o.to_str().ok()).is_some_and(|o| f(o)),
        };
        out.append(header::VARY, HeaderValue::from_static("Origin"));
        if let (true, Some(o)) = (allowed, origin) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("x-a"),
        );
        h
    }

    #[test]
    fn any_origin() {
        let mut out = HeaderMap::new();
        Cors::any().apply(&req("http://a"), &mut out);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn list_reflects_only_listed() {
        let cors = Cors {
            origin: CorsOrigin::List(vec!["http://a".into()]),
            credentials: true,
            ..Cors::default()
        };
        let mut out = HeaderMap::new();
        cors.apply(&req("http://a"), &mut out);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://a");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let mut out = HeaderMap::new();
        cors.apply(&req("http://b"), &mut out);
        assert!(out.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[test]
    fn preflight_echoes_request_headers() {
        let cors = Cors {
            origin: CorsOrigin::Predicate(Arc::new(|o| o.ends_with(".test"))),
            ..Cors::default()
        };
        let mut out = HeaderMap::new();
        cors.apply_preflight(&req("http://x.test"), &mut out);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://x.test");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_HEADERS], "x-a");
        assert_eq!(
            out[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET,HEAD,PUT,PATCH,POST,DELETE"
        );
    }
}
