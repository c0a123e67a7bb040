//! The engine's request hooks (engine.io's `allowRequest`, `headers` /
//! `initial_headers` events and `connection_error` event) and `sio_request`,
//! the view of a request they are handed.
//!
//! Every hook runs on a runtime thread while the request waits, whatever
//! the server's dispatch mode (an event queue cannot hold a request up):
//! keep it quick, and let it return before touching the server.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;

use engineio::server::{ConnectionError, RequestInfo};
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use super::{
    cstr, cstring, ffi_guard, ffi_guard_or, hmut, sio_free_fn, sio_server_options, UserData,
};
use crate::embed::options::{Api, OptionValue};
use crate::embed::Error;

/// A request under the server's path, borrowed for the duration of a hook.
/// The strings its accessors return live as long as the hook runs.
pub struct sio_request {
    info: *const RequestInfo,
    /// Keeps the strings handed out alive until the hook returns.
    strings: RefCell<Vec<CString>>,
}

impl sio_request {
    fn new(info: &RequestInfo) -> sio_request {
        sio_request {
            info,
            strings: RefCell::new(Vec::new()),
        }
    }

    /// Hands out `s` as a C string owned by this view.
    fn lend(&self, s: &str) -> *const c_char {
        let c = cstring(s);
        let p = c.as_ptr();
        self.strings.borrow_mut().push(c);
        p
    }
}

/// The request's headers being answered with, in a `headers` or
/// `initial_headers` hook.
pub struct sio_headers {
    map: *mut HeaderMap,
}

unsafe fn request<'a>(req: *const sio_request) -> Option<(&'a sio_request, &'a RequestInfo)> {
    let r = req.as_ref()?;
    Some((r, &*r.info))
}

/// The request's method ("GET", "POST"...); NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn sio_request_method(req: *const sio_request) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        request(req).map_or(std::ptr::null(), |(r, i)| r.lend(i.method.as_str()))
    })
}

/// The request's path with its query (`/socket.io/?EIO=4&transport=polling`).
#[no_mangle]
pub unsafe extern "C" fn sio_request_url(req: *const sio_request) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        request(req).map_or(std::ptr::null(), |(r, i)| {
            let url = i.uri.path_and_query().map_or("/", |p| p.as_str());
            r.lend(url)
        })
    })
}

/// The value of header `name` (any case; repeated headers joined with
/// ", " as Node does), or NULL when the request has none.
#[no_mangle]
pub unsafe extern "C" fn sio_request_header(
    req: *const sio_request,
    name: *const c_char,
) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        let Some((r, i)) = request(req) else {
            return std::ptr::null();
        };
        let Ok(name) = cstr(name, "name") else {
            return std::ptr::null();
        };
        let values: Vec<&str> = i
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            std::ptr::null()
        } else {
            r.lend(&values.join(", "))
        }
    })
}

/// The peer's IP address ("127.0.0.1", "::1"), or NULL when unknown.
#[no_mangle]
pub unsafe extern "C" fn sio_request_remote_address(req: *const sio_request) -> *const c_char {
    ffi_guard_or!(std::ptr::null(), {
        match request(req) {
            Some((r, i)) => i
                .remote_addr
                .map_or(std::ptr::null(), |a| r.lend(&a.ip().to_string())),
            None => std::ptr::null(),
        }
    })
}

/// Sets response header `name` to `value`, replacing what it had (as
/// assigning `headers[name]` in engine.io's `headers` event).
#[no_mangle]
pub unsafe extern "C" fn sio_headers_set(
    headers: *mut sio_headers,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    ffi_guard!({
        let h = headers
            .as_mut()
            .and_then(|h| h.map.as_mut())
            .ok_or_else(|| Error::invalid("headers is NULL"))?;
        let name = HeaderName::try_from(cstr(name, "name")?)
            .map_err(|e| Error::invalid(format!("invalid header name: {e}")))?;
        let value = HeaderValue::try_from(cstr(value, "value")?)
            .map_err(|e| Error::invalid(format!("invalid header value: {e}")))?;
        h.insert(name, value);
        Ok(())
    })
}

