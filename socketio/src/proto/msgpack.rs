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
//! (`1e300` becomes `0`). A string, buffer, array or object of `2^32` or
//! more bytes or elements is an error, where notepack throws.
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

use super::error::{EncodeError, ParseError};
use super::packet::{Packet, PacketType};
use super::value::Value;
use crate::wire::msgpack::{self, Dialect, TooLarge, Writer, TWO_POW_64};
use bytes::Bytes;
use serde_json::Number;

/// Encodes `packet` as the single binary Engine.IO message the msgpack parser
/// sends.
///
/// BINARY_EVENT/BINARY_ACK are written as EVENT/ACK: buffers stay inline.
///
/// # Errors
///
/// [`EncodeError::TooLarge`] if a string, buffer, array or object has `2^32`
/// or more bytes or elements, which msgpack cannot express (notepack throws).
pub fn encode_msgpack(packet: &Packet) -> Result<Bytes, EncodeError> {
    let kind = packet.kind.without_binary();
    let mut w = Writer::with_capacity(64);
    let fields = 2 + usize::from(packet.data.is_some()) + usize::from(packet.id.is_some());
    w.map_len(fields);
    if kind == PacketType::Ack {
        write_id(&mut w, packet.id);
    }
    w.str("type");
    w.uint(kind as u64);
    if let Some(data) = &packet.data {
        w.str("data");
        w.value(data);
    }
    if kind != PacketType::Ack {
        write_id(&mut w, packet.id);
    }
    w.str("nsp");
    w.str(&packet.nsp);
    w.finish()
        .map(Bytes::from)
        .map_err(|TooLarge| EncodeError::TooLarge)
}

fn write_id(w: &mut Writer, id: Option<u64>) {
    if let Some(id) = id {
        w.str("id");
        w.uint(id);
    }
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

fn invalid(reason: impl Into<String>) -> ParseError {
    ParseError::InvalidMsgpack(reason.into())
}

/// Decodes one whole message into a validated packet.
fn decode_packet(data: &Bytes) -> Result<Packet, ParseError> {
    let top =
        msgpack::decode_shared(data, Dialect::Notepack2).map_err(|e| invalid(e.to_string()))?;
    let Some(Value::Object(mut map)) = top else {
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

#[cfg(test)]
mod tests {
    //! Wire vectors produced by the real npm `socket.io-msgpack-parser`
    //! 3.0.2 / `notepack.io` 2.2.0 (`new Encoder().encode(packet)` for the
    //! object in the comment, in the reference server's key order), checked
    //! byte for byte both ways, plus inputs real peers send that only need
    //! to decode, inputs the JS decoder rejects, and property tests.

    use super::*;
    use crate::wire::msgpack::{MAX_DEPTH, TWO_POW_63};
    use indexmap::IndexMap;
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

    fn encode(packet: &Packet) -> Bytes {
        encode_msgpack(packet).expect("encodes")
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
            assert_eq!(encode(&packet), hex(&bytes), "{name}");
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
        let plain = encode(&event);
        event.kind = PacketType::BinaryEvent;
        assert_eq!(encode(&event), plain);
        assert_eq!(decode(plain).expect("decodes").kind, PacketType::Event);

        let mut ack = Packet::ack("/", 1, vec![bin(&[1])]);
        let plain = encode(&ack);
        ack.kind = PacketType::BinaryAck;
        assert_eq!(encode(&ack), plain);
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
        assert_eq!(encode(&floats), bytes);
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
        let bytes = encode(&packet);
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
        let message = encode(&Packet::event("/", vec!["b".into(), bin(&[5; 64])]));
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
            let bytes = encode(&packet);
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
            let mut bytes = encode(&packet).to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            // Whatever still decodes is valid and encodes again.
            if let Ok(packet) = decode(bytes.into()) {
                prop_assert!(packet.validate().is_ok());
                let again = decode(encode(&packet));
                prop_assert!(again.is_ok(), "{:?}", again);
            }
        }
    }
}
