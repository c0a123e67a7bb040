//! The C API: `extern "C"` functions over [`crate::embed`], declared in
//! `include/socketio.h` (generated from this module by cbindgen).
//!
//! The conventions (status codes, last error, ownership, threads) are
//! written once, at the top of the header; see `ffi/cbindgen.toml`. Every
//! function here is `unsafe`: its contract is those conventions — pointers
//! are valid for what the header says or NULL where it allows NULL, strings
//! are NUL-terminated UTF-8, handles are used after `*_free` never.
//!
//! Every export runs its body inside `ffi_guard!` (or `ffi_guard_or!`),
//! which catches panics, so none crosses the boundary.

// The safety contract of every function is the header's conventions, not a
// per-function section.
#![allow(clippy::missing_safety_doc)]
// C names for C types.
#![allow(non_camel_case_types)]

mod ack;
mod admin;
mod auth;
mod broadcast;
mod client;
mod emitter;
mod hooks;
mod namespace;
mod options;
mod runtime;
mod server;
mod socket;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use bytes::Bytes;

use crate::embed::{payload, Error, Value};

pub use ack::*;
pub use admin::*;
pub use auth::*;
pub use broadcast::*;
pub use client::*;
pub use emitter::*;
pub use hooks::*;
pub use namespace::*;
pub use options::*;
pub use runtime::*;
pub use server::*;
pub use socket::*;

/// The version of the C ABI this library implements; compare it with
/// `sio_abi_version()` at startup to catch a header/library mismatch.
pub const SIO_ABI_VERSION: u32 = 1;

/// Success.
pub const SIO_OK: c_int = 0;
/// A bad argument: a NULL pointer, text that is not UTF-8, a payload that is
/// not a JSON array, a placeholder without its buffer, an out-of-range value.
pub const SIO_ERR_INVALID_ARGUMENT: c_int = -1;
/// The call does not fit the object's state (listening twice, emitting on a
/// client that was never connected...).
pub const SIO_ERR_STATE: c_int = -2;
/// An operating-system or network error: binding a port, creating threads,
/// a client that cannot reach its server (network, TLS, HTTP, timeout) or
/// whose connection broke before the namespace joined.
pub const SIO_ERR_IO: c_int = -3;
/// The socket is disconnected.
pub const SIO_ERR_DISCONNECTED: c_int = -4;
/// A send buffer is full.
pub const SIO_ERR_BUFFER_FULL: c_int = -5;
/// No acknowledgement came in time.
pub const SIO_ERR_TIMEOUT: c_int = -6;
/// The server refused the connection (a middleware, or an unknown
/// namespace), with its message and data.
pub const SIO_ERR_REFUSED: c_int = -7;
/// The object is closed.
pub const SIO_ERR_CLOSED: c_int = -8;
/// A limit was reached (rooms per socket).
pub const SIO_ERR_LIMIT: c_int = -9;
/// An internal error (a caught panic): a bug in the library.
pub const SIO_ERR_INTERNAL: c_int = -10;

/// The status code of an error.
pub(crate) fn status_of(e: &Error) -> c_int {
    match e {
        Error::InvalidArgument(_) => SIO_ERR_INVALID_ARGUMENT,
        Error::State(_) => SIO_ERR_STATE,
        Error::Io(_) => SIO_ERR_IO,
        Error::Disconnected => SIO_ERR_DISCONNECTED,
        Error::Full => SIO_ERR_BUFFER_FULL,
        Error::Timeout => SIO_ERR_TIMEOUT,
        Error::Refused { .. } => SIO_ERR_REFUSED,
        Error::Closed(_) => SIO_ERR_CLOSED,
        Error::Limit(_) => SIO_ERR_LIMIT,
        Error::Panic(_) => SIO_ERR_INTERNAL,
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn clear_last_error() {
    LAST_ERROR.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if !l.as_bytes().is_empty() {
                *l = CString::default();
            }
        }
    });
}

/// Records `e` as this thread's last error; returns its status.
pub(crate) fn set_last_error(e: &Error) -> c_int {
    LAST_ERROR.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = cstring(&e.to_string());
        }
    });
    status_of(e)
}

/// Runs the body of an export: clears the last error, catches panics, and
/// turns the outcome into a status.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Error>) -> c_int {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => SIO_OK,
        Ok(Err(e)) => set_last_error(&e),
        Err(p) => set_last_error(&Error::from_panic(p.as_ref())),
    }
}

/// Runs the body of an export that returns a value rather than a status:
/// a panic yields `default`.
pub(crate) fn guard_or<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// The body of a status-returning export: `ffi_guard!({ ...; Ok(()) })`.
macro_rules! ffi_guard {
    ($body:block) => {
        $crate::capi::guard(move || -> Result<(), $crate::embed::Error> { $body })
    };
}

