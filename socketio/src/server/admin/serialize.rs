//! Sockets as the UI receives them (the reference's `serialize`):
//! `{id, clientId, transport, nsp, data, handshake: {address, headers,
//! query, issued, secure, time, url, xdomain}, rooms}`.

use indexmap::IndexMap;

use crate::adapter::cluster::iso_from_millis;
use crate::adapter::{RemoteHandshake, RemoteSocket};
use crate::proto::Value;
use crate::server::Socket;

use super::stats::now_millis;

/// The key under which the reference keeps its own fields in `socket.data`
/// (`{clientId, transport}`), so other servers of a cluster see them.
pub(crate) const ADMIN_KEY: &str = "_admin";

/// `new Date()` as the UI receives it (`toISOString()`).
pub(crate) fn now() -> Value {
    iso_from_millis(i64::try_from(now_millis()).unwrap_or(i64::MAX))
}

/// The first 12 characters of an Engine.IO session id (the reference's
/// `clientId`).
pub(crate) fn client_id(conn_id: &str) -> String {
    conn_id.chars().take(12).collect()
}

/// `{clientId, transport}`, what the reference stores as `data._admin`.
pub(crate) fn admin_fields(socket: &Socket) -> Value {
    let mut o = IndexMap::new();
    o.insert(
        "clientId".to_owned(),
        Value::String(client_id(socket.conn_id().as_str())),
    );
    o.insert("transport".to_owned(), Value::from(socket.transport()));
    Value::Object(o)
}

/// `socket.data` without `_admin` (the reference's `serializeData`); no
/// data at all is `{}`.
pub(crate) fn data_without_admin(data: &Value) -> Value {
    match data {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != ADMIN_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Value::Null => Value::Object(IndexMap::new()),
        other => other.clone(),
    }
}

/// A socket of this server.
pub(crate) fn local_socket(socket: &Socket) -> Value {
    let fields = admin_fields(socket);
    let handshake = RemoteHandshake::from(socket.handshake());
    described(
        socket.id().as_str(),
        fields.get("clientId").cloned(),
        fields.get("transport").cloned(),
        socket.nsp(),
        &socket.data(),
        &handshake,
        own_room_first(socket.id().as_str(), socket.rooms()),
    )
}

/// A socket of another server of the cluster, as its `fetchSockets` answer
/// describes it: `clientId` and `transport` come from its `data._admin`
/// (left out, as `undefined` in the reference, when that server keeps no
/// such field).
pub(crate) fn remote_socket(r: &RemoteSocket, nsp: &str) -> Value {
    let admin = r.data.get(ADMIN_KEY);
    described(
        &r.id,
        admin.and_then(|a| a.get("clientId")).cloned(),
        admin.and_then(|a| a.get("transport")).cloned(),
        nsp,
        &r.data,
        &r.handshake,
        own_room_first(&r.id, r.rooms.clone()),
    )
}

fn own_room_first(id: &str, rooms: Vec<crate::adapter::Room>) -> Vec<crate::adapter::Room> {
    let (mut own, others): (Vec<_>, Vec<_>) = rooms.into_iter().partition(|r| &**r == id);
    let mut others = others;
    others.sort();
    own.extend(others);
    own
}

fn described(
    id: &str,
    client_id: Option<Value>,
    transport: Option<Value>,
    nsp: &str,
    data: &Value,
    handshake: &RemoteHandshake,
    rooms: Vec<crate::adapter::Room>,
) -> Value {
    let mut o = IndexMap::new();
    o.insert("id".to_owned(), Value::from(id));
    if let Some(c) = client_id {
        o.insert("clientId".to_owned(), c);
    }
    if let Some(t) = transport {
        o.insert("transport".to_owned(), t);
    }
    o.insert("nsp".to_owned(), Value::from(nsp));
    o.insert("data".to_owned(), data_without_admin(data));
    o.insert("handshake".to_owned(), serialize_handshake(handshake));
    o.insert(
        "rooms".to_owned(),
        Value::Array(rooms.iter().map(|r| Value::from(&**r)).collect()),
    );
    Value::Object(o)
}

/// A header value JS would find truthy: a non-empty string or an array.
fn truthy_header<'a>(headers: &'a IndexMap<String, Value>, name: &str) -> Option<&'a Value> {
    headers.get(name).filter(|v| match v {
        Value::String(s) => !s.is_empty(),
        Value::Null => false,
        _ => true,
    })
}

fn serialize_handshake(h: &RemoteHandshake) -> Value {
    // The reference shows the client's address as a proxy reports it.
    let address = truthy_header(&h.headers, "cf-connecting-ip")
        .or_else(|| truthy_header(&h.headers, "x-forwarded-for"))
        .cloned()
        .unwrap_or_else(|| Value::from(h.address.as_str()));
    let mut o = IndexMap::new();
    o.insert("address".to_owned(), address);
    o.insert("headers".to_owned(), Value::Object(h.headers.clone()));
    o.insert("query".to_owned(), Value::Object(h.query.clone()));
    o.insert("issued".to_owned(), Value::from(h.issued));
    o.insert("secure".to_owned(), Value::Bool(h.secure));
    o.insert("time".to_owned(), Value::from(h.time.as_str()));
    o.insert("url".to_owned(), Value::from(h.url.as_str()));
    o.insert("xdomain".to_owned(), Value::Bool(h.xdomain));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn data_loses_admin_only() {
        let d = obj(&[
            ("_admin", obj(&[("clientId", Value::from("x"))])),
            ("user", Value::from("bob")),
        ]);
        assert_eq!(data_without_admin(&d), obj(&[("user", Value::from("bob"))]));
        assert_eq!(data_without_admin(&Value::Null), obj(&[]));
        assert_eq!(data_without_admin(&Value::from(3)), Value::from(3));
    }

    #[test]
    fn remote_sockets_take_admin_fields_from_data() {
        let mut headers = IndexMap::new();
        headers.insert("x-forwarded-for".to_owned(), Value::from("10.0.0.1"));
        let r = RemoteSocket {
            id: "abc".into(),
            handshake: RemoteHandshake {
                headers,
                address: "127.0.0.1".into(),
                ..Default::default()
            },
            rooms: vec!["room".into(), "abc".into()],
            data: obj(&[(
                "_admin",
                obj(&[
                    ("clientId", Value::from("0123456789ab")),
                    ("transport", Value::from("websocket")),
                ]),
            )]),
        };
        let v = remote_socket(&r, "/chat");
        assert_eq!(v.get("clientId"), Some(&Value::from("0123456789ab")));
        assert_eq!(v.get("transport"), Some(&Value::from("websocket")));
        assert_eq!(v.get("nsp"), Some(&Value::from("/chat")));
        assert_eq!(v.get("data"), Some(&obj(&[])));
        assert_eq!(
            v.get("rooms"),
            Some(&Value::array([Value::from("abc"), Value::from("room")]))
        );
        let h = v.get("handshake").expect("handshake");
        assert_eq!(h.get("address"), Some(&Value::from("10.0.0.1")));
        assert!(h.get("auth").is_none());

        let bare = RemoteSocket {
            id: "def".into(),
            ..Default::default()
        };
        let v = remote_socket(&bare, "/");
        assert!(v.get("clientId").is_none());
        assert!(v.get("transport").is_none());
        assert_eq!(
            v.get("handshake").and_then(|h| h.get("address")),
            Some(&Value::from(""))
        );
    }
}
