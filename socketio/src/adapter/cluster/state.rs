//! The request bookkeeping every cluster flavour shares, as a sans-IO state
//! machine: what `socket.io-adapter`'s `ClusterAdapter` and
//! `ClusterAdapterWithHeartbeat` (and the classic adapter's request maps)
//! keep, driven by explicit `now` arguments instead of timers.
//!
//! A transport feeds it what it decoded ([`ClusterState::handle`]) and the
//! passing of time ([`ClusterState::poll`], due at
//! [`ClusterState::next_deadline`]); it answers with [`Action`]s: messages to
//! apply to local sockets, messages to publish, request progress and
//! completions. It enforces the cluster invariants:
//! * a server's own messages coming back are dropped (the sender applies an
//!   operation locally when it publishes it);
//! * messages of another namespace are dropped;
//! * [`EMITTER_UID`](super::EMITTER_UID) and uid-less senders are never
//!   counted as servers;
//! * a request waits for `server_count - 1` answers
//!   ([`Membership::Counted`]) or for every server known when it started
//!   ([`Membership::Heartbeat`]); on timeout it completes with what arrived
//!   and names the servers that did not answer.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::{
    classic_request_id, hex_request_id, ClusterMessage, ClusterPacket, ClusterResponse, Envelope,
    Frame, Membership, RemoteSocket, RequestId, ServerId, WireOptions,
};
use crate::adapter::Room;
use crate::proto::Value;

/// Node's `DEFAULT_TIMEOUT` / `requestsTimeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(5_000);

/// Timings, with Node's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateConfig {
    /// How long requests without their own timeout wait (5 s).
    pub request_timeout: Duration,
    /// Heartbeat flavours: publish a heartbeat after this long without
    /// publishing anything (5 s).
    pub heartbeat_interval: Duration,
    /// Heartbeat flavours: forget a server not heard from for this long
    /// (10 s). Counted flavours use it to name the servers that stayed
    /// silent.
    pub heartbeat_timeout: Duration,
    /// Shape of request ids: 6 base64url characters (classic protocol) or
    /// 16 hex digits.
    pub classic_request_ids: bool,
}

engineio::__option_setters!(StateConfig {
    request_timeout: Duration,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    classic_request_ids: bool,
});

impl Default for StateConfig {
    fn default() -> StateConfig {
        StateConfig {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            heartbeat_interval: Duration::from_millis(5_000),
            heartbeat_timeout: Duration::from_millis(10_000),
            classic_request_ids: false,
        }
    }
}

/// What a pending request collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `fetchSockets`.
    FetchSockets,
    /// `serverSideEmitWithAck`.
    ServerSideEmit,
    /// `allRooms` (classic protocol).
    AllRooms,
}

/// The answers a request collected.
#[derive(Debug, Clone, PartialEq)]
pub enum Responses {
    /// Sockets, from `fetchSockets` answers.
    Sockets(Vec<RemoteSocket>),
    /// Acknowledgements, from `serverSideEmitWithAck` answers.
    Values(Vec<Value>),
    /// Rooms, from `allRooms` answers (duplicates removed).
    Rooms(Vec<Room>),
}

/// Who did not answer in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    /// How many answers were expected.
    pub expected: usize,
    /// How many arrived.
    pub received: usize,
    /// The servers that did not answer: exact with heartbeats; with counted
    /// membership, the servers heard from lately that stayed silent, which
    /// may miss some (classic responses carry no uid at all).
    pub missing: Vec<ServerId>,
}

/// A finished request.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    /// The request.
    pub request_id: RequestId,
    /// What it asked for.
    pub kind: RequestKind,
    /// What the other servers answered (the local part is the caller's).
    pub responses: Responses,
    /// Set when it ended by timeout; Node rejects `fetchSockets` and
    /// `allRooms` then, and gives `serverSideEmitWithAck` the partial list
    /// with an error.
    pub timed_out: Option<TimedOut>,
}

/// How a request starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// No other server: answer with local results right away; nothing is
    /// published.
    Alone,
    /// Publish `envelope`; a [`Completed`] with `request_id` follows.
    Publish {
        /// The request's id.
        request_id: RequestId,
        /// What to publish.
        envelope: Envelope<ClusterMessage>,
    },
}

