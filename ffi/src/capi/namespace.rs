//! `sio_namespace` and `sio_parent_namespace`: connection callbacks,
//! middlewares (answered through `sio_next`), emits and broadcasts to a
//! namespace.

use std::ffi::{c_char, c_int, c_void, CString};

use super::{
    call_sockets, cstr, cstring, ffi_guard, ffi_guard_or, free_handle, href, out_ptr, put,
    read_args, read_value, required, sio_broadcast, sio_free_fn, sio_socket, sio_sockets_cb,
    UserData,
};
use crate::embed::{DynamicNamespace, Error, Namespace, Next, Socket};

/// A namespace of a server (`/` is the main one).
pub struct sio_namespace {
    pub(crate) ns: Namespace,
    pub(crate) name: CString,
}

/// A middleware's verdict on one connection, answered exactly once with
/// `sio_next_accept` or `sio_next_refuse`, now or later, from any thread.
pub struct sio_next {
    pub(crate) n: Next,
}

/// Called with each socket that joins a namespace (after the middlewares).
/// The socket's events are dispatched only after it returns, so handlers it
/// registers see every event.
pub type sio_connection_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, socket: *const sio_socket)>;

/// A middleware: decides on a joining socket through `next` (owned by the
/// callback; see `sio_next`).
pub type sio_middleware_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, socket: *const sio_socket, next: *mut sio_next),
>;

/// A connection callback of C as an embed handler.
pub(crate) fn c_connection(
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
pub(crate) fn c_middleware(
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

pub(crate) fn namespace_handle(ns: Namespace) -> sio_namespace {
    let name = cstring(ns.name());
    sio_namespace { ns, name }
}

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

/// A parent namespace: every namespace name it matches becomes a child
/// sharing its connection callbacks and middlewares.
pub struct sio_parent_namespace {
    pub(crate) p: DynamicNamespace,
}

/// Decides whether a namespace name belongs to a parent namespace; runs on
/// a runtime thread (also with an event queue), so it must be quick and
/// thread-safe.
pub type sio_namespace_matcher_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, name: *const c_char) -> bool>;

/// [`sio_namespace_matcher_cb`] with the CONNECT's `auth` too, as JSON
/// (`{}` when the client sent none); same rules.
pub type sio_namespace_auth_matcher_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        name: *const c_char,
        auth_json: *const c_char,
    ) -> bool,
>;

/// Calls `cb` with every socket joining any child namespace.
#[no_mangle]
pub unsafe extern "C" fn sio_parent_namespace_on_connection(
    ns: *const sio_parent_namespace,
    cb: sio_connection_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let ns = href(ns, "ns")?;
        let cb = required(cb, "cb")?;
        ns.p.on_connection(c_connection(cb, ud));
        Ok(())
    })
}

/// Adds a middleware run for every socket joining any child, before the
/// child's own.
#[no_mangle]
pub unsafe extern "C" fn sio_parent_namespace_use(
    ns: *const sio_parent_namespace,
    cb: sio_middleware_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let ns = href(ns, "ns")?;
        let cb = required(cb, "cb")?;
        ns.p.use_middleware(c_middleware(cb, ud));
        Ok(())
    })
}

/// How many child namespaces the parent has created so far.
#[no_mangle]
pub unsafe extern "C" fn sio_parent_namespace_child_count(
    ns: *const sio_parent_namespace,
    count: *mut usize,
) -> c_int {
    ffi_guard!({
        let ns = href(ns, "ns")?;
        let count = out_ptr(count, "count")?;
        *count = ns.p.children().len();
        Ok(())
    })
}

/// Frees the handle (the parent namespace lives on). NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sio_parent_namespace_free(ns: *mut sio_parent_namespace) {
    free_handle(ns);
}
