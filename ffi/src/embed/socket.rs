//! [`Socket`]: a client's connection to a namespace, seen from the server —
//! its handlers, middlewares, emits and rooms.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sio_core::server::DisconnectReason;
use sio_core::Value;

use super::queue::Ctx;
use super::{Ack, Broadcast, Error, Namespace};

/// A client's connection to a namespace. Cheap to clone; a clone does not
/// keep the client connected.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<sio_core::Socket>,
    ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl Socket {
    pub(crate) fn new(inner: Arc<sio_core::Socket>, ctx: Arc<Ctx>) -> Socket {
        Socket { inner, ctx }
    }

    /// The core socket.
    pub fn core(&self) -> &Arc<sio_core::Socket> {
        &self.inner
    }

    /// The socket id.
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        self.inner.nsp()
    }

    /// The namespace.
    pub fn namespace(&self) -> Namespace {
        Namespace {
            ns: self.inner.namespace().clone(),
            ctx: self.ctx.clone(),
        }
    }

    /// True while connected.
    pub fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// The transport carrying the connection (`polling` or `websocket`).
    pub fn transport(&self) -> &'static str {
        self.inner.transport()
    }

    /// Whether the socket came back through connection state recovery.
    pub fn recovered(&self) -> bool {
        self.inner.recovered()
    }

    /// How the socket connected: `auth`, `query`, `headers`, `address`,
    /// `url`, `issued` (ms since the epoch), `secure`, `xdomain`.
    pub fn handshake(&self) -> Value {
        let h = self.inner.handshake();
        let mut o = indexmap::IndexMap::new();
        o.insert("auth".to_owned(), h.auth.clone());
        let query: indexmap::IndexMap<String, Value> = h
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        o.insert("query".to_owned(), Value::Object(query));
        let headers: indexmap::IndexMap<String, Value> = h
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect();
        o.insert("headers".to_owned(), Value::Object(headers));
        o.insert("address".to_owned(), Value::from(h.address.as_str()));
        o.insert("url".to_owned(), Value::from(h.url.as_str()));
        o.insert("issued".to_owned(), Value::from(h.issued));
        o.insert("secure".to_owned(), Value::from(h.secure));
        o.insert("xdomain".to_owned(), Value::from(h.xdomain));
        Value::Object(o)
    }

    /// The per-socket data (`socket.data`).
    pub fn data(&self) -> Value {
        self.inner.data()
    }

    /// Replaces the per-socket data.
    pub fn set_data(&self, data: Value) {
        self.inner.set_data(data);
    }

    /// Handles an event (replacing the previous handler of that name):
    /// `handler(socket, event, args, ack)`, with `ack` when the client asked
    /// for an acknowledgement.
    pub fn on(
        &self,
        event: &str,
        handler: impl Fn(&Socket, &str, Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        let name: Arc<str> = Arc::from(event);
        self.inner.on(event, move |s, args, ack| {
            let socket = Socket::new(s, ctx.clone());
            let (h, name) = (handler.clone(), name.clone());
            ctx.run(move || h(&socket, &name, args, ack.map(Ack::Server)));
        });
    }

    /// Removes the handler of an event.
    pub fn off(&self, event: &str) {
        self.inner.off(event);
    }

    /// Handles the events that have no handler of their own, with their
    /// acknowledgement: `handler(socket, event, args, ack)` (python-socketio's
    /// `'*'` handler).
    pub fn on_fallback(
        &self,
        handler: impl Fn(&Socket, &str, Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner.on_fallback(move |s, event, args, ack| {
            let socket = Socket::new(s, ctx.clone());
            let (h, event) = (handler.clone(), event.to_owned());
            ctx.run(move || h(&socket, &event, args, ack.map(Ack::Server)));
        });
    }

    /// Listens to every incoming event (before its handler); returns an id
    /// for [`Socket::off_any`].
    pub fn on_any(
        &self,
        listener: impl Fn(&Socket, &str, Vec<Value>) + Send + Sync + 'static,
    ) -> u64 {
        let ctx = self.ctx.clone();
        let listener = Arc::new(listener);
        self.inner.on_any(move |s, event, args| {
            let socket = Socket::new(s.clone(), ctx.clone());
            let (l, event, args) = (listener.clone(), event.to_owned(), args.to_vec());
            ctx.run(move || l(&socket, &event, args));
        })
    }

    /// Removes one catch-all listener, or all of them with `None`.
    pub fn off_any(&self, id: Option<u64>) {
        self.inner.off_any(id);
    }

    /// Called once the socket has disconnected, with the reason
    /// (`transport close`, `client namespace disconnect`...).
    pub fn on_disconnect(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner
            .on_disconnect(move |s, reason: DisconnectReason| {
                let socket = Socket::new(s, ctx.clone());
                let h = handler.clone();
                ctx.run(move || h(&socket, reason.as_str()));
            });
    }

    /// Called when the socket is about to disconnect, still in its rooms
    /// (direct dispatch only guarantees the rooms are still there).
    pub fn on_disconnecting(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner
            .on_disconnecting(move |s, reason: DisconnectReason| {
                let socket = Socket::new(s, ctx.clone());
                let h = handler.clone();
                ctx.run(move || h(&socket, reason.as_str()));
            });
    }

    /// Emits an event.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.inner.emit_args(event, args)?)
    }

    /// Emits an event, or drops it when the transport cannot write it now
    /// (busy writing, a long-poll without a pending GET, a full buffer).
    pub fn emit_volatile(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        Ok(self.inner.emit_volatile(event, args)?)
    }

    /// Emits an event as `opts` say (volatile, uncompressed: socket.io's
    /// `socket.volatile.compress(false).emit()`).
    pub fn emit_with(
        &self,
        event: &str,
        args: Vec<Value>,
        opts: sio_core::server::SendOptions,
    ) -> Result<(), Error> {
        Ok(self.inner.emit_with(event, args, opts)?)
    }

    /// Emits an event asking for an acknowledgement; `done` gets its
    /// arguments, or the error (timeout after `timeout`, else the server's
    /// `ack_timeout`; disconnection).
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        done: impl FnOnce(Result<Vec<Value>, Error>) + Send + 'static,
    ) {
        let s = self.inner.clone();
        let event = event.to_owned();
        let timeout = timeout.unwrap_or_else(|| self.ctx.ack_timeout());
        self.ctx.complete(
            async move {
                s.emit_with_ack_args(&event, args, timeout)
                    .await
                    .map_err(Error::from)
            },
            done,
        );
    }

    /// Joins a room.
    pub fn join(&self, room: &str) -> Result<(), Error> {
        Ok(self.inner.try_join(room)?)
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.inner.leave(room);
    }

    /// The rooms the socket is in, its own id room included.
    pub fn rooms(&self) -> Vec<String> {
        self.inner.rooms().iter().map(|r| r.to_string()).collect()
    }

    /// Disconnects the socket; with `close`, the whole connection.
    pub fn disconnect(&self, close: bool) {
        self.inner.disconnect(close);
    }

    /// A broadcast to every other socket of the namespace.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast {
            op: self.inner.broadcast(),
            ctx: self.ctx.clone(),
        }
    }

    /// A broadcast to the sockets in `room`, this one excluded.
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// A broadcast to every other socket but those in `room`.
    pub fn except(&self, room: &str) -> Broadcast {
        self.broadcast().except(room)
    }

    /// Adds a per-event middleware (`socket.use`): `middleware(socket,
    /// event, args)` returns `Err(error)` to stop the event, which then goes
    /// to the [`Socket::on_error`] handlers instead of its own handler.
    ///
    /// It must answer before the event goes on: with an event queue the
    /// runtime thread waits for the queue's poller to run it.
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket, &str, &[Value]) -> Result<(), Value> + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let middleware = Arc::new(middleware);
        self.inner.use_middleware(move |s, event, args| {
            let socket = Socket::new(s.clone(), ctx.clone());
            let verdict = Arc::new(Mutex::new(Ok(())));
            let (m, v, event, args) = (
                middleware.clone(),
                verdict.clone(),
                event.to_owned(),
                args.clone(),
            );
            ctx.run_and_wait(move || *v.lock() = m(&socket, &event, &args));
            let out = std::mem::replace(&mut *verdict.lock(), Ok(()));
            out
        });
    }

    /// Called with the error of a middleware that stopped an event.
    pub fn on_error(&self, handler: impl Fn(&Socket, Value) + Send + Sync + 'static) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.inner.on_error(move |s, err| {
            let socket = Socket::new(s, ctx.clone());
            let h = handler.clone();
            ctx.run(move || h(&socket, err));
        });
    }

    /// Listens to every event this socket emits (`onAnyOutgoing`); returns
    /// an id for [`Socket::off_any_outgoing`].
    pub fn on_any_outgoing(
        &self,
        listener: impl Fn(&Socket, &str, Vec<Value>) + Send + Sync + 'static,
    ) -> u64 {
        let ctx = self.ctx.clone();
        let listener = Arc::new(listener);
        self.inner.on_any_outgoing(move |s, event, args| {
            let socket = Socket::new(s.clone(), ctx.clone());
            let (l, event, args) = (listener.clone(), event.to_owned(), args.to_vec());
            ctx.run(move || l(&socket, &event, args));
        })
    }

    /// Removes one outgoing listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<u64>) {
        self.inner.off_any_outgoing(id);
    }
}
