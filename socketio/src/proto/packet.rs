//! The Socket.IO packet model, independent of any wire format.

use super::error::ParseError;
use super::value::Value;
use indexmap::IndexMap;
use std::fmt;

/// Event names a peer may not emit: the receiving side uses them for its own
/// lifecycle notifications, so accepting them would let a peer fake those.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The packet type digit that starts every encoded packet.
///
/// [`BinaryEvent`](PacketType::BinaryEvent) and
/// [`BinaryAck`](PacketType::BinaryAck) exist only on the wire: the encoder
/// picks them when the payload holds buffers and the decoder reports them as
/// [`Event`](PacketType::Event) and [`Ack`](PacketType::Ack), so application
/// code never has to care whether a payload happened to contain binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// Join a namespace (client) or confirm the join (server).
    Connect = 0,
    /// Leave a namespace.
    Disconnect = 1,
    /// An emitted event: `[name, ...args]`.
    Event = 2,
    /// The reply to an event that asked for an acknowledgement.
    Ack = 3,
    /// The server refused a namespace join.
    ConnectError = 4,
    /// An event whose arguments carry binary attachments.
    BinaryEvent = 5,
    /// An acknowledgement whose arguments carry binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// The type for a numeric code (the text digit's value, or msgpack's
    /// integer `type` field).
    pub fn from_u8(code: u8) -> Option<PacketType> {
        Some(match code {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 => PacketType::Event,
            3 => PacketType::Ack,
            4 => PacketType::ConnectError,
            5 => PacketType::BinaryEvent,
            6 => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// True for the two types that are followed by attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    /// Folds the binary variants into the plain ones, the form the packet
    /// model uses.
    pub(crate) fn without_binary(self) -> PacketType {
        match self {
            PacketType::BinaryEvent => PacketType::Event,
            PacketType::BinaryAck => PacketType::Ack,
            other => other,
        }
    }

    /// The binary variant, for EVENT/ACK only; other types cannot carry
    /// attachments.
    pub(crate) fn with_binary(self) -> Option<PacketType> {
        match self {
            PacketType::Event | PacketType::BinaryEvent => Some(PacketType::BinaryEvent),
            PacketType::Ack | PacketType::BinaryAck => Some(PacketType::BinaryAck),
            _ => None,
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PacketType::Connect => "CONNECT",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Event => "EVENT",
            PacketType::Ack => "ACK",
            PacketType::ConnectError => "CONNECT_ERROR",
            PacketType::BinaryEvent => "BINARY_EVENT",
            PacketType::BinaryAck => "BINARY_ACK",
        })
    }
}

/// One Socket.IO packet with its binary attachments already in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// What the packet does; see [`PacketType`] for the binary variants.
    pub kind: PacketType,
    /// Namespace, starting with `/`; `/` is the main namespace.
    pub nsp: String,
    /// Acknowledgement id: on an EVENT it asks for an ACK, on an ACK it names
    /// the event answered.
    pub id: Option<u64>,
    /// The payload; its allowed shape depends on `kind`.
    pub data: Option<Value>,
}

impl Packet {
    fn new(kind: PacketType, nsp: impl Into<String>, data: Option<Value>) -> Packet {
        Packet {
            kind,
            nsp: nsp.into(),
            id: None,
            data,
        }
    }

    /// A namespace join; `auth` becomes the server's `handshake.auth` (the
    /// server's reply carries `{"sid": …}` here instead).
    pub fn connect(nsp: impl Into<String>, auth: Option<Value>) -> Packet {
        Packet::new(PacketType::Connect, nsp, auth)
    }

    /// Leaving a namespace.
    pub fn disconnect(nsp: impl Into<String>) -> Packet {
        Packet::new(PacketType::Disconnect, nsp, None)
    }

    /// An event; `args` is `[name, ...arguments]`, as on the wire. Add an id
    /// with [`with_id`](Packet::with_id) to ask for an acknowledgement.
    pub fn event(nsp: impl Into<String>, args: Vec<Value>) -> Packet {
        Packet::new(PacketType::Event, nsp, Some(Value::Array(args)))
    }

    /// The acknowledgement of event `id`.
    pub fn ack(nsp: impl Into<String>, id: u64, args: Vec<Value>) -> Packet {
        Packet::new(PacketType::Ack, nsp, Some(Value::Array(args))).with_id(id)
    }

    /// A refused join: `{"message": …, "data": …}`, with `data` left out
    /// when `None`, as the reference server does for `undefined`.
    pub fn connect_error(
        nsp: impl Into<String>,
        message: impl Into<String>,
        data: Option<Value>,
    ) -> Packet {
        let mut payload = IndexMap::with_capacity(2);
        payload.insert("message".to_owned(), Value::String(message.into()));
        if let Some(data) = data {
            payload.insert("data".to_owned(), data);
        }
        Packet::new(PacketType::ConnectError, nsp, Some(Value::Object(payload)))
    }

    /// A refused join as a Socket.IO v2 client takes it: the error itself
    /// (a string, or the refusal's data) rather than `{"message", "data"}`.
    pub(crate) fn connect_error_v2(nsp: impl Into<String>, error: Value) -> Packet {
        Packet::new(PacketType::ConnectError, nsp, Some(error))
    }

    /// Sets the acknowledgement id.
    pub fn with_id(mut self, id: u64) -> Packet {
        self.id = Some(id);
        self
    }

