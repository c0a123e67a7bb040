//! The client half: options, connection, events, emits, reconnection.

use std::ffi::{c_char, c_int, c_void};

use super::{
    call_reply, cstr, cstring, ffi_guard, ffi_guard_or, free_handle, hmut, href, millis, out_ptr,
    put, put_string, read_args, read_value, required, sio_ack, sio_free_fn, sio_payload, sio_queue,
    sio_reply_cb, sio_runtime, transports, PayloadHolder, UserData,
};
use crate::embed::{Client, ClientOptions, Error, ReconnectEvent};
use sio_core::client::EngineEvent;

/// Reconnection event: an attempt is about to start (`attempt` is its
/// number, from 1).
pub const SIO_RECONNECT_ATTEMPT: c_int = 1;
/// Reconnection event: reconnected (`attempt`: how many it took).
pub const SIO_RECONNECT_SUCCESS: c_int = 2;
/// Reconnection event: an attempt failed (`error` says why).
pub const SIO_RECONNECT_ERROR: c_int = 3;
/// Reconnection event: every attempt failed; no more will be made.
pub const SIO_RECONNECT_FAILED: c_int = 4;

/// Manager event: a session opened (`text`: its transport, "polling"
/// or "websocket"); socket.io-client's manager `open`.
pub const SIO_MANAGER_OPEN: c_int = 1;
/// Manager event: an attempt failed (`text`: why); the manager's
/// `error`.
pub const SIO_MANAGER_ERROR: c_int = 2;
/// Manager event: the session moved to another transport (`text`: the
/// new one); the engine's `upgrade`.
pub const SIO_MANAGER_UPGRADE: c_int = 3;
/// Manager event: the server pinged (`text` NULL); the manager's `ping`.
pub const SIO_MANAGER_PING: c_int = 4;
/// Manager event: the session closed (`text`: the reason, e.g.
/// "transport close"); the manager's `close`.
pub const SIO_MANAGER_CLOSE: c_int = 5;

/// Called with the events of the client's connection (`SIO_MANAGER_*`).
pub type sio_manager_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, kind: c_int, text: *const c_char)>;

/// Options for `sio_client_new`; start from `sio_client_options_new` (the
/// npm socket.io-client's defaults).
pub struct sio_client_options {
    pub(crate) o: ClientOptions,
}

/// A Socket.IO client: one namespace of a server.
pub struct sio_client {
    c: Client,
}

/// Called with an event from the server, and `ack` (owned by the callback)
/// when the server asked for an acknowledgement, else NULL.
pub type sio_client_event_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        event: *const c_char,
        args: *const sio_payload,
        ack: *mut sio_ack,
    ),
>;

/// Called with every incoming event, before its own callback.
pub type sio_client_any_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, event: *const c_char, args: *const sio_payload),
>;

/// A notification without arguments (the client connected).
pub type sio_notify_cb = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Called with a reason ("io server disconnect", "io client disconnect",
/// "transport close", "ping timeout"...).
pub type sio_reason_cb =
    Option<unsafe extern "C" fn(user_data: *mut c_void, reason: *const c_char)>;

/// Called when a connection attempt fails or the server refuses the
/// namespace: the message, and `data` as a one-element array when the
/// server sent data (else an empty array).
pub type sio_client_error_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, message: *const c_char, data: *const sio_payload),
>;

/// Reconnection events: `kind` is one of `SIO_RECONNECT_*`; `attempt` the
/// attempt number (0 for SIO_RECONNECT_ERROR / SIO_RECONNECT_FAILED);
/// `error` the failure (NULL unless SIO_RECONNECT_ERROR).
pub type sio_reconnect_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, kind: c_int, attempt: u32, error: *const c_char),
>;

/// Creates client options with the defaults.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_new(out: *mut *mut sio_client_options) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_client_options {
                o: ClientOptions::default(),
            },
        );
        Ok(())
    })
}

/// Frees client options (a client made from them keeps its copy). NULL is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_free(opts: *mut sio_client_options) {
    ffi_guard_or!((), { free_handle(opts) })
}

unsafe fn with_opts(
    opts: *mut sio_client_options,
    f: impl FnOnce(&mut ClientOptions) -> Result<(), Error>,
) -> c_int {
    ffi_guard!({ f(&mut hmut(opts, "opts")?.o) })
}

