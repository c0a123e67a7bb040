//! A serde `Deserializer` over an owned [`Value`].
//!
//! Buffers are offered as byte buffers (`visit_byte_buf`), so `bytes::Bytes`
//! and `serde_bytes::ByteBuf` fields receive them without a detour through
//! number arrays; a plain `Vec<u8>` asks for a sequence and gets the bytes
//! one by one. Everything else follows `serde_json`'s data model.

use super::{Value, ValueError};
use bytes::Bytes;
use indexmap::map::IntoIter as ObjectIter;
use serde::de::value::{SeqDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Error as _, IntoDeserializer, MapAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

/// Converts a [`Value`] into any `DeserializeOwned` type; [`Value::Binary`]
/// fills byte fields (`bytes::Bytes`, `serde_bytes::ByteBuf`, `Vec<u8>`).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

fn bytes_into_vec(b: Bytes) -> Vec<u8> {
    // Reuses the allocation when this is the only handle to it.
    Vec::from(b)
}

impl Value {
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Unexpected::Unsigned(u),
                (None, Some(i)) => Unexpected::Signed(i),
                (None, None) => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Unexpected::Str(s),
            Value::Binary(b) => Unexpected::Bytes(b),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }
}

fn visit_number<'de, V: Visitor<'de>>(
    n: &serde_json::Number,
    visitor: V,
) -> Result<V::Value, ValueError> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else {
        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    visitor: V,
) -> Result<V::Value, ValueError> {
    let mut seq = SeqDeserializer::new(items.into_iter());
    let value = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(value)
}

