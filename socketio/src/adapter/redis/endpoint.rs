//! Where a transport finds Redis: one server, the seed nodes of a Redis
//! Cluster, or the Sentinels that know a replicated set's master, with the
//! TLS material of `rediss://` servers signed by a private authority or
//! requiring client certificates. Every connection a
//! transport opens (publisher, subscriber, stream reader) is built from one
//! [`Endpoint`], so they all reach the same servers the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ClientTlsConfig, IntoConnectionInfo, TlsCertificates};

use super::connection::CONNECT_TIMEOUT;
use super::RedisAdapterError;

/// How to reach Redis beyond what the URL says; every flavour's config
/// holds one (`connection`).
///
/// The URL given to `connect` may list several comma-separated URLs
/// (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`): they are the seed
/// nodes of a Redis Cluster. A user and password in the URL
/// (`redis://user:secret@host`) log in with Redis ACLs; `rediss://` speaks
/// TLS, verified against the public (webpki) roots unless `tls_ca_file`
/// names the authority.
///
/// `redis+sentinel://[user:password@]host1:port1,host2:port2[/db[/service]]`
/// (python-socketio's form) asks the Sentinels for the master of
/// `service` (default `mymaster`); the credentials and database are the
/// master's. Every connection, and every reconnection after a failover,
/// goes to the master the Sentinels name then.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RedisConnectOptions {
    /// The URL names a seed node of a Redis Cluster rather than a single
    /// server (default false; several URLs imply it). The cluster's
    /// topology is read from the seeds and followed as it changes.
    pub cluster: bool,
    /// A PEM file with the certificate authorities that sign the servers'
    /// certificates (`rediss://`), instead of the public roots.
    pub tls_ca_file: Option<PathBuf>,
    /// A PEM client certificate (chain), for servers that verify clients
    /// (`tls-auth-clients`); needs `tls_client_key`.
    pub tls_client_cert: Option<PathBuf>,
    /// The PEM private key of `tls_client_cert`.
    pub tls_client_key: Option<PathBuf>,
}

engineio::__option_setters!(RedisConnectOptions {
    cluster: bool,
    tls_ca_file: Option<PathBuf>,
    tls_client_cert: Option<PathBuf>,
    tls_client_key: Option<PathBuf>,
});

/// The servers one transport talks to.
#[derive(Clone)]
pub(super) enum Endpoint {
    /// One server (or a proxy in front of several).
    Single(redis::Client),
    /// A Redis Cluster, from its seed nodes; each connection gets a client
    /// of its own, as the subscriber's carries its push channel.
    Cluster {
        nodes: Vec<redis::ConnectionInfo>,
        certs: Option<TlsCertificates>,
    },
    /// The master the Sentinels name, asked anew at each connection;
    /// `resp3` for the subscriber of a flavour that needs it.
    Sentinel {
        client: Arc<tokio::sync::Mutex<SentinelClient>>,
        resp3: bool,
    },
}

/// The URL scheme of a Sentinel-managed master.
const SENTINEL_SCHEME: &str = "redis+sentinel://";
/// The service name a Sentinel URL without one asks for.
const DEFAULT_SERVICE: &str = "mymaster";

impl Endpoint {
    /// The endpoint of `url` (one URL, or comma-separated seed nodes) with
    /// `options`. Files are read here, so a missing certificate fails the
    /// factory rather than every later connection.
    pub(super) fn open(
        url: &str,
        options: &RedisConnectOptions,
    ) -> Result<Endpoint, RedisAdapterError> {
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let Some(first) = urls.first() else {
            return Err(RedisAdapterError::Config("no Redis URL".into()));
        };
        let certs = certificates(options)?;
        if let Some(rest) = url.trim().strip_prefix(SENTINEL_SCHEME) {
            return sentinel(rest, certs);
        }
        if certs.is_some() || urls.iter().any(|u| u.starts_with("rediss:")) {
            install_crypto_provider();
        }
        if options.cluster || urls.len() > 1 {
            let nodes = urls
                .iter()
                .map(|u| u.into_connection_info().map(no_delay))
                .collect::<redis::RedisResult<Vec<_>>>()?;
            let endpoint = Endpoint::Cluster { nodes, certs };
            // Checks the seeds agree (credentials, TLS) before connecting.
            if let Some(Err(e)) = endpoint.cluster_client() {
                return Err(e.into());
            }
            return Ok(endpoint);
        }
        let info = no_delay(first.into_connection_info()?);
        Ok(Endpoint::Single(match certs {
            Some(certs) => redis::Client::build_with_tls(info, certs)?,
            None => redis::Client::open(info)?,
        }))
    }

