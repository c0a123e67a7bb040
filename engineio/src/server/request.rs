use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, Method, Uri, Version};

/// The remote address of a connection, put in request extensions by the
/// standalone server; an embedding app can insert it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// What the server keeps of the request that opened a session: the handshake
/// the upper layers expose (headers, query, address, time, url, secure).
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Request method.
    pub method: Method,
    /// Request URI, with the query.
    pub uri: Uri,
    /// HTTP version.
    pub version: Version,
    /// Request headers, shared with the layers above (the Socket.IO
    /// handshake of every namespace) rather than copied for each.
    pub headers: Arc<HeaderMap>,
    /// Peer address, when known.
    pub remote_addr: Option<SocketAddr>,
    /// When the request arrived.
    pub time: SystemTime,
    /// The mark the server's [`Middleware`](super::Middleware) gave the
    /// request, if any.
    pub tag: Option<u64>,
}

/// The mark of a request, in its extensions (see [`RequestInfo::tag`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestTag(pub(crate) u64);

impl RequestInfo {
    pub(crate) fn from_parts(parts: &http::request::Parts) -> Self {
        RequestInfo {
            method: parts.method.clone(),
            uri: own_uri(&parts.uri),
            version: parts.version,
            headers: Arc::new(own_headers(&parts.headers)),
            remote_addr: parts.extensions.get::<RemoteAddr>().map(|r| r.0),
            time: SystemTime::now(),
            tag: parts.extensions.get::<RequestTag>().map(|t| t.0),
        }
    }

    /// The query parameters, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_query(self.uri.query().unwrap_or(""))
    }

    /// One query parameter, percent-decoded.
    pub fn query(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether the connection came over TLS, as far as headers tell
    /// (`X-Forwarded-Proto`) or the URI scheme says.
    pub fn secure(&self) -> bool {
        self.uri.scheme_str() == Some("https")
            || self
                .headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }
}

/// A copy of the URI in its own allocation. A plain clone would share hyper's
/// read buffer and keep its 8 KiB alive for as long as the session lives.
fn own_uri(uri: &Uri) -> Uri {
    uri.to_string().parse().unwrap_or_else(|_| uri.clone())
}

/// A copy of the headers in their own allocations, for the same reason.
fn own_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name =
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
        let value =
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        out.append(name, value);
    }
    out
}

/// Parses `a=1&b=x%20y` into pairs, `+` as space, as URLSearchParams does.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("EIO=4&transport=polling&x=a%20b+c&flag&bad=%zz&end=%4"),
            vec![
                ("EIO".into(), "4".into()),
                ("transport".into(), "polling".into()),
                ("x".into(), "a b c".into()),
                ("flag".into(), "".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }
}