fn visit_object<'de, V: Visitor<'de>>(
    entries: indexmap::IndexMap<String, Value>,
    visitor: V,
) -> Result<V::Value, ValueError> {
    let len = entries.len();
    let mut map = ObjectAccess {
        entries: entries.into_iter(),
        value: None,
    };
    let value = visitor.visit_map(&mut map)?;
    if map.entries.len() == 0 {
        Ok(value)
    } else {
        Err(ValueError::invalid_length(len, &"fewer entries in map"))
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => visit_number(&n, visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(bytes_into_vec(b)),
            Value::Array(a) => visit_array(a, visitor),
            Value::Object(o) => visit_object(o, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            // `Vec<u8>` without serde_bytes asks for a sequence of numbers.
            Value::Binary(b) => {
                let mut seq = SeqDeserializer::new(bytes_into_vec(b).into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let (variant, value) = match self {
            Value::String(variant) => (variant, None),
            Value::Object(o) if o.len() == 1 => match o.into_iter().next() {
                Some((variant, value)) => (variant, Some(value)),
                None => return Err(ValueError::custom("empty enum object")),
            },
            other => {
                return Err(ValueError::invalid_type(
                    other.unexpected(),
                    &"a string or an object with a single key",
                ))
            }
        };
        visitor.visit_enum(Enum { variant, value })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct identifier
    }
}

/// Lets serde's `SeqDeserializer` hand out array elements.
impl IntoDeserializer<'_, ValueError> for Value {
    type Deserializer = Value;

    fn into_deserializer(self) -> Value {
        self
    }
}

struct ObjectAccess {
    entries: ObjectIter<String, Value>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for ObjectAccess {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                let key: StringDeserializer<ValueError> = key.into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(ValueError::custom("map value requested before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An externally tagged enum: the variant name and, unless it is a unit
/// variant, its content.
struct Enum {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for Enum {
    type Error = ValueError;
    type Variant = Content;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Content), ValueError> {
        let variant: StringDeserializer<ValueError> = self.variant.into_deserializer();
        Ok((seed.deserialize(variant)?, Content(self.value)))
    }
}

/// What follows an enum's variant name (`None` for a bare string).
struct Content(Option<Value>);

impl<'de> VariantAccess<'de> for Content {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(ValueError::invalid_type(
                other.unexpected(),
                &"unit variant",
            )),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        match self.0 {
            Some(value) => seed.deserialize(value),
            None => Err(ValueError::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(ValueError::invalid_type(
                other.unexpected(),
                &"tuple variant",
            )),
            None => Err(ValueError::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Object(entries)) => visit_object(entries, visitor),
            Some(Value::Array(items)) => visit_array(items, visitor),
            Some(other) => Err(ValueError::invalid_type(
                other.unexpected(),
                &"struct variant",
            )),
            None => Err(ValueError::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::to_value;
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Pair(i32, i32),
        Rect { w: u32, h: u32 },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Upload {
        name: String,
        #[serde(with = "serde_bytes")]
        raw: Vec<u8>,
        chunk: serde_bytes::ByteBuf,
        shared: Bytes,
        plain: Vec<u8>,
        note: Option<String>,
        shapes: Vec<Shape>,
        pair: (u8, String),
        tags: BTreeMap<String, bool>,
    }

    fn upload() -> Upload {
        Upload {
            name: "a.bin".into(),
            raw: vec![1, 2, 3],
            chunk: serde_bytes::ByteBuf::from(vec![4]),
            shared: Bytes::from_static(b"xyz"),
            plain: vec![7, 8],
            note: None,
            shapes: vec![
                Shape::Dot,
                Shape::Circle(1.5),
                Shape::Pair(-1, 2),
                Shape::Rect { w: 3, h: 4 },
            ],
            pair: (9, "nine".into()),
            tags: BTreeMap::from([("k".to_owned(), true)]),
        }
    }

    #[test]
    fn byte_fields_become_binary() {
        let v = to_value(&upload()).expect("to_value");
        assert_eq!(v.get("raw"), Some(&Value::from(vec![1u8, 2, 3])));
        assert_eq!(v.get("chunk"), Some(&Value::from(vec![4u8])));
        assert_eq!(v.get("shared"), Some(&Value::from(b"xyz".to_vec())));
        // Without serde_bytes a Vec<u8> is a sequence, as in serde_json.
        assert_eq!(v.get("plain"), Some(&Value::array([7, 8])));
        assert_eq!(v.get("note"), Some(&Value::Null));
    }

    #[test]
    fn enums_are_externally_tagged_like_serde_json() {
        let v = to_value(&upload()).expect("to_value");
        let shapes = serde_json::Value::from(v.get("shapes").cloned().expect("shapes"));
        assert_eq!(
            shapes,
            json!(["Dot", {"Circle": 1.5}, {"Pair": [-1, 2]}, {"Rect": {"w": 3, "h": 4}}])
        );
    }

    #[test]
    fn typed_round_trip() {
        let v = to_value(&upload()).expect("to_value");
        assert_eq!(from_value::<Upload>(v).expect("from_value"), upload());
    }

    #[test]
    fn binary_fills_plain_vec_and_number_arrays_fill_bytes() {
        let v = Value::array([Value::from(vec![5u8, 6]), Value::array([1, 2])]);
        let (plain, bytes): (Vec<u8>, Bytes) = from_value(v).expect("from_value");
        assert_eq!(plain, [5, 6]);
        assert_eq!(bytes, Bytes::from_static(&[1, 2]));
    }

    #[test]
    fn json_text_deserializes_into_types() {
        let v: Value = serde_json::from_str(r#"{"w":1,"h":2,"extra":[null]}"#).expect("json");
        #[derive(Deserialize, PartialEq, Debug)]
        struct Size {
            w: u8,
            h: u8,
        }
        assert_eq!(from_value::<Size>(v).expect("size"), Size { w: 1, h: 2 });
        assert_eq!(
            from_value::<Option<u8>>(Value::Null).expect("none"),
            None::<u8>
        );
        assert_eq!(
            from_value::<Value>(Value::from(vec![1u8])).expect("v"),
            Value::from(vec![1u8])
        );
    }

    #[test]
    fn type_mismatches_are_errors() {
        assert!(from_value::<u8>(Value::from(300)).is_err());
        assert!(from_value::<String>(Value::from(1)).is_err());
        assert!(from_value::<Shape>(Value::from(1)).is_err());
        assert!(from_value::<Shape>(Value::from("Nope")).is_err());
        assert!(from_value::<(u8,)>(Value::array([1, 2])).is_err());
        let err = from_value::<bool>(Value::from("x")).expect_err("mismatch");
        assert!(err.to_string().contains("expected a boolean"), "{err}");
    }
}
