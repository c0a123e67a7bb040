//! `sio_server_options`: everything a server is made with, set one option
//! at a time before `sio_server_new`.

use std::ffi::{c_char, c_int};

use engineio::server::{Cookie, Cors, CorsOrigin, TransportType};
use sio_core::server::{ParserKind, RecoveryConfig};
use sio_core::ClientBundle;

use super::{
    cstr, ffi_guard, ffi_guard_or, free_handle, hmut, millis, opt_cstr, out_ptr, put, sio_queue,
    sio_runtime,
};
use crate::embed::options::{Api, OptionValue};
use crate::embed::{Error, RedisFlavour, RedisOptions, ServerOptions};

/// Transport bit: HTTP long-polling.
pub const SIO_TRANSPORT_POLLING: u32 = 1;
/// Transport bit: WebSocket.
pub const SIO_TRANSPORT_WEBSOCKET: u32 = 2;

/// Options for `sio_server_new`; start from `sio_server_options_new` (the
/// reference server's defaults, path `/socket.io/`).
pub struct sio_server_options {
    pub(crate) o: ServerOptions,
}

/// Creates server options with the defaults.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_new(out: *mut *mut sio_server_options) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_server_options {
                o: ServerOptions::default(),
            },
        );
        Ok(())
    })
}

/// Frees server options (a server made from them keeps its copy). NULL is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_free(opts: *mut sio_server_options) {
    ffi_guard_or!((), { free_handle(opts) })
}

/// Sets the option the C API calls `name` (see `embed::options`) to what
/// `value` reads from the arguments.
unsafe fn set(
    opts: *mut sio_server_options,
    name: &str,
    value: impl FnOnce() -> Result<OptionValue, Error>,
) -> c_int {
    ffi_guard!({
        let o = hmut(opts, "opts")?;
        o.o.set(Api::C, name, value()?)
    })
}

/// The HTTP path the server answers under (default "/socket.io/").
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_path(
    opts: *mut sio_server_options,
    path: *const c_char,
) -> c_int {
    set(opts, "path", || {
        Ok(OptionValue::Text(cstr(path, "path")?.to_owned()))
    })
}

/// Interval between pings (default 25000 ms; must not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_ping_interval(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    set(opts, "ping_interval", || {
        if ms == 0 {
            return Err(Error::invalid("ping interval must not be 0"));
        }
        Ok(OptionValue::Duration(millis(ms)))
    })
}

/// Time a client has to answer a ping (default 20000 ms; must not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_ping_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    set(opts, "ping_timeout", || {
        if ms == 0 {
            return Err(Error::invalid("ping timeout must not be 0"));
        }
        Ok(OptionValue::Duration(millis(ms)))
    })
}

/// Time a new connection has to join a namespace (default 45000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_connect_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    set(opts, "connect_timeout", || {
        Ok(OptionValue::Duration(millis(ms)))
    })
}

/// Default wait for acknowledgements of `emit_with_ack` (default 5000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_ack_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    set(opts, "ack_timeout", || {
        Ok(OptionValue::Duration(millis(ms)))
    })
}

/// Largest message a client may send, in bytes (`maxHttpBufferSize`,
/// default 1000000; must not be 0).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_max_payload(
    opts: *mut sio_server_options,
    bytes: usize,
) -> c_int {
    set(opts, "max_payload", || {
        if bytes == 0 {
            return Err(Error::invalid("max payload must not be 0"));
        }
        Ok(OptionValue::Count(bytes))
    })
}

/// Most binary attachments one packet may carry (default 10).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_max_attachments(
    opts: *mut sio_server_options,
    n: usize,
) -> c_int {
    set(opts, "max_attachments", || Ok(OptionValue::Count(n)))
}

/// Most simultaneous connections (0: no limit, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_max_connections(
    opts: *mut sio_server_options,
    n: usize,
) -> c_int {
    set(opts, "max_connections", || {
        Ok(OptionValue::Limit((n > 0).then_some(n)))
    })
}

