//! The server half: options, server, namespaces, middlewares, sockets,
//! acknowledgements, broadcasts.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::OnceLock;
use std::time::Duration;

use engineio::server::{Cors, CorsOrigin, TransportType};
use sio_core::server::RecoveryConfig;

use super::{
    cstr, cstring, ffi_guard, ffi_guard_or, free_handle, hmut, href, out_ptr, put, put_string,
    read_args, read_value, sio_free_fn, sio_payload, sio_queue, sio_runtime, PayloadHolder,
    UserData,
};
use crate::embed::{
    payload, Ack, Broadcast, BroadcastReplies, Error, Namespace, Next, Server, ServerOptions,
    Socket, Value,
};

mod admin;
mod ext;
pub use admin::*;
pub use ext::*;

/// Transport bit: HTTP long-polling.
pub const SIO_TRANSPORT_POLLING: u32 = 1;
/// Transport bit: WebSocket.
pub const SIO_TRANSPORT_WEBSOCKET: u32 = 2;

/// Options for `sio_server_new`; start from `sio_server_options_new` (the
/// reference server's defaults, path `/socket.io/`).
pub struct sio_server_options {
    o: ServerOptions,
}

/// A Socket.IO server.
pub struct sio_server {
    s: Server,
}

/// A namespace of a server (`/` is the main one).
pub struct sio_namespace {
    ns: Namespace,
    name: CString,
}

/// A client's connection to a namespace. Callbacks receive borrowed
/// sockets, valid until they return; `sio_socket_clone` makes one to keep
/// (freed with `sio_socket_free`).
pub struct sio_socket {
    s: Socket,
    id: OnceLock<CString>,
    nsp: OnceLock<CString>,
}

impl sio_socket {
    fn new(s: Socket) -> sio_socket {
        sio_socket {
            s,
            id: OnceLock::new(),
            nsp: OnceLock::new(),
        }
    }
}

/// A broadcast being built: add operators, then emit (any number of times)
/// or act on the matching sockets; free it when done.
pub struct sio_broadcast {
    b: Broadcast,
}

/// The answer to one acknowledgement request (an event whose sender waits
/// for a reply). Given to an event callback, which owns it: answer with
/// `sio_ack_send` or release with `sio_ack_free`, exactly once, now or
/// later, from any thread.
pub struct sio_ack {
    a: Ack,
}

impl From<Ack> for sio_ack {
    fn from(a: Ack) -> Self {
        sio_ack { a }
    }
}

/// A middleware's verdict on one connection, answered exactly once with
/// `sio_next_accept` or `sio_next_refuse`, now or later, from any thread.
pub struct sio_next {
    n: Next,
}

/// One socket's acknowledgement of a broadcast.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sio_ack_reply {
    /// The socket id.
    pub socket_id: *const c_char,
    /// Its acknowledgement arguments.
    pub args: sio_payload,
}

/// Called with each socket that joins a namespace (after the middlewares).
/// The socket's events are dispatched only after it returns, so handlers it
/// registers see every event.
pub type sio_connection_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, socket: *const sio_socket)>;

/// Called with an event: its name and arguments, and `ack` when the sender
/// asked for an acknowledgement (else NULL). The callback owns `ack`.
pub type sio_event_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        socket: *const sio_socket,
        event: *const c_char,
        args: *const sio_payload,
        ack: *mut sio_ack,
    ),
>;

/// Called with every incoming event, before its own callback.
pub type sio_any_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        socket: *const sio_socket,
        event: *const c_char,
        args: *const sio_payload,
    ),
>;

/// Called when a socket disconnects (or is about to), with the reason:
/// "transport close", "client namespace disconnect", "server namespace
/// disconnect", "ping timeout", "server shutting down"...
pub type sio_disconnect_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, socket: *const sio_socket, reason: *const c_char),
>;

/// A middleware: decides on a joining socket through `next` (owned by the
/// callback; see `sio_next`).
pub type sio_middleware_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, socket: *const sio_socket, next: *mut sio_next),
>;

/// Completion with a payload: `status` is SIO_OK or the error's status,
/// `error` its message (NULL on success), `args` the acknowledgement's
/// arguments (an empty array on error; never NULL).
pub type sio_reply_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: c_int,
        error: *const c_char,
        args: *const sio_payload,
    ),
>;

/// Completion without a result: `status` and `error` (NULL on success).
pub type sio_done_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: c_int, error: *const c_char)>;

/// Completion of a `fetch_sockets`: the sockets are borrowed for the call
/// (clone those you keep).
pub type sio_sockets_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: c_int,
        error: *const c_char,
        sockets: *const *const sio_socket,
        n_sockets: usize,
    ),
