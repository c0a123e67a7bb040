//! The msgpack wire format of the npm `socket.io-msgpack-parser` (v3, built
//! on `notepack.io` 2.2), as an alternative to the default JSON parser.
//!
//! Every packet is **one binary Engine.IO message** holding the packet object
//! as a msgpack map, e.g. `{type: 2, data: ["hi"], id: 1, nsp: "/"}`. Buffers
//! stay inline as msgpack `bin`, so there are no attachments and no
//! BINARY_EVENT/BINARY_ACK: only types 0–4 exist. Text messages are an error.
//!
//! # Encoding
//!
//! The output is byte for byte what notepack writes for the object the
//! reference server builds:
//! * keys in the server's insertion order: `type, data, id, nsp` (`id, type,
//!   data, nsp` for ACK); absent `data`/`id` are left out;
//! * integers, including integral `f64`s (JS cannot tell `1` from `1.0`), in
//!   the smallest format, unsigned ones for `>= 0` and signed ones below;
//!   other numbers as float 64;
//! * strings as `str`, buffers as `bin`, objects as maps in insertion order.
//!
//! One deliberate difference: integral doubles outside `[-2^63, 2^64)` are
//! written as float 64, where notepack wraps them into a 64-bit integer
//! (`1e300` becomes `0`).
//!
//! # Decoding
//!
//! Everything notepack decodes is accepted, mapped to [`Value`] the way the
//! JS side would see it after `JSON.stringify`:
//! * `fixext 1` type 0 (JS `undefined`): a missing field, an object key left
//!   out, `null` in an array;
//! * `ext` type 0 (how Node's notepack writes `ArrayBuffer`s and typed arrays)
//!   becomes [`Value::Binary`], like `bin`;
//! * `fixext 8` type 0 (a `Date`) becomes its ISO string, or `null` when out
//!   of range;
//! * other extension types become `[type, <binary>]`, as notepack returns;
//! * NaN and infinities become `null`; invalid UTF-8 is replaced with U+FFFD
//!   as `Buffer#toString` does.
//!
//! It is stricter than the JS decoder where this crate is stricter anyway:
//! map keys must be strings (JS would coerce them), nesting is limited like
//! the JSON parser's, the rules of [`Packet::validate`] apply (namespace
//! starting with `/`, no reserved event names, an id on every ACK), and an ack
//! id must be a non-negative integer that fits in `u64`.

use super::error::ParseError;
use super::packet::{Packet, PacketType};
use super::value::Value;
use bytes::Bytes;
use indexmap::IndexMap;
use serde_json::Number;

/// Encodes `packet` as the single binary Engine.IO message the msgpack parser
/// sends.
///
/// BINARY_EVENT/BINARY_ACK are written as EVENT/ACK: buffers stay inline.
///
/// # Panics
///
/// If a string, buffer, array or object has `2^32` or more bytes or
/// elements, which msgpack cannot express (notepack throws).
pub fn encode_msgpack(packet: &Packet) -> Bytes {
    let kind = packet.kind.without_binary();
    let mut out = Vec::with_capacity(64);
    let fields = 2 + usize::from(packet.data.is_some()) + usize::from(packet.id.is_some());
    write_map_len(&mut out, fields);
    if kind == PacketType::Ack {
        write_id(&mut out, packet.id);
    }
    write_str(&mut out, "type");
    out.push(kind as u8);
    if let Some(data) = &packet.data {
        write_str(&mut out, "data");
        write_value(&mut out, data);
    }
    if kind != PacketType::Ack {
        write_id(&mut out, packet.id);
    }
    write_str(&mut out, "nsp");
    write_str(&mut out, &packet.nsp);
    out.into()
}

/// Turns the msgpack parser's Engine.IO messages back into packets.
///
/// Has the same shape as [`Decoder`](super::Decoder) so a connection can hold
/// either, but keeps no state: every binary message is a whole packet, so
/// [`decode_binary`](MsgpackDecoder::decode_binary) never returns `Ok(None)`.
#[derive(Debug, Clone, Default)]
pub struct MsgpackDecoder {
    _private: (),
}

impl MsgpackDecoder {
    /// A decoder; it has no settings.
    pub fn new() -> MsgpackDecoder {
        MsgpackDecoder::default()
    }

    /// Always an error: this parser sends every packet as a binary message.
    pub fn decode_text(&mut self, _text: &str) -> Result<Option<Packet>, ParseError> {
        Err(invalid(
            "text message: the msgpack parser only uses binary ones",
        ))
    }

    /// Decodes one binary message into a validated packet. Buffers in the
    /// payload share `data`'s memory.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, ParseError> {
        decode_packet(&data).map(Some)
    }
}

/// How deep arrays and maps may nest, counting the packet map itself; the
/// JSON parser allows the same, and it keeps the recursion off the end of
/// the stack.
const MAX_DEPTH: usize = 128;

/// Every integral `f64` in `[-2^63, 2^64)` is exact as an `i64` or `u64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// The range of valid JS `Date`s, in milliseconds either side of the epoch.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

fn invalid(reason: impl Into<String>) -> ParseError {
    ParseError::InvalidMsgpack(reason.into())
}

