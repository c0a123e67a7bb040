//! [`ServerOptions`]: what a [`Server`](super::Server) is made with, and
//! the one table of its options ([`SERVER_OPTIONS`]).
//!
//! Each option is listed once: its canonical name, the [`OptionType`] of its
//! value, how it changes the options, and the names the C API, the Python
//! binding (python-socketio's and python-engineio's keywords) and the Node
//! binding (socket.io's and engine.io's option names) give it. A binding
//! turns its own values into an [`OptionValue`] of the option's type (the
//! units and spellings of its language: seconds in Python, milliseconds in C
//! and Node) and hands it to [`ServerOptions::set`]; what the option then
//! does to the configuration is decided here only.

use std::time::Duration;

use engineio::server::{
    AllowRequest, ConnectionErrorHook, Cookie, Cors, HeadersHook, TransportType,
};
use sio_core::server::{ParserKind, RecoveryConfig};
use sio_core::{ClientBundle, ServerConfig};

use super::{Error, EventQueue, RedisOptions, Runtime};

/// Options of a [`Server`](super::Server).
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The Socket.IO (and Engine.IO) options.
    pub config: ServerConfig,
    /// The runtime to run on; `None`: the global one.
    pub runtime: Option<Runtime>,
    /// Run callbacks inside this queue's [`EventQueue::poll`] instead of on
    /// the runtime's threads.
    pub queue: Option<EventQueue>,
    /// Join a cluster through Redis instead of the in-memory adapter.
    pub redis: Option<RedisOptions>,
}

impl ServerOptions {
    /// Sets the option the binding `api` calls `name`. An unknown name, or
    /// a value of another type than the option's, is an
    /// [`Error::InvalidArgument`] naming the option; nothing is ignored.
    pub fn set(&mut self, api: Api, name: &str, value: OptionValue) -> Result<(), Error> {
        ServerOption::find(api, name)?.apply(self, value)
    }
}

/// Whose names an option is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The canonical names, for Rust callers.
    Canonical,
    /// The C API: `sio_server_options_set_<name>`.
    C,
    /// The Python binding: python-socketio's and python-engineio's keywords.
    Python,
    /// The Node binding: socket.io's and engine.io's option names.
    Node,
}

/// The type of an option's value; a binding reads its own values as this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// True or false.
    Bool,
    /// A count or a size.
    Count,
    /// A count or a size, or none for no limit (or never).
    Limit,
    /// A length of time.
    Duration,
    /// Text.
    Text,
    /// The Engine.IO transports (see [`parse_transports`]).
    Transports,
    /// A CORS policy, or none for no CORS headers.
    Cors,
    /// The browser client's files, or none.
    ClientBundle,
    /// Connection state recovery, or none to turn it off.
    Recovery,
    /// The session cookie of the handshake, or none.
    Cookie,
    /// The Redis cluster to join, or none for the in-memory adapter.
    Redis,
    /// The packet parser (see [`parse_parser`]).
    Parser,
    /// A check of every handshake request, or none.
    AllowRequest,
    /// An editor of response headers, or none.
    Headers,
    /// A listener for refused requests, or none.
    ConnectionError,
    /// The runtime to run on, or none for the global one.
    Runtime,
    /// The event queue callbacks run from, or none for the runtime's
    /// threads.
    Queue,
}

impl std::fmt::Display for OptionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptionType::Bool => "a boolean",
            OptionType::Count => "a count",
            OptionType::Limit => "a count or none",
            OptionType::Duration => "a duration",
            OptionType::Text => "a string",
            OptionType::Transports => "a list of transports",
            OptionType::Cors => "a CORS policy",
            OptionType::ClientBundle => "the browser client's files",
            OptionType::Recovery => "connection state recovery settings",
            OptionType::Cookie => "cookie settings",
            OptionType::Redis => "Redis adapter settings",
            OptionType::Parser => "a parser",
            OptionType::AllowRequest => "a request check",
            OptionType::Headers => "a response headers editor",
            OptionType::ConnectionError => "a refused request listener",
            OptionType::Runtime => "a runtime",
            OptionType::Queue => "an event queue",
        })
    }
}

