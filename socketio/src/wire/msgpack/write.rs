//! The msgpack encoder: notepack's choice of formats for every value.

use serde_json::Number;

use super::{TWO_POW_63, TWO_POW_64};
use crate::proto::Value;

/// A string, buffer, array or map has `2^32` or more bytes or elements,
/// which msgpack cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a string, buffer, array or map is too large for msgpack (2^32 or more)")]
pub(crate) struct TooLarge;

/// Appends msgpack items to a buffer. Containers are written as a header
/// ([`array_len`](Writer::array_len), [`map_len`](Writer::map_len)) followed
/// by their items, so callers can write trees other than [`Value`].
///
/// A length msgpack cannot express is remembered rather than returned by
/// every call: the bytes are only reachable through
/// [`finish`](Writer::finish), which reports it, and the common path keeps
/// no error branch per item.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
    too_large: bool,
}

/// The length-prefixed msgpack families and their header formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    Str,
    Bin,
    Array,
    Map,
}

impl Header {
    /// The fix form (base byte, exclusive limit), if any, the 8-bit form, if
    /// any, and the 16- and 32-bit forms.
    #[inline(always)]
    fn forms(self) -> (Option<(u8, usize)>, Option<u8>, u8, u8) {
        match self {
            Header::Str => (Some((0xa0, 0x20)), Some(0xd9), 0xda, 0xdb),
            Header::Bin => (None, Some(0xc4), 0xc5, 0xc6),
            Header::Array => (Some((0x90, 0x10)), None, 0xdc, 0xdd),
            Header::Map => (Some((0x80, 0x10)), None, 0xde, 0xdf),
        }
    }
}

