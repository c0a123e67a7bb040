//! The manager's task: opens the Engine.IO connection, routes packets to
//! the sockets of their namespace, and reconnects with backoff (the
//! reference `Manager`'s `open`, `onclose`, `reconnect`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use engineio::client::{Client as EngineClient, ClientEvent, Error as EngineError, PacketObserver};
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::backoff::Backoff;
use super::engine_events::EngineEvent;
use super::errors::{ConnectError, DisconnectReason};
use super::manager::{Command, ManagerInner};
use crate::codec::PacketDecoder;
use crate::proto::Packet;

type Opening = Pin<
    Box<
        dyn Future<Output = Result<(EngineClient, mpsc::Receiver<ClientEvent>), EngineError>>
            + Send,
    >,
>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ready {
    Closed,
    Opening,
    Open,
}

enum Wake {
    Command(Command),
    Opened(Result<(EngineClient, mpsc::Receiver<ClientEvent>), EngineError>),
    Engine(Option<ClientEvent>),
    Timer,
}

/// Owns everything about the connection that only the task touches. Holds
/// the manager weakly: the task ends when the last handle is dropped.
pub(crate) struct ManagerTask {
    inner: Weak<ManagerInner>,
    commands: mpsc::UnboundedReceiver<Command>,
    ready: Ready,
    opening: Option<Opening>,
    opening_is_reconnect: bool,
    events: Option<mpsc::Receiver<ClientEvent>>,
    decoder: PacketDecoder,
    backoff: Backoff,
    reconnecting: bool,
    skip_reconnect: bool,
    /// The connection being closed opens again at once (a socket left and
    /// connected again): told with its close.
    reopening: bool,
    timer: Option<Pin<Box<Sleep>>>,
}

impl ManagerTask {
    pub(crate) fn new(
        inner: &Arc<ManagerInner>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> ManagerTask {
        let c = &inner.config;
        ManagerTask {
            inner: Arc::downgrade(inner),
            commands,
            ready: Ready::Closed,
            opening: None,
            opening_is_reconnect: false,
            events: None,
            decoder: PacketDecoder::new(c.parser, c.max_attachments),
            backoff: Backoff::new(
                c.reconnection_delay,
                c.reconnection_delay_max,
                c.randomization_factor,
            ),
            reconnecting: false,
            skip_reconnect: false,
            reopening: false,
            timer: None,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            let wake = tokio::select! {
                // Commands first: what an application did in a handler (a
                // socket disconnected, reconnection turned off) is known
                // before a timer that was already due acts.
                biased;
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => Wake::Command(cmd),
                    None => return,
                },
                res = poll_opt(self.opening.as_mut()), if self.opening.is_some() => Wake::Opened(res),
                ev = recv_opt(self.events.as_mut()), if self.events.is_some() => Wake::Engine(ev),
                _ = poll_opt(self.timer.as_mut()), if self.timer.is_some() => Wake::Timer,
            };
            let Some(inner) = self.inner.upgrade() else {
                return;
            };
            self.handle(&inner, wake);
        }
    }