/// An option's value, one variant per [`OptionType`].
#[derive(Clone)]
pub enum OptionValue {
    /// [`OptionType::Bool`].
    Bool(bool),
    /// [`OptionType::Count`].
    Count(usize),
    /// [`OptionType::Limit`].
    Limit(Option<usize>),
    /// [`OptionType::Duration`].
    Duration(Duration),
    /// [`OptionType::Text`].
    Text(String),
    /// [`OptionType::Transports`].
    Transports(Vec<TransportType>),
    /// [`OptionType::Cors`].
    Cors(Option<Cors>),
    /// [`OptionType::ClientBundle`].
    ClientBundle(Option<ClientBundle>),
    /// [`OptionType::Recovery`].
    Recovery(Option<RecoveryConfig>),
    /// [`OptionType::Cookie`].
    Cookie(Option<Cookie>),
    /// [`OptionType::Redis`].
    Redis(Option<RedisOptions>),
    /// [`OptionType::Parser`].
    Parser(ParserKind),
    /// [`OptionType::AllowRequest`].
    AllowRequest(Option<AllowRequest>),
    /// [`OptionType::Headers`].
    Headers(Option<HeadersHook>),
    /// [`OptionType::ConnectionError`].
    ConnectionError(Option<ConnectionErrorHook>),
    /// [`OptionType::Runtime`].
    Runtime(Option<Runtime>),
    /// [`OptionType::Queue`].
    Queue(Option<EventQueue>),
}

impl OptionValue {
    /// The type of this value.
    pub fn option_type(&self) -> OptionType {
        match self {
            OptionValue::Bool(_) => OptionType::Bool,
            OptionValue::Count(_) => OptionType::Count,
            OptionValue::Limit(_) => OptionType::Limit,
            OptionValue::Duration(_) => OptionType::Duration,
            OptionValue::Text(_) => OptionType::Text,
            OptionValue::Transports(_) => OptionType::Transports,
            OptionValue::Cors(_) => OptionType::Cors,
            OptionValue::ClientBundle(_) => OptionType::ClientBundle,
            OptionValue::Recovery(_) => OptionType::Recovery,
            OptionValue::Cookie(_) => OptionType::Cookie,
            OptionValue::Redis(_) => OptionType::Redis,
            OptionValue::Parser(_) => OptionType::Parser,
            OptionValue::AllowRequest(_) => OptionType::AllowRequest,
            OptionValue::Headers(_) => OptionType::Headers,
            OptionValue::ConnectionError(_) => OptionType::ConnectionError,
            OptionValue::Runtime(_) => OptionType::Runtime,
            OptionValue::Queue(_) => OptionType::Queue,
        }
    }
}

impl std::fmt::Debug for OptionValue {
    // Hooks and handles have no useful Debug of their own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OptionValue({})", self.option_type())
    }
}

/// One server option: its names, its type, what it sets.
pub struct ServerOption {
    /// The canonical name.
    pub name: &'static str,
    /// The type of its value.
    pub option_type: OptionType,
    /// Its name in the C API (`sio_server_options_set_<name>`), if it has
    /// one there.
    pub c: Option<&'static str>,
    /// Its keyword in the Python binding, if it has one there.
    pub python: Option<&'static str>,
    /// Its name in the Node binding, if it has one there.
    pub node: Option<&'static str>,
    /// Sets it; `Err` for a value of another type or out of range.
    apply: fn(&mut ServerOptions, OptionValue) -> Result<(), Error>,
}

impl std::fmt::Debug for ServerOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOption")
            .field("name", &self.name)
            .field("option_type", &self.option_type)
            .finish_non_exhaustive()
    }
}

impl ServerOption {
    /// The option `api` calls `name`; an [`Error::InvalidArgument`] naming
    /// it when there is none.
    pub fn find(api: Api, name: &str) -> Result<&'static ServerOption, Error> {
        SERVER_OPTIONS
            .iter()
            .find(|o| o.name_in(api) == Some(name))
            .ok_or_else(|| Error::invalid(format!("unknown server option {name:?}")))
    }

    /// Its name for `api`, if `api` has it.
    pub fn name_in(&self, api: Api) -> Option<&'static str> {
        match api {
            Api::Canonical => Some(self.name),
            Api::C => self.c,
            Api::Python => self.python,
            Api::Node => self.node,
        }
    }

    /// Sets it in `opts`.
    pub fn apply(&self, opts: &mut ServerOptions, value: OptionValue) -> Result<(), Error> {
        (self.apply)(opts, value)
    }
}

