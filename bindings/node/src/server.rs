//! The server: options, namespaces, dynamic (parent) namespaces.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Buffer, FromNapiValue, Function, Object};
use napi::Env;
use napi_derive::napi;
use sio_core::server::{ConnectError, ParentNamespace, RecoveryConfig};
use socketio_ffi::embed::options::{
    parse_parser, parse_transports, Api, OptionType, OptionValue, ServerOption,
};
use socketio_ffi::embed::{self, Namespace, Server, ServerOptions, Socket, Value};
use tokio::sync::oneshot;

use crate::broadcast::{self, BroadcastAction, BroadcastSpec};
use crate::dispatch::{Dispatcher, Event, EventKind, JsEventArgs};
use crate::engine::{self, EngineSocketHandle, EngineState};
use crate::socket::{completion, watch_socket, NextKind, SockRef};
use crate::{argument_err, decode, js_err, millis};

/// How a CORS policy decides the origin.
#[napi(string_enum = "lowercase")]
pub enum CorsMode {
    /// Any origin (`*`).
    Any,
    /// The request's origin (`true`).
    Reflect,
    /// One origin, sent as is (a string).
    Fixed,
    /// Strings and regular expressions compared here.
    Match,
    /// Asked of JS with an `Origin` event: a function, or patterns the Rust
    /// regex engine cannot run.
    Callback,
}

/// CORS options, normalised by the JS layer from the `cors` package's.
#[napi(object)]
pub struct CorsOpts {
    /// How the origin is decided.
    pub mode: CorsMode,
    /// The fixed origin, or the strings to compare.
    pub origins: Vec<String>,
    /// Regular expressions (Rust syntax, flags inline) to test.
    pub patterns: Vec<String>,
    /// `Access-Control-Allow-Credentials`.
    pub credentials: Option<bool>,
    /// `Access-Control-Allow-Methods`.
    pub methods: Option<String>,
    /// `Access-Control-Allow-Headers`.
    pub allowed_headers: Option<String>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Option<String>,
    /// `Access-Control-Max-Age`, seconds.
    pub max_age: Option<f64>,
}

