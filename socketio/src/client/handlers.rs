//! The callbacks a socket and a manager call.

use std::collections::HashMap;
use std::sync::Arc;

use engineio::client::Error as EngineError;

use super::ack::AckSender;
use super::engine_events::EngineEvent;
use super::errors::{ConnectError, DisconnectReason};
use super::socket::Socket;
use crate::proto::Value;

/// Handles one event: the socket, the arguments, and the acknowledgement
/// callback when the server asked for one.
pub type EventHandler = Arc<dyn Fn(Socket, Vec<Value>, Option<AckSender>) + Send + Sync>;
/// Handles the events that have no handler of their own: the socket, the
/// event name, the arguments and the acknowledgement callback.
pub type FallbackHandler = Arc<dyn Fn(Socket, &str, Vec<Value>, Option<AckSender>) + Send + Sync>;
/// Sees every event, incoming or outgoing: socket, event name, arguments.
pub type AnyListener = Arc<dyn Fn(&Socket, &str, &[Value]) + Send + Sync>;
/// Called when the socket connects.
pub type ConnectHandler = Arc<dyn Fn(Socket) + Send + Sync>;
/// Called when a connection attempt fails.
pub type ConnectErrorHandler = Arc<dyn Fn(Socket, ConnectError) + Send + Sync>;
/// Called when the socket disconnects.
pub type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) + Send + Sync>;
/// Called with an attempt number (`reconnect_attempt`, `reconnect`).
pub type AttemptHandler = Arc<dyn Fn(u32) + Send + Sync>;
/// Called with a connection error (`reconnect_error`, `error`).
pub type ErrorHandler = Arc<dyn Fn(&EngineError) + Send + Sync>;
/// Called without arguments (`reconnect_failed`, `open`).
pub type SignalHandler = Arc<dyn Fn() + Send + Sync>;
/// Called when the manager's connection closes.
pub type CloseHandler = Arc<dyn Fn(DisconnectReason) + Send + Sync>;
/// Sees the events of the manager's Engine.IO session.
pub type EngineHandler = Arc<dyn Fn(&EngineEvent) + Send + Sync>;

/// A socket's callbacks.
#[derive(Default, Clone)]
pub(crate) struct SocketHandlers {
    pub(crate) events: HashMap<String, EventHandler>,
    pub(crate) fallback: Option<FallbackHandler>,
    pub(crate) any: Vec<(u64, AnyListener)>,
    pub(crate) any_outgoing: Vec<(u64, AnyListener)>,
    pub(crate) connect: Vec<ConnectHandler>,
    pub(crate) connect_error: Vec<ConnectErrorHandler>,
    pub(crate) disconnect: Vec<DisconnectHandler>,
}

impl SocketHandlers {
    /// Adds `other`'s callbacks to these.
    pub(crate) fn merge(&mut self, other: SocketHandlers) {
        self.events.extend(other.events);
        if other.fallback.is_some() {
            self.fallback = other.fallback;
        }
        self.any.extend(other.any);
        self.any_outgoing.extend(other.any_outgoing);
        self.connect.extend(other.connect);
        self.connect_error.extend(other.connect_error);
        self.disconnect.extend(other.disconnect);
    }
}

/// A manager's callbacks.
#[derive(Default, Clone)]
pub(crate) struct ManagerHandlers {
    pub(crate) open: Vec<SignalHandler>,
    pub(crate) close: Vec<CloseHandler>,
    pub(crate) error: Vec<ErrorHandler>,
    pub(crate) reconnect_attempt: Vec<AttemptHandler>,
    pub(crate) reconnect: Vec<AttemptHandler>,
    pub(crate) reconnect_error: Vec<ErrorHandler>,
    pub(crate) reconnect_failed: Vec<SignalHandler>,
    pub(crate) engine: Vec<EngineHandler>,
}

impl ManagerHandlers {
    /// Adds `other`'s callbacks to these.
    pub(crate) fn merge(&mut self, other: ManagerHandlers) {
        self.open.extend(other.open);
        self.close.extend(other.close);
        self.error.extend(other.error);
        self.reconnect_attempt.extend(other.reconnect_attempt);
        self.reconnect.extend(other.reconnect);
        self.reconnect_error.extend(other.reconnect_error);
        self.reconnect_failed.extend(other.reconnect_failed);
        self.engine.extend(other.engine);
    }
}