/// What the caller must do after feeding the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Apply a message to local sockets (answering it with
    /// [`ClusterState::response`] when it carries a request id). `from` is
    /// the requester to answer; `offset` the stream entry id to append to a
    /// recoverable broadcast.
    Apply {
        /// The message.
        message: ClusterMessage,
        /// Its sender, if it named one.
        from: Option<ServerId>,
        /// The recovery offset, for stream-borne broadcasts.
        offset: Option<String>,
    },
    /// Publish this message (a heartbeat).
    Publish(Envelope<ClusterMessage>),
    /// A request finished.
    Completed(Completed),
    /// A server reports how many clients a broadcast with acknowledgements
    /// reached.
    ClientCount {
        /// The broadcast.
        request_id: RequestId,
        /// Its clients on that server.
        count: u64,
    },
    /// One client acknowledged a broadcast.
    Ack {
        /// The broadcast.
        request_id: RequestId,
        /// The acknowledgement.
        value: Value,
    },
    /// Every expected client count and acknowledgement of a broadcast
    /// arrived, or (with `timed_out`) its timeout passed.
    AcksDone {
        /// The broadcast.
        request_id: RequestId,
        /// Set when it ended by timeout.
        timed_out: Option<TimedOut>,
    },
}

#[derive(Debug)]
enum Expected {
    Count(usize),
    Uids(HashSet<ServerId>),
}

impl Expected {
    fn new(
        membership: Membership,
        server_count: usize,
        nodes: &HashMap<ServerId, Instant>,
    ) -> Expected {
        match membership {
            Membership::Counted => Expected::Count(server_count.saturating_sub(1)),
            Membership::Heartbeat => Expected::Uids(nodes.keys().cloned().collect()),
        }
    }

    fn total(&self, received: usize) -> usize {
        match self {
            Expected::Count(n) => *n,
            Expected::Uids(missing) => received + missing.len(),
        }
    }

    /// Records an answer from `uid`; false if it is a duplicate or from a
    /// server not waited for.
    fn answer(&mut self, uid: Option<&ServerId>, responders: &mut Vec<ServerId>) -> bool {
        if let Some(uid) = uid {
            if responders.contains(uid) {
                return false;
            }
        }
        if let Expected::Uids(missing) = self {
            match uid {
                Some(uid) if missing.remove(uid) => {}
                _ => return false,
            }
        }
        if let Some(uid) = uid {
            responders.push(uid.clone());
        }
        true
    }

    fn satisfied(&self, received: usize) -> bool {
        match self {
            Expected::Count(n) => received >= *n,
            Expected::Uids(missing) => missing.is_empty(),
        }
    }
}

#[derive(Debug)]
struct Pending {
    kind: RequestKind,
    deadline: Instant,
    expected: Expected,
    received: usize,
    responders: Vec<ServerId>,
    responses: Responses,
}

#[derive(Debug)]
struct AckPending {
    deadline: Instant,
    expected: Expected,
    counts: usize,
    clients: u64,
    acks: u64,
    responders: Vec<ServerId>,
}

impl AckPending {
    fn done(&self) -> bool {
        self.expected.satisfied(self.counts) && self.acks >= self.clients
    }
}

/// One namespace's cluster bookkeeping on one server.
#[derive(Debug)]
pub struct ClusterState {
    uid: ServerId,
    nsp: String,
    membership: Membership,
    config: StateConfig,
    /// Servers heard from, with when: the membership with heartbeats, a
    /// best-effort list to name silent servers otherwise.
    nodes: HashMap<ServerId, Instant>,
    requests: HashMap<RequestId, Pending>,
    acks: HashMap<RequestId, AckPending>,
    last_publish: Option<Instant>,
}

impl ClusterState {
    /// The state of server `uid` for namespace `nsp`.
    pub fn new(uid: ServerId, nsp: impl Into<String>, membership: Membership) -> ClusterState {
        ClusterState::with_config(uid, nsp, membership, StateConfig::default())
    }

    /// The same, with other timings.
    pub fn with_config(
        uid: ServerId,
        nsp: impl Into<String>,
        membership: Membership,
        config: StateConfig,
    ) -> ClusterState {
        ClusterState {
            uid,
            nsp: nsp.into(),
            membership,
            config,
            nodes: HashMap::new(),
            requests: HashMap::new(),
            acks: HashMap::new(),
            last_publish: None,
        }
    }

