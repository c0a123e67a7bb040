//! The server socket handle and the one-shot answers handed to JS
//! (acknowledgements, middleware verdicts, dynamic namespace matches).

use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use parking_lot::Mutex;
use sio_core::server::ConnectError;
use sio_core::server::SendOptions;
use socketio_ffi::embed::{payload, Error, Next, Socket, Value};
use tokio::sync::oneshot;

use crate::broadcast::{self, BroadcastAction, BroadcastSpec};
use crate::dispatch::{Answer, Dispatcher, Event, EventKind};
use crate::{decode, js_err, millis};

/// The key the JS layer knows a socket by: the core socket's serial (kept
/// in no table of the socket's: an idle connection pays nothing for it).
/// Wraps after 2^32 sockets, which no socket lives to see.
pub(crate) fn key_of(s: &Socket) -> u32 {
    s.core().serial() as u32
}

/// A socket with what its handle needs.
pub(crate) struct SockRef {
    pub socket: Socket,
    pub key: u32,
    pub disp: Arc<Dispatcher>,
}

impl SockRef {
    pub fn new(socket: Socket, disp: &Arc<Dispatcher>) -> SockRef {
        SockRef {
            key: key_of(&socket),
            socket,
            disp: disp.clone(),
        }
    }
}

/// Forwards a socket's events and reports its disconnection to the JS
/// layer; called once per socket, before its connection reaches JS.
///
/// Every event crosses, listened to or not: as on socket.io, the JS layer
/// hands it to the listeners there are when its turn comes, so a listener
/// added by the handler of one event sees the events the client sent right
/// behind it. One event no listener waits for is dropped there, its
/// acknowledgement never sent.
pub(crate) fn watch_socket(s: &Socket, key: u32, disp: &Arc<Dispatcher>) {
    let d = disp.clone();
    s.on_fallback(move |_, name, args, ack| {
        let mut ev = Event::new(EventKind::Event, key).name(name).args(&args);
        ev.ack = ack;
        d.send(ev);
    });
    let d = disp.clone();
    // The rooms travel with the event: by the time JS sees it, the socket
    // has left them.
    s.on_disconnecting(move |s, reason| {
        let rooms = Value::Array(s.rooms().into_iter().map(Value::from).collect());
        d.send(
            Event::new(EventKind::Disconnecting, key)
                .name(reason)
                .args(&[rooms]),
        );
    });
    let d = disp.clone();
    s.on_disconnect(move |_, reason| d.send(Event::new(EventKind::Disconnect, key).name(reason)));
}

/// A server-side socket.
#[napi]
pub struct SocketHandle {
    s: Socket,
    key: u32,
    disp: Arc<Dispatcher>,
}

impl SocketHandle {
    pub(crate) fn new(r: SockRef) -> SocketHandle {
        SocketHandle {
            s: r.socket,
            key: r.key,
            disp: r.disp,
        }
    }
}

#[napi]
impl SocketHandle {
    /// The key of this socket in the JS layer.
    #[napi(getter, catch_unwind)]
    pub fn key(&self) -> u32 {
        self.key
    }

    /// The socket id.
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> String {
        self.s.id()
    }

    /// The namespace name.
    #[napi(getter, catch_unwind)]
    pub fn nsp(&self) -> String {
        self.s.nsp().to_owned()
    }

    /// True while connected.
    #[napi(getter, catch_unwind)]
    pub fn connected(&self) -> bool {
        self.s.connected()
    }

    /// The id of the Engine.IO session carrying the socket.
    #[napi(getter, catch_unwind)]
    pub fn conn_id(&self) -> String {
        self.s.core().conn_id().to_string()
    }

    /// `polling` or `websocket`.
    #[napi(getter, catch_unwind)]
    pub fn transport(&self) -> String {
        self.s.transport().to_owned()
    }

    /// True when the session was restored by connection state recovery.
    #[napi(getter, catch_unwind)]
    pub fn recovered(&self) -> bool {
        self.s.core().recovered()
    }

    /// The handshake as JSON.
    #[napi(catch_unwind)]
    pub fn handshake(&self) -> String {
        payload::to_plain_json(&self.s.handshake())
    }

    /// `socket.data` as JSON (buffers as byte arrays).
    #[napi(catch_unwind)]
    pub fn get_data(&self) -> String {
        payload::to_plain_json(&self.s.data())
    }

