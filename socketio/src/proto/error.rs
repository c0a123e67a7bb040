//! Why an incoming packet was rejected, or an outgoing one could not be
//! encoded.

use super::packet::PacketType;

/// A protocol violation by the peer.
///
/// Any of these means the peer is broken or hostile; the reference server
/// closes the Engine.IO connection on every one, so callers do not need to
/// tell them apart except for logging.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// An empty text message carries no packet type.
    #[error("empty packet")]
    Empty,
    /// The first character is not a known packet type digit.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// BINARY_EVENT/BINARY_ACK without a decimal count followed by `-`.
    #[error("malformed attachment count")]
    InvalidAttachmentCount,
    /// A `<count>-` prefix on a type that cannot have attachments.
    #[error("attachment count on a non-binary {0} packet")]
    UnexpectedAttachmentCount(PacketType),
    /// More attachments announced than the decoder accepts, which bounds the
    /// memory a peer can make it hold.
    #[error("{count} attachments exceed the limit of {max}")]
    TooManyAttachments {
        /// The announced count.
        count: usize,
        /// The decoder's limit.
        max: usize,
    },
    /// The namespace does not start with `/`.
    #[error("namespace {0:?} does not start with '/'")]
    InvalidNamespace(String),
    /// The ack id does not fit in a `u64`.
    #[error("ack id out of range")]
    InvalidAckId,
    /// The payload is not valid JSON.
    #[error("invalid JSON payload: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// Something follows the JSON payload.
    #[error("trailing data after the JSON payload")]
    TrailingData,
    /// The payload has the wrong shape for the packet type.
    #[error("invalid {0} payload: expected {expected}", expected = expected_payload(*.0))]
    InvalidPayload(PacketType),
    /// An EVENT uses a name reserved for lifecycle notifications.
    #[error("event name {0:?} is reserved")]
    ReservedEventName(String),
    /// An ACK must name the event it answers.
    #[error("ACK packet without an id")]
    MissingAckId,
    /// A text packet arrived while a binary packet still awaited attachments.
    #[error("text packet received while {0} attachment(s) are still expected")]
    UnexpectedText(usize),
    /// A binary attachment arrived with no binary packet awaiting it.
    #[error("binary attachment received with none expected")]
    UnexpectedBinary,
    /// A `_placeholder` object without a usable `num`.
    #[error("malformed attachment placeholder")]
    MalformedPlaceholder,
    /// A placeholder names an attachment that was not announced.
    #[error("placeholder refers to attachment {num} of {count}")]
    PlaceholderOutOfRange {
        /// The placeholder's `num`.
        num: u64,
        /// How many attachments the packet has.
        count: usize,
    },
    /// A message the msgpack parser cannot take as a packet: malformed
    /// msgpack, something other than a map, a missing or mistyped `type` or
    /// `nsp` field, or a text message (that parser only uses binary ones).
    #[error("invalid msgpack packet: {0}")]
    InvalidMsgpack(String),
}

impl ParseError {
    /// The message the reference parser (`socket.io-parser`) throws for
    /// the same input, which its server hands to the sockets' `error`
    /// listeners.
    pub fn reference_message(&self) -> String {
        match self {
            ParseError::UnknownType(c) => format!("unknown packet type {c}"),
            ParseError::InvalidAttachmentCount | ParseError::UnexpectedAttachmentCount(_) => {
                "Illegal attachments".to_owned()
            }
            ParseError::TooManyAttachments { .. } => "too many attachments".to_owned(),
            ParseError::InvalidJson(_)
            | ParseError::TrailingData
            | ParseError::InvalidPayload(_)
            | ParseError::ReservedEventName(_)
            | ParseError::MissingAckId => "invalid payload".to_owned(),
            ParseError::UnexpectedText(_) => {
                "got plaintext data when reconstructing a packet".to_owned()
            }
            ParseError::UnexpectedBinary => {
                "got binary data when not reconstructing a packet".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// A packet the msgpack parser cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string, buffer, array or object has `2^32` or more bytes or
    /// elements, beyond msgpack's 32-bit lengths.
    #[error("a string, buffer, array or object is too large for msgpack (2^32 or more)")]
    TooLarge,
}

fn expected_payload(kind: PacketType) -> &'static str {
    match kind {
        PacketType::Connect => "an object or nothing",
        PacketType::Disconnect => "nothing",
        PacketType::ConnectError => "an object or a string",
        PacketType::Event | PacketType::BinaryEvent => {
            "a non-empty array starting with a string or number event name"
        }
        PacketType::Ack | PacketType::BinaryAck => "an array",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            ParseError::InvalidPayload(PacketType::Connect).to_string(),
            "invalid CONNECT payload: expected an object or nothing"
        );
        assert_eq!(
            ParseError::TooManyAttachments { count: 11, max: 10 }.to_string(),
            "11 attachments exceed the limit of 10"
        );
        assert_eq!(
            ParseError::UnknownType('9').to_string(),
            "unknown packet type '9'"
        );
    }
}
