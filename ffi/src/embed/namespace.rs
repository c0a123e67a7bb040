//! [`Namespace`] and [`DynamicNamespace`] (a parent of namespaces matched
//! by name), their connection handlers and middlewares answered through
//! [`Next`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sio_core::server::{ConnectError, ParentNamespace};
use sio_core::Value;
use tokio::sync::oneshot;

use super::queue::Ctx;
use super::{Ack, Broadcast, Error, Socket};

/// A namespace of a [`Server`]. Cheap to clone.
#[derive(Clone)]
pub struct Namespace {
    pub(super) ns: Arc<sio_core::Namespace>,
    pub(super) ctx: Arc<Ctx>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.ns.name())
            .finish()
    }
}

/// Accepts or refuses a connection, once; given to middlewares. Dropping it
/// unanswered refuses with "middleware did not answer".
#[derive(Debug)]
pub struct Next {
    tx: oneshot::Sender<Result<(), ConnectError>>,
}

impl Next {
    /// Lets the connection through (to the next middleware, then the
    /// connection handlers).
    pub fn accept(self) {
        let _ = self.tx.send(Ok(()));
    }

    /// Refuses the connection: the client gets `connect_error` with this
    /// message and data.
    pub fn refuse(self, message: &str, data: Option<Value>) {
        let _ = self.tx.send(Err(ConnectError {
            message: message.to_owned(),
            data,
        }));
    }
}

impl Namespace {
    /// The name, e.g. `/` or `/admin`.
    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// Handles `event` sent to this namespace by another server with
    /// `serverSideEmit` (Node's `nsp.on(event, ...)`); `handler` gets the
    /// arguments and, when the sender waits for one, the acknowledgement
    /// (the first answer counts).
    pub fn on_server_side_emit(
        &self,
        event: &str,
        handler: impl Fn(Vec<Value>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.ns.on_server_side_emit(event, move |args, ack| {
            let h = handler.clone();
            ctx.run(move || h(args, ack.map(Ack::ServerSide)));
        });
    }

    /// Reports the adapter's room events, as Node's adapter emits them:
    /// `handler(kind, room, socket id)` with kind `create-room`,
    /// `delete-room` (no socket id), `join-room` or `leave-room`.
    pub fn on_room_event(
        &self,
        handler: impl Fn(&'static str, String, Option<String>) + Send + Sync + 'static,
    ) {
        let ctx = self.ctx.clone();
        let handler = Arc::new(handler);
        self.ns.on_room_event(move |e| {
            use sio_core::adapter::RoomEvent;
            let (kind, room, sid) = match e {
                RoomEvent::CreateRoom(r) => ("create-room", r.to_string(), None),
                RoomEvent::DeleteRoom(r) => ("delete-room", r.to_string(), None),
                RoomEvent::JoinRoom(r, s) => ("join-room", r.to_string(), Some(s.to_string())),
                RoomEvent::LeaveRoom(r, s) => ("leave-room", r.to_string(), Some(s.to_string())),
            };
            let h = handler.clone();
            ctx.run(move || h(kind, room, sid));
        });
    }

    /// Whether the server dropped this namespace (an empty dynamic child,
    /// `cleanup_empty_child_namespaces`): the handle is stale, the name
    /// belongs to a new namespace if a client connects again.
    pub fn is_removed(&self) -> bool {
        self.ns.is_removed()
    }

    /// Calls `handler` with every socket that joins. The socket's events are
    /// dispatched only after the handler has returned, in both dispatch
    /// modes, so handlers it registers see every event.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        self.ns
            .on_connection(connection_handler(self.ctx.clone(), handler));
    }

    /// Adds a middleware, run in order for every joining socket; it answers
    /// through [`Next`], now or later, from any thread.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket, Next) + Send + Sync + 'static) {
        self.ns
            .use_middleware(connection_middleware(self.ctx.clone(), middleware));
    }

    /// Emits to every socket of the namespace.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        self.broadcast().emit(event, args)
    }

    /// A broadcast to the whole namespace.
    pub fn broadcast(&self) -> Broadcast {
        Broadcast {
            op: self.ns.broadcast(),
            ctx: self.ctx.clone(),
        }
    }

    /// A broadcast to the sockets in `room`.
    pub fn to(&self, room: &str) -> Broadcast {
        self.broadcast().to(room)
    }

    /// A broadcast to every socket but those in `room`.
    pub fn except(&self, room: &str) -> Broadcast {
        self.broadcast().except(room)
    }

    /// The sockets of the namespace, handed to `done` (`fetchSockets`).
    pub fn fetch_sockets(&self, done: impl FnOnce(Result<Vec<Socket>, Error>) + Send + 'static) {
        self.broadcast().fetch_sockets(done);
    }

    /// The connected sockets of this server in the namespace, now.
    pub fn sockets(&self) -> Vec<Socket> {
        self.ns
            .sockets()
            .into_iter()
            .map(|s| Socket::new(s, self.ctx.clone()))
            .collect()
    }

    /// The rooms of the namespace on this server.
    pub fn rooms(&self) -> Vec<String> {
        self.ns.rooms().iter().map(|r| r.to_string()).collect()
    }
}

/// The core connection handler calling `handler` with the socket; the
/// socket's events are dispatched only after it returns, in both dispatch
/// modes, so handlers it registers see every event.
pub(crate) fn connection_handler(
    ctx: Arc<Ctx>,
    handler: impl Fn(&Socket) + Send + Sync + 'static,
) -> impl Fn(Arc<sio_core::Socket>) + Send + Sync + 'static {
    let handler = Arc::new(handler);
    move |s| {
        let socket = Socket::new(s, ctx.clone());
        let h = handler.clone();
        ctx.run_and_wait(move || h(&socket));
    }
}

/// The core middleware asking `middleware` through a [`Next`], answered
/// now or later from any thread; unanswered, the connection is refused.
pub(crate) fn connection_middleware(
    ctx: Arc<Ctx>,
    middleware: impl Fn(&Socket, Next) + Send + Sync + 'static,
) -> impl Fn(Arc<sio_core::Socket>) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync + 'static
{
    let middleware = Arc::new(middleware);
    move |s| {
        let (tx, rx) = oneshot::channel();
        let socket = Socket::new(s, ctx.clone());
        let m = middleware.clone();
        ctx.run(move || m(&socket, Next { tx }));
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(ConnectError::new("middleware did not answer")))
        })
    }
}

/// A parent namespace: every namespace name its matcher accepts becomes a
/// child sharing its connection handlers and middlewares. Cheap to clone.
#[derive(Clone)]
pub struct DynamicNamespace {
    pub(super) parent: Arc<ParentNamespace>,
    pub(super) ctx: Arc<Ctx>,
}

impl std::fmt::Debug for DynamicNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicNamespace").finish_non_exhaustive()
    }
}

impl DynamicNamespace {
    /// Calls `handler` with every socket joining any child; its events are
    /// dispatched after the handler returns.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        self.parent
            .on_connection(connection_handler(self.ctx.clone(), handler));
    }

    /// Adds a middleware run for every joining socket of every child,
    /// before the child's own.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket, Next) + Send + Sync + 'static) {
        self.parent
            .use_middleware(connection_middleware(self.ctx.clone(), middleware));
    }

    /// The names of the children created so far.
    pub fn children(&self) -> Vec<String> {
        self.parent
            .children()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }
}
