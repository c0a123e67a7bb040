//! `Serialize`/`Deserialize` for [`Value`], so it can be read straight from
//! JSON text (no intermediate `serde_json::Value`) and written by any serde
//! format. Buffers go through serde's bytes methods, which formats with a
//! binary type (msgpack) keep as binary.

use super::Value;
use indexmap::IndexMap;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Caps pre-allocation from a peer-supplied size hint; the collection still
/// grows to its real size.
const MAX_PREALLOC: usize = 1024;

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Binary(b) => serializer.serialize_bytes(b),
            Value::Array(a) => serializer.collect_seq(a),
            Value::Object(o) => serializer.collect_map(o),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value or binary buffer")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(f.into())
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(s.into())
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(s.into())
    }

    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Binary(bytes::Bytes::copy_from_slice(b)))
    }

    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(b.into())
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = IndexMap::with_capacity(map.size_hint().unwrap_or(0).min(MAX_PREALLOC));
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            // A repeated key keeps its first position and its last value,
            // exactly as `JSON.parse` does.
            entries.insert(key, value);
        }
        Ok(Value::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_parse_keeps_key_order() {
        let v: Value = serde_json::from_str(r#"{"b":1,"a":2,"3":[true]}"#).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["b", "a", "3"]);
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        let v: Value = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).expect("json");
        let entries: Vec<(&str, u64)> = v
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_u64().expect("int")))
            .collect();
        assert_eq!(entries, [("a", 3), ("b", 2)]);
    }

    #[test]
    fn binary_serializes_as_bytes() {
        let v = Value::array([Value::from(vec![1u8, 2]), Value::from("x")]);
        assert_eq!(serde_json::to_string(&v).expect("json"), r#"[[1,2],"x"]"#);
    }
}
