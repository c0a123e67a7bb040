//! The three Redis adapter flavours on a real Redis Cluster started by the
//! test (3 masters on free loopback ports; 3 more as replicas for the
//! failover tests): two of our servers broadcast to everyone and to rooms
//! (the sharded flavour's room channels live on other slots than its main
//! channel), fetch each other's sockets and answer server-side emits with
//! acknowledgements. Then a master is killed under a broadcast flood; its
//! replica takes over and the broadcasts resume.
//!
//! Without `redis-server` and `redis-cli` the tests skip loudly, unless
//! `SOCKETIO_RS_REQUIRE_REDIS` is set, where they fail.

mod common;
mod redis_support;

use std::time::Duration;

use redis_support::cluster::RedisCluster;
use redis_support::{clients, rust_server_at, until_end, until_received, wait_servers, Flavour};
use socketio::adapter::redis::RedisConnectOptions;
use socketio::Value;
use tokio::time::Instant;

async fn servers(
    cluster: &RedisCluster,
    flavour: Flavour,
) -> (common::TestServer, common::TestServer) {
    let mut out = Vec::new();
    for _ in 0..2 {
        let server = rust_server_at(
            &cluster.url(),
            RedisConnectOptions::default(),
            flavour,
            false,
        )
        .await
        .expect("connect to the cluster");
        server.io.on_server_side_emit("ping", |args, ack| {
            if let Some(ack) = ack {
                let n = args.first().and_then(Value::as_i64).unwrap_or(0);
                ack.send(Value::from(n + 1));
            }
        });
        out.push(server);
    }
    let b = out.pop().expect("two servers");
    let a = out.pop().expect("two servers");
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    (a, b)
}

async fn two_servers_on_a_cluster(flavour: Flavour) {
    let Some(cluster) = RedisCluster::start(3, 0).await else {
        return;
    };
    let (a, b) = servers(&cluster, flavour).await;
    let answers =
        a.io.server_side_emit_with_ack("ping", vec![Value::from(1)], Duration::from_secs(3))
            .await;
    assert_eq!(answers, vec![Value::from(2)]);
    let answers =
        b.io.server_side_emit_with_ack("ping", vec![Value::from(10)], Duration::from_secs(3))
            .await;
    assert_eq!(answers, vec![Value::from(11)]);

    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &["s"])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"]), ("b2", &["t"])]).await;
    if flavour == Flavour::Sharded {
        // A room's channel is subscribed after the join was acknowledged
        // (as with Node): wait for the last one.
        cluster
            .wait_shard_subscriber("socket.io#/#t#", "room t")
            .await;
    }
    a.io.to("r").emit("to-r", &1).expect("emit");
    b.io.to("s").emit("to-s", &2).expect("emit");
    a.io.to("t").emit("to-t", &3).expect("emit");
    b.io.emit("all", &4).expect("emit");
    a.io.except("r").emit("not-r", &5).expect("emit");
    // Channels of different slots reach a subscriber over different node
    // connections, so one server's messages are not ordered across rooms:
    // wait for what each client must get, then check nothing else came.
    for (on_b, name, expected) in [
        (false, "a1", &["all", "to-r"][..]),
        (false, "a2", &["all", "not-r", "to-s"][..]),
        (true, "b1", &["all", "to-r"][..]),
        (true, "b2", &["all", "not-r", "to-t"][..]),
    ] {
        let p = if on_b { &mut pb } else { &mut pa };
        for event in expected {
            p.recv(name, event).await;
        }
    }
    let got = until_end(
        &[&a.io, &b.io],
        &mut [(&mut pa, &["a1", "a2"]), (&mut pb, &["b1", "b2"])],
    )
    .await;
    for extra in &got {
        assert!(extra.is_empty(), "{flavour:?}: {got:?}");
    }

    let all = a.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 4, "{all:?}");
    let in_r = b.io.in_("r").fetch_all_sockets().await;
    assert_eq!(in_r.len(), 2, "{in_r:?}");

    let acks =
        a.io.broadcast()
            .timeout(Duration::from_secs(3))
            .emit_with_ack_all("ask", &"?")
            .await
            .expect("emit");
    assert_eq!(acks.local.responses.len(), 2, "{acks:?}");
    assert!(acks.remote_complete, "{acks:?}");
    let mut remote = acks.remote.clone();
    remote.sort_by_key(|v| v.as_str().map(str::to_owned));
    assert_eq!(remote, vec![Value::from("b1"), Value::from("b2")]);
    pa.finish().await;
    pb.finish().await;
}

/// Kills the master serving `key` while A floods room "r"; B's client in
/// "r" hears A again once the replica took over, and requests work again.
async fn failover(flavour: Flavour, key: &str) {
    let Some(mut cluster) = RedisCluster::start(3, 1).await else {
        return;
    };
    let (a, b) = servers(&cluster, flavour).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    // A room's channel (sharded flavour) is subscribed after the join was
    // acknowledged, as with Node: retry until it is.
    until_received(&a.io, &mut pb, "b1", "r", "before").await;

    let master = cluster.master_of(key).await;
    let flood = {
        let io = a.io.clone();
        tokio::spawn(async move {
            for n in 0..200 {
                let _ = io.to("r").emit("flood", &n);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    cluster.kill(master);
    let promoted = cluster.wait_failover(key, master).await;
    assert_ne!(promoted, master);
    flood.await.expect("the flood task ran to its end");

    until_received(&a.io, &mut pb, "b1", "r", "again").await;
    // Requests and responses cross again too.
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

/// Moves the slot of room "r"'s shard channel to another master: Redis
/// drops B's subscription, B subscribes again on the new owner, and A's
/// publisher follows the `MOVED` redirection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sharded_follows_a_resharded_slot() {
    let Some(cluster) = RedisCluster::start(3, 0).await else {
        return;
    };
    let channel = "socket.io#/#r#";
    let (a, b) = servers(&cluster, Flavour::Sharded).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    cluster.wait_shard_subscriber(channel, "room r").await;
    // A room's channel (sharded flavour) is subscribed after the join was
    // acknowledged, as with Node: retry until it is.
    until_received(&a.io, &mut pb, "b1", "r", "before").await;

    let to = cluster.move_slot(channel).await;
    assert_eq!(cluster.master_of(channel).await, to);
    cluster
        .wait_shard_subscriber(channel, "room r after the move")
        .await;
    until_received(&a.io, &mut pb, "b1", "r", "again").await;
    // And in order from then on.
    for i in 0..5 {
        a.io.to("r").emit("after", &i).expect("emit");
    }
    for _ in 0..5 {
        pb.recv("b1", "after").await;
    }
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn classic_on_a_cluster() {
    two_servers_on_a_cluster(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sharded_on_a_cluster() {
    two_servers_on_a_cluster(Flavour::Sharded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_on_a_cluster() {
    two_servers_on_a_cluster(Flavour::Streams).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_with_sharded_pubsub_on_a_cluster() {
    two_servers_on_a_cluster(Flavour::StreamsSharded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sharded_survives_a_master_failover() {
    // The room's own channel.
    failover(Flavour::Sharded, "socket.io#/#r#").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_survive_a_master_failover() {
    // The stream.
    failover(Flavour::Streams, "socket.io").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn classic_survives_a_master_failover() {
    failover(Flavour::Classic, "socket.io#/#").await;
}
