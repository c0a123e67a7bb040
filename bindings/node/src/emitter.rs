//! The Redis emitter under `require('socketio-rs/emitter')`: publishes to
//! a cluster of servers on the classic Redis adapter as
//! `@socket.io/redis-emitter` does. Each operation runs on a libuv worker
//! (the embedding layer's calls block until Redis took the message) and
//! resolves a promise; the JS layer chains them so they reach Redis in
//! call order.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;
use parking_lot::Mutex;
use socketio_ffi::embed::{Emitter, Runtime, Value};

use crate::{decode, js_err};

/// What an operation does.
#[napi(string_enum)]
pub enum EmitterAction {
    /// `emit(event, ...args)`.
    Emit,
    /// `socketsJoin(rooms)`.
    SocketsJoin,
    /// `socketsLeave(rooms)`.
    SocketsLeave,
    /// `disconnectSockets(close)`.
    DisconnectSockets,
    /// `serverSideEmit(event, ...args)`.
    ServerSideEmit,
}

/// One operation and its targets, as the JS layer collected them.
#[napi(object)]
pub struct EmitterOp {
    /// What to do.
    pub action: EmitterAction,
    /// The namespace.
    pub nsp: String,
    /// Target rooms (none: every socket of the namespace).
    pub rooms: Vec<String>,
    /// Excluded rooms.
    pub except: Vec<String>,
    /// Whether `volatile` was set.
    pub volatile: bool,
    /// The compression flag, when set.
    pub compress: Option<bool>,
    /// Whether `compress` was set before `volatile` (the wire keeps the
    /// order the flags were set in).
    pub compress_first: bool,
    /// The rooms to join or leave.
    pub target_rooms: Vec<String>,
    /// `disconnectSockets`' close flag.
    pub close: bool,
    /// The event of `emit` and `serverSideEmit`.
    pub event: Option<String>,
}

/// A Redis emitter; connects on its first operation, and again on the
/// next one after a failure to connect.
#[napi]
pub struct NativeEmitter {
    url: String,
    key: Option<String>,
    conn: Arc<Mutex<Option<Emitter>>>,
}

#[napi]
impl NativeEmitter {
    /// An emitter of the Redis at `url` with the servers' adapter key
    /// `key` (default `socket.io`).
    #[napi(constructor)]
    pub fn new(url: String, key: Option<String>) -> NativeEmitter {
        NativeEmitter {
            url,
            key,
            conn: Arc::new(Mutex::new(None)),
        }
    }

    /// Runs `op` (with arguments `json` and `bins` for the emits) off the
    /// JS thread; the promise settles once Redis took the message.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn run(
        &self,
        op: EmitterOp,
        json: String,
        bins: Vec<Buffer>,
    ) -> napi::Result<AsyncTask<OpTask>> {
        let args = decode(&json, &bins)?;
        Ok(AsyncTask::new(OpTask {
            url: self.url.clone(),
            key: self.key.clone(),
            conn: self.conn.clone(),
            op,
            args: Some(args),
        }))
    }
}

/// An operation on a libuv worker.
pub struct OpTask {
    url: String,
    key: Option<String>,
    conn: Arc<Mutex<Option<Emitter>>>,
    op: EmitterOp,
    args: Option<Vec<Value>>,
}

impl OpTask {
    fn emitter(&self) -> napi::Result<Emitter> {
        let mut conn = self.conn.lock();
        if let Some(e) = conn.as_ref() {
            return Ok(e.clone());
        }
        let rt = Runtime::global().map_err(js_err)?;
        let e = Emitter::connect(&rt, &self.url, self.key.as_deref()).map_err(js_err)?;
        *conn = Some(e.clone());
        Ok(e)
    }

    fn target(&self, root: &Emitter) -> Emitter {
        let op = &self.op;
        let mut e = root.of(&op.nsp);
        for r in &op.rooms {
            e = e.to(r);
        }
        for r in &op.except {
            e = e.except(r);
        }
        let compress = |e: Emitter| match op.compress {
            Some(c) => e.compress(c),
            None => e,
        };
        let volatile = |e: Emitter| if op.volatile { e.volatile() } else { e };
        if op.compress_first {
            volatile(compress(e))
        } else {
            compress(volatile(e))
        }
    }
}

impl Task for OpTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        let root = self.emitter()?;
        let e = self.target(&root);
        let event = self.op.event.clone().unwrap_or_default();
        let args = self.args.take().unwrap_or_default();
        let rooms: Vec<&str> = self.op.target_rooms.iter().map(String::as_str).collect();
        let r = match self.op.action {
            EmitterAction::Emit => e.emit(&event, args),
            EmitterAction::ServerSideEmit => e.server_side_emit(&event, args),
            EmitterAction::SocketsJoin => e.sockets_join(&rooms),
            EmitterAction::SocketsLeave => e.sockets_leave(&rooms),
            EmitterAction::DisconnectSockets => e.disconnect_sockets(self.op.close),
        };
        r.map_err(js_err)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}