>;

/// Completion of a broadcast with acknowledgements: the replies that came
/// in time, and the ids of the sockets that did not answer.
pub type sio_broadcast_ack_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: c_int,
        error: *const c_char,
        replies: *const sio_ack_reply,
        n_replies: usize,
        missing: *const *const c_char,
        n_missing: usize,
    ),
>;

fn required<T>(cb: Option<T>, what: &str) -> Result<T, Error> {
    cb.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

fn millis(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

// ---------------------------------------------------------------------------
// Completions shared by the server and the client

/// Calls a `sio_done_cb` with an outcome.
pub(crate) unsafe fn call_done(
    cb: unsafe extern "C" fn(*mut c_void, c_int, *const c_char),
    ud: &UserData,
    r: Result<(), Error>,
) {
    match r {
        Ok(()) => cb(ud.ptr(), super::SIO_OK, std::ptr::null()),
        Err(e) => {
            let msg = cstring(&e.to_string());
            cb(ud.ptr(), super::status_of(&e), msg.as_ptr());
        }
    }
}

/// Calls a `sio_reply_cb` with an outcome.
pub(crate) unsafe fn call_reply(
    cb: unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const sio_payload),
    ud: &UserData,
    r: Result<Vec<Value>, Error>,
) {
    match r {
        Ok(args) => {
            let p = PayloadHolder::new(&args);
            cb(ud.ptr(), super::SIO_OK, std::ptr::null(), &p.raw());
        }
        Err(e) => {
            let data = match &e {
                Error::Refused { data: Some(d), .. } => vec![d.clone()],
                _ => Vec::new(),
            };
            let p = PayloadHolder::new(&data);
            let msg = cstring(&e.to_string());
            cb(ud.ptr(), super::status_of(&e), msg.as_ptr(), &p.raw());
        }
    }
}

// ---------------------------------------------------------------------------
// Server options

/// Creates server options with the defaults.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_new(out: *mut *mut sio_server_options) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_server_options {
                o: ServerOptions::default(),
            },
        );
        Ok(())
    })
}

/// Frees server options (a server made from them keeps its copy). NULL is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_free(opts: *mut sio_server_options) {
    ffi_guard_or!((), { free_handle(opts) })
}

unsafe fn with_opts(
    opts: *mut sio_server_options,
    f: impl FnOnce(&mut ServerOptions) -> Result<(), Error>,
) -> c_int {
    ffi_guard!({ f(&mut hmut(opts, "opts")?.o) })
}

/// The HTTP path the server answers under (default "/socket.io/").
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_path(
    opts: *mut sio_server_options,
    path: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        o.config.engine.path = cstr(path, "path")?.to_owned();
        Ok(())
    })
}

/// Interval between pings (default 25000 ms; must not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_ping_interval(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        if ms == 0 {
            return Err(Error::invalid("ping interval must not be 0"));
        }
        o.config.engine.ping_interval = millis(ms);
        Ok(())
    })
}

/// Time a client has to answer a ping (default 20000 ms; must not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_ping_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        if ms == 0 {
            return Err(Error::invalid("ping timeout must not be 0"));
        }
        o.config.engine.ping_timeout = millis(ms);
        Ok(())
    })
}

/// Time a new connection has to join a namespace (default 45000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_connect_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.config.connect_timeout = millis(ms);
        Ok(())
    })
}

/// Default wait for acknowledgements of `emit_with_ack` (default 5000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_ack_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.config.ack_timeout = millis(ms);
        Ok(())
    })
}

/// Largest message a client may send, in bytes (`maxHttpBufferSize`,
/// default 1000000; must not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_max_payload(
    opts: *mut sio_server_options,
    bytes: usize,
) -> c_int {
    with_opts(opts, |o| {
        if bytes == 0 {
            return Err(Error::invalid("max payload must not be 0"));
        }
        o.config.engine.max_http_buffer_size = bytes;
        Ok(())
    })
}

/// Most binary attachments one packet may carry (default 10).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_max_attachments(
    opts: *mut sio_server_options,
    n: usize,
) -> c_int {
    with_opts(opts, |o| {
        o.config.max_attachments = n;
        Ok(())
    })
}

/// Most simultaneous connections (0: no limit, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_max_connections(
    opts: *mut sio_server_options,
    n: usize,
) -> c_int {
    with_opts(opts, |o| {
        o.config.engine.max_connections = (n > 0).then_some(n);
        Ok(())
    })
}

