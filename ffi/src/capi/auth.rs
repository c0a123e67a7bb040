//! `sio_auth_reply`: a client's CONNECT payload given from a callback on
//! every connection attempt (socket.io-client's `auth` function), for
//! tokens that change between reconnections.

use std::ffi::{c_char, c_int, c_void};

use super::{
    ffi_guard, ffi_guard_or, free_handle, read_value, sio_client_options, sio_free_fn, UserData,
};
use crate::embed::{AuthHandler, AuthReply, Error};

/// The pending answer of one `sio_auth_cb` call, owned by the callback:
/// answer it once with `sio_auth_reply_send` (now or later, from any
/// thread) or free it, which fails the attempt. An attempt waits at most
/// the client's timeout.
pub struct sio_auth_reply {
    r: Option<AuthReply>,
}

/// Asked for the CONNECT payload of a connection attempt; `reply` is the
/// callback's to answer or free.
pub type sio_auth_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, reply: *mut sio_auth_reply)>;

/// Asks `cb` for the CONNECT payload on every connection attempt,
/// reconnections included, in the client's dispatch mode; it takes the
/// place of `sio_client_options_set_auth` (the last one set wins). NULL
/// `cb` removes it.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_auth_callback(
    opts: *mut sio_client_options,
    cb: sio_auth_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let o = &mut super::hmut(opts, "opts")?.o;
        o.auth = None;
        o.auth_handler = cb.map(|cb| {
            AuthHandler::new(move |reply| {
                let handle = Box::into_raw(Box::new(sio_auth_reply { r: Some(reply) }));
                cb(ud.ptr(), handle);
            })
        });
        Ok(())
    })
}

/// Answers with `json`, a JSON object (NULL: no payload, the server sees
/// `{}`), and frees `reply`. Anything but an object fails the attempt and
/// returns SIO_ERR_INVALID_ARGUMENT; `reply` is freed either way.
#[no_mangle]
pub unsafe extern "C" fn sio_auth_reply_send(
    reply: *mut sio_auth_reply,
    json: *const c_char,
) -> c_int {
    ffi_guard!({
        if reply.is_null() {
            return Err(Error::invalid("reply is NULL"));
        }
        let mut owned = Box::from_raw(reply);
        let r = owned
            .r
            .take()
            .ok_or_else(|| Error::state("the reply was already sent"))?;
        match read_value(json, "json") {
            Ok(v) if v.as_ref().is_none_or(|v| v.as_object().is_some()) => {
                r.send(v);
                Ok(())
            }
            Ok(_) => {
                r.fail("auth must be a JSON object");
                Err(Error::invalid("auth must be a JSON object"))
            }
            Err(e) => {
                r.fail(format!("invalid auth: {e}"));
                Err(e)
            }
        }
    })
}

/// Frees an unanswered reply: the attempt fails at once ("the auth
/// callback gave no answer"). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_auth_reply_free(reply: *mut sio_auth_reply) {
    ffi_guard_or!((), { free_handle(reply) })
}
