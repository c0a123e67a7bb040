//! Broadcast operators: `to`, `in`, `except`, `local`, `volatile`,
//! `compress`, `timeout`, and what they act on.

use std::sync::Arc;
use std::time::Duration;

use engineio::server::Sid;
use serde::Serialize;

use super::errors::EmitError;
use super::namespace::{FetchedSocket, Namespace};
use super::socket::{IntoRooms, Socket};
use crate::adapter::{BroadcastOptions, RemoteAcks};
use crate::proto::{to_value, Value};

fn event_data(event: &str, args: Vec<Value>) -> Vec<Value> {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(event.to_owned()));
    data.extend(args);
    data
}

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

/// The acknowledgements of a broadcast with acks across the cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterAcks {
    /// This server's clients.
    pub local: BroadcastAcks,
    /// The other servers' clients' acknowledgements (first argument each).
    pub remote: Vec<Value>,
    /// Whether every other server reported and all its clients answered in
    /// time.
    pub remote_complete: bool,
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
        self.ns.local_targets(&self.opts)
    }

    /// Emits an event with one argument to every matching socket. The packet
    /// is encoded once; a socket with a full buffer misses it (logged). With
    /// a cluster adapter the other servers get it too, unless `local`.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.emit_args(event, vec![to_value(data)?])
    }

    /// Emits an event with any arguments to every matching socket.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.ns
            .adapter()
            .broadcast(event_data(event, args), &self.opts, &*self.ns);
        Ok(())
    }

    /// Emits to every matching socket and collects their acknowledgements
    /// until the timeout (the operator's, or the server's `ack_timeout`).
    /// With a cluster adapter the other servers' clients get the event too;
    /// their answers are in [`BroadcastOperator::emit_with_ack_all`].
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
        Ok(self.emit_with_ack_all_args(event, args).await?.local)
    }

    /// Emits to every matching socket of the cluster and collects the
    /// acknowledgements of this server's clients (with their ids) and of the
    /// other servers' clients (first argument only, as Node forwards them).
    pub async fn emit_with_ack_all<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<ClusterAcks, EmitError> {
        self.emit_with_ack_all_args(event, vec![to_value(data)?])
            .await
    }

    /// [`BroadcastOperator::emit_with_ack_all`] with any arguments.
    pub async fn emit_with_ack_all_args(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<ClusterAcks, EmitError> {
        let timeout = self.opts.flags.timeout.unwrap_or(self.ns.ack_timeout());
        let data = event_data(event, args);
        let remote = (!self.opts.flags.local).then(|| {
            self.ns
                .adapter()
                .publish_broadcast_with_ack(data.clone(), &self.opts, timeout)
        });
        let started = self.ns.start_local_acks(data, &self.opts);
        let local = Namespace::collect_local_acks(started, timeout);
        let (local, remote) = match remote {
            Some(remote) => futures_util::future::join(local, remote).await,
            None => (
                local.await,
                RemoteAcks {
                    values: Vec::new(),
                    complete: true,
                },
            ),
        };
        Ok(ClusterAcks {
            local,
            remote: remote.values,
            remote_complete: remote.complete,
        })
    }

    /// The matching sockets of this server.
    pub fn sockets(&self) -> Vec<Arc<Socket>> {
        self.targets()
    }

    /// The matching sockets of this server, as handles that can emit, join,
    /// leave, disconnect and read data and handshake (the reference's
    /// `fetchSockets`, local part); see
    /// [`BroadcastOperator::fetch_all_sockets`] for the cluster.
    pub async fn fetch_sockets(&self) -> Vec<Arc<Socket>> {
        self.targets()
    }

    /// The matching sockets of the whole cluster (the reference's
    /// `fetchSockets`): this server's as handles, the others' described.
    /// After the adapter's timeout, what arrived.
    pub async fn fetch_all_sockets(&self) -> Vec<FetchedSocket> {
        let mut out: Vec<FetchedSocket> = self
            .targets()
            .into_iter()
            .map(FetchedSocket::Local)
            .collect();
        if !self.opts.flags.local {
            let remote = self.ns.adapter().fetch_remote_sockets(&self.opts).await;
            out.extend(
                remote
                    .into_iter()
                    .map(|r| FetchedSocket::Remote(Box::new(r))),
            );
        }
        out
    }

    /// Makes the matching sockets join rooms (across the cluster unless
    /// `local`).
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if !self.opts.flags.local {
            self.ns.adapter().publish_add_sockets(&self.opts, &rooms);
        }
        for s in self.targets() {
            s.join(rooms.clone());
        }
    }

    /// Makes the matching sockets leave rooms (across the cluster unless
    /// `local`).
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        if !self.opts.flags.local {
            self.ns.adapter().publish_del_sockets(&self.opts, &rooms);
        }
        for s in self.targets() {
            for r in &rooms {
                s.leave(r);
            }
        }
    }

    /// Disconnects the matching sockets; with `close`, their connections too
    /// (across the cluster unless `local`).
    pub fn disconnect_sockets(&self, close: bool) {
        if !self.opts.flags.local {
            self.ns
                .adapter()
                .publish_disconnect_sockets(&self.opts, close);
        }
        for s in self.targets() {
            s.disconnect(close);
        }
    }
}