/// Transports the server accepts: `SIO_TRANSPORT_POLLING |
/// SIO_TRANSPORT_WEBSOCKET` (the default), or one of them.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_transports(
    opts: *mut sio_server_options,
    mask: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.config.engine.transports = transports(mask)?;
        Ok(())
    })
}

pub(crate) fn transports(mask: u32) -> Result<Vec<TransportType>, Error> {
    if mask & !(SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET) != 0 || mask == 0 {
        return Err(Error::invalid(format!(
            "transport mask {mask:#x}: use SIO_TRANSPORT_POLLING and/or SIO_TRANSPORT_WEBSOCKET"
        )));
    }
    let mut t = Vec::new();
    if mask & SIO_TRANSPORT_POLLING != 0 {
        t.push(TransportType::Polling);
    }
    if mask & SIO_TRANSPORT_WEBSOCKET != 0 {
        t.push(TransportType::Websocket);
    }
    Ok(t)
}

/// Whether polling connections may upgrade to WebSocket (default true).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_allow_upgrades(
    opts: *mut sio_server_options,
    allow: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.config.engine.allow_upgrades = allow;
        Ok(())
    })
}

/// CORS: "*" allows any origin; otherwise a comma-separated list of allowed
/// origins; NULL disables CORS headers (the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_cors_origin(
    opts: *mut sio_server_options,
    origin: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        o.config.engine.cors = match super::opt_cstr(origin, "origin")? {
            None => None,
            Some("*") => Some(Cors::default()),
            Some(list) => Some(Cors {
                origin: CorsOrigin::List(
                    list.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                ),
                ..Cors::default()
            }),
        };
        Ok(())
    })
}

/// Serves the official browser client under the server's path, as
/// socket.io's `serveClient`: `<path>/socket.io.js`, `socket.io.min.js`,
/// `socket.io.msgpack.min.js`, `socket.io.esm.min.js` and their `.map`
/// files, with socket.io's headers (the package version as ETag, 304 on
/// `If-None-Match`). `dir` is the directory of the npm package
/// socket.io-client (`node_modules/socket.io-client`; its `dist/` folder
/// works too), read now: SIO_ERR_IO, with the missing files named, when it
/// lacks them. NULL stops serving them (the default: the library ships no
/// client).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_serve_client(
    opts: *mut sio_server_options,
    dir: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        let dir = super::opt_cstr(dir, "dir")?;
        o.serve_client(dir.map(std::path::Path::new))
    })
}

/// Connection state recovery: a client that reconnects within
/// `max_disconnection_ms` gets its id, rooms and missed events back.
/// Off by default.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_recovery(
    opts: *mut sio_server_options,
    enabled: bool,
    max_disconnection_ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.config.connection_state_recovery = enabled.then(|| {
            RecoveryConfig::default().max_disconnection_duration(millis(max_disconnection_ms))
        });
        Ok(())
    })
}

/// Uses the msgpack parser (for `socket.io-msgpack-parser` clients) instead
/// of the default JSON one.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_msgpack(
    opts: *mut sio_server_options,
    on: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.msgpack(on);
        Ok(())
    })
}

/// Runs the server on `rt` (NULL: the global runtime, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_runtime(
    opts: *mut sio_server_options,
    rt: *const sio_runtime,
) -> c_int {
    with_opts(opts, |o| {
        o.runtime = rt.as_ref().map(|r| r.rt.clone());
        Ok(())
    })
}

/// Runs the server's callbacks inside `sio_queue_poll(queue)` instead of on
/// the runtime's threads (NULL: on the runtime's threads, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_queue(
    opts: *mut sio_server_options,
    queue: *const sio_queue,
) -> c_int {
    with_opts(opts, |o| {
        o.queue = queue.as_ref().map(|q| q.q.clone());
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Server

/// Creates a server (not listening yet) with `opts` (NULL: defaults).
#[no_mangle]
pub unsafe extern "C" fn sio_server_new(
    opts: *const sio_server_options,
    out: *mut *mut sio_server,
) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        let o = opts.as_ref().map(|o| o.o.clone()).unwrap_or_default();
        put(out, sio_server { s: Server::new(o)? });
        Ok(())
    })
}

/// Binds `addr` ("host:port"; port 0 picks a free one) and serves. Returns
/// once bound. One listener per server.
#[no_mangle]
pub unsafe extern "C" fn sio_server_listen(
    server: *const sio_server,
    addr: *const c_char,
) -> c_int {
    ffi_guard!({
        let s = href(server, "server")?;
        s.s.listen(cstr(addr, "addr")?)?;
        Ok(())
    })
}

