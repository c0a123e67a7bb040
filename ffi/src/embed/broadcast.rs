//! [`Broadcast`]: operators chosen one call at a time, then emits or
//! actions on the matching sockets, with what they answer.

use std::sync::Arc;
use std::time::Duration;

use sio_core::server::BroadcastOperator;
use sio_core::Value;

use super::queue::Ctx;
use super::{Error, Socket};

/// Acknowledgements collected by [`Broadcast::emit_with_ack`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BroadcastReplies {
    /// Each answering socket's id with its acknowledgement arguments.
    pub replies: Vec<(String, Vec<Value>)>,
    /// Ids of sockets that did not answer in time.
    pub missing: Vec<String>,
    /// The other servers' clients' answers (their first argument each,
    /// as Node forwards them); none without a cluster adapter.
    pub remote: Vec<Value>,
    /// Whether every other server reported and all its clients answered
    /// in time.
    pub remote_complete: bool,
}

impl BroadcastReplies {
    /// Whether every recipient, on every server, answered in time.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.remote_complete
    }
}

/// A socket [`Broadcast::fetch_all_sockets`] found.
#[derive(Debug)]
pub enum FetchedSocket {
    /// A socket of this server.
    Local(Socket),
    /// A socket of another server of the cluster, described as Node
    /// describes it: `{id, handshake, rooms, data}` (act on it with
    /// [`Namespace::to`] its id).
    Remote(Value),
}

/// A broadcast being built: chain operators, then emit or act on the
/// matching sockets. Cheap to clone.
#[derive(Clone)]
pub struct Broadcast {
    pub(super) op: BroadcastOperator,
    pub(super) ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

impl Broadcast {
    fn map(mut self, f: impl FnOnce(BroadcastOperator) -> BroadcastOperator) -> Self {
        self.op = f(self.op);
        self
    }

    /// Adds a target room.
    pub fn to(self, room: &str) -> Self {
        self.map(|o| o.to(room))
    }

    /// Excludes a room.
    pub fn except(self, room: &str) -> Self {
        self.map(|o| o.except(room))
    }

    /// Only this server's sockets (matters with a cluster adapter).
    pub fn local(self) -> Self {
        self.map(BroadcastOperator::local)
    }

    /// Drops the message for sockets whose transport cannot write it now
    /// (busy writing, a long-poll without a pending GET, a full buffer).
    pub fn volatile(self) -> Self {
        self.map(BroadcastOperator::volatile)
    }

    /// `false`: sent uncompressed even where the transport compresses
    /// (permessage-deflate, HTTP compression), as socket.io's
    /// `compress(false)`.
    pub fn compress(self, on: bool) -> Self {
        self.map(|o| o.compress(on))
    }

    /// How long [`Broadcast::emit_with_ack`] waits.
    pub fn timeout(self, t: Duration) -> Self {
        self.map(|o| o.timeout(t))
    }

    /// Emits to every matching socket.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.op.emit_args(event, args)?)
    }

    /// Emits to every matching socket and collects their acknowledgements
    /// until the timeout.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        done: impl FnOnce(Result<BroadcastReplies, Error>) + Send + 'static,
    ) {
        let op = self.op.clone();
        let event = event.to_owned();
        self.ctx.complete(
            async move {
                let acks = op.emit_with_ack_all_args(&event, args).await?;
                Ok(BroadcastReplies {
                    replies: acks
                        .local
                        .responses
                        .into_iter()
                        .map(|(sid, v)| (sid.to_string(), v))
                        .collect(),
                    missing: acks.local.missing.iter().map(|s| s.to_string()).collect(),
                    remote: acks.remote,
                    remote_complete: acks.remote_complete,
                })
            },
            done,
        );
    }

    /// The matching sockets of the whole cluster, handed to `done`
    /// (`fetchSockets` with a cluster adapter): this server's as handles,
    /// the others' described; after the adapter's timeout, what arrived.
    pub fn fetch_all_sockets(
        &self,
        done: impl FnOnce(Result<Vec<FetchedSocket>, Error>) + Send + 'static,
    ) {
        let op = self.op.clone();
        let ctx = self.ctx.clone();
        self.ctx.complete(
            async move {
                Ok(op
                    .fetch_all_sockets()
                    .await
                    .into_iter()
                    .map(|f| match f {
                        sio_core::server::FetchedSocket::Local(s) => {
                            FetchedSocket::Local(Socket::new(s, ctx.clone()))
                        }
                        sio_core::server::FetchedSocket::Remote(r) => {
                            FetchedSocket::Remote(r.to_value())
                        }
                    })
                    .collect())
            },
            done,
        );
    }

    /// The matching sockets, handed to `done` (`fetchSockets`).
    pub fn fetch_sockets(&self, done: impl FnOnce(Result<Vec<Socket>, Error>) + Send + 'static) {
        let op = self.op.clone();
        let ctx = self.ctx.clone();
        self.ctx.complete(
            async move {
                let sockets = op.fetch_sockets().await;
                Ok(sockets
                    .into_iter()
                    .map(|s| Socket::new(s, ctx.clone()))
                    .collect())
            },
            done,
        );
    }

    /// Makes the matching sockets join a room.
    pub fn join(&self, room: &str) {
        self.op.sockets_join(room);
    }

    /// Makes the matching sockets leave a room.
    pub fn leave(&self, room: &str) {
        self.op.sockets_leave(room);
    }

    /// Disconnects the matching sockets; with `close`, their connections.
    pub fn disconnect(&self, close: bool) {
        self.op.disconnect_sockets(close);
    }
}
