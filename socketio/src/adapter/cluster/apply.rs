//! Applies what another server asks to this server's sockets, through the
//! namespace's [`LocalNamespace`](crate::adapter::LocalNamespace) handle,
//! and answers when the sender waits for an answer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::adapter::Node;
use super::transport::Transport;
use super::{ClusterMessage, ClusterResponse, ServerId};
use crate::adapter::{Adapter, BroadcastOptions, Room, ServerSideAck};
use crate::proto::Value;

impl<T: Transport> Node<T> {
    /// Applies what another server asks to the local sockets, answering
    /// when an answer is expected.
    pub(crate) fn apply(
        self: &Arc<Self>,
        message: ClusterMessage,
        from: Option<ServerId>,
        offset: Option<String>,
    ) {
        let Some(ns) = self.ns.upgrade() else {
            return;
        };
        if let ClusterMessage::Broadcast { packet, .. } = &message {
            // Clients cannot parse an event without a name: a peer's bad
            // packet must not become their parse error.
            if !matches!(packet.data.first(), Some(Value::String(_))) {
                tracing::debug!(nsp = %self.nsp, "{}: broadcast without an event name dropped", self.transport.label());
                return;
            }
        }
        match message {
            ClusterMessage::Broadcast {
                packet,
                opts,
                request_id: None,
            } => {
                // A stream entry's id is the packet's recovery offset on
                // every server, as Node's streams adapter appends it.
                let offset = offset.filter(|_| {
                    self.config.recovery.is_some() && opts.flags.volatile != Some(true)
                });
                ns.deliver(packet.data, &opts.to_local(), offset)
            }
            ClusterMessage::Broadcast {
                packet,
                opts,
                request_id: Some(request_id),
            } => {
                let timeout = opts
                    .flags
                    .timeout
                    .map_or(self.config.requests_timeout, Duration::from_millis);
                let (count, mut acks) = ns.deliver_with_ack(packet.data, &opts.to_local(), timeout);
                self.respond(
                    from.as_ref(),
                    ClusterResponse::ClientCount {
                        request_id: request_id.clone(),
                        count,
                    },
                );
                if count > 0 {
                    let me = Arc::downgrade(self);
                    self.runtime.spawn(async move {
                        while let Some(args) = acks.recv().await {
                            let Some(me) = me.upgrade() else { return };
                            let value = args.into_iter().next().unwrap_or(Value::Null);
                            me.respond(
                                from.as_ref(),
                                ClusterResponse::Ack {
                                    request_id: request_id.clone(),
                                    value,
                                },
                            );
                        }
                    });
                }
            }
            ClusterMessage::SocketsJoin { opts, rooms } => ns.apply_join(&opts.to_local(), &rooms),
            ClusterMessage::SocketsLeave { opts, rooms } => {
                ns.apply_leave(&opts.to_local(), &rooms)
            }
            ClusterMessage::DisconnectSockets { opts, close } => {
                ns.apply_disconnect(&opts.to_local(), close)
            }
            ClusterMessage::FetchSockets { opts, request_id } => {
                let sockets = ns.describe_sockets(&opts.to_local());
                self.respond(
                    from.as_ref(),
                    ClusterResponse::FetchSockets {
                        request_id,
                        sockets,
                    },
                );
            }
            ClusterMessage::ServerSideEmit {
                args,
                request_id: None,
            } => ns.receive_server_side_emit(args, None),
            ClusterMessage::ServerSideEmit {
                args,
                request_id: Some(request_id),
            } => {
                let (tx, rx) = oneshot::channel();
                ns.receive_server_side_emit(args, Some(ServerSideAck::new(tx)));
                let me = Arc::downgrade(self);
                let timeout = self.config.requests_timeout;
                self.runtime.spawn(async move {
                    if let Ok(Ok(value)) = tokio::time::timeout(timeout, rx).await {
                        if let Some(me) = me.upgrade() {
                            me.respond(
                                from.as_ref(),
                                ClusterResponse::ServerSideEmit { request_id, value },
                            );
                        }
                    }
                });
            }
            ClusterMessage::AllRooms { request_id } => {
                let rooms = self.local.rooms().into_iter().collect();
                self.respond(
                    from.as_ref(),
                    ClusterResponse::AllRooms { request_id, rooms },
                );
            }
            ClusterMessage::Sockets { request_id, rooms } => {
                let opts = BroadcastOptions {
                    rooms,
                    ..BroadcastOptions::default()
                };
                let sockets = self
                    .local
                    .sockets(&opts)
                    .into_iter()
                    .map(|s| s.to_string())
                    .collect();
                self.respond(
                    from.as_ref(),
                    ClusterResponse::SocketIds {
                        request_id,
                        sockets,
                    },
                );
            }
            ClusterMessage::RemoteJoin {
                request_id,
                sid,
                room,
            } => {
                if self.legacy_target(&sid) {
                    ns.apply_join(&one_socket(&sid), &[room]);
                    self.legacy_done(from.as_ref(), request_id);
                }
            }
            ClusterMessage::RemoteLeave {
                request_id,
                sid,
                room,
            } => {
                if self.legacy_target(&sid) {
                    ns.apply_leave(&one_socket(&sid), &[room]);
                    self.legacy_done(from.as_ref(), request_id);
                }
            }
            ClusterMessage::RemoteDisconnect {
                request_id,
                sid,
                close,
            } => {
                if self.legacy_target(&sid) {
                    ns.apply_disconnect(&one_socket(&sid), close);
                    self.legacy_done(from.as_ref(), request_id);
                }
            }
            ClusterMessage::InitialHeartbeat
            | ClusterMessage::Heartbeat
            | ClusterMessage::AdapterClose => {}
        }
    }

    /// Whether a legacy single-socket request names a socket of this server
    /// (its own room exists here).
    fn legacy_target(&self, sid: &str) -> bool {
        !self.local.room_sockets(sid).is_empty()
    }

    fn legacy_done(&self, to: Option<&ServerId>, request_id: Option<String>) {
        if let Some(request_id) = request_id {
            self.respond(to, ClusterResponse::Done { request_id });
        }
    }
}

fn one_socket(sid: &str) -> BroadcastOptions {
    BroadcastOptions {
        rooms: vec![Room::from(sid)],
        ..BroadcastOptions::default()
    }
}
