//! `ClientBuilder`: the one-call way to a connected socket, like the
//! reference's `io(url, options)`.

use std::sync::Arc;
use std::time::Duration;

use engineio::client::{TlsConfig, TransportType};
use http::{HeaderName, HeaderValue};
use serde::Serialize;

use super::ack::AckSender;
use super::config::{Auth, ManagerConfig, SocketConfig};
use super::errors::{ConnectError, DisconnectReason};
use super::handlers::{ManagerHandlers, SocketHandlers};
use super::manager::{normalize_nsp, Manager};
use super::socket::Socket;
use crate::codec::ParserKind;
use crate::proto::{to_value, Value};

/// Configures and connects a [`Socket`].
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use socketio::client::ClientBuilder;
///
/// let socket = ClientBuilder::new("http://localhost:3000")
///     .namespace("/admin")
///     .auth(&serde_json::json!({ "token": "abc" }))
///     .on("news", |_socket, args| println!("news: {args:?}"))
///     .connect()
///     .await?;
/// socket.emit("hello", &"world")?;
/// let answer = socket.emit_with_ack("question", &42).await?;
/// # Ok(()) }
/// ```
///
/// Sockets built for the same server share one connection (one
/// [`Manager`]) unless [`force_new`](ClientBuilder::force_new) is set or a
/// socket of the same namespace already uses it.
#[must_use]
pub struct ClientBuilder {
    url: String,
    namespace: Option<String>,
    manager: ManagerConfig,
    socket: SocketConfig,
    force_new: bool,
    multiplex: bool,
    handlers: SocketHandlers,
    manager_handlers: ManagerHandlers,
    error: Option<ConnectError>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .field("manager", &self.manager)
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

/// The origin of `url` (the cache key, as the reference's `id`) and the
/// namespace its path names.
fn split_url(url: &str) -> Result<(String, String), ConnectError> {
    let with_scheme;
    let full = if url.contains("://") {
        url
    } else {
        with_scheme = format!("http://{url}");
        &with_scheme
    };
    let uri: http::Uri = full
        .parse()
        .map_err(|e| ConnectError::config(format!("invalid url: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("http");
    let secure = matches!(scheme, "https" | "wss");
    let host = uri
        .host()
        .ok_or_else(|| ConnectError::config("invalid url: missing host"))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let nsp = match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    Ok((format!("{scheme}://{host}:{port}"), nsp))
}

impl ClientBuilder {
    /// A client of the server at `url`; its path, if any, is the namespace
    /// (`http://host:3000/admin`), its query goes with every request.
    pub fn new(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            namespace: None,
            manager: ManagerConfig::default(),
            socket: SocketConfig::default(),
            force_new: false,
            multiplex: true,
            handlers: SocketHandlers::default(),
            manager_handlers: ManagerHandlers::default(),
            error: None,
        }
    }

    /// The namespace to join (default: the URL's path, else `/`).
    pub fn namespace(mut self, nsp: impl AsRef<str>) -> Self {
        self.namespace = Some(normalize_nsp(nsp.as_ref()));
        self
    }

    /// The CONNECT payload, the server's `socket.handshake.auth`.
    pub fn auth<T: Serialize + ?Sized>(mut self, auth: &T) -> Self {
        match to_value(auth) {
            Ok(v) => self.socket.auth = Auth::Static(v),
            Err(e) => self.error = Some(ConnectError::config(format!("invalid auth: {e}"))),
        }
        self
    }

    /// Computes the CONNECT payload on every connection and reconnection.
    pub fn auth_fn(mut self, f: impl Fn() -> Option<Value> + Send + Sync + 'static) -> Self {
        self.socket.auth = Auth::Callback(Arc::new(f));
        self
    }

    /// The Socket.IO path (default `/socket.io`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.manager.engine.path = path.into();
        self
    }

    /// Adds a query parameter to every request.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.manager.engine.query.push((key.into(), value.into()));
        self
    }

    /// Adds an HTTP header to every request.
    pub fn extra_header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.manager.engine.extra_headers.append(n, v);
            }
            _ => self.error = Some(ConnectError::config(format!("invalid header {name:?}"))),
        }
        self
    }

    /// Transports in order of preference (default polling, then websocket).
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportType>) -> Self {
        self.manager.engine.transports = transports.into_iter().collect();
        self
    }

    /// Upgrades polling to WebSocket (default true).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.manager.engine.upgrade = upgrade;
        self
    }

    /// Starts with WebSocket if it worked before (default false).
    pub fn remember_upgrade(mut self, remember: bool) -> Self {
        self.manager.engine.remember_upgrade = remember;
        self
    }

    /// Falls back to the next transport if the first fails (default false).
    pub fn try_all_transports(mut self, try_all: bool) -> Self {
        self.manager.engine.try_all_transports = try_all;
        self
    }

    /// Trusts the root certificates of `pem` (PEM-encoded) for `https` /
    /// `wss` URLs, on top of the built-in roots (see
    /// [`tls_builtin_roots`](Self::tls_builtin_roots)).
    pub fn tls_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        let tls = self.manager.engine.tls.take().unwrap_or_default();
        self.manager.engine.tls = Some(tls.root_cert_pem(pem));
        self
    }

    /// Whether to trust the built-in root certificates (default true); off,
    /// only those of [`tls_root_pem`](Self::tls_root_pem) are.
    pub fn tls_builtin_roots(mut self, builtin: bool) -> Self {
        let tls = self.manager.engine.tls.take().unwrap_or_default();
        self.manager.engine.tls = Some(tls.builtin_roots(builtin));
        self
    }

    /// The TLS settings of `https` / `wss` URLs, replacing those set so far.
    pub fn tls_config(mut self, tls: TlsConfig) -> Self {
        self.manager.engine.tls = Some(tls);
        self
    }

    /// Reconnects automatically (default true).
    pub fn reconnection(mut self, reconnection: bool) -> Self {
        self.manager.reconnection = reconnection;
        self
    }

    /// Reconnection attempts before giving up (default unlimited).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.manager.reconnection_attempts = attempts;
        self
    }

    /// First reconnection delay (default 1 s).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.manager.reconnection_delay = delay;
        self
    }

    /// Longest reconnection delay (default 5 s).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.manager.reconnection_delay_max = delay;
        self
    }

    /// Jitter of the reconnection delays, 0 to 1 (default 0.5).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.manager.randomization_factor = factor;
        self
    }

    /// Longest wait for each connection attempt (default 20 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.manager.timeout = timeout;
        self
    }

    /// The parser, which must match the server's (default JSON).
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.manager.parser = parser;
        self
    }

    /// All manager options at once.
    pub fn manager_config(mut self, config: ManagerConfig) -> Self {
        self.manager = config;
        self
    }

    /// All socket options at once.
    pub fn socket_config(mut self, config: SocketConfig) -> Self {
        self.socket = config;
        self
    }

    /// A connection of its own, not shared with other sockets (default
    /// false).
    pub fn force_new(mut self, force_new: bool) -> Self {
        self.force_new = force_new;
        self
    }

    /// Shares the connection with other sockets of the same server (default
    /// true; `false` is the same as `force_new(true)`).
    pub fn multiplex(mut self, multiplex: bool) -> Self {
        self.multiplex = multiplex;
        self
    }

    /// Retries every emit until acknowledged, up to this many times.
    pub fn retries(mut self, retries: u32) -> Self {
        self.socket.retries = Some(retries);
        self
    }

    /// Default wait for acknowledgements.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.socket.ack_timeout = Some(timeout);
        self
    }

    /// Handles an event; see [`Socket::on`].
    pub fn on(
        self,
        event: impl Into<String>,
        handler: impl Fn(Socket, Vec<Value>) + Send + Sync + 'static,
    ) -> Self {
        self.on_with_ack(event, move |socket, args, _ack| handler(socket, args))
    }

    /// Handles an event with its acknowledgement callback; see
    /// [`Socket::on_with_ack`].
    pub fn on_with_ack(
        mut self,
        event: impl Into<String>,
        handler: impl Fn(Socket, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.events.insert(event.into(), Arc::new(handler));
        self
    }

    /// Handles the events that have no handler of their own; see
    /// [`Socket::on_fallback`].
    pub fn on_fallback(
        mut self,
        handler: impl Fn(Socket, &str, Vec<Value>, Option<AckSender>) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.fallback = Some(Arc::new(handler));
        self
    }

    /// Listens to every incoming event.
    pub fn on_any(
        mut self,
        listener: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.any.push((0, Arc::new(listener)));
        self
    }

    /// Listens to every outgoing event.
    pub fn on_any_outgoing(
        mut self,
        listener: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.any_outgoing.push((0, Arc::new(listener)));
        self
    }

    /// Called on every connection, reconnections included.
    pub fn on_connect(mut self, handler: impl Fn(Socket) + Send + Sync + 'static) -> Self {
        self.handlers.connect.push(Arc::new(handler));
        self
    }

    /// Called when a connection attempt fails or is refused.
    pub fn on_connect_error(
        mut self,
        handler: impl Fn(Socket, ConnectError) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.connect_error.push(Arc::new(handler));
        self
    }

    /// Called when the socket disconnects.
    pub fn on_disconnect(
        mut self,
        handler: impl Fn(Socket, DisconnectReason) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.disconnect.push(Arc::new(handler));
        self
    }

    /// Called before each reconnection attempt (manager event).
    pub fn on_reconnect_attempt(mut self, handler: impl Fn(u32) + Send + Sync + 'static) -> Self {
        self.manager_handlers
            .reconnect_attempt
            .push(Arc::new(handler));
        self
    }

    /// Called after a successful reconnection (manager event).
    pub fn on_reconnect(mut self, handler: impl Fn(u32) + Send + Sync + 'static) -> Self {
        self.manager_handlers.reconnect.push(Arc::new(handler));
        self
    }

    /// Called when a reconnection attempt fails (manager event).
    pub fn on_reconnect_error(
        mut self,
        handler: impl Fn(&engineio::client::Error) + Send + Sync + 'static,
    ) -> Self {
        self.manager_handlers
            .reconnect_error
            .push(Arc::new(handler));
        self
    }

    /// Called when every reconnection attempt failed (manager event).
    pub fn on_reconnect_failed(mut self, handler: impl Fn() + Send + Sync + 'static) -> Self {
        self.manager_handlers
            .reconnect_failed
            .push(Arc::new(handler));
        self
    }

    /// Sees the events of the connection's Engine.IO session (manager
    /// event; see [`Manager::on_engine`]).
    pub fn on_engine(
        mut self,
        handler: impl Fn(&super::EngineEvent) + Send + Sync + 'static,
    ) -> Self {
        self.manager_handlers.engine.push(Arc::new(handler));
        self
    }

    fn socket(self) -> Result<Socket, ConnectError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (key, url_nsp) = split_url(&self.url)?;
        let nsp = self.namespace.unwrap_or(url_nsp);
        let manager = if self.force_new || !self.multiplex {
            Manager::new(&self.url, self.manager)
        } else {
            Manager::cached(&key, &self.url, &nsp, self.manager)
        };
        manager.add_handlers(self.manager_handlers);
        let socket = manager.socket(&nsp, self.socket);
        socket.add_handlers(self.handlers);
        Ok(socket)
    }

    /// Returns the socket at once and connects it in the background (the
    /// reference's `io()`). Must be called inside a tokio runtime.
    pub fn build(self) -> Result<Socket, ConnectError> {
        let socket = self.socket()?;
        socket.connect();
        Ok(socket)
    }

    /// Connects and returns the socket once the namespace is joined. The
    /// first failure (connection error or refusal) is returned and the
    /// socket dropped; use [`ClientBuilder::build`] to keep retrying.
    pub async fn connect(self) -> Result<Socket, ConnectError> {
        let socket = self.socket()?;
        let waiter = socket.inner.connect_waiter();
        socket.connect();
        match waiter.await {
            Ok(Ok(())) => Ok(socket),
            Ok(Err(e)) => {
                socket.disconnect();
                Err(e)
            }
            Err(_) => Err(ConnectError::closed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_and_namespace() {
        assert_eq!(
            split_url("http://localhost:3000/admin?x=1").unwrap(),
            ("http://localhost:3000".to_owned(), "/admin".to_owned())
        );
        assert_eq!(
            split_url("localhost").unwrap(),
            ("http://localhost:80".to_owned(), "/".to_owned())
        );
        assert_eq!(
            split_url("wss://h").unwrap(),
            ("wss://h:443".to_owned(), "/".to_owned())
        );
        assert!(split_url("http://").is_err());
    }
}
