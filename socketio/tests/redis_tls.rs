//! The Redis adapters over TLS (`rediss://`) with an ACL user, against a
//! TLS-only `redis-server` on certificates made by the test: two of our
//! servers per flavour count each other and exchange requests and
//! broadcasts; a wrong authority, a wrong password and a missing client
//! certificate fail the factory quickly with a clear error.

mod common;
mod redis_support;

use std::time::Duration;

use redis_support::tls::{Pki, TlsRedis};
use redis_support::{clients, rust_server_at, until_received, wait_servers, Flavour};
use socketio::adapter::redis::RedisConnectOptions;
use socketio::Value;
use tokio::time::Instant;

/// A refused connection fails within the connect timeout, never hangs.
const FAILS_WITHIN: Duration = Duration::from_secs(12);

fn ca(redis: &TlsRedis) -> RedisConnectOptions {
    RedisConnectOptions::default().tls_ca_file(Some(redis.pki.ca.clone()))
}

async fn two_servers_talk(redis: &TlsRedis, options: RedisConnectOptions, flavour: Flavour) {
    let a = rust_server_at(&redis.url(), options.clone(), flavour, false)
        .await
        .expect("connect over TLS");
    let b = rust_server_at(&redis.url(), options, flavour, false)
        .await
        .expect("connect over TLS");
    b.io.on_server_side_emit("ping", |args, ack| {
        if let Some(ack) = ack {
            let n = args.first().and_then(Value::as_i64).unwrap_or(0);
            ack.send(Value::from(n + 1));
        }
    });
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let answers =
        a.io.server_side_emit_with_ack("ping", vec![Value::from(1)], Duration::from_secs(3))
            .await;
    assert_eq!(answers, vec![Value::from(2)], "{flavour:?}");
    // A broadcast from A reaches B's client (the stream, for streams).
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    // Retried: a sharded room channel is subscribed after the join was
    // acknowledged, as with Node.
    until_received(&a.io, &mut pb, "b1", "r", "to-r").await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_flavour_over_tls_with_an_acl_user() {
    let Some(redis) = TlsRedis::start(false).await else {
        return;
    };
    for flavour in [Flavour::Classic, Flavour::Sharded, Flavour::Streams] {
        two_servers_talk(&redis, ca(&redis), flavour).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_certificates_for_servers_that_verify_clients() {
    let Some(redis) = TlsRedis::start(true).await else {
        return;
    };
    let mtls = ca(&redis)
        .tls_client_cert(Some(redis.pki.client_cert.clone()))
        .tls_client_key(Some(redis.pki.client_key.clone()));
    two_servers_talk(&redis, mtls, Flavour::Classic).await;
    // Without a certificate the server hangs up during the handshake.
    let started = Instant::now();
    let refused = rust_server_at(&redis.url(), ca(&redis), Flavour::Classic, false).await;
    let err = refused
        .err()
        .expect("no client certificate must be refused");
    assert!(
        started.elapsed() < FAILS_WITHIN,
        "took {:?}",
        started.elapsed()
    );
    eprintln!("without a client certificate: {err}");
    // A certificate without its key is a configuration error.
    let half = ca(&redis).tls_client_cert(Some(redis.pki.client_cert.clone()));
    let err = rust_server_at(&redis.url(), half, Flavour::Classic, false)
        .await
        .err()
        .expect("a certificate without a key");
    assert!(err.to_string().contains("key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_authority_or_password_is_a_clear_error() {
    let Some(redis) = TlsRedis::start(false).await else {
        return;
    };
    // Another authority did not sign the server's certificate.
    let other = Pki::new();
    for flavour in [Flavour::Classic, Flavour::Sharded, Flavour::Streams] {
        let started = Instant::now();
        let wrong_ca = RedisConnectOptions::default().tls_ca_file(Some(other.ca.clone()));
        let err = rust_server_at(&redis.url(), wrong_ca, flavour, false)
            .await
            .err()
            .expect("an unknown authority must be refused");
        assert!(
            started.elapsed() < FAILS_WITHIN,
            "took {:?}",
            started.elapsed()
        );
        let text = err.to_string().to_lowercase();
        assert!(
            text.contains("certificate") || text.contains("issuer"),
            "{err}"
        );
    }
    // The public roots do not know the test authority either.
    let err = rust_server_at(
        &redis.url(),
        RedisConnectOptions::default(),
        Flavour::Classic,
        false,
    )
    .await
    .err()
    .expect("the webpki roots must refuse the test authority");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    // A wrong password.
    let url = format!("rediss://alice:wrong@127.0.0.1:{}", redis.port);
    let started = Instant::now();
    let err = rust_server_at(&url, ca(&redis), Flavour::Classic, false)
        .await
        .err()
        .expect("a wrong password must be refused");
    assert!(
        started.elapsed() < FAILS_WITHIN,
        "took {:?}",
        started.elapsed()
    );
    let text = err.to_string().to_lowercase();
    assert!(text.contains("wrongpass") || text.contains("auth"), "{err}");
    // A missing CA file.
    let missing = RedisConnectOptions::default().tls_ca_file(Some(other.dir.0.join("missing.pem")));
    let err = rust_server_at(&redis.url(), missing, Flavour::Classic, false)
        .await
        .err()
        .expect("a missing CA file");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}
