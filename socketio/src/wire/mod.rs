//! The value codecs every wire format of the crate shares: msgpack and JSON
//! text over [`Value`](crate::proto::Value) exactly as the npm libraries on
//! the other side write them, JS `Date` renderings, and Node's base64.
//!
//! Two families of peers need them: Socket.IO clients and servers speaking
//! the default or the msgpack parser ([`crate::proto`]), and Node servers
//! sharing a broker with ours ([`crate::adapter::cluster`]). They stay byte
//! compatible with the same JS libraries, so they share one implementation:
//! a fix or a limit made here holds for both. Packet layouts, attachments and
//! message framing stay with their users.

pub(crate) mod base64;
pub(crate) mod date;
pub(crate) mod js_number;
pub(crate) mod json;
pub(crate) mod msgpack;
