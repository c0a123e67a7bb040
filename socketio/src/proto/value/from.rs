//! Conversions between [`Value`] and plain Rust / `serde_json` values.

use super::Value;
use bytes::Bytes;
use indexmap::IndexMap;

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Value::Number(n.into())
            }
        }
    )*};
}

from_integer!(i32, i64, u32, u64, usize);

impl From<f64> for Value {
    /// Non-finite numbers become `Null`, as `JSON.stringify` does.
    fn from(f: f64) -> Self {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<u8>> for Value {
    /// Raw bytes are binary, not an array of numbers.
    fn from(b: Vec<u8>) -> Self {
        Value::Binary(b.into())
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Binary(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl From<IndexMap<String, Value>> for Value {
    fn from(o: IndexMap<String, Value>) -> Self {
        Value::Object(o)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` is `null`, as an absent optional argument is in JS.
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Value::Array(iter.into_iter().map(Into::into).collect())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => a.into_iter().collect(),
            serde_json::Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

impl From<Value> for serde_json::Value {
    /// Binary becomes an array of byte values: JSON has no buffers, and this
    /// is how `serde_json` itself serializes bytes.
    fn from(v: Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Binary(b) => b
                .iter()
                .map(|&byte| serde_json::Value::from(byte))
                .collect(),
            Value::Array(a) => a.into_iter().map(serde_json::Value::from).collect(),
            Value::Object(o) => serde_json::Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, serde_json::Value::from(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_convert() {
        assert_eq!(Value::from(true), Value::Bool(true));
        assert_eq!(Value::from(-3i32).as_i64(), Some(-3));
        assert_eq!(Value::from(7u32).as_u64(), Some(7));
        assert_eq!(Value::from(1.5).as_f64(), Some(1.5));
        assert_eq!(Value::from(f64::NAN), Value::Null);
        assert_eq!(Value::from("a"), Value::String("a".into()));
        assert_eq!(Value::from(None::<i64>), Value::Null);
        assert_eq!(Value::from(Some("x")), Value::from("x"));
    }

    #[test]
    fn bytes_become_binary() {
        assert_eq!(
            Value::from(vec![1u8, 2]),
            Value::Binary(Bytes::from_static(&[1, 2]))
        );
    }

    #[test]
    fn iterators_build_arrays() {
        let v: Value = ["a", "b"].into_iter().collect();
        assert_eq!(v, Value::Array(vec!["a".into(), "b".into()]));
        assert_eq!(
            Value::array([1, 2]),
            Value::Array(vec![Value::from(1), Value::from(2)])
        );
    }

    #[test]
    fn json_round_trip_keeps_structure() {
        let j = json!({"a": [1, "two", null, {"b": false}], "c": 2.5});
        assert_eq!(serde_json::Value::from(Value::from(j.clone())), j);
    }

    #[test]
    fn binary_to_json_is_number_array() {
        let v = Value::array([Value::from(vec![1u8, 255])]);
        assert_eq!(serde_json::Value::from(v), json!([[1, 255]]));
    }
}