/// Stores the port the server listens on.
#[no_mangle]
pub unsafe extern "C" fn sio_server_port(server: *const sio_server, port: *mut u16) -> c_int {
    ffi_guard!({
        let s = href(server, "server")?;
        let port = out_ptr(port, "port")?;
        let addr =
            s.s.local_addr()
                .ok_or_else(|| Error::state("the server is not listening"))?;
        *port = addr.port();
        Ok(())
    })
}

/// Gets the namespace `name` ("/" is the main one; created if needed), as a
/// handle to free with `sio_namespace_free`.
#[no_mangle]
pub unsafe extern "C" fn sio_server_of(
    server: *const sio_server,
    name: *const c_char,
    out: *mut *mut sio_namespace,
) -> c_int {
    ffi_guard!({
        let s = href(server, "server")?;
        let name = cstr(name, "name")?;
        let out = out_ptr(out, "out")?;
        put(out, namespace_handle(s.s.of(name)));
        Ok(())
    })
}

/// A connection callback of C as an embed handler.
fn c_connection(
    cb: unsafe extern "C" fn(*mut c_void, *const sio_socket),
    ud: UserData,
) -> impl Fn(&Socket) + Send + Sync + 'static {
    move |s| {
        let h = sio_socket::new(s.clone());
        // SAFETY: the header's conventions: `cb` stays callable with its
        // user_data until that is released.
        unsafe { cb(ud.ptr(), &h) };
    }
}

/// A middleware callback of C as an embed middleware; the callback owns
/// the `sio_next` it gets.
fn c_middleware(
    cb: unsafe extern "C" fn(*mut c_void, *const sio_socket, *mut sio_next),
    ud: UserData,
) -> impl Fn(&Socket, Next) + Send + Sync + 'static {
    move |s, next| {
        let h = sio_socket::new(s.clone());
        let next = Box::into_raw(Box::new(sio_next { n: next }));
        // SAFETY: as for `c_connection`.
        unsafe { cb(ud.ptr(), &h, next) };
    }
}

fn namespace_handle(ns: Namespace) -> sio_namespace {
    let name = cstring(ns.name());
    sio_namespace { ns, name }
}

/// Stops listening and disconnects every client (reason "server shutting
/// down"). `done` (may be NULL) is called once the sessions are gone.
/// The handle stays valid until `sio_server_free`.
#[no_mangle]
pub unsafe extern "C" fn sio_server_close(
    server: *const sio_server,
    done: sio_done_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let completion =
            done.map(|cb| Box::new(move |r: Result<(), Error>| call_done(cb, &ud, r)) as _);
        s.s.close(completion);
        Ok(())
    })
}

/// Closes (as `sio_server_close`) and frees a server. Its callbacks'
/// user data is released once nothing can call them any more. May be called
/// from inside a callback. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_server_free(server: *mut sio_server) {
    ffi_guard_or!((), { free_handle(server) })
}

// ---------------------------------------------------------------------------
// Namespace

/// The namespace's name, e.g. "/" (valid as long as the handle).
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_name(ns: *const sio_namespace) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        ns.as_ref().map_or(std::ptr::null(), |n| n.name.as_ptr())
    })
}

/// Calls `cb` with every socket that joins the namespace.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_on_connection(
    ns: *const sio_namespace,
    cb: sio_connection_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let ns = href(ns, "ns")?;
        let cb = required(cb, "cb")?;
        ns.ns.on_connection(c_connection(cb, ud));
        Ok(())
    })
}

/// Adds a middleware, run in order for every joining socket.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_use(
    ns: *const sio_namespace,
    cb: sio_middleware_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let ns = href(ns, "ns")?;
        let cb = required(cb, "cb")?;
        ns.ns.use_middleware(c_middleware(cb, ud));
        Ok(())
    })
}

/// Emits an event to every socket of the namespace. `json` is a JSON array
/// of arguments (NULL: none) whose placeholders index `bins`.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_emit(
    ns: *const sio_namespace,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let ns = href(ns, "ns")?;
        let event = cstr(event, "event")?;
        ns.ns.emit(event, read_args(json, bins, n_bins)?)
    })
}

/// Starts a broadcast to the whole namespace.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_broadcast(
    ns: *const sio_namespace,
    out: *mut *mut sio_broadcast,
) -> c_int {
    ffi_guard!({
        let ns = href(ns, "ns")?;
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_broadcast {
                b: ns.ns.broadcast(),
            },
        );
        Ok(())
    })
}

