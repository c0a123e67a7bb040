use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::config::TransportType;
use super::gate::InputGate;
use super::outbox::{Outbox, PushError};
use super::request::RequestInfo;
use super::sid::SessionId;
use crate::proto::{Packet, Str};

/// An application message, text or binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
}

impl From<Message> for Packet {
    fn from(m: Message) -> Packet {
        match m {
            Message::Text(s) => Packet::Message(s),
            Message::Binary(b) => Packet::Binary(b),
        }
    }
}

/// Why a session ended, with the reference's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client closed the connection or sent a close packet.
    TransportClose,
    /// The connection failed, or the client broke a transport rule.
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent a packet that could not be decoded.
    ParseError,
    /// The server closed the session.
    ForcedClose,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reference's reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
        }
    }

    /// Whether the server chose to close, so queued packets and a close
    /// packet are still delivered.
    pub(crate) fn flushes(self) -> bool {
        matches!(
            self,
            DisconnectReason::ForcedClose | DisconnectReason::ServerShuttingDown
        )
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session's send buffer is full: the client is not reading.
    #[error("send buffer full")]
    Full,
    /// The session is closed.
    #[error("session closed")]
    Closed,
    /// The transport is writing or has no request to write to (a volatile
    /// send, which is dropped then, as the reference drops it).
    #[error("transport busy")]
    Busy,
}

/// A unit of the send queue: several packets that must stay together (a
/// Socket.IO packet and its binary attachments) travel as one batch.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    One(Packet),
    Batch(Vec<Packet>),
    /// Packets sent with `compress: false`: never compressed by the
    /// transport (permessage-deflate, the HTTP compression of a poll).
    Plain(Vec<Packet>),
}

impl Outgoing {
    pub(crate) fn for_each(self, mut f: impl FnMut(Packet)) {
        match self {
            Outgoing::One(p) => f(p),
            Outgoing::Batch(v) | Outgoing::Plain(v) => v.into_iter().for_each(f),
        }
    }

    /// Whether the transport may compress these packets.
    pub(crate) fn compress(&self) -> bool {
        !matches!(self, Outgoing::Plain(_))
    }

    /// `packets` as one unit; `None` when there are none.
    fn of(mut packets: Vec<Packet>, compress: bool) -> Option<Outgoing> {
        Some(match packets.len() {
            0 => return None,
            _ if !compress => Outgoing::Plain(packets),
            1 => Outgoing::One(packets.remove(0)),
            _ => Outgoing::Batch(packets),
        })
    }
}

/// How [`Socket::send_with`] sends: engine.io's `send(data, options)`
/// options, and socket.io's `volatile` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Whether the transport may compress the messages (permessage-deflate,
    /// HTTP compression), as engine.io's `options.compress`; true by default.
    /// A poll's answer is compressed only if one of its messages may be,
    /// as engine.io's polling transport decides.
    pub compress: bool,
    /// Dropped with [`SendError::Busy`] unless the transport can write the
    /// messages now (see [`Socket::send_if_idle`]); false by default.
    pub volatile: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            compress: true,
            volatile: false,
        }
    }
}

/// One Engine.IO session, whatever transport carries it.
///
/// `D` is per-session data owned by the layer above (Socket.IO keeps its
/// client state there), so no map lookup sits on the message path.
pub struct Socket<D> {
    id: SessionId,
    transport: AtomicU8,
    pub(crate) upgrading: AtomicBool,
    pub(crate) outbox: Outbox,
    pub(crate) post_busy: AtomicBool,
    /// Ends a pending long-poll with a noop during an upgrade.
    pub(crate) poll_interrupt: Notify,
    /// Wakes the session task: a pong (a ping in protocol 3), or the close.
    pub(crate) pong: Notify,
    pub(crate) closed: CancellationToken,
    reason: OnceLock<DisconnectReason>,
    /// `closed` is cancelled, read without its lock.
    closed_flag: AtomicBool,
    /// Set once a closing polling session handed its last packets to a GET.
    pub(crate) flushed: Notify,
    pub(crate) final_poll_taken: AtomicBool,
    /// Between the client's messages and the handler.
    pub(crate) input: InputGate,
    req: RequestInfo,
    /// Whether the session speaks protocol 3, fixed by its handshake.
    eio3: bool,
    /// Whether a protocol 3 polling client takes binary payloads (it asked
    /// for none with `b64`).
    pub(crate) polling_binary: bool,
    /// Tells the session hook of each packet queued (the reference's
    /// `packetCreate`); set when the server has a hook.
    pub(crate) created: OnceLock<PacketCreated>,
    /// Data of the layer above.
    pub data: D,
}