/// The body of an export returning `$default` on a panic.
macro_rules! ffi_guard_or {
    ($default:expr, $body:block) => {
        $crate::capi::guard_or($default, move || $body)
    };
}

pub(crate) use {ffi_guard, ffi_guard_or};

/// A C string from Rust text; NULs (which JSON escapes, but event names and
/// reasons might carry) become U+FFFD.
pub(crate) fn cstring(s: &str) -> CString {
    CString::new(s)
        .unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default())
}

/// Borrows a required C string.
pub(crate) unsafe fn cstr<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::invalid(format!("{what} is not UTF-8")))
}

/// Borrows an optional C string.
pub(crate) unsafe fn opt_cstr<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        Ok(None)
    } else {
        cstr(p, what).map(Some)
    }
}

/// Borrows a required handle.
pub(crate) unsafe fn href<'a, T>(p: *const T, what: &str) -> Result<&'a T, Error> {
    p.as_ref()
        .ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// Borrows a required handle mutably.
pub(crate) unsafe fn hmut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Error> {
    p.as_mut()
        .ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// Checks a required out-pointer.
pub(crate) fn out_ptr<T>(p: *mut T, what: &str) -> Result<*mut T, Error> {
    if p.is_null() {
        Err(Error::invalid(format!("{what} is NULL")))
    } else {
        Ok(p)
    }
}

/// Stores a new handle through an out-pointer.
pub(crate) unsafe fn put<T>(out: *mut *mut T, value: T) {
    *out = Box::into_raw(Box::new(value));
}

/// Frees a handle made by [`put`]; NULL is a no-op.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        drop(Box::from_raw(p));
    }
}

/// A binary buffer: `len` bytes at `data` (`data` may be NULL when `len`
/// is 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sio_buf {
    /// The bytes.
    pub data: *const u8,
    /// How many.
    pub len: usize,
}

/// An event's arguments as the library hands them to a callback: `json` is a
/// JSON array (one element per argument, NUL-terminated, `json_len` bytes
/// without the NUL) in which each binary buffer appears as
/// `{"_placeholder":true,"num":N}`, `N` indexing `bins`. Everything it points
/// to lives until the callback returns: copy what you keep.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sio_payload {
    /// The JSON array.
    pub json: *const c_char,
    /// Its length in bytes.
    pub json_len: usize,
    /// The binary buffers, in placeholder order.
    pub bins: *const sio_buf,
    /// How many buffers.
    pub n_bins: usize,
}

/// Owns what a [`sio_payload`] points to, for the time of one callback.
pub(crate) struct PayloadHolder {
    json: CString,
    _bufs: Vec<Bytes>,
    views: Vec<sio_buf>,
}

impl PayloadHolder {
    pub(crate) fn new(args: &[Value]) -> PayloadHolder {
        Self::from_payload(payload::encode(args))
    }

    pub(crate) fn from_payload(p: payload::Payload) -> PayloadHolder {
        let views = p
            .bins
            .iter()
            .map(|b| sio_buf {
                data: b.as_ptr(),
                len: b.len(),
            })
            .collect();
        PayloadHolder {
            json: cstring(&p.json),
            _bufs: p.bins,
            views,
        }
    }

    pub(crate) fn raw(&self) -> sio_payload {
        sio_payload {
            json: self.json.as_ptr(),
            json_len: self.json.as_bytes().len(),
            bins: if self.views.is_empty() {
                std::ptr::null()
            } else {
                self.views.as_ptr()
            },
            n_bins: self.views.len(),
        }
    }
}

/// Reads `n` buffers.
pub(crate) unsafe fn buffers<'a>(bins: *const sio_buf, n: usize) -> Result<Vec<&'a [u8]>, Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if bins.is_null() {
        return Err(Error::invalid("bins is NULL but n_bins is not 0"));
    }
    std::slice::from_raw_parts(bins, n)
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if b.len == 0 {
                Ok(&[][..])
            } else if b.data.is_null() {
                Err(Error::invalid(format!("bins[{i}].data is NULL")))
            } else {
                Ok(std::slice::from_raw_parts(b.data, b.len))
            }
        })
        .collect()
}

/// Reads arguments: a JSON array (NULL: none) and its buffers.
pub(crate) unsafe fn read_args(
    json: *const c_char,
    bins: *const sio_buf,
    n_bins: usize,
) -> Result<Vec<Value>, Error> {
    let json = opt_cstr(json, "json")?;
    let bins = buffers(bins, n_bins)?;
    payload::decode(json, &bins)
}

