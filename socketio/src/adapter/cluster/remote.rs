//! A socket of another server, as `fetchSockets` answers carry it.

use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;

use crate::adapter::Room;
use crate::proto::Value;
use crate::server::Handshake;
use crate::wire::date::node_date;

/// `socket.handshake` in the shape Node sends it (minus `sessionStore`):
/// Node user code reads these fields off remote sockets, so a Rust server's
/// answers must fill them the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteHandshake {
    /// Request headers, lowercase names; a value is a string, or an array
    /// of strings for `set-cookie`.
    pub headers: IndexMap<String, Value>,
    /// `new Date().toString()` when the session opened.
    pub time: String,
    /// Peer address.
    pub address: String,
    /// Whether the request came from another origin.
    pub xdomain: bool,
    /// Whether the connection came over TLS.
    pub secure: bool,
    /// When the session opened, in milliseconds since the epoch.
    pub issued: u64,
    /// Request URL (path and query).
    pub url: String,
    /// Query parameters; a repeated one is an array of strings.
    pub query: IndexMap<String, Value>,
    /// The CONNECT payload (`{}` when absent).
    pub auth: Value,
    /// Keys Node does not send today, kept in order after the others.
    pub extra: IndexMap<String, Value>,
}

impl Default for RemoteHandshake {
    fn default() -> RemoteHandshake {
        RemoteHandshake {
            headers: IndexMap::new(),
            time: String::new(),
            address: String::new(),
            xdomain: false,
            secure: false,
            issued: 0,
            url: String::new(),
            query: IndexMap::new(),
            auth: Value::Object(IndexMap::new()),
            extra: IndexMap::new(),
        }
    }
}

impl From<&Handshake> for RemoteHandshake {
    /// What Node would send for this handshake: headers as Node's
    /// `IncomingMessage#headers` joins them (`set-cookie` an array, `cookie`
    /// joined with `; `, others with `, `), a repeated query parameter as an
    /// array, `time` as a Node process in UTC prints it.
    fn from(h: &Handshake) -> RemoteHandshake {
        // `iter` yields the values of a name one after another: grouped as
        // they come, without a lookup per name; a name with one value (the
        // common case) keeps that value's string.
        let mut headers = IndexMap::with_capacity(h.headers.keys_len());
        let mut group: Option<(&http::HeaderName, String, Vec<String>)> = None;
        let flush =
            |headers: &mut IndexMap<String, Value>,
             (name, first, rest): (&http::HeaderName, String, Vec<String>)| {
                headers.insert(
                    name.as_str().to_owned(),
                    header_value(name.as_str(), first, rest),
                );
            };
        for (name, value) in h.headers.iter() {
            let text = match value.to_str() {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
            };
            match &mut group {
                Some((current, _, rest)) if *current == name => rest.push(text),
                _ => {
                    if let Some(done) = group.replace((name, text, Vec::new())) {
                        flush(&mut headers, done);
                    }
                }
            }
        }
        if let Some(done) = group {
            flush(&mut headers, done);
        }
        let mut query: IndexMap<String, Value> = IndexMap::with_capacity(h.query.len());
        for (k, v) in &h.query {
            match query.get_mut(k) {
                Some(Value::Array(items)) => items.push(Value::from(v.as_str())),
                Some(existing) => {
                    let first = std::mem::take(existing);
                    *existing = Value::Array(vec![first, Value::from(v.as_str())]);
                }
                None => {
                    query.insert(k.clone(), Value::from(v.as_str()));
                }
            }
        }
        RemoteHandshake {
            headers,
            time: node_date_string(h.time),
            address: h.address.clone(),
            xdomain: h.xdomain,
            secure: h.secure,
            issued: h.issued,
            url: h.url.clone(),
            query,
            auth: h.auth.clone(),
            extra: IndexMap::new(),
        }
    }
}

/// A header's values as Node's `IncomingMessage#headers` joins them.
fn header_value(name: &str, first: String, rest: Vec<String>) -> Value {
    match name {
        "set-cookie" => Value::Array(
            std::iter::once(first)
                .chain(rest)
                .map(Value::String)
                .collect(),
        ),
        _ if rest.is_empty() => Value::String(first),
        "cookie" => Value::String(joined(first, &rest, "; ")),
        _ => Value::String(joined(first, &rest, ", ")),
    }
}

fn joined(mut all: String, rest: &[String], sep: &str) -> String {
    for r in rest {
        all.push_str(sep);
        all.push_str(r);
    }
    all
}

/// `new Date(t).toString()` on a Node process running in UTC, e.g.
/// `Sun Nov 22 2026 02:51:03 GMT+0000 (Coordinated Universal Time)`.
pub fn node_date_string(t: SystemTime) -> String {
    let ms = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    };
    node_date(ms)
}