fn write_id(out: &mut Vec<u8>, id: Option<u64>) {
    if let Some(id) = id {
        write_str(out, "id");
        write_uint(out, id);
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Binary(b) => {
            let len = b.len();
            if len < 0x100 {
                out.extend_from_slice(&[0xc4, len as u8]);
            } else if len < 0x1_0000 {
                out.push(0xc5);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xc6);
                out.extend_from_slice(&len32(len).to_be_bytes());
            }
            out.extend_from_slice(b);
        }
        Value::Array(items) => {
            let len = items.len();
            if len < 0x10 {
                out.push(0x90 | len as u8);
            } else if len < 0x1_0000 {
                out.push(0xdc);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdd);
                out.extend_from_slice(&len32(len).to_be_bytes());
            }
            for item in items {
                write_value(out, item);
            }
        }
        Value::Object(entries) => {
            write_map_len(out, entries.len());
            for (key, value) in entries {
                write_str(out, key);
                write_value(out, value);
            }
        }
    }
}

fn write_map_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x10 {
        out.push(0x80 | len as u8);
    } else if len < 0x1_0000 {
        out.push(0xde);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&len32(len).to_be_bytes());
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 0x20 {
        out.push(0xa0 | len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len < 0x1_0000 {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&len32(len).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

fn len32(len: usize) -> u32 {
    u32::try_from(len).expect("msgpack lengths must be below 2^32")
}

/// notepack's integer formats: the smallest unsigned one for `n >= 0`.
fn write_uint(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0xcc, n as u8]);
    } else if n < 0x1_0000 {
        out.push(0xcd);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n < 0x1_0000_0000 {
        out.push(0xce);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// notepack's integer formats: the smallest signed one for `n < 0`.
fn write_negative(out: &mut Vec<u8>, n: i64) {
    if n >= -0x20 {
        out.push(n as u8);
    } else if n >= -0x80 {
        out.extend_from_slice(&[0xd0, n as u8]);
    } else if n >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        write_uint(out, u);
    } else if let Some(i) = n.as_i64() {
        write_negative(out, i);
    } else if let Some(f) = n.as_f64() {
        // JS has only doubles: notepack writes the integral ones as integers.
        // `-0.0 >= 0.0`, so -0 becomes 0 as in notepack.
        if f.fract() == 0.0 && (0.0..TWO_POW_64).contains(&f) {
            write_uint(out, f as u64);
        } else if f.fract() == 0.0 && (-TWO_POW_63..0.0).contains(&f) {
            write_negative(out, f as i64);
        } else {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
    }
}

/// Decodes one whole message into a validated packet.
fn decode_packet(data: &Bytes) -> Result<Packet, ParseError> {
    let mut reader = Reader { buf: data, pos: 0 };
    let top = reader.read(0)?;
    if reader.pos != data.len() {
        return Err(invalid(format!(
            "{} trailing bytes",
            data.len() - reader.pos
        )));
    }
    let Item::Value(Value::Object(mut map)) = top else {
        return Err(invalid("the message is not a msgpack map"));
    };

    let kind = match map.get("type") {
        Some(Value::Number(n)) => packet_type(n),
        _ => None,
    }
    .ok_or_else(|| invalid("invalid packet type"))?;
    let nsp = match map.shift_remove("nsp") {
        Some(Value::String(nsp)) => nsp,
        _ => return Err(invalid("the namespace is not a string")),
    };
    let id = match map.get("id") {
        None => None,
        Some(Value::Number(n)) => Some(ack_id(n).ok_or(ParseError::InvalidAckId)?),
        Some(_) => return Err(ParseError::InvalidAckId),
    };
    let packet = Packet {
        kind,
        nsp,
        id,
        data: map.shift_remove("data"),
    };
    packet.validate()?;
    Ok(packet)
}

/// The JS decoder's `isInteger(type) && 0 <= type <= 4`.
fn packet_type(n: &Number) -> Option<PacketType> {
    let f = n.as_f64()?;
    if f.fract() == 0.0 && (0.0..=4.0).contains(&f) {
        PacketType::from_u8(f as u8)
    } else {
        None
    }
}

/// A non-negative integer, even if written as a float.
fn ack_id(n: &Number) -> Option<u64> {
    if n.is_f64() {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && (0.0..TWO_POW_64).contains(&f)).then_some(f as u64)
    } else {
        n.as_u64()
    }
}

/// A decoded msgpack item: a value, or JS `undefined`, which has no
/// [`Value`] and is dropped or turned into `null` by the container.
enum Item {
    Value(Value),
    Undefined,
}

struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], ParseError> {
        if n > self.remaining() {
            return Err(invalid("truncated message"));
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..self.pos])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let mut bytes = [0; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, ParseError> {
        self.array::<1>().map(|[b]| b)
    }

    /// A big-endian length of `N` bytes.
    fn len<const N: usize>(&mut self) -> Result<usize, ParseError> {
        let bytes = self.array::<N>()?;
        Ok(bytes.iter().fold(0, |len, &b| len << 8 | usize::from(b)))
    }

    fn slice(&mut self, n: usize) -> Result<Bytes, ParseError> {
        if n > self.remaining() {
            return Err(invalid("truncated message"));
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.buf.slice(start..self.pos))
    }

    fn str(&mut self, n: usize) -> Result<Value, ParseError> {
        Ok(Value::String(
            String::from_utf8_lossy(self.take(n)?).into_owned(),
        ))
    }

    fn seq(&mut self, len: usize, depth: usize) -> Result<Value, ParseError> {
        let depth = nested(depth)?;
        // Every item takes at least a byte: a forged length cannot make us
        // allocate more than the message holds.
        let mut items = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            items.push(match self.read(depth)? {
                Item::Value(value) => value,
                Item::Undefined => Value::Null,
            });
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, ParseError> {
        let depth = nested(depth)?;
        let mut entries = IndexMap::with_capacity(len.min(self.remaining() / 2));
        for _ in 0..len {
            let Item::Value(Value::String(key)) = self.read(depth)? else {
                return Err(invalid("a map key is not a string"));
            };
            match self.read(depth)? {
                // Like a JS assignment: a repeated key keeps its place.
                Item::Value(value) => {
                    entries.insert(key, value);
                }
                Item::Undefined => {
                    entries.shift_remove(&key);
                }
            }
        }
        Ok(Value::Object(entries))
    }

    /// `ext 8/16/32`: type 0 is an `ArrayBuffer` (Node's notepack also
    /// writes typed arrays that way).
    fn ext(&mut self, ty: i8, len: usize) -> Result<Value, ParseError> {
        if ty == 0 {
            self.slice(len).map(Value::Binary)
        } else {
            self.ext_pair(ty, len)
        }
    }

    fn read(&mut self, depth: usize) -> Result<Item, ParseError> {
        let prefix = self.u8()?;
        let value = match prefix {
            0x00..=0x7f => Value::from(u64::from(prefix)),
            0x80..=0x8f => self.map(usize::from(prefix & 0x0f), depth)?,
            0x90..=0x9f => self.seq(usize::from(prefix & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(prefix & 0x1f))?,
            0xc0 => Value::Null,
            0xc1 => return Err(invalid("unknown msgpack type 0xc1")),
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let len = self.len::<1>()?;
                Value::Binary(self.slice(len)?)
            }
            0xc5 => {
                let len = self.len::<2>()?;
                Value::Binary(self.slice(len)?)
            }
            0xc6 => {
                let len = self.len::<4>()?;
                Value::Binary(self.slice(len)?)
            }
            0xc7 => {
                let len = self.len::<1>()?;
                let ty = self.u8()? as i8;
                self.ext(ty, len)?
            }
            0xc8 => {
                let len = self.len::<2>()?;
                let ty = self.u8()? as i8;
                self.ext(ty, len)?
            }
            0xc9 => {
                let len = self.len::<4>()?;
                let ty = self.u8()? as i8;
                self.ext(ty, len)?
            }
            0xca => Value::from(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Value::from(f64::from_be_bytes(self.array()?)),
            0xcc => Value::from(u64::from(self.u8()?)),
            0xcd => Value::from(u64::from(u16::from_be_bytes(self.array()?))),
            0xce => Value::from(u64::from(u32::from_be_bytes(self.array()?))),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::from(i64::from(self.u8()? as i8)),
            0xd1 => Value::from(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Value::from(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Value::from(i64::from_be_bytes(self.array()?)),
            0xd4 => {
                let ty = self.u8()? as i8;
                if ty == 0 {
                    self.take(1)?;
                    return Ok(Item::Undefined);
                }
                self.ext_pair(ty, 1)?
            }
            0xd5 => {
                let ty = self.u8()? as i8;
                self.ext_pair(ty, 2)?
            }
            0xd6 => {
                let ty = self.u8()? as i8;
                self.ext_pair(ty, 4)?
            }
            0xd7 => {
                let ty = self.u8()? as i8;
                if ty == 0 {
                    date(i64::from_be_bytes(self.array()?))
                } else {
                    self.ext_pair(ty, 8)?
                }
            }
            0xd8 => {
                let ty = self.u8()? as i8;
                self.ext_pair(ty, 16)?
            }
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
        Ok(Item::Value(value))
    }

    /// An extension notepack has no type for: `[type, <data>]`.
    fn ext_pair(&mut self, ty: i8, len: usize) -> Result<Value, ParseError> {
        let data = self.slice(len)?;
        Ok(Value::Array(vec![
            Value::from(i64::from(ty)),
            Value::Binary(data),
        ]))
    }
}

/// The depth for the items of a container at `depth`.
fn nested(depth: usize) -> Result<usize, ParseError> {
    if depth >= MAX_DEPTH {
        return Err(invalid(format!("nesting deeper than {MAX_DEPTH}")));
    }
    Ok(depth + 1)
}

/// A notepack `Date` as `JSON.stringify` writes it: `toISOString()`, or
/// `null` for an invalid date.
fn date(ms: i64) -> Value {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        return Value::Null;
    }
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let ms_of_day = ms.rem_euclid(86_400_000);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Value::String(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    ))
}

/// Proleptic Gregorian (year, month, day) of a day count from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    //! Wire vectors produced by the real npm `socket.io-msgpack-parser`
    //! 3.0.2 / `notepack.io` 2.2.0 (`new Encoder().encode(packet)` for the
    //! object in the comment, in the reference server's key order), checked
    //! byte for byte both ways, plus inputs real peers send that only need
    //! to decode, inputs the JS decoder rejects, and property tests.

    use super::*;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    fn hex(text: &str) -> Bytes {
        let digits: Vec<u8> = text
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => panic!("not hex: {b}"),
            })
            .collect();
        assert!(digits.len().is_multiple_of(2), "odd hex length");
        digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    fn object(entries: Vec<(&str, Value)>) -> Value {
        Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    fn bin(bytes: &[u8]) -> Value {
        Value::Binary(Bytes::copy_from_slice(bytes))
    }

    fn decode(bytes: Bytes) -> Result<Packet, ParseError> {
        MsgpackDecoder::new()
            .decode_binary(bytes)
            .map(|p| p.expect("msgpack packets are never partial"))
    }

    /// (name, npm encoder output, packet): encoding the packet must give the
    /// bytes, decoding the bytes the packet.
    fn npm_vectors() -> Vec<(&'static str, String, Packet)> {
        let s = |v: &str| Value::from(v);
        let n = |v: i64| Value::from(v);
        let f = |v: f64| Value::from(v);
        let mut big_object = Vec::new();
        let keys: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
        for (i, key) in keys.iter().enumerate() {
            big_object.push((key.as_str(), Value::from(i)));
        }
        vec![
            (
                // {type: 0, data: {token: "123"}, nsp: "/"}
                "connect with auth",
                "83a47479706500a46461746181a5746f6b656ea3313233a36e7370a12f".into(),
                Packet::connect("/", Some(object(vec![("token", s("123"))]))),
            ),
            (
                // {type: 0, nsp: "/admin"}
                "connect without data",
                "82a47479706500a36e7370a62f61646d696e".into(),
                Packet::connect("/admin", None),
            ),
            (
                // {type: 0, data: {sid: "oSO0OpakMV_3jnilAAAA"}, nsp: "/"}
                "connect reply",
                "83a47479706500a46461746181a3736964b46f534f304f70616b4d565f336a6e696c41414141\
                 a36e7370a12f"
                    .into(),
                Packet::connect("/", Some(object(vec![("sid", s("oSO0OpakMV_3jnilAAAA"))]))),
            ),
            (
                // {type: 2, data: ["upload", {file: <01 02 03>, meta: {name: "a.bin",
                //  parts: [<>, 1, null, true, false]}}], id: 12, nsp: "/"}
                "event with ack id and nested binary",
                "84a47479706502a46461746192a675706c6f616482a466696c65c403010203a46d65746182\
                 a46e616d65a5612e62696ea5706172747395c40001c0c3c2a269640ca36e7370a12f"
                    .into(),
                Packet::event(
                    "/",
                    vec![
                        s("upload"),
                        object(vec![
                            ("file", bin(&[1, 2, 3])),
                            (
                                "meta",
                                object(vec![
                                    ("name", s("a.bin")),
                                    (
                                        "parts",
                                        Value::Array(vec![
                                            bin(&[]),
                                            n(1),
                                            Value::Null,
                                            Value::Bool(true),
                                            Value::Bool(false),
                                        ]),
                                    ),
                                ]),
                            ),
                        ]),
                    ],
                )
                .with_id(12),
            ),
            (
                // {id: 12, type: 3, data: ["ok", <de ad be ef>], nsp: "/admin"}
                "ack with binary",
                "84a269640ca47479706503a46461746192a26f6bc404deadbeefa36e7370a62f61646d696e".into(),
                Packet::ack("/admin", 12, vec![s("ok"), bin(&[0xde, 0xad, 0xbe, 0xef])]),
            ),
            (
                // {id: 0, type: 3, data: [], nsp: "/"}
                "empty ack",
                "84a2696400a47479706503a46461746190a36e7370a12f".into(),
                Packet::ack("/", 0, vec![]),
            ),
            (
                // {type: 4, data: {message: "Not authorized", data: {code: 401}}, nsp: "/"}
                "connect_error with data",
                "83a47479706504a46461746182a76d657373616765ae4e6f7420617574686f72697a6564\
                 a46461746181a4636f6465cd0191a36e7370a12f"
                    .into(),
                Packet::connect_error("/", "Not authorized", Some(object(vec![("code", n(401))]))),
            ),
            (
                // {type: 4, data: "Invalid namespace", nsp: "/random"}
                "connect_error string",
                "83a47479706504a464617461b1496e76616c6964206e616d657370616365a36e7370a72f72616e\
                 646f6d"
                    .into(),
                Packet {
                    kind: PacketType::ConnectError,
                    nsp: "/random".into(),
                    id: None,
                    data: Some(s("Invalid namespace")),
                },
            ),
            (
                // {type: 1, nsp: "/admin"}
                "disconnect",
                "82a47479706501a36e7370a62f61646d696e".into(),
                Packet::disconnect("/admin"),
            ),
            (
                // {type: 2, data: ["hi", {}, []], nsp: "/custom"}
                "custom namespace",
                "83a47479706502a46461746193a268698090a36e7370a72f637573746f6d".into(),
                Packet::event(
                    "/custom",
                    vec![
                        s("hi"),
                        Value::Object(IndexMap::new()),
                        Value::Array(vec![]),
                    ],
                ),
            ),
            (
                // data: ["f", 1.5, -0.25, Math.PI, 5e-324, 0.1, -2.5e-8, 123456.789]
                "floats",
                "83a47479706502a46461746198a166cb3ff8000000000000cbbfd0000000000000cb400921fb54\
                 442d18cb0000000000000001cb3fb999999999999acbbe5ad7f29abcaf48cb40fe240c9fbe76c9\
                 a36e7370a12f"
                    .into(),
                Packet::event(
                    "/",
                    vec![
                        s("f"),
                        f(1.5),
                        f(-0.25),
                        f(std::f64::consts::PI),
                        f(5e-324),
                        f(0.1),
                        f(-2.5e-8),
                        f(123456.789),
                    ],
                ),
            ),
            (
                // data: ["n", -1, -32, -33, -128, -129, -32768, -32769, -2147483648,
                //  -2147483649, -9007199254740991, -9223372036854775808]
                "negative integers",
                "83a47479706502a4646174619ca16effe0d0dfd080d1ff7fd18000d2ffff7fffd280000000\
                 d3ffffffff7fffffffd3ffe0000000000001d38000000000000000a36e7370a12f"
                    .into(),
                Packet::event(
                    "/",
                    vec![
                        s("n"),
                        n(-1),
                        n(-32),
                        n(-33),
                        n(-128),
                        n(-129),
                        n(-32768),
                        n(-32769),
                        n(-2147483648),
                        n(-2147483649),
                        n(-9007199254740991),
                        n(i64::MIN),
                    ],
                ),
            ),
            (
                // data: ["l", 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296,
                //  2 ** 53 - 1, 2 ** 63, 2 ** 64 - 2048]
                "large integers",
                "83a47479706502a4646174619ca16c7fcc80ccffcd0100cdffffce00010000ceffffffff\
                 cf0000000100000000cf001fffffffffffffcf8000000000000000cffffffffffffff800\
                 a36e7370a12f"
                    .into(),
                Packet::event(
                    "/",
                    vec![
                        s("l"),
                        n(127),
                        n(128),
                        n(255),
                        n(256),
                        n(65535),
                        n(65536),
                        n(4294967295),
                        n(4294967296),
                        n(9007199254740991),
                        Value::from(1u64 << 63),
                        Value::from(u64::MAX - 2047),
                    ],
                ),
            ),
            (
                // data: ["ünïcödé", "日本語", "😀", "x".repeat(31), "y".repeat(32),
                //  "z".repeat(256), "ß".repeat(200)], nsp: "/ñ"
                "unicode and string lengths",
                format!(
                    "83a47479706502a46461746197abc3bc6ec3af63c3b664c3a9a9e697a5e69cace8aa9e\
                     a4f09f9880bf{}d920{}da0100{}da0190{}a36e7370a32fc3b1",
                    "78".repeat(31),
                    "79".repeat(32),
                    "7a".repeat(256),
                    "c39f".repeat(200),
                ),
                Packet::event(
                    "/ñ",
                    vec![
                        s("ünïcödé"),
                        s("日本語"),
                        s("😀"),
                        s(&"x".repeat(31)),
                        s(&"y".repeat(32)),
                        s(&"z".repeat(256)),
                        s(&"ß".repeat(200)),
                    ],
                ),
            ),
            (
                // data: [7, {k0: 0, …, k15: 15}, [0, …, 15], Buffer.alloc(300, 7)],
                // id: 4294967296
                "map 16, array 16, bin 16",
                format!(
                    "84a47479706502a4646174619407de0010a26b3000a26b3101a26b3202a26b3303a26b3404\
                     a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320c\
                     a36b31330da36b31340ea36b31350fdc0010000102030405060708090a0b0c0d0e0f\
                     c5012c{}a26964cf0000000100000000a36e7370a12f",
                    "07".repeat(300),
                ),
                Packet::event(
                    "/",
                    vec![
                        n(7),
                        object(big_object),
                        Value::array(0..16),
                        bin(&[7; 300]),
                    ],
                )
                .with_id(4294967296),
            ),
            (
                // {type: 2, data: ["e"], id: 2 ** 53 - 1, nsp: "/"}
                "large ack id",
                "84a47479706502a46461746191a165a26964cf001fffffffffffffa36e7370a12f".into(),
                Packet::event("/", vec![s("e")]).with_id(9007199254740991),
            ),
            (
                // {type: 2, data: [42, "x"], nsp: "/"}: numeric event names are legal.
                "numeric event name",
                "83a47479706502a464617461922aa178a36e7370a12f".into(),
                Packet::event("/", vec![n(42), s("x")]),
            ),
        ]
    }

    #[test]
    fn npm_vectors_encode_byte_exact() {
        for (name, bytes, packet) in npm_vectors() {
            assert_eq!(encode_msgpack(&packet), hex(&bytes), "{name}");
        }
    }

    #[test]
    fn npm_vectors_decode() {
        for (name, bytes, packet) in npm_vectors() {
            assert_eq!(decode(hex(&bytes)).expect(name), packet, "{name}");
        }
    }

    #[test]
    fn binary_types_encode_as_plain_ones() {
        let mut event = Packet::event("/", vec!["b".into(), bin(&[1])]).with_id(1);
        let plain = encode_msgpack(&event);
        event.kind = PacketType::BinaryEvent;
        assert_eq!(encode_msgpack(&event), plain);
        assert_eq!(decode(plain).expect("decodes").kind, PacketType::Event);

        let mut ack = Packet::ack("/", 1, vec![bin(&[1])]);
        let plain = encode_msgpack(&ack);
        ack.kind = PacketType::BinaryAck;
        assert_eq!(encode_msgpack(&ack), plain);
    }

    #[test]
    fn integral_floats_are_written_as_integers() {
        // JS cannot tell 2 from 2.0: data: ["i", -0, 2, 1e19, -4294967296] from npm.
        let floats = Packet::event(
            "/",
            vec![
                "i".into(),
                (-0.0).into(),
                2.0.into(),
                1e19.into(),
                (-4294967296.0).into(),
            ],
        );
        let bytes = hex(
            "83a47479706502a46461746195a1690002cf8ac7230489e80000d3ffffffff00000000a36e7370a12f",
        );
        assert_eq!(encode_msgpack(&floats), bytes);
        let ints = Packet::event(
            "/",
            vec![
                "i".into(),
                0.into(),
                2.into(),
                10_000_000_000_000_000_000u64.into(),
                (-4294967296i64).into(),
            ],
        );
        assert_eq!(decode(bytes).expect("decodes"), ints);
    }

    #[test]
    fn huge_integral_floats_stay_floats() {
        // notepack writes 1e300 as `cf 00…00` (0): its 64-bit split wraps.
        // Writing the double keeps the value; JS reads it back unchanged.
        let packet = Packet::event("/", vec![1e300.into(), (-1.7976931348623157e308).into()]);
        let bytes = encode_msgpack(&packet);
        assert_eq!(
            bytes,
            hex("83a47479706502a46461746192cb7e37e43c8800759ccbffefffffffffffffa36e7370a12f")
        );
        assert_eq!(decode(bytes).expect("decodes"), packet);
        let js = hex("83a47479706502a46461746191cf0000000000000000a36e7370a12f");
        assert_eq!(
            decode(js).expect("decodes"),
            Packet::event("/", vec![0.into()])
        );
    }

    /// What real peers send that our encoder never writes (notepack output).
    #[test]
    fn decodes_what_js_peers_send() {
        let cases: Vec<(&str, &str, Packet)> =
            vec![
            (
                // socket.io-client's emit adds `options`:
                // {type: 2, data: ["hello", 1], options: {compress: true}, id: 3, nsp: "/"}
                "client emit",
                "85a47479706502a46461746192a568656c6c6f01a76f7074696f6e7381a8636f6d7072657373c3\
                 a2696403a36e7370a12f",
                Packet::event("/", vec!["hello".into(), 1.into()]).with_id(3),
            ),
            (
                // The reference server's CONNECT reply without state recovery:
                // {type: 0, data: {sid: "abc", pid: undefined}, nsp: "/"}
                "undefined in an object",
                "83a47479706500a46461746182a3736964a3616263a3706964d40000a36e7370a12f",
                Packet::connect("/", Some(object(vec![("sid", "abc".into())]))),
            ),
            (
                // {type: 0, data: undefined, id: undefined, nsp: "/"}
                "undefined fields",
                "84a47479706500a464617461d40000a26964d40000a36e7370a12f",
                Packet::connect("/", None),
            ),
            (
                // data: ["u", new Uint8Array([9, 8, 7])] is written as ext type 0.
                "typed array",
                "83a47479706502a46461746192a175c70300090807a36e7370a12f",
                Packet::event("/", vec!["u".into(), bin(&[9, 8, 7])]),
            ),
            (
                // data: ["d", new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)), new Date(-1)]
                "dates",
                "83a47479706502a46461746193a164d7000000018df4dc5495d700ffffffffffffffff\
                 a36e7370a12f",
                Packet::event(
                    "/",
                    vec![
                        "d".into(),
                        "2024-02-29T12:34:56.789Z".into(),
                        "1969-12-31T23:59:59.999Z".into(),
                    ],
                ),
            ),
            (
                // data: ["n", NaN, Infinity, -Infinity, undefined]
                "non-finite numbers and undefined in an array",
                "83a47479706502a46461746195a16ecb7ff8000000000000cb7ff0000000000000\
                 cbfff0000000000000d40000a36e7370a12f",
                Packet::event(
                    "/",
                    vec!["n".into(), Value::Null, Value::Null, Value::Null, Value::Null],
                ),
            ),
            (
                // type and id written as float 64 (2.0 and 3.0): JS's isInteger accepts.
                "float type and id",
                "84a474797065cb4000000000000000a46461746191a174a26964cb4008000000000000\
                 a36e7370a12f",
                Packet::event("/", vec!["t".into()]).with_id(3),
            ),
            (
                // type as float 32 2.0
                "float32 type",
                "83a474797065ca40000000a46461746191a174a36e7370a12f",
                Packet::event("/", vec!["t".into()]),
            ),
            (
                // fixext 2 type 5: notepack gives [5, <01 02>]
                "unknown extension",
                "83a47479706502a46461746192a174d5050102a36e7370a12f",
                Packet::event(
                    "/",
                    vec!["t".into(), Value::Array(vec![5.into(), bin(&[1, 2])])],
                ),
            ),
            (
                // A string with a byte that is not UTF-8: Buffer#toString gives U+FFFD.
                "invalid UTF-8",
                "83a47479706502a46461746191a2ff74a36e7370a12f",
                Packet::event("/", vec!["\u{fffd}t".into()]),
            ),
            (
                // Keys in another order, other integer formats than notepack picks.
                "any key order and integer width",
                "84a36e7370a12fa26964d00ba474797065d10002a46461746191a165",
                Packet::event("/", vec!["e".into()]).with_id(11),
            ),
        ];
        for (name, bytes, packet) in cases {
            assert_eq!(decode(hex(bytes)).expect(name), packet, "{name}");
        }
    }

    /// Inputs the JS decoder rejects (notepack output), and what we report.
    #[test]
    fn rejects_what_js_rejects() {
        let cases = [
            // {type: 5, data: ["x"], nsp: "/"}: no BINARY_EVENT in this format.
            ("83a47479706505a46461746191a178a36e7370a12f", "type 5"),
            ("83a474797065ffa46461746191a178a36e7370a12f", "type -1"),
            ("83a474797065a132a46461746191a178a36e7370a12f", "type \"2\""),
            (
                "83a474797065cb4004000000000000a46461746191a178a36e7370a12f",
                "type 2.5",
            ),
            ("82a46461746191a178a36e7370a12f", "no type"),
            ("82a47479706502a46461746191a178", "no nsp"),
            ("83a47479706502a46461746191a178a36e737001", "numeric nsp"),
            (
                "83a47479706502a46461746181a16101a36e7370a12f",
                "EVENT with an object",
            ),
            (
                "83a47479706501a464617461c0a36e7370a12f",
                "DISCONNECT with null",
            ),
            (
                "83a47479706500a46461746190a36e7370a12f",
                "CONNECT with an array",
            ),
            ("82a47479706504a36e7370a12f", "CONNECT_ERROR without data"),
            (
                "84a47479706502a46461746191a178a26964a131a36e7370a12f",
                "string id",
            ),
            (
                "84a47479706502a46461746191a178a26964c0a36e7370a12f",
                "null id",
            ),
            (
                "84a47479706502a46461746191a178a26964cb3ff8000000000000a36e7370a12f",
                "id 1.5",
            ),
            ("930291a178a12f", "an array, not a map"),
            ("a3616263", "a string, not a map"),
            ("d40000", "undefined, not a map"),
            ("c1", "the unused prefix"),
            ("", "empty message"),
        ];
        for (bytes, name) in cases {
            assert!(decode(hex(bytes)).is_err(), "{name}");
        }
    }

    /// Where this crate's shared rules are stricter than the JS decoder.
    #[test]
    fn rejects_what_validate_rejects() {
        let cases = [
            // nsp "admin": JS would answer with an "Invalid namespace" CONNECT_ERROR.
            (
                "83a47479706502a46461746191a178a36e7370a561646d696e",
                "nsp without /",
            ),
            // ["disconnect"]
            (
                "83a47479706502a46461746191aa646973636f6e6e656374a36e7370a12f",
                "reserved event name",
            ),
            // {type: 3, data: [], nsp: "/"}
            ("83a47479706503a46461746190a36e7370a12f", "ACK without id"),
            // id: -1
            (
                "84a47479706502a46461746191a178a26964ffa36e7370a12f",
                "negative id",
            ),
            // id: 1e20
            (
                "84a47479706502a46461746191a178a26964cb4415af1d78b58c40a36e7370a12f",
                "id beyond u64",
            ),
            // {1: 2} inside data: JS would coerce the key to "1".
            (
                "83a47479706502a46461746192a178810102a36e7370a12f",
                "integer map key",
            ),
        ];
        for (bytes, name) in cases {
            assert!(decode(hex(bytes)).is_err(), "{name}");
        }
    }

    #[test]
    fn text_messages_are_errors() {
        let mut decoder = MsgpackDecoder::new();
        assert!(matches!(
            decoder.decode_text(r#"2["hi"]"#),
            Err(ParseError::InvalidMsgpack(_))
        ));
        assert!(decoder.decode_text("").is_err());
    }

    #[test]
    fn truncated_or_padded_messages_are_errors() {
        for (name, bytes, _) in npm_vectors() {
            let bytes = hex(&bytes);
            for len in 0..bytes.len() {
                assert!(decode(bytes.slice(..len)).is_err(), "{name} cut at {len}");
            }
            let mut padded = bytes.to_vec();
            padded.push(0xc0);
            assert!(
                decode(padded.into()).is_err(),
                "{name} with a trailing byte"
            );
        }
    }

    #[test]
    fn binary_shares_the_message_buffer() {
        let message = encode_msgpack(&Packet::event("/", vec!["b".into(), bin(&[5; 64])]));
        let packet = decode(message.clone()).expect("decodes");
        let buffer = packet.args()[0].as_binary().expect("binary").clone();
        let range = message.as_ptr_range();
        assert!(range.contains(&buffer.as_ptr()));
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |depth: usize| -> Bytes {
            let mut bytes = hex("83a47479706502a46461746192a178").to_vec();
            bytes.extend(std::iter::repeat_n(0x91, depth));
            bytes.push(0xc0);
            bytes.extend_from_slice(&hex("a36e7370a12f"));
            bytes.into()
        };
        // The packet map and the data array count as two levels.
        assert!(decode(nested(MAX_DEPTH - 2)).is_ok());
        assert!(decode(nested(MAX_DEPTH - 1)).is_err());
        // Far too deep for the stack, had the depth not been bounded.
        assert!(decode(nested(1_000_000)).is_err());
    }

    #[test]
    fn forged_lengths_do_not_allocate() {
        for header in ["dd", "df", "c6", "db", "c9"] {
            let bytes = hex(&format!("83a47479706502a46461746192a178{header}ffffffff"));
            assert!(decode(bytes).is_err(), "{header}");
        }
    }

    #[test]
    fn dates_format_like_js() {
        // new Date(ms).toISOString() in node.
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
            (MAX_DATE_MS, "+275760-09-13T00:00:00.000Z"),
            (-MAX_DATE_MS, "-271821-04-20T00:00:00.000Z"),
            (-62_198_755_200_000, "-000001-01-01T00:00:00.000Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"),
        ];
        for (ms, iso) in cases {
            assert_eq!(date(ms), Value::from(iso), "{ms}");
        }
        assert_eq!(date(MAX_DATE_MS + 1), Value::Null);
        assert_eq!(date(i64::MIN), Value::Null);
    }

    /// Floats that survive a round trip unchanged: integral ones come back as
    /// integers (JS has no difference) unless beyond the 64-bit range.
    fn float() -> impl Strategy<Value = f64> {
        any::<f64>().prop_filter("finite, non-integral or huge", |f| {
            f.is_finite() && (f.fract() != 0.0 || !(-TWO_POW_63..TWO_POW_64).contains(f))
        })
    }

    fn value() -> BoxedStrategy<Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            float().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            vec(any::<u8>(), 0..300).prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 18, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..18).prop_map(Value::Array),
                vec((any::<String>(), inner), 0..18)
                    .prop_map(|e| Value::Object(e.into_iter().collect())),
            ]
        })
        .boxed()
    }

    fn object_value() -> impl Strategy<Value = Value> {
        vec((any::<String>(), value()), 0..4).prop_map(|e| Value::Object(e.into_iter().collect()))
    }

    fn nsp() -> impl Strategy<Value = String> {
        prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_./é-]{1,12}"]
    }

    fn event_name() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<String>()
                .prop_filter("not reserved", |s| !crate::proto::RESERVED_EVENTS
                    .contains(&s.as_str()))
                .prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            float().prop_map(Value::from),
        ]
    }

    fn packet() -> impl Strategy<Value = Packet> {
        prop_oneof![
            (nsp(), option::of(object_value())).prop_map(|(nsp, auth)| Packet::connect(nsp, auth)),
            nsp().prop_map(Packet::disconnect),
            (
                nsp(),
                event_name(),
                vec(value(), 0..4),
                option::of(any::<u64>())
            )
                .prop_map(|(nsp, name, args, id)| {
                    let mut packet =
                        Packet::event(nsp, std::iter::once(name).chain(args).collect());
                    packet.id = id;
                    packet
                }),
            (nsp(), any::<u64>(), vec(value(), 0..4))
                .prop_map(|(nsp, id, args)| Packet::ack(nsp, id, args)),
            (nsp(), any::<String>(), option::of(value()))
                .prop_map(|(nsp, message, data)| Packet::connect_error(nsp, message, data)),
            (nsp(), any::<String>()).prop_map(|(nsp, message)| Packet {
                data: Some(Value::String(message)),
                ..Packet::connect_error(nsp, "", None)
            }),
        ]
    }

    proptest! {
        #[test]
        fn packets_round_trip(packet in packet()) {
            let bytes = encode_msgpack(&packet);
            prop_assert_eq!(decode(bytes).ok(), Some(packet));
        }

        #[test]
        fn decode_never_panics_on_bytes(bytes in vec(any::<u8>(), 0..64)) {
            let _ = decode(bytes.into());
        }

        #[test]
        fn decode_never_panics_on_damaged_packets(
            packet in packet(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = encode_msgpack(&packet).to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            // Whatever still decodes is valid and encodes again.
            if let Ok(packet) = decode(bytes.into()) {
                prop_assert!(packet.validate().is_ok());
                let again = decode(encode_msgpack(&packet));
                prop_assert!(again.is_ok(), "{:?}", again);
            }
        }
    }
}
