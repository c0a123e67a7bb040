//! JSON as the Node adapters write it (`JSON.stringify`) and read it
//! (`JSON.parse`).
//!
//! Output matches `JSON.stringify` byte for byte: keys in the order given,
//! no whitespace, only `"`, `\` and control characters escaped, numbers as
//! JS prints them. Buffers never reach JSON in this layer (the codecs switch
//! to msgpack when a message holds one); should one get here, it is written
//! as `Buffer#toJSON` does, `{"type":"Buffer","data":[…]}`.

use std::fmt::Write as _;

use serde_json::Number;

use super::shape::Node;
use super::DecodeError;
use crate::proto::{encode, Packet, Value};

/// Writes `value` as `JSON.stringify` would.
pub fn encode_value(value: &Value) -> String {
    encode_node(&Node::Value(value))
}

/// Parses JSON text (invalid UTF-8 replaced, as `Buffer#toString` does)
/// into a [`Value`] keeping key order, as `JSON.parse` does.
pub fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    let text = String::from_utf8_lossy(bytes);
    serde_json::from_str(&text).map_err(|e| DecodeError::new(format!("invalid JSON: {e}")))
}

pub(crate) fn encode_node(node: &Node<'_>) -> String {
    let mut out = String::with_capacity(128);
    write_node(&mut out, node);
    out
}

fn write_node(out: &mut String, node: &Node<'_>) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::UInt(n) => {
            let _ = write!(out, "{n}");
        }
        Node::Str(s) => write_str(out, s),
        Node::Value(v) => write_value(out, v),
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_node(out, item);
            }
            out.push(']');
        }
        Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_node(out, v);
            }
            out.push('}');
        }
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => write_str(out, s),
        Value::Binary(b) => {
            out.push_str(r#"{"type":"Buffer","data":["#);
            for (i, byte) in b.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{byte}");
            }
            out.push_str("]}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// A number as JS prints it (`String(n)`).
pub(crate) fn number_text(n: &Number) -> String {
    if n.is_f64() {
        // The crate's JSON encoder already formats doubles exactly as JS
        // does; a CONNECT packet on "/" is `0` followed by its payload.
        let text = encode(&Packet::connect("/", Some(Value::Number(n.clone())))).text;
        text.get(1..).unwrap_or("null").to_owned()
    } else {
        n.to_string()
    }
}

/// JSON string escaping as `JSON.stringify` does it.
fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `i` is a char boundary.
        out.push_str(s.get(start..i).unwrap_or_default());
        start = i + 1;
        if short.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_json_stringify() {
        let v = decode_value(br#"{"b":[1,1.5,-2,1e21,0.000001,null,true],"a":"x\"\u0001\n"}"#)
            .unwrap_or_default();
        assert_eq!(
            encode_value(&v),
            r#"{"b":[1,1.5,-2,1e+21,0.000001,null,true],"a":"x\"\u0001\n"}"#
        );
        assert_eq!(
            encode_value(&Value::from(vec![1u8, 255])),
            r#"{"type":"Buffer","data":[1,255]}"#
        );
        assert_eq!(encode_value(&Value::from(2.0)), "2");
    }

    #[test]
    fn rejects_bad_json() {
        assert!(decode_value(b"{").is_err());
        assert!(decode_value(b"{} x").is_err());
    }
}