/// Starts a broadcast to the sockets in `room`.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_to(
    ns: *const sio_namespace,
    room: *const c_char,
    out: *mut *mut sio_broadcast,
) -> c_int {
    ffi_guard!({
        let ns = href(ns, "ns")?;
        let room = cstr(room, "room")?;
        let out = out_ptr(out, "out")?;
        put(out, sio_broadcast { b: ns.ns.to(room) });
        Ok(())
    })
}

/// Starts a broadcast to every socket but those in `room`.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_except(
    ns: *const sio_namespace,
    room: *const c_char,
    out: *mut *mut sio_broadcast,
) -> c_int {
    ffi_guard!({
        let ns = href(ns, "ns")?;
        let room = cstr(room, "room")?;
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_broadcast {
                b: ns.ns.except(room),
            },
        );
        Ok(())
    })
}

/// Hands the namespace's sockets to `cb` (`fetchSockets`).
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_fetch_sockets(
    ns: *const sio_namespace,
    cb: sio_sockets_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let ns = href(ns, "ns")?;
        let cb = required(cb, "cb")?;
        ns.ns.fetch_sockets(move |r| call_sockets(cb, &ud, r));
        Ok(())
    })
}

/// Stores how many sockets of this server are in the namespace now.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_socket_count(
    ns: *const sio_namespace,
    n: *mut usize,
) -> c_int {
    ffi_guard!({
        let ns = href(ns, "ns")?;
        let n = out_ptr(n, "n")?;
        *n = ns.ns.sockets().len();
        Ok(())
    })
}

/// Frees a namespace handle (the namespace itself lives on with the
/// server). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_namespace_free(ns: *mut sio_namespace) {
    ffi_guard_or!((), { free_handle(ns) })
}

unsafe fn call_sockets(
    cb: unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const *const sio_socket, usize),
    ud: &UserData,
    r: Result<Vec<Socket>, Error>,
) {
    match r {
        Ok(sockets) => {
            let handles: Vec<sio_socket> = sockets.into_iter().map(sio_socket::new).collect();
            let ptrs: Vec<*const sio_socket> = handles.iter().map(|h| h as *const _).collect();
            cb(
                ud.ptr(),
                super::SIO_OK,
                std::ptr::null(),
                ptrs.as_ptr(),
                ptrs.len(),
            );
        }
        Err(e) => {
            let msg = cstring(&e.to_string());
            cb(
                ud.ptr(),
                super::status_of(&e),
                msg.as_ptr(),
                std::ptr::null(),
                0,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Middleware verdicts

/// Lets the connection through; consumes `next`.
#[no_mangle]
pub unsafe extern "C" fn sio_next_accept(next: *mut sio_next) -> c_int {
    ffi_guard!({
        if next.is_null() {
            return Err(Error::invalid("next is NULL"));
        }
        Box::from_raw(next).n.accept();
        Ok(())
    })
}

/// Refuses the connection: the client gets `connect_error` with `message`
/// and, unless `data_json` is NULL, `data` (one JSON value). Consumes `next`
/// even when an argument is bad (the connection is then refused with what
/// could be read).
#[no_mangle]
pub unsafe extern "C" fn sio_next_refuse(
    next: *mut sio_next,
    message: *const c_char,
    data_json: *const c_char,
) -> c_int {
    ffi_guard!({
        if next.is_null() {
            return Err(Error::invalid("next is NULL"));
        }
        let next = Box::from_raw(next).n;
        let message = cstr(message, "message");
        let data = read_value(data_json, "data_json");
        match (message, data) {
            (Ok(m), Ok(d)) => {
                next.refuse(m, d);
                Ok(())
            }
            (Ok(m), Err(e)) => {
                next.refuse(m, None);
                Err(e)
            }
            (Err(e), _) => {
                next.refuse("refused", None);
                Err(e)
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Socket

/// The socket id (valid as long as the handle).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_id(socket: *const sio_socket) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        socket.as_ref().map_or(std::ptr::null(), |s| {
            s.id.get_or_init(|| cstring(&s.s.id())).as_ptr()
        })
    })
}

/// The socket's namespace name (valid as long as the handle).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_nsp(socket: *const sio_socket) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        socket.as_ref().map_or(std::ptr::null(), |s| {
            s.nsp.get_or_init(|| cstring(s.s.nsp())).as_ptr()
        })
    })
}

/// True while the socket is connected (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_connected(socket: *const sio_socket) -> bool {
    ffi_guard_or!(false, { socket.as_ref().is_some_and(|s| s.s.connected()) })
}

