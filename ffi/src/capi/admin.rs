//! The Admin UI (`@socket.io/admin-ui`'s server side) on a C server:
//! options in the reference's terms, then `sio_server_instrument`.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::time::Duration;

use sio_core::admin::{AdminAuth, AdminMode, AdminOptions};

use super::{
    cstr, cstring, ffi_guard, ffi_guard_or, free_handle, hmut, href, out_ptr, put, required,
    sio_free_fn, sio_server, UserData,
};
use crate::embed::{payload, Error, Server};

/// Decides whether the Admin UI may log in, from the CONNECT payload it
/// sent (`auth_json`, a JSON object; `{}` when it sent none): true lets it
/// in. It runs like the server's other callbacks, through its event queue
/// when it has one, else on a thread of its own (never a runtime thread),
/// so it may block.
pub type sio_admin_auth_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, auth_json: *const c_char) -> bool>;

/// A C check with its user_data.
struct AuthCheck {
    cb: unsafe extern "C" fn(*mut c_void, *const c_char) -> bool,
    ud: UserData,
}

#[derive(Clone)]
enum Auth {
    Disabled,
    Basic { username: String, hash: String },
    Check(Arc<AuthCheck>),
}

/// Options for `sio_server_instrument`; start from `sio_admin_options_new`
/// (the reference's defaults: namespace "/admin", development mode, not
/// read-only, the host name as server id, server_stats every 2000 ms) and
/// choose how the UI logs in: `sio_admin_options_set_basic_auth`,
/// `sio_admin_options_set_auth_check` or `sio_admin_options_set_no_auth`.
pub struct sio_admin_options {
    auth: Option<Auth>,
    mode: AdminMode,
    readonly: bool,
    namespace: String,
    server_id: Option<String>,
    stats_interval: Duration,
}

/// Creates Admin UI options with the reference's defaults and no login
/// chosen yet (`sio_server_instrument` refuses them until one is).
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_new(out: *mut *mut sio_admin_options) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_admin_options {
                auth: None,
                mode: AdminMode::Development,
                readonly: false,
                namespace: "/admin".to_owned(),
                server_id: None,
                stats_interval: sio_core::admin::STATS_INTERVAL,
            },
        );
        Ok(())
    })
}

/// Frees Admin UI options (a server instrumented with them keeps what it
/// needs). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_free(opts: *mut sio_admin_options) {
    ffi_guard_or!((), { free_handle(opts) })
}

unsafe fn with_admin(
    opts: *mut sio_admin_options,
    f: impl FnOnce(&mut sio_admin_options) -> Result<(), Error>,
) -> c_int {
    ffi_guard!({ f(hmut(opts, "opts")?) })
}

/// Basic authentication, the reference's `{type: "basic", username,
/// password}`: the UI must send this username and a password whose bcrypt
/// hash is `password_hash` ("$2a$", "$2b$", "$2x$" or "$2y$"; checked by
/// `sio_server_instrument`). A UI let in gets a session id to log in again
/// with.
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_basic_auth(
    opts: *mut sio_admin_options,
    username: *const c_char,
    password_hash: *const c_char,
) -> c_int {
    with_admin(opts, |o| {
        o.auth = Some(Auth::Basic {
            username: cstr(username, "username")?.to_owned(),
            hash: cstr(password_hash, "password_hash")?.to_owned(),
        });
        Ok(())
    })
}

/// No login (the reference's `auth: false`): anyone who reaches the
/// namespace administers the server.
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_no_auth(opts: *mut sio_admin_options) -> c_int {
    with_admin(opts, |o| {
        o.auth = Some(Auth::Disabled);
        Ok(())
    })
}

/// A login decided by `cb` (see `sio_admin_auth_cb`); a UI it lets in gets
/// a session id to log in again with, and one it refuses the
/// `connect_error` "invalid credentials". `user_data` is released once the
/// options and every server instrumented with them are freed.
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_auth_check(
    opts: *mut sio_admin_options,
    cb: sio_admin_auth_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let o = hmut(opts, "opts")?;
        let cb = required(cb, "cb")?;
        o.auth = Some(Auth::Check(Arc::new(AuthCheck { cb, ud })));
        Ok(())
    })
}