    /// A cluster client builder on the seed nodes with the TLS material;
    /// `None` for a single server.
    pub(super) fn cluster_builder(&self) -> Option<ClusterClientBuilder> {
        let Endpoint::Cluster { nodes, certs } = self else {
            return None;
        };
        let mut builder = ClusterClientBuilder::new(nodes.clone())
            .connection_timeout(CONNECT_TIMEOUT)
            .tcp_settings(tcp_settings());
        if let Some(certs) = certs {
            builder = builder.certs(certs.clone());
        }
        Some(builder)
    }

    /// A cluster client on the seeds with the default settings (RESP2,
    /// whose `PUBSUB NUMSUB` replies the cluster client sums over the
    /// nodes); `None` for a single server.
    pub(super) fn cluster_client(&self) -> Option<redis::RedisResult<ClusterClient>> {
        self.cluster_builder().map(ClusterClientBuilder::build)
    }
}

impl Endpoint {
    /// The client of the server to talk to now: the single server, or the
    /// master the Sentinels name (`None` for a cluster).
    pub(super) async fn master(&self) -> Option<redis::RedisResult<redis::Client>> {
        match self {
            Endpoint::Single(client) => Some(Ok(client.clone())),
            Endpoint::Cluster { .. } => None,
            Endpoint::Sentinel { client, resp3 } => {
                let master = client.lock().await.async_get_client().await;
                Some(match master {
                    Ok(master) if *resp3 => super::connection::resp3_client(&master),
                    other => other,
                })
            }
        }
    }

    /// The same endpoint with RESP3 connections (the subscriber of the
    /// flavours that need sharded pub/sub).
    pub(super) fn resp3(&self) -> redis::RedisResult<Endpoint> {
        Ok(match self {
            Endpoint::Single(client) => Endpoint::Single(super::connection::resp3_client(client)?),
            Endpoint::Cluster { .. } => self.clone(),
            Endpoint::Sentinel { client, .. } => Endpoint::Sentinel {
                client: client.clone(),
                resp3: true,
            },
        })
    }
}

/// The endpoint of a Sentinel URL after its scheme:
/// `[user:password@]host:port,...[/db[/service]]`.
fn sentinel(rest: &str, certs: Option<TlsCertificates>) -> Result<Endpoint, RedisAdapterError> {
    let bad = |what: &str| RedisAdapterError::Config(format!("Sentinel URL: {what}"));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, authority),
    };
    let sentinels = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            format!("redis://{h}")
                .into_connection_info()
                .map(|info| info.addr().clone())
        })
        .collect::<redis::RedisResult<Vec<_>>>()?;
    if sentinels.is_empty() {
        return Err(bad("no Sentinel address"));
    }
    let mut parts = path.split('/');
    let db = match parts.next().filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse::<i64>()
            .map_err(|_| bad("the database is not a number"))?,
        None => 0,
    };
    let service = parts
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_SERVICE);
    let mut builder = SentinelClientBuilder::new(sentinels, service, SentinelServerType::Master)?
        .set_client_to_redis_db(db)
        .set_client_to_redis_tcp_settings(tcp_settings())
        .set_client_to_sentinel_tcp_settings(tcp_settings());
    if let Some(credentials) = credentials {
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| bad("bad percent-encoding in the credentials"))
        };
        if !user.is_empty() {
            builder = builder.set_client_to_redis_username(decode(user)?);
        }
        if !password.is_empty() {
            builder = builder.set_client_to_redis_password(decode(password)?);
        }
    }
    if let Some(certs) = certs {
        install_crypto_provider();
        builder = builder
            .set_client_to_redis_tls_mode(redis::TlsMode::Secure)
            .set_client_to_redis_certificates(certs);
    }
    let client = builder.build()?;
    Ok(Endpoint::Sentinel {
        client: Arc::new(tokio::sync::Mutex::new(client)),
        resp3: false,
    })
}

/// The sockets to Redis send each command at once (`TCP_NODELAY`, as
/// Node's Redis clients do): with Nagle's algorithm, the tail of a large
/// message (a `fetchSockets` answer) waits for the acknowledgement of what
/// went before it.
fn tcp_settings() -> redis::io::tcp::TcpSettings {
    redis::io::tcp::TcpSettings::default().set_nodelay(true)
}