    /// This server's uid.
    pub fn uid(&self) -> &ServerId {
        &self.uid
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// The servers in the cluster, this one included: with heartbeats,
    /// 1 + the servers heard from; otherwise the broker's `counted`
    /// (`PUBSUB NUMSUB`), which already includes this one.
    pub fn server_count(&self, counted: usize) -> usize {
        match self.membership {
            Membership::Counted => counted,
            Membership::Heartbeat => 1 + self.nodes.len(),
        }
    }

    /// The other servers heard from (the membership with heartbeats).
    pub fn known_servers(&self) -> impl Iterator<Item = &ServerId> {
        self.nodes.keys()
    }

    fn new_request_id(&self) -> RequestId {
        if self.config.classic_request_ids {
            classic_request_id()
        } else {
            hex_request_id()
        }
    }

    /// Wraps a message to publish, and notes the publish (which postpones
    /// the next heartbeat).
    pub fn message(&mut self, body: ClusterMessage, now: Instant) -> Envelope<ClusterMessage> {
        self.last_publish = Some(now);
        Envelope::new(self.uid.clone(), self.nsp.clone(), body)
    }

    /// Wraps a response to publish.
    pub fn response(&self, body: ClusterResponse) -> Envelope<ClusterResponse> {
        Envelope::new(self.uid.clone(), self.nsp.clone(), body)
    }

    /// The message that announces this server (heartbeat flavours only).
    pub fn init(&mut self, now: Instant) -> Option<Envelope<ClusterMessage>> {
        (self.membership == Membership::Heartbeat)
            .then(|| self.message(ClusterMessage::InitialHeartbeat, now))
    }

    /// The message that says goodbye (heartbeat flavours only).
    pub fn close(&mut self, now: Instant) -> Option<Envelope<ClusterMessage>> {
        (self.membership == Membership::Heartbeat)
            .then(|| self.message(ClusterMessage::AdapterClose, now))
    }

    fn start(
        &mut self,
        kind: RequestKind,
        body: impl FnOnce(RequestId) -> ClusterMessage,
        server_count: usize,
        timeout: Duration,
        now: Instant,
    ) -> Started {
        let expected = Expected::new(self.membership, server_count, &self.nodes);
        if expected.satisfied(0) {
            return Started::Alone;
        }
        let request_id = self.new_request_id();
        let responses = match kind {
            RequestKind::FetchSockets => Responses::Sockets(Vec::new()),
            RequestKind::ServerSideEmit => Responses::Values(Vec::new()),
            RequestKind::AllRooms => Responses::Rooms(Vec::new()),
        };
        self.requests.insert(
            request_id.clone(),
            Pending {
                kind,
                deadline: now + timeout,
                expected,
                received: 0,
                responders: Vec::new(),
                responses,
            },
        );
        let envelope = self.message(body(request_id.clone()), now);
        Started::Publish {
            request_id,
            envelope,
        }
    }

    /// Starts `fetchSockets`; it waits `opts.flags.timeout`, or the request
    /// timeout. `server_count` is the broker's count (ignored with
    /// heartbeats).
    pub fn fetch_sockets(
        &mut self,
        opts: WireOptions,
        server_count: usize,
        now: Instant,
    ) -> Started {
        let timeout = opts
            .flags
            .timeout
            .filter(|&t| t > 0)
            .map_or(self.config.request_timeout, Duration::from_millis);
        self.start(
            RequestKind::FetchSockets,
            |request_id| ClusterMessage::FetchSockets { opts, request_id },
            server_count,
            timeout,
            now,
        )
    }

    /// Starts `serverSideEmitWithAck`.
    pub fn server_side_emit_with_ack(
        &mut self,
        args: Vec<Value>,
        server_count: usize,
        now: Instant,
    ) -> Started {
        let timeout = self.config.request_timeout;
        self.server_side_emit_with_ack_timeout(args, server_count, timeout, now)
    }

    /// Starts `serverSideEmitWithAck` with its own timeout.
    pub fn server_side_emit_with_ack_timeout(
        &mut self,
        args: Vec<Value>,
        server_count: usize,
        timeout: Duration,
        now: Instant,
    ) -> Started {
        self.start(
            RequestKind::ServerSideEmit,
            |request_id| ClusterMessage::ServerSideEmit {
                args,
                request_id: Some(request_id),
            },
            server_count,
            timeout,
            now,
        )
    }

    /// Starts `allRooms` (classic protocol).
    pub fn all_rooms(&mut self, server_count: usize, now: Instant) -> Started {
        let timeout = self.config.request_timeout;
        self.start(
            RequestKind::AllRooms,
            |request_id| ClusterMessage::AllRooms { request_id },
            server_count,
            timeout,
            now,
        )
    }

    /// Starts a broadcast with acknowledgements, tracked until every other
    /// server reported its client count and that many acknowledgements
    /// arrived, or until `timeout` (`opts.flags.timeout`, set here when
    /// missing). Returns the id, the message to publish and how many servers
    /// must report. Node publishes even when alone; so does this.
    pub fn broadcast_with_ack(
        &mut self,
        packet: ClusterPacket,
        mut opts: WireOptions,
        timeout: Duration,
        server_count: usize,
        now: Instant,
    ) -> (RequestId, Envelope<ClusterMessage>, usize) {
        let request_id = self.new_request_id();
        let expected = Expected::new(self.membership, server_count, &self.nodes);
        let servers = expected.total(0);
        opts.flags.timeout = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        if servers > 0 {
            self.acks.insert(
                request_id.clone(),
                AckPending {
                    deadline: now + timeout,
                    expected,
                    counts: 0,
                    clients: 0,
                    acks: 0,
                    responders: Vec::new(),
                },
            );
        }
        let envelope = self.message(
            ClusterMessage::Broadcast {
                packet,
                opts,
                request_id: Some(request_id.clone()),
            },
            now,
        );
        (request_id, envelope, servers)
    }

    /// Feeds what a transport decoded; `offset` is the stream entry id of a
    /// stream-borne message.
    pub fn handle(
        &mut self,
        envelope: Envelope<Frame>,
        offset: Option<String>,
        now: Instant,
    ) -> Vec<Action> {
        let Envelope { uid, nsp, body } = envelope;
        match body {
            Frame::Message(m) => self.handle_message(Envelope { uid, nsp, body: m }, offset, now),
            Frame::Response(r) => self.handle_response(Envelope { uid, nsp, body: r }, now),
        }
    }

    /// Whether a message should be dropped: an echo of this server's own,
    /// or another namespace's.
    fn ignored(&self, uid: Option<&ServerId>, nsp: &str) -> bool {
        uid == Some(&self.uid) || nsp != self.nsp
    }

    /// Feeds a message.
    pub fn handle_message(
        &mut self,
        envelope: Envelope<ClusterMessage>,
        offset: Option<String>,
        now: Instant,
    ) -> Vec<Action> {
        let Envelope { uid, nsp, body } = envelope;
        if self.ignored(uid.as_ref(), &nsp) {
            return Vec::new();
        }
        self.seen(uid.as_ref(), now);
        match body {
            ClusterMessage::InitialHeartbeat if self.membership == Membership::Heartbeat => {
                vec![Action::Publish(
                    self.message(ClusterMessage::Heartbeat, now),
                )]
            }
            ClusterMessage::InitialHeartbeat | ClusterMessage::Heartbeat => Vec::new(),
            ClusterMessage::AdapterClose => match uid {
                Some(uid) => self.remove_node(&uid),
                None => Vec::new(),
            },
            message => vec![Action::Apply {
                message,
                from: uid,
                offset,
            }],
        }
    }

    fn seen(&mut self, uid: Option<&ServerId>, now: Instant) {
        if let Some(uid) = uid {
            if !uid.is_emitter() {
                self.nodes.insert(uid.clone(), now);
            }
        }
    }

    /// Whether a response to `request_id` would be read: one of this
    /// server's requests or broadcast acknowledgements waits for it.
    pub fn awaits(&self, request_id: &str) -> bool {
        self.requests.contains_key(request_id) || self.acks.contains_key(request_id)
    }

    /// Feeds a response.
    pub fn handle_response(
        &mut self,
        envelope: Envelope<ClusterResponse>,
        now: Instant,
    ) -> Vec<Action> {
        let Envelope { uid, nsp, body } = envelope;
        if self.ignored(uid.as_ref(), &nsp) {
            return Vec::new();
        }
        self.seen(uid.as_ref(), now);
        match body {
            ClusterResponse::ClientCount { request_id, count } => {
                let Some(ack) = self.acks.get_mut(&request_id) else {
                    return Vec::new();
                };
                if !ack.expected.answer(uid.as_ref(), &mut ack.responders) {
                    return Vec::new();
                }
                ack.counts += 1;
                ack.clients += count;
                let mut out = vec![Action::ClientCount {
                    request_id: request_id.clone(),
                    count,
                }];
                out.extend(self.ack_done(&request_id));
                out
            }
            ClusterResponse::Ack { request_id, value } => {
                let Some(ack) = self.acks.get_mut(&request_id) else {
                    return Vec::new();
                };
                ack.acks += 1;
                let mut out = vec![Action::Ack {
                    request_id: request_id.clone(),
                    value,
                }];
                out.extend(self.ack_done(&request_id));
                out
            }
            ClusterResponse::FetchSockets {
                request_id,
                sockets,
            } => self.answer(&request_id, uid.as_ref(), |r| match r {
                Responses::Sockets(all) => {
                    all.extend(sockets);
                    true
                }
                _ => false,
            }),
            ClusterResponse::ServerSideEmit { request_id, value } => {
                self.answer(&request_id, uid.as_ref(), |r| match r {
                    Responses::Values(all) => {
                        all.push(value);
                        true
                    }
                    _ => false,
                })
            }
            ClusterResponse::AllRooms { request_id, rooms } => {
                self.answer(&request_id, uid.as_ref(), |r| match r {
                    Responses::Rooms(all) => {
                        for room in rooms {
                            if !all.contains(&room) {
                                all.push(room);
                            }
                        }
                        true
                    }
                    _ => false,
                })
            }
            // This state machine never sends the legacy requests.
            ClusterResponse::SocketIds { .. } | ClusterResponse::Done { .. } => Vec::new(),
        }
    }

    fn ack_done(&mut self, request_id: &str) -> Option<Action> {
        if self.acks.get(request_id).is_some_and(AckPending::done) {
            self.acks.remove(request_id);
            Some(Action::AcksDone {
                request_id: request_id.to_owned(),
                timed_out: None,
            })
        } else {
            None
        }
    }

    fn answer(
        &mut self,
        request_id: &str,
        uid: Option<&ServerId>,
        add: impl FnOnce(&mut Responses) -> bool,
    ) -> Vec<Action> {
        let Some(pending) = self.requests.get_mut(request_id) else {
            return Vec::new();
        };
        if !pending.expected.answer(uid, &mut pending.responders) {
            return Vec::new();
        }
        if !add(&mut pending.responses) {
            return Vec::new();
        }
        pending.received += 1;
        if pending.expected.satisfied(pending.received) {
            self.finish(request_id, None).into_iter().collect()
        } else {
            Vec::new()
        }
    }

    fn finish(&mut self, request_id: &str, timed_out: Option<TimedOut>) -> Option<Action> {
        let pending = self.requests.remove(request_id)?;
        Some(Action::Completed(Completed {
            request_id: request_id.to_owned(),
            kind: pending.kind,
            responses: pending.responses,
            timed_out,
        }))
    }

    /// Forgets a server (ADAPTER_CLOSE or silence): requests stop waiting
    /// for it, as Node's `removeNode` does.
    fn remove_node(&mut self, uid: &ServerId) -> Vec<Action> {
        self.nodes.remove(uid);
        let mut out = Vec::new();
        let mut done = Vec::new();
        for (id, pending) in &mut self.requests {
            if let Expected::Uids(missing) = &mut pending.expected {
                if missing.remove(uid) && missing.is_empty() {
                    done.push(id.clone());
                }
            }
        }
        for id in done {
            out.extend(self.finish(&id, None));
        }
        let mut done = Vec::new();
        for (id, ack) in &mut self.acks {
            if let Expected::Uids(missing) = &mut ack.expected {
                missing.remove(uid);
            }
            if ack.done() {
                done.push(id.clone());
            }
        }
        for id in done {
            out.extend(self.ack_done(&id));
        }
        out
    }

    fn silent(&self, responders: &[ServerId], expected: &Expected, now: Instant) -> Vec<ServerId> {
        let mut missing: Vec<ServerId> = match expected {
            Expected::Uids(missing) => missing.iter().cloned().collect(),
            Expected::Count(_) => self
                .nodes
                .iter()
                .filter(|(uid, &at)| {
                    !responders.contains(uid)
                        && now.saturating_duration_since(at) <= self.config.heartbeat_timeout
                })
                .map(|(uid, _)| uid.clone())
                .collect(),
        };
        missing.sort();
        missing
    }

    /// Advances time: times requests out, forgets silent servers and, with
    /// heartbeats, publishes one when due.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let expired: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            let Some(p) = self.requests.get(&id) else {
                continue;
            };
            let timed_out = TimedOut {
                expected: p.expected.total(p.received),
                received: p.received,
                missing: self.silent(&p.responders, &p.expected, now),
            };
            out.extend(self.finish(&id, Some(timed_out)));
        }
        let expired: Vec<RequestId> = self
            .acks
            .iter()
            .filter(|(_, a)| a.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            let Some(a) = self.acks.remove(&id) else {
                continue;
            };
            let timed_out = TimedOut {
                expected: a.expected.total(a.counts),
                received: a.counts,
                missing: self.silent(&a.responders, &a.expected, now),
            };
            out.push(Action::AcksDone {
                request_id: id,
                timed_out: Some(timed_out),
            });
        }
        let timeout = self.config.heartbeat_timeout;
        let gone: Vec<ServerId> = self
            .nodes
            .iter()
            .filter(|(_, &at)| now.saturating_duration_since(at) > timeout)
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in gone {
            out.extend(self.remove_node(&uid));
        }
        if self.membership == Membership::Heartbeat
            && self.last_publish.is_some_and(|at| {
                now.saturating_duration_since(at) >= self.config.heartbeat_interval
            })
        {
            out.push(Action::Publish(
                self.message(ClusterMessage::Heartbeat, now),
            ));
        }
        out
    }

    /// When [`Self::poll`] has something to do next, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        let requests = self.requests.values().map(|p| p.deadline);
        let acks = self.acks.values().map(|a| a.deadline);
        // With counted membership the servers heard from only serve to name
        // silent ones; every poll prunes them, so they need no wake-up.
        let heartbeats = self.membership == Membership::Heartbeat;
        let nodes = self
            .nodes
            .values()
            .filter(|_| heartbeats)
            .map(|&at| at + self.config.heartbeat_timeout + Duration::from_millis(1));
        let heartbeat = self
            .last_publish
            .filter(|_| heartbeats)
            .map(|at| at + self.config.heartbeat_interval);
        requests.chain(acks).chain(nodes).chain(heartbeat).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::cluster::EMITTER_UID;

    fn env<T>(uid: &str, body: T) -> Envelope<T> {
        Envelope::new(ServerId::from(uid), "/", body)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn request_id(started: &Started) -> RequestId {
        match started {
            Started::Publish { request_id, .. } => request_id.clone(),
            Started::Alone => panic!("expected a publish"),
        }
    }

    fn socket(id: &str) -> RemoteSocket {
        RemoteSocket {
            id: id.to_owned(),
            ..RemoteSocket::default()
        }
    }

    #[test]
    fn own_echoes_and_other_namespaces_are_dropped() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Counted);
        let join = ClusterMessage::SocketsJoin {
            opts: WireOptions::default(),
            rooms: vec!["r".into()],
        };
        assert!(s
            .handle_message(env("me", join.clone()), None, t0)
            .is_empty());
        let other_nsp = Envelope::new(ServerId::from("peer"), "/admin", join.clone());
        assert!(s.handle_message(other_nsp, None, t0).is_empty());
        assert_eq!(
            s.handle_message(env("peer", join.clone()), Some("1-0".into()), t0),
            [Action::Apply {
                message: join,
                from: Some(ServerId::from("peer")),
                offset: Some("1-0".into()),
            }]
        );
    }

    #[test]
    fn counted_requests_wait_for_count_minus_one() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Counted);
        assert_eq!(
            s.fetch_sockets(WireOptions::default(), 1, t0),
            Started::Alone
        );
        let started = s.fetch_sockets(WireOptions::default(), 3, t0);
        let id = request_id(&started);
        let Started::Publish { envelope, .. } = &started else {
            unreachable!()
        };
        assert_eq!(envelope.uid, Some(ServerId::from("me")));
        assert_eq!(id.len(), 16);
        let answer = |uid: &str, sid: &str| {
            env(
                uid,
                ClusterResponse::FetchSockets {
                    request_id: id.clone(),
                    sockets: vec![socket(sid)],
                },
            )
        };
        assert!(s.handle_response(answer("a", "s1"), t0).is_empty());
        // A duplicate from the same server does not count twice.
        assert!(s.handle_response(answer("a", "s1"), t0).is_empty());
        let done = s.handle_response(answer("b", "s2"), t0 + ms(10));
        assert_eq!(
            done,
            [Action::Completed(Completed {
                request_id: id.clone(),
                kind: RequestKind::FetchSockets,
                responses: Responses::Sockets(vec![socket("s1"), socket("s2")]),
                timed_out: None,
            })]
        );
        // Late answers are ignored.
        assert!(s.handle_response(answer("c", "s3"), t0).is_empty());
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn counted_timeout_names_silent_servers_it_knows() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Counted);
        // "b" was heard from lately; the emitter never counts.
        s.handle_message(env("b", ClusterMessage::Heartbeat), None, t0);
        s.handle_message(env(EMITTER_UID, ClusterMessage::Heartbeat), None, t0);
        let id = request_id(&s.server_side_emit_with_ack(vec!["ping".into()], 4, t0));
        s.handle_response(
            env(
                "a",
                ClusterResponse::ServerSideEmit {
                    request_id: id.clone(),
                    value: "pong".into(),
                },
            ),
            t0,
        );
        assert_eq!(s.next_deadline(), Some(t0 + DEFAULT_REQUEST_TIMEOUT));
        assert!(s.poll(t0 + ms(4_999)).is_empty());
        let out = s.poll(t0 + DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(
            out,
            [Action::Completed(Completed {
                request_id: id,
                kind: RequestKind::ServerSideEmit,
                responses: Responses::Values(vec!["pong".into()]),
                timed_out: Some(TimedOut {
                    expected: 3,
                    received: 1,
                    missing: vec![ServerId::from("b")],
                }),
            })]
        );
    }

    #[test]
    fn classic_answers_without_uids_are_counted() {
        let t0 = Instant::now();
        let config = StateConfig {
            classic_request_ids: true,
            ..StateConfig::default()
        };
        let mut s =
            ClusterState::with_config(ServerId::from("me1234"), "/", Membership::Counted, config);
        let id = request_id(&s.all_rooms(3, t0));
        assert_eq!(id.len(), 6);
        let answer = |rooms: &[&str]| Envelope {
            uid: None,
            nsp: "/".to_owned(),
            body: ClusterResponse::AllRooms {
                request_id: id.clone(),
                rooms: rooms.iter().map(|&r| r.into()).collect(),
            },
        };
        // The pending request is the only one awaited (a transport skips the
        // other servers' answers unread on that).
        assert!(s.awaits(&id));
        assert!(!s.awaits("other"));
        assert!(s.handle_response(answer(&["a", "b"]), t0).is_empty());
        let out = s.handle_response(answer(&["b", "c"]), t0);
        let [Action::Completed(c)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!(
            c.responses,
            Responses::Rooms(vec!["a".into(), "b".into(), "c".into()])
        );
        assert!(!s.awaits(&id), "a completed request is awaited no more");
    }

    #[test]
    fn heartbeat_membership() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Heartbeat);
        assert_eq!(
            s.init(t0).map(|e| e.body),
            Some(ClusterMessage::InitialHeartbeat)
        );
        assert_eq!(s.server_count(99), 1);
        // A newcomer announces itself: answer with a heartbeat.
        let out = s.handle_message(env("a", ClusterMessage::InitialHeartbeat), None, t0);
        assert_eq!(out, [Action::Publish(env("me", ClusterMessage::Heartbeat))]);
        s.handle_message(env("b", ClusterMessage::Heartbeat), None, t0);
        s.handle_message(env(EMITTER_UID, ClusterMessage::Heartbeat), None, t0);
        assert_eq!(s.server_count(99), 3);

        // A request waits for exactly the known servers.
        let id = request_id(&s.fetch_sockets(WireOptions::default(), 0, t0));
        let answer = |uid: &str| {
            env(
                uid,
                ClusterResponse::FetchSockets {
                    request_id: id.clone(),
                    sockets: vec![socket(uid)],
                },
            )
        };
        // A server that was not known when the request started is ignored.
        s.handle_message(env("late", ClusterMessage::Heartbeat), None, t0);
        assert!(s.handle_response(answer("late"), t0).is_empty());
        assert!(s.handle_response(answer("a"), t0).is_empty());
        // "b" leaves: the request completes with what it has.
        let out = s.handle_message(env("b", ClusterMessage::AdapterClose), None, t0);
        assert_eq!(
            out,
            [Action::Completed(Completed {
                request_id: id,
                kind: RequestKind::FetchSockets,
                responses: Responses::Sockets(vec![socket("a")]),
                timed_out: None,
            })]
        );
        assert_eq!(s.server_count(0), 3);

        // Heartbeats go out after 5 s without publishing.
        assert!(s.poll(t0 + ms(4_999)).is_empty());
        assert_eq!(
            s.poll(t0 + ms(5_000)),
            [Action::Publish(env("me", ClusterMessage::Heartbeat))]
        );
        // Servers silent for more than 10 s are forgotten.
        s.handle_message(env("a", ClusterMessage::Heartbeat), None, t0 + ms(5_000));
        s.poll(t0 + ms(10_001));
        let mut known: Vec<&str> = s.known_servers().map(ServerId::as_str).collect();
        known.sort_unstable();
        assert_eq!(known, ["a"]);
        assert_eq!(
            s.close(t0).map(|e| e.body),
            Some(ClusterMessage::AdapterClose)
        );
    }

    #[test]
    fn heartbeat_timeout_names_missing_servers() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Heartbeat);
        for uid in ["a", "b", "c"] {
            s.handle_message(env(uid, ClusterMessage::Heartbeat), None, t0);
        }
        let opts = WireOptions {
            flags: crate::adapter::cluster::WireFlags {
                timeout: Some(1_000),
                ..Default::default()
            },
            ..WireOptions::default()
        };
        let id = request_id(&s.fetch_sockets(opts, 0, t0));
        s.handle_response(
            env(
                "b",
                ClusterResponse::FetchSockets {
                    request_id: id.clone(),
                    sockets: vec![],
                },
            ),
            t0,
        );
        assert_eq!(s.next_deadline(), Some(t0 + ms(1_000)));
        let out = s.poll(t0 + ms(1_000));
        let [Action::Completed(c)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!(
            c.timed_out,
            Some(TimedOut {
                expected: 3,
                received: 1,
                missing: vec![ServerId::from("a"), ServerId::from("c")],
            })
        );
    }

    #[test]
    fn broadcast_acks_complete_on_counts_and_acks() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Counted);
        let (id, envelope, servers) = s.broadcast_with_ack(
            ClusterPacket::event(vec!["ask".into()]),
            WireOptions::default(),
            ms(1_500),
            3,
            t0,
        );
        assert_eq!(servers, 2);
        let ClusterMessage::Broadcast {
            opts, request_id, ..
        } = &envelope.body
        else {
            panic!("{envelope:?}")
        };
        assert_eq!(opts.flags.timeout, Some(1_500));
        assert_eq!(request_id.as_deref(), Some(id.as_str()));
        let count = |uid: &str, count| {
            env(
                uid,
                ClusterResponse::ClientCount {
                    request_id: id.clone(),
                    count,
                },
            )
        };
        let ack = |uid: &str| {
            env(
                uid,
                ClusterResponse::Ack {
                    request_id: id.clone(),
                    value: uid.into(),
                },
            )
        };
        assert_eq!(s.handle_response(count("a", 1), t0).len(), 1);
        assert_eq!(s.handle_response(ack("a"), t0).len(), 1);
        // The other server has no matching client: it still reports 0.
        let out = s.handle_response(count("b", 0), t0);
        assert_eq!(
            out,
            [
                Action::ClientCount {
                    request_id: id.clone(),
                    count: 0
                },
                Action::AcksDone {
                    request_id: id.clone(),
                    timed_out: None
                },
            ]
        );
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn broadcast_acks_time_out_with_missing_servers() {
        let t0 = Instant::now();
        let mut s = ClusterState::new(ServerId::from("me"), "/", Membership::Heartbeat);
        s.handle_message(env("a", ClusterMessage::Heartbeat), None, t0);
        s.handle_message(env("b", ClusterMessage::Heartbeat), None, t0);
        let (id, _, servers) = s.broadcast_with_ack(
            ClusterPacket::event(vec![]),
            WireOptions::default(),
            ms(100),
            0,
            t0,
        );
        assert_eq!(servers, 2);
        s.handle_response(
            env(
                "a",
                ClusterResponse::ClientCount {
                    request_id: id.clone(),
                    count: 2,
                },
            ),
            t0,
        );
        assert_eq!(
            s.poll(t0 + ms(100)),
            [Action::AcksDone {
                request_id: id,
                timed_out: Some(TimedOut {
                    expected: 2,
                    received: 1,
                    missing: vec![ServerId::from("b")],
                }),
            }]
        );
    }
}
