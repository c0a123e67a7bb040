//! One Engine.IO connection seen from Socket.IO: packet decoding and the
//! namespaces multiplexed over it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use engineio::server::{DisconnectReason as EngineReason, Message};
use engineio::Str;

use super::errors::EmitError;
use super::namespace::Namespace;
use super::reason::DisconnectReason;
use super::socket::Socket;
use super::ServerInner;
use crate::proto::{encode, Decoder, Encoded, Packet, PacketType, Value};

/// The Engine.IO session carrying a Socket.IO client.
pub(crate) type EngineSocket = Arc<engineio::Socket<Client>>;

/// Socket.IO state of one Engine.IO session.
#[derive(Default)]
pub struct Client {
    decoder: Mutex<Decoder>,
    nsps: RwLock<HashMap<String, Arc<Socket>>>,
    connected_once: AtomicBool,
    /// A Socket.IO-level reason overriding the Engine.IO one at teardown.
    close_reason: OnceLock<DisconnectReason>,
}

impl Client {
    /// Closes the whole connection with a Socket.IO reason.
    pub(crate) fn close(socket: &EngineSocket, reason: DisconnectReason) {
        let _ = socket.data.close_reason.set(reason);
        socket.close();
    }

    pub(crate) fn remove(socket: &EngineSocket, nsp: &str) {
        if let Ok(mut n) = socket.data.nsps.write() {
            n.remove(nsp);
        }
    }
}

/// Writes an encoded packet and its attachments as one unit.
pub(crate) fn send_encoded(socket: &EngineSocket, encoded: &Encoded) -> Result<(), EmitError> {
    let text = Message::Text(Str::from(encoded.text.clone()));
    if encoded.attachments.is_empty() {
        socket.send(text).map_err(EmitError::from)
    } else {
        let msgs =
            std::iter::once(text).chain(encoded.attachments.iter().cloned().map(Message::Binary));
        socket.send_many(msgs).map_err(EmitError::from)
    }
}

/// Encodes and writes a packet to one connection.
pub(crate) fn send_packet(socket: &EngineSocket, packet: &Packet) -> Result<(), EmitError> {
    send_encoded(socket, &encode(packet))
}

/// The engine messages of an encoded packet, built once and cloned per
/// recipient on a broadcast.
pub(crate) fn to_messages(encoded: Encoded) -> Vec<Message> {
    let mut msgs = Vec::with_capacity(1 + encoded.attachments.len());
    msgs.push(Message::Text(Str::from(encoded.text)));
    msgs.extend(encoded.attachments.into_iter().map(Message::Binary));
    msgs
}

pub(crate) fn send_messages(socket: &EngineSocket, msgs: &[Message]) -> Result<(), EmitError> {
    match msgs {
        [one] => socket.send(one.clone()).map_err(EmitError::from),
        many => socket
            .send_many(many.iter().cloned())
            .map_err(EmitError::from),
    }
}

/// The Engine.IO handler of a Socket.IO server.
pub struct SioHandler {
    pub(crate) server: Arc<ServerInner>,
}

impl engineio::Handler for SioHandler {
    type Data = Client;

    fn on_connect(&self, socket: EngineSocket) {
        if let Ok(mut d) = socket.data.decoder.lock() {
            *d = Decoder::with_max_attachments(self.server.config.max_attachments);
        }
        let timeout = self.server.config.connect_timeout;
        let weak = Arc::downgrade(&socket);
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(s) = weak.upgrade() {
                if !s.data.connected_once.load(Ordering::Acquire) && !s.is_closed() {
                    tracing::debug!(sid = %s.id(), "no namespace joined in time");
                    s.close();
                }
            }
        });
    }

    fn on_message(&self, socket: &EngineSocket, msg: Message) {
        let decoded = match socket.data.decoder.lock() {
            Ok(mut d) => match msg {
                Message::Text(s) => d.decode_text(&s),
                Message::Binary(b) => d.decode_binary(b),
            },
            Err(_) => return,
        };
        match decoded {
            Ok(Some(packet)) => self.on_packet(socket, packet),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(sid = %socket.id(), error = %e, "invalid packet");
                Client::close(socket, DisconnectReason::ParseError);
            }
        }
    }

    fn on_disconnect(&self, socket: &EngineSocket, reason: EngineReason) {
        let reason = socket
            .data
            .close_reason
            .get()
            .copied()
            .unwrap_or_else(|| reason.into());
        let sockets: Vec<Arc<Socket>> = socket
            .data
            .nsps
            .write()
            .map(|mut n| n.drain().map(|(_, s)| s).collect())
            .unwrap_or_default();
        for s in sockets {
            s.on_close(reason);
        }
    }
}

impl SioHandler {
    fn on_packet(&self, socket: &EngineSocket, packet: Packet) {
        let existing = socket
            .data
            .nsps
            .read()
            .ok()
            .and_then(|n| n.get(&packet.nsp).cloned());
        match (packet.kind, existing) {
            (PacketType::Connect, None) => self.connect(socket, packet),
            (PacketType::Event | PacketType::BinaryEvent, Some(s)) => s.on_event(packet),
            (PacketType::Ack | PacketType::BinaryAck, Some(s)) => s.on_ack(packet),
            (PacketType::Disconnect, Some(s)) => {
                s.on_close(DisconnectReason::ClientNamespaceDisconnect)
            }
            // A second CONNECT, a client CONNECT_ERROR, or a packet for a
            // namespace not joined: the reference closes the connection.
            _ => Client::close(socket, DisconnectReason::ParseError),
        }
    }

    fn connect(&self, socket: &EngineSocket, packet: Packet) {
        let Some(ns) = self.server.namespace_for_connect(&packet.nsp) else {
            let refusal = Packet::connect_error(packet.nsp.as_str(), "Invalid namespace", None);
            let _ = send_encoded(socket, &encode(&refusal));
            return;
        };
        let auth = match packet.data {
            Some(v @ Value::Object(_)) => v,
            _ => Value::Object(Default::default()),
        };
        Namespace::connect(&ns, socket.clone(), auth);
    }
}

pub(crate) fn mark_connected(socket: &EngineSocket, s: &Arc<Socket>) -> bool {
    if socket.is_closed() {
        return false;
    }
    socket.data.connected_once.store(true, Ordering::Release);
    match socket.data.nsps.write() {
        Ok(mut n) => {
            n.insert(s.nsp().to_owned(), s.clone());
            true
        }
        Err(_) => false,
    }
}