/// Decides on a handshake or upgrade request: NULL lets it through, a
/// message refuses it (403, code 4, the message in the answer; copied at
/// once, so a string literal will do).
pub type sio_allow_request_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, req: *const sio_request) -> *const c_char>;

/// Edits the response headers of a request.
pub type sio_headers_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        req: *const sio_request,
        headers: *mut sio_headers,
    ),
>;

/// Told of a refused request: engine.io's error `code` (0 unknown
/// transport, 1 unknown session id, 2 bad handshake method, 3 bad request,
/// 4 forbidden, 5 unsupported protocol version), its `message`, and its
/// `context` as a JSON object (e.g. `{"transport":"carrier-pigeon"}`).
pub type sio_connection_error_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        req: *const sio_request,
        code: c_int,
        message: *const c_char,
        context_json: *const c_char,
    ),
>;

/// Sets the option the C API calls `name` to a hook made of `cb` and its
/// user data, or clears it when `cb` is NULL (releasing `user_data` at once).
unsafe fn set_hook<F: Copy + Send + Sync + 'static>(
    opts: *mut sio_server_options,
    name: &str,
    cb: Option<F>,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
    make: impl FnOnce(F, Arc<UserData>) -> OptionValue,
    none: OptionValue,
) -> c_int {
    ffi_guard!({
        let ud = Arc::new(UserData::new(user_data, free_user_data));
        let o = hmut(opts, "opts")?;
        let value = match cb {
            Some(cb) => make(cb, ud),
            None => none,
        };
        o.o.set(Api::C, name, value)
    })
}

/// Checks every handshake and upgrade request before the engine answers
/// it (engine.io's `allowRequest`, called synchronously); NULL `cb`
/// removes the check. The requests it refuses reach the
/// `connection_error` hook too.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_allow_request(
    opts: *mut sio_server_options,
    cb: sio_allow_request_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    set_hook(
        opts,
        "allow_request",
        cb,
        user_data,
        free_user_data,
        |cb, ud| {
            OptionValue::AllowRequest(Some(Arc::new(move |info: &RequestInfo| {
                let req = sio_request::new(info);
                let refusal = cb(ud.ptr(), &req);
                if refusal.is_null() {
                    Ok(())
                } else {
                    Err(std::ffi::CStr::from_ptr(refusal)
                        .to_string_lossy()
                        .into_owned())
                }
            })))
        },
        OptionValue::AllowRequest(None),
    )
}

/// Edits the headers of the handshake response (`initial`, engine.io's
/// `initial_headers` event) or of every polling response and WebSocket
/// upgrade (engine.io's `headers` event); NULL `cb` removes it.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_headers(
    opts: *mut sio_server_options,
    initial: bool,
    cb: sio_headers_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    set_hook(
        opts,
        if initial {
            "initial_headers"
        } else {
            "headers"
        },
        cb,
        user_data,
        free_user_data,
        |cb, ud| {
            OptionValue::Headers(Some(Arc::new(
                move |map: &mut HeaderMap, info: &RequestInfo| {
                    let req = sio_request::new(info);
                    let mut headers = sio_headers { map };
                    cb(ud.ptr(), &req, &mut headers);
                },
            )))
        },
        OptionValue::Headers(None),
    )
}

/// Tells `cb` of every request the engine refuses (engine.io's
/// `connection_error` event); NULL `cb` stops telling.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_on_connection_error(
    opts: *mut sio_server_options,
    cb: sio_connection_error_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    set_hook(
        opts,
        "connection_error",
        cb,
        user_data,
        free_user_data,
        |cb, ud| {
            OptionValue::ConnectionError(Some(Arc::new(move |e: &ConnectionError| {
                let req = sio_request::new(&e.req);
                let context: serde_json::Map<String, serde_json::Value> = e
                    .context
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.as_str())))
                    .collect();
                let message = cstring(&e.message);
                let context = cstring(&serde_json::Value::Object(context).to_string());
                cb(
                    ud.ptr(),
                    &req,
                    e.code as c_int,
                    message.as_ptr(),
                    context.as_ptr(),
                );
            })))
        },
        OptionValue::ConnectionError(None),
    )
}