/// Transports the server accepts: `SIO_TRANSPORT_POLLING |
/// SIO_TRANSPORT_WEBSOCKET` (the default), or one of them.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_transports(
    opts: *mut sio_server_options,
    mask: u32,
) -> c_int {
    set(opts, "transports", || {
        Ok(OptionValue::Transports(transports(mask)?))
    })
}

pub(crate) fn transports(mask: u32) -> Result<Vec<TransportType>, Error> {
    if mask & !(SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET) != 0 || mask == 0 {
        return Err(Error::invalid(format!(
            "transport mask {mask:#x}: use SIO_TRANSPORT_POLLING and/or SIO_TRANSPORT_WEBSOCKET"
        )));
    }
    let mut t = Vec::new();
    if mask & SIO_TRANSPORT_POLLING != 0 {
        t.push(TransportType::Polling);
    }
    if mask & SIO_TRANSPORT_WEBSOCKET != 0 {
        t.push(TransportType::Websocket);
    }
    Ok(t)
}

/// Whether polling connections may upgrade to WebSocket (default true).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_allow_upgrades(
    opts: *mut sio_server_options,
    allow: bool,
) -> c_int {
    set(opts, "allow_upgrades", || Ok(OptionValue::Bool(allow)))
}

/// Whether Socket.IO v2 clients (Engine.IO protocol 3) may connect
/// (default false: they are refused), as the reference's `allowEIO3`.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_allow_eio3(
    opts: *mut sio_server_options,
    allow: bool,
) -> c_int {
    set(opts, "allow_eio3", || Ok(OptionValue::Bool(allow)))
}

/// CORS: "*" allows any origin; otherwise a comma-separated list of allowed
/// origins; NULL disables CORS headers (the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_cors_origin(
    opts: *mut sio_server_options,
    origin: *const c_char,
) -> c_int {
    set(opts, "cors_origin", || {
        let cors = match opt_cstr(origin, "origin")? {
            None => None,
            Some("*") => Some(Cors::default()),
            Some(list) => Some(Cors {
                origin: CorsOrigin::List(
                    list.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                ),
                ..Cors::default()
            }),
        };
        Ok(OptionValue::Cors(cors))
    })
}

/// Sends `Access-Control-Allow-Credentials: true` with the CORS headers
/// (default false). Set the allowed origins first.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_cors_credentials(
    opts: *mut sio_server_options,
    credentials: bool,
) -> c_int {
    ffi_guard!({
        let o = hmut(opts, "opts")?;
        if o.o.config.engine.cors.is_none() {
            return Err(Error::invalid(
                "CORS credentials: set the allowed origins first",
            ));
        }
        o.o.set(Api::C, "cors_credentials", OptionValue::Bool(credentials))
    })
}

/// The rest of the CORS policy, as the `cors` package's options: `methods`
/// (NULL: "GET,HEAD,PUT,PATCH,POST,DELETE"), `allowed_headers` (NULL: the
/// preflight's requested headers are reflected), `exposed_headers` (NULL:
/// none) and `max_age_s` (a negative value: no `Access-Control-Max-Age`).
/// Set the allowed origins first.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_cors_headers(
    opts: *mut sio_server_options,
    methods: *const c_char,
    allowed_headers: *const c_char,
    exposed_headers: *const c_char,
    max_age_s: i64,
) -> c_int {
    ffi_guard!({
        let o = hmut(opts, "opts")?;
        let mut parts = vec![(
            "cors_max_age",
            OptionValue::Limit(usize::try_from(max_age_s).ok()),
        )];
        for (name, v, what) in [
            ("cors_methods", methods, "methods"),
            ("cors_allowed_headers", allowed_headers, "allowed_headers"),
            ("cors_exposed_headers", exposed_headers, "exposed_headers"),
        ] {
            if let Some(v) = opt_cstr(v, what)? {
                parts.push((name, OptionValue::Text(v.to_owned())));
            }
        }
        // All checked before anything changes.
        if o.o.config.engine.cors.is_none() {
            return Err(Error::invalid(
                "CORS headers: set the allowed origins first",
            ));
        }
        for (name, value) in parts {
            o.o.set(Api::C, name, value)?;
        }
        Ok(())
    })
}

