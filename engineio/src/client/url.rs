//! Where the client connects: the server's address and the request URIs of
//! each transport.

use std::fmt::Write as _;

use super::config::ClientConfig;
use super::error::Error;
use super::tls::Tls;
use crate::server::TransportType;

/// The server's address plus the path and query every request carries.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    secure: bool,
    /// Host, with brackets around an IPv6 address.
    authority: String,
    path: String,
    /// Encoded query parameters (URL's, then the options'), ending in `&`
    /// when not empty.
    query: String,
    timestamp: Option<String>,
    tls: Tls,
}

impl Endpoint {
    /// Parses `http`, `https`, `ws` or `wss` URLs; a URL without a scheme is
    /// taken as `http`.
    pub(crate) fn parse(url: &str, config: &ClientConfig) -> Result<Endpoint, Error> {
        let with_scheme;
        let url = if url.contains("://") {
            url
        } else {
            with_scheme = format!("http://{url}");
            &with_scheme
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| Error::InvalidUrl(e.to_string()))?;
        let secure = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            other => {
                return Err(Error::InvalidUrl(format!(
                    "unsupported scheme {:?}",
                    other.unwrap_or_default()
                )))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::InvalidUrl("missing host".into()))?;
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let default_port = if secure { 443 } else { 80 };
        let authority = if port == default_port {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        let mut query = String::new();
        for pair in uri.query().unwrap_or_default().split('&') {
            if !pair.is_empty() {
                query.push_str(pair);
                query.push('&');
            }
        }
        for (k, v) in &config.query {
            push_component(&mut query, k);
            query.push('=');
            push_component(&mut query, v);
            query.push('&');
        }
        Ok(Endpoint {
            secure,
            authority,
            path: config.normalized_path(),
            query,
            timestamp: config
                .timestamp_requests
                .then(|| config.timestamp_param.clone()),
            tls: Tls::default(),
        })
    }

    /// Sets the TLS settings of the connection.
    pub(crate) fn set_tls(&mut self, tls: Tls) {
        self.tls = tls;
    }

    /// The TLS settings of the connection.
    pub(crate) fn tls(&self) -> &Tls {
        &self.tls
    }

    /// True for `https` / `wss`.
    pub(crate) fn secure(&self) -> bool {
        self.secure
    }

    /// The URI of a request on `transport`, for session `sid` if known.
    pub(crate) fn uri(&self, transport: TransportType, sid: Option<&str>) -> String {
        let scheme = match (transport, self.secure) {
            (TransportType::Polling, false) => "http",
            (TransportType::Polling, true) => "https",
            (TransportType::Websocket, false) => "ws",
            (TransportType::Websocket, true) => "wss",
        };
        let mut uri = format!(
            "{scheme}://{}{}?{}EIO=4&transport={}",
            self.authority,
            self.path,
            self.query,
            transport.as_str()
        );
        if let Some(sid) = sid {
            uri.push_str("&sid=");
            push_component(&mut uri, sid);
        }
        if let (TransportType::Polling, Some(param)) = (transport, &self.timestamp) {
            uri.push('&');
            push_component(&mut uri, param);
            uri.push('=');
            push_timestamp(&mut uri);
        }
        uri
    }
}

/// Appends `s` percent-encoded as JavaScript's `encodeURIComponent` does.
pub(crate) fn push_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// A short random cache buster, like the reference's `randomString()`.
fn push_timestamp(out: &mut String) {
    const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    let mut n: u64 = rand::random();
    for _ in 0..8 {
        out.push(ALPHABET[(n & 63) as usize] as char);
        n >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        let config = ClientConfig::default().timestamp_requests(false);
        Endpoint::parse(url, &config).expect("valid url")
    }

    #[test]
    fn builds_transport_uris() {
        let e = endpoint("http://localhost:3000/ignored?token=a%20b");
        assert_eq!(
            e.uri(TransportType::Polling, None),
            "http://localhost:3000/engine.io/?token=a%20b&EIO=4&transport=polling"
        );
        assert_eq!(
            e.uri(TransportType::Websocket, Some("ab/c")),
            "ws://localhost:3000/engine.io/?token=a%20b&EIO=4&transport=websocket&sid=ab%2Fc"
        );
    }

    #[test]
    fn default_ports_and_schemes() {
        let e = endpoint("wss://example.com");
        assert!(e.secure());
        assert_eq!(
            e.uri(TransportType::Polling, None),
            "https://example.com/engine.io/?EIO=4&transport=polling"
        );
        let e = endpoint("127.0.0.1:8080");
        assert_eq!(
            e.uri(TransportType::Websocket, None),
            "ws://127.0.0.1:8080/engine.io/?EIO=4&transport=websocket"
        );
        let e = endpoint("http://[::1]:9000");
        assert!(e
            .uri(TransportType::Polling, None)
            .starts_with("http://[::1]:9000/"));
    }

    #[test]
    fn options_query_is_encoded() {
        let config = ClientConfig::default().query(vec![("k y".into(), "é&=".into())]);
        let e = Endpoint::parse("http://h", &config).expect("valid url");
        let uri = e.uri(TransportType::Polling, Some("s"));
        assert!(uri.starts_with(
            "http://h/engine.io/?k%20y=%C3%A9%26%3D&EIO=4&transport=polling&sid=s&t="
        ));
        assert_eq!(
            uri.len(),
            "http://h/engine.io/?k%20y=%C3%A9%26%3D&EIO=4&transport=polling&sid=s&t=".len() + 8
        );
    }

    #[test]
    fn rejects_bad_urls() {
        let c = ClientConfig::default();
        assert!(Endpoint::parse("ftp://h", &c).is_err());
        assert!(Endpoint::parse("http://", &c).is_err());
        assert!(Endpoint::parse("not a url", &c).is_err());
    }
}
