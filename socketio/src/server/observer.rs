//! What an instrumentation layer (the admin UI, [`super::admin`]) hears from
//! the server: Engine.IO sessions and their traffic, namespaces as they are
//! created, sockets as they are admitted. Nothing is paid for it until an
//! observer is added: one atomic load per hook.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use engineio::server::Message;
use parking_lot::RwLock;

use super::client::EngineSocket;
use super::namespace::Namespace;
use super::socket::Socket;

/// Hooks into the server. Called on the task serving the connection, so they
/// must not block; every method does nothing by default.
pub(crate) trait ServerObserver: Send + Sync + 'static {
    /// An Engine.IO session opened.
    fn raw_connection(&self, _conn: &EngineSocket) {}
    /// An Engine.IO session closed, with the engine's reason.
    fn raw_disconnection(&self, _conn: &EngineSocket, _reason: &'static str) {}
    /// A session moved from long-polling to WebSocket.
    fn upgraded(&self, _conn: &EngineSocket) {}
    /// A message of `bytes` bytes arrived.
    fn packet_in(&self, _bytes: usize) {}
    /// A message of `bytes` bytes was queued for a client.
    fn packet_out(&self, _bytes: usize) {}
    /// A namespace was created (`of`, or a dynamic child).
    fn new_namespace(&self, _ns: &Arc<Namespace>) {}
    /// A socket joined its namespace; the connection handlers run next.
    fn socket_connected(&self, _socket: &Arc<Socket>) {}
    /// [`Socket::set_data`] replaced a socket's data.
    fn socket_data_changed(&self, _socket: &Socket) {}
}

/// The observers of one server, shared with each of its connections.
#[derive(Default)]
pub(crate) struct Observers {
    active: AtomicBool,
    /// Replaced, never edited in place: a hook clones the `Arc` and calls
    /// the observers without the lock, so an observer may cause hooks of
    /// its own (its emits count as packets out).
    list: RwLock<Arc<[Arc<dyn ServerObserver>]>>,
}

impl Observers {
    pub(crate) fn add(&self, observer: Arc<dyn ServerObserver>) {
        let mut list = self.list.write();
        let mut next: Vec<Arc<dyn ServerObserver>> = list.iter().cloned().collect();
        next.push(observer);
        *list = next.into();
        self.active.store(true, Ordering::Release);
    }

    /// Whether any observer listens.
    pub(crate) fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Calls `f` with each observer.
    pub(crate) fn each(&self, f: impl Fn(&dyn ServerObserver)) {
        if !self.active() {
            return;
        }
        let list = self.list.read().clone();
        for o in list.iter() {
            f(o.as_ref());
        }
    }

    /// Counts messages queued for a client.
    pub(crate) fn packets_out(&self, msgs: &[Message]) {
        if !self.active() {
            return;
        }
        for m in msgs {
            let bytes = message_len(m);
            self.each(|o| o.packet_out(bytes));
        }
    }
}

/// The size of a message as the reference measures it
/// (`Buffer.byteLength` of the packet's data).
pub(crate) fn message_len(m: &Message) -> usize {
    match m {
        Message::Text(s) => s.as_str().len(),
        Message::Binary(b) => b.len(),
    }
}