/// Stores the handshake as a JSON object string (free with
/// `sio_string_free`): `auth`, `query`, `headers`, `address`, `url`,
/// `issued`, `secure`, `xdomain`. Buffers in `auth` appear as arrays of
/// byte values.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_handshake(
    socket: *const sio_socket,
    json_out: *mut *mut c_char,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let out = out_ptr(json_out, "json_out")?;
        put_string(out, &payload::to_plain_json(&s.s.handshake()));
        Ok(())
    })
}

/// Stores the per-socket data (`socket.data`, `null` until set) as a JSON
/// string (free with `sio_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_get_data(
    socket: *const sio_socket,
    json_out: *mut *mut c_char,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let out = out_ptr(json_out, "json_out")?;
        put_string(out, &payload::to_plain_json(&s.s.data()));
        Ok(())
    })
}

/// Replaces the per-socket data with a JSON value (NULL: `null`).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_set_data(
    socket: *const sio_socket,
    json: *const c_char,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        s.s.set_data(read_value(json, "json")?.unwrap_or(Value::Null));
        Ok(())
    })
}

/// Handles an event (replacing the previous callback of that name).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on(
    socket: *const sio_socket,
    event: *const c_char,
    cb: sio_event_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let event = cstr(event, "event")?;
        let cb = required(cb, "cb")?;
        s.s.on(event, move |s, name, args, ack| {
            let h = sio_socket::new(s.clone());
            let name = cstring(name);
            let p = PayloadHolder::new(&args);
            let ack = ack.map_or(std::ptr::null_mut(), |a| {
                Box::into_raw(Box::new(sio_ack { a }))
            });
            cb(ud.ptr(), &h, name.as_ptr(), &p.raw(), ack);
        });
        Ok(())
    })
}

/// Removes the callback of an event.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_off(socket: *const sio_socket, event: *const c_char) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        s.s.off(cstr(event, "event")?);
        Ok(())
    })
}

/// Listens to every incoming event; stores an id for `sio_socket_off_any`
/// in `*id` (may be NULL).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on_any(
    socket: *const sio_socket,
    cb: sio_any_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
    id: *mut u64,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let cb = required(cb, "cb")?;
        let n = s.s.on_any(move |s, name, args| {
            let h = sio_socket::new(s.clone());
            let name = cstring(name);
            let p = PayloadHolder::new(&args);
            cb(ud.ptr(), &h, name.as_ptr(), &p.raw());
        });
        if !id.is_null() {
            *id = n;
        }
        Ok(())
    })
}

/// Removes the catch-all listener `id`.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_off_any(socket: *const sio_socket, id: u64) -> c_int {
    ffi_guard!({
        href(socket, "socket")?.s.off_any(Some(id));
        Ok(())
    })
}

/// Called once the socket has disconnected. Every callback registered on
/// the socket is released after the disconnect callbacks ran.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on_disconnect(
    socket: *const sio_socket,
    cb: sio_disconnect_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let cb = required(cb, "cb")?;
        s.s.on_disconnect(move |s, reason| {
            let h = sio_socket::new(s.clone());
            let reason = cstring(reason);
            cb(ud.ptr(), &h, reason.as_ptr());
        });
        Ok(())
    })
}

/// Called when the socket is about to disconnect. With callbacks on the
/// runtime's threads the socket is still in its rooms then; with a queue,
/// the callback runs later.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on_disconnecting(
    socket: *const sio_socket,
    cb: sio_disconnect_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let cb = required(cb, "cb")?;
        s.s.on_disconnecting(move |s, reason| {
            let h = sio_socket::new(s.clone());
            let reason = cstring(reason);
            cb(ud.ptr(), &h, reason.as_ptr());
        });
        Ok(())
    })
}

/// Emits an event to this socket. `json` is a JSON array of arguments
/// (NULL: none) whose placeholders index `bins`.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_emit(
    socket: *const sio_socket,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let event = cstr(event, "event")?;
        s.s.emit(event, read_args(json, bins, n_bins)?)
    })
}

/// Emits an event, or silently drops it when the transport cannot write it
/// now (busy writing, a long-poll without a pending GET, a full buffer), as
/// socket.io's `volatile`.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_emit_volatile(
    socket: *const sio_socket,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let event = cstr(event, "event")?;
        s.s.emit_volatile(event, read_args(json, bins, n_bins)?)
    })
}

/// Emits an event asking for an acknowledgement; `cb` gets the client's
/// answer, or SIO_ERR_TIMEOUT after `timeout_ms` (0: the server's ack
/// timeout), or SIO_ERR_DISCONNECTED.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sio_socket_emit_with_ack(
    socket: *const sio_socket,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
    timeout_ms: u32,
    cb: sio_reply_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let event = cstr(event, "event")?;
        let args = read_args(json, bins, n_bins)?;
        let cb = required(cb, "cb")?;
        let timeout = (timeout_ms > 0).then(|| millis(timeout_ms));
        s.s.emit_with_ack(event, args, timeout, move |r| call_reply(cb, &ud, r));
        Ok(())
    })
}

