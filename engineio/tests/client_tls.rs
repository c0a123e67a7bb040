//! The Rust Engine.IO client over TLS (`https` / `wss`) against our own
//! server behind tokio-rustls, with a self-signed certificate made at test
//! time and trusted through `ClientConfig::tls`.
#![cfg(feature = "tls")]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use engineio::client::{Client, ClientConfig, ClientEvent, Error, TlsConfig, TransportType};
use engineio::server::DisconnectReason;
use engineio::{EngineIo, Handler, Message, ServerConfig, Socket};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

const WAIT: Duration = Duration::from_secs(5);

struct Echo;

impl Handler for Echo {
    type Data = ();
    fn on_connect(&self, _socket: Arc<Socket<()>>) {}
    fn on_message(&self, socket: &Arc<Socket<()>>, msg: Message) {
        let _ = socket.send(msg);
    }
    fn on_disconnect(&self, _socket: &Arc<Socket<()>>, _reason: DisconnectReason) {}
}

async fn bounded<F: Future>(limit: Duration, f: F) -> F::Output {
    tokio::time::timeout(limit, f).await.expect("test in time")
}

/// An Engine.IO echo server over TLS on 127.0.0.1, with a fresh self-signed
/// certificate for `localhost` and `127.0.0.1`; returns its address and the
/// certificate, PEM-encoded.
async fn tls_server() -> (SocketAddr, String) {
    tls_server_asking(None).await
}