/// A session's `packetCreate` teller: a packet and whether it may be
/// compressed.
pub(crate) type PacketCreated = Box<dyn Fn(&Packet, bool) + Send + Sync>;

impl<D> std::fmt::Debug for Socket<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id)
            .field("transport", &self.transport())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<D> Socket<D> {
    pub(crate) fn new(
        id: SessionId,
        transport: TransportType,
        req: RequestInfo,
        buffer: usize,
        eio3: bool,
        data: D,
    ) -> Self {
        let polling_binary = !eio3 || !wants_base64(&req);
        Socket {
            id,
            transport: AtomicU8::new(transport as u8),
            upgrading: AtomicBool::new(false),
            outbox: Outbox::new(buffer),
            post_busy: AtomicBool::new(false),
            poll_interrupt: Notify::new(),
            pong: Notify::new(),
            closed: CancellationToken::new(),
            reason: OnceLock::new(),
            closed_flag: AtomicBool::new(false),
            flushed: Notify::new(),
            final_poll_taken: AtomicBool::new(false),
            input: InputGate::default(),
            req,
            eio3,
            polling_binary,
            created: OnceLock::new(),
            data,
        }
    }

    /// Tells the hook, if any, of the packets of `out`.
    pub(crate) fn tell_created(&self, out: &Outgoing) {
        if let Some(tell) = self.created.get() {
            let compress = out.compress();
            match out {
                Outgoing::One(p) => tell(p, compress),
                Outgoing::Batch(v) | Outgoing::Plain(v) => v.iter().for_each(|p| tell(p, compress)),
            }
        }
    }

    /// The Engine.IO protocol revision of the session: 4, or 3 for a client
    /// let in by [`ServerConfig::allow_eio3`](super::ServerConfig::allow_eio3).
    pub fn protocol(&self) -> u8 {
        if self.eio3 {
            3
        } else {
            4
        }
    }

    pub(crate) fn is_eio3(&self) -> bool {
        self.eio3
    }

    /// The session id.
    pub fn id(&self) -> SessionId {
        self.id.clone()
    }

    /// The transport currently carrying the session.
    pub fn transport(&self) -> TransportType {
        match self.transport.load(Ordering::Acquire) {
            0 => TransportType::Polling,
            _ => TransportType::Websocket,
        }
    }

    pub(crate) fn set_transport(&self, t: TransportType) {
        self.transport.store(t as u8, Ordering::Release);
    }

    /// The request that opened the session.
    pub fn req(&self) -> &RequestInfo {
        &self.req
    }

    /// Queues a message; fails at once if the buffer is full or the session
    /// is closed, so a slow client never grows server memory.
    pub fn send(&self, msg: Message) -> Result<(), SendError> {
        self.push(Outgoing::One(msg.into()))
    }

    /// Queues several messages that no other send may come between.
    pub fn send_many(&self, msgs: impl IntoIterator<Item = Message>) -> Result<(), SendError> {
        let batch: Vec<Packet> = msgs.into_iter().map(Packet::from).collect();
        match batch.len() {
            0 => Ok(()),
            _ => self.push(Outgoing::Batch(batch)),
        }
    }

    /// Queues messages that travel together only if the transport waits
    /// for something to write now, with nothing queued (the reference's
    /// `transport.writable`): a volatile send, dropped with
    /// [`SendError::Busy`] otherwise — while a long-poll has no pending GET,
    /// or while the WebSocket is writing earlier packets.
    pub fn send_if_idle(&self, msgs: impl IntoIterator<Item = Message>) -> Result<(), SendError> {
        self.send_with(
            msgs,
            SendOptions {
                volatile: true,
                ..SendOptions::default()
            },
        )
    }

    /// Queues messages that no other send may come between, as `opts` say:
    /// uncompressed (`compress: false`), or only if the transport can write
    /// them now (`volatile`).
    pub fn send_with(
        &self,
        msgs: impl IntoIterator<Item = Message>,
        opts: SendOptions,
    ) -> Result<(), SendError> {
        if opts.volatile && self.is_closed() {
            return Err(SendError::Closed);
        }
        let packets: Vec<Packet> = msgs.into_iter().map(Packet::from).collect();
        let Some(out) = Outgoing::of(packets, opts.compress) else {
            return Ok(());
        };
        if !opts.volatile {
            return self.push(out);
        }
        // A volatile packet the transport drops was never created, as in
        // the reference (socket.io drops it before engine.io sees it).
        let told = self.created.get().map(|_| out.clone());
        self.outbox.try_push_idle(out).map_err(|e| match e {
            PushError::Full => SendError::Busy,
            PushError::Closed => SendError::Closed,
        })?;
        if let Some(out) = told {
            self.tell_created(&out);
        }
        Ok(())
    }

    pub(crate) fn push(&self, out: Outgoing) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        self.tell_created(&out);
        self.outbox.try_push(out).map_err(|e| match e {
            PushError::Full => SendError::Full,
            PushError::Closed => SendError::Closed,
        })
    }

    /// Closes the session; the layer above hears of it through
    /// `Handler::on_disconnect`. Packets already queued are still delivered.
    pub fn close(&self) {
        self.close_with(DisconnectReason::ForcedClose);
    }

    pub(crate) fn close_with(&self, reason: DisconnectReason) {
        if self.reason.set(reason).is_ok() {
            self.outbox.close();
            self.closed_flag.store(true, Ordering::Release);
            self.closed.cancel();
            // The session task waits on this one wake-up for pongs and the
            // close alike.
            self.pong.notify_one();
        }
    }

    /// A polling session the server closed still owes the client one poll
    /// with its last packets and the close packet.
    ///
    /// A client close counts too: its close POST may overtake the GET it
    /// sent just before, which then still deserves its clean noop.
    pub(crate) fn awaits_final_poll(&self) -> bool {
        self.transport() == TransportType::Polling
            && !self.final_poll_taken.load(Ordering::Acquire)
            && self
                .disconnect_reason()
                .is_some_and(|r| r.flushes() || r == DisconnectReason::TransportClose)
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        // Set once the outbox refuses packets, as the token is: a packet
        // sent while closing starts is still queued and flushed. One atomic
        // load where the token's check takes a lock.
        self.closed_flag.load(Ordering::Acquire)
    }

    /// Why the session ended, once it has.
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.reason.get().copied()
    }

    /// Resolves when the session ends.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }
}

/// Whether a protocol 3 request asks for binary packets in base64 (a
/// non-empty `b64` query parameter, as the reference reads it).
pub(crate) fn wants_base64(req: &RequestInfo) -> bool {
    req.query("b64").is_some_and(|v| !v.is_empty())
}

/// What the layer above an Engine.IO server implements.
///
/// Callbacks run on the task that serves the connection, in the order the
/// client sent the packets; they must not block.
pub trait Handler: Send + Sync + 'static {
    /// Per-session data, created with the session.
    type Data: Default + Send + Sync + 'static;

    /// A session opened.
    fn on_connect(&self, socket: Arc<Socket<Self::Data>>);

    /// A message arrived.
    fn on_message(&self, socket: &Arc<Socket<Self::Data>>, msg: Message);

    /// A session ended.
    fn on_disconnect(&self, socket: &Arc<Socket<Self::Data>>, reason: DisconnectReason);

    /// A session moved from long-polling to WebSocket (its transport is
    /// already the new one). Does nothing by default.
    fn on_upgrade(&self, socket: &Arc<Socket<Self::Data>>) {
        let _ = socket;
    }
}