    /// Replaces `socket.data` (JSON).
    #[napi(catch_unwind)]
    pub fn set_data(&self, json: String) -> napi::Result<()> {
        let v = payload::decode_value(&json, &[]).map_err(js_err)?;
        self.s.set_data(v);
        Ok(())
    }

    /// The rooms the socket is in.
    #[napi(catch_unwind)]
    pub fn rooms(&self) -> Vec<String> {
        self.s.rooms()
    }

    /// Emits an event; false when it could not be sent (disconnected, full
    /// buffer). `compress: false` sends it uncompressed.
    #[napi(catch_unwind)]
    pub fn emit(
        &self,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        volatile: bool,
        compress: Option<bool>,
    ) -> napi::Result<bool> {
        let args = decode(&json, &bins)?;
        let r = match compress {
            Some(false) => self.s.emit_with(
                &event,
                args,
                SendOptions {
                    volatile,
                    compress: false,
                },
            ),
            _ if volatile => self.s.emit_volatile(&event, args),
            _ => self.s.emit(&event, args),
        };
        sent(r)
    }

    /// Emits an event asking for an acknowledgement; the answer comes back
    /// as a `Done`/`Failed` event for callback `cb` after at most
    /// `timeout_ms` (`Infinity`: until the socket disconnects); sent as
    /// `volatile` and `compress` say.
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn emit_with_ack(
        &self,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        timeout_ms: f64,
        cb: u32,
        volatile: Option<bool>,
        compress: Option<bool>,
    ) -> napi::Result<()> {
        let args = decode(&json, &bins)?;
        let opts = SendOptions {
            volatile: volatile == Some(true),
            compress: compress != Some(false),
        };
        let s = self.s.core().clone();
        let timeout = millis(timeout_ms);
        let d = self.disp.clone();
        // The answer is queued for JS where the connection reads it, so it
        // reaches JS before the client's events that follow it.
        let rt = socketio_ffi::embed::Runtime::global().map_err(js_err)?;
        rt.enter(|| {
            s.emit_with_ack_then(&event, args, timeout, opts, move |r| {
                d.send(completion(
                    cb,
                    r.map(|a| Event::new(EventKind::Done, cb).args(&a))
                        .map_err(Error::from),
                ))
            })
        });
        Ok(())
    }

    /// Joins rooms.
    #[napi(catch_unwind)]
    pub fn join(&self, rooms: Vec<String>) -> napi::Result<()> {
        for r in &rooms {
            self.s.join(r).map_err(js_err)?;
        }
        Ok(())
    }

    /// Leaves a room.
    #[napi(catch_unwind)]
    pub fn leave(&self, room: String) {
        self.s.leave(&room);
    }

    /// Disconnects; with `close`, the whole connection.
    #[napi(catch_unwind)]
    pub fn disconnect(&self, close: bool) {
        self.s.disconnect(close);
    }

    /// Forwards the socket's errors (a packet its connection sent that the
    /// parser cannot read) to the JS `error` listeners.
    #[napi(catch_unwind)]
    pub fn on_error(&self) {
        let (d, key) = (self.disp.clone(), self.key);
        self.s.on_error(move |_, err| {
            d.send(Event::new(EventKind::SocketError, key).args(&[err]));
        });
    }

    /// Forwards every outgoing event to the JS layer; returns an id for
    /// `offAnyOutgoing`.
    #[napi(catch_unwind)]
    pub fn on_any_outgoing(&self) -> f64 {
        let (d, key) = (self.disp.clone(), self.key);
        self.s.core().on_any_outgoing(move |_, name, args| {
            d.send(
                Event::new(EventKind::AnyOutgoing, key)
                    .name(name)
                    .args(args),
            )
        }) as f64
    }

    /// Stops an outgoing forwarding.
    #[napi(catch_unwind)]
    pub fn off_any_outgoing(&self, id: f64) {
        self.s.core().off_any_outgoing(Some(id as u64));
    }

    /// Emits to the sockets `spec` selects, this one excluded.
    #[napi(catch_unwind)]
    pub fn bcast_emit(
        &self,
        spec: BroadcastSpec,
        event: String,
        json: String,
        bins: Vec<Buffer>,
    ) -> napi::Result<()> {
        broadcast::emit(
            broadcast::apply(self.s.broadcast(), &spec),
            &event,
            &json,
            &bins,
        )
    }

