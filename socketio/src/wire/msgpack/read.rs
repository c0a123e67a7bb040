//! The msgpack decoder: any msgpack document to [`Value`], as a JS peer
//! would see it.

use bytes::Bytes;
use indexmap::IndexMap;

use super::MAX_DEPTH;
use crate::proto::Value;
use crate::wire::date::iso_from_millis;

/// Why bytes are not one msgpack document this crate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// The input ends inside an item, or a length announces more items or
    /// bytes than the input holds.
    #[error("truncated message")]
    Truncated,
    /// Bytes follow the document.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// `0xc1`, the one prefix msgpack leaves unused.
    #[error("unknown msgpack type 0xc1")]
    Reserved,
    /// Arrays and maps nest deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A map key is neither a string nor, where the [`Dialect`] takes them,
    /// a number.
    #[error("a map key is not a string")]
    KeyNotString,
}

/// Whose extension types and map keys a document is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `notepack.io` 2.2, as `socket.io-msgpack-parser` decodes:
    /// * `fixext 1` type 0 is JS `undefined`;
    /// * `fixext 8` type 0 is a `Date`: its ISO string, or `null` out of JS's
    ///   range;
    /// * `ext 8/16/32` type 0 is an `ArrayBuffer` (Node's notepack also
    ///   writes typed arrays that way): [`Value::Binary`];
    /// * any other extension is `[type, <binary>]`, as notepack returns;
    /// * map keys must be strings (JS would coerce others; this crate is
    ///   stricter).
    Notepack2,
    /// What a Node adapter (`notepack.io` 3, `@msgpack/msgpack`) may receive
    /// from any cluster member, older notepack 2 emitters included:
    /// * the timestamp extension (type −1, what both libraries write for a
    ///   `Date`) and type 0 with 8 bytes (notepack 2's `Date`) are ISO
    ///   strings, or `null` out of JS's range;
    /// * type 0 with 1 byte is `undefined`, other type-0 extensions are
    ///   binary, whatever their framing;
    /// * any other extension is `[type, <binary>]`;
    /// * integer map keys become their decimal text, as JS object keys do.
    NodeAdapters,
}

/// Decodes `input`, which must be exactly one document; `Ok(None)` is JS
/// `undefined`. Buffers are copied out of `input`.
pub(crate) fn decode(input: &[u8], dialect: Dialect) -> Result<Option<Value>, DecodeError> {
    Reader {
        buf: input,
        shared: None,
        pos: 0,
        dialect,
    }
    .document()
}

/// [`decode`], with buffers that share `input`'s memory instead of copies.
pub(crate) fn decode_shared(input: &Bytes, dialect: Dialect) -> Result<Option<Value>, DecodeError> {
    Reader {
        buf: input,
        shared: Some(input),
        pos: 0,
        dialect,
    }
    .document()
}

struct Reader<'a> {
    buf: &'a [u8],
    /// `buf` as reference-counted bytes, when buffers may point into it.
    shared: Option<&'a Bytes>,
    pos: usize,
    dialect: Dialect,
}

