/// Why a packet or payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The packet was empty: there is no type digit.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type digit 0-6.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A `b`-prefixed polling record was not valid base64.
    #[error("invalid base64 in binary record")]
    InvalidBase64,
    /// A text record or frame was not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A protocol 3 payload's record framing (its lengths) was malformed.
    #[error("malformed payload framing")]
    BadFraming,
}