/// The namespace to join (default: the URL's path, else "/").
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_namespace(
    opts: *mut sio_client_options,
    nsp: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        o.namespace = Some(cstr(nsp, "nsp")?.to_owned());
        Ok(())
    })
}

/// The CONNECT payload (the server's `handshake.auth`): a JSON object, or
/// NULL for none; the same on every connection. It takes the place of an
/// auth callback (`sio_client_options_set_auth_callback`).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_auth(
    opts: *mut sio_client_options,
    json: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        let auth = read_value(json, "json")?;
        if auth.as_ref().is_some_and(|a| a.as_object().is_none()) {
            return Err(Error::invalid("auth must be a JSON object"));
        }
        o.auth = auth;
        o.auth_handler = None;
        Ok(())
    })
}

/// The server's path (default "/socket.io").
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_path(
    opts: *mut sio_client_options,
    path: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        o.manager.engine.path = cstr(path, "path")?.to_owned();
        Ok(())
    })
}

/// Adds a query parameter sent with every request.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_add_query(
    opts: *mut sio_client_options,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        let (k, v) = (cstr(key, "key")?, cstr(value, "value")?);
        o.manager.engine.query.push((k.to_owned(), v.to_owned()));
        Ok(())
    })
}

/// Adds an HTTP header sent with every request.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_add_header(
    opts: *mut sio_client_options,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    with_opts(opts, |o| {
        o.add_header(cstr(name, "name")?, cstr(value, "value")?)
    })
}

/// Transports to use: `SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET` (the
/// default: polling first, then an upgrade), or one of them.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_transports(
    opts: *mut sio_client_options,
    mask: u32,
) -> c_int {
    with_opts(opts, |o| o.set_transports(transports(mask)?))
}

/// Whether to upgrade from polling to WebSocket (default true).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_upgrade(
    opts: *mut sio_client_options,
    upgrade: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.manager.engine.upgrade = upgrade;
        Ok(())
    })
}

/// Whether to reconnect after a lost connection (default true).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_reconnection(
    opts: *mut sio_client_options,
    on: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.manager.reconnection = on;
        Ok(())
    })
}

/// Reconnection attempts before giving up (default: unlimited).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_reconnection_attempts(
    opts: *mut sio_client_options,
    n: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.manager.reconnection_attempts = n;
        Ok(())
    })
}

/// First and longest delay between reconnection attempts (defaults 1000
/// and 5000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_reconnection_delay(
    opts: *mut sio_client_options,
    delay_ms: u32,
    max_delay_ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        if max_delay_ms < delay_ms {
            return Err(Error::invalid(
                "the longest delay is shorter than the first",
            ));
        }
        o.manager.reconnection_delay = millis(delay_ms);
        o.manager.reconnection_delay_max = millis(max_delay_ms);
        Ok(())
    })
}

/// Jitter of the reconnection delays, 0 to 1 (default 0.5).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_randomization_factor(
    opts: *mut sio_client_options,
    factor: f64,
) -> c_int {
    with_opts(opts, |o| {
        if !(0.0..=1.0).contains(&factor) {
            return Err(Error::invalid(
                "the randomization factor must be between 0 and 1",
            ));
        }
        o.manager.randomization_factor = factor;
        Ok(())
    })
}

/// Longest wait for each connection attempt (default 20000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_timeout(
    opts: *mut sio_client_options,
    ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.manager.timeout = millis(ms);
        o.manager.engine.connect_timeout = Some(millis(ms));
        Ok(())
    })
}

/// Default wait for acknowledgements (0: until disconnected, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_ack_timeout(
    opts: *mut sio_client_options,
    ms: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.socket.ack_timeout = (ms > 0).then(|| millis(ms));
        Ok(())
    })
}

/// Sends every event through a queue, one at a time, each retried up to `n`
/// times until the server acknowledges it (default: off).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_retries(
    opts: *mut sio_client_options,
    n: u32,
) -> c_int {
    with_opts(opts, |o| {
        o.socket.retries = Some(n);
        Ok(())
    })
}

/// A connection of its own rather than one shared with other clients of
/// the same server (default false).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_force_new(
    opts: *mut sio_client_options,
    on: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.force_new = on;
        Ok(())
    })
}

