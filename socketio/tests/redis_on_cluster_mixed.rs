//! Our servers and npm `socket.io` 4.8 servers in one cluster on a real
//! Redis Cluster started by the test (3 masters on free loopback ports),
//! each flavour on its official Node adapter in cluster mode:
//! `@socket.io/redis-adapter` `createAdapter` and `createShardedAdapter`
//! (SSUBSCRIBE) on node-redis `createCluster` clients, and
//! `@socket.io/redis-streams-adapter` on a cluster client. Broadcasts to
//! everyone, to rooms and except rooms, `fetchSockets`, `serverSideEmit`
//! and broadcasts with acknowledgements cross both ways.
//!
//! Without `redis-server`, `redis-cli` or the Node modules of `tests/node`
//! the tests skip loudly, unless `SOCKETIO_RS_REQUIRE_REDIS` is set, where
//! they fail.

mod common;
mod redis_support;

use std::time::Duration;

use common::NodeProc;
use redis_support::cluster::RedisCluster;
use redis_support::{
    clients, node_cmd, node_server_at, received, rust_server_at, sorted, wait_servers, Flavour,
};
use serde_json::json;
use socketio::adapter::redis::RedisConnectOptions;
use socketio::{FetchedSocket, Value};
use tokio::time::Instant;

/// How long the Node server may live: a cluster run on a busy machine.
const NODE_LIMIT: Duration = Duration::from_secs(90);

/// The names of the events `client` of `p` got, once it has every name of
/// `expected` (channels of different slots reach a server over different
/// node connections, so nothing orders them across rooms); sorted.
async fn got_all(p: &mut NodeProc, client: &str, expected: &[&str]) -> Vec<String> {
    let mut got = Vec::new();
    for event in expected {
        p.recv(client, event).await;
        got.push((*event).to_owned());
    }
    got.extend(received(p, client));
    sorted(got)
}

