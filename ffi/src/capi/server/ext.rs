//! The server's cluster-facing and less common exports: the Redis adapter
//! option, dynamic namespaces, per-event middlewares, outgoing listeners,
//! `serverSideEmit`, `allRooms` and the server count.

use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use super::{
    c_connection, c_middleware, call_reply, millis, required, sio_any_cb, sio_connection_cb,
    sio_middleware_cb, sio_reply_cb, sio_server, sio_server_options, sio_socket, with_opts,
};
use crate::capi::{
    cstr, cstring, ffi_guard, free_handle, href, opt_cstr, out_ptr, put, read_args, read_value,
    sio_buf, sio_free_fn, sio_payload, PayloadHolder, UserData,
};
use crate::embed::{DynamicNamespace, Error, RedisFlavour, RedisOptions, ServerSideReply, Value};

/// A parent namespace: every namespace name it matches becomes a child
/// sharing its connection callbacks and middlewares.
pub struct sio_parent_namespace {
    p: DynamicNamespace,
}

/// The answer to another server's `serverSideEmitWithAck`: given to a
/// `sio_server_side_cb`, which owns it; answer with
/// `sio_server_side_ack_send` or release with `sio_server_side_ack_free`.
pub struct sio_server_side_ack {
    r: ServerSideReply,
}

/// Decides whether a namespace name belongs to a parent namespace; runs on
/// a runtime thread (also with an event queue), so it must be quick and
/// thread-safe.
pub type sio_namespace_matcher_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, name: *const c_char) -> bool>;

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

/// Called with an event another server sent with `serverSideEmit`; `ack`
/// is non-NULL when the sender waits for an answer (owned by the callback).
pub type sio_server_side_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        event: *const c_char,
        args: *const sio_payload,
        ack: *mut sio_server_side_ack,
    ),
>;

// ---------------------------------------------------------------------------
// Cluster option

/// Joins a cluster through Redis at `url` (e.g. "redis://127.0.0.1:6379")
/// instead of the in-memory adapter. `flavour` names the Node adapter whose
/// wire format to speak: "classic" (NULL: the default,
/// `@socket.io/redis-adapter` `createAdapter`), "sharded" (its
/// `createShardedAdapter`, Redis 7+) or "streams"
/// (`@socket.io/redis-streams-adapter` 0.3, with connection state recovery
/// across servers when the server enables recovery); another name fails
/// with SIO_ERR_INVALID_ARGUMENT. `key` is the channel prefix (NULL:
/// "socket.io"; for streams also the stream name). `sio_server_new`
/// connects and fails with SIO_ERR_IO when Redis cannot be reached.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_redis(
    opts: *mut sio_server_options,
    url: *const c_char,
    flavour: *const c_char,
    key: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        let url = cstr(url, "url")?;
        let flavour = RedisFlavour::parse(opt_cstr(flavour, "flavour")?.unwrap_or("classic"))?;
        let key = opt_cstr(key, "key")?.map(str::to_owned);
        o.redis = Some(RedisOptions {
            url: url.to_owned(),
            key,
            flavour,
            requests_timeout: None,
        });
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Dynamic namespaces

/// A parent namespace for every name matching the regular expression
/// `pattern` (e.g. "^/room-\\d+$"); SIO_ERR_INVALID_ARGUMENT for a bad
/// pattern. Free the handle with `sio_parent_namespace_free`; the parent
/// lives on with the server.
#[no_mangle]
pub unsafe extern "C" fn sio_server_of_regex(
    server: *const sio_server,
    pattern: *const c_char,
    out: *mut *mut sio_parent_namespace,
) -> c_int {
    ffi_guard!({
        let s = href(server, "server")?;
        let pattern = cstr(pattern, "pattern")?;
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_parent_namespace {
                p: s.s.of_regex(pattern)?,
            },
        );
        Ok(())
    })
}

/// A parent namespace for every name `matcher` accepts.
#[no_mangle]
pub unsafe extern "C" fn sio_server_of_dynamic(
    server: *const sio_server,
    matcher: sio_namespace_matcher_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
    out: *mut *mut sio_parent_namespace,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let matcher = required(matcher, "matcher")?;
        let out = out_ptr(out, "out")?;
        let p = s.s.of_dynamic(move |name| {
            let name = cstring(name);
            matcher(ud.ptr(), name.as_ptr())
        });
        put(out, sio_parent_namespace { p });
        Ok(())
    })
}

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

