//! What a manager tells about its Engine.IO session: the events of
//! engine.io-client's `Socket` (the reference's `manager.engine`), for
//! applications and bindings that show that object.

use engineio::client::TransportType;
use engineio::proto::Packet;

use super::errors::DisconnectReason;

/// An event of a manager's Engine.IO session; see
/// [`Manager::on_engine`](super::Manager::on_engine). Each connection
/// attempt is a new session: `Open` (or `OpenError`) starts it, `Close`
/// ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineEvent {
    /// A session opened (engine.io-client's `open`): its id and first
    /// transport. Comes before the manager's `open` handlers.
    Open {
        /// The Engine.IO session id.
        sid: String,
        /// The transport it opened with.
        transport: TransportType,
    },
    /// A connection attempt failed (the session's `error`), before the
    /// manager's `error` handlers; `reconnecting` tells whether the
    /// reconnection machinery goes on (a later attempt or
    /// `reconnect_failed` follows) or stops here.
    OpenError {
        /// What went wrong.
        message: String,
        /// Whether the manager keeps trying.
        reconnecting: bool,
    },
    /// The session moved to another transport (`upgrade`).
    Upgrade(TransportType),
    /// The server pinged (`ping`); the pong is on its way. The reference
    /// manager's `ping` event.
    Ping,
    /// A packet arrived (`packet`), the handshake's `open` first; only while
    /// packets are watched ([`Manager::watch_engine_packets`](super::Manager::watch_engine_packets)).
    Packet(Packet),
    /// A packet is written (`packetCreate`); only while packets are
    /// watched.
    PacketCreate(Packet),
    /// The session closed (`close`), with the reason the manager's `close`
    /// handlers get next; `reconnecting` tells whether the manager goes on:
    /// a reconnection (or `reconnect_failed`) follows, or a socket that
    /// left and connected again opens a new connection.
    Close {
        /// The id of the session that closed; `None` when the manager
        /// closed with no session open (an attempt given up, or already
        /// closed).
        sid: Option<String>,
        /// Why it closed.
        reason: DisconnectReason,
        /// Whether the manager reconnects.
        reconnecting: bool,
    },
    /// The manager stopped: no connection and no reconnection under way
    /// (after a failed attempt or a close with no reconnection,
    /// `reconnect_failed`, or reconnection turned off), until a socket
    /// connects or it is opened again. Comes after everything that led
    /// there, for those that keep a process alive while it works.
    Idle,
}
