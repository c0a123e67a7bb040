//! `sio_emitter`: emits to the clients of a cluster of servers on the
//! classic Redis adapter from a process that is not a server
//! (`@socket.io/redis-emitter`). Every call blocks until Redis took the
//! message, or fails with `SIO_ERR_IO` (Redis unreachable or refusing) or
//! `SIO_ERR_TIMEOUT` (no answer within 5 s).

use std::ffi::{c_char, c_int};

use super::{
    cstr, ffi_guard, ffi_guard_or, free_handle, hmut, href, opt_cstr, out_ptr, put, read_args,
    sio_buf,
};
use crate::embed::{Emitter, Error, Runtime};

/// An emitter on one namespace, with the rooms and flags added to it so far
/// (they apply to every later operation on this handle; take a fresh
/// handle with `sio_emitter_of` for other ones). Free it with
/// `sio_emitter_free`.
pub struct sio_emitter {
    pub(crate) e: Emitter,
}

unsafe fn with_emitter(
    e: *mut sio_emitter,
    f: impl FnOnce(Emitter) -> Result<Emitter, Error>,
) -> c_int {
    ffi_guard!({
        let e = hmut(e, "emitter")?;
        e.e = f(e.e.clone())?;
        Ok(())
    })
}

/// Connects to the Redis at `url` (e.g. "redis://127.0.0.1:6379") with
/// channel prefix `prefix` (the servers' adapter key; NULL: "socket.io"),
/// on the main namespace "/". Blocks until connected (at most 5 s).
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_new(
    url: *const c_char,
    prefix: *const c_char,
    out: *mut *mut sio_emitter,
) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        let url = cstr(url, "url")?;
        let prefix = opt_cstr(prefix, "prefix")?;
        let e = Emitter::connect(&Runtime::global()?, url, prefix)?;
        put(out, sio_emitter { e });
        Ok(())
    })
}

/// Releases an emitter. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_free(e: *mut sio_emitter) {
    ffi_guard_or!((), { free_handle(e) })
}

/// A new emitter on namespace `nsp` (a leading "/" is added when missing),
/// without rooms or flags, sharing `e`'s connection.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_of(
    e: *const sio_emitter,
    nsp: *const c_char,
    out: *mut *mut sio_emitter,
) -> c_int {
    ffi_guard!({
        let e = href(e, "emitter")?;
        let out = out_ptr(out, "out")?;
        let nsp = cstr(nsp, "nsp")?;
        put(out, sio_emitter { e: e.e.of(nsp) });
        Ok(())
    })
}

/// Adds a target room (sockets in any target room are reached; none: all).
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_to(e: *mut sio_emitter, room: *const c_char) -> c_int {
    with_emitter(e, |x| Ok(x.to(cstr(room, "room")?)))
}

/// Excludes the sockets of a room.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_except(e: *mut sio_emitter, room: *const c_char) -> c_int {
    with_emitter(e, |x| Ok(x.except(cstr(room, "room")?)))
}

/// Later events may be dropped for clients that are not ready for them.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_volatile(e: *mut sio_emitter) -> c_int {
    with_emitter(e, |x| Ok(x.volatile()))
}

/// The compress flag of later events, applied by the servers that
/// deliver them (`false`: uncompressed).
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_compress(e: *mut sio_emitter, compress: bool) -> c_int {
    with_emitter(e, |x| Ok(x.compress(compress)))
}

/// Emits `event` with arguments `json` (a JSON array, NULL: none; binary
/// buffers as placeholders indexing `bins`) to the matching clients of
/// every server. A reserved event name ("connect", "disconnect", ...) is
/// `SIO_ERR_INVALID_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_emit(
    e: *const sio_emitter,
    event: *const c_char,
    json: *const c_char,
    bins: *const sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let e = href(e, "emitter")?;
        let event = cstr(event, "event")?;
        e.e.emit(event, read_args(json, bins, n_bins)?)
    })
}

/// Makes the matching sockets of every server join `room`.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_sockets_join(
    e: *const sio_emitter,
    room: *const c_char,
) -> c_int {
    ffi_guard!({
        let e = href(e, "emitter")?;
        e.e.sockets_join(&[cstr(room, "room")?])
    })
}

/// Makes the matching sockets of every server leave `room`.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_sockets_leave(
    e: *const sio_emitter,
    room: *const c_char,
) -> c_int {
    ffi_guard!({
        let e = href(e, "emitter")?;
        e.e.sockets_leave(&[cstr(room, "room")?])
    })
}

/// Disconnects the matching sockets of every server; with `close`, their
/// underlying connections too.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_disconnect_sockets(
    e: *const sio_emitter,
    close: bool,
) -> c_int {
    ffi_guard!({
        let e = href(e, "emitter")?;
        e.e.disconnect_sockets(close)
    })
}

/// Sends `event` with arguments `json` (as in `sio_emitter_emit`) to the
/// servers of the emitter's namespace: their `serverSideEmit` handlers.
/// Emitters get no answers.
#[no_mangle]
pub unsafe extern "C" fn sio_emitter_server_side_emit(
    e: *const sio_emitter,
    event: *const c_char,
    json: *const c_char,
    bins: *const sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let e = href(e, "emitter")?;
        let event = cstr(event, "event")?;
        e.e.server_side_emit(event, read_args(json, bins, n_bins)?)
    })
}
