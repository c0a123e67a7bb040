//! Options of the Engine.IO client, named after engine.io-client's.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::proto::Packet;
use crate::server::TransportType;

/// Client options; [`ClientConfig::default`] matches engine.io-client's
/// defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The Engine.IO path (`path`, default `/engine.io`). The path of the URL
    /// given to [`connect`](super::Client::connect) is ignored, as the
    /// reference client does.
    pub path: String,
    /// Appends a trailing `/` to `path` (`addTrailingSlash`, default true).
    pub add_trailing_slash: bool,
    /// Extra query parameters sent with every request (`query`), after
    /// those of the URL.
    pub query: Vec<(String, String)>,
    /// Extra HTTP headers sent with every request and the WebSocket
    /// handshake (`extraHeaders`).
    pub extra_headers: HeaderMap,
    /// Transports to use, in order of preference (`transports`, default
    /// polling then websocket). The first one opens the session.
    pub transports: Vec<TransportType>,
    /// Tries to upgrade from polling to WebSocket after the handshake
    /// (`upgrade`, default true).
    pub upgrade: bool,
    /// Opens with WebSocket right away when a WebSocket connection of this
    /// process succeeded before (`rememberUpgrade`, default false).
    pub remember_upgrade: bool,
    /// On a failed first connection, tries the next transport of
    /// `transports` (`tryAllTransports`, default false).
    pub try_all_transports: bool,
    /// Adds a cache-busting parameter to polling requests
    /// (`timestampRequests`, default true).
    pub timestamp_requests: bool,
    /// Name of the cache-busting parameter (`timestampParam`, default `t`).
    pub timestamp_param: String,
    /// Longest wait for the handshake, all transport attempts included
    /// (the Socket.IO manager's `timeout`, default 20 s); `None` waits
    /// forever.
    pub connect_timeout: Option<Duration>,
    /// Messages [`send`](super::Client::send) may queue before it returns
    /// [`SendError::Full`](crate::server::SendError::Full) (default 16384).
    pub send_buffer: usize,
    /// Events the client holds for a receiver that does not keep up; once
    /// full the client stops reading from the server (default 1024).
    pub event_buffer: usize,
    /// Largest WebSocket message accepted from the server (default 64 MiB).
    pub max_ws_message_size: usize,
    /// TLS settings of `https` / `wss` connections (the reference's `ca`,
    /// ...); `None` trusts the built-in roots only. Needs the `tls` feature
    /// (on by default): without it secure URLs fail with
    /// [`Error::TlsUnsupported`](super::Error::TlsUnsupported).
    pub tls: Option<TlsConfig>,
    /// Sees every packet of the session both ways (engine.io-client's
    /// `packet` and `packetCreate` events); `None` by default. Debugging
    /// tools and the Socket.IO manager's `ping` event need packets the
    /// session otherwise keeps to itself (pings, pongs, the handshake).
    pub observer: Option<PacketObserver>,
}

/// Which way an observed packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketDirection {
    /// From the server: engine.io-client's `packet` event.
    Received,
    /// To the server, as it is written: engine.io-client's `packetCreate`.
    Sent,
}

/// A callback that sees the packets of a session, both ways, in order: the
/// handshake's `open` packet first, then pings, pongs, messages, `noop`s,
/// the `upgrade` and `close` packets, as engine.io-client reports them
/// (the probe packets of an upgrade stay with the transport being probed).
/// It runs on the session's task, before the packet is acted upon: keep it
/// short and never block in it.
///
/// ```
/// # use engineio::client::{ClientConfig, PacketDirection, PacketObserver};
/// let config = ClientConfig::default().observer(Some(PacketObserver::new(|dir, packet| {
///     if dir == PacketDirection::Received {
///         println!("<- {packet:?}");
///     }
/// })));
/// ```
#[derive(Clone)]
pub struct PacketObserver(Arc<ObserveFn>);

/// The callback of a [`PacketObserver`].
type ObserveFn = dyn Fn(PacketDirection, &Packet) + Send + Sync;

impl PacketObserver {
    /// Wraps the callback.
    pub fn new(f: impl Fn(PacketDirection, &Packet) + Send + Sync + 'static) -> PacketObserver {
        PacketObserver(Arc::new(f))
    }

    /// Shows `packet` to the callback.
    pub fn observe(&self, direction: PacketDirection, packet: &Packet) {
        (self.0)(direction, packet);
    }
}

impl std::fmt::Debug for PacketObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PacketObserver(..)")
    }
}

