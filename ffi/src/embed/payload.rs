//! The wire form of payloads for foreign callers: JSON text plus a list of
//! binary buffers.
//!
//! An event's arguments travel as one JSON **array** (one element per
//! argument). A binary buffer anywhere in it is written as the Socket.IO
//! placeholder `{"_placeholder":true,"num":N}`, where `N` indexes the buffer
//! list, numbered depth-first from 0 — the same convention as the
//! socket.io-parser, so a caller that knows Socket.IO knows this one.
//!
//! [`encode`] turns values into that form, [`decode`] turns it back; the
//! round trip is exact (key order is kept, numbers keep their digits).

use bytes::Bytes;
use indexmap::IndexMap;
use sio_core::Value;

use super::Error;

/// Arguments as JSON text plus the buffers its placeholders point at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// A JSON array, one element per argument.
    pub json: String,
    /// The binary buffers, in placeholder order.
    pub bins: Vec<Bytes>,
}

impl Payload {
    /// Encodes a list of arguments.
    pub fn from_args(args: &[Value]) -> Payload {
        let mut p = Payload {
            json: String::with_capacity(64),
            bins: Vec::new(),
        };
        p.json.push('[');
        for (i, v) in args.iter().enumerate() {
            if i > 0 {
                p.json.push(',');
            }
            write_value(&mut p.json, v, &mut p.bins);
        }
        p.json.push(']');
        p
    }

    /// Encodes one value (not wrapped in an array).
    pub fn from_value(value: &Value) -> Payload {
        let mut p = Payload::default();
        write_value(&mut p.json, value, &mut p.bins);
        p
    }
}

/// Encodes arguments: the JSON array and its buffers.
pub fn encode(args: &[Value]) -> Payload {
    Payload::from_args(args)
}

/// Decodes arguments: `json` must be a JSON array (or `None` for no
/// arguments); each placeholder is replaced by its buffer. Buffers no
/// placeholder names are ignored.
pub fn decode(json: Option<&str>, bins: &[&[u8]]) -> Result<Vec<Value>, Error> {
    let Some(json) = json else {
        if !bins.is_empty() {
            return Err(Error::invalid(
                "binary buffers given without the JSON that places them",
            ));
        }
        return Ok(Vec::new());
    };
    match decode_value(json, bins)? {
        Value::Array(items) => Ok(items),
        _ => Err(Error::invalid(
            "arguments must be a JSON array, one element per argument",
        )),
    }
}

/// Decodes one JSON value with placeholders (not necessarily an array).
pub fn decode_value(json: &str, bins: &[&[u8]]) -> Result<Value, Error> {
    let mut value: Value =
        serde_json::from_str(json).map_err(|e| Error::invalid(format!("invalid JSON: {e}")))?;
    if !bins.is_empty() {
        fill_placeholders(&mut value, bins)?;
    } else if has_placeholder(&value) {
        return Err(Error::invalid(
            "placeholder without binary buffers (none were given)",
        ));
    }
    Ok(value)
}

/// The buffer index of a placeholder object, if `o` is one.
fn placeholder_num(o: &IndexMap<String, Value>) -> Option<Option<u64>> {
    match o.get("_placeholder") {
        Some(Value::Bool(true)) => Some(o.get("num").and_then(Value::as_u64)),
        _ => None,
    }
}

fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(o) => placeholder_num(o).is_some() || o.values().any(has_placeholder),
        _ => false,
    }
}

fn fill_placeholders(v: &mut Value, bins: &[&[u8]]) -> Result<(), Error> {
    match v {
        Value::Array(a) => a.iter_mut().try_for_each(|x| fill_placeholders(x, bins)),
        Value::Object(o) => match placeholder_num(o) {
            Some(Some(n)) => {
                let buf = usize::try_from(n)
                    .ok()
                    .and_then(|i| bins.get(i))
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "placeholder {n} has no buffer ({} given)",
                            bins.len()
                        ))
                    })?;
                *v = Value::Binary(Bytes::copy_from_slice(buf));
                Ok(())
            }
            Some(None) => Err(Error::invalid(
                "placeholder without a valid \"num\" (a non-negative integer)",
            )),
            None => o.values_mut().try_for_each(|x| fill_placeholders(x, bins)),
        },
        _ => Ok(()),
    }
}

/// Writes `v` as JSON, moving buffers out as placeholders.
fn write_value(out: &mut String, v: &Value, bins: &mut Vec<Bytes>) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_str(out, s),
        Value::Binary(b) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{{\"_placeholder\":true,\"num\":{}}}", bins.len());
            bins.push(b.clone());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, bins);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, item, bins);
            }
            out.push('}');
        }
    }
}

/// Writes a JSON string literal the way `JSON.stringify` does.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A value as JSON with buffers written as arrays of byte values (for
/// places that carry no buffer list, such as handshake data).
pub fn to_plain_json(v: &Value) -> String {
    let plain = strip_binary(v);
    let mut out = String::new();
    let mut none = Vec::new();
    write_value(&mut out, &plain, &mut none);
    out
}

fn strip_binary(v: &Value) -> Value {
    match v {
        Value::Binary(b) => Value::Array(b.iter().map(|x| Value::from(u32::from(*x))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(strip_binary).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), strip_binary(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_buffers() {
        let json = r#"["a",{"z":1,"b":{"_placeholder":true,"num":1}},[{"_placeholder":true,"num":0}],1.5,null,true]"#;
        let args = decode(Some(json), &[b"zero", b"one"]).expect("decode");
        assert_eq!(
            args[1].get("b"),
            Some(&Value::Binary(Bytes::from_static(b"one")))
        );
        let p = encode(&args);
        // Re-numbered depth-first.
        assert_eq!(
            p.json,
            r#"["a",{"z":1,"b":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1}],1.5,null,true]"#
        );
        assert_eq!(
            p.bins,
            vec![Bytes::from_static(b"one"), Bytes::from_static(b"zero")]
        );
    }

    #[test]
    fn errors() {
        assert!(decode(Some("{}"), &[]).is_err());
        assert!(decode(Some("[1,"), &[]).is_err());
        assert!(decode(Some(r#"[{"_placeholder":true,"num":2}]"#), &[b"x"]).is_err());
        assert!(decode(Some(r#"[{"_placeholder":true,"num":0}]"#), &[]).is_err());
        assert!(decode(Some(r#"[{"_placeholder":true}]"#), &[b"x"]).is_err());
        assert!(decode(None, &[b"x"]).is_err());
        assert_eq!(decode(None, &[]).expect("none"), Vec::<Value>::new());
        // Not a placeholder: `_placeholder` is not `true`.
        let v = decode(Some(r#"[{"_placeholder":1,"num":0}]"#), &[]).expect("plain");
        assert!(v[0].as_object().is_some());
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\n\u{1}\u{7f}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\"");
        let back: String = serde_json::from_str(&out).expect("json");
        assert_eq!(back, "a\"b\\c\n\u{1}\u{7f}é");
    }

    #[test]
    fn plain_json_writes_bytes() {
        let v = Value::array([Value::from(vec![1u8, 2])]);
        assert_eq!(to_plain_json(&v), "[[1,2]]");
    }
}