fn no_delay(info: redis::ConnectionInfo) -> redis::ConnectionInfo {
    info.set_tcp_settings(tcp_settings())
}

/// `%XX` escapes of a URL's user or password.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The TLS material of `options`, read from its files; `None` when it names
/// none.
fn certificates(
    options: &RedisConnectOptions,
) -> Result<Option<TlsCertificates>, RedisAdapterError> {
    let root_cert = options.tls_ca_file.as_deref().map(read).transpose()?;
    let client_tls = match (&options.tls_client_cert, &options.tls_client_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read(cert)?,
            client_key: read(key)?,
        }),
        _ => {
            return Err(RedisAdapterError::Config(
                "a TLS client certificate needs its key, and a key its certificate".into(),
            ))
        }
    };
    if root_cert.is_none() && client_tls.is_none() {
        return Ok(None);
    }
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

fn read(path: &Path) -> Result<Vec<u8>, RedisAdapterError> {
    std::fs::read(path)
        .map_err(|e| RedisAdapterError::Config(format!("cannot read {}: {e}", path.display())))
}

/// `redis` builds its TLS settings with rustls' process-wide provider: make
/// sure there is one (`ring`, as the rest of the crate), so TLS never
/// depends on which rustls features other crates happen to enable.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one first: theirs is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(url: &str, options: &RedisConnectOptions) -> Result<Endpoint, RedisAdapterError> {
        Endpoint::open(url, options)
    }

    #[test]
    fn connections_to_redis_do_not_wait_for_acknowledgements() {
        let none = RedisConnectOptions::default();
        match open("redis://127.0.0.1:6379", &none) {
            Ok(Endpoint::Single(client)) => {
                assert!(client.get_connection_info().tcp_settings().nodelay())
            }
            _ => panic!("one URL is a single server"),
        }
        match open("redis://127.0.0.1:7000, redis://127.0.0.1:7001", &none) {
            Ok(Endpoint::Cluster { nodes, .. }) => {
                assert!(nodes.iter().all(|n| n.tcp_settings().nodelay()))
            }
            _ => panic!("two URLs are cluster seeds"),
        }
    }

    #[test]
    fn urls_pick_the_kind_of_endpoint() {
        let none = RedisConnectOptions::default();
        assert!(matches!(
            open("redis://127.0.0.1:6379", &none),
            Ok(Endpoint::Single(_))
        ));
        let seeds = "redis://127.0.0.1:7000, redis://127.0.0.1:7001";
        match open(seeds, &none) {
            Ok(Endpoint::Cluster { nodes, certs }) => {
                assert_eq!(nodes.len(), 2);
                assert!(certs.is_none());
            }
            _ => panic!("two URLs are cluster seeds"),
        }
        assert!(matches!(
            open("redis://127.0.0.1:7000", &none.clone().cluster(true)),
            Ok(Endpoint::Cluster { .. })
        ));
        assert!(matches!(
            open("redis+sentinel://127.0.0.1:26379/0/svc", &none),
            Ok(Endpoint::Sentinel { resp3: false, .. })
        ));
        assert!(matches!(
            open("rediss://user:pw@127.0.0.1:6380", &none),
            Ok(Endpoint::Single(_))
        ));
    }

    #[test]
    fn bad_urls_and_options_are_errors() {
        let none = RedisConnectOptions::default();
        for url in ["", " , ", "redis+sentinel://", "redis+sentinel:///0/svc"] {
            assert!(open(url, &none).is_err(), "{url:?}");
        }
        let err = open("redis+sentinel://127.0.0.1:26379/x/svc", &none)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("database")));
        // Seeds must agree on their credentials.
        assert!(open("redis://a:b@127.0.0.1:1,redis://c:d@127.0.0.1:2", &none).is_err());
        let half = none.clone().tls_client_key(Some("key.pem".into()));
        assert!(matches!(
            open("rediss://127.0.0.1", &half),
            Err(RedisAdapterError::Config(_))
        ));
        let missing = none.tls_ca_file(Some("/nonexistent/ca.pem".into()));
        let err = open("rediss://127.0.0.1", &missing)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("/nonexistent/ca.pem")));
    }

    #[test]
    fn credentials_are_percent_decoded() {
        assert_eq!(
            percent_decode("p%40ss%3Aword").as_deref(),
            Some("p@ss:word")
        );
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%4"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