    /// Broadcast with acknowledgements, answered to callback `cb`.
    #[napi(catch_unwind)]
    pub fn bcast_emit_with_ack(
        &self,
        spec: BroadcastSpec,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        cb: u32,
    ) -> napi::Result<()> {
        let b = broadcast::apply(self.s.broadcast(), &spec);
        broadcast::emit_with_ack(b, &self.disp, &event, &json, &bins, cb)
    }

    /// Acts on the sockets `spec` selects: `join`, `leave` (rooms),
    /// `disconnect` (close flag), `fetch` (answered to callback `cb`).
    #[napi(catch_unwind)]
    pub fn bcast_act(
        &self,
        spec: BroadcastSpec,
        act: BroadcastAction,
        rooms: Vec<String>,
        flag: bool,
        cb: u32,
    ) {
        let b = broadcast::apply(self.s.broadcast(), &spec);
        broadcast::act(b, &self.disp, act, &rooms, flag, cb);
    }
}

/// Maps an emit's outcome: failures a JS caller cannot act on become
/// `false`, bad arguments throw.
pub(crate) fn sent(r: Result<(), Error>) -> napi::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e @ Error::InvalidArgument(_)) => Err(js_err(e)),
        Err(_) => Ok(false),
    }
}

/// The event reporting an asynchronous outcome to callback `cb`.
pub(crate) fn completion(cb: u32, r: Result<Event, Error>) -> Event {
    match r {
        Ok(ev) => ev,
        Err(e) => Event::new(EventKind::Failed, cb).name(e.to_string()),
    }
}

/// A middleware's verdict, of a namespace or of a dynamic parent.
pub(crate) enum NextKind {
    Embed(Next),
    Core(oneshot::Sender<Result<(), ConnectError>>),
}

/// Accepts or refuses a connection, once.
#[napi]
pub struct NextHandle {
    next: Mutex<Option<NextKind>>,
}

impl NextHandle {
    pub(crate) fn new(next: NextKind) -> NextHandle {
        NextHandle {
            next: Mutex::new(Some(next)),
        }
    }

    fn take(&self) -> Option<NextKind> {
        self.next.lock().take()
    }
}

#[napi]
impl NextHandle {
    /// Lets the connection through.
    #[napi(catch_unwind)]
    pub fn accept(&self) {
        match self.take() {
            Some(NextKind::Embed(n)) => n.accept(),
            Some(NextKind::Core(tx)) => {
                let _ = tx.send(Ok(()));
            }
            None => {}
        }
    }

    /// Refuses the connection: the client gets `connect_error` with this
    /// message and data (JSON).
    #[napi(catch_unwind)]
    pub fn refuse(&self, message: String, data: Option<String>) {
        let data: Option<Value> = data.and_then(|j| payload::decode_value(&j, &[]).ok());
        match self.take() {
            Some(NextKind::Embed(n)) => n.refuse(&message, data),
            Some(NextKind::Core(tx)) => {
                let _ = tx.send(Err(ConnectError { message, data }));
            }
            None => {}
        }
    }
}

/// The answer of a JS function asked by the core: a dynamic namespace's
/// function about one name, the `cors` origin function, `allowRequest`.
#[napi]
pub struct MatchHandle {
    tx: Mutex<Option<SyncSender<Answer>>>,
}

impl MatchHandle {
    pub(crate) fn new(tx: SyncSender<Answer>) -> MatchHandle {
        MatchHandle {
            tx: Mutex::new(Some(tx)),
        }
    }
}

#[napi]
impl MatchHandle {
    /// Answers, once.
    #[napi(catch_unwind)]
    pub fn answer(&self, accept: bool) {
        self.answer_with(u32::from(accept), None);
    }

    /// Answers with a code (see the event kind that asked), once.
    #[napi(catch_unwind)]
    pub fn answer_code(&self, code: u32) {
        self.answer_with(code, None);
    }

    /// Answers with a code and a message (a refusal's), once.
    #[napi(catch_unwind)]
    pub fn answer_with(&self, code: u32, message: Option<String>) {
        if let Some(tx) = self.tx.lock().take() {
            let _ = tx.send((code, message));
        }
    }
}
