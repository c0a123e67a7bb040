//! One Engine.IO connection seen from Socket.IO: packet decoding and the
//! namespaces multiplexed over it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use engineio::server::{DisconnectReason as EngineReason, Message, SendOptions};
use parking_lot::{Mutex, RwLock};

use super::errors::EmitError;
use super::namespace::Namespace;
use super::observer::{message_len, Observers};
use super::reason::DisconnectReason;
use super::socket::Socket;
use super::ServerInner;
use crate::codec::{encode_messages, PacketDecoder, ParserKind};
use crate::proto::{Packet, PacketType, Value};

/// The Engine.IO session carrying a Socket.IO client.
pub(crate) type EngineSocket = Arc<engineio::Socket<Client>>;

/// Socket.IO state of one Engine.IO session.
#[derive(Default)]
pub struct Client {
    decoder: Mutex<PacketDecoder>,
    parser: OnceLock<ParserKind>,
    nsps: RwLock<HashMap<String, Arc<Socket>>>,
    connected_once: AtomicBool,
    /// Ends the connect-timeout timer once a namespace is joined or the
    /// connection closes.
    settled: Arc<tokio::sync::Notify>,
    /// A Socket.IO-level reason overriding the Engine.IO one at teardown.
    close_reason: OnceLock<DisconnectReason>,
    /// The server's observers (set when the session opens).
    observers: OnceLock<Arc<Observers>>,
}

impl Client {
    pub(crate) fn parser(&self) -> ParserKind {
        self.parser.get().copied().unwrap_or_default()
    }

    /// The server's observers, when any listens.
    pub(crate) fn observers(&self) -> Option<&Arc<Observers>> {
        self.observers.get().filter(|o| o.active())
    }

    /// Closes the whole connection with a Socket.IO reason.
    pub(crate) fn close(socket: &EngineSocket, reason: DisconnectReason) {
        let _ = socket.data.close_reason.set(reason);
        socket.close();
    }

    pub(crate) fn sockets(socket: &EngineSocket) -> Vec<Arc<Socket>> {
        socket.data.nsps.read().values().cloned().collect()
    }

    pub(crate) fn remove(socket: &EngineSocket, nsp: &str) {
        socket.data.nsps.write().remove(nsp);
    }
}

/// Encodes a packet with the connection's parser and writes it, with its
/// attachments, as one unit.
pub(crate) fn send_packet(socket: &EngineSocket, packet: &Packet) -> Result<(), EmitError> {
    send_messages(socket, &encode_messages(socket.data.parser(), packet))
}

pub(crate) fn send_messages(socket: &EngineSocket, msgs: &[Message]) -> Result<(), EmitError> {
    send_messages_with(socket, msgs, SendOptions::default())
}

/// [`send_messages`] as `opts` say: a `volatile` packet is dropped unless
/// the transport can write it now, as the reference drops it; one sent
/// with `compress: false` is never compressed.
pub(crate) fn send_messages_with(
    socket: &EngineSocket,
    msgs: &[Message],
    opts: SendOptions,
) -> Result<(), EmitError> {
    let sent = match msgs {
        _ if opts != SendOptions::default() => socket
            .send_with(msgs.iter().cloned(), opts)
            .map_err(EmitError::from),
        [one] => socket.send(one.clone()).map_err(EmitError::from),
        many => socket
            .send_many(many.iter().cloned())
            .map_err(EmitError::from),
    };
    if let (Ok(()), Some(observers)) = (&sent, socket.data.observers()) {
        observers.packets_out(msgs);
    }
    sent
}

/// The Engine.IO handler of a Socket.IO server.
pub struct SioHandler {
    pub(crate) server: Arc<ServerInner>,
}

impl engineio::Handler for SioHandler {
    type Data = Client;