fn ill_typed(name: &str, expected: OptionType, got: &OptionValue) -> Error {
    Error::invalid(format!(
        "server option {name:?} takes {expected}, not {}",
        got.option_type()
    ))
}

/// `Some(name)`, or `None` for `_`.
macro_rules! name {
    (_) => {
        None
    };
    ($name:literal) => {
        Some($name)
    };
}

/// One row of the table: the canonical name and type, the names of the C
/// API, Python and Node (`_`: none), and what the value (of that type) sets;
/// the setter may `return Err(...)` for a value out of range.
macro_rules! option {
    (
        $name:literal: $ty:ident,
        c: $c:tt, python: $py:tt, node: $node:tt,
        |$o:ident, $v:ident| $set:expr
    ) => {
        ServerOption {
            name: $name,
            option_type: OptionType::$ty,
            c: name!($c),
            python: name!($py),
            node: name!($node),
            apply: |$o: &mut ServerOptions, value: OptionValue| -> Result<(), Error> {
                match value {
                    OptionValue::$ty($v) => {
                        $set;
                        Ok(())
                    }
                    other => Err(ill_typed($name, OptionType::$ty, &other)),
                }
            },
        }
    };
}

/// Every server option, in the order a binding that takes several at once
/// applies them (the CORS policy before its credentials).
pub static SERVER_OPTIONS: &[ServerOption] = &[
    option!(
        "path": Text,
        c: "path", python: "path", node: "path",
        |o, v| o.config.engine.path = v
    ),
    option!(
        "ping_interval": Duration,
        c: "ping_interval", python: "ping_interval", node: "pingInterval",
        |o, v| o.config.engine.ping_interval = v
    ),
    option!(
        "ping_timeout": Duration,
        c: "ping_timeout", python: "ping_timeout", node: "pingTimeout",
        |o, v| o.config.engine.ping_timeout = v
    ),
    option!(
        "upgrade_timeout": Duration,
        c: "upgrade_timeout", python: "upgrade_timeout", node: "upgradeTimeout",
        |o, v| o.config.engine.upgrade_timeout = v
    ),
    option!(
        "max_http_buffer_size": Count,
        c: "max_payload", python: "max_http_buffer_size", node: "maxHttpBufferSize",
        |o, v| o.config.engine.max_http_buffer_size = v
    ),
    option!(
        "max_attachments": Count,
        c: "max_attachments", python: _, node: _,
        |o, v| o.config.max_attachments = v
    ),
    option!(
        "max_connections": Limit,
        c: "max_connections", python: "max_connections", node: _,
        |o, v| o.config.engine.max_connections = v
    ),
    option!(
        "transports": Transports,
        c: "transports", python: "transports", node: "transports",
        |o, v| {
            if v.is_empty() {
                return Err(Error::invalid("at least one transport is needed"));
            }
            o.config.engine.transports = v
        }
    ),
    option!(
        "allow_upgrades": Bool,
        c: "allow_upgrades", python: "allow_upgrades", node: "allowUpgrades",
        |o, v| o.config.engine.allow_upgrades = v
    ),
    // python-engineio dropped protocol 3, so Python has no such option.
    option!(
        "allow_eio3": Bool,
        c: "allow_eio3", python: _, node: "allowEIO3",
        |o, v| o.config.engine.allow_eio3 = v
    ),
    option!(
        "http_compression_threshold": Limit,
        c: "http_compression", python: "compression_threshold", node: "httpCompression",
        |o, v| o.config.engine.http_compression_threshold = v
    ),
    option!(
        "per_message_deflate": Limit,
        c: "per_message_deflate", python: _, node: "perMessageDeflate",
        |o, v| o.config.engine.per_message_deflate = v
    ),
    option!(
        "connect_timeout": Duration,
        c: "connect_timeout", python: "connect_timeout", node: "connectTimeout",
        |o, v| o.config.connect_timeout = v
    ),
    option!(
        "ack_timeout": Duration,
        c: "ack_timeout", python: "ack_timeout", node: "ackTimeout",
        |o, v| o.config.ack_timeout = v
    ),
    option!(
        "cors": Cors,
        c: "cors_origin", python: "cors_allowed_origins", node: "cors",
        |o, v| o.config.engine.cors = v
    ),
    // python-engineio takes the credentials apart from the origins; without
    // a CORS policy there is nothing to send them with.
    option!(
        "cors_credentials": Bool,
        c: "cors_credentials", python: "cors_credentials", node: _,
        |o, v| {
            if let Some(cors) = o.config.engine.cors.as_mut() {
                cors.credentials = v
            }
        }
    ),
    // The C API sets the rest of the CORS policy one part at a time, after
    // its origins; Node gives the policy whole, python-engineio has none.
    option!(
        "cors_methods": Text,
        c: "cors_methods", python: _, node: _,
        |o, v| cors_part(o, "methods", |c| c.methods = v)?
    ),
    option!(
        "cors_allowed_headers": Text,
        c: "cors_allowed_headers", python: _, node: _,
        |o, v| cors_part(o, "allowed headers", |c| c.allowed_headers = Some(v))?
    ),
    option!(
        "cors_exposed_headers": Text,
        c: "cors_exposed_headers", python: _, node: _,
        |o, v| cors_part(o, "exposed headers", |c| c.exposed_headers = Some(v))?
    ),
    option!(
        "cors_max_age": Limit,
        c: "cors_max_age", python: _, node: _,
        |o, v| cors_part(o, "max age", |c| c.max_age = v.map(|s| s as u64))?
    ),
    option!(
        "cookie": Cookie,
        c: "cookie", python: "cookie", node: "cookie",
        |o, v| o.config.engine.cookie = v
    ),
    option!(
        "allow_request": AllowRequest,
        c: "allow_request", python: _, node: "allowRequest",
        |o, v| o.config.engine.allow_request = v
    ),
    option!(
        "initial_headers": Headers,
        c: "initial_headers", python: _, node: _,
        |o, v| o.config.engine.initial_headers = v
    ),
    option!(
        "headers": Headers,
        c: "headers", python: _, node: _,
        |o, v| o.config.engine.headers = v
    ),
    option!(
        "connection_error": ConnectionError,
        c: "connection_error", python: _, node: _,
        |o, v| o.config.engine.on_connection_error = v
    ),
    option!(
        "serve_client": ClientBundle,
        c: "serve_client", python: "serve_client", node: "serveClient",
        |o, v| o.config.serve_client = v
    ),
    option!(
        "connection_state_recovery": Recovery,
        c: "recovery", python: _, node: "connectionStateRecovery",
        |o, v| o.config.connection_state_recovery = v
    ),
    option!(
        "cleanup_empty_child_namespaces": Bool,
        c: _, python: _, node: "cleanupEmptyChildNamespaces",
        |o, v| o.config.cleanup_empty_child_namespaces = v
    ),
    option!(
        "parser": Parser,
        c: "msgpack", python: "serializer", node: "parser",
        |o, v| o.config.parser = v
    ),
    option!(
        "adapter": Redis,
        c: "redis", python: "client_manager", node: "adapter",
        |o, v| o.redis = v
    ),
    option!(
        "runtime": Runtime,
        c: "runtime", python: _, node: _,
        |o, v| o.runtime = v
    ),
    option!(
        "queue": Queue,
        c: "queue", python: _, node: _,
        |o, v| o.queue = v
    ),
];

