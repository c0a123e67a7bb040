//! `fetchSockets` answers in JSON read straight into sockets: the answer is
//! the largest message a cluster carries (a handshake per socket), and
//! building a map for every socket and handshake first cost more than the
//! rest of the read. The fields of a socket and of its handshake go through
//! the same [`SocketFields`] / [`HandshakeFields`] as an answer read through
//! a [`Value`] map, so both readers agree; anything this one does not expect
//! (another kind of answer, a field it does not know at the top, a socket
//! that is not an object) makes it give up, and the caller reads the answer
//! the general way.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::decode::{HandshakeFields, SocketFields};
use super::{RemoteHandshake, RemoteSocket, RequestId};
use crate::proto::Value;

/// `{"requestId": "...", "sockets": [...]}` and nothing else.
pub(crate) struct FetchAnswer {
    pub request_id: RequestId,
    pub sockets: Vec<RemoteSocket>,
}

/// The answer in `text`, or `None` when it is not one this reader takes.
pub(crate) fn fetch_answer(text: &str) -> Option<FetchAnswer> {
    serde_json::from_str(text).ok()
}

impl<'de> Deserialize<'de> for FetchAnswer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(AnswerVisitor)
    }
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = FetchAnswer;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fetchSockets answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FetchAnswer, A::Error> {
        use serde::de::Error;
        let (mut request_id, mut sockets) = (None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "requestId" => request_id = Some(map.next_value::<String>()?),
                "sockets" => sockets = Some(map.next_value::<Sockets>()?.0),
                _ => return Err(A::Error::custom("not a fetchSockets answer")),
            }
        }
        match (request_id, sockets) {
            (Some(request_id), Some(sockets)) => Ok(FetchAnswer {
                request_id,
                sockets,
            }),
            _ => Err(A::Error::custom("not a fetchSockets answer")),
        }
    }
}

struct Sockets(Vec<RemoteSocket>);

impl<'de> Deserialize<'de> for Sockets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sockets;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of sockets")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sockets, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(s) = seq.next_element::<Socket>()? {
                    out.push(s.0);
                }
                Ok(Sockets(out))
            }
        }
        d.deserialize_seq(V)
    }
}

struct Socket(RemoteSocket);

impl<'de> Deserialize<'de> for Socket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Socket;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a socket")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Socket, A::Error> {
                use serde::de::Error;
                let mut s = SocketFields::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "handshake" {
                        s.handshake(map.next_value_seed(HandshakeSeed)?);
                    } else {
                        s.field(&key, map.next_value::<Value>()?);
                    }
                }
                s.finish().map(Socket).map_err(A::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}

/// A handshake; anything but an object reads as the default one, as in the
/// general reader.
struct HandshakeSeed;

impl<'de> DeserializeSeed<'de> for HandshakeSeed {
    type Value = RemoteHandshake;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RemoteHandshake, D::Error> {
        d.deserialize_any(HandshakeVisitor)
    }
}

struct HandshakeVisitor;

macro_rules! default_for {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E>(self, _: $t) -> Result<RemoteHandshake, E> {
            Ok(RemoteHandshake::default())
        })*
    };
}

impl<'de> Visitor<'de> for HandshakeVisitor {
    type Value = RemoteHandshake;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a handshake")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RemoteHandshake, A::Error> {
        let mut h = HandshakeFields::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            h.field(k, v);
        }
        Ok(h.finish())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RemoteHandshake, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RemoteHandshake::default())
    }

    fn visit_unit<E>(self) -> Result<RemoteHandshake, E> {
        Ok(RemoteHandshake::default())
    }

    default_for!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::cluster::decode::{object, sockets, take};
    use crate::adapter::cluster::json::decode_value;

    /// What the general reader makes of an answer.
    fn general(text: &str) -> (String, Vec<RemoteSocket>) {
        let mut m = object(decode_value(text.as_bytes()).expect("json"), "answer").expect("map");
        let id = match take(&mut m, "requestId") {
            Some(Value::String(s)) => s,
            other => panic!("{other:?}"),
        };
        (id, sockets(take(&mut m, "sockets")).expect("sockets"))
    }

    #[test]
    fn reads_answers_as_the_general_reader_does() {
        let answers = [
            r#"{"requestId":"r1","sockets":[]}"#,
            r#"{"requestId":"r2","sockets":[{"id":"a","handshake":{"headers":{"host":"x","set-cookie":["a=1","b=2"]},"time":"Sun Nov 22 2026","address":"::1","xdomain":true,"secure":1,"issued":1800000000000,"url":"/socket.io/?EIO=4","query":{"EIO":"4","t":["1","2"]},"auth":{"token":"\u00fcml"},"pid":7,"zeta":null},"rooms":["a","lobby",3],"data":{"n":[1,2.5,null]}}]}"#,
            // Defaults: a handshake that is not an object, or none; null rooms.
            r#"{"sockets":[{"id":12,"handshake":"nope","rooms":null},{"id":"b","handshake":null,"data":false},{"id":"c","handshake":[1,{"x":2}]},{"id":"d"}],"requestId":"r3"}"#,
            // Repeated keys: the last value, the first position.
            r#"{"requestId":"r4","sockets":[{"id":"a","handshake":{"b":1,"url":"/1","b":2,"url":"/2","auth":null},"id":"z","extra":1}]}"#,
        ];
        for text in answers {
            let typed = fetch_answer(text).unwrap_or_else(|| panic!("not read: {text}"));
            let (id, sockets) = general(text);
            assert_eq!(typed.request_id, id, "{text}");
            assert_eq!(typed.sockets, sockets, "{text}");
        }
    }

    #[test]
    fn leaves_other_answers_to_the_general_reader() {
        for text in [
            r#"{"requestId":"r","sockets":["a","b"]}"#,
            r#"{"requestId":"r","rooms":["a"]}"#,
            r#"{"requestId":"r","sockets":[],"type":3}"#,
            r#"{"requestId":7,"sockets":[]}"#,
            r#"{"requestId":"r","sockets":[{"handshake":{}}]}"#,
            r#"{"requestId":"r","sockets":{}}"#,
            r#"{"requestId":"r"}"#,
            r#"{"requestId":"r","sockets":[]} x"#,
        ] {
            assert!(fetch_answer(text).is_none(), "{text}");
        }
    }
}
