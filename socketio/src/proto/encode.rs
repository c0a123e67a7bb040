//! The default socket.io-parser encoding:
//! `<type>[<#attachments>-][<nsp>,][<id>][<JSON>]` plus one binary message
//! per attachment.

use super::packet::{Packet, PacketType};
use super::value::Value;
use crate::wire::json::{push_display, write_byte_array, write_value};
use bytes::Bytes;

/// A packet ready for Engine.IO: one text message, then each attachment as
/// its own binary message, in order.
///
/// Encoding yields plain data so a broadcast encodes once and hands the same
/// bytes (cheap `Bytes` clones) to every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The text message, without Engine.IO's `4` prefix.
    pub text: String,
    /// Buffers referenced by `{"_placeholder":true,"num":N}` at index N.
    pub attachments: Vec<Bytes>,
}

/// Encodes exactly as npm socket.io-parser does.
///
/// The type is chosen from the payload: an EVENT or ACK whose data holds a
/// buffer anywhere becomes BINARY_EVENT/BINARY_ACK, and a
/// BINARY_EVENT/BINARY_ACK without buffers is sent as plain EVENT/ACK.
/// Other types cannot carry attachments, so their buffers are written as
/// arrays of byte values (what `serde_json` does with bytes).
///
/// `nsp` is written verbatim: it must start with `/` and must not contain
/// `,`, which the text format cannot escape.
pub fn encode(packet: &Packet) -> Encoded {
    let kind = packet.kind.without_binary();
    let binary_kind = kind.with_binary();
    let mut text = String::with_capacity(64);
    text.push(type_digit(kind));
    if packet.nsp != "/" {
        text.push_str(&packet.nsp);
        text.push(',');
    }
    if let Some(id) = packet.id {
        push_display(&mut text, id);
    }
    let mut attachments = Vec::new();
    if let Some(data) = &packet.data {
        let extract = binary_kind.is_some().then_some(&mut attachments);
        write_payload(&mut text, data, extract);
    }
    if let (Some(binary_kind), false) = (binary_kind, attachments.is_empty()) {
        // The count is only known after the payload is written; patching the
        // header in the rare binary case beats walking the tree twice.
        let mut header = String::with_capacity(4);
        header.push(type_digit(binary_kind));
        push_display(&mut header, attachments.len());
        header.push('-');
        text.replace_range(..1, &header);
    }
    Encoded { text, attachments }
}

/// Appends `value` as JSON. With `attachments`, each buffer is replaced by a
/// `{"_placeholder":true,"num":N}` object (N counts depth-first, as in
/// socket.io-parser) and pushed to the list; without, it is written as an
/// array of byte values.
fn write_payload(out: &mut String, value: &Value, attachments: Option<&mut Vec<Bytes>>) {
    match attachments {
        Some(attachments) => write_value(out, value, &mut |out: &mut String, buffer: &Bytes| {
            out.push_str(r#"{"_placeholder":true,"num":"#);
            push_display(out, attachments.len());
            out.push('}');
            attachments.push(buffer.clone());
        }),
        None => write_value(out, value, &mut write_byte_array),
    }
}

fn type_digit(kind: PacketType) -> char {
    char::from(b'0' + kind as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_kind_follows_the_payload() {
        let mut plain = Packet::event("/", vec!["a".into()]);
        plain.kind = PacketType::BinaryEvent;
        assert_eq!(encode(&plain).text, r#"2["a"]"#);

        let binary = Packet::ack("/", 3, vec![Value::from(vec![9u8])]);
        let encoded = encode(&binary);
        assert_eq!(encoded.text, r#"61-3[{"_placeholder":true,"num":0}]"#);
        assert_eq!(encoded.attachments, [vec![9u8]]);
    }

    #[test]
    fn non_event_buffers_stay_inline() {
        let auth = Value::Object([("key".to_owned(), Value::from(vec![1u8, 2]))].into());
        let encoded = encode(&Packet::connect("/", Some(auth)));
        assert_eq!(encoded.text, r#"0{"key":[1,2]}"#);
        assert!(encoded.attachments.is_empty());
    }

    #[test]
    fn many_attachments_get_a_multi_digit_count() {
        let args = (0..12u8).map(|i| Value::from(vec![i])).collect();
        let encoded = encode(&Packet::event("/x", args).with_id(7));
        assert!(encoded
            .text
            .starts_with(r#"512-/x,7[{"_placeholder":true,"num":0},"#));
        assert_eq!(encoded.attachments.len(), 12);
        assert_eq!(encoded.attachments[11], vec![11u8]);
    }

    #[test]
    fn buffers_become_placeholders_or_byte_arrays() {
        let value = Value::array([
            Value::from(vec![1u8, 2]),
            Value::array([Value::from(vec![3u8])]),
        ]);
        let mut out = String::new();
        write_payload(&mut out, &value, None);
        assert_eq!(out, "[[1,2],[[3]]]");
        let mut out = String::new();
        let mut attachments = Vec::new();
        write_payload(&mut out, &value, Some(&mut attachments));
        assert_eq!(
            out,
            r#"[{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]"#
        );
        assert_eq!(attachments, [vec![1u8, 2], vec![3u8]]);
    }
}
