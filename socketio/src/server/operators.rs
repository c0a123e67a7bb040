//! Broadcast operators: `to`, `in`, `except`, `local`, `volatile`,
//! `compress`, `timeout`, and what they act on.

use std::sync::Arc;
use std::time::Duration;

use engineio::server::Sid;
use futures_util::future::join_all;
use serde::Serialize;

use super::client::send_messages;
use super::errors::EmitError;
use super::namespace::Namespace;
use super::socket::{IntoRooms, Socket};
use crate::adapter::BroadcastOptions;
use crate::codec::encode_messages;
use crate::proto::{to_value, Packet, Value};

/// A broadcast being built: chain operators, then emit or act on the
/// matching sockets.
#[derive(Debug, Clone)]
pub struct BroadcastOperator {
    ns: Arc<Namespace>,
    opts: BroadcastOptions,
}

/// The acknowledgements of a broadcast with acks.
#[derive(Debug, Clone, Default)]
pub struct BroadcastAcks {
    /// Each answering socket with its acknowledgement arguments.
    pub responses: Vec<(Sid, Vec<Value>)>,
    /// Sockets that did not answer in time (or disconnected).
    pub missing: Vec<Sid>,
}

impl BroadcastAcks {
    /// Whether every recipient answered.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<Namespace>) -> Self {
        BroadcastOperator {
            ns,
            opts: BroadcastOptions::default(),
        }
    }

    /// Adds target rooms.
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        for r in rooms.into_rooms() {
            if !self.opts.rooms.contains(&r) {
                self.opts.rooms.push(r);
            }
        }
        self
    }

    /// Same as [`BroadcastOperator::to`].
    pub fn in_(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Excludes rooms.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        for r in rooms.into_rooms() {
            if !self.opts.except.contains(&r) {
                self.opts.except.push(r);
            }
        }
        self
    }

    /// Only this server's sockets (matters with a cluster adapter).
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// Drops the message for sockets whose send buffer is full.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Compression hint.
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = Some(compress);
        self
    }

    /// How long [`BroadcastOperator::emit_with_ack`] waits.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// The options built so far.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    fn targets(&self) -> Vec<Arc<Socket>> {
        self.ns.sockets_by_id(self.ns.adapter().sockets(&self.opts))
    }

    /// Emits an event with one argument to every matching socket. The packet
    /// is encoded once; a socket with a full buffer misses it (logged).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emit_args(event, vec![to_value(data)?])
    }

    /// Emits an event with any arguments to every matching socket.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        let mut packet = self.event_packet(event, args);
        if !self.opts.flags.volatile {
            if let Some(Value::Array(data)) = &mut packet.data {
                if let Some(offset) = self.ns.adapter().store_packet(&self.opts, data) {
                    data.push(Value::String(offset));
                }
            }
        }
        let msgs = encode_messages(self.ns.config.parser, &packet);
        for s in self.targets() {
            if let Err(e) = send_messages(&s.client, &msgs) {
                if !self.opts.flags.volatile {
                    tracing::debug!(sid = %s.id(), error = %e, "broadcast not delivered");
                }
            }
        }
        Ok(())
    }

    fn event_packet(&self, event: &str, args: Vec<Value>) -> Packet {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        data.extend(args);
        Packet::event(self.ns.name(), data)
    }

    /// Emits to every matching socket and collects their acknowledgements
    /// until the timeout (the operator's, or the server's `ack_timeout`).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        self.emit_with_ack_args(event, vec![to_value(data)?]).await
    }

    /// [`BroadcastOperator::emit_with_ack`] with any arguments.
    pub async fn emit_with_ack_args(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<BroadcastAcks, EmitError> {
        let timeout = self.opts.flags.timeout.unwrap_or(self.ns.ack_timeout());
        let mut packet = self.event_packet(event, args);
        let id = self.ns.next_ack_id();
        packet.id = Some(id);
        let msgs = encode_messages(self.ns.config.parser, &packet);
        let mut waits = Vec::new();
        let mut acks = BroadcastAcks::default();
        for s in self.targets() {
            let rx = s.insert_ack(id);
            match send_messages(&s.client, &msgs) {
                Ok(()) => waits.push((s, rx)),
                Err(_) => {
                    s.forget_ack(id);
                    acks.missing.push(s.id());
                }
            }
        }
        let results = join_all(waits.into_iter().map(|(s, rx)| async move {
            let r = tokio::time::timeout(timeout, rx).await;
            s.forget_ack(id);
            (s.id(), r)
        }))
        .await;
        for (sid, r) in results {
            match r {
                Ok(Ok(values)) => acks.responses.push((sid, values)),
                _ => acks.missing.push(sid),
            }
        }
        Ok(acks)
    }

    /// The matching sockets of this server.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.targets()
    }

    /// The matching sockets, as handles that can emit, join, leave,
    /// disconnect and read data and handshake (the reference's
    /// `fetchSockets`).
    pub async fn fetch_sockets(&self) -> Vec<Arc<Socket>> {
        self.targets()
    }

    /// Makes the matching sockets join rooms.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        for s in self.targets() {
            s.join(rooms.clone());
        }
    }

    /// Makes the matching sockets leave rooms.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        for s in self.targets() {
            for r in &rooms {
                s.leave(r);
            }
        }
    }

    /// Disconnects the matching sockets; with `close`, their connections too.
    pub fn disconnect_sockets(&self, close: bool) {
        for s in self.targets() {
            s.disconnect(close);
        }
    }
}