/// TLS settings of the client: which server certificates to trust.
///
/// ```
/// # use engineio::client::{ClientConfig, TlsConfig};
/// # let pem: &[u8] = b"";
/// let config = ClientConfig::default()
///     .tls(Some(TlsConfig::default().root_cert_pem(pem).builtin_roots(false)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsConfig {
    /// Extra trusted root certificates, PEM-encoded; each entry may hold
    /// several certificates.
    pub root_certs_pem: Vec<Vec<u8>>,
    /// Also trust the built-in roots (Mozilla's, from `webpki-roots`),
    /// default true.
    pub builtin_roots: bool,
    /// A complete rustls configuration (client certificates, a custom
    /// verifier...), used as is: the roots above are then ignored.
    #[cfg(feature = "tls")]
    pub rustls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Checks the server's certificate (default true). False accepts any
    /// certificate for any name, as python-socketio's `ssl_verify=False`
    /// and socket.io-client's `rejectUnauthorized: false`: the connection
    /// is encrypted but anyone on the path can impersonate the server. For
    /// development against self-signed certificates only.
    pub verify_certificates: bool,
    /// The client's own certificate chain and private key, PEM-encoded,
    /// presented to servers that ask for one (mutual TLS, Node's `cert` /
    /// `key`). The key is PKCS#8, PKCS#1 or SEC1, unencrypted.
    pub client_auth_pem: Option<ClientAuthPem>,
}

/// A client certificate chain and its private key, PEM-encoded.
#[derive(Clone)]
pub struct ClientAuthPem {
    /// The certificate chain, the client's own certificate first.
    pub cert_chain: Vec<u8>,
    /// The private key of the first certificate.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ClientAuthPem {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuthPem")
            .field(
                "cert_chain",
                &format_args!("{} bytes", self.cert_chain.len()),
            )
            .field("key", &format_args!("(hidden)"))
            .finish()
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            root_certs_pem: Vec::new(),
            builtin_roots: true,
            #[cfg(feature = "tls")]
            rustls: None,
            verify_certificates: true,
            client_auth_pem: None,
        }
    }
}

impl TlsConfig {
    /// Adds trusted root certificates, PEM-encoded.
    pub fn root_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certs_pem.push(pem.into());
        self
    }

    /// Whether to trust the built-in roots as well (default true).
    pub fn builtin_roots(mut self, builtin: bool) -> Self {
        self.builtin_roots = builtin;
        self
    }

    /// Whether to check the server's certificate (default true); see
    /// [`verify_certificates`](Self::verify_certificates).
    pub fn verify_certificates(mut self, verify: bool) -> Self {
        self.verify_certificates = verify;
        self
    }

    /// Presents this certificate chain and key to servers that ask for a
    /// client certificate (both PEM-encoded); see
    /// [`client_auth_pem`](Self::client_auth_pem).
    pub fn client_auth_pem(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_auth_pem = Some(ClientAuthPem {
            cert_chain: cert_chain.into(),
            key: key.into(),
        });
        self
    }

    /// Uses a complete rustls configuration as is.
    #[cfg(feature = "tls")]
    pub fn rustls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.rustls = Some(config);
        self
    }
}

crate::__option_setters!(ClientConfig {
    path: impl Into<String>,
    add_trailing_slash: bool,
    query: Vec<(String, String)>,
    extra_headers: HeaderMap,
    transports: Vec<TransportType>,
    upgrade: bool,
    remember_upgrade: bool,
    try_all_transports: bool,
    timestamp_requests: bool,
    timestamp_param: impl Into<String>,
    connect_timeout: Option<Duration>,
    send_buffer: usize,
    event_buffer: usize,
    max_ws_message_size: usize,
    tls: Option<TlsConfig>,
    observer: Option<PacketObserver>,
});

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            path: "/engine.io".into(),
            add_trailing_slash: true,
            query: Vec::new(),
            extra_headers: HeaderMap::new(),
            transports: vec![TransportType::Polling, TransportType::Websocket],
            upgrade: true,
            remember_upgrade: false,
            try_all_transports: false,
            timestamp_requests: true,
            timestamp_param: "t".into(),
            connect_timeout: Some(Duration::from_secs(20)),
            send_buffer: 16384,
            event_buffer: 1024,
            max_ws_message_size: 64 << 20,
            tls: None,
            observer: None,
        }
    }
}

impl ClientConfig {
    /// The path as sent: without a trailing slash, then one added back when
    /// `add_trailing_slash` is set, as the reference does.
    pub(crate) fn normalized_path(&self) -> String {
        let trimmed = self.path.strip_suffix('/').unwrap_or(&self.path);
        let mut path = String::with_capacity(trimmed.len() + 2);
        if !trimmed.starts_with('/') {
            path.push('/');
        }
        path.push_str(trimmed);
        if self.add_trailing_slash {
            path.push('/');
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_normalized() {
        let mut c = ClientConfig::default();
        assert_eq!(c.normalized_path(), "/engine.io/");
        c.path = "/socket.io/".into();
        assert_eq!(c.normalized_path(), "/socket.io/");
        c.add_trailing_slash = false;
        assert_eq!(c.normalized_path(), "/socket.io");
        c.path = "custom".into();
        assert_eq!(c.normalized_path(), "/custom");
    }
}