/// "development" (the default: every socket, room and event) or
/// "production" (the statistics only).
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_mode(
    opts: *mut sio_admin_options,
    mode: *const c_char,
) -> c_int {
    with_admin(opts, |o| {
        o.mode = cstr(mode, "mode")?
            .parse()
            .map_err(|e: sio_core::admin::InvalidMode| Error::invalid(e.to_string()))?;
        Ok(())
    })
}

/// Read-only: the UI may look, not join, leave, emit or disconnect
/// (default false).
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_readonly(
    opts: *mut sio_admin_options,
    readonly: bool,
) -> c_int {
    with_admin(opts, |o| {
        o.readonly = readonly;
        Ok(())
    })
}

/// The namespace the UI connects to (`namespaceName`, default "/admin").
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_namespace(
    opts: *mut sio_admin_options,
    name: *const c_char,
) -> c_int {
    with_admin(opts, |o| {
        o.namespace = cstr(name, "name")?.to_owned();
        Ok(())
    })
}

/// This server's id in the UI (`serverId`; default: the host name).
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_server_id(
    opts: *mut sio_admin_options,
    id: *const c_char,
) -> c_int {
    with_admin(opts, |o| {
        o.server_id = Some(cstr(id, "id")?.to_owned());
        Ok(())
    })
}

/// How often `server_stats` goes out, in milliseconds (default 2000; must
/// not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_admin_options_set_stats_interval(
    opts: *mut sio_admin_options,
    ms: u32,
) -> c_int {
    with_admin(opts, |o| {
        if ms == 0 {
            return Err(Error::invalid("stats interval must not be 0"));
        }
        o.stats_interval = Duration::from_millis(u64::from(ms));
        Ok(())
    })
}

/// The core's options for `server`.
fn core_options(o: &sio_admin_options, server: &Server) -> Result<AdminOptions, Error> {
    let auth = match o.auth.clone() {
        None => {
            return Err(Error::invalid(
                "the `auth` option must be specified or explicitly set to `false`: \
                 choose sio_admin_options_set_basic_auth, _set_auth_check or _set_no_auth",
            ))
        }
        Some(Auth::Disabled) => AdminAuth::Disabled,
        Some(Auth::Basic { username, hash }) => AdminAuth::basic(username, hash),
        Some(Auth::Check(check)) => server.admin_check(move |auth| {
            let json = cstring(&payload::to_plain_json(auth));
            // SAFETY: the header's callback contract.
            unsafe { (check.cb)(check.ud.ptr(), json.as_ptr()) }
        }),
    };
    let mut opts = AdminOptions::new()
        .auth(auth)
        .mode(o.mode)
        .readonly(o.readonly)
        .namespace_name(o.namespace.clone())
        .server_stats_interval(o.stats_interval);
    if let Some(id) = &o.server_id {
        opts = opts.server_id(id.clone());
    }
    Ok(opts)
}

/// Serves the Socket.IO Admin UI (`@socket.io/admin-ui` 0.5: the page at
/// https://admin.socket.io or its `ui/dist` files) on this server, as the
/// reference's `instrument(io, opts)`: the admin namespace, the login,
/// `server_stats`, and in development mode every socket, room and event.
/// Call it before the server takes connections (those already open are
/// counted, not followed). Refused options (no login chosen, a password
/// hash that is not bcrypt) are SIO_ERR_INVALID_ARGUMENT with the
/// reference's message; a closed server, SIO_ERR_CLOSED.
#[no_mangle]
pub unsafe extern "C" fn sio_server_instrument(
    server: *const sio_server,
    opts: *const sio_admin_options,
) -> c_int {
    ffi_guard!({
        let s = href(server, "server")?;
        let o = href(opts, "opts")?;
        let opts = core_options(o, &s.s)?;
        s.s.instrument(opts).map(drop)
    })
}
