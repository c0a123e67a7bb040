//! `sio_socket`: one client's connection to a namespace — its identity,
//! handlers, middlewares, emits, rooms and broadcasts from it.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::OnceLock;

use super::{
    call_reply, cstr, cstring, ffi_guard, ffi_guard_or, free_handle, href, millis,
    namespace_handle, out_ptr, put, put_string, read_args, read_value, required, sio_ack,
    sio_broadcast, sio_free_fn, sio_namespace, sio_payload, sio_reply_cb, PayloadHolder, UserData,
};
use crate::embed::{payload, Error, Socket, Value};

/// A client's connection to a namespace. Callbacks receive borrowed
/// sockets, valid until they return; `sio_socket_clone` makes one to keep
/// (freed with `sio_socket_free`).
pub struct sio_socket {
    pub(crate) s: Socket,
    pub(crate) id: OnceLock<CString>,
    pub(crate) nsp: OnceLock<CString>,
}

impl sio_socket {
    pub(crate) fn new(s: Socket) -> sio_socket {
        sio_socket {
            s,
            id: OnceLock::new(),
            nsp: OnceLock::new(),
        }
    }
}

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

pub(crate) unsafe fn call_sockets(
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

/// The transport carrying the socket's connection now: "polling" or
/// "websocket" (after an upgrade); NULL for NULL. A static string.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_transport(socket: *const sio_socket) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        socket
            .as_ref()
            .map_or(std::ptr::null(), |s| match s.s.transport() {
                "websocket" => c"websocket".as_ptr(),
                _ => c"polling".as_ptr(),
            })
    })
}

/// True when the socket came back through connection state recovery (its
/// id, rooms and data restored, missed packets replayed); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_recovered(socket: *const sio_socket) -> bool {
    ffi_guard_or!(false, { socket.as_ref().is_some_and(|s| s.s.recovered()) })
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
        s.s.on(event, event_handler(cb, ud));
        Ok(())
    })
}

/// Handles the events that have no callback of their own, with their
/// acknowledgement (python-socketio's `'*'` handler; `sio_socket_on_any`
/// only listens). Replaces the previous one.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on_fallback(
    socket: *const sio_socket,
    cb: sio_event_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let cb = required(cb, "cb")?;
        s.s.on_fallback(event_handler(cb, ud));
        Ok(())
    })
}

type EventFn = unsafe extern "C" fn(
    *mut c_void,
    *const sio_socket,
    *const c_char,
    *const sio_payload,
    *mut sio_ack,
);

/// A core event handler calling `cb`: the socket and payload borrowed for
/// the call, the acknowledgement (if asked for) the callback's to own.
fn event_handler(
    cb: EventFn,
    ud: UserData,
) -> impl Fn(&Socket, &str, Vec<Value>, Option<crate::embed::Ack>) + Send + Sync + 'static {
    move |s, name, args, ack| {
        let h = sio_socket::new(s.clone());
        let name = cstring(name);
        let p = PayloadHolder::new(&args);
        let ack = ack.map_or(std::ptr::null_mut(), |a| {
            Box::into_raw(Box::new(sio_ack { a }))
        });
        unsafe { cb(ud.ptr(), &h, name.as_ptr(), &p.raw(), ack) };
    }
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

/// The catch-all listener of `sio_socket_on_any` and
/// `sio_socket_on_any_outgoing`: `cb` with a borrowed socket, the event name
/// and its arguments.
fn any_listener(
    cb: unsafe extern "C" fn(*mut c_void, *const sio_socket, *const c_char, *const sio_payload),
    ud: UserData,
) -> impl Fn(&Socket, &str, Vec<Value>) + Send + Sync + 'static {
    move |s, name, args| {
        let h = sio_socket::new(s.clone());
        let name = cstring(name);
        let p = PayloadHolder::new(&args);
        // SAFETY: the caller of the registering function promised `cb` and
        // `user_data` stay valid until the listener is removed.
        unsafe { cb(ud.ptr(), &h, name.as_ptr(), &p.raw()) };
    }
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
        let n = s.s.on_any(any_listener(cb, ud));
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
        s.s.on_disconnect(reason_handler(cb, ud));
        Ok(())
    })
}

type ReasonFn = unsafe extern "C" fn(*mut c_void, *const sio_socket, *const c_char);

/// A core disconnect handler calling `cb` with the socket (borrowed for the
/// call) and the reason.
fn reason_handler(cb: ReasonFn, ud: UserData) -> impl Fn(&Socket, &str) + Send + Sync + 'static {
    move |s, reason| {
        let h = sio_socket::new(s.clone());
        let reason = cstring(reason);
        unsafe { cb(ud.ptr(), &h, reason.as_ptr()) };
    }
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
        s.s.on_disconnecting(reason_handler(cb, ud));
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

/// A per-event middleware (`socket.use`): returns NULL to let the event
/// through, or an error message to stop it (the message goes to the
/// socket's `sio_socket_on_error` callbacks; it is copied at once, so a
/// string literal will do). With an event queue, the runtime thread waits
/// for the queue's poller to run it.
pub type sio_event_middleware_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        socket: *const sio_socket,
        event: *const c_char,
        args: *const sio_payload,
    ) -> *const c_char,
>;

/// Called with the error of a middleware that stopped an event: its
/// message (or the error's JSON when it is not a string).
pub type sio_socket_error_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, socket: *const sio_socket, message: *const c_char),
>;

/// Adds a per-event middleware (`socket.use`), run in order before the
/// event's callback.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_use(
    socket: *const sio_socket,
    cb: sio_event_middleware_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let cb = required(cb, "cb")?;
        s.s.use_middleware(move |s, event, args| {
            let h = sio_socket::new(s.clone());
            let name = cstring(event);
            let p = PayloadHolder::new(args);
            let verdict = cb(ud.ptr(), &h, name.as_ptr(), &p.raw());
            if verdict.is_null() {
                Ok(())
            } else {
                let message = std::ffi::CStr::from_ptr(verdict).to_string_lossy();
                Err(Value::from(message.into_owned()))
            }
        });
        Ok(())
    })
}

/// Called with the error of each event a `sio_socket_use` middleware
/// stopped.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on_error(
    socket: *const sio_socket,
    cb: sio_socket_error_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(socket, "socket")?;
        let cb = required(cb, "cb")?;
        s.s.on_error(move |s, err| {
            let h = sio_socket::new(s.clone());
            let text = match &err {
                Value::String(m) => m.to_string(),
                other => crate::embed::payload::to_plain_json(other),
            };
            let text = cstring(&text);
            cb(ud.ptr(), &h, text.as_ptr());
        });
        Ok(())
    })
}

/// Listens to every event the socket emits (`onAnyOutgoing`); stores an id
/// for `sio_socket_off_any_outgoing` in `*id` (may be NULL).
#[no_mangle]
pub unsafe extern "C" fn sio_socket_on_any_outgoing(
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
        let n = s.s.on_any_outgoing(any_listener(cb, ud));
        if !id.is_null() {
            *id = n;
        }
        Ok(())
    })
}

/// Removes the outgoing listener `id`.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_off_any_outgoing(socket: *const sio_socket, id: u64) -> c_int {
    ffi_guard!({
        href(socket, "socket")?.s.off_any_outgoing(Some(id));
        Ok(())
    })
}