/// Uses the msgpack parser (the server must too).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_msgpack(
    opts: *mut sio_client_options,
    on: bool,
) -> c_int {
    with_opts(opts, |o| {
        o.msgpack(on);
        Ok(())
    })
}

/// Trusts the root certificates in `pem` (PEM text, `len` bytes, one or
/// more certificates) for `https://` / `wss://` URLs, on top of the
/// built-in roots. May be called several times.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_add_tls_root_pem(
    opts: *mut sio_client_options,
    pem: *const u8,
    len: usize,
) -> c_int {
    with_opts(opts, |o| {
        if pem.is_null() || len == 0 {
            return Err(Error::invalid("pem is NULL or empty"));
        }
        let pem = std::slice::from_raw_parts(pem, len).to_vec();
        if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
            return Err(Error::invalid("pem holds no PEM certificate"));
        }
        let tls = o.manager.engine.tls.take().unwrap_or_default();
        o.manager.engine.tls = Some(tls.root_cert_pem(pem));
        Ok(())
    })
}

/// Presents a client certificate to servers that ask for one (mutual TLS):
/// `cert_pem` the certificate chain (PEM text, `cert_len` bytes, the
/// client's own certificate first), `key_pem` its private key (PEM,
/// unencrypted PKCS#8, PKCS#1 or SEC1, `key_len` bytes). A key that does
/// not parse fails the connection with a message.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_tls_client_cert(
    opts: *mut sio_client_options,
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
) -> c_int {
    with_opts(opts, |o| {
        if cert_pem.is_null() || cert_len == 0 {
            return Err(Error::invalid("cert_pem is NULL or empty"));
        }
        if key_pem.is_null() || key_len == 0 {
            return Err(Error::invalid("key_pem is NULL or empty"));
        }
        let cert = std::slice::from_raw_parts(cert_pem, cert_len).to_vec();
        let key = std::slice::from_raw_parts(key_pem, key_len).to_vec();
        for (name, pem) in [("cert_pem", &cert), ("key_pem", &key)] {
            if !pem.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(Error::invalid(format!("{name} holds no PEM block")));
            }
        }
        let tls = o.manager.engine.tls.take().unwrap_or_default();
        o.manager.engine.tls = Some(tls.client_auth_pem(cert, key));
        Ok(())
    })
}

/// Whether to trust the built-in root certificates (Mozilla's; default
/// true). Off, only the roots of `sio_client_options_add_tls_root_pem` are.
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_tls_builtin_roots(
    opts: *mut sio_client_options,
    on: bool,
) -> c_int {
    with_opts(opts, |o| {
        let tls = o.manager.engine.tls.take().unwrap_or_default();
        o.manager.engine.tls = Some(tls.builtin_roots(on));
        Ok(())
    })
}

/// Runs the client on `rt` (NULL: the global runtime).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_runtime(
    opts: *mut sio_client_options,
    rt: *const sio_runtime,
) -> c_int {
    with_opts(opts, |o| {
        o.runtime = rt.as_ref().map(|r| r.rt.clone());
        Ok(())
    })
}

/// Runs the client's callbacks inside `sio_queue_poll(queue)` (NULL: on
/// the runtime's threads).
#[no_mangle]
pub unsafe extern "C" fn sio_client_options_set_queue(
    opts: *mut sio_client_options,
    queue: *const sio_queue,
) -> c_int {
    with_opts(opts, |o| {
        o.queue = queue.as_ref().map(|q| q.q.clone());
        Ok(())
    })
}

/// Creates a client of the server at `url` ("http://host:port", a path
/// names the namespace) with `opts` (NULL: defaults). Register callbacks,
/// then `sio_client_connect`.
#[no_mangle]
pub unsafe extern "C" fn sio_client_new(
    url: *const c_char,
    opts: *const sio_client_options,
    out: *mut *mut sio_client,
) -> c_int {
    ffi_guard!({
        let url = cstr(url, "url")?;
        let out = out_ptr(out, "out")?;
        let o = opts.as_ref().map(|o| o.o.clone()).unwrap_or_default();
        put(
            out,
            sio_client {
                c: Client::new(url, o)?,
            },
        );
        Ok(())
    })
}

/// Handles an event (replacing the previous callback of that name).
#[no_mangle]
pub unsafe extern "C" fn sio_client_on(
    client: *const sio_client,
    event: *const c_char,
    cb: sio_client_event_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let event = cstr(event, "event")?;
        let cb = required(cb, "cb")?;
        c.c.on(event, event_handler(cb, ud));
        Ok(())
    })
}

