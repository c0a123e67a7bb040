//! TLS for `https` / `wss`: the rustls configuration both transports share,
//! built once per connection from [`TlsConfig`](super::TlsConfig).

use super::config::ClientConfig;
use super::error::Error;

#[cfg(feature = "tls")]
use std::sync::Arc;

/// The TLS settings of one connection; empty for `http` / `ws` URLs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tls {
    #[cfg(feature = "tls")]
    config: Option<Arc<rustls::ClientConfig>>,
}

impl Tls {
    /// The TLS settings for a connection to a `secure` endpoint, none for a
    /// plain one.
    pub(crate) fn new(secure: bool, config: &ClientConfig) -> Result<Tls, Error> {
        if !secure {
            return Ok(Tls::default());
        }
        #[cfg(feature = "tls")]
        {
            Ok(Tls {
                config: Some(rustls_config(config)?),
            })
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = config;
            Err(Error::TlsUnsupported)
        }
    }

    /// The rustls configuration of a secure endpoint, without ALPN (the
    /// WebSocket handshake is HTTP/1.1).
    #[cfg(feature = "tls")]
    pub(crate) fn websocket_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        let config = self.config.as_ref()?;
        if config.alpn_protocols.is_empty() {
            return Some(config.clone());
        }
        let mut config = (**config).clone();
        config.alpn_protocols.clear();
        Some(Arc::new(config))
    }

    /// An HTTP connector speaking TLS to `https` URLs (plain HTTP to
    /// `http` ones).
    #[cfg(feature = "tls")]
    pub(crate) fn http_connector(
        &self,
        mut http: hyper_util::client::legacy::connect::HttpConnector,
    ) -> Result<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Error,
    > {
        http.enforce_http(false);
        let config = match &self.config {
            Some(c) => (**c).clone(),
            // Never used: the endpoint is plain HTTP.
            None => builder()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        };
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http))
    }
}

/// A rustls builder on the `ring` provider, chosen explicitly so that another
/// crate enabling a second provider cannot make the process default
/// ambiguous.
#[cfg(feature = "tls")]
fn builder() -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>, Error> {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))
}

/// The rustls client configuration for `config`: the one given as is, or
/// the built-in roots plus the extra PEM roots.
#[cfg(feature = "tls")]
fn rustls_config(config: &ClientConfig) -> Result<Arc<rustls::ClientConfig>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let default = super::config::TlsConfig::default();
    let tls = config.tls.as_ref().unwrap_or(&default);
    if let Some(rustls) = &tls.rustls {
        return Ok(rustls.clone());
    }
    let client_auth = match &tls.client_auth_pem {
        Some(pem) => Some(client_auth(pem)?),
        None => None,
    };
    if !tls.verify_certificates {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)));
        return finish(builder, client_auth);
    }
    let mut roots = rustls::RootCertStore::empty();
    if tls.builtin_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for pem in &tls.root_certs_pem {
        let mut found = false;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|e| Error::Tls(format!("invalid PEM root certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("invalid root certificate: {e}")))?;
            found = true;
        }
        if !found {
            return Err(Error::Tls(
                "no certificate in the PEM root certificates".into(),
            ));
        }
    }
    if roots.is_empty() {
        return Err(Error::Tls("no trusted root certificates".into()));
    }
    finish(builder()?.with_root_certificates(roots), client_auth)
}

/// A client certificate chain and its key, parsed.
#[cfg(feature = "tls")]
type ClientAuth = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

/// Parses the PEM client certificate chain and key of `pem`.
#[cfg(feature = "tls")]
fn client_auth(pem: &super::config::ClientAuthPem) -> Result<ClientAuth, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_slice_iter(&pem.cert_chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("invalid PEM client certificate: {e}")))?;
    if chain.is_empty() {
        return Err(Error::Tls(
            "no certificate in the PEM client certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&pem.key).map_err(|e| {
        let encrypted = pem
            .key
            .windows(b"ENCRYPTED".len())
            .any(|w| w == b"ENCRYPTED");
        if encrypted {
            Error::Tls(
                "the client key is encrypted: give it unencrypted (PKCS#8, PKCS#1 or SEC1 PEM)"
                    .into(),
            )
        } else {
            Error::Tls(format!("invalid PEM client key: {e}"))
        }
    })?;
    Ok((chain, key))
}

/// Ends a rustls configuration, with the client certificate when there is
/// one (a key that does not fit the certificate is refused here).
#[cfg(feature = "tls")]
fn finish(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    client_auth: Option<ClientAuth>,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let config = match client_auth {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| Error::Tls(format!("invalid client certificate or key: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Accepts any server certificate (`verify_certificates: false`), while the
/// handshake's signatures are still checked, so the session keys are the
/// certificate holder's.
#[cfg(feature = "tls")]
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

#[cfg(feature = "tls")]
impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS failure behind `e` (an untrusted certificate, a failed
/// handshake), if that is why it failed.
#[cfg(feature = "tls")]
pub(crate) fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // `io::Error::source` skips the error it wraps: look at it directly.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = tls_cause(inner) {
                return Some(tls);
            }
        }
        cur = err.source();
    }
    None
}

/// Without the `tls` feature no failure is a TLS one.
#[cfg(not(feature = "tls"))]
pub(crate) fn tls_cause(_e: &(dyn std::error::Error + 'static)) -> Option<String> {
    None
}