/// A socket as `fetchSockets` answers describe it: `{id, handshake, rooms,
/// data}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteSocket {
    /// The socket id (20 characters from Node and from this crate).
    pub id: String,
    /// How it connected.
    pub handshake: RemoteHandshake,
    /// Its rooms, its own id included.
    pub rooms: Vec<Room>,
    /// `socket.data`.
    pub data: Value,
}

impl RemoteSocket {
    /// `{id, handshake, rooms, data}` as a value, in the shape Node's
    /// `fetchSockets` hands out (for bindings that give it to user code).
    pub fn to_value(&self) -> Value {
        let h = &self.handshake;
        let mut hs = IndexMap::new();
        hs.insert("headers".to_owned(), Value::Object(h.headers.clone()));
        hs.insert("time".to_owned(), Value::String(h.time.clone()));
        hs.insert("address".to_owned(), Value::String(h.address.clone()));
        hs.insert("xdomain".to_owned(), Value::Bool(h.xdomain));
        hs.insert("secure".to_owned(), Value::Bool(h.secure));
        hs.insert("issued".to_owned(), Value::from(h.issued));
        hs.insert("url".to_owned(), Value::String(h.url.clone()));
        hs.insert("query".to_owned(), Value::Object(h.query.clone()));
        hs.insert("auth".to_owned(), h.auth.clone());
        for (k, v) in &h.extra {
            hs.insert(k.clone(), v.clone());
        }
        let mut m = IndexMap::new();
        m.insert("id".to_owned(), Value::String(self.id.clone()));
        m.insert("handshake".to_owned(), Value::Object(hs));
        m.insert(
            "rooms".to_owned(),
            Value::Array(
                self.rooms
                    .iter()
                    .map(|r| Value::String(r.to_string()))
                    .collect(),
            ),
        );
        m.insert("data".to_owned(), self.data.clone());
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn handshakes_take_node_shape() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("example.com"));
        headers.append("set-cookie", http::HeaderValue::from_static("a=1"));
        headers.append("set-cookie", http::HeaderValue::from_static("b=2"));
        headers.append("accept", http::HeaderValue::from_static("x"));
        headers.append("accept", http::HeaderValue::from_static("y"));
        headers.append("cookie", http::HeaderValue::from_static("s=1"));
        headers.append("cookie", http::HeaderValue::from_static("t=2"));
        if let Ok(v) = http::HeaderValue::from_bytes("café".as_bytes()) {
            headers.append("x-name", v);
        }
        let h = Handshake {
            headers: headers.into(),
            query: vec![
                ("EIO".into(), "4".into()),
                ("t".into(), "1".into()),
                ("t".into(), "2".into()),
            ],
            auth: Value::Object(IndexMap::new()),
            address: "127.0.0.1".into(),
            time: UNIX_EPOCH + Duration::from_millis(1_795_315_863_231),
            issued: 1_795_315_863_231,
            url: "/socket.io/?EIO=4".into(),
            secure: false,
            xdomain: true,
        };
        let r = RemoteHandshake::from(&h);
        assert_eq!(r.headers["host"], Value::from("example.com"));
        assert_eq!(
            r.headers["set-cookie"],
            Value::array([Value::from("a=1"), Value::from("b=2")])
        );
        assert_eq!(r.headers["accept"], Value::from("x, y"));
        assert_eq!(r.headers["cookie"], Value::from("s=1; t=2"));
        // Not visible ASCII: read as UTF-8, invalid bytes replaced.
        assert_eq!(r.headers["x-name"], Value::from("café"));
        let keys: Vec<&str> = r.headers.keys().map(String::as_str).collect();
        assert_eq!(keys, ["host", "set-cookie", "accept", "cookie", "x-name"]);
        let one = Handshake {
            headers: {
                let mut m = http::HeaderMap::new();
                m.insert("set-cookie", http::HeaderValue::from_static("a=1"));
                m.into()
            },
            ..h.clone()
        };
        assert_eq!(
            RemoteHandshake::from(&one).headers["set-cookie"],
            Value::array([Value::from("a=1")])
        );
        assert_eq!(r.query["EIO"], Value::from("4"));
        assert_eq!(
            r.query["t"],
            Value::array([Value::from("1"), Value::from("2")])
        );
        assert_eq!(
            r.time,
            "Sun Nov 22 2026 02:51:03 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(r.issued, 1_795_315_863_231);
        assert!(r.xdomain);
    }

    #[test]
    fn dates_print_like_node_in_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_315_863_231);
        assert_eq!(
            node_date_string(t),
            "Sun Nov 22 2026 02:51:03 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
