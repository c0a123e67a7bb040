//! The Redis emitter (`socketio::adapter::redis::Emitter`) against a real
//! `redis-server`: a process that is not a server reaches the clients of
//! two of our servers, and of an npm `socket.io` server on the official
//! `@socket.io/redis-adapter`; and it fails cleanly when Redis is away.
//!
//! Each test starts its own `redis-server` on a free loopback port and
//! kills it on drop. Without the binary the tests skip loudly, unless
//! `SOCKETIO_RS_REQUIRE_REDIS` is set, where they fail.

mod common;
mod redis_support;

use std::time::Duration;

use common::*;
use redis_support::*;
use serde_json::{json, Value as Json};
use socketio::adapter::redis::{Emitter, EmitterConfig, EmitterError};
use socketio::Value;
use tokio::time::Instant;

/// The events each client got until the emitter's end marker: the emitter
/// publishes in order on one connection, and every broadcast channel
/// reaches a server through one pattern subscription, so once a client has
/// the marker it has everything sent before it.
async fn until_emitter_end(
    emitter: &Emitter,
    procs: &mut [(&mut NodeProc, &[&str])],
) -> Vec<Vec<String>> {
    emitter.emit("end", &0).await.expect("emit end");
    let mut out = Vec::new();
    for (p, names) in procs.iter_mut() {
        for name in names.iter() {
            p.recv(name, "end").await;
            let mut got = received(p, name);
            got.retain(|e| e != "end" && e != "volatile");
            out.push(sorted(got));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emitter_reaches_the_clients_of_our_servers() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, Flavour::Classic).await;
    let b = rust_server(&redis, Flavour::Classic).await;
    a.io.of("/admin").on_connection(|_| {});
    b.io.of("/admin").on_connection(|_| {});
    wait_servers(&a.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &["x"])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r", "x"]), ("b2", &[])]).await;
    pb.connect("adm", json!({ "nsp": "/admin" })).await;

    let emitter = Emitter::new(&redis.url()).await.expect("emitter");
    emitter.emit("all", &1).await.expect("emit");
    emitter.to("r").emit("to-r", &2).await.expect("emit");
    emitter
        .except("r")
        .emit("except-r", &3)
        .await
        .expect("emit");
    emitter
        .in_("r")
        .except("x")
        .emit("r-not-x", &4)
        .await
        .expect("emit");
    emitter
        .to(vec!["r", "x"])
        .emit("r-or-x", &5)
        .await
        .expect("emit");
    emitter
        .to("x")
        .emit_args(
            "bin",
            vec![Value::Binary(vec![1u8, 2, 3].into()), Value::from("t")],
        )
        .await
        .expect("emit");
    emitter
        .compress(false)
        .emit("flags", &6)
        .await
        .expect("emit");
    // Volatile: a client whose transport is busy misses it, so it is sent
    // but not counted.
    emitter
        .volatile()
        .compress(true)
        .emit("volatile", &6)
        .await
        .expect("emit");
    emitter
        .of("admin")
        .emit("admin-only", &7)
        .await
        .expect("emit");
    // A client's own room, its id.
    let a2_id = {
        let all = a.io.of("/").sockets();
        all.iter()
            .find(|s| s.data().get("name").and_then(Value::as_str) == Some("a2"))
            .map(|s| s.id().to_string())
            .expect("a2 on A")
    };
    emitter.to(a2_id).emit("to-a2", &8).await.expect("emit");
    assert!(matches!(
        emitter.emit("disconnect", &0).await,
        Err(EmitterError::ReservedEvent(e)) if e == "disconnect"
    ));

    let b1_bin = pb.recv("b1", "bin").await;
    assert_eq!(b1_bin["args"], json!([bin(&[1, 2, 3]), "t"]));
    let admin = pb.recv("adm", "admin-only").await;
    assert_eq!(admin["args"], json!([7]));
    let got = until_emitter_end(
        &emitter,
        &mut [(&mut pa, &["a1", "a2"]), (&mut pb, &["b1", "b2"])],
    )
    .await;
    assert_eq!(got[0], ["all", "flags", "r-not-x", "r-or-x", "to-r"]);
    assert_eq!(
        got[1],
        ["all", "bin", "except-r", "flags", "r-or-x", "to-a2"]
    );
    assert_eq!(got[2], ["all", "flags", "r-or-x", "to-r"]);
    assert_eq!(got[3], ["all", "except-r", "flags"]);
    // The main namespace's end marker did not reach /admin, nor anything
    // else.
    let rest = received(&mut pb, "adm");
    assert!(rest.is_empty(), "{rest:?}");
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emitter_room_operations_and_server_side_emit() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, Flavour::Classic).await;
    let b = rust_server(&redis, Flavour::Classic).await;
    let (tx, mut seen) = record::<(&'static str, Vec<Value>)>();
    for (name, io) in [("a", &a.io), ("b", &b.io)] {
        let tx = tx.clone();
        io.on_server_side_emit("note", move |args, ack| {
            assert!(ack.is_none());
            let _ = tx.send((name, args));
        });
    }
    wait_servers(&a.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &[])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"]), ("b2", &[])]).await;
    let emitter = Emitter::connect(&redis.url(), EmitterConfig::default().key("socket.io"))
        .await
        .expect("emitter");

    // serverSideEmit reaches every server (an emitter is none of them).
    emitter
        .server_side_emit("note", vec![Value::from("hi"), Value::from(2)])
        .await
        .expect("server_side_emit");
    let mut heard = [seen.next().await, seen.next().await];
    heard.sort_by_key(|(n, _)| *n);
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        assert_eq!(heard[i], (name, vec![Value::from("hi"), Value::from(2)]));
    }
    // With binary, too.
    emitter
        .server_side_emit("note", vec![Value::Binary(vec![7u8].into())])
        .await
        .expect("server_side_emit");
    for _ in 0..2 {
        assert_eq!(seen.next().await.1, vec![Value::Binary(vec![7u8].into())]);
    }

    // socketsJoin: those in "r" (a1, b1) join "g", except nobody.
    emitter.in_("r").sockets_join("g").await.expect("join");
    let (ans, bns) = (a.io.of("/"), b.io.of("/"));
    eventually("g on both servers", || {
        ans.rooms().iter().any(|r| &**r == "g") && bns.rooms().iter().any(|r| &**r == "g")
    })
    .await;
    // socketsLeave: everyone but those in "g" leaves "r" (nobody is in
    // "r" outside "g"); then those in "g" leave "r".
    emitter
        .except("g")
        .sockets_leave(vec!["r"])
        .await
        .expect("leave");
    emitter.to("g").sockets_leave("r").await.expect("leave");
    eventually("r gone from both servers", || {
        !ans.rooms().iter().any(|r| &**r == "r") && !bns.rooms().iter().any(|r| &**r == "r")
    })
    .await;
    emitter.to("g").emit("to-g", &1).await.expect("emit");
    emitter.to("r").emit("to-r", &2).await.expect("emit");
    let got = until_emitter_end(
        &emitter,
        &mut [(&mut pa, &["a1", "a2"]), (&mut pb, &["b1", "b2"])],
    )
    .await;
    assert_eq!(got, [vec!["to-g"], vec![], vec!["to-g"], vec![]]);

    // disconnectSockets: those in "g" first, then everyone else.
    emitter
        .in_("g")
        .disconnect_sockets(false)
        .await
        .expect("disconnect");
    assert_eq!(pa.disconnected("a1").await, "io server disconnect");
    assert_eq!(pb.disconnected("b1").await, "io server disconnect");
    emitter.disconnect_sockets(true).await.expect("disconnect");
    assert_eq!(pa.disconnected("a2").await, "io server disconnect");
    assert_eq!(pb.disconnected("b2").await, "io server disconnect");
    eventually("no socket left", || {
        ans.sockets().is_empty() && bns.sockets().is_empty()
    })
    .await;
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emitter_reaches_an_npm_server_on_the_official_adapter() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let rust = rust_server(&redis, Flavour::Classic).await;
    let (mut node, node_url) = node_server(&redis, Flavour::Classic, None).await;
    wait_servers(&rust.io, 2).await;
    let mut pr = clients(&rust.url(), &[("r1", &["a"]), ("r2", &[])]).await;
    let mut pn = clients(&node_url, &[("n1", &["a"]), ("n2", &[])]).await;
    let emitter = Emitter::new(&redis.url()).await.expect("emitter");

    emitter.emit("all", &"x").await.expect("emit");
    emitter.to("a").emit("to-a", &1).await.expect("emit");
    emitter
        .except("a")
        .emit_args("bin", vec![Value::Binary(vec![9u8, 8].into())])
        .await
        .expect("emit");
    let n2 = pn.recv("n2", "bin").await;
    assert_eq!(n2["args"], json!([bin(&[9, 8])]));
    let got = until_emitter_end(
        &emitter,
        &mut [(&mut pr, &["r1", "r2"]), (&mut pn, &["n1", "n2"])],
    )
    .await;
    assert_eq!(got[0], ["all", "to-a"]);
    assert_eq!(got[1], ["all", "bin"]);
    assert_eq!(got[2], ["all", "to-a"]);
    assert!(got[3] == ["all"], "{:?}", got[3]);

    // serverSideEmit reaches the Node server's handler.
    emitter
        .server_side_emit("rust-note", vec![Value::from("e")])
        .await
        .expect("server_side_emit");
    let note = node
        .expect("rust-note", |v| {
            v["event"] == "sse_recv" && v["name"] == "rust-note"
        })
        .await;
    assert_eq!(note["args"], json!(["e"]));

    // socketsJoin on the Node server's sockets too.
    emitter.in_("a").sockets_join("g").await.expect("join");
    let names = |v: &Json| -> Vec<String> {
        let mut n: Vec<String> = v["sockets"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|s| s["data"]["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        n.sort();
        n
    };
    let deadline = Instant::now() + WAIT;
    loop {
        let fetched = node_cmd(
            &mut node,
            json!({ "cmd": "fetch", "rooms": ["g"] }),
            "fetched",
        )
        .await;
        if names(&fetched) == ["n1", "r1"] {
            break;
        }
        assert!(Instant::now() < deadline, "g is {fetched}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    emitter.disconnect_sockets(false).await.expect("disconnect");
    for name in ["r1", "r2"] {
        assert_eq!(pr.disconnected(name).await, "io server disconnect");
    }
    for name in ["n1", "n2"] {
        assert_eq!(pn.disconnected(name).await, "io server disconnect");
    }
    pr.finish().await;
    pn.finish().await;
    node.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_reports_a_redis_that_is_away() {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let config = EmitterConfig::default().timeout(Duration::from_secs(2));
    // Nothing listens on a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let started = Instant::now();
    let err = Emitter::connect(&format!("redis://127.0.0.1:{port}"), config.clone())
        .await
        .expect_err("no Redis there");
    // Refused: reported at once, not at the timeout.
    assert!(matches!(err, EmitterError::Redis(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "{err}");
    assert!(matches!(
        Emitter::connect("not a url", config.clone()).await,
        Err(EmitterError::Redis(_))
    ));

    // Redis goes away under a connected emitter: each operation fails
    // within the timeout, then works again once Redis is back.
    let emitter = Emitter::connect(&redis.url(), config)
        .await
        .expect("emitter");
    emitter.emit("one", &1).await.expect("emit");
    redis.stop();
    let started = Instant::now();
    let err = emitter.emit("two", &2).await.expect_err("Redis is away");
    assert!(started.elapsed() < Duration::from_secs(4), "{err}");
    assert!(!err.to_string().is_empty());
    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while emitter.emit("three", &3).await.is_err() {
        assert!(Instant::now() < deadline, "the emitter did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The emitter reaches Redis as the servers' adapters do: the seed nodes
/// of a Redis Cluster, or the master the Sentinels name.
async fn emitter_through(url: &str, what: &str) {
    let a = rust_server_at(url, Default::default(), Flavour::Classic, false)
        .await
        .expect("server A");
    let b = rust_server_at(url, Default::default(), Flavour::Classic, false)
        .await
        .expect("server B");
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"])]).await;
    let mut pb = clients(&b.url(), &[("b1", &[])]).await;

    let emitter = Emitter::new(url).await.expect("emitter");
    emitter.emit("all", &1).await.expect("emit");
    emitter.to("r").emit("to-r", &2).await.expect("emit");
    emitter.except("r").emit("not-r", &3).await.expect("emit");
    emitter.to("r").sockets_join("joined").await.expect("join");
    // Messages published through different nodes of a cluster may arrive
    // in another order: wait for each, then check nothing else came.
    pa.recv("a1", "all").await;
    pa.recv("a1", "to-r").await;
    pb.recv("b1", "all").await;
    pb.recv("b1", "not-r").await;
    let deadline = Instant::now() + WAIT;
    while a.io.in_("joined").sockets().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{what}: sockets_join never applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What came besides (the events waited for above are taken).
    let got = until_emitter_end(&emitter, &mut [(&mut pa, &["a1"]), (&mut pb, &["b1"])]).await;
    assert!(got.iter().all(Vec::is_empty), "{what}: {got:?}");
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emitter_reaches_a_cluster_on_a_redis_cluster() {
    let Some(cluster) = cluster::RedisCluster::start(3, 0).await else {
        return;
    };
    emitter_through(&cluster.url(), "Redis Cluster").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emitter_reaches_a_cluster_through_sentinel() {
    let Some(set) = sentinel::SentinelSet::start().await else {
        return;
    };
    emitter_through(&set.url(), "Sentinel").await;
}