/// Handles the events that have no callback of their own, with their
/// acknowledgement (python-socketio's `'*'` handler; `sio_client_on_any`
/// only listens). Replaces the previous one.
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_fallback(
    client: *const sio_client,
    cb: sio_client_event_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_fallback(event_handler(cb, ud));
        Ok(())
    })
}

type EventFn = unsafe extern "C" fn(*mut c_void, *const c_char, *const sio_payload, *mut sio_ack);

/// A client event handler calling `cb`: the payload borrowed for the call,
/// the acknowledgement (if asked for) the callback's to own.
fn event_handler(
    cb: EventFn,
    ud: UserData,
) -> impl Fn(&str, Vec<crate::embed::Value>, Option<crate::embed::Ack>) + Send + Sync + 'static {
    move |name, args, ack| {
        let name = cstring(name);
        let p = PayloadHolder::new(&args);
        let ack = ack.map_or(std::ptr::null_mut(), |a| {
            Box::into_raw(Box::new(sio_ack::from(a)))
        });
        unsafe { cb(ud.ptr(), name.as_ptr(), &p.raw(), ack) };
    }
}

/// Removes the callback of an event.
#[no_mangle]
pub unsafe extern "C" fn sio_client_off(client: *const sio_client, event: *const c_char) -> c_int {
    ffi_guard!({
        href(client, "client")?.c.off(cstr(event, "event")?);
        Ok(())
    })
}

/// Listens to every incoming event.
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_any(
    client: *const sio_client,
    cb: sio_client_any_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_any(move |name, args| {
            let name = cstring(name);
            let p = PayloadHolder::new(&args);
            cb(ud.ptr(), name.as_ptr(), &p.raw());
        });
        Ok(())
    })
}

/// Called on every connection, reconnections included.
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_connect(
    client: *const sio_client,
    cb: sio_notify_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_connect(move || cb(ud.ptr()));
        Ok(())
    })
}

/// Called when the connected client disconnects.
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_disconnect(
    client: *const sio_client,
    cb: sio_reason_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_disconnect(move |reason| {
            let reason = cstring(reason);
            cb(ud.ptr(), reason.as_ptr());
        });
        Ok(())
    })
}

/// Called when a connection attempt fails or the server refuses it.
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_connect_error(
    client: *const sio_client,
    cb: sio_client_error_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_connect_error(move |message, data| {
            let message = cstring(message);
            let p = PayloadHolder::new(data.as_slice());
            cb(ud.ptr(), message.as_ptr(), &p.raw());
        });
        Ok(())
    })
}

/// Reconnection events (see `SIO_RECONNECT_*`).
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_reconnect(
    client: *const sio_client,
    cb: sio_reconnect_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_reconnect(move |ev| match ev {
            ReconnectEvent::Attempt(n) => cb(ud.ptr(), SIO_RECONNECT_ATTEMPT, n, std::ptr::null()),
            ReconnectEvent::Reconnected(n) => {
                cb(ud.ptr(), SIO_RECONNECT_SUCCESS, n, std::ptr::null())
            }
            ReconnectEvent::Error(e) => {
                let e = cstring(&e);
                cb(ud.ptr(), SIO_RECONNECT_ERROR, 0, e.as_ptr());
            }
            ReconnectEvent::Failed => cb(ud.ptr(), SIO_RECONNECT_FAILED, 0, std::ptr::null()),
        });
        Ok(())
    })
}

/// The events of the client's connection, as socket.io-client's manager
/// emits them: `SIO_MANAGER_OPEN`, `_ERROR`, `_UPGRADE`, `_PING` and
/// `_CLOSE`, in order.
#[no_mangle]
pub unsafe extern "C" fn sio_client_on_manager_event(
    client: *const sio_client,
    cb: sio_manager_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let cb = required(cb, "cb")?;
        c.c.on_engine(move |ev| {
            let (kind, text) = match ev {
                EngineEvent::Open { transport, .. } => {
                    (SIO_MANAGER_OPEN, Some(transport.to_string()))
                }
                EngineEvent::OpenError { message, .. } => (SIO_MANAGER_ERROR, Some(message)),
                EngineEvent::Upgrade(t) => (SIO_MANAGER_UPGRADE, Some(t.to_string())),
                EngineEvent::Ping => (SIO_MANAGER_PING, None),
                EngineEvent::Close { reason, .. } => {
                    (SIO_MANAGER_CLOSE, Some(reason.as_str().to_owned()))
                }
                // Packets are not watched from C; Idle is the embedding's.
                _ => return,
            };
            let text = text.map(|t| cstring(&t));
            cb(
                ud.ptr(),
                kind,
                text.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
            );
        });
        Ok(())
    })
}

