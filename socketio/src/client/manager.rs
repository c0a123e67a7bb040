//! The manager: one Engine.IO connection shared by the sockets of several
//! namespaces, and the handle to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use engineio::client::{Client as EngineClient, PacketDirection, SendError};
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use super::config::{ManagerConfig, SocketConfig};
use super::engine_events::EngineEvent;
use super::errors::DisconnectReason;
use super::handlers::ManagerHandlers;
use super::socket::{Socket, SocketInner};
use super::task::ManagerTask;
use crate::codec::encode_messages;
use crate::proto::{Packet, Value};

/// Orders to the manager's task.
#[derive(Debug)]
pub(crate) enum Command {
    /// A socket wants to connect its namespace.
    Connect(String),
    /// A socket was disconnected by the application: its namespace,
    /// whether it was connected, and whether it was the last socket that
    /// wanted the connection (which then closes, as the reference's
    /// `_destroy` closes it right away).
    Disconnected(String, bool, bool),
    /// A socket was dropped.
    Dropped,
    /// Open the connection if it is closed.
    Open,
    /// Close the connection and stop reconnecting.
    Close,
    /// A socket's deferred auth answered (`seq`: the attempt it answers).
    Auth {
        nsp: String,
        seq: u64,
        result: Result<Option<Value>, String>,
    },
    /// The live settings changed: read them again.
    Reconfigured,
}

/// The settings that may change while the manager runs (socket.io-client's
/// `reconnection(v)`, `timeout(v)`... setters); the task reads them when
/// it needs them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Live {
    pub(crate) reconnection: bool,
    pub(crate) reconnection_attempts: u32,
    pub(crate) reconnection_delay: Duration,
    pub(crate) reconnection_delay_max: Duration,
    pub(crate) randomization_factor: f64,
    pub(crate) timeout: Duration,
}

impl Live {
    fn new(c: &ManagerConfig) -> Live {
        Live {
            reconnection: c.reconnection,
            reconnection_attempts: c.reconnection_attempts,
            reconnection_delay: c.reconnection_delay,
            reconnection_delay_max: c.reconnection_delay_max,
            randomization_factor: c.randomization_factor,
            timeout: c.timeout,
        }
    }
}

pub(crate) struct ManagerInner {
    pub(crate) url: String,
    pub(crate) config: ManagerConfig,
    engine: Mutex<Option<EngineClient>>,
    sockets: Mutex<HashMap<String, Weak<SocketInner>>>,
    cmd: mpsc::UnboundedSender<Command>,
    pub(crate) handlers: RwLock<ManagerHandlers>,
    live: Mutex<Live>,
    /// Engine packets go to the `engine` handlers.
    watch_packets: AtomicBool,
}

impl ManagerInner {
    pub(crate) fn command(&self, cmd: Command) {
        let _ = self.cmd.send(cmd);
    }

    pub(crate) fn set_engine(&self, engine: Option<EngineClient>) -> Option<EngineClient> {
        std::mem::replace(&mut *self.engine.lock(), engine)
    }

    /// True when an Engine.IO connection is open.
    pub(crate) fn engine_open(&self) -> bool {
        self.engine.lock().as_ref().is_some_and(|e| !e.is_closed())
    }

    /// Encodes and queues a packet on the connection.
    pub(crate) fn send_packet(&self, packet: &Packet) -> Result<(), SendError> {
        let engine = self.engine.lock().clone();
        match engine {
            Some(engine) => engine.send_many(encode_messages(self.config.parser, packet)),
            None => Err(SendError::Closed),
        }
    }

    /// The live socket of a namespace.
    pub(crate) fn socket(&self, nsp: &str) -> Option<Arc<SocketInner>> {
        self.sockets.lock().get(nsp).and_then(Weak::upgrade)
    }

    /// Every live socket, dropping the entries of dead ones.
    pub(crate) fn sockets(&self) -> Vec<Arc<SocketInner>> {
        let mut map = self.sockets.lock();
        map.retain(|_, w| w.strong_count() > 0);
        map.values().filter_map(Weak::upgrade).collect()
    }

    pub(crate) fn handlers(&self) -> ManagerHandlers {
        self.handlers.read().clone()
    }

    pub(crate) fn live(&self) -> Live {
        *self.live.lock()
    }

