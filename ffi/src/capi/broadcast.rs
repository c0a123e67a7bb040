//! `sio_broadcast`: operators chosen one call at a time, then emits (with
//! or without acknowledgements) or actions on the matching sockets.

use std::ffi::{c_char, c_int, c_void, CString};

use super::sio_socket;
use super::{
    call_sockets, cstr, cstring, ffi_guard, ffi_guard_or, free_handle, hmut, href, millis,
    read_args, required, sio_free_fn, sio_payload, sio_sockets_cb, PayloadHolder, UserData,
};
use crate::embed::{Broadcast, BroadcastReplies, Error, FetchedSocket};

/// A broadcast being built: add operators, then emit (any number of times)
/// or act on the matching sockets; free it when done.
pub struct sio_broadcast {
    pub(crate) b: Broadcast,
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

/// `false`: the broadcast goes uncompressed even where the transport
/// compresses (permessage-deflate, HTTP compression), as socket.io's
/// `compress(false)`.
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
/// the timeout; `cb` gets this server's replies and the ids of its silent
/// sockets (`sio_broadcast_emit_with_ack_all` adds the other servers'
/// answers).
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
    let deliver = |cb: BroadcastAckFn,
                   ud,
                   status,
                   error,
                   replies: &[sio_ack_reply],
                   missing: &[_],
                   _: &_,
                   _| {
        cb(
            ud,
            status,
            error,
            replies.as_ptr(),
            replies.len(),
            missing.as_ptr(),
            missing.len(),
        )
    };
    emit_collecting(
        b,
        event,
        json,
        bins,
        n_bins,
        cb,
        user_data,
        free_user_data,
        deliver,
    )
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

/// The body of both emits with acknowledgements: reads the arguments, emits,
/// and hands the replies as C sees them (see [`with_replies`]) to `deliver`
/// with the callback and its user data.
#[allow(clippy::too_many_arguments)]
unsafe fn emit_collecting<F: Copy + Send + 'static>(
    b: *const sio_broadcast,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
    cb: Option<F>,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
    deliver: impl FnOnce(
            F,
            *mut c_void,
            c_int,
            *const c_char,
            &[sio_ack_reply],
            &[*const c_char],
            &sio_payload,
            bool,
        ) + Send
        + 'static,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let b = href(b, "broadcast")?;
        let event = cstr(event, "event")?;
        let args = read_args(json, bins, n_bins)?;
        let cb = required(cb, "cb")?;
        b.b.emit_with_ack(event, args, move |r| {
            with_replies(r, |status, error, replies, missing, remote, complete| {
                deliver(
                    cb,
                    ud.ptr(),
                    status,
                    error,
                    replies,
                    missing,
                    remote,
                    complete,
                )
            })
        });
        Ok(())
    })
}

/// Completion of `sio_broadcast_emit_with_ack_all`: this server's replies
/// and silent sockets as for `sio_broadcast_ack_cb`, then the other
/// servers' part: `remote` is a JSON array of their clients' answers (the
/// first argument of each, as socket.io forwards them; empty without a
/// cluster adapter), `remote_complete` whether every other server reported
/// and all its clients answered in time.
pub type sio_cluster_ack_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: c_int,
        error: *const c_char,
        replies: *const sio_ack_reply,
        n_replies: usize,
        missing: *const *const c_char,
        n_missing: usize,
        remote: *const sio_payload,
        remote_complete: bool,
    ),
>;

/// Completion of `sio_broadcast_fetch_all_sockets`: this server's sockets,
/// borrowed for the call as in `sio_sockets_cb`, and the other servers'
/// as a JSON array of `{id, handshake, rooms, data}` (act on one with
/// `sio_namespace_to` its id).
pub type sio_cluster_sockets_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: c_int,
        error: *const c_char,
        sockets: *const *const sio_socket,
        n_sockets: usize,
        remote: *const sio_payload,
    ),
>;

/// Emits to every matching socket of the whole cluster and collects their
/// acknowledgements until the timeout (`emitWithAck` with an adapter): `cb`
/// gets this server's replies and silent sockets, and the other servers'
/// answers.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sio_broadcast_emit_with_ack_all(
    b: *const sio_broadcast,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
    cb: sio_cluster_ack_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    let deliver = |cb: ClusterAckFn,
                   ud,
                   status,
                   error,
                   replies: &[sio_ack_reply],
                   missing: &[_],
                   remote: &sio_payload,
                   complete| {
        cb(
            ud,
            status,
            error,
            replies.as_ptr(),
            replies.len(),
            missing.as_ptr(),
            missing.len(),
            remote,
            complete,
        )
    };
    emit_collecting(
        b,
        event,
        json,
        bins,
        n_bins,
        cb,
        user_data,
        free_user_data,
        deliver,
    )
}

type ClusterAckFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const c_char,
    *const sio_ack_reply,
    usize,
    *const *const c_char,
    usize,
    *const sio_payload,
    bool,
);

/// Lends `r` to `f` as C sees it: status, error (NULL on success), this
/// server's replies and silent ids, the other servers' answers and whether
/// they are complete; everything lives until `f` returns.
unsafe fn with_replies(
    r: Result<BroadcastReplies, Error>,
    f: impl FnOnce(c_int, *const c_char, &[sio_ack_reply], &[*const c_char], &sio_payload, bool),
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
            let remote = PayloadHolder::new(&r.remote);
            f(
                super::SIO_OK,
                std::ptr::null(),
                &replies,
                &missing_ptrs,
                &remote.raw(),
                r.remote_complete,
            );
        }
        Err(e) => {
            let msg = cstring(&e.to_string());
            let none = PayloadHolder::new(&[]);
            f(
                super::status_of(&e),
                msg.as_ptr(),
                &[],
                &[],
                &none.raw(),
                false,
            );
        }
    }
}

/// Hands the matching sockets of the whole cluster to `cb` (`fetchSockets`
/// with an adapter); after the adapter's timeout, what arrived.
#[no_mangle]
pub unsafe extern "C" fn sio_broadcast_fetch_all_sockets(
    b: *const sio_broadcast,
    cb: sio_cluster_sockets_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let b = href(b, "broadcast")?;
        let cb = required(cb, "cb")?;
        b.b.fetch_all_sockets(move |r| match r {
            Ok(found) => {
                let mut local = Vec::new();
                let mut remote = Vec::new();
                for f in found {
                    match f {
                        FetchedSocket::Local(s) => local.push(sio_socket::new(s)),
                        FetchedSocket::Remote(v) => remote.push(v),
                    }
                }
                let ptrs: Vec<*const sio_socket> = local.iter().map(|h| h as *const _).collect();
                let remote = PayloadHolder::new(&remote);
                cb(
                    ud.ptr(),
                    super::SIO_OK,
                    std::ptr::null(),
                    ptrs.as_ptr(),
                    ptrs.len(),
                    &remote.raw(),
                );
            }
            Err(e) => {
                let msg = cstring(&e.to_string());
                let none = PayloadHolder::new(&[]);
                cb(
                    ud.ptr(),
                    super::status_of(&e),
                    msg.as_ptr(),
                    std::ptr::null(),
                    0,
                    &none.raw(),
                );
            }
        });
        Ok(())
    })
}

/// Hands this server's matching sockets to `cb` (`fetchSockets` without an
/// adapter; `sio_broadcast_fetch_all_sockets` adds the other servers').
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
