//! The Redis adapters through Sentinel (`redis+sentinel://`): a master, its
//! replica and a Sentinel started by the test (the URL names a dead
//! Sentinel first). Two of our servers find the master through the
//! Sentinel, exchange requests and broadcasts, and carry on on the replica
//! once the Sentinel promoted it after the master died.

mod common;
mod redis_support;

use std::time::Duration;

use redis_support::sentinel::SentinelSet;
use redis_support::{clients, rust_server_at, until_received, wait_servers, Flavour};
use socketio::adapter::redis::RedisConnectOptions;
use socketio::Value;
use tokio::time::Instant;

async fn through_sentinel(flavour: Flavour) {
    let Some(mut set) = SentinelSet::start().await else {
        return;
    };
    let mut servers = Vec::new();
    for _ in 0..2 {
        let server = rust_server_at(&set.url(), RedisConnectOptions::default(), flavour, false)
            .await
            .expect("connect through Sentinel");
        server.io.on_server_side_emit("ping", |args, ack| {
            if let Some(ack) = ack {
                let n = args.first().and_then(Value::as_i64).unwrap_or(0);
                ack.send(Value::from(n + 1));
            }
        });
        servers.push(server);
    }
    let (a, b) = (&servers[0], &servers[1]);
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let answers =
        a.io.server_side_emit_with_ack("ping", vec![Value::from(1)], Duration::from_secs(3))
            .await;
    assert_eq!(answers, vec![Value::from(2)], "{flavour:?}");
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    // A room's channel (sharded flavour) is subscribed after the join was
    // acknowledged, as with Node: retry until it is.
    until_received(&a.io, &mut pb, "b1", "r", "before").await;

    set.fail_over().await;
    until_received(&a.io, &mut pb, "b1", "r", "again").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answers =
            a.io.server_side_emit_with_ack("ping", vec![Value::from(1)], Duration::from_secs(2))
                .await;
        if answers == vec![Value::from(2)] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{flavour:?}: no server-side emit after the failover: {answers:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn classic_through_sentinel_and_a_failover() {
    through_sentinel(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sharded_through_sentinel_and_a_failover() {
    through_sentinel(Flavour::Sharded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_through_sentinel_and_a_failover() {
    through_sentinel(Flavour::Streams).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sentinel_url_without_sentinels_is_an_error() {
    let err = rust_server_at(
        "redis+sentinel:///0/mymaster",
        RedisConnectOptions::default(),
        Flavour::Classic,
        false,
    )
    .await
    .err()
    .expect("no Sentinel address");
    assert!(err.to_string().contains("Sentinel"), "{err}");
    let err = rust_server_at(
        "redis+sentinel://127.0.0.1:1/zero/mymaster",
        RedisConnectOptions::default(),
        Flavour::Classic,
        false,
    )
    .await
    .err()
    .expect("a bad database");
    assert!(err.to_string().contains("database"), "{err}");
}