    fn handle(&mut self, inner: &Arc<ManagerInner>, wake: Wake) {
        match wake {
            Wake::Command(Command::Connect(nsp)) => {
                let Some(socket) = inner.socket(&nsp) else {
                    return;
                };
                if !socket.is_active() {
                    return;
                }
                if !self.reconnecting {
                    self.open(inner, false);
                }
                if self.ready == Ready::Open {
                    socket.on_open();
                }
            }
            Wake::Command(Command::Disconnected(nsp, was_connected, last)) => {
                if was_connected {
                    if let Some(socket) = inner.socket(&nsp) {
                        socket.on_client_disconnect();
                    }
                }
                let others = inner
                    .sockets()
                    .iter()
                    .any(|s| s.nsp != nsp && s.is_active());
                if last && !others {
                    // Even if the socket connected again since: that
                    // `connect()` opens a new connection.
                    if self.ready != Ready::Closed || self.reconnecting {
                        self.reopening = inner.socket(&nsp).is_some_and(|s| s.is_active());
                        self.close(inner);
                    }
                } else {
                    self.maybe_destroy(inner);
                }
            }
            Wake::Command(Command::Dropped) => self.maybe_destroy(inner),
            Wake::Command(Command::Open) => {
                if !self.reconnecting {
                    self.open(inner, false);
                }
            }
            Wake::Command(Command::Close) => self.close(inner),
            Wake::Command(Command::Auth { nsp, seq, result }) => {
                let Some(socket) = inner.socket(&nsp) else {
                    return;
                };
                if self.ready == Ready::Open && socket.on_auth(seq, result) {
                    self.maybe_destroy(inner);
                }
            }
            Wake::Command(Command::Reconfigured) => {
                let live = inner.live();
                self.backoff.set_min(live.reconnection_delay);
                self.backoff.set_max(live.reconnection_delay_max);
                self.backoff.set_jitter(live.randomization_factor);
                let attempt_in_flight = self.opening.is_some() && self.opening_is_reconnect;
                if !live.reconnection && (self.reconnecting || attempt_in_flight) {
                    // As the reference's `reconnection(false)`: no further
                    // attempt of the loop in progress (one in flight still
                    // ends, as it would).
                    self.skip_reconnect = true;
                    self.reconnecting = false;
                    self.timer = None;
                    self.backoff.reset();
                    self.maybe_idle(inner);
                }
            }
            Wake::Opened(result) => {
                self.opening = None;
                match result {
                    Ok((engine, events)) => self.on_open(inner, engine, events),
                    Err(e) => self.on_open_error(inner, e),
                }
            }
            Wake::Engine(Some(ClientEvent::Message(msg))) => match self.decoder.decode(msg) {
                Ok(Some(packet)) => self.route(inner, packet),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "invalid packet from the server");
                    self.on_close(inner, DisconnectReason::ParseError);
                }
            },
            Wake::Engine(Some(ClientEvent::Upgrade(transport))) => {
                inner.engine_event(&EngineEvent::Upgrade(transport));
            }
            Wake::Engine(Some(ClientEvent::Close(reason))) => {
                self.on_close(inner, DisconnectReason::from_engine(&reason));
            }
            Wake::Engine(None) => self.on_close(inner, DisconnectReason::TransportClose),
            Wake::Timer => {
                self.timer = None;
                if self.skip_reconnect {
                    return;
                }
                let attempt = self.backoff.attempts();
                for h in inner.handlers().reconnect_attempt {
                    h(attempt);
                }
                // What the handlers did (a socket disconnected, the manager
                // closed) counts before the attempt, as in the reference.
                while let Ok(cmd) = self.commands.try_recv() {
                    self.handle(inner, Wake::Command(cmd));
                }
                if self.skip_reconnect || !self.reconnecting {
                    return;
                }
                self.open(inner, true);
            }
        }
    }

    fn open(&mut self, inner: &Arc<ManagerInner>, is_reconnect: bool) {
        if self.ready != Ready::Closed {
            return;
        }
        self.ready = Ready::Opening;
        self.skip_reconnect = false;
        let mut config = inner.config.engine.clone();
        config.connect_timeout = Some(inner.live().timeout);
        // Pings and, while watched, every packet reach the `engine`
        // handlers; held weakly, as the session must not keep the manager.
        let weak = Arc::downgrade(inner);
        let user = config.observer.take();
        config.observer = Some(PacketObserver::new(move |dir, packet| {
            if let Some(o) = &user {
                o.observe(dir, packet);
            }
            if let Some(inner) = weak.upgrade() {
                inner.observe(dir, packet);
            }
        }));
        let url = inner.url.clone();
        self.opening = Some(Box::pin(async move {
            EngineClient::connect(&url, config).await
        }));
        self.opening_is_reconnect = is_reconnect;
    }

    fn on_open(
        &mut self,
        inner: &Arc<ManagerInner>,
        engine: EngineClient,
        events: mpsc::Receiver<ClientEvent>,
    ) {
        self.ready = Ready::Open;
        // Connected: a reconnection stopped earlier has nothing left to skip.
        self.skip_reconnect = false;
        self.events = Some(events);
        self.decoder = PacketDecoder::new(inner.config.parser, inner.config.max_attachments);
        let opened = EngineEvent::Open {
            sid: engine.sid().to_owned(),
            transport: engine.transport(),
        };
        if let Some(old) = inner.set_engine(Some(engine)) {
            old.close();
        }
        inner.engine_event(&opened);
        for h in inner.handlers().open {
            h();
        }
        for socket in inner.sockets() {
            if socket.is_active() {
                socket.on_open();
            }
        }
        if self.opening_is_reconnect {
            let attempt = self.backoff.attempts();
            self.reconnecting = false;
            self.backoff.reset();
            for h in inner.handlers().reconnect {
                h(attempt);
            }
        }
    }

    fn on_open_error(&mut self, inner: &Arc<ManagerInner>, err: EngineError) {
        self.ready = Ready::Closed;
        let reconnecting = if self.opening_is_reconnect {
            !self.skip_reconnect
        } else {
            !self.reconnecting && inner.live().reconnection && self.backoff.attempts() == 0
        };
        inner.engine_event(&EngineEvent::OpenError {
            message: err.to_string(),
            reconnecting,
        });
        for h in inner.handlers().error {
            h(&err);
        }
        let connect_error = ConnectError::connection(err.to_string());
        for socket in inner.sockets() {
            if socket.is_active() {
                socket.on_error(connect_error.clone());
            }
        }
        if self.opening_is_reconnect {
            self.reconnecting = false;
            self.reconnect(inner);
            for h in inner.handlers().reconnect_error {
                h(&err);
            }
        } else if !self.reconnecting && inner.live().reconnection && self.backoff.attempts() == 0 {
            self.reconnect(inner);
        }
        self.maybe_idle(inner);
    }

    /// Tells that the manager has nothing left to do (no connection, no
    /// reconnection under way) once what led there has been told.
    fn maybe_idle(&mut self, inner: &Arc<ManagerInner>) {
        if self.ready == Ready::Closed && !self.reconnecting && self.opening.is_none() {
            inner.engine_event(&EngineEvent::Idle);
        }
    }

    fn route(&mut self, inner: &Arc<ManagerInner>, packet: Packet) {
        let Some(socket) = inner.socket(&packet.nsp) else {
            return;
        };
        if socket.is_active() && socket.on_packet(packet) {
            self.maybe_destroy(inner);
        }
    }

    /// Closes the connection once no socket wants it (the reference's
    /// `_destroy`).
    fn maybe_destroy(&mut self, inner: &Arc<ManagerInner>) {
        if inner.sockets().iter().any(|s| s.is_active()) {
            return;
        }
        if self.ready != Ready::Closed || self.reconnecting {
            self.close(inner);
        }
    }

    fn close(&mut self, inner: &Arc<ManagerInner>) {
        self.skip_reconnect = true;
        self.reconnecting = false;
        self.timer = None;
        self.opening = None;
        self.on_close(inner, DisconnectReason::ForcedClose);
    }

    fn on_close(&mut self, inner: &Arc<ManagerInner>, reason: DisconnectReason) {
        let sid = inner.set_engine(None).map(|engine| {
            engine.close();
            engine.sid().to_owned()
        });
        self.events = None;
        self.decoder = PacketDecoder::new(inner.config.parser, inner.config.max_attachments);
        self.backoff.reset();
        self.ready = Ready::Closed;
        let reconnects = inner.live().reconnection && !self.skip_reconnect;
        let reopening = std::mem::take(&mut self.reopening);
        inner.engine_event(&EngineEvent::Close {
            sid,
            reason,
            reconnecting: reconnects || self.reconnecting || reopening,
        });
        for socket in inner.sockets() {
            if socket.is_active() {
                socket.on_close(reason);
            }
        }
        for h in inner.handlers().close {
            h(reason);
        }
        if reconnects {
            self.reconnect(inner);
        }
        if !reopening {
            self.maybe_idle(inner);
        }
    }

    fn reconnect(&mut self, inner: &Arc<ManagerInner>) {
        if self.reconnecting || self.skip_reconnect {
            return;
        }
        if self.backoff.attempts() >= inner.live().reconnection_attempts {
            self.backoff.reset();
            self.reconnecting = false;
            for h in inner.handlers().reconnect_failed {
                h();
            }
        } else {
            let delay = self.backoff.duration();
            self.reconnecting = true;
            self.timer = Some(Box::pin(tokio::time::sleep(delay)));
        }
    }
}

/// Awaits an optional future; never resolves for `None`.
async fn poll_opt<F: Future + Unpin>(f: Option<&mut F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Receives from an optional channel; never resolves for `None`.
async fn recv_opt<T>(rx: Option<&mut mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
