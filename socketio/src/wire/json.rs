//! Writes a [`Value`] as JSON text that matches JavaScript's `JSON.stringify`
//! byte for byte, straight into the output string.
//!
//! Exactness matters because peers (and the official test suites) compare
//! echoed packets and cluster messages as strings. Two things differ from
//! `serde_json`'s output: floats follow JS (see [`super::js_number`]), and
//! JSON has no buffers, so each writer says how its format renders one (an
//! attachment placeholder, an array of byte values, `Buffer#toJSON`).

use std::fmt::{Display, Write as _};

use bytes::Bytes;
use serde_json::Number;

use super::js_number::write_f64;
use crate::proto::Value;

/// Appends `value` as JSON; `binary` writes each buffer in its place.
pub(crate) fn write_value<F>(out: &mut String, value: &Value, binary: &mut F)
where
    F: FnMut(&mut String, &Bytes),
{
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => write_bool(out, *b),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Binary(b) => binary(out, b),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, binary);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item, binary);
            }
            out.push('}');
        }
    }
}

/// A buffer as an array of byte values: what `serde_json` writes for bytes,
/// and what socket.io-parser sends where a packet cannot have attachments.
pub(crate) fn write_byte_array(out: &mut String, bytes: &Bytes) {
    out.push('[');
    write_bytes(out, bytes);
    out.push(']');
}

/// A buffer as Node's `Buffer#toJSON` gives it to `JSON.stringify`:
/// `{"type":"Buffer","data":[…]}`.
pub(crate) fn write_node_buffer(out: &mut String, bytes: &Bytes) {
    out.push_str(r#"{"type":"Buffer","data":["#);
    write_bytes(out, bytes);
    out.push_str("]}");
}

fn write_bytes(out: &mut String, bytes: &[u8]) {
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_display(out, byte);
    }
}

/// `true` or `false`.
pub(crate) fn write_bool(out: &mut String, b: bool) {
    out.push_str(if b { "true" } else { "false" });
}

/// Appends `value`'s `Display` text.
pub(crate) fn push_display(out: &mut String, value: impl Display) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

/// A number as JS prints it (`String(n)`), which is also its JSON text.
pub(crate) fn number_text(n: &Number) -> String {
    let mut out = String::new();
    write_number(&mut out, n);
    out
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64() {
        push_display(out, u);
    } else if let Some(i) = n.as_i64() {
        push_display(out, i);
    } else {
        write_f64(out, n.as_f64().unwrap_or(f64::NAN));
    }
}

/// JSON string escaping as `JSON.stringify` does it: only `"`, `\` and
/// control characters, the short forms where JSON has them, lowercase hex
/// otherwise.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Most strings need no escaping; a branch-free scan (which vectorizes)
    // finds that out faster than the escaping loop.
    if s.bytes().fold(false, |found, b| found | needs_escape(b)) {
        write_escaped(out, s);
    } else {
        out.push_str(s);
    }
    out.push('"');
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

fn write_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        if !needs_escape(byte) {
            continue;
        }
        // Escaped bytes are ASCII, so `i` is always a char boundary.
        out.push_str(s.get(start..i).unwrap_or_default());
        start = i + 1;
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
                continue;
            }
        };
        out.push_str(short);
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: &Value) -> String {
        let mut out = String::new();
        write_value(&mut out, value, &mut write_byte_array);
        out
    }

    #[test]
    fn strings_escape_like_js() {
        let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}é😀\u{2028}/";
        assert_eq!(
            json(&Value::from(s)),
            r#""a\"b\\c\n\r\t\b\f\u0000\u001f"#.to_owned() + "\u{7f}é😀\u{2028}/\""
        );
        assert_eq!(json(&Value::from("")), r#""""#);
    }

    #[test]
    fn matches_serde_json_for_plain_json() {
        let text = r#"{"b":[1,-2,"x\u0001",null,true,{}],"a":{"c":[]},"é":"\"q\""}"#;
        let value: Value = serde_json::from_str(text).expect("json");
        assert_eq!(json(&value), text);
    }

    #[test]
    fn buffers_are_written_by_the_caller() {
        let value = Value::array([Value::from(vec![1u8, 2]), Value::from(Vec::<u8>::new())]);
        assert_eq!(json(&value), "[[1,2],[]]");
        let mut out = String::new();
        write_value(&mut out, &value, &mut write_node_buffer);
        assert_eq!(
            out,
            r#"[{"type":"Buffer","data":[1,2]},{"type":"Buffer","data":[]}]"#
        );
    }

    #[test]
    fn numbers_print_like_js() {
        let value: Value = serde_json::from_str("[1,-2,1.5,1e21,0.000001]").expect("json");
        assert_eq!(json(&value), "[1,-2,1.5,1e+21,0.000001]");
        for (text, js) in [
            ("2.0", "2"),
            ("-0.0", "0"),
            ("18446744073709551615", "18446744073709551615"),
        ] {
            let n: Number = serde_json::from_str(text).expect("number");
            assert_eq!(number_text(&n), js, "{text}");
        }
    }
}
