//! JSON as the Node adapters write it (`JSON.stringify`) and read it
//! (`JSON.parse`), written by the crate's shared JSON writer (the default
//! Socket.IO parser's), which this module feeds the message trees.
//!
//! Output matches `JSON.stringify` byte for byte: keys in the order given,
//! no whitespace, only `"`, `\` and control characters escaped, numbers as
//! JS prints them. Buffers never reach JSON in this layer (the codecs switch
//! to msgpack when a message holds one); should one get here, it is written
//! as `Buffer#toJSON` does, `{"type":"Buffer","data":[…]}`.

use super::shape::Node;
use super::DecodeError;
use crate::proto::Value;
use crate::wire::json::{push_display, write_bool, write_node_buffer, write_str, write_value};

pub(crate) use crate::wire::json::number_text;

/// Writes `value` as `JSON.stringify` would.
pub fn encode_value(value: &Value) -> String {
    encode_node(&Node::Value(value))
}

/// Parses JSON text (invalid UTF-8 replaced, as `Buffer#toString` does)
/// into a [`Value`] keeping key order, as `JSON.parse` does.
pub fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    // Valid UTF-8 is checked by the fast validator; only invalid text pays
    // for the replacing one.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
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
        Node::Bool(b) => write_bool(out, *b),
        Node::UInt(n) => push_display(out, n),
        Node::Str(s) => write_str(out, s),
        Node::Value(v) => write_value(out, v, &mut write_node_buffer),
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