/// The engine's CORS policy from the JS layer's; a pattern the regex engine
/// refuses is reported, and the JS layer then asks for `callback` mode.
fn cors(c: CorsOpts, disp: &Arc<Dispatcher>) -> napi::Result<engineio::server::Cors> {
    use engineio::server::{Cors, CorsOrigin, OriginAnswer};
    let defaults = Cors::default();
    let origin = match c.mode {
        CorsMode::Any => CorsOrigin::Any,
        CorsMode::Reflect => CorsOrigin::Reflect,
        CorsMode::Fixed => CorsOrigin::Fixed(c.origins.into_iter().next().unwrap_or_default()),
        CorsMode::Match => {
            let patterns = c
                .patterns
                .iter()
                .map(|p| regex::Regex::new(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| napi::Error::from_reason(format!("cors origin pattern: {e}")))?;
            let strings = c.origins;
            CorsOrigin::Predicate(Arc::new(move |o| {
                strings.iter().any(|s| s == o) || patterns.iter().any(|p| p.is_match(o))
            }))
        }
        CorsMode::Callback => {
            let d = Arc::downgrade(disp);
            CorsOrigin::Callback(Arc::new(move |origin, _| {
                let d = d.clone();
                let mut ev = Event::new(EventKind::Origin, 0);
                ev.name = origin.map(str::to_owned);
                Box::pin(async move {
                    // The answer comes from the JS thread: waited for on a
                    // blocking thread, never on a runtime worker.
                    let code = tokio::task::spawn_blocking(move || {
                        d.upgrade().and_then(|d| d.ask_code(ev))
                    })
                    .await;
                    match code {
                        Ok(Some(1)) => OriginAnswer::Allowed,
                        Ok(Some(2)) => OriginAnswer::NoCors,
                        _ => OriginAnswer::Refused,
                    }
                })
            }))
        }
    };
    Ok(Cors {
        origin,
        credentials: c.credentials.unwrap_or(defaults.credentials),
        methods: c.methods.unwrap_or(defaults.methods),
        allowed_headers: c.allowed_headers,
        exposed_headers: c.exposed_headers,
        max_age: c.max_age.map(|s| s.max(0.0) as u64),
        refuse_disallowed: false,
    })
}

/// Connection state recovery options.
#[napi(object)]
pub struct RecoveryOpts {
    /// Milliseconds a session is kept.
    pub max_disconnection_duration: Option<f64>,
    /// Whether recovered sockets skip the middlewares.
    pub skip_middlewares: Option<bool>,
}

/// The `io` cookie of the handshake response (engine.io's `cookie` option,
/// with its defaults filled in by the JS layer).
#[napi(object)]
pub struct CookieOpts {
    /// The cookie's name.
    pub name: String,
    /// `Path`; absent: none.
    pub path: Option<String>,
    /// `HttpOnly`.
    pub http_only: Option<bool>,
    /// `SameSite`: `Strict`, `Lax` or `None`; absent: none.
    pub same_site: Option<String>,
    /// `Secure`.
    pub secure: Option<bool>,
    /// `Max-Age`, in seconds.
    pub max_age: Option<f64>,
    /// `Domain`.
    pub domain: Option<String>,
}

/// Joins a Redis cluster (the `adapter` option, from `createRedisAdapter`).
#[napi(object)]
pub struct RedisOpts {
    /// e.g. `redis://127.0.0.1:6379`.
    pub url: String,
    /// The channel prefix (the Node adapter's `key`).
    pub key: Option<String>,
    /// `classic`, `sharded` or `streams`.
    pub flavour: Option<String>,
    /// How long cluster requests wait, in milliseconds.
    pub requests_timeout: Option<f64>,
    /// The classic flavour's `publishOnSpecificResponseChannel`.
    pub publish_on_specific_response_channel: Option<bool>,
    /// The sharded flavour's `subscriptionMode`: `static`, `dynamic` or
    /// `dynamic-private`.
    pub subscription_mode: Option<String>,
}

/// `@socket.io/redis-adapter`'s names of the sharded subscription modes.
fn parse_subscription_mode(
    name: &str,
) -> Result<sio_core::adapter::redis_sharded::SubscriptionMode, embed::Error> {
    use sio_core::adapter::redis_sharded::SubscriptionMode;
    match name {
        "static" => Ok(SubscriptionMode::Static),
        "dynamic" => Ok(SubscriptionMode::Dynamic),
        "dynamic-private" => Ok(SubscriptionMode::DynamicPrivate),
        other => Err(embed::Error::invalid(format!(
            "unknown subscriptionMode {other:?} (static, dynamic or dynamic-private)"
        ))),
    }
}

/// The browser client's files by package directory, read once per process.
fn client_bundle(dir: &str) -> napi::Result<sio_core::ClientBundle> {
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use parking_lot::Mutex;
    static BUNDLES: OnceLock<Mutex<HashMap<String, sio_core::ClientBundle>>> = OnceLock::new();
    let mut cache = BUNDLES.get_or_init(Default::default).lock();
    if let Some(b) = cache.get(dir) {
        return Ok(b.clone());
    }
    let bundle = sio_core::ClientBundle::load(dir)
        .map_err(|e| napi::Error::from_reason(format!("serveClient: {e}")))?;
    cache.insert(dir.to_owned(), bundle.clone());
    Ok(bundle)
}

/// The engine's `allow_request` hook: each handshake is put to the JS
/// `allowRequest` function, and waited for off the runtime's workers.
/// A connection of its own on the socket Node holds as `fd`: a duplicate,
/// so Node closing its descriptor does not end the connection (the kernel
/// keeps a TCP connection until its last descriptor is closed; Node's event
/// loop stops watching the descriptor before it closes it).
#[cfg(unix)]
fn duplicate_fd(fd: i32) -> Option<std::net::TcpStream> {
    use std::os::fd::BorrowedFd;
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is open for the length of this call: the caller holds
    // the Node socket it belongs to and destroys it only afterwards.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned = borrowed.try_clone_to_owned().ok()?;
    let stream = std::net::TcpStream::from(owned);
    // Only a connected TCP socket is taken: anything else stays relayed.
    stream.peer_addr().ok()?;
    Some(stream)
}

#[cfg(not(unix))]
fn duplicate_fd(_fd: i32) -> Option<std::net::TcpStream> {
    None
}

fn allow_request(disp: &Arc<Dispatcher>) -> engineio::server::AllowRequest {
    let d = Arc::downgrade(disp);
    Arc::new(move |req: &engineio::server::RequestInfo| {
        let ev = Event::new(EventKind::AllowRequest, 0).args(&[
            Value::from(req.method.as_str()),
            Value::from(engine::url_of(req)),
            Value::Object(engine::joined_headers(req).into_iter().collect()),
            Value::from(engine::http_version(req)),
            Value::from(engine::address_of(req)),
            // The tag of the request the middlewares saw.
            req.tag
                .map(|t| Value::from(t as f64))
                .unwrap_or(Value::Null),
        ]);
        match d.upgrade().and_then(|d| d.ask_answer(ev)) {
            Some((1, _)) => Ok(()),
            Some((_, Some(message))) => Err(message),
            _ => Err("Forbidden".to_owned()),
        }
    })
}

/// The server's options from the JS layer's object, keyed by socket.io's
/// and engine.io's option names (times in milliseconds); what each one sets
/// is the embedding layer's option table's to say, and a name it does not
/// know is an error. `undefined` and `null` leave an option at its default.
fn config(
    o: &Object<'_>,
    disp: &Arc<Dispatcher>,
    state: &Arc<EngineState>,
) -> napi::Result<ServerOptions> {
    let mut opts = ServerOptions::default();
    state.install(&mut opts.config.engine, disp);
    for key in Object::keys(o)? {
        let option = ServerOption::find(Api::Node, &key).map_err(argument_err)?;
        if let Some(value) = read(option.option_type, o, &key, disp)? {
            option.apply(&mut opts, value).map_err(argument_err)?;
        }
    }
    Ok(opts)
}

/// The JS value of option `key` as a value of type `ty`; `None` when it is
/// `undefined` or `null`.
fn read(
    ty: OptionType,
    o: &Object<'_>,
    key: &str,
    disp: &Arc<Dispatcher>,
) -> napi::Result<Option<OptionValue>> {
    fn get<V: FromNapiValue>(o: &Object<'_>, key: &str) -> napi::Result<Option<V>> {
        o.get::<Option<V>>(key)
            .map(Option::flatten)
            .map_err(|e| napi::Error::from_reason(format!("option \"{key}\": {}", e.reason)))
    }
    Ok(match ty {
        OptionType::Bool => get(o, key)?.map(OptionValue::Bool),
        OptionType::Count => get::<f64>(o, key)?.map(|n| OptionValue::Count(n.max(0.0) as usize)),
        // 0: none (no compression).
        OptionType::Limit => {
            get::<f64>(o, key)?.map(|n| OptionValue::Limit((n > 0.0).then_some(n as usize)))
        }
        OptionType::Duration => get(o, key)?.map(|ms| OptionValue::Duration(millis(ms))),
        OptionType::Text => get(o, key)?.map(OptionValue::Text),
        OptionType::Transports => get::<Vec<String>>(o, key)?
            .map(|names| parse_transports(&names).map(OptionValue::Transports))
            .transpose()
            .map_err(argument_err)?,
        OptionType::Cors => get(o, key)?
            .map(|c| cors(c, disp).map(|c| OptionValue::Cors(Some(c))))
            .transpose()?,
        OptionType::ClientBundle => get::<String>(o, key)?
            .map(|dir| client_bundle(&dir).map(|b| OptionValue::ClientBundle(Some(b))))
            .transpose()?,
        OptionType::Recovery => get::<RecoveryOpts>(o, key)?.map(|r| {
            let mut rc = RecoveryConfig::default();
            if let Some(v) = r.max_disconnection_duration {
                rc.max_disconnection_duration = millis(v);
            }
            if let Some(v) = r.skip_middlewares {
                rc.skip_middlewares = v;
            }
            OptionValue::Recovery(Some(rc))
        }),
        OptionType::Cookie => get::<CookieOpts>(o, key)?.map(|k| {
            OptionValue::Cookie(Some(
                engineio::server::Cookie::default()
                    .name(k.name)
                    .path(k.path)
                    .http_only(k.http_only.unwrap_or(false))
                    .same_site(k.same_site)
                    .secure(k.secure.unwrap_or(false))
                    .max_age(k.max_age.map(|s| s.max(0.0).floor() as u64))
                    .domain(k.domain),
            ))
        }),
        OptionType::Redis => get::<RedisOpts>(o, key)?
            .map(|r| {
                let flavour =
                    embed::RedisFlavour::parse(r.flavour.as_deref().unwrap_or("classic"))?;
                let subscription_mode = r
                    .subscription_mode
                    .as_deref()
                    .map(parse_subscription_mode)
                    .transpose()?;
                Ok(OptionValue::Redis(Some(embed::RedisOptions {
                    url: r.url,
                    key: r.key,
                    flavour,
                    requests_timeout: r.requests_timeout.map(millis),
                    publish_on_specific_response_channel: r
                        .publish_on_specific_response_channel
                        .unwrap_or(false),
                    subscription_mode,
                })))
            })
            .transpose()
            .map_err(argument_err)?,
        OptionType::Parser => get::<String>(o, key)?
            .map(|name| parse_parser(&name).map(OptionValue::Parser))
            .transpose()
            .map_err(argument_err)?,
        // true: every handshake is put to the JS `allowRequest` function.
        OptionType::AllowRequest => get::<bool>(o, key)?
            .map(|on| OptionValue::AllowRequest(on.then(|| allow_request(disp)))),
        other => {
            return Err(napi::Error::from_reason(format!(
                "option \"{key}\": {other} cannot be given from JS"
            )))
        }
    })
}

/// A Socket.IO server.
#[napi]
pub struct NativeServer {
    pub(crate) server: Arc<Server>,
    disp: Arc<Dispatcher>,
    engine: Arc<EngineState>,
}

#[napi]
impl NativeServer {
    /// A server (not listening) whose events go to `dispatch`.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        #[napi(ts_arg_type = "Record<string, unknown>")] opts: Object<'_>,
        dispatch: Function<'_, JsEventArgs, ()>,
    ) -> napi::Result<Self> {
        let disp = Dispatcher::new(dispatch)?;
        let engine = Arc::new(EngineState::default());
        let server = Server::new(config(&opts, &disp, &engine)?).map_err(js_err)?;
        Ok(NativeServer {
            server: Arc::new(server),
            disp,
            engine,
        })
    }

    /// What the JS layer listens to of the engine (see `engine::watch`).
    #[napi(catch_unwind)]
    pub fn engine_watch(&self, mask: u32) {
        self.engine.set_watch(mask);
    }

    /// Open Engine.IO sessions (`io.engine.clientsCount`).
    #[napi(catch_unwind)]
    pub fn clients_count(&self) -> u32 {
        u32::try_from(self.engine.count()).unwrap_or(u32::MAX)
    }

    /// The open Engine.IO session `id`.
    #[napi(catch_unwind)]
    pub fn conn(&self, id: String) -> Option<EngineSocketHandle> {
        self.engine.session(&id).map(EngineSocketHandle::new)
    }

    /// Every open Engine.IO session.
    #[napi(catch_unwind)]
    pub fn conns(&self) -> Vec<EngineSocketHandle> {
        self.engine
            .all()
            .into_iter()
            .map(EngineSocketHandle::new)
            .collect()
    }

    /// The engine's options from `opts` (the same keys as the
    /// constructor's), before the server first serves: `attach(srv, opts)`
    /// merging its options, as socket.io does. Only the engine's part of
    /// `opts` is taken; the JS layer refuses a socket.io option that would
    /// differ from the constructor's.
    #[napi(catch_unwind)]
    pub fn set_engine_options(
        &self,
        #[napi(ts_arg_type = "Record<string, unknown>")] opts: Object<'_>,
    ) -> napi::Result<()> {
        let opts = config(&opts, &self.disp, &self.engine)?;
        self.server
            .set_engine_config(opts.config.engine)
            .map_err(js_err)
    }

    /// The adapter of `opts.adapter` (a Redis or Postgres cluster; none:
    /// in memory) in place of the server's, until the first client
    /// connects: socket.io's `io.adapter(...)`. Only that key of `opts` is
    /// taken.
    #[napi(catch_unwind)]
    pub fn set_adapter(
        &self,
        #[napi(ts_arg_type = "Record<string, unknown>")] opts: Object<'_>,
    ) -> napi::Result<()> {
        let opts = config(&opts, &self.disp, &self.engine)?;
        self.server.set_adapter(opts.redis.as_ref()).map_err(js_err)
    }

    /// Binds `addr` (`host:port`) and serves; returns the port. After
    /// `close` it serves again (socket.io's `listen()` after `close()`).
    #[napi(catch_unwind)]
    pub fn listen(&self, addr: String) -> napi::Result<u32> {
        let bound = self.server.listen(&addr).map_err(js_err)?;
        self.disp.reopen();
        Ok(u32::from(bound.port()))
    }

    /// Serves, from now on, the connection behind the Node socket's file
    /// descriptor `fd` (an `http.Server`'s WebSocket upgrade under the
    /// server's path): `head` is the request as the client sent it and
    /// whatever followed it. The descriptor is duplicated, so the caller
    /// then destroys its Node socket and the connection lives on here,
    /// without a relay in between. `false` where descriptors cannot be
    /// taken (not a POSIX system, a closed descriptor): relay then.
    #[napi(catch_unwind)]
    pub fn serve_fd(&self, fd: i32, head: Buffer) -> napi::Result<bool> {
        match duplicate_fd(fd) {
            Some(stream) => {
                self.server.serve_stream(stream, &head).map_err(js_err)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Closes: callback `cb` is told once the sessions are gone.
    #[napi(catch_unwind)]
    pub fn close(&self, cb: u32) -> napi::Result<()> {
        let d = self.disp.clone();
        self.disp.close();
        // As socket.io closing its http.Server, the port is free at once:
        // connections already open go on (a long-polling client collects
        // its close packet on its pending poll, or on its kept-alive
        // connection), new ones are refused, as there.
        self.server.stop_accepting();
        let server = self.server.clone();
        let rt = embed::Runtime::global().map_err(js_err)?;
        rt.spawn(async move {
            // Sessions first, while the listener still takes the final poll
            // in which a polling client learns of the close; then the
            // listener.
            server.io().shutdown(Duration::from_secs(5)).await;
            server.close(Some(Box::new(move |r| {
                d.send(completion(cb, r.map(|()| Event::new(EventKind::Done, cb))))
            })));
        });
        Ok(())
    }

    /// Answers the acknowledgement request of key `key` (an event's
    /// `ack`); later calls, and keys already dropped, do nothing. `bins`
    /// only when the JSON has binary placeholders.
    #[napi(catch_unwind)]
    pub fn ack(&self, key: u32, json: String, bins: Option<Vec<Buffer>>) -> napi::Result<()> {
        self.disp.acks.send(key, &json, bins.as_deref())
    }

    /// Forgets the acknowledgement request of key `key` unanswered (its JS
    /// function was collected).
    #[napi(catch_unwind)]
    pub fn drop_ack(&self, key: u32) {
        self.disp.acks.drop_key(key);
    }

    /// How many acknowledgement requests JS holds unanswered (a check that
    /// none is kept once nobody can answer it).
    #[napi(getter, catch_unwind)]
    pub fn pending_acks(&self) -> u32 {
        u32::try_from(self.disp.acks.len()).unwrap_or(u32::MAX)
    }

    /// Whether pending events keep Node alive.
    #[napi(catch_unwind)]
    pub fn set_ref(&self, env: Env, on: bool) -> napi::Result<()> {
        self.disp.set_ref(&env, on)
    }

    /// The namespace `name`, created if needed.
    #[napi(catch_unwind)]
    pub fn of(&self, name: String) -> NamespaceHandle {
        NamespaceHandle {
            ns: self.server.of(&name),
            disp: self.disp.clone(),
        }
    }

    /// A parent namespace for the names `pattern` (a regular expression)
    /// matches; its events go to target `key`.
    #[napi(catch_unwind)]
    pub fn of_regex(&self, pattern: String, key: u32) -> napi::Result<ParentHandle> {
        let parent = self
            .server
            .io()
            .of_regex(&pattern)
            .map_err(|e| napi::Error::from_reason(format!("invalid namespace pattern: {e}")))?;
        Ok(self.parent(parent, key))
    }

    /// A parent namespace for the names the JS function of target `key`
    /// accepts (asked with a `Match` event).
    #[napi(catch_unwind)]
    pub fn of_fn(&self, key: u32) -> ParentHandle {
        let d = self.disp.clone();
        let parent = self.server.io().of_dynamic_with_auth(move |name, auth| {
            d.ask(
                Event::new(EventKind::Match, key)
                    .name(name)
                    .args(std::slice::from_ref(auth)),
            )
        });
        self.parent(parent, key)
    }

    /// Sends an event to the other servers of the cluster; with `cb`, their
    /// answers come back (none on a single server).
    #[napi(catch_unwind)]
    pub fn server_side_emit(
        &self,
        nsp: String,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        timeout_ms: f64,
        cb: Option<u32>,
    ) -> napi::Result<()> {
        let args = decode(&json, &bins)?;
        let ns = self.server.io().of(&nsp);
        let d = self.disp.clone();
        let rt = embed::Runtime::global().map_err(js_err)?;
        rt.spawn(async move {
            match cb {
                Some(cb) => {
                    let replies = ns
                        .server_side_emit_with_ack(&event, args, millis(timeout_ms))
                        .await;
                    d.send(Event::new(EventKind::Done, cb).args(&[Value::Array(replies)]));
                }
                None => ns.server_side_emit(&event, args).await,
            }
        });
        Ok(())
    }
}

impl NativeServer {
    fn parent(&self, parent: Arc<ParentNamespace>, key: u32) -> ParentHandle {
        let (server, d) = (Arc::downgrade(&self.server), self.disp.clone());
        parent.on_connection(move |s| {
            if let Some(server) = server.upgrade() {
                connection(&server.wrap_socket(s), key, &d);
            }
        });
        ParentHandle {
            parent,
            server: self.server.clone(),
            disp: self.disp.clone(),
        }
    }
}

/// Reports a new socket to target `key` and waits for the JS handlers.
fn connection(s: &Socket, key: u32, disp: &Arc<Dispatcher>) {
    let r = SockRef::new(s.clone(), disp);
    watch_socket(s, r.key, disp);
    let mut ev = Event::new(EventKind::Connection, key);
    ev.socket = Some(r);
    disp.send_and_wait(ev);
}

/// A namespace.
#[napi]
pub struct NamespaceHandle {
    ns: Namespace,
    disp: Arc<Dispatcher>,
}

#[napi]
impl NamespaceHandle {
    /// The name.
    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> String {
        self.ns.name().to_owned()
    }

    /// Forwards `event` sent to this namespace by another server of the
    /// cluster (`serverSideEmit`) to target `key`.
    #[napi(catch_unwind)]
    pub fn on_server_side_emit(&self, event: String, key: u32) {
        let d = self.disp.clone();
        let name = event.clone();
        self.ns.on_server_side_emit(&event, move |args, ack| {
            let mut ev = Event::new(EventKind::ServerSideEmit, key)
                .name(name.as_str())
                .args(&args);
            ev.ack = ack;
            d.send(ev);
        });
    }

    /// Forwards the adapter's room events to target `key`.
    #[napi(catch_unwind)]
    pub fn on_room_event(&self, key: u32) {
        let d = self.disp.clone();
        self.ns.on_room_event(move |kind_name, room, sid| {
            let mut args = vec![Value::String(room)];
            args.extend(sid.map(Value::String));
            d.send(
                Event::new(EventKind::RoomEvent, key)
                    .name(kind_name)
                    .args(&args),
            );
        });
    }

    /// Whether the server dropped the namespace (an empty dynamic child).
    #[napi(getter, catch_unwind)]
    pub fn removed(&self) -> bool {
        self.ns.is_removed()
    }

    /// Reports the sockets that join to target `key`.
    #[napi(catch_unwind)]
    pub fn watch_connections(&self, key: u32) {
        let d = self.disp.clone();
        self.ns.on_connection(move |s| connection(s, key, &d));
    }

    /// Asks target `key` about every joining socket (`Middleware`).
    #[napi(catch_unwind)]
    pub fn use_middleware(&self, key: u32) {
        let d = self.disp.clone();
        self.ns.use_middleware(move |s, next| {
            let mut ev = Event::new(EventKind::Middleware, key);
            ev.socket = Some(SockRef::new(s.clone(), &d));
            ev.next = Some(NextKind::Embed(next));
            d.send(ev);
        });
    }

    /// Emits to the sockets `spec` selects.
    #[napi(catch_unwind)]
    pub fn bcast_emit(
        &self,
        spec: BroadcastSpec,
        event: String,
        json: String,
        bins: Vec<Buffer>,
    ) -> napi::Result<()> {
        broadcast::emit(
            broadcast::apply(self.ns.broadcast(), &spec),
            &event,
            &json,
            &bins,
        )
    }

    /// Broadcast with acknowledgements, answered to callback `cb`.
    #[napi(catch_unwind)]
    pub fn bcast_emit_with_ack(
        &self,
        spec: BroadcastSpec,
        event: String,
        json: String,
        bins: Vec<Buffer>,
        cb: u32,
    ) -> napi::Result<()> {
        let b = broadcast::apply(self.ns.broadcast(), &spec);
        broadcast::emit_with_ack(b, &self.disp, &event, &json, &bins, cb)
    }

    /// Acts on the sockets `spec` selects (see `SocketHandle.bcastAct`).
    #[napi(catch_unwind)]
    pub fn bcast_act(
        &self,
        spec: BroadcastSpec,
        act: BroadcastAction,
        rooms: Vec<String>,
        flag: bool,
        cb: u32,
    ) {
        let b = broadcast::apply(self.ns.broadcast(), &spec);
        broadcast::act(b, &self.disp, act, &rooms, flag, cb);
    }
}

/// A parent namespace (`io.of(regex | fn)`).
#[napi]
pub struct ParentHandle {
    parent: Arc<ParentNamespace>,
    server: Arc<Server>,
    disp: Arc<Dispatcher>,
}

#[napi]
impl ParentHandle {
    /// Asks target `key` about every socket joining a child.
    #[napi(catch_unwind)]
    pub fn use_middleware(&self, key: u32) {
        let (server, d) = (Arc::downgrade(&self.server), self.disp.clone());
        self.parent.use_middleware(move |s| {
            let (tx, rx) = oneshot::channel();
            if let Some(server) = server.upgrade() {
                let mut ev = Event::new(EventKind::Middleware, key);
                ev.socket = Some(SockRef::new(server.wrap_socket(s), &d));
                ev.next = Some(NextKind::Core(tx));
                d.send(ev);
            }
            async move {
                rx.await
                    .unwrap_or_else(|_| Err(ConnectError::new("middleware did not answer")))
            }
        });
    }

    /// The names of the children created so far.
    #[napi(catch_unwind)]
    pub fn children(&self) -> Vec<String> {
        self.parent
            .children()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }
}