/// Reads one optional JSON value without buffers.
pub(crate) unsafe fn read_value(json: *const c_char, what: &str) -> Result<Option<Value>, Error> {
    match opt_cstr(json, what)? {
        Some(j) => payload::decode_value(j, &[]).map(Some),
        None => Ok(None),
    }
}

/// Hands a string to C (freed with `sio_string_free`).
pub(crate) unsafe fn put_string(out: *mut *mut c_char, s: &str) {
    *out = cstring(s).into_raw();
}

/// Releases `user_data`; the function every registration may be given.
pub type sio_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A caller's `user_data` with its release function, called once when the
/// library no longer needs it.
pub(crate) struct UserData {
    ptr: *mut c_void,
    free: sio_free_fn,
}

// The caller promises (header conventions) that user_data may be used and
// released from the threads callbacks run on.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    pub(crate) fn new(ptr: *mut c_void, free: sio_free_fn) -> UserData {
        UserData { ptr, free }
    }

    pub(crate) fn ptr(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            unsafe { f(self.ptr) };
        }
    }
}

/// Completion with a payload: `status` is SIO_OK or the error's status,
/// `error` its message (NULL on success), `args` the acknowledgement's
/// arguments (an empty array on error; never NULL).
pub type sio_reply_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: c_int,
        error: *const c_char,
        args: *const sio_payload,
    ),
>;

/// Completion without a result: `status` and `error` (NULL on success).
pub type sio_done_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: c_int, error: *const c_char)>;

pub(crate) fn required<T>(cb: Option<T>, what: &str) -> Result<T, Error> {
    cb.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

pub(crate) fn millis(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

/// Calls a `sio_done_cb` with an outcome.
pub(crate) unsafe fn call_done(
    cb: unsafe extern "C" fn(*mut c_void, c_int, *const c_char),
    ud: &UserData,
    r: Result<(), Error>,
) {
    match r {
        Ok(()) => cb(ud.ptr(), SIO_OK, std::ptr::null()),
        Err(e) => {
            let msg = cstring(&e.to_string());
            cb(ud.ptr(), status_of(&e), msg.as_ptr());
        }
    }
}

/// Calls a `sio_reply_cb` with an outcome.
pub(crate) unsafe fn call_reply(
    cb: unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const sio_payload),
    ud: &UserData,
    r: Result<Vec<Value>, Error>,
) {
    match r {
        Ok(args) => {
            let p = PayloadHolder::new(&args);
            cb(ud.ptr(), SIO_OK, std::ptr::null(), &p.raw());
        }
        Err(e) => {
            let data = match &e {
                Error::Refused { data: Some(d), .. } => vec![d.clone()],
                _ => Vec::new(),
            };
            let p = PayloadHolder::new(&data);
            let msg = cstring(&e.to_string());
            cb(ud.ptr(), status_of(&e), msg.as_ptr(), &p.raw());
        }
    }
}

/// The ABI version of the library (compare with `SIO_ABI_VERSION`).
#[no_mangle]
pub extern "C" fn sio_abi_version() -> u32 {
    SIO_ABI_VERSION
}

/// The library version, e.g. "0.1.0" (static storage).
#[no_mangle]
pub extern "C" fn sio_version() -> *const c_char {
    static V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    V.as_ptr().cast()
}

/// The message of the last failed call on this thread ("" when the last
/// call succeeded). Valid until the next `sio_` call on this thread.
#[no_mangle]
pub extern "C" fn sio_last_error() -> *const c_char {
    ffi_guard_or!(c"".as_ptr(), {
        LAST_ERROR.with(|l| match l.try_borrow() {
            Ok(l) => l.as_ptr(),
            Err(_) => c"".as_ptr(),
        })
    })
}

/// A short description of a status code (static storage).
#[no_mangle]
pub extern "C" fn sio_status_str(status: c_int) -> *const c_char {
    let s: &CStr = match status {
        SIO_OK => c"ok",
        SIO_ERR_INVALID_ARGUMENT => c"invalid argument",
        SIO_ERR_STATE => c"invalid state",
        SIO_ERR_IO => c"I/O error",
        SIO_ERR_DISCONNECTED => c"disconnected",
        SIO_ERR_BUFFER_FULL => c"buffer full",
        SIO_ERR_TIMEOUT => c"timed out",
        SIO_ERR_REFUSED => c"refused",
        SIO_ERR_CLOSED => c"closed",
        SIO_ERR_LIMIT => c"limit reached",
        SIO_ERR_INTERNAL => c"internal error",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// Frees a string the library returned through a `char **` out-parameter.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_string_free(s: *mut c_char) {
    ffi_guard_or!((), {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
}