/// Time a probing WebSocket has to complete the upgrade (default 10000 ms).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_upgrade_timeout(
    opts: *mut sio_server_options,
    ms: u32,
) -> c_int {
    set(opts, "upgrade_timeout", || {
        Ok(OptionValue::Duration(millis(ms)))
    })
}

/// Compresses polling responses of at least `threshold` bytes with gzip or
/// deflate when the client accepts it (engine.io's `httpCompression`; on,
/// threshold 1024, by default); `enabled` false never compresses.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_http_compression(
    opts: *mut sio_server_options,
    enabled: bool,
    threshold: usize,
) -> c_int {
    set(opts, "http_compression", || {
        Ok(OptionValue::Limit(enabled.then_some(threshold)))
    })
}

/// WebSocket compression (`permessage-deflate`, engine.io's
/// `perMessageDeflate`; off by default): when `enabled`, negotiated with
/// clients that offer it, and messages of at least `threshold` bytes go
/// compressed (engine.io's default threshold is 1024). Client messages are
/// inflated within the maximum payload.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_per_message_deflate(
    opts: *mut sio_server_options,
    enabled: bool,
    threshold: usize,
) -> c_int {
    set(opts, "per_message_deflate", || {
        Ok(OptionValue::Limit(enabled.then_some(threshold)))
    })
}

/// Sets a cookie with the session id on the handshake response, as
/// engine.io's `cookie` option: `name` (NULL: "io"), `path` (NULL: "/"),
/// `same_site` ("Strict", "Lax", "None" or NULL for none), `max_age_s` (a
/// negative value: a session cookie). `sio_server_options_clear_cookie`
/// sets none again (the default).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sio_server_options_set_cookie(
    opts: *mut sio_server_options,
    name: *const c_char,
    path: *const c_char,
    http_only: bool,
    same_site: *const c_char,
    secure: bool,
    max_age_s: i64,
) -> c_int {
    set(opts, "cookie", || {
        let same_site = opt_cstr(same_site, "same_site")?;
        if let Some(s) = same_site {
            if !["strict", "lax", "none"].contains(&s.to_ascii_lowercase().as_str()) {
                return Err(Error::invalid(format!(
                    "cookie SameSite {s:?}: use \"Strict\", \"Lax\" or \"None\""
                )));
            }
        }
        Ok(OptionValue::Cookie(Some(
            Cookie::default()
                .name(opt_cstr(name, "name")?.unwrap_or("io").to_owned())
                .path(Some(opt_cstr(path, "path")?.unwrap_or("/").to_owned()))
                .http_only(http_only)
                .same_site(same_site.map(str::to_owned))
                .secure(secure)
                .max_age(u64::try_from(max_age_s).ok()),
        )))
    })
}

/// Sets no session cookie (the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_clear_cookie(opts: *mut sio_server_options) -> c_int {
    set(opts, "cookie", || Ok(OptionValue::Cookie(None)))
}

/// Serves the official browser client under the server's path, as
/// socket.io's `serveClient`: `<path>/socket.io.js`, `socket.io.min.js`,
/// `socket.io.msgpack.min.js`, `socket.io.esm.min.js` and their `.map`
/// files, with socket.io's headers (the package version as ETag, 304 on
/// `If-None-Match`). `dir` is the directory of the npm package
/// socket.io-client (`node_modules/socket.io-client`; its `dist/` folder
/// works too), read now: SIO_ERR_IO, with the missing files named, when it
/// lacks them. NULL stops serving them (the default: the library ships no
/// client).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_serve_client(
    opts: *mut sio_server_options,
    dir: *const c_char,
) -> c_int {
    set(opts, "serve_client", || {
        let bundle = opt_cstr(dir, "dir")?
            .map(ClientBundle::load)
            .transpose()
            .map_err(|e| Error::Io(e.to_string()))?;
        Ok(OptionValue::ClientBundle(bundle))
    })
}