/// [`tls_server`], asking clients for a certificate signed by `client_ca`
/// when given (and refusing the handshake without one).
async fn tls_server_asking(
    client_ca: Option<rustls::pki_types::CertificateDer<'static>>,
) -> (SocketAddr, String) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca).expect("client CA");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let server = EngineIo::new(
        ServerConfig::default()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200)),
        Echo,
    );
    let svc = server.service();
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    tokio::spawn(async move {
        let _server = server;
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let svc = svc.clone();
            tokio::spawn(async move {
                // A client refusing the certificate aborts the handshake.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, cert.pem())
}

fn config(pem: &str, transports: &[TransportType]) -> ClientConfig {
    ClientConfig::default()
        .transports(transports.to_vec())
        .tls(Some(
            TlsConfig::default()
                .root_cert_pem(pem.as_bytes())
                .builtin_roots(false),
        ))
        .connect_timeout(Some(WAIT))
}

async fn recv(events: &mut tokio::sync::mpsc::Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("event in time")
        .expect("events open")
}

/// Sends a message and waits for its echo, skipping upgrade events.
async fn echo(client: &Client, events: &mut tokio::sync::mpsc::Receiver<ClientEvent>, text: &str) {
    client.send(Message::Text(text.into())).expect("send");
    loop {
        match recv(events).await {
            ClientEvent::Message(m) => {
                assert_eq!(m, Message::Text(text.into()));
                return;
            }
            ClientEvent::Upgrade(t) => assert_eq!(t, TransportType::Websocket),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn polling_over_https() {
    bounded(Duration::from_secs(15), async {
        let (addr, pem) = tls_server().await;
        let url = format!("https://{addr}");
        let (client, mut events) = Client::connect(&url, config(&pem, &[TransportType::Polling]))
            .await
            .expect("connect");
        assert_eq!(client.transport(), TransportType::Polling);
        echo(&client, &mut events, "over https").await;
        // Long enough for a few heartbeats over the TLS polling connection.
        tokio::time::sleep(Duration::from_millis(700)).await;
        echo(&client, &mut events, "still there").await;
        assert_eq!(client.transport(), TransportType::Polling);
        client.close();
    })
    .await;
}

#[tokio::test]
async fn websocket_over_wss() {
    bounded(Duration::from_secs(15), async {
        let (addr, pem) = tls_server().await;
        // `localhost` checks the DNS name of the certificate too.
        let url = format!("wss://localhost:{}", addr.port());
        let (client, mut events) = Client::connect(&url, config(&pem, &[TransportType::Websocket]))
            .await
            .expect("connect");
        assert_eq!(client.transport(), TransportType::Websocket);
        echo(&client, &mut events, "over wss").await;
        client
            .send(Message::Binary(bytes::Bytes::from_static(&[1, 2, 3])))
            .expect("send");
        assert_eq!(
            recv(&mut events).await,
            ClientEvent::Message(Message::Binary(bytes::Bytes::from_static(&[1, 2, 3])))
        );
        client.close();
    })
    .await;
}

#[tokio::test]
async fn upgrade_over_tls() {
    bounded(Duration::from_secs(15), async {
        let (addr, pem) = tls_server().await;
        let url = format!("https://{addr}");
        let (client, mut events) = Client::connect(
            &url,
            config(&pem, &[TransportType::Polling, TransportType::Websocket]),
        )
        .await
        .expect("connect");
        assert_eq!(client.transport(), TransportType::Polling);
        assert_eq!(
            recv(&mut events).await,
            ClientEvent::Upgrade(TransportType::Websocket)
        );
        assert_eq!(client.transport(), TransportType::Websocket);
        echo(&client, &mut events, "after the upgrade").await;
        client.close();
    })
    .await;
}

fn assert_certificate_error(err: Error) {
    match &err {
        Error::Tls(msg) => assert!(msg.contains("certificate"), "{err:?}"),
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    bounded(Duration::from_secs(15), async {
        let (addr, _pem) = tls_server().await;
        for transport in [TransportType::Polling, TransportType::Websocket] {
            // The default: the built-in roots only.
            let config = ClientConfig::default()
                .transports(vec![transport])
                .connect_timeout(Some(WAIT));
            let err = Client::connect(&format!("https://{addr}"), config)
                .await
                .expect_err("untrusted certificate");
            assert_certificate_error(err);
        }
        // Another self-signed root does not vouch for this server either.
        let (_, other_pem) = tls_server().await;
        let err = Client::connect(
            &format!("wss://{addr}"),
            config(&other_pem, &[TransportType::Websocket]),
        )
        .await
        .expect_err("wrong root");
        assert_certificate_error(err);
    })
    .await;
}

#[tokio::test]
async fn unverified_mode_accepts_a_self_signed_certificate() {
    bounded(Duration::from_secs(15), async {
        let (addr, _pem) = tls_server().await;
        for transport in [TransportType::Polling, TransportType::Websocket] {
            let config = ClientConfig::default()
                .transports(vec![transport])
                .connect_timeout(Some(WAIT))
                .tls(Some(TlsConfig::default().verify_certificates(false)));
            let (client, mut events) = Client::connect(&format!("https://{addr}"), config)
                .await
                .expect("connects without verification");
            echo(&client, &mut events, "unverified").await;
            client.close();
        }
        // The same server, verified (the default), is refused.
        let err = Client::connect(
            &format!("https://{addr}"),
            ClientConfig::default()
                .tls(Some(TlsConfig::default().verify_certificates(true)))
                .connect_timeout(Some(WAIT)),
        )
        .await
        .expect_err("verified");
        assert_certificate_error(err);
    })
    .await;
}

#[tokio::test]
async fn unusable_tls_settings() {
    bounded(Duration::from_secs(15), async {
        let no_roots = ClientConfig::default().tls(Some(TlsConfig::default().builtin_roots(false)));
        let err = Client::connect("https://127.0.0.1:1", no_roots)
            .await
            .expect_err("no roots");
        assert!(matches!(err, Error::Tls(_)), "{err:?}");

        let bad_pem = config("not a certificate", &[TransportType::Polling]);
        let err = Client::connect("https://127.0.0.1:1", bad_pem)
            .await
            .expect_err("bad pem");
        assert!(matches!(err, Error::Tls(_)), "{err:?}");

        // TLS settings do not matter to plain URLs.
        let plain = config("not a certificate", &[TransportType::Polling]);
        let err = Client::connect("http://127.0.0.1:1", plain)
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, Error::Http(_)), "{err:?}");
    })
    .await;
}

/// A certificate authority for client certificates and a client
/// certificate it signed: (the authority, the certificate's PEM, its key's
/// PEM).
fn client_certificate() -> (rustls::pki_types::CertificateDer<'static>, String, String) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca =
        rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().expect("key"))
            .expect("authority");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["client".to_owned()]).expect("params");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &ca).expect("client certificate");
    (ca.der().clone(), cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn client_certificate_for_mutual_tls() {
    bounded(Duration::from_secs(20), async {
        let (ca, cert, key) = client_certificate();
        let (addr, pem) = tls_server_asking(Some(ca)).await;
        let url = format!("https://{addr}");
        let trusting = || TlsConfig::default().root_cert_pem(pem.as_bytes()).builtin_roots(false);
        for transport in [TransportType::Polling, TransportType::Websocket] {
            // With the certificate the server asks for: in, on both transports.
            let config = ClientConfig::default()
                .transports(vec![transport])
                .tls(Some(trusting().client_auth_pem(cert.as_bytes(), key.as_bytes())))
                .connect_timeout(Some(WAIT));
            let (client, mut events) = Client::connect(&url, config).await.expect("connect");
            echo(&client, &mut events, "with a client certificate").await;
            client.close();

            // Without one: the server refuses the handshake.
            let config = ClientConfig::default()
                .transports(vec![transport])
                .tls(Some(trusting()))
                .connect_timeout(Some(WAIT));
            assert!(Client::connect(&url, config).await.is_err(), "{transport:?} without a certificate");
        }
        // A key that is not PEM, or encrypted, is a clear error.
        for (bad_key, says) in [
            ("not a key".to_owned(), "invalid PEM client key"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n".to_owned(),
                "encrypted",
            ),
        ] {
            let config = ClientConfig::default()
                .tls(Some(trusting().client_auth_pem(cert.as_bytes(), bad_key.as_bytes())))
                .connect_timeout(Some(WAIT));
            match Client::connect(&url, config).await {
                Err(Error::Tls(msg)) => assert!(msg.contains(says), "{msg}"),
                other => panic!("expected a TLS error, got {:?}", other.map(|_| ())),
            }
        }
    })
    .await;
}