    /// Tells the `engine` handlers.
    pub(crate) fn engine_event(&self, ev: &EngineEvent) {
        let handlers = {
            let h = self.handlers.read();
            if h.engine.is_empty() {
                return;
            }
            h.engine.clone()
        };
        for h in handlers {
            h(ev);
        }
    }

    /// A packet of the session (on the session's task): pings always, the
    /// rest while watched.
    pub(crate) fn observe(&self, dir: PacketDirection, packet: &engineio::proto::Packet) {
        let ping =
            dir == PacketDirection::Received && matches!(packet, engineio::proto::Packet::Ping);
        if self.watch_packets.load(Ordering::Relaxed) {
            self.engine_event(&match dir {
                PacketDirection::Received => EngineEvent::Packet(packet.clone()),
                PacketDirection::Sent => EngineEvent::PacketCreate(packet.clone()),
            });
        }
        if ping {
            self.engine_event(&EngineEvent::Ping);
        }
    }
}

/// One connection to a Socket.IO server, multiplexing the sockets of any
/// number of namespaces, and reconnecting with backoff when it is lost
/// (socket.io-client's `Manager`). Cheap to clone.
///
/// The connection lives as long as a handle to the manager or to one of its
/// sockets does.
#[derive(Clone)]
pub struct Manager {
    pub(crate) inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

/// Managers shared by URL origin, for multiplexing (the reference's cache).
static MANAGERS: LazyLock<Mutex<HashMap<String, Weak<ManagerInner>>>> =
    LazyLock::new(Default::default);

impl Manager {
    /// A manager for the server at `url` (`http://host:port`, query
    /// included; a path is ignored, it names a namespace). It connects when
    /// its first socket does. Must be called inside a tokio runtime.
    pub fn new(url: &str, config: ManagerConfig) -> Manager {
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(ManagerInner {
            url: url.to_owned(),
            engine: Mutex::new(None),
            sockets: Mutex::new(HashMap::new()),
            cmd,
            handlers: RwLock::new(ManagerHandlers::default()),
            live: Mutex::new(Live::new(&config)),
            watch_packets: AtomicBool::new(false),
            config,
        });
        tokio::spawn(ManagerTask::new(&inner, cmd_rx).run());
        Manager { inner }
    }

    /// The shared manager for `key` (an origin), created with `config` if
    /// there is none, unless a socket of `nsp` already uses it.
    pub(crate) fn cached(key: &str, url: &str, nsp: &str, config: ManagerConfig) -> Manager {
        let mut cache = MANAGERS.lock();
        cache.retain(|_, w| w.strong_count() > 0);
        if let Some(inner) = cache.get(key).and_then(Weak::upgrade) {
            if inner.socket(nsp).is_none() {
                return Manager { inner };
            }
            // Same namespace twice: a connection of its own, as the reference.
            return Manager::new(url, config);
        }
        let manager = Manager::new(url, config);
        cache.insert(key.to_owned(), Arc::downgrade(&manager.inner));
        manager
    }

    /// The socket of namespace `nsp` (`/` is the main one): the existing one,
    /// or a new, unconnected one with `config`. Call
    /// [`Socket::connect`] to connect it.
    pub fn socket(&self, nsp: &str, config: SocketConfig) -> Socket {
        let nsp = normalize_nsp(nsp);
        let mut map = self.inner.sockets.lock();
        if let Some(inner) = map.get(&nsp).and_then(Weak::upgrade) {
            return Socket { inner };
        }
        let inner = SocketInner::new(nsp.clone(), self.inner.clone(), config);
        map.insert(nsp, Arc::downgrade(&inner));
        Socket { inner }
    }

    /// Opens the connection now rather than with the first socket.
    pub fn open(&self) {
        self.inner.command(Command::Open);
    }