async fn mixed_on_a_cluster(flavour: Flavour) {
    let Some(cluster) = RedisCluster::start(3, 0).await else {
        return;
    };
    let url = cluster.url();
    let rust = rust_server_at(&url, RedisConnectOptions::default(), flavour, false)
        .await
        .expect("connect to the cluster");
    let (mut node, node_url) = node_server_at(&url, flavour, None, NODE_LIMIT).await;
    wait_servers(&rust.io, 2).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let count = node_cmd(&mut node, json!({ "cmd": "server_count" }), "server_count").await;
        if count["count"] == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{flavour:?}: Node counts {count}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // serverSideEmit both ways, with and without acks.
    let (tx, mut seen) = common::record::<Vec<Value>>();
    rust.io.on_server_side_emit("node-note", move |args, _| {
        let _ = tx.send(args);
    });
    rust.io.on_server_side_emit("node-ping", |args, ack| {
        if let (Some(ack), Some(Value::String(s))) = (ack, args.first()) {
            ack.send(Value::String(format!("rust-pong:{s}")));
        }
    });
    node_cmd(
        &mut node,
        json!({ "cmd": "sse", "name": "node-note", "args": ["n", 1] }),
        "sse_sent",
    )
    .await;
    assert_eq!(seen.next().await, vec![Value::from("n"), Value::from(1)]);
    let acks = node_cmd(
        &mut node,
        json!({ "cmd": "sse_ack", "name": "node-ping", "args": ["x"] }),
        "sse_acks",
    )
    .await;
    assert_eq!(
        acks["responses"],
        json!(["rust-pong:x"]),
        "{flavour:?}: {acks}"
    );
    rust.io
        .server_side_emit("rust-note", vec![Value::from("r")])
        .await;
    let note = node
        .expect("rust-note", |v| {
            v["event"] == "sse_recv" && v["name"] == "rust-note"
        })
        .await;
    assert_eq!(note["args"], json!(["r"]));
    let answers = rust
        .io
        .server_side_emit_with_ack("rust-ping", vec![Value::from("q")], Duration::from_secs(3))
        .await;
    assert_eq!(answers, vec![Value::from("node-pong:q")], "{flavour:?}");

    let mut pr = clients(&rust.url(), &[("r1", &["room"]), ("r2", &[])]).await;
    let mut pn = clients(&node_url, &[("n1", &["room"]), ("n2", &[])]).await;
    if flavour == Flavour::Sharded {
        // Each server subscribes the room's own channel once its first
        // socket joined, after the join was acknowledged (as Node does).
        cluster
            .wait_shard_subscribers("socket.io#/#room#", 2, "room")
            .await;
    }

    // Broadcasts both ways: to all, to a room, except a room (with binary).
    rust.io.emit("from-rust", &"hi").expect("emit");
    rust.io.to("room").emit("rust-room", &1).expect("emit");
    rust.io
        .except("room")
        .emit_args("rust-bin", vec![Value::Binary(vec![9u8, 8].into())])
        .expect("emit");
    for cmd in [
        json!({ "cmd": "emit", "name": "from-node", "args": ["yo"] }),
        json!({ "cmd": "emit", "name": "node-room", "args": [2], "rooms": ["room"] }),
        json!({ "cmd": "emit", "name": "node-except", "args": [3], "except": ["room"] }),
    ] {
        node_cmd(&mut node, cmd, "emitted").await;
    }
    let expected: [(&str, &[&str]); 4] = [
        ("r1", &["from-node", "from-rust", "node-room", "rust-room"]),
        ("r2", &["from-node", "from-rust", "node-except", "rust-bin"]),
        ("n1", &["from-node", "from-rust", "node-room", "rust-room"]),
        ("n2", &["from-node", "from-rust", "node-except", "rust-bin"]),
    ];
    for (name, events) in expected {
        let p = if name.starts_with('r') {
            &mut pr
        } else {
            &mut pn
        };
        let first = got_all(p, name, events).await;
        assert_eq!(
            first,
            sorted(events.iter().map(|e| (*e).to_owned()).collect())
        );
    }
    // Nothing else arrives: each server's end marker goes on the channel
    // of its broadcasts to all, and nothing else was sent.
    rust.io.emit("end-rust", &0).expect("emit");
    node_cmd(
        &mut node,
        json!({ "cmd": "emit", "name": "end-node", "args": [] }),
        "emitted",
    )
    .await;
    for name in ["r1", "r2", "n1", "n2"] {
        let p = if name.starts_with('r') {
            &mut pr
        } else {
            &mut pn
        };
        p.recv(name, "end-rust").await;
        p.recv(name, "end-node").await;
        let extra = received(p, name);
        assert!(extra.is_empty(), "{flavour:?}: {name} also got {extra:?}");
    }

    // fetchSockets both ways, with a room.
    let all = rust.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 4, "{flavour:?}: {all:?}");
    let n1 = all
        .iter()
        .find_map(|s| match s {
            FetchedSocket::Remote(r)
                if r.data.get("name").and_then(Value::as_str) == Some("n1") =>
            {
                Some(r)
            }
            _ => None,
        })
        .expect("n1 fetched from Node");
    assert!(n1.rooms.iter().any(|r| &**r == "room"));
    assert_eq!(n1.handshake.address, "127.0.0.1");
    let in_room = rust.io.in_("room").fetch_all_sockets().await;
    assert_eq!(in_room.len(), 2, "{flavour:?}: {in_room:?}");
    let fetched = node_cmd(&mut node, json!({ "cmd": "fetch" }), "fetched").await;
    let sockets = fetched["sockets"].as_array().expect("sockets");
    assert_eq!(sockets.len(), 4, "{flavour:?}: {fetched}");
    let r1 = sockets
        .iter()
        .find(|s| s["data"]["name"] == "r1")
        .expect("r1 fetched from Rust");
    assert!(r1["rooms"]
        .as_array()
        .is_some_and(|r| r.contains(&json!("room"))));
    let fetched = node_cmd(
        &mut node,
        json!({ "cmd": "fetch", "rooms": ["room"] }),
        "fetched",
    )
    .await;
    let mut names: Vec<String> = fetched["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .map(|s| s["data"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["n1", "r1"], "{flavour:?}: {fetched}");

    // Broadcasts with acks both ways.
    let acks = rust
        .io
        .broadcast()
        .timeout(Duration::from_secs(3))
        .emit_with_ack_all("ask", &"?")
        .await
        .expect("emit");
    assert_eq!(acks.local.responses.len(), 2, "{flavour:?}: {acks:?}");
    let mut remote = acks.remote.clone();
    remote.sort_by_key(|v| v.as_str().map(str::to_owned));
    assert_eq!(remote, vec![Value::from("n1"), Value::from("n2")]);
    assert!(acks.remote_complete, "{flavour:?}: {acks:?}");
    let acks = node_cmd(
        &mut node,
        json!({ "cmd": "emit_ack", "name": "ask", "args": ["?"], "timeout": 3000 }),
        "emit_acks",
    )
    .await;
    let mut responses: Vec<String> = acks["responses"]
        .as_array()
        .unwrap_or_else(|| panic!("{flavour:?}: {acks}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    responses.sort();
    assert_eq!(responses, ["n1", "n2", "r1", "r2"], "{flavour:?}");
    pr.finish().await;
    pn.finish().await;
    node.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn classic_mixed_with_node_on_a_cluster() {
    mixed_on_a_cluster(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sharded_mixed_with_node_on_a_cluster() {
    mixed_on_a_cluster(Flavour::Sharded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_mixed_with_node_on_a_cluster() {
    mixed_on_a_cluster(Flavour::Streams).await;
}
