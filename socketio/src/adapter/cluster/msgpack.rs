//! msgpack as the Node adapters write and read it: `notepack.io` 3 (classic
//! and sharded Redis adapters) and `@msgpack/msgpack` 2.8 (Streams adapter).
//!
//! The two agree on everything a cluster message holds, so one encoder
//! serves both:
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

use bytes::Bytes;
use indexmap::IndexMap;
use serde_json::Number;

use super::datetime::iso_from_millis;
use super::shape::Node;
use super::{DecodeError, EncodeError};
use crate::proto::Value;

/// How deep arrays and maps may nest.
const MAX_DEPTH: usize = 128;

const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// Encodes `value` as notepack would.
pub fn encode_value(value: &Value) -> Result<Vec<u8>, EncodeError> {
    encode_node(&Node::Value(value))
}

/// Decodes one whole msgpack document.
pub fn decode_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut reader = Reader { buf: bytes, pos: 0 };
    let item = reader.read(0)?;
    if reader.pos != bytes.len() {
        return Err(DecodeError::new(format!(
            "{} trailing bytes after the msgpack document",
            bytes.len() - reader.pos
        )));
    }
    Ok(item.unwrap_or(Value::Null))
}

pub(crate) fn encode_node(node: &Node<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer {
        out: Vec::with_capacity(128),
        too_large: false,
    };
    w.node(node);
    if w.too_large {
        Err(EncodeError::TooLarge)
    } else {
        Ok(w.out)
    }
}

struct Writer {
    out: Vec<u8>,
    too_large: bool,
}

