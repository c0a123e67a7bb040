//! What a broker must do for a cluster adapter: the IO half of
//! `socket.io-adapter`'s `ClusterAdapter` (`doPublish`,
//! `doPublishResponse`, `serverCount`), plus the subscriptions that bring
//! the other servers' messages in. Everything else (request bookkeeping,
//! applying what arrives, recovery offsets, local delivery) is the generic
//! [`super::adapter`]'s, so a new broker is one small transport.

use std::future::Future;
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{ClusterMessage, ClusterResponse, Envelope, Frame, Membership, ServerId};
use crate::adapter::{RecoveredSession, Room, SessionToPersist};

/// The protocol family a transport speaks, which shapes ids and decides
/// which requests exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// The classic `@socket.io/redis-adapter` protocol: 6-character uids
    /// and request ids, and an `allRooms` request.
    Classic,
    /// `socket.io-adapter`'s `ClusterAdapter` protocol: 16 hex digits, no
    /// `allRooms`.
    Cluster,
}

impl Protocol {
    /// A fresh uid for one namespace's adapter.
    pub(crate) fn new_uid(self) -> ServerId {
        match self {
            Protocol::Classic => ServerId::random_classic(),
            Protocol::Cluster => ServerId::random_hex(),
        }
    }
}

/// The namespace side of a subscription: where a transport hands what
/// arrived for one namespace's adapter.
pub(crate) trait Subscriber: Send + Sync + 'static {
    /// The namespace.
    fn nsp(&self) -> &str;
    /// The adapter's uid (its response channel, where there is one).
    fn uid(&self) -> &ServerId;
    /// The rooms with local sockets, for transports with per-room channels.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn rooms(&self) -> Vec<Room>;
    /// Takes a decoded message or response; `offset` is the stream entry id
    /// of a stream-borne message.
    fn receive(self: Arc<Self>, frame: Envelope<Frame>, offset: Option<String>);
    /// Whether a response to `request_id` would be read (a request of this
    /// subscriber waits for it); transports that can tell a response's
    /// request before decoding it skip the others.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn awaits_response(&self, request_id: &str) -> bool {
        let _ = request_id;
        true
    }
}

/// A broker shared by the adapters of every namespace of one server. Calls
/// that publish come from one task per namespace, in order; none may block.
/// Failures are the transport's to log: the cluster goes on without the
/// message, as Node's adapters do.
pub(crate) trait Transport: Send + Sync + 'static {
    /// The protocol family.
    fn protocol(&self) -> Protocol;

    /// The flavour's name in logs.
    fn label(&self) -> &'static str;

    /// How servers are counted: by the broker ([`Transport::server_count`])
    /// or, for brokers that cannot count listeners (PostgreSQL's
    /// LISTEN/NOTIFY), by heartbeats as `ClusterAdapterWithHeartbeat` does.
    fn membership(&self) -> Membership {
        Membership::Counted
    }

    /// Whether the broker keeps what is published (a stream): then a
    /// broadcast's recovery offset is what [`Transport::publish`] resolves
    /// to, and sessions are kept by the broker rather than in memory, so a
    /// client can resume on any server.
    fn durable(&self) -> bool {
        false
    }

    /// Whether the transport follows local rooms through
    /// [`Transport::room_created`] and [`Transport::room_deleted`].
    fn follows_rooms(&self) -> bool {
        false
    }

    /// Publishes a message to the other servers; resolves once sent, to the
    /// offset the broker gave it (a stream entry id) if it gave one.
    fn publish(
        &self,
        envelope: Envelope<ClusterMessage>,
    ) -> impl Future<Output = Option<String>> + Send;

    /// Answers requester `to` (classic responses may go to no one in
    /// particular, on the common response channel).
    fn publish_response(
        &self,
        to: Option<ServerId>,
        envelope: Envelope<ClusterResponse>,
    ) -> impl Future<Output = ()> + Send;

    /// How many servers serve `nsp`, this one included, as the broker counts
    /// them; `None` when it does not count them, and the adapter counts the
    /// servers it heard from.
    fn server_count(&self, nsp: &str) -> impl Future<Output = Option<usize>> + Send;

    /// Starts handing `subscriber`'s messages to it, for as long as it
    /// lives, across reconnections.
    fn subscribe(&self, subscriber: Weak<dyn Subscriber>);

    /// Stops it. The request goes out at the call; the future resolves once
    /// the broker confirmed it (or the transport gave up).
    fn unsubscribe(
        &self,
        subscriber: Weak<dyn Subscriber>,
        nsp: &str,
        uid: &ServerId,
        rooms: &[Room],
    ) -> BoxFuture<'static, ()>;

    /// The first local socket joined `room` of `nsp`.
    fn room_created(&self, _nsp: &str, _room: &Room) {}

    /// The last local socket left `room` of `nsp`.
    fn room_deleted(&self, _nsp: &str, _room: &Room) {}

    /// Keeps a disconnected socket's session for `ttl` (durable transports).
    fn persist_session(
        &self,
        _session: SessionToPersist,
        _ttl: Duration,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Takes back a session the broker keeps, with the broadcasts of `nsp`
    /// it missed after `offset` (durable transports).
    fn restore_session(
        &self,
        _nsp: &str,
        _pid: &str,
        _offset: &str,
    ) -> impl Future<Output = Option<RecoveredSession>> + Send {
        async { None }
    }
}
