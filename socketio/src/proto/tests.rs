//! Wire examples of the packet encoding (the Socket.IO v5 spec and
//! its test suite) checked byte for byte in both directions, plus property
//! tests over arbitrary packets and arbitrary input.

use super::*;
use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn object(entries: &[(&str, Value)]) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("test JSON")
}

/// Feeds a text message and its attachments; fails the test on any error or
/// early/late completion.
fn decode_all(text: &str, attachments: &[Bytes]) -> Packet {
    let mut decoder = Decoder::new();
    let mut result = decoder.decode_text(text).expect("text decodes");
    for attachment in attachments {
        assert!(result.is_none(), "packet completed before all attachments");
        result = decoder.decode_binary(attachment.clone()).expect("binary");
    }
    result.expect("packet complete")
}

fn bin(bytes: &'static [u8]) -> Bytes {
    Bytes::from_static(bytes)
}

/// (wire text, attachments, packet): encode(packet) must produce exactly the
/// wire form, and decoding the wire form must give the packet back.
fn examples() -> Vec<(&'static str, Vec<Bytes>, Packet)> {
    let b1234 = bin(&[1, 2, 3, 4]);
    let b56 = bin(&[5, 6]);
    vec![
        ("0", vec![], Packet::connect("/", None)),
        ("0/admin,", vec![], Packet::connect("/admin", None)),
        (
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
            vec![],
            Packet::connect(
                "/admin",
                Some(object(&[("sid", "oSO0OpakMV_3jnilAAAA".into())])),
            ),
        ),
        (
            r#"0{"token":"123"}"#,
            vec![],
            Packet::connect("/", Some(object(&[("token", "123".into())]))),
        ),
        ("1", vec![], Packet::disconnect("/")),
        ("1/admin,", vec![], Packet::disconnect("/admin")),
        (
            r#"2["foo"]"#,
            vec![],
            Packet::event("/", vec!["foo".into()]),
        ),
        (
            r#"2/admin,["bar"]"#,
            vec![],
            Packet::event("/admin", vec!["bar".into()]),
        ),
        (
            r#"212["foo"]"#,
            vec![],
            Packet::event("/", vec!["foo".into()]).with_id(12),
        ),
        (
            r#"3/admin,13["bar"]"#,
            vec![],
            Packet::ack("/admin", 13, vec!["bar".into()]),
        ),
        (
            r#"2["hey","Jude"]"#,
            vec![],
            Packet::event("/", vec!["hey".into(), "Jude".into()]),
        ),
        (
            r#"2["auth",{}]"#,
            vec![],
            Packet::event("/", vec!["auth".into(), object(&[])]),
        ),
        (
            r#"4{"message":"Not authorized"}"#,
            vec![],
            Packet::connect_error("/", "Not authorized", None),
        ),
        (
            r#"4/random,{"message":"Invalid namespace"}"#,
            vec![],
            Packet::connect_error("/random", "Invalid namespace", None),
        ),
        (
            r#"4{"message":"nope","data":{"code":7}}"#,
            vec![],
            Packet::connect_error("/", "nope", Some(object(&[("code", 7.into())]))),
        ),
        (
            r#"2["message",1,"2",{"3":[true]}]"#,
            vec![],
            Packet::event(
                "/",
                vec![
                    "message".into(),
                    1.into(),
                    "2".into(),
                    json(r#"{"3":[true]}"#),
                ],
            ),
        ),
        (
            r#"3456[1,"2",{"3":[false]}]"#,
            vec![],
            Packet::ack(
                "/",
                456,
                vec![1.into(), "2".into(), json(r#"{"3":[false]}"#)],
            ),
        ),
        (
            r#"51-["baz",{"_placeholder":true,"num":0}]"#,
            vec![b1234.clone()],
            Packet::event("/", vec!["baz".into(), b1234.clone().into()]),
        ),
        (
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            vec![b1234.clone(), b56.clone()],
            Packet::event(
                "/admin",
                vec!["baz".into(), b1234.clone().into(), b56.clone().into()],
            ),
        ),
        (
            r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
            vec![b1234.clone()],
            Packet::ack("/", 15, vec!["bar".into(), b1234.clone().into()]),
        ),
        (
            r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
            vec![b56.clone()],
            Packet::ack("/admin", 1, vec![b56.clone().into()]),
        ),
        (
            r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            vec![b1234.clone(), b56.clone()],
            Packet::ack("/", 789, vec![b1234.into(), b56.into()]),
        ),
    ]
}

#[test]
fn examples_encode_byte_exact() {
    for (text, attachments, packet) in examples() {
        let encoded = encode(&packet);
        assert_eq!(encoded.text, text);
        assert_eq!(encoded.attachments, attachments, "{text}");
    }
}

#[test]
fn examples_decode() {
    for (text, attachments, packet) in examples() {
        assert_eq!(decode_all(text, &attachments), packet, "{text}");
    }
}

#[test]
fn namespace_may_end_without_comma() {
    assert_eq!(
        decode_all("0/custom", &[]),
        Packet::connect("/custom", None)
    );
    assert_eq!(
        decode_all("0/custom,", &[]),
        Packet::connect("/custom", None)
    );
    assert_eq!(decode_all("1/admin", &[]), Packet::disconnect("/admin"));
}

#[test]
fn suite_echo_is_wire_exact() {
    // The v5 suite's "message" handler: same args back under a new name.
    let echo = |text: &str, attachments: &[Bytes]| {
        let packet = decode_all(text, attachments);
        let mut args = vec![Value::from("message-back")];
        args.extend(packet.into_args());
        encode(&Packet::event("/", args))
    };
    let plain = echo(r#"2["message",1,"2",{"3":[true]}]"#, &[]);
    assert_eq!(plain.text, r#"2["message-back",1,"2",{"3":[true]}]"#);

    let frames = [bin(&[1, 2, 3]), bin(&[4, 5, 6])];
    let binary = echo(
        r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        &frames,
    );
    assert_eq!(
        binary.text,
        r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(binary.attachments, frames);

    // And "message-with-ack": the args come back as the ack.
    let request = decode_all(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#, &[]);
    let id = request.id.expect("ack id");
    let ack = encode(&Packet::ack("/", id, request.into_args()));
    assert_eq!(ack.text, r#"3456[1,"2",{"3":[false]}]"#);
}

#[test]
fn floats_and_unicode_echo_unchanged() {
    let text = r#"2["n",1.5,-0.25,1e+21,1.5e-7,0.000001,"é😀\n\u0001"]"#;
    assert_eq!(encode(&decode_all(text, &[])).text, text);
}

fn float() -> impl Strategy<Value = f64> {
    // Integral floats below 1e21 print without a fraction and come back as
    // integers, which compare unequal; JS cannot tell them apart anyway.
    any::<f64>().prop_filter("finite, non-integral or huge", |f| {
        f.is_finite() && (f.fract() != 0.0 || f.abs() >= 1e21)
    })
}

fn key() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not a placeholder marker", |k| k != "_placeholder")
}

fn value(binary: bool) -> BoxedStrategy<Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    let leaf = if binary {
        prop_oneof![scalar, vec(any::<u8>(), 0..16).prop_map(Value::from)].boxed()
    } else {
        scalar.boxed()
    };
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6).prop_map(|e| Value::Object(e.into_iter().collect())),
        ]
    })
    .boxed()
}

fn object_value() -> impl Strategy<Value = Value> {
    vec((key(), value(false)), 0..4).prop_map(|e| Value::Object(e.into_iter().collect()))
}

fn nsp() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_./é-]{1,12}"]
}