impl<'a> Reader<'a> {
    fn document(mut self) -> Result<Option<Value>, DecodeError> {
        let item = self.read(0)?;
        match self.remaining() {
            0 => Ok(item),
            rest => Err(DecodeError::TrailingBytes(rest)),
        }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| DecodeError::Truncated)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        self.array::<1>().map(|[b]| b)
    }

    fn i8(&mut self) -> Result<i8, DecodeError> {
        self.array::<1>().map(i8::from_be_bytes)
    }

    /// A big-endian length of `N` bytes.
    fn len<const N: usize>(&mut self) -> Result<usize, DecodeError> {
        let bytes = self.array::<N>()?;
        Ok(bytes.iter().fold(0, |len, &b| len << 8 | usize::from(b)))
    }

    fn binary(&mut self, n: usize) -> Result<Value, DecodeError> {
        let start = self.pos;
        let bytes = self.take(n)?;
        Ok(Value::Binary(match self.shared {
            Some(shared) => shared.slice(start..self.pos),
            None => Bytes::copy_from_slice(bytes),
        }))
    }

    fn str(&mut self, n: usize) -> Result<Value, DecodeError> {
        Ok(Value::String(
            String::from_utf8_lossy(self.take(n)?).into_owned(),
        ))
    }

    /// One item; `None` is JS `undefined`.
    fn read(&mut self, depth: usize) -> Result<Option<Value>, DecodeError> {
        let prefix = self.u8()?;
        let value = match prefix {
            0x00..=0x7f => Value::from(u64::from(prefix)),
            0x80..=0x8f => self.map(usize::from(prefix & 0x0f), depth)?,
            0x90..=0x9f => self.seq(usize::from(prefix & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(prefix & 0x1f))?,
            0xc0 => Value::Null,
            0xc1 => return Err(DecodeError::Reserved),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let len = self.len::<1>()?;
                self.binary(len)?
            }
            0xc5 => {
                let len = self.len::<2>()?;
                self.binary(len)?
            }
            0xc6 => {
                let len = self.len::<4>()?;
                self.binary(len)?
            }
            0xc7 => {
                let len = self.len::<1>()?;
                return self.ext(len, Framing::Sized);
            }
            0xc8 => {
                let len = self.len::<2>()?;
                return self.ext(len, Framing::Sized);
            }
            0xc9 => {
                let len = self.len::<4>()?;
                return self.ext(len, Framing::Sized);
            }
            0xca => Value::from(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Value::from(f64::from_be_bytes(self.array()?)),
            0xcc => Value::from(u64::from(self.u8()?)),
            0xcd => Value::from(u64::from(u16::from_be_bytes(self.array()?))),
            0xce => Value::from(u64::from(u32::from_be_bytes(self.array()?))),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::from(i64::from(self.i8()?)),
            0xd1 => Value::from(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Value::from(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Value::from(i64::from_be_bytes(self.array()?)),
            0xd4 => return self.ext(1, Framing::Fixed),
            0xd5 => return self.ext(2, Framing::Fixed),
            0xd6 => return self.ext(4, Framing::Fixed),
            0xd7 => return self.ext(8, Framing::Fixed),
            0xd8 => return self.ext(16, Framing::Fixed),
            0xd9 => {
                let len = self.len::<1>()?;
                self.str(len)?
            }
            0xda => {
                let len = self.len::<2>()?;
                self.str(len)?
            }
            0xdb => {
                let len = self.len::<4>()?;
                self.str(len)?
            }
            0xdc => {
                let len = self.len::<2>()?;
                self.seq(len, depth)?
            }
            0xdd => {
                let len = self.len::<4>()?;
                self.seq(len, depth)?
            }
            0xde => {
                let len = self.len::<2>()?;
                self.map(len, depth)?
            }
            0xdf => {
                let len = self.len::<4>()?;
                self.map(len, depth)?
            }
            0xe0..=0xff => Value::from(i64::from(prefix as i8)),
        };
        Ok(Some(value))
    }

    fn seq(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let depth = nested(depth)?;
        // Every item takes at least a byte: a forged length fails here
        // instead of allocating more than the input holds.
        if len > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(self.read(depth)?.unwrap_or(Value::Null));
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let depth = nested(depth)?;
        // Every entry takes at least two bytes.
        if len > self.remaining() / 2 {
            return Err(DecodeError::Truncated);
        }
        let mut entries = IndexMap::with_capacity(len);
        for _ in 0..len {
            let key = match self.read(depth)? {
                Some(Value::String(key)) => key,
                Some(Value::Number(n)) if self.dialect == Dialect::NodeAdapters => n.to_string(),
                _ => return Err(DecodeError::KeyNotString),
            };
            match self.read(depth)? {
                // Like a JS assignment: a repeated key keeps its place.
                Some(value) => {
                    entries.insert(key, value);
                }
                // A key set to `undefined` is left out by `JSON.stringify`.
                None => {
                    entries.shift_remove(&key);
                }
            }
        }
        Ok(Value::Object(entries))
    }

    /// An extension of `len` data bytes, its type byte next.
    fn ext(&mut self, len: usize, framing: Framing) -> Result<Option<Value>, DecodeError> {
        let ty = self.i8()?;
        // notepack 2 only knows its own fixext forms; the adapters read any
        // framing by type and length.
        let known = framing == Framing::Fixed || self.dialect == Dialect::NodeAdapters;
        match ty {
            0 if len == 1 && known => {
                self.take(1)?;
                Ok(None)
            }
            0 if len == 8 && known => {
                let ms = i64::from_be_bytes(self.array()?);
                Ok(Some(iso_from_millis(ms)))
            }
            0 if framing == Framing::Sized || self.dialect == Dialect::NodeAdapters => {
                self.binary(len).map(Some)
            }
            -1 if self.dialect == Dialect::NodeAdapters && matches!(len, 4 | 8 | 12) => {
                self.timestamp(len).map(Some)
            }
            _ => {
                let data = self.binary(len)?;
                Ok(Some(Value::Array(vec![Value::from(i64::from(ty)), data])))
            }
        }
    }

    /// The msgpack timestamp extension (32, 64 or 96 bits) as a JS `Date`
    /// in JSON: millisecond precision, as JS keeps.
    fn timestamp(&mut self, len: usize) -> Result<Value, DecodeError> {
        let (secs, nanos) = match len {
            4 => (i64::from(u32::from_be_bytes(self.array()?)), 0),
            8 => {
                let v = u64::from_be_bytes(self.array()?);
                ((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32)
            }
            _ => {
                let nanos = u32::from_be_bytes(self.array()?);
                (i64::from_be_bytes(self.array()?), nanos)
            }
        };
        Ok(secs
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(i64::from(nanos / 1_000_000)))
            .map_or(Value::Null, iso_from_millis))
    }
}

/// How an extension's length was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `fixext 1/2/4/8/16`.
    Fixed,
    /// `ext 8/16/32`.
    Sized,
}

/// The depth for the items of a container at `depth`.
fn nested(depth: usize) -> Result<usize, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    Ok(depth + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::msgpack::Writer;

    const BOTH: [Dialect; 2] = [Dialect::Notepack2, Dialect::NodeAdapters];

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    fn read(text: &str, dialect: Dialect) -> Result<Option<Value>, DecodeError> {
        decode(&hex(text), dialect)
    }

    fn bin(bytes: &[u8]) -> Value {
        Value::from(bytes.to_vec())
    }

    fn sample() -> Value {
        let entries = [
            ("s".to_owned(), Value::from("x".repeat(40))),
            ("b".to_owned(), bin(&[7; 300])),
            (
                "n".to_owned(),
                Value::array([Value::from(-1), Value::from(1.5), Value::from(70_000)]),
            ),
            (
                "m".to_owned(),
                Value::Object([("k".to_owned(), Value::Null)].into()),
            ),
        ];
        Value::Object(entries.into())
    }

    fn encoded(value: &Value) -> Vec<u8> {
        let mut w = Writer::default();
        w.value(value);
        w.finish().expect("encodes")
    }

    #[test]
    fn round_trips_in_both_dialects() {
        let value = sample();
        let bytes = encoded(&value);
        for dialect in BOTH {
            assert_eq!(decode(&bytes, dialect), Ok(Some(value.clone())));
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        let bytes = encoded(&sample());
        for dialect in BOTH {
            for len in 0..bytes.len() {
                assert_eq!(
                    decode(&bytes[..len], dialect),
                    Err(DecodeError::Truncated),
                    "{dialect:?} cut at {len}"
                );
            }
        }
        // Every prefix that announces more than follows.
        for text in [
            "cc", "cd00", "cf000000", "d9", "d905", "c6ffffff", "c70501", "d7ff0000", "d60000",
        ] {
            for dialect in BOTH {
                assert_eq!(read(text, dialect), Err(DecodeError::Truncated), "{text}");
            }
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        for dialect in BOTH {
            assert_eq!(read("c1", dialect), Err(DecodeError::Reserved));
            assert_eq!(read("c0c0", dialect), Err(DecodeError::TrailingBytes(1)));
            assert_eq!(read("81c0c0", dialect), Err(DecodeError::KeyNotString));
            assert_eq!(read("81d40000c0", dialect), Err(DecodeError::KeyNotString));
            // Forged lengths fail before allocating.
            for text in [
                "ddffffffff",
                "dfffffffff",
                "c6ffffffff",
                "dbffffffff",
                "c9ffffffff00",
            ] {
                assert_eq!(read(text, dialect), Err(DecodeError::Truncated), "{text}");
            }
        }
    }

    #[test]
    fn nesting_is_bounded() {
        for dialect in BOTH {
            let mut ok = vec![0x91; MAX_DEPTH - 1];
            ok.extend_from_slice(&[0x90]);
            assert!(decode(&ok, dialect).is_ok());
            let deep = vec![0x91; MAX_DEPTH + 1];
            assert_eq!(decode(&deep, dialect), Err(DecodeError::TooDeep));
            let far = vec![0x91; 1_000_000];
            assert_eq!(decode(&far, dialect), Err(DecodeError::TooDeep));
        }
    }

    #[test]
    fn undefined_is_dropped_like_in_js() {
        for dialect in BOTH {
            assert_eq!(read("d40000", dialect), Ok(None));
            assert_eq!(
                read("92d40000c0", dialect),
                Ok(Some(Value::array([Value::Null, Value::Null])))
            );
            // {a: 1, b: 2, a: undefined}: the assignment of undefined removes a.
            assert_eq!(
                read("83a16101a16202a161d40000", dialect),
                Ok(Some(Value::Object([("b".to_owned(), 2.into())].into())))
            );
        }
    }

    #[test]
    fn extensions_follow_the_dialect() {
        let date = Value::from("1970-01-01T00:00:00.001Z");
        let pair = |ty: i64, bytes: &[u8]| Value::array([ty.into(), bin(bytes)]);
        // (extension, notepack 2, Node adapters), each read inside an array
        // so that `undefined` shows as `null`.
        let cases = [
            ("d7000000000000000001", date.clone(), date.clone()),
            ("d40000", Value::Null, Value::Null),
            ("c70100ab", bin(&[0xab]), Value::Null),
            ("c7020001ab", bin(&[1, 0xab]), bin(&[1, 0xab])),
            (
                "c708000000000000000001",
                bin(&[0, 0, 0, 0, 0, 0, 0, 1]),
                date,
            ),
            ("d5000102", pair(0, &[1, 2]), bin(&[1, 2])),
            (
                "d6ff00000000",
                pair(-1, &[0; 4]),
                "1970-01-01T00:00:00.000Z".into(),
            ),
            ("d40509", pair(5, &[9]), pair(5, &[9])),
            ("c701ff09", pair(-1, &[9]), pair(-1, &[9])),
        ];
        for (ext, notepack2, adapters) in cases {
            let text = format!("91{ext}");
            let expect = |v: Value| Ok(Some(Value::array([v])));
            assert_eq!(read(&text, Dialect::Notepack2), expect(notepack2), "{ext}");
            assert_eq!(
                read(&text, Dialect::NodeAdapters),
                expect(adapters),
                "{ext}"
            );
        }
    }

    #[test]
    fn timestamps_keep_milliseconds() {
        // Timestamp 64: 1 s and 500 000 000 ns.
        let mut ts = hex("d7ff");
        ts.extend_from_slice(&(500_000_000u64 << 34 | 1).to_be_bytes());
        assert_eq!(
            decode(&ts, Dialect::NodeAdapters),
            Ok(Some(Value::from("1970-01-01T00:00:01.500Z")))
        );
        // Timestamp 96: -1 s and 0 ns; then seconds beyond JS's range.
        let before = "c70cff00000000ffffffffffffffff";
        assert_eq!(
            read(before, Dialect::NodeAdapters),
            Ok(Some(Value::from("1969-12-31T23:59:59.000Z")))
        );
        let beyond = "c70cff000000007fffffffffffffff";
        assert_eq!(read(beyond, Dialect::NodeAdapters), Ok(Some(Value::Null)));
    }

    #[test]
    fn integer_keys_follow_the_dialect() {
        assert_eq!(
            read("810102", Dialect::Notepack2),
            Err(DecodeError::KeyNotString)
        );
        assert_eq!(
            read("81ff02", Dialect::NodeAdapters),
            Ok(Some(Value::Object([("-1".to_owned(), 2.into())].into())))
        );
    }

    #[test]
    fn shared_buffers_point_into_the_input() {
        let input = Bytes::from(encoded(&bin(&[5; 64])));
        let Ok(Some(Value::Binary(shared))) = decode_shared(&input, Dialect::Notepack2) else {
            panic!("not a buffer");
        };
        assert!(input.as_ptr_range().contains(&shared.as_ptr()));
        let Ok(Some(Value::Binary(copied))) = decode(&input, Dialect::Notepack2) else {
            panic!("not a buffer");
        };
        assert!(!input.as_ptr_range().contains(&copied.as_ptr()));
        assert_eq!(shared, copied);
    }
}