/// Joins a room (SIO_ERR_LIMIT past the server's rooms-per-socket limit).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_join(socket: *const sio_socket, room: *const c_char) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        s.s.join(cstr(room, "room")?)
    })
}

/// Leaves a room.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_leave(socket: *const sio_socket, room: *const c_char) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        s.s.leave(cstr(room, "room")?);
        Ok(())
    })
}

/// Stores the socket's rooms (its own id room included) as a JSON array of
/// strings (free with `sio_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_rooms(
    socket: *const sio_socket,
    json_out: *mut *mut c_char,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let out = out_ptr(json_out, "json_out")?;
        let rooms: Vec<Value> = s.s.rooms().into_iter().map(Value::from).collect();
        put_string(out, &payload::to_plain_json(&Value::Array(rooms)));
        Ok(())
    })
}

/// Disconnects the socket from its namespace; with `close`, closes the
/// whole connection (every namespace).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_disconnect(socket: *const sio_socket, close: bool) -> c_int {
    ffi_guard!({
        href(socket, "socket")?.s.disconnect(close);
        Ok(())
    })
}

/// Starts a broadcast to every other socket of the namespace.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_broadcast(
    socket: *const sio_socket,
    out: *mut *mut sio_broadcast,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let out = out_ptr(out, "out")?;
        put(out, sio_broadcast { b: s.s.broadcast() });
        Ok(())
    })
}

/// Starts a broadcast to the sockets in `room`, this one excluded.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_to(
    socket: *const sio_socket,
    room: *const c_char,
    out: *mut *mut sio_broadcast,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let room = cstr(room, "room")?;
        let out = out_ptr(out, "out")?;
        put(out, sio_broadcast { b: s.s.to(room) });
        Ok(())
    })
}

/// Starts a broadcast to every other socket but those in `room`.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_except(
    socket: *const sio_socket,
    room: *const c_char,
    out: *mut *mut sio_broadcast,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let room = cstr(room, "room")?;
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_broadcast {
                b: s.s.except(room),
            },
        );
        Ok(())
    })
}

/// Gets the socket's namespace (free with `sio_namespace_free`).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_namespace(
    socket: *const sio_socket,
    out: *mut *mut sio_namespace,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let out = out_ptr(out, "out")?;
        put(out, namespace_handle(s.s.namespace()));
        Ok(())
    })
}

/// Makes a handle to keep (e.g. a socket given to a callback), to free with
/// `sio_socket_free`. It does not keep the client connected.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_clone(
    socket: *const sio_socket,
    out: *mut *mut sio_socket,
) -> c_int {
    ffi_guard!({
        let s = href(socket, "socket")?;
        let out = out_ptr(out, "out")?;
        put(out, sio_socket::new(s.s.clone()));
        Ok(())
    })
}

/// Frees a socket handle made by `sio_socket_clone` (never one a callback
/// was given). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_free(socket: *mut sio_socket) {
    ffi_guard_or!((), { free_handle(socket) })
}

// ---------------------------------------------------------------------------
// Acknowledgements

/// Answers an acknowledgement request with a JSON array of arguments (NULL:
/// none) and its buffers. Consumes `ack`, even on error.
#[no_mangle]
pub unsafe extern "C" fn sio_ack_send(
    ack: *mut sio_ack,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        if ack.is_null() {
            return Err(Error::invalid("ack is NULL"));
        }
        let ack = Box::from_raw(ack);
        ack.a.send(read_args(json, bins, n_bins)?)
    })
}

/// Releases an acknowledgement request without answering it. NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_ack_free(ack: *mut sio_ack) {
    ffi_guard_or!((), { free_handle(ack) })
}

// ---------------------------------------------------------------------------
// Broadcasts

unsafe fn with_broadcast(
    b: *mut sio_broadcast,
    f: impl FnOnce(Broadcast) -> Result<Broadcast, Error>,
) -> c_int {
    ffi_guard!({
        let b = hmut(b, "broadcast")?;
        b.b = f(b.b.clone())?;
        Ok(())
    })
}

/// Adds a target room.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_to(b: *mut sio_broadcast, room: *const c_char) -> c_int {
    with_broadcast(b, |x| Ok(x.to(cstr(room, "room")?)))
}

