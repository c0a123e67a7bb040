//! The dynamic payload carried by Socket.IO packets.
//!
//! Socket.IO payloads are JSON with one extension: binary buffers may appear
//! anywhere in the tree. `serde_json::Value` cannot hold them, so this module
//! defines its own value type. Objects keep their key order because peers
//! compare echoed payloads byte for byte (`{"3":[true]}` must come back as
//! written).

mod de;
mod from;
mod ser;
mod serde_impl;

use bytes::Bytes;
use indexmap::IndexMap;

pub use de::from_value;
pub use ser::to_value;

/// A JSON-like value that may also contain binary buffers.
///
/// Binary buffers travel as separate attachments on the wire; the encoder and
/// decoder move them in and out of the tree so application code never sees
/// placeholders.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null` (also what JS `undefined` and non-finite numbers become).
    #[default]
    Null,
    /// JSON boolean.
    Bool(bool),
    /// JSON number; integers stay exact, JS peers read them as doubles.
    /// Equality follows `serde_json`: `1` and `1.0` are different values.
    Number(serde_json::Number),
    /// JSON string.
    String(String),
    /// A binary buffer (JS `Buffer`/`ArrayBuffer`), sent as an attachment.
    Binary(Bytes),
    /// JSON array.
    Array(Vec<Value>),
    /// JSON object in insertion order.
    Object(IndexMap<String, Value>),
}

/// Why a conversion between [`Value`] and a Rust type failed.
///
/// Carries serde's message only: callers report it, they do not branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl Value {
    /// Builds an array from anything convertible, e.g. an event's arguments.
    pub fn array<I>(items: I) -> Value
    where
        I: IntoIterator,
        I::Item: Into<Value>,
    {
        items.into_iter().collect()
    }

    /// True for `Null`; handlers use it to tell "no argument" apart.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as `f64` (how a JS peer sees every number).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The buffer, if this is binary.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, mutably, if this is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&IndexMap<String, Value>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The entries, mutably, if this is an object.
    pub fn as_object_mut(&mut self) -> Option<&mut IndexMap<String, Value>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// True if this value itself is a buffer.
    pub fn is_binary(&self) -> bool {
        matches!(self, Value::Binary(_))
    }

    /// True if a buffer appears anywhere in the tree, which decides whether a
    /// packet must be sent as BINARY_EVENT/BINARY_ACK.
    pub fn has_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(a) => a.iter().any(Value::has_binary),
            Value::Object(o) => o.values().any(Value::has_binary),
            _ => false,
        }
    }

    /// Looks up an object key; `None` for missing keys and non-objects alike,
    /// which is what reading an optional field needs.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_binary_finds_nested_buffers() {
        let nested = Value::array([Value::from("a"), Value::Object(IndexMap::new())]);
        assert!(!nested.has_binary());
        let mut obj = IndexMap::new();
        obj.insert("x".to_owned(), Value::array([Value::from(vec![1u8, 2])]));
        let deep = Value::array([Value::from(1), Value::Object(obj)]);
        assert!(deep.has_binary());
        assert!(!deep.is_binary());
        assert!(Value::from(Bytes::from_static(b"x")).is_binary());
    }

    #[test]
    fn accessors_match_variants() {
        let v = Value::array([Value::from("name"), Value::from(3u64), Value::from(-2)]);
        let items = v.as_array().expect("array");
        assert_eq!(items[0].as_str(), Some("name"));
        assert_eq!(items[1].as_u64(), Some(3));
        assert_eq!(items[2].as_i64(), Some(-2));
        assert_eq!(items[2].as_f64(), Some(-2.0));
        assert_eq!(items[0].as_u64(), None);
        assert!(Value::Null.is_null());
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::from(1).get("k"), None);
    }
}