/// Connection state recovery: a client that reconnects within
/// `max_disconnection_ms` gets its id, rooms and missed events back.
/// Off by default.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_recovery(
    opts: *mut sio_server_options,
    enabled: bool,
    max_disconnection_ms: u32,
) -> c_int {
    set(opts, "recovery", || {
        Ok(OptionValue::Recovery(enabled.then(|| {
            RecoveryConfig::default().max_disconnection_duration(millis(max_disconnection_ms))
        })))
    })
}

/// Uses the msgpack parser (for `socket.io-msgpack-parser` clients) instead
/// of the default JSON one.
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_msgpack(
    opts: *mut sio_server_options,
    on: bool,
) -> c_int {
    set(opts, "msgpack", || {
        Ok(OptionValue::Parser(if on {
            ParserKind::MsgPack
        } else {
            ParserKind::Default
        }))
    })
}

/// Runs the server on `rt` (NULL: the global runtime, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_runtime(
    opts: *mut sio_server_options,
    rt: *const sio_runtime,
) -> c_int {
    set(opts, "runtime", || {
        Ok(OptionValue::Runtime(rt.as_ref().map(|r| r.rt.clone())))
    })
}

/// Runs the server's callbacks inside `sio_queue_poll(queue)` instead of on
/// the runtime's threads (NULL: on the runtime's threads, the default).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_queue(
    opts: *mut sio_server_options,
    queue: *const sio_queue,
) -> c_int {
    set(opts, "queue", || {
        Ok(OptionValue::Queue(queue.as_ref().map(|q| q.q.clone())))
    })
}

/// Joins a cluster through Redis at `url` (e.g. "redis://127.0.0.1:6379")
/// instead of the in-memory adapter. "rediss://" speaks TLS,
/// "redis://user:password@host" logs in as an ACL user, comma-separated
/// URLs are the seed nodes of a Redis Cluster and
/// "redis+sentinel://host:port,.../db/service" asks Sentinels for the
/// master. `flavour` names the Node adapter whose
/// wire format to speak: "classic" (NULL: the default,
/// `@socket.io/redis-adapter` `createAdapter`), "sharded" (its
/// `createShardedAdapter`, Redis 7+) or "streams"
/// (`@socket.io/redis-streams-adapter` 0.3, with connection state recovery
/// across servers when the server enables recovery); another name fails
/// with SIO_ERR_INVALID_ARGUMENT. `key` is the channel prefix (NULL:
/// "socket.io"; for streams also the stream name). `sio_server_new`
/// connects and fails with SIO_ERR_IO when Redis cannot be reached.
/// A "postgres://" (or "postgresql://") URL joins a
/// `@socket.io/postgres-adapter` cluster on that database instead
/// (`flavour` NULL or "classic", `key` its channel prefix).
#[no_mangle]
pub unsafe extern "C" fn sio_server_options_set_redis(
    opts: *mut sio_server_options,
    url: *const c_char,
    flavour: *const c_char,
    key: *const c_char,
) -> c_int {
    set(opts, "redis", || {
        let url = cstr(url, "url")?;
        let flavour = RedisFlavour::parse(opt_cstr(flavour, "flavour")?.unwrap_or("classic"))?;
        let key = opt_cstr(key, "key")?.map(str::to_owned);
        Ok(OptionValue::Redis(Some(RedisOptions {
            key,
            ..RedisOptions::new(url, flavour)
        })))
    })
}