// ---------------------------------------------------------------------------
// Per-event middlewares and outgoing listeners

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
        let n = s.s.on_any_outgoing(move |s, name, args| {
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

/// Removes the outgoing listener `id`.
#[no_mangle]
pub unsafe extern "C" fn sio_socket_off_any_outgoing(socket: *const sio_socket, id: u64) -> c_int {
    ffi_guard!({
        href(socket, "socket")?.s.off_any_outgoing(Some(id));
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Between servers

/// Sends an event to the other servers of the cluster (main namespace);
/// nobody hears it on a single server.
#[no_mangle]
pub unsafe extern "C" fn sio_server_server_side_emit(
    server: *const sio_server,
    event: *const c_char,
    json: *const c_char,
    bins: *const sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let s = href(server, "server")?;
        let event = cstr(event, "event")?;
        let args = read_args(json, bins, n_bins)?;
        s.s.server_side_emit(event, args);
        Ok(())
    })
}

/// Sends an event to the other servers and calls `cb` with one answer per
/// server that answered within `timeout_ms`, as the payload's arguments
/// (an empty array on a single server).
#[no_mangle]
pub unsafe extern "C" fn sio_server_server_side_emit_with_ack(
    server: *const sio_server,
    event: *const c_char,
    json: *const c_char,
    bins: *const sio_buf,
    n_bins: usize,
    timeout_ms: u32,
    cb: sio_reply_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let event = cstr(event, "event")?;
        let args = read_args(json, bins, n_bins)?;
        let cb = required(cb, "cb")?;
        let timeout = if timeout_ms == 0 {
            Duration::from_secs(5)
        } else {
            millis(timeout_ms)
        };
        s.s.server_side_emit_with_ack(
            event,
            args,
            timeout,
            Box::new(move |r| call_reply(cb, &ud, r)),
        );
        Ok(())
    })
}

/// Handles `event` sent by another server with `serverSideEmit`.
#[no_mangle]
pub unsafe extern "C" fn sio_server_on_server_side_emit(
    server: *const sio_server,
    event: *const c_char,
    cb: sio_server_side_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let event = cstr(event, "event")?;
        let cb = required(cb, "cb")?;
        let name = cstring(event);
        s.s.on_server_side_emit(event, move |args, reply| {
            let p = PayloadHolder::new(&args);
            let ack = reply.map_or(std::ptr::null_mut(), |r| {
                Box::into_raw(Box::new(sio_server_side_ack { r }))
            });
            cb(ud.ptr(), name.as_ptr(), &p.raw(), ack);
        });
        Ok(())
    })
}

/// Answers another server's `serverSideEmitWithAck` with one JSON value
/// (NULL: null); consumes `ack`.
#[no_mangle]
pub unsafe extern "C" fn sio_server_side_ack_send(
    ack: *mut sio_server_side_ack,
    json: *const c_char,
) -> c_int {
    ffi_guard!({
        if ack.is_null() {
            return Err(Error::invalid("ack is NULL"));
        }
        let ack = Box::from_raw(ack);
        let value = read_value(json, "json")?.unwrap_or(Value::Null);
        ack.r.send(value);
        Ok(())
    })
}

/// Releases an unanswered server-side acknowledgement. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn sio_server_side_ack_free(ack: *mut sio_server_side_ack) {
    free_handle(ack);
}

/// Every room of the main namespace across the cluster (`allRooms`),
/// handed to `cb` as one argument: a sorted JSON array of names.
#[no_mangle]
pub unsafe extern "C" fn sio_server_all_rooms(
    server: *const sio_server,
    cb: sio_reply_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let cb = required(cb, "cb")?;
        s.s.all_rooms(Box::new(move |r| {
            let r = r.map(|rooms| {
                vec![Value::Array(
                    rooms.into_iter().map(Value::from).collect::<Vec<_>>(),
                )]
            });
            call_reply(cb, &ud, r)
        }));
        Ok(())
    })
}

/// How many servers the cluster has, this one included, handed to `cb` as
/// one numeric argument.
#[no_mangle]
pub unsafe extern "C" fn sio_server_server_count(
    server: *const sio_server,
    cb: sio_reply_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let cb = required(cb, "cb")?;
        s.s.server_count(Box::new(move |r| {
            call_reply(cb, &ud, r.map(|n| vec![Value::from(n as u64)]))
        }));
        Ok(())
    })
}