fn event_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>()
            .prop_filter("not reserved", |s| !RESERVED_EVENTS.contains(&s.as_str()))
            .prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
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
            vec(value(true), 0..4),
            option::of(any::<u64>())
        )
            .prop_map(|(nsp, name, args, id)| {
                let mut packet = Packet::event(nsp, std::iter::once(name).chain(args).collect());
                packet.id = id;
                packet
            }),
        (nsp(), any::<u64>(), vec(value(true), 0..4))
            .prop_map(|(nsp, id, args)| Packet::ack(nsp, id, args)),
        (nsp(), any::<String>(), option::of(value(false)))
            .prop_map(|(nsp, message, data)| Packet::connect_error(nsp, message, data)),
        (nsp(), any::<String>()).prop_map(|(nsp, message)| Packet {
            data: Some(Value::String(message)),
            ..Packet::connect_error(nsp, "", None)
        }),
    ]
}

/// One Engine.IO message as the decoder sees it.
#[derive(Debug, Clone)]
enum Message {
    Text(String),
    Binary(Bytes),
}

fn header_like_text() -> impl Strategy<Value = String> {
    // Biased towards the grammar so the fuzzing reaches the later stages.
    let token = prop_oneof![
        "[0-9]{1,3}",
        Just("-".to_owned()),
        "/[a-z,]{0,4}",
        Just(",".to_owned()),
        Just(r#"{"_placeholder":true,"num":"#.to_owned()),
        Just(r#""num":"#.to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just(r#""connect""#.to_owned()),
        Just("true".to_owned()),
        any::<String>(),
    ];
    vec(token, 0..12).prop_map(|tokens| tokens.concat())
}

proptest! {
    #[test]
    fn packets_round_trip(packet in packet()) {
        let encoded = encode(&packet);
        let mut decoder = Decoder::with_max_attachments(usize::MAX);
        let mut decoded = decoder.decode_text(&encoded.text);
        for attachment in &encoded.attachments {
            prop_assert!(matches!(decoded, Ok(None)), "{:?}", decoded);
            decoded = decoder.decode_binary(attachment.clone());
        }
        prop_assert_eq!(decoded.ok().flatten(), Some(packet));
    }

    #[test]
    fn decode_never_panics_on_text(text in any::<String>()) {
        let _ = Decoder::new().decode_text(&text);
    }

    #[test]
    fn decode_never_panics_on_message_sequences(
        messages in vec(
            prop_oneof![
                header_like_text().prop_map(Message::Text),
                vec(any::<u8>(), 0..8).prop_map(|b| Message::Binary(b.into())),
            ],
            0..8,
        )
    ) {
        let mut decoder = Decoder::new();
        for message in messages {
            let result = match message {
                Message::Text(text) => decoder.decode_text(&text),
                Message::Binary(data) => decoder.decode_binary(data),
            };
            // Whatever decodes must be valid and survive a re-encode.
            if let Ok(Some(packet)) = result {
                prop_assert!(packet.validate().is_ok());
                let encoded = encode(&packet);
                let mut again = Decoder::with_max_attachments(usize::MAX);
                let mut decoded = again.decode_text(&encoded.text);
                for attachment in encoded.attachments {
                    decoded = again.decode_binary(attachment);
                }
                prop_assert!(matches!(decoded, Ok(Some(_))), "{:?}", decoded);
            }
        }
    }
}