impl Writer {
    fn node(&mut self, node: &Node<'_>) {
        match node {
            Node::Null => self.out.push(0xc0),
            Node::Bool(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Node::UInt(n) => self.uint(*n),
            Node::Str(s) => self.str(s),
            Node::Value(v) => self.value(v),
            Node::Array(items) => {
                self.array_len(items.len());
                for item in items {
                    self.node(item);
                }
            }
            Node::Map(entries) => {
                self.map_len(entries.len());
                for (k, v) in entries {
                    self.str(k);
                    self.node(v);
                }
            }
        }
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push(0xc0),
            Value::Bool(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.str(s),
            Value::Binary(b) => {
                self.sized(b.len(), [0xc4, 0xc5, 0xc6], None);
                self.out.extend_from_slice(b);
            }
            Value::Array(items) => {
                self.array_len(items.len());
                for item in items {
                    self.value(item);
                }
            }
            Value::Object(entries) => {
                self.map_len(entries.len());
                for (k, v) in entries {
                    self.str(k);
                    self.value(v);
                }
            }
        }
    }

    /// A length header: `fix` (with the length or-ed in) below its limit,
    /// then the 8/16/32-bit forms.
    fn sized(&mut self, len: usize, forms: [u8; 3], fix: Option<(u8, usize)>) {
        match fix {
            Some((base, limit)) if len < limit => self.out.push(base | len as u8),
            _ if len < 0x100 && forms[0] != 0 => self.out.extend_from_slice(&[forms[0], len as u8]),
            _ if len < 0x1_0000 => {
                self.out.push(forms[1]);
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                let len = u32::try_from(len).unwrap_or_else(|_| {
                    self.too_large = true;
                    0
                });
                self.out.push(forms[2]);
                self.out.extend_from_slice(&len.to_be_bytes());
            }
        }
    }

    fn str(&mut self, s: &str) {
        self.sized(s.len(), [0xd9, 0xda, 0xdb], Some((0xa0, 0x20)));
        self.out.extend_from_slice(s.as_bytes());
    }

    fn array_len(&mut self, len: usize) {
        self.sized(len, [0, 0xdc, 0xdd], Some((0x90, 0x10)));
    }

    fn map_len(&mut self, len: usize) {
        self.sized(len, [0, 0xde, 0xdf], Some((0x80, 0x10)));
    }

    fn uint(&mut self, n: u64) {
        if n < 0x80 {
            self.out.push(n as u8);
        } else if n < 0x100 {
            self.out.extend_from_slice(&[0xcc, n as u8]);
        } else if n < 0x1_0000 {
            self.out.push(0xcd);
            self.out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n < 0x1_0000_0000 {
            self.out.push(0xce);
            self.out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.out.push(0xcf);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn negative(&mut self, n: i64) {
        if n >= -0x20 {
            self.out.push(n as u8);
        } else if n >= -0x80 {
            self.out.extend_from_slice(&[0xd0, n as u8]);
        } else if n >= -0x8000 {
            self.out.push(0xd1);
            self.out.extend_from_slice(&(n as i16).to_be_bytes());
        } else if n >= -0x8000_0000 {
            self.out.push(0xd2);
            self.out.extend_from_slice(&(n as i32).to_be_bytes());
        } else {
            self.out.push(0xd3);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn number(&mut self, n: &Number) {
        if let Some(u) = n.as_u64() {
            self.uint(u);
        } else if let Some(i) = n.as_i64() {
            self.negative(i);
        } else if let Some(f) = n.as_f64() {
            if f.fract() == 0.0 && (0.0..TWO_POW_64).contains(&f) {
                self.uint(f as u64);
            } else if f.fract() == 0.0 && (-TWO_POW_63..0.0).contains(&f) {
                self.negative(f as i64);
            } else {
                self.out.push(0xcb);
                self.out.extend_from_slice(&f.to_be_bytes());
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn truncated() -> DecodeError {
    DecodeError::new("truncated msgpack")
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let slice = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self, bytes: usize) -> Result<usize, DecodeError> {
        Ok(match bytes {
            1 => usize::from(self.byte()?),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    /// Reads one item; `None` is JS `undefined`.
    fn read(&mut self, depth: usize) -> Result<Option<Value>, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::new("msgpack nested too deeply"));
        }
        let b = self.byte()?;
        let v = match b {
            0x00..=0x7f => Value::from(u64::from(b)),
            0x80..=0x8f => return self.map(usize::from(b & 0x0f), depth).map(Some),
            0x90..=0x9f => return self.array(usize::from(b & 0x0f), depth).map(Some),
            0xa0..=0xbf => self.str(usize::from(b & 0x1f))?,
            0xc0 => Value::Null,
            0xc1 => return Err(DecodeError::new("reserved msgpack byte 0xc1")),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (b - 0xc4))?;
                Value::Binary(Bytes::copy_from_slice(self.take(n)?))
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (b - 0xc7))?;
                return self.ext(n);
            }
            0xca => float(f64::from(f32::from_be_bytes(self.be()?))),
            0xcb => float(f64::from_be_bytes(self.be()?)),
            0xcc => Value::from(u64::from(self.byte()?)),
            0xcd => Value::from(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => Value::from(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => Value::from(u64::from_be_bytes(self.be()?)),
            0xd0 => Value::from(i64::from(i8::from_be_bytes(self.be()?))),
            0xd1 => Value::from(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Value::from(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Value::from(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => return self.ext(1 << (b - 0xd4)),
            0xd9..=0xdb => {
                let n = self.len(1 << (b - 0xd9))?;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.len(if b == 0xdc { 2 } else { 4 })?;
                return self.array(n, depth).map(Some);
            }
            0xde | 0xdf => {
                let n = self.len(if b == 0xde { 2 } else { 4 })?;
                return self.map(n, depth).map(Some);
            }
            0xe0..=0xff => Value::from(i64::from(b as i8)),
        };
        Ok(Some(v))
    }

    fn str(&mut self, n: usize) -> Result<Value, DecodeError> {
        let bytes = self.take(n)?;
        Ok(Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        // Every element takes at least one byte.
        if n > self.buf.len() - self.pos {
            return Err(truncated());
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.read(depth + 1)?.unwrap_or(Value::Null));
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        if n > (self.buf.len() - self.pos) / 2 {
            return Err(truncated());
        }
        let mut entries = IndexMap::with_capacity(n);
        for _ in 0..n {
            let key = match self.read(depth + 1)? {
                Some(Value::String(s)) => s,
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(DecodeError::new("msgpack map key is not a string")),
            };
            if let Some(value) = self.read(depth + 1)? {
                entries.insert(key, value);
            }
        }
        Ok(Value::Object(entries))
    }

    fn ext(&mut self, n: usize) -> Result<Option<Value>, DecodeError> {
        let kind = i8::from_be_bytes(self.be()?);
        let data = self.take(n)?;
        Ok(Some(match (kind, n) {
            (0, 1) => return Ok(None),
            (0, 8) => iso_from_millis(i64::from_be_bytes(
                data.try_into().map_err(|_| truncated())?,
            )),
            (0, _) => Value::Binary(Bytes::copy_from_slice(data)),
            (-1, 4 | 8 | 12) => timestamp(data),
            _ => Value::Array(vec![
                Value::from(i64::from(kind)),
                Value::Binary(Bytes::copy_from_slice(data)),
            ]),
        }))
    }
}

fn float(f: f64) -> Value {
    Value::from(f)
}

/// The msgpack timestamp extension as a JS `Date` in JSON: milliseconds
/// precision, as JS keeps.
fn timestamp(data: &[u8]) -> Value {
    let (secs, nanos): (i64, u32) = match data.len() {
        4 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(data);
            (i64::from(u32::from_be_bytes(b)), 0)
        }
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(data);
            let v = u64::from_be_bytes(b);
            ((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
        }
        _ => {
            let mut n = [0u8; 4];
            n.copy_from_slice(&data[..4]);
            let mut s = [0u8; 8];
            s.copy_from_slice(&data[4..12]);
            (i64::from_be_bytes(s), u32::from_be_bytes(n))
        }
    };
    match secs
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(nanos / 1_000_000)))
    {
        Some(ms) => iso_from_millis(ms),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