    /// The event name, for an EVENT whose name is a string (numeric names
    /// are legal on the wire but have no `&str`).
    pub fn event_name(&self) -> Option<&str> {
        match self.kind {
            PacketType::Event | PacketType::BinaryEvent => self.items().first()?.as_str(),
            _ => None,
        }
    }

    /// The arguments a handler or ack callback receives: an EVENT's array
    /// without its name, an ACK's whole array, nothing for other types.
    pub fn args(&self) -> &[Value] {
        match self.kind {
            PacketType::Event | PacketType::BinaryEvent => self.items().get(1..).unwrap_or(&[]),
            PacketType::Ack | PacketType::BinaryAck => self.items(),
            _ => &[],
        }
    }

    /// Like [`args`](Packet::args) but by value, so handlers get the
    /// arguments without copying them.
    pub fn into_args(self) -> Vec<Value> {
        let skip = match self.kind {
            PacketType::Event | PacketType::BinaryEvent => 1,
            PacketType::Ack | PacketType::BinaryAck => 0,
            _ => return Vec::new(),
        };
        match self.data {
            Some(Value::Array(mut items)) => {
                items.drain(..skip.min(items.len()));
                items
            }
            _ => Vec::new(),
        }
    }

    fn items(&self) -> &[Value] {
        match &self.data {
            Some(Value::Array(items)) => items,
            _ => &[],
        }
    }

    /// Checks the rules every decoder enforces (namespace form, payload shape
    /// per type, ACK id); shared so that every wire format rejects the same
    /// packets.
    pub fn validate(&self) -> Result<(), ParseError> {
        if !self.nsp.starts_with('/') {
            return Err(ParseError::InvalidNamespace(self.nsp.clone()));
        }
        let invalid = || ParseError::InvalidPayload(self.kind.without_binary());
        match (self.kind.without_binary(), &self.data) {
            (PacketType::Connect, None | Some(Value::Object(_)))
            | (PacketType::Disconnect, None)
            | (PacketType::ConnectError, Some(Value::Object(_) | Value::String(_))) => Ok(()),
            (PacketType::Event, Some(Value::Array(items))) => match items.first() {
                Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                    Err(ParseError::ReservedEventName(name.clone()))
                }
                Some(Value::String(_) | Value::Number(_)) => Ok(()),
                _ => Err(invalid()),
            },
            (PacketType::Ack, Some(Value::Array(_))) if self.id.is_none() => {
                Err(ParseError::MissingAckId)
            }
            (PacketType::Ack, Some(Value::Array(_))) => Ok(()),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes_round_trip() {
        for code in 0..=6 {
            let kind = PacketType::from_u8(code).expect("known code");
            assert_eq!(kind as u8, code);
        }
        assert_eq!(PacketType::from_u8(7), None);
        assert_eq!(PacketType::BinaryAck.to_string(), "BINARY_ACK");
        assert!(PacketType::BinaryEvent.is_binary());
        assert!(!PacketType::Event.is_binary());
    }

    #[test]
    fn event_accessors() {
        let p = Packet::event("/", vec!["hi".into(), 1.into(), "x".into()]).with_id(4);
        assert_eq!(p.event_name(), Some("hi"));
        assert_eq!(p.args(), [Value::from(1), Value::from("x")]);
        assert_eq!(p.id, Some(4));
        assert_eq!(p.into_args(), vec![Value::from(1), Value::from("x")]);
        let numeric = Packet::event("/", vec![7.into()]);
        assert_eq!(numeric.event_name(), None);
        assert!(numeric.args().is_empty());
    }

    #[test]
    fn ack_accessors() {
        let p = Packet::ack("/a", 9, vec![true.into()]);
        assert_eq!(p.event_name(), None);
        assert_eq!(p.args(), [Value::from(true)]);
        assert_eq!(p.clone().into_args(), vec![Value::from(true)]);
        assert!(Packet::disconnect("/").into_args().is_empty());
        assert!(Packet::connect("/", None).args().is_empty());
    }

    #[test]
    fn constructors_build_valid_packets() {
        let packets = [
            Packet::connect("/", None),
            Packet::connect("/admin", Some(Value::Object(IndexMap::new()))),
            Packet::disconnect("/admin"),
            Packet::event("/", vec!["e".into()]),
            Packet::ack("/", 1, vec![]),
            Packet::connect_error("/", "nope", None),
            Packet::connect_error("/", "nope", Some(Value::from(1))),
        ];
        for p in packets {
            assert!(p.validate().is_ok(), "{p:?}");
        }
    }

    #[test]
    fn validate_rejects_bad_shapes() {
        let invalid = |p: Packet| p.validate().expect_err("invalid");
        assert!(matches!(
            invalid(Packet::disconnect("admin")),
            ParseError::InvalidNamespace(nsp) if nsp == "admin"
        ));
        assert!(matches!(
            invalid(Packet::connect("/", Some(Value::from(1)))),
            ParseError::InvalidPayload(PacketType::Connect)
        ));
        assert!(matches!(
            invalid(Packet::event("/", vec![])),
            ParseError::InvalidPayload(PacketType::Event)
        ));
        assert!(matches!(
            invalid(Packet::event("/", vec!["disconnecting".into()])),
            ParseError::ReservedEventName(name) if name == "disconnecting"
        ));
        let mut ack = Packet::ack("/", 1, vec![]);
        ack.id = None;
        assert!(matches!(invalid(ack), ParseError::MissingAckId));
    }
}