/// Writes the header of a `header` item of `len` bytes or elements in the
/// smallest form; nothing is written when `len` does not fit in 32 bits.
// Always inlined: with `header` a constant at every call site, the choice of
// forms folds away and each caller gets the branches it needs.
#[inline(always)]
fn write_header(out: &mut Vec<u8>, header: Header, len: usize) -> Result<(), TooLarge> {
    let (fix, form8, form16, form32) = header.forms();
    match (fix, form8) {
        (Some((base, limit)), _) if len < limit => out.push(base | len as u8),
        (_, Some(form8)) if len < 0x100 => out.extend_from_slice(&[form8, len as u8]),
        _ => {
            if let Ok(len) = u16::try_from(len) {
                out.push(form16);
                out.extend_from_slice(&len.to_be_bytes());
            } else {
                let len = u32::try_from(len).map_err(|_| TooLarge)?;
                out.push(form32);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
    }
    Ok(())
}

impl Writer {
    /// An empty writer whose buffer starts with `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Writer {
        Writer {
            out: Vec::with_capacity(capacity),
            too_large: false,
        }
    }

    /// The bytes written, or [`TooLarge`] if anything was.
    pub(crate) fn finish(self) -> Result<Vec<u8>, TooLarge> {
        if self.too_large {
            Err(TooLarge)
        } else {
            Ok(self.out)
        }
    }

    #[inline(always)]
    fn header(&mut self, header: Header, len: usize) {
        if write_header(&mut self.out, header, len).is_err() {
            self.too_large = true;
        }
    }

    /// `nil`.
    #[inline]
    pub(crate) fn nil(&mut self) {
        self.out.push(0xc0);
    }

    /// `true` or `false`.
    #[inline]
    pub(crate) fn bool(&mut self, b: bool) {
        self.out.push(if b { 0xc3 } else { 0xc2 });
    }

    /// A string.
    #[inline]
    pub(crate) fn str(&mut self, s: &str) {
        self.header(Header::Str, s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    /// A buffer, as `bin`.
    #[inline]
    pub(crate) fn bin(&mut self, bytes: &[u8]) {
        self.header(Header::Bin, bytes.len());
        self.out.extend_from_slice(bytes);
    }

    /// The header of an array of `len` items, which the caller writes next.
    #[inline]
    pub(crate) fn array_len(&mut self, len: usize) {
        self.header(Header::Array, len);
    }

    /// The header of a map of `len` entries, whose keys and values the
    /// caller writes next, alternating.
    #[inline]
    pub(crate) fn map_len(&mut self, len: usize) {
        self.header(Header::Map, len);
    }

    /// A whole value.
    pub(crate) fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.nil(),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.str(s),
            Value::Binary(b) => self.bin(b),
            Value::Array(items) => {
                self.array_len(items.len());
                for item in items {
                    self.value(item);
                }
            }
            Value::Object(entries) => {
                self.map_len(entries.len());
                for (key, value) in entries {
                    self.str(key);
                    self.value(value);
                }
            }
        }
    }

    /// notepack's integer formats: the smallest unsigned one for `n >= 0`.
    #[inline]
    pub(crate) fn uint(&mut self, n: u64) {
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

    /// notepack's integer formats: the smallest signed one for `n < 0`.
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
            // JS has only doubles: notepack writes the integral ones as
            // integers. `-0.0 >= 0.0`, so -0 becomes 0 as in notepack.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: Header, len: usize) -> Result<Vec<u8>, TooLarge> {
        let mut out = Vec::new();
        write_header(&mut out, kind, len).map(|()| out)
    }

    #[test]
    fn headers_use_the_smallest_form() {
        let cases: [(Header, usize, &[u8]); 16] = [
            (Header::Str, 31, &[0xbf]),
            (Header::Str, 32, &[0xd9, 32]),
            (Header::Str, 0x100, &[0xda, 1, 0]),
            (Header::Str, 0x1_0000, &[0xdb, 0, 1, 0, 0]),
            (Header::Bin, 0, &[0xc4, 0]),
            (Header::Bin, 0xff, &[0xc4, 0xff]),
            (Header::Bin, 0xffff, &[0xc5, 0xff, 0xff]),
            (Header::Bin, 0x1_0000, &[0xc6, 0, 1, 0, 0]),
            (Header::Array, 15, &[0x9f]),
            (Header::Array, 16, &[0xdc, 0, 16]),
            (Header::Array, 0xffff, &[0xdc, 0xff, 0xff]),
            (Header::Array, 0x1_0000, &[0xdd, 0, 1, 0, 0]),
            (Header::Map, 0, &[0x80]),
            (Header::Map, 0x100, &[0xde, 1, 0]),
            (Header::Map, 0x1_0000, &[0xdf, 0, 1, 0, 0]),
            (
                Header::Str,
                u32::MAX as usize,
                &[0xdb, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (kind, len, bytes) in cases {
            assert_eq!(header(kind, len), Ok(bytes.to_vec()), "{kind:?} {len}");
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn lengths_of_2_pow_32_are_errors() {
        for kind in [Header::Str, Header::Bin, Header::Array, Header::Map] {
            for len in [1 << 32, usize::MAX] {
                let mut out = vec![0x01];
                assert_eq!(write_header(&mut out, kind, len), Err(TooLarge), "{kind:?}");
                assert_eq!(out, [0x01], "{kind:?}: nothing written");
            }
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_length_too_large_fails_the_whole_writer() {
        let mut w = Writer::default();
        w.array_len(2);
        w.map_len(1 << 32);
        w.nil();
        assert_eq!(w.finish(), Err(TooLarge));
    }

    #[test]
    fn values_use_notepack_formats() {
        let cases: [(Value, &[u8]); 10] = [
            (Value::Null, &[0xc0]),
            (Value::Bool(false), &[0xc2]),
            (Value::from(127u64), &[0x7f]),
            (Value::from(-1), &[0xff]),
            (Value::from(-33), &[0xd0, 0xdf]),
            (Value::from(2.0), &[0x02]),
            (Value::from(-0.0), &[0x00]),
            (Value::from(1.5), &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
            (Value::from(vec![9u8]), &[0xc4, 1, 9]),
            (
                Value::Object([("a".to_owned(), Value::array([Value::Null]))].into()),
                &[0x81, 0xa1, b'a', 0x91, 0xc0],
            ),
        ];
        for (value, bytes) in cases {
            let mut w = Writer::default();
            w.value(&value);
            assert_eq!(w.finish(), Ok(bytes.to_vec()), "{value:?}");
        }
    }
}