    fn on_connect(&self, socket: EngineSocket) {
        self.server.client_connected();
        let _ = socket.data.parser.set(self.server.config.parser);
        let _ = socket.data.observers.set(self.server.observers.clone());
        self.server.observers.each(|o| o.raw_connection(&socket));
        *socket.data.decoder.lock() = PacketDecoder::new(
            self.server.config.parser,
            self.server.config.max_attachments,
        );
        if socket.protocol() == 3 {
            // A v2 client is in the main namespace without asking.
            self.connect(&socket, Packet::connect("/", None));
        }
        let timeout = self.server.config.connect_timeout;
        let weak = Arc::downgrade(&socket);
        let settled = socket.data.settled.clone();
        tokio::spawn(async move {
            // The timer ends as soon as the connection joins a namespace or
            // closes, so it costs nothing once the client is settled.
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {}
                _ = settled.notified() => return,
            }
            if let Some(s) = weak.upgrade() {
                if !s.data.connected_once.load(Ordering::Acquire) && !s.is_closed() {
                    tracing::debug!(sid = %s.id(), "no namespace joined in time");
                    s.close();
                }
            }
        });
    }

    fn on_message(&self, socket: &EngineSocket, msg: Message) {
        if let Some(observers) = socket.data.observers() {
            let bytes = message_len(&msg);
            observers.each(|o| o.packet_in(bytes));
        }
        let decoded = socket.data.decoder.lock().decode(msg);
        match decoded {
            Ok(Some(packet)) => self.on_packet(socket, packet),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(sid = %socket.id(), error = %e, "invalid packet");
                let err = Value::String(e.reference_message());
                for s in Client::sockets(socket) {
                    s.report_error(err.clone());
                }
                Client::close(socket, DisconnectReason::ParseError);
            }
        }
    }

    fn on_disconnect(&self, socket: &EngineSocket, reason: EngineReason) {
        socket.data.settled.notify_one();
        self.server
            .observers
            .each(|o| o.raw_disconnection(socket, reason.as_str()));
        let reason = socket
            .data
            .close_reason
            .get()
            .copied()
            .unwrap_or_else(|| reason.into());
        let sockets: Vec<Arc<Socket>> = socket.data.nsps.write().drain().map(|(_, s)| s).collect();
        for s in sockets {
            s.connection_closed(reason);
        }
    }

    fn on_upgrade(&self, socket: &EngineSocket) {
        self.server.observers.each(|o| o.upgraded(socket));
    }
}

impl SioHandler {
    fn on_packet(&self, socket: &EngineSocket, mut packet: Packet) {
        if socket.protocol() == 3 {
            v2_namespace(&mut packet);
        }
        let existing = socket.data.nsps.read().get(&packet.nsp).cloned();
        match (packet.kind, existing) {
            (PacketType::Connect, None) => self.connect(socket, packet),
            (
                PacketType::Event
                | PacketType::BinaryEvent
                | PacketType::Ack
                | PacketType::BinaryAck
                | PacketType::Disconnect,
                Some(s),
            ) => s.receive(packet),
            // A second CONNECT, a client CONNECT_ERROR, or a packet for a
            // namespace not joined: the reference closes the connection.
            _ => Client::close(socket, DisconnectReason::ParseError),
        }
    }

    fn connect(&self, socket: &EngineSocket, packet: Packet) {
        let joined = socket.data.nsps.read().len();
        if joined >= self.server.config.max_namespaces_per_connection {
            let refusal = Packet::connect_error(packet.nsp.as_str(), "Too many namespaces", None);
            let _ = send_packet(socket, &refusal);
            return;
        }
        let auth = match packet.data {
            Some(v @ Value::Object(_)) => v,
            _ => Value::Object(Default::default()),
        };
        let Some(ns) = self.server.namespace_for_connect(&packet.nsp, &auth) else {
            let refusal = Packet::connect_error(packet.nsp.as_str(), "Invalid namespace", None);
            let _ = send_packet(socket, &refusal);
            return;
        };
        Namespace::connect(&ns, socket.clone(), auth);
    }
}

/// A v2 client's namespace carries its query (`/nsp?token=1`), which is
/// the join's `auth`, as the reference reads it.
fn v2_namespace(packet: &mut Packet) {
    let Some((path, query)) = packet.nsp.split_once('?') else {
        return;
    };
    let (path, query) = (path.to_owned(), query.to_owned());
    packet.nsp = path;
    if packet.kind == PacketType::Connect {
        let auth = engineio::server::parse_query(&query)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        packet.data = Some(Value::Object(auth));
    }
}

/// Whether the connection is a Socket.IO v2 client's (Engine.IO protocol 3).
pub(crate) fn is_v2(socket: &EngineSocket) -> bool {
    socket.protocol() == 3
}

pub(crate) fn mark_connected(socket: &EngineSocket, s: &Arc<Socket>) -> bool {
    if socket.is_closed() {
        return false;
    }
    if !socket.data.connected_once.swap(true, Ordering::AcqRel) {
        socket.data.settled.notify_one();
    }
    socket
        .data
        .nsps
        .write()
        .insert(s.nsp().to_owned(), s.clone());
    true
}
