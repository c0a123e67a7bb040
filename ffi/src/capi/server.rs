//! `sio_server`: making, running and closing a server, its namespaces by
//! name or pattern, and what it exchanges with the other servers of a
//! cluster.

use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use super::{
    call_done, call_reply, cstr, cstring, ffi_guard, ffi_guard_or, free_handle, href, millis,
    namespace_handle, out_ptr, put, read_args, required, sio_buf, sio_done_cb, sio_free_fn,
    sio_namespace, sio_namespace_auth_matcher_cb, sio_namespace_matcher_cb, sio_parent_namespace,
    sio_payload, sio_reply_cb, sio_server_options, sio_server_side_ack, PayloadHolder, UserData,
};
use crate::embed::{payload, Error, Server, Value};

/// A Socket.IO server.
pub struct sio_server {
    pub(crate) s: Server,
}

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
/// once bound. One listener per server. After `sio_server_close` it serves
/// again, with the same namespaces and callbacks (the disconnected clients
/// reconnect).
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

/// Serves a TCP connection another HTTP server accepted: mounts the
/// server in a host server, which hands over each connection whose first
/// request is under the Socket.IO path (the reference's `attach` to an
/// http.Server). `fd` is the connected socket, owned by the library from
/// now on (closed on every path, errors included); `head`/`head_len` what
/// the host already read from it (at least the request line and headers;
/// may be NULL/0), replayed first. Keep-alive requests and the WebSocket
/// upgrade that follow on the connection are the server's too; requests
/// outside its path get a 404. Works with or without `sio_server_listen`.
/// SIO_ERR_INVALID_ARGUMENT off POSIX systems.
#[no_mangle]
pub unsafe extern "C" fn sio_server_serve_fd(
    server: *const sio_server,
    fd: c_int,
    head: *const u8,
    head_len: usize,
) -> c_int {
    ffi_guard!({
        let stream = crate::embed::take_fd(fd)?;
        let s = href(server, "server")?;
        let head = if head_len == 0 {
            &[][..]
        } else if head.is_null() {
            return Err(Error::invalid("head is NULL"));
        } else {
            std::slice::from_raw_parts(head, head_len)
        };
        s.s.serve_stream(stream, head)
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

/// A parent namespace for every name `matcher` accepts, given the client's
/// `auth` too (as the reference's `io.of((name, auth, next) => ...)`): a
/// tenant's namespace is made for its own clients only. As in the
/// reference, the matcher is asked only while the namespace does not exist;
/// who may join it afterwards is for middlewares to decide.
#[no_mangle]
pub unsafe extern "C" fn sio_server_of_dynamic_with_auth(
    server: *const sio_server,
    matcher: sio_namespace_auth_matcher_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
    out: *mut *mut sio_parent_namespace,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let s = href(server, "server")?;
        let matcher = required(matcher, "matcher")?;
        let out = out_ptr(out, "out")?;
        let p = s.s.of_dynamic_with_auth(move |name, auth| {
            let name = cstring(name);
            let auth = cstring(&payload::to_plain_json(auth));
            matcher(ud.ptr(), name.as_ptr(), auth.as_ptr())
        });
        put(out, sio_parent_namespace { p });
        Ok(())
    })
}

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
