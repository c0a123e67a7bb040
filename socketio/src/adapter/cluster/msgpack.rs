//! msgpack as the Node adapters write and read it: `notepack.io` 3 (classic
//! and sharded Redis adapters) and `@msgpack/msgpack` 2.8 (Streams adapter).
//!
//! Both are read and written by the crate's shared msgpack codec, which the
//! Socket.IO msgpack parser uses too; this module walks the message trees
//! the codecs build and maps its errors. The two libraries agree on
//! everything a cluster message holds, so one encoder serves both:
//! * maps in insertion order, strings as `str` (fixstr/str8/16/32), buffers
//!   as `bin`;
//! * integers (and integral doubles: JS cannot tell them apart) in the
//!   smallest format, unsigned for `>= 0`, signed below; other numbers as
//!   float 64.
//!
//! The decoder accepts all of msgpack and maps it to [`Value`] the way a JS
//! peer would see it after `JSON.stringify`:
//! * timestamps (extension −1, what both libraries write for a `Date`) and
//!   notepack 2's `fixext 8` type 0 dates become ISO strings, or `null` out of
//!   JS's range;
//! * `fixext 1` type 0 (notepack 2's `undefined`) is a missing key in a map
//!   and `null` in an array; other type-0 extensions (notepack 2's
//!   `ArrayBuffer`) are binary; other extensions become `[type, <binary>]`;
//! * integer map keys become their decimal text, as JS object keys do;
//! * invalid UTF-8 is replaced with U+FFFD, as `Buffer#toString` does;
//! * NaN and infinities become `null`.

use super::shape::Node;
use super::{DecodeError, EncodeError};
use crate::proto::Value;
use crate::wire::msgpack::{self, Dialect, TooLarge, Writer};

/// Encodes `value` as notepack would.
pub fn encode_value(value: &Value) -> Result<Vec<u8>, EncodeError> {
    encode_node(&Node::Value(value))
}

/// Decodes one whole msgpack document.
pub fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    msgpack::decode(bytes, Dialect::NodeAdapters)
        .map(|item| item.unwrap_or(Value::Null))
        .map_err(|e| DecodeError::new(format!("invalid msgpack: {e}")))
}

pub(crate) fn encode_node(node: &Node<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::with_capacity(128);
    write_node(&mut w, node);
    w.finish().map_err(|TooLarge| EncodeError::TooLarge)
}

fn write_node(w: &mut Writer, node: &Node<'_>) {
    match node {
        Node::Null => w.nil(),
        Node::Bool(b) => w.bool(*b),
        Node::UInt(n) => w.uint(*n),
        Node::Str(s) => w.str(s),
        Node::Value(v) => w.value(v),
        Node::Array(items) => {
            w.array_len(items.len());
            for item in items {
                write_node(w, item);
            }
        }
        Node::Map(entries) => {
            w.map_len(entries.len());
            for (k, v) in entries {
                w.str(k);
                write_node(w, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    #[test]
    fn scalars_use_the_smallest_form() {
        let cases: [(Value, &str); 12] = [
            (Value::from(0u64), "00"),
            (Value::from(127u64), "7f"),
            (Value::from(128u64), "cc80"),
            (Value::from(1500u64), "cd05dc"),
            (Value::from(70_000u64), "ce00011170"),
            (Value::from(1u64 << 40), "cf0000010000000000"),
            (Value::from(-1), "ff"),
            (Value::from(-33), "d0df"),
            (Value::from(-200), "d1ff38"),
            (Value::from(1.5), "cb3ff8000000000000"),
            (Value::from(2.0), "02"),
            (Value::from("a".repeat(40)), ""),
        ];
        for (v, expected) in cases.iter().take(11) {
            assert_eq!(encode_value(v).ok(), Some(hex(expected)), "{v:?}");
        }
        let long = encode_value(&cases[11].0).unwrap_or_default();
        assert_eq!(&long[..2], &[0xd9, 40]);
    }

    #[test]
    fn round_trips_containers_and_binary() {
        let mut obj = IndexMap::new();
        obj.insert("b".to_owned(), Value::from(vec![1u8, 2, 3]));
        obj.insert(
            "a".to_owned(),
            Value::array([Value::Null, Value::Bool(true)]),
        );
        let v = Value::Object(obj);
        let bytes = encode_value(&v).unwrap_or_default();
        assert_eq!(decode_value(&bytes), Ok(v));
        let big = Value::Array((0..70_000).map(|i| Value::from(i as u64 % 3)).collect());
        let bytes = encode_value(&big).unwrap_or_default();
        assert_eq!(bytes[0], 0xdd);
        assert_eq!(decode_value(&bytes), Ok(big));
    }

    #[test]
    fn extensions_map_like_js() {
        // notepack 2 undefined in a map: key dropped; in an array: null.
        assert_eq!(
            decode_value(&hex("82a161d40000a16201")),
            Ok(Value::Object(
                [("b".to_owned(), Value::from(1u64))].into_iter().collect()
            ))
        );
        assert_eq!(
            decode_value(&hex("91d40000")),
            Ok(Value::array([Value::Null]))
        );
        // Timestamp 32: 0 seconds.
        assert_eq!(
            decode_value(&hex("d6ff00000000")),
            Ok(Value::from("1970-01-01T00:00:00.000Z"))
        );
        // Timestamp 64: 1.5 s.
        let nanos: u64 = 500_000_000 << 34 | 1;
        let mut ts = hex("d7ff");
        ts.extend_from_slice(&nanos.to_be_bytes());
        assert_eq!(
            decode_value(&ts),
            Ok(Value::from("1970-01-01T00:00:01.500Z"))
        );
        // Unknown extension.
        assert_eq!(
            decode_value(&hex("d40507")),
            Ok(Value::array([Value::from(5), Value::from(vec![7u8])]))
        );
    }

    #[test]
    fn rejects_malformed_input_without_panicking() {
        for bad in [
            "",
            "c1",
            "92",
            "dd7fffffff",
            "a5616263",
            "81c0",
            "0000",
            "c7",
        ] {
            assert!(decode_value(&hex(bad)).is_err(), "{bad}");
        }
        let deep = vec![0x91u8; 200];
        assert!(decode_value(&deep).is_err());
    }
}