/// Connects (or, after `sio_client_disconnect`, connects again). `done`
/// (may be NULL) gets the outcome of the first attempt: SIO_OK,
/// SIO_ERR_REFUSED with the server's message (refused by a middleware; the
/// server's data is in `args` as a one-element array) or the connection
/// failure. With reconnection on, a client whose first attempt failed keeps
/// trying.
#[no_mangle]
pub unsafe extern "C" fn sio_client_connect(
    client: *const sio_client,
    done: sio_reply_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let completion = done.map(|cb| {
            Box::new(move |r: Result<(), Error>| call_reply(cb, &ud, r.map(|()| Vec::new()))) as _
        });
        c.c.connect(completion)
    })
}

/// Emits an event; buffered while disconnected. `json` is a JSON array of
/// arguments (NULL: none) whose placeholders index `bins`.
#[no_mangle]
pub unsafe extern "C" fn sio_client_emit(
    client: *const sio_client,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let c = href(client, "client")?;
        let event = cstr(event, "event")?;
        c.c.emit(event, read_args(json, bins, n_bins)?)
    })
}

/// Emits an event, dropped unless the client is connected.
#[no_mangle]
pub unsafe extern "C" fn sio_client_emit_volatile(
    client: *const sio_client,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
) -> c_int {
    ffi_guard!({
        let c = href(client, "client")?;
        let event = cstr(event, "event")?;
        c.c.emit_volatile(event, read_args(json, bins, n_bins)?)
    })
}

/// Emits an event asking for an acknowledgement; `cb` gets the server's
/// answer, SIO_ERR_TIMEOUT after `timeout_ms` (0: the client's ack timeout,
/// by default none), or SIO_ERR_DISCONNECTED.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sio_client_emit_with_ack(
    client: *const sio_client,
    event: *const c_char,
    json: *const c_char,
    bins: *const super::sio_buf,
    n_bins: usize,
    timeout_ms: u32,
    cb: sio_reply_cb,
    user_data: *mut c_void,
    free_user_data: sio_free_fn,
) -> c_int {
    ffi_guard!({
        let ud = UserData::new(user_data, free_user_data);
        let c = href(client, "client")?;
        let event = cstr(event, "event")?;
        let args = read_args(json, bins, n_bins)?;
        let cb = required(cb, "cb")?;
        let timeout = (timeout_ms > 0).then(|| millis(timeout_ms));
        c.c.emit_with_ack(event, args, timeout, move |r| call_reply(cb, &ud, r))
    })
}

/// Leaves the namespace (reason "io client disconnect"); no reconnection
/// until `sio_client_connect`.
#[no_mangle]
pub unsafe extern "C" fn sio_client_disconnect(client: *const sio_client) -> c_int {
    ffi_guard!({
        href(client, "client")?.c.disconnect();
        Ok(())
    })
}

/// True while connected (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn sio_client_connected(client: *const sio_client) -> bool {
    ffi_guard_or!(false, { client.as_ref().is_some_and(|c| c.c.connected()) })
}

/// Stores the socket id the server gave (free with `sio_string_free`);
/// SIO_ERR_STATE while not connected.
#[no_mangle]
pub unsafe extern "C" fn sio_client_id(client: *const sio_client, out: *mut *mut c_char) -> c_int {
    ffi_guard!({
        let c = href(client, "client")?;
        let out = out_ptr(out, "out")?;
        let id =
            c.c.id()
                .ok_or_else(|| Error::state("the client is not connected"))?;
        put_string(out, &id);
        Ok(())
    })
}

/// Disconnects and frees a client; its callbacks are not called after this
/// returns (one already running on another thread may finish). NULL is a
/// no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_client_free(client: *mut sio_client) {
    ffi_guard_or!((), { free_handle(client) })
}
