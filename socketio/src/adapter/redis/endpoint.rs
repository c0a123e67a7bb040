//! Where a transport finds Redis: one server, or the seed nodes of a Redis
//! Cluster, with the TLS material of `rediss://` servers signed by a
//! private authority or requiring client certificates. Every connection a
//! transport opens (publisher, subscriber, stream reader) is built from one
//! [`Endpoint`], so they all reach the same servers the same way.

use std::path::{Path, PathBuf};

use redis::cluster::{ClusterClient, ClusterClientBuilder};
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
}

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
        if certs.is_some() || urls.iter().any(|u| u.starts_with("rediss:")) {
            install_crypto_provider();
        }
        if options.cluster || urls.len() > 1 {
            let nodes = urls
                .iter()
                .map(|u| u.into_connection_info())
                .collect::<redis::RedisResult<Vec<_>>>()?;
            let endpoint = Endpoint::Cluster { nodes, certs };
            // Checks the seeds agree (credentials, TLS) before connecting.
            if let Some(Err(e)) = endpoint.cluster_client() {
                return Err(e.into());
            }
            return Ok(endpoint);
        }
        Ok(Endpoint::Single(match certs {
            Some(certs) => redis::Client::build_with_tls(*first, certs)?,
            None => redis::Client::open(*first)?,
        }))
    }

    /// A cluster client builder on the seed nodes with the TLS material;
    /// `None` for a single server.
    pub(super) fn cluster_builder(&self) -> Option<ClusterClientBuilder> {
        let Endpoint::Cluster { nodes, certs } = self else {
            return None;
        };
        let mut builder =
            ClusterClientBuilder::new(nodes.clone()).connection_timeout(CONNECT_TIMEOUT);
        if let Some(certs) = certs {
            builder = builder.certs(certs.clone());
        }
        Some(builder)
    }

    /// The cluster client of the publishing connection (RESP2, whose
    /// `PUBSUB NUMSUB` replies the cluster client sums over the nodes).
    pub(super) fn cluster_client(&self) -> Option<redis::RedisResult<ClusterClient>> {
        self.cluster_builder().map(ClusterClientBuilder::build)
    }
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