    /// Closes the connection: every socket disconnects with
    /// [`DisconnectReason::ForcedClose`] and no reconnection follows.
    pub fn close(&self) {
        self.inner.command(Command::Close);
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// True while the Engine.IO connection is open.
    pub fn is_open(&self) -> bool {
        self.inner.engine_open()
    }

    /// The Engine.IO connection, while open (for its transport and sid).
    pub fn engine(&self) -> Option<EngineClient> {
        self.inner.engine.lock().clone()
    }

    fn with_handlers(&self, f: impl FnOnce(&mut ManagerHandlers)) {
        let mut h = self.inner.handlers.write();
        f(&mut h);
    }

    pub(crate) fn add_handlers(&self, handlers: ManagerHandlers) {
        self.with_handlers(|h| h.merge(handlers));
    }

    /// Called when the connection opens.
    pub fn on_open(&self, f: impl Fn() + Send + Sync + 'static) {
        self.with_handlers(|h| h.open.push(Arc::new(f)));
    }

    /// Called when the connection closes.
    pub fn on_close(&self, f: impl Fn(DisconnectReason) + Send + Sync + 'static) {
        self.with_handlers(|h| h.close.push(Arc::new(f)));
    }

    /// Called when a connection attempt fails.
    pub fn on_error(&self, f: impl Fn(&engineio::client::Error) + Send + Sync + 'static) {
        self.with_handlers(|h| h.error.push(Arc::new(f)));
    }

    /// Called before each reconnection attempt, with its number (from 1).
    pub fn on_reconnect_attempt(&self, f: impl Fn(u32) + Send + Sync + 'static) {
        self.with_handlers(|h| h.reconnect_attempt.push(Arc::new(f)));
    }

    /// Called after a successful reconnection, with the attempts it took.
    pub fn on_reconnect(&self, f: impl Fn(u32) + Send + Sync + 'static) {
        self.with_handlers(|h| h.reconnect.push(Arc::new(f)));
    }

    /// Called when a reconnection attempt fails.
    pub fn on_reconnect_error(&self, f: impl Fn(&engineio::client::Error) + Send + Sync + 'static) {
        self.with_handlers(|h| h.reconnect_error.push(Arc::new(f)));
    }

    /// Called when `reconnection_attempts` attempts all failed.
    pub fn on_reconnect_failed(&self, f: impl Fn() + Send + Sync + 'static) {
        self.with_handlers(|h| h.reconnect_failed.push(Arc::new(f)));
    }

    /// Sees the events of the Engine.IO session (engine.io-client's `open`,
    /// `upgrade`, `ping`, `packet`, `packetCreate`, `close`), for those that
    /// show socket.io-client's `manager.engine` or its `ping` event. Called
    /// on the manager's task, or on the session's for pings and packets:
    /// keep it short.
    pub fn on_engine(&self, f: impl Fn(&EngineEvent) + Send + Sync + 'static) {
        self.with_handlers(|h| h.engine.push(Arc::new(f)));
    }

    /// Whether the session's packets go to the [`on_engine`](Self::on_engine)
    /// handlers as [`EngineEvent::Packet`] and [`EngineEvent::PacketCreate`]
    /// (off by default: a copy of every packet costs).
    pub fn watch_engine_packets(&self, on: bool) {
        self.inner.watch_packets.store(on, Ordering::Relaxed);
    }

    fn reconfigure(&self, f: impl FnOnce(&mut Live)) {
        f(&mut self.inner.live.lock());
        self.inner.command(Command::Reconfigured);
    }

    /// Turns reconnection on or off while the manager runs
    /// (socket.io-client's `manager.reconnection(v)`); off stops a
    /// reconnection loop in progress.
    pub fn set_reconnection(&self, on: bool) {
        self.reconfigure(|l| l.reconnection = on);
    }

    /// Changes how many attempts a reconnection makes before giving up.
    pub fn set_reconnection_attempts(&self, attempts: u32) {
        self.reconfigure(|l| l.reconnection_attempts = attempts);
    }

    /// Changes the first delay between reconnection attempts.
    pub fn set_reconnection_delay(&self, delay: Duration) {
        self.reconfigure(|l| l.reconnection_delay = delay);
    }

    /// Changes the longest delay between reconnection attempts.
    pub fn set_reconnection_delay_max(&self, delay: Duration) {
        self.reconfigure(|l| l.reconnection_delay_max = delay);
    }

    /// Changes the jitter of the delays (0 to 1).
    pub fn set_randomization_factor(&self, factor: f64) {
        self.reconfigure(|l| l.randomization_factor = factor);
    }

    /// Changes the longest wait for a connection attempt (and for a
    /// deferred auth's answer), from the next attempt on.
    pub fn set_timeout(&self, timeout: Duration) {
        self.reconfigure(|l| l.timeout = timeout);
    }
}

/// `admin` → `/admin`; empty → `/`.
pub(crate) fn normalize_nsp(nsp: &str) -> String {
    if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}