/// Edits the CORS policy set before: refused when there is none, as a part
/// of a policy nobody enabled would be silently ignored.
fn cors_part(o: &mut ServerOptions, what: &str, edit: impl FnOnce(&mut Cors)) -> Result<(), Error> {
    match o.config.engine.cors.as_mut() {
        Some(cors) => {
            edit(cors);
            Ok(())
        }
        None => Err(Error::invalid(format!(
            "CORS {what}: set the allowed origins first"
        ))),
    }
}

/// Transports by name (`polling`, `websocket`), as the `transports` option
/// of the bindings and of the clients lists them; an unknown name is an
/// [`Error::InvalidArgument`] naming it.
pub fn parse_transports<S: AsRef<str>>(names: &[S]) -> Result<Vec<TransportType>, Error> {
    names
        .iter()
        .map(|n| {
            n.as_ref()
                .parse()
                .map_err(|e| Error::invalid(format!("{e}")))
        })
        .collect()
}

/// The parser by the name socket.io and python-socketio give it: `default`
/// or `msgpack`.
pub fn parse_parser(name: &str) -> Result<ParserKind, Error> {
    match name {
        "default" => Ok(ParserKind::Default),
        "msgpack" => Ok(ParserKind::MsgPack),
        other => Err(Error::invalid(format!(
            "unknown parser {other:?} (default or msgpack)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_within_its_api() {
        for api in [Api::Canonical, Api::C, Api::Python, Api::Node] {
            let mut names: Vec<_> = SERVER_OPTIONS
                .iter()
                .filter_map(|o| o.name_in(api))
                .collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{api:?} names an option twice");
        }
    }

    #[test]
    fn options_are_set_by_each_api_name() {
        let mut o = ServerOptions::default();
        o.set(Api::C, "max_payload", OptionValue::Count(7)).unwrap();
        o.set(
            Api::Python,
            "ping_interval",
            OptionValue::Duration(Duration::from_secs(3)),
        )
        .unwrap();
        o.set(
            Api::Node,
            "ackTimeout",
            OptionValue::Duration(Duration::from_millis(9)),
        )
        .unwrap();
        assert_eq!(o.config.engine.max_http_buffer_size, 7);
        assert_eq!(o.config.engine.ping_interval, Duration::from_secs(3));
        assert_eq!(o.config.ack_timeout, Duration::from_millis(9));
    }

    #[test]
    fn allow_eio3_is_off_by_default_and_has_no_python_name() {
        let mut o = ServerOptions::default();
        assert!(!o.config.engine.allow_eio3);
        o.set(Api::Node, "allowEIO3", OptionValue::Bool(true))
            .unwrap();
        assert!(o.config.engine.allow_eio3);
        o.set(Api::C, "allow_eio3", OptionValue::Bool(false))
            .unwrap();
        assert!(!o.config.engine.allow_eio3);
        assert!(o
            .set(Api::Python, "allow_eio3", OptionValue::Bool(true))
            .is_err());
    }

    #[test]
    fn unknown_and_ill_typed_options_are_errors_naming_them() {
        let mut o = ServerOptions::default();
        let e = o
            .set(Api::Node, "pingIntervall", OptionValue::Bool(true))
            .unwrap_err();
        assert_eq!(e, Error::invalid("unknown server option \"pingIntervall\""));
        // Known under another API only.
        assert!(o
            .set(Api::C, "pingInterval", OptionValue::Bool(true))
            .is_err());
        let e = o
            .set(Api::C, "ping_interval", OptionValue::Bool(true))
            .unwrap_err();
        assert_eq!(
            e,
            Error::invalid("server option \"ping_interval\" takes a duration, not a boolean")
        );
        let e = o.set(
            Api::Python,
            "transports",
            OptionValue::Transports(Vec::new()),
        );
        assert_eq!(
            e.unwrap_err(),
            Error::invalid("at least one transport is needed")
        );
    }

    #[test]
    fn transports_and_parsers_by_name() {
        assert_eq!(
            parse_transports(&["websocket", "polling"]).unwrap(),
            vec![TransportType::Websocket, TransportType::Polling]
        );
        assert_eq!(
            parse_transports(&["carrier pigeon"]).unwrap_err(),
            Error::invalid("unknown transport \"carrier pigeon\"")
        );
        assert_eq!(parse_parser("msgpack").unwrap(), ParserKind::MsgPack);
        assert!(parse_parser("cbor").is_err());
    }

    #[test]
    fn credentials_follow_the_cors_policy() {
        let mut o = ServerOptions::default();
        o.set(Api::Python, "cors_credentials", OptionValue::Bool(false))
            .unwrap();
        assert!(o.config.engine.cors.is_none());
        o.set(
            Api::Python,
            "cors_allowed_origins",
            OptionValue::Cors(Some(Cors::default())),
        )
        .unwrap();
        o.set(Api::Python, "cors_credentials", OptionValue::Bool(false))
            .unwrap();
        assert!(!o.config.engine.cors.as_ref().is_some_and(|c| c.credentials));
    }
}
