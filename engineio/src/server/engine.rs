use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{ServerConfig, TransportType};
use super::outbox::PushError;
use super::request::RequestInfo;
use super::session::{Session, SessionEvent};
use super::sid::SessionId;
use super::socket::{DisconnectReason, Handler, Message, Outgoing, Socket};
use super::turns::Turns;
use crate::proto::{Handshake, Packet, ParseError};

/// Shared state of one Engine.IO server.
pub(crate) struct Engine<H: Handler> {
    pub(crate) config: ServerConfig,
    pub(crate) path: String,
    pub(crate) handler: H,
    sessions: RwLock<HashMap<SessionId, Arc<Socket<H::Data>>>>,
    /// Sessions opened and not closed yet (the reference's `clientsCount`).
    open_sessions: AtomicUsize,
    /// Cancelled by [`Self::close_all`]; replaced by [`Self::reopen`], so
    /// listeners made before a close drain and stop while new ones serve.
    shutdown: RwLock<CancellationToken>,
    /// Set by the first [`Self::close_all`] (cleared by [`Self::reopen`]).
    closing: AtomicBool,
    /// The WebSocket connections' turns at running (see `turns`).
    pub(crate) turns: Turns,
}

/// How long a shutdown waits for one handler that is still running.
const HANDLER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl<H: Handler> Engine<H> {
    pub(crate) fn new(config: ServerConfig, handler: H) -> Self {
        Engine {
            path: config.normalized_path(),
            config,
            handler,
            sessions: RwLock::new(HashMap::new()),
            open_sessions: AtomicUsize::new(0),
            shutdown: RwLock::new(CancellationToken::new()),
            closing: AtomicBool::new(false),
            turns: Turns::for_this_machine(),
        }
    }

    /// The open session with that id; a closed one counts as unknown except
    /// to the GET that may still collect its last packets.
    pub(crate) fn get(&self, sid: &str) -> Option<Arc<Socket<H::Data>>> {
        self.sessions.read().get(sid).cloned()
    }

    /// See [`super::EngineIo::draining_count`].
    pub(crate) fn draining_count(&self) -> usize {
        self.sockets()
            .iter()
            .filter(|s| {
                !s.is_closed()
                    || (s.awaits_final_poll() && s.disconnect_reason().is_some_and(|r| r.flushes()))
            })
            .count()
    }

    /// See [`super::EngineIo::drained`].
    pub(crate) async fn drained(&self, limit: std::time::Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let open = self.draining_count();
            if open == 0 || Instant::now() >= deadline {
                return open;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub(crate) fn sockets(&self) -> Vec<Arc<Socket<H::Data>>> {
        self.sessions.read().values().cloned().collect()
    }

    pub(crate) fn count(&self) -> usize {
        self.sessions.read().len()
    }

    /// See [`super::EngineIo::clients_count`].
    pub(crate) fn open_count(&self) -> usize {
        self.open_sessions.load(Ordering::Acquire)
    }

    /// Whether a session has that id, closing ones included.
    pub(crate) fn has(&self, sid: &str) -> bool {
        self.sessions.read().contains_key(sid)
    }

    /// Tells the [`ServerConfig::on_session`] hook, if any.
    pub(crate) fn session_event(&self, socket: &Arc<Socket<H::Data>>, event: SessionEvent<'_>) {
        if let Some(hook) = &self.config.on_session {
            let session: Arc<dyn Session> = socket.clone();
            hook(&session, event);
        }
    }

    /// Opens a session under `sid` and starts its heartbeat; returns it with
    /// the text of its `open` packet, or `None` when a session already has
    /// that id (a [`GenerateId`](super::GenerateId) hook gave it twice).
    /// `eio3` opens a protocol 3 session.
    pub(crate) fn open(
        self: &Arc<Self>,
        transport: TransportType,
        req: RequestInfo,
        sid: SessionId,
        eio3: bool,
    ) -> Option<(Arc<Socket<H::Data>>, Packet)> {
        let socket = Arc::new(Socket::new(
            sid.clone(),
            transport,
            req,
            self.config.max_buffer_size,
            eio3,
            H::Data::default(),
        ));
        if let Some(hook) = &self.config.on_session {
            // The socket holds its teller: a weak reference back, or the
            // two would keep each other alive.
            let (hook, weak) = (hook.clone(), Arc::downgrade(&socket));
            let _ = socket
                .created
                .set(Box::new(move |p: &Packet, compress: bool| {
                    if let Some(socket) = weak.upgrade() {
                        let session: Arc<dyn Session> = socket;
                        hook(&session, SessionEvent::PacketCreate(p, compress));
                    }
                }));
        }
        let upgrades = match transport {
            TransportType::Polling
                if self.config.allow_upgrades && self.config.allows(TransportType::Websocket) =>
            {
                vec!["websocket".to_owned()]
            }
            _ => vec![],
        };
        let open = Handshake {
            sid: sid.to_string(),
            upgrades,
            ping_interval: self.config.ping_interval.as_millis() as u64,
            ping_timeout: self.config.ping_timeout.as_millis() as u64,
            max_payload: self.config.max_http_buffer_size as u64,
        };
        {
            let mut m = self.sessions.write();
            match m.entry(sid) {
                std::collections::hash_map::Entry::Occupied(_) => return None,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(socket.clone());
                }
            }
        }
        self.open_sessions.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(self.clone().run_session(socket.clone(), Instant::now()));
        self.handler.on_connect(socket.clone());
        self.session_event(&socket, SessionEvent::Open);
        if self.is_shut_down() {
            // A shutdown that listed the sessions before this one was in
            // them had cancelled the token first: close it here.
            socket.close_with(DisconnectReason::ServerShuttingDown);
        }
        Some((socket, Packet::Open(open.to_json().into())))
    }

    /// Heartbeat and lifecycle of one session: pings on schedule (protocol
    /// 3: waits for the client's), closes on a missing pong, and tears the
    /// session down once, whatever closed it.
    ///
    /// Every open session keeps this task, so it keeps little: one timer,
    /// reset from deadline to deadline, and one wake-up for the pongs and
    /// the close (`Socket::close_with` signals it), waited on in one flat
    /// block (a task of 384 bytes where a timer and a cancellation future
    /// for each wait, in nested async fns, took 768). Not an `async fn`,
    /// which would hold its arguments twice.
    #[allow(clippy::manual_async_fn)] // on purpose, as said above
    fn run_session(
        self: Arc<Self>,
        socket: Arc<Socket<H::Data>>,
        opened: Instant,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        async move {
            let config = &self.config;
            let timer = tokio::time::sleep_until(opened + config.ping_interval);
            tokio::pin!(timer);
            if socket.is_eio3() {
                // Protocol 3 turns the heartbeat around: the client pings,
                // and a session that has not pinged for pingInterval +
                // pingTimeout is gone.
                timer
                    .as_mut()
                    .reset(opened + config.ping_interval + config.ping_timeout);
                loop {
                    tokio::select! {
                        biased;
                        _ = socket.pong.notified() => {
                            if socket.is_closed() {
                                break;
                            }
                            let window = config.ping_interval + config.ping_timeout;
                            timer.as_mut().reset(Instant::now() + window);
                        }
                        _ = timer.as_mut() => {
                            socket.close_with(DisconnectReason::PingTimeout);
                            break;
                        }
                    }
                }
            } else {
                // The server pings. Deadlines count from the handshake, not
                // from when this task first runs, and are absolute so that
                // late timer wake-ups do not add up: the session must be
                // gone by pingInterval + pingTimeout.
                'beat: loop {
                    // A wake-up before the ping is due is the close, or a
                    // pong nobody asked for (ignored, so it cannot answer
                    // the next ping).
                    loop {
                        tokio::select! {
                            biased;
                            _ = socket.pong.notified() => if socket.is_closed() { break 'beat },
                            _ = timer.as_mut() => break,
                        }
                    }
                    let deadline = timer.deadline() + config.ping_timeout;
                    timer.as_mut().reset(deadline);
                    // The ping is queued even with no GET pending, and the
                    // pong timeout starts now, as the reference does. Behind
                    // a full buffer it waits for room rather than being
                    // dropped: a slow client that keeps reading stays
                    // connected, a stalled one times out.
                    if socket.is_closed() {
                        break;
                    }
                    socket.tell_created(&Outgoing::One(Packet::Ping));
                    loop {
                        let room = socket.outbox.room();
                        tokio::pin!(room);
                        room.as_mut().enable();
                        match socket.outbox.try_push(Outgoing::One(Packet::Ping)) {
                            Ok(()) => break,
                            Err(PushError::Closed) => break 'beat,
                            Err(PushError::Full) => {}
                        }
                        tokio::select! {
                            _ = room => {}
                            _ = timer.as_mut() => {
                                socket.close_with(DisconnectReason::PingTimeout);
                                break 'beat;
                            }
                        }
                    }
                    tokio::select! {
                        biased;
                        _ = socket.pong.notified() => if socket.is_closed() { break },
                        _ = timer.as_mut() => {
                            socket.close_with(DisconnectReason::PingTimeout);
                            break;
                        }
                    }
                    timer.as_mut().reset(Instant::now() + config.ping_interval);
                }
            }
            let reason = socket
                .disconnect_reason()
                .unwrap_or(DisconnectReason::TransportClose);
            self.open_sessions.fetch_sub(1, Ordering::AcqRel);
            self.handler.on_disconnect(&socket, reason);
            self.session_event(&socket, SessionEvent::Close(reason));
            if socket.awaits_final_poll() {
                // Give the client one poll to collect what was queued and
                // the close.
                let grace = config.ping_timeout.min(std::time::Duration::from_secs(5));
                timer.as_mut().reset(Instant::now() + grace);
                tokio::select! {
                    _ = socket.flushed.notified() => {}
                    _ = timer.as_mut() => {}
                }
            }
            self.sessions.write().remove(socket.id().as_str());
        }
    }

    /// Acts on one packet from the client; `Err` closes the session.
    pub(crate) fn on_packet(
        &self,
        socket: &Arc<Socket<H::Data>>,
        packet: Packet,
    ) -> Result<(), DisconnectReason> {
        if self.config.on_session.is_some() {
            self.session_event(socket, SessionEvent::Packet(&packet));
        }
        match packet {
            Packet::Message(s) => {
                let _ = socket
                    .input
                    .pass(|| self.handler.on_message(socket, Message::Text(s)));
            }
            Packet::Binary(b) => {
                let _ = socket
                    .input
                    .pass(|| self.handler.on_message(socket, Message::Binary(b)));
            }
            // v4 servers ping; a client ping is "invalid heartbeat direction",
            // and the other way round in protocol 3.
            Packet::Pong if !socket.is_eio3() => socket.pong.notify_one(),
            Packet::Ping | Packet::PingProbe if socket.is_eio3() => {
                // The pong answers a probe on the session's own transport
                // too, without its data, as the reference does.
                socket.pong.notify_one();
                let _ = socket.push(super::socket::Outgoing::One(Packet::Pong));
            }
            Packet::Close => return Err(DisconnectReason::TransportClose),
            Packet::Ping | Packet::PingProbe | Packet::Pong => {
                return Err(DisconnectReason::TransportError)
            }
            Packet::Open(_) | Packet::PongProbe | Packet::Upgrade | Packet::Noop => {}
        }
        Ok(())
    }

    /// Acts on a decoded packet or a decoding failure.
    pub(crate) fn on_decoded(
        &self,
        socket: &Arc<Socket<H::Data>>,
        packet: Result<Packet, ParseError>,
    ) -> Result<(), DisconnectReason> {
        match packet {
            Ok(p) => self.on_packet(socket, p),
            Err(e) => {
                tracing::debug!(sid = %socket.id(), error = %e, "parse error");
                Err(DisconnectReason::ParseError)
            }
        }
    }

    /// True once closed (and not reopened): new sessions are refused.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.read().is_cancelled()
    }

    /// The token the current lifetime's listeners stop on.
    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.read().clone()
    }

    /// Accepts sessions again after [`Self::close_all`] (socket.io's
    /// `listen()` after `close()`). The sessions it closed stay closed;
    /// listeners made before go on draining them and stop. False when the
    /// engine was not closed.
    pub(crate) fn reopen(&self) -> bool {
        let mut token = self.shutdown.write();
        if !token.is_cancelled() {
            return false;
        }
        *token = CancellationToken::new();
        self.closing.store(false, Ordering::Release);
        true
    }

    /// Closes every session and stops accepting new ones. Closing again
    /// changes nothing.
    pub(crate) fn close_all(&self) {
        if self.closing.swap(true, Ordering::AcqRel) {
            // A second caller, maybe a handler the first is waiting for,
            // must not wait in turn.
            return;
        }
        self.shutdown.read().cancel();
        let sockets = self.sockets();
        // No handler may still be sending when the first session closes:
        // a message it acknowledged to one client must already be queued
        // for every other client it went to.
        for s in &sockets {
            if !s.input.shut(HANDLER_WAIT) {
                tracing::warn!(sid = %s.id(), "a handler still running at shutdown");
            }
        }
        for s in sockets {
            s.close_with(DisconnectReason::ServerShuttingDown);
        }
    }
}
