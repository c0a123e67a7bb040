//! `sio_ack` and `sio_server_side_ack`: answers to acknowledgement
//! requests, owned by the callback that receives them.

use std::ffi::{c_char, c_int};

use super::{ffi_guard, ffi_guard_or, free_handle, read_args, read_value};
use crate::embed::{Ack, Error, ServerSideReply, Value};

/// The answer to one acknowledgement request (an event whose sender waits
/// for a reply). Given to an event callback, which owns it: answer with
/// `sio_ack_send` or release with `sio_ack_free`, exactly once, now or
/// later, from any thread.
pub struct sio_ack {
    pub(crate) a: Ack,
}

impl From<Ack> for sio_ack {
    fn from(a: Ack) -> Self {
        sio_ack { a }
    }
}

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

/// The answer to another server's `serverSideEmitWithAck`: given to a
/// `sio_server_side_cb`, which owns it; answer with
/// `sio_server_side_ack_send` or release with `sio_server_side_ack_free`.
pub struct sio_server_side_ack {
    pub(crate) r: ServerSideReply,
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
