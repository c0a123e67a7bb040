//! Answering the server's acknowledgement requests.

use std::sync::Weak;

use engineio::client::SendError;
use serde::Serialize;

use super::errors::EmitError;
use super::socket::SocketInner;
use crate::proto::{to_value, Packet, Value};

/// Answers one event the server emitted with an acknowledgement callback.
/// Consumed by sending, so an event is answered at most once.
pub struct AckSender {
    socket: Weak<SocketInner>,
    id: u64,
}

impl std::fmt::Debug for AckSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckSender").field("id", &self.id).finish()
    }
}

impl AckSender {
    pub(crate) fn new(socket: Weak<SocketInner>, id: u64) -> AckSender {
        AckSender { socket, id }
    }

    /// The acknowledgement id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Answers with these arguments.
    pub fn send(self, args: Vec<Value>) -> Result<(), EmitError> {
        let socket = self.socket.upgrade().ok_or(EmitError::Disconnected)?;
        let packet = Packet::ack(socket.nsp.clone(), self.id, args);
        socket.manager.send_packet(&packet).map_err(|e| match e {
            SendError::Full | SendError::Busy => EmitError::Full,
            SendError::Closed => EmitError::Disconnected,
        })
    }

    /// Answers with one argument.
    pub fn send_value<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let value = to_value(data)?;
        self.send(vec![value])
    }
}