/// Excludes a room.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_except(b: *mut sio_broadcast, room: *const c_char) -> c_int {
    with_broadcast(b, |x| Ok(x.except(cstr(room, "room")?)))
}

/// Only this server's sockets (matters with a cluster adapter).
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_local(b: *mut sio_broadcast) -> c_int {
    with_broadcast(b, |x| Ok(x.local()))
}

/// Drops the message for sockets whose transport cannot write it now
/// (busy writing, a long-poll without a pending GET, a full buffer).
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_volatile(b: *mut sio_broadcast) -> c_int {
    with_broadcast(b, |x| Ok(x.volatile()))
}

/// Compression hint.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_compress(b: *mut sio_broadcast, compress: bool) -> c_int {
    with_broadcast(b, |x| Ok(x.compress(compress)))
}

/// How long `sio_broadcast_emit_with_ack` waits (default: the server's ack
/// timeout).
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_timeout(b: *mut sio_broadcast, ms: u32) -> c_int {
    with_broadcast(b, |x| Ok(x.timeout(millis(ms))))
}

/// Emits to every matching socket (encoded once).
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_emit(
    b: *const sio_broadcast,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let b = href(b, "broadcast")?;
        let event = cstr(event, "event")?;
        b.b.emit(event, read_args(json, bins, n_bins)?)
    })
}

/// Emits to every matching socket and collects their acknowledgements until
/// the timeout; `cb` gets the replies and the ids of the silent sockets.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sio_broadcast_emit_with_ack(
    b: *const sio_broadcast,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
    cb: sio_broadcast_ack_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let b = href(b, "broadcast")?;
        let event = cstr(event, "event")?;
        let args = read_args(json, bins, n_bins)?;
        let cb = required(cb, "cb")?;
        b.b.emit_with_ack(event, args, move |r| call_broadcast_acks(cb, &ud, r));
        Ok(())
    })
}

type BroadcastAckFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const c_char,
    *const sio_ack_reply,
    usize,
    *const *const c_char,
    usize,
);

unsafe fn call_broadcast_acks(
    cb: BroadcastAckFn,
    ud: &UserData,
    r: Result<BroadcastReplies, Error>,
) {
    match r {
        Ok(r) => {
            let ids: Vec<CString> = r.replies.iter().map(|(id, _)| cstring(id)).collect();
            let holders: Vec<PayloadHolder> = r
                .replies
                .iter()
                .map(|(_, a)| PayloadHolder::new(a))
                .collect();
            let replies: Vec<sio_ack_reply> = ids
                .iter()
                .zip(&holders)
                .map(|(id, p)| sio_ack_reply {
                    socket_id: id.as_ptr(),
                    args: p.raw(),
                })
                .collect();
            let missing: Vec<CString> = r.missing.iter().map(|m| cstring(m)).collect();
            let missing_ptrs: Vec<*const c_char> = missing.iter().map(|m| m.as_ptr()).collect();
            cb(
                ud.ptr(),
                super::SIO_OK,
                std::ptr::null(),
                replies.as_ptr(),
                replies.len(),
                missing_ptrs.as_ptr(),
                missing_ptrs.len(),
            );
        }
        Err(e) => {
            let msg = cstring(&e.to_string());
            cb(
                ud.ptr(),
                super::status_of(&e),
                msg.as_ptr(),
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
            );
        }
    }
}

/// Hands the matching sockets to `cb` (`fetchSockets`).
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_fetch_sockets(
    b: *const sio_broadcast,
    cb: sio_sockets_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let b = href(b, "broadcast")?;
        let cb = required(cb, "cb")?;
        b.b.fetch_sockets(move |r| call_sockets(cb, &ud, r));
        Ok(())
    })
}

/// Makes the matching sockets join a room.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_join(b: *const sio_broadcast, room: *const c_char) -> c_int {
    ffi_guard!({
        href(b, "broadcast")?.b.join(cstr(room, "room")?);
        Ok(())
    })
}

/// Makes the matching sockets leave a room.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_leave(
    b: *const sio_broadcast,
    room: *const c_char,
) -> c_int {
    ffi_guard!({
        href(b, "broadcast")?.b.leave(cstr(room, "room")?);
        Ok(())
    })
}

/// Disconnects the matching sockets; with `close`, their connections.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_disconnect(b: *const sio_broadcast, close: bool) -> c_int {
    ffi_guard!({
        href(b, "broadcast")?.b.disconnect(close);
        Ok(())
    })
}

/// Frees a broadcast. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_free(b: *mut sio_broadcast) {
    ffi_guard_or!((), { free_handle(b) })
}
