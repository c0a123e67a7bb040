//! The Postgres adapter on a real PostgreSQL started by the test binary:
//! two of our servers (broadcasts to all, rooms and except, binary and
//! large payloads through the attachments table, fetchSockets, socketsJoin
//! and disconnectSockets, serverSideEmit and broadcasts with acks), our
//! server and an npm `socket.io` server on `@socket.io/postgres-adapter` in
//! one cluster both ways, bad notifications on the channel, and an
//! unreachable database at construction.
//!
//! Without PostgreSQL (`/usr/lib/postgresql/*/bin`) the tests skip loudly,
//! unless `SOCKETIO_RS_REQUIRE_POSTGRES` is set, where they fail.

mod common;
mod postgres_support;

use std::time::Duration;

use common::*;
use postgres_support::*;
use serde_json::json;
use socketio::adapter::postgres::{PostgresAdapterError, PostgresAdapterFactory};
use socketio::{FetchedSocket, Value};
use tokio::time::{timeout, Instant};

/// How long a Node process may live: a run on a busy machine.
const NODE_LIMIT: Duration = Duration::from_secs(120);

/// Rows in the attachments table.
async fn attachments(db: &Db) -> i64 {
    let client = db.client().await;
    let row = client
        .query_one("SELECT count(*) FROM socket_io_attachments", &[])
        .await
        .expect("count attachments");
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_broadcast_rooms_except_and_attachments() {
    logs();
    let Some(db) = Db::new().await else { return };
    let a = rust_server(&db).await;
    let b = rust_server(&db).await;
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &["x"])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r", "x"]), ("b2", &[])]).await;

    a.io.to("r").emit("to-r", &1).expect("emit");
    b.io.except("r").emit("except-r", &2).expect("emit");
    a.io.to("r").except("x").emit("r-not-x", &3).expect("emit");
    b.io.emit("all", &4).expect("emit");
    a.io.broadcast().local().emit("local-a", &5).expect("emit");
    // Binary goes through the attachments table.
    b.io.to("x")
        .emit_args("bin", vec![Value::Binary(vec![1u8, 2, 3].into())])
        .expect("emit");
    // So does a payload over the 8000-byte threshold.
    let big = "p".repeat(20_000);
    a.io.to("x").emit("big", &big).expect("emit");

    let got = until_end(
        &[&a.io, &b.io],
        &mut [(&mut pa, &["a1", "a2"]), (&mut pb, &["b1", "b2"])],
    )
    .await;
    assert_eq!(
        sorted(got[0].clone()),
        ["all", "local-a", "r-not-x", "to-r"]
    );
    assert_eq!(
        sorted(got[1].clone()),
        ["all", "big", "bin", "except-r", "local-a"]
    );
    assert_eq!(sorted(got[2].clone()), ["all", "big", "bin", "to-r"]);
    assert_eq!(sorted(got[3].clone()), ["all", "except-r"]);
    // What crossed through attachments arrived whole: a2 (on A) got B's
    // binary, b1 (on B) got A's large payload.
    b.io.to("x")
        .emit_args("bin2", vec![Value::Binary(vec![7u8, 0, 255].into())])
        .expect("emit");
    a.io.to("x").emit("big2", &big).expect("emit");
    let bin2 = pa.recv("a2", "bin2").await;
    assert_eq!(bin2["args"], json!([bin(&[7, 0, 255])]));
    let big2 = pb.recv("b1", "big2").await;
    assert_eq!(big2["args"], json!([big]));
    assert!(attachments(&db).await >= 4, "attachments were written");
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_fetch_join_leave_and_disconnect() {
    logs();
    let Some(db) = Db::new().await else { return };
    let a = rust_server(&db).await;
    let b = rust_server(&db).await;
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &[])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"]), ("b2", &[])]).await;

    // fetchSockets across servers, with handshake and data of remote ones.
    let all = a.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all.iter().filter(|s| s.is_local()).count(), 2);
    let b1 = all
        .iter()
        .find_map(|s| match s {
            FetchedSocket::Remote(r)
                if r.data.get("name").and_then(Value::as_str) == Some("b1") =>
            {
                Some(r)
            }
            _ => None,
        })
        .expect("b1 among the remote sockets");
    assert!(b1.rooms.iter().any(|r| &**r == "r"), "{b1:?}");
    assert_eq!(b1.handshake.address, "127.0.0.1");
    let in_r = b.io.in_("r").fetch_all_sockets().await;
    assert_eq!(in_r.len(), 2, "{in_r:?}");

    // socketsJoin from A reaches B's sockets.
    a.io.in_("r").sockets_join("g");
    let bns = b.io.of("/");
    eventually("b1 joined g on B", || {
        bns.rooms().iter().any(|r| &**r == "g")
    })
    .await;
    b.io.to("g").emit("to-g", &1).expect("emit");
    // socketsLeave from B reaches A's sockets.
    b.io.broadcast().sockets_leave("r");
    let ans = a.io.of("/");
    eventually("a1 left r on A", || {
        !ans.rooms().iter().any(|r| &**r == "r")
    })
    .await;
    a.io.to("r").emit("to-r-after-leave", &2).expect("emit");
    let got = until_end(
        &[&a.io, &b.io],
        &mut [(&mut pa, &["a1", "a2"]), (&mut pb, &["b1", "b2"])],
    )
    .await;
    assert_eq!(got[0], ["to-g"]);
    assert!(got[1].is_empty(), "{:?}", got[1]);
    assert_eq!(got[2], ["to-g"]);
    assert!(got[3].is_empty(), "{:?}", got[3]);

    // disconnectSockets from A reaches B's sockets.
    a.io.in_("g").disconnect_sockets(false);
    assert_eq!(pb.disconnected("b1").await, "io server disconnect");
    assert_eq!(pa.disconnected("a1").await, "io server disconnect");
    eventually("b1 gone from B", || bns.sockets().len() == 1).await;
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_server_side_emit_and_broadcast_acks() {
    logs();
    let Some(db) = Db::new().await else { return };
    let a = rust_server(&db).await;
    let b = rust_server(&db).await;
    let (tx, mut seen) = record::<Vec<Value>>();
    b.io.on_server_side_emit("note", move |args, ack| {
        assert!(ack.is_none());
        let _ = tx.send(args);
    });
    b.io.on_server_side_emit("ping", |args, ack| {
        if let Some(ack) = ack {
            let n = args.first().and_then(Value::as_i64).unwrap_or(0);
            ack.send(Value::from(n + 1));
        }
    });
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;

    a.io.server_side_emit("note", vec![Value::from("hello")])
        .await;
    assert_eq!(seen.next().await, vec![Value::from("hello")]);
    // Binary arguments go through an attachment.
    a.io.server_side_emit("note", vec![Value::Binary(vec![5u8, 6].into())])
        .await;
    assert_eq!(seen.next().await, vec![Value::Binary(vec![5u8, 6].into())]);
    let answers =
        a.io.server_side_emit_with_ack("ping", vec![Value::from(41)], Duration::from_secs(3))
            .await;
    assert_eq!(answers, vec![Value::from(42)]);
    // Nobody on A answers "ping": B's request ends at the timeout, partial.
    let started = Instant::now();
    let none =
        b.io.server_side_emit_with_ack("ping", vec![Value::from(1)], Duration::from_millis(500))
            .await;
    assert!(none.is_empty());
    assert!(started.elapsed() < Duration::from_millis(2500));

    // Broadcast with acks: local answers with ids, remote ones as values.
    let pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &[])]).await;
    let pb = clients(&b.url(), &[("b1", &["r"]), ("b2", &[])]).await;
    let acks =
        a.io.broadcast()
            .timeout(Duration::from_secs(3))
            .emit_with_ack_all("ask", &"?")
            .await
            .expect("emit");
    assert_eq!(acks.local.responses.len(), 2, "{acks:?}");
    assert!(acks.remote_complete, "{acks:?}");
    let mut remote: Vec<Value> = acks.remote.clone();
    remote.sort_by_key(|v| v.as_str().map(str::to_owned));
    assert_eq!(remote, vec![Value::from("b1"), Value::from("b2")]);
    // Rooms apply to the remote part too.
    let acks =
        b.io.to("r")
            .timeout(Duration::from_secs(3))
            .emit_with_ack_all("ask", &"?")
            .await
            .expect("emit");
    assert_eq!(acks.local.responses.len(), 1);
    assert_eq!(acks.remote, vec![Value::from("a1")]);
    assert!(acks.remote_complete);
    pa.finish().await;
    pb.finish().await;

    // A server that closes says goodbye: the other stops counting it at
    // once rather than after the heartbeat timeout.
    drop(b);
    wait_servers(&a.io, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_with_node_postgres_adapter() {
    logs();
    let Some(db) = Db::new().await else { return };
    let rust = rust_server(&db).await;
    let (mut node, node_url) = node_server(&db.url, NODE_LIMIT).await;
    wait_servers(&rust.io, 2).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let count = node_cmd(&mut node, json!({ "cmd": "server_count" }), "server_count").await;
        if count["count"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "Node counts {count}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // serverSideEmit both ways, with and without acks, binary included.
    let (tx, mut seen) = record::<Vec<Value>>();
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
    assert_eq!(acks["responses"], json!(["rust-pong:x"]), "{acks}");
    rust.io
        .server_side_emit("rust-note", vec![Value::from("r")])
        .await;
    let note = node
        .expect("rust-note", |v| {
            v["event"] == "sse_recv" && v["name"] == "rust-note"
        })
        .await;
    assert_eq!(note["args"], json!(["r"]));
    rust.io
        .server_side_emit("rust-note", vec![Value::Binary(vec![3u8, 4].into())])
        .await;
    let note = node
        .expect("rust-note with binary", |v| {
            v["event"] == "sse_recv" && v["name"] == "rust-note"
        })
        .await;
    assert_eq!(note["args"], json!([{ "bin": [3, 4] }]));
    let answers = rust
        .io
        .server_side_emit_with_ack("rust-ping", vec![Value::from("q")], Duration::from_secs(3))
        .await;
    assert_eq!(answers, vec![Value::from("node-pong:q")]);

    let mut pr = clients(&rust.url(), &[("r1", &["room"]), ("r2", &[])]).await;
    let mut pn = clients(&node_url, &[("n1", &["room"]), ("n2", &[])]).await;

    // Broadcasts both ways: to all, to a room, except a room, binary and
    // large payloads (attachments) both ways.
    let big = "q".repeat(12_000);
    rust.io.emit("from-rust", &"hi").expect("emit");
    rust.io.to("room").emit("rust-room", &1).expect("emit");
    rust.io
        .except("room")
        .emit_args("rust-bin", vec![Value::Binary(vec![9u8, 8].into())])
        .expect("emit");
    rust.io.to("room").emit("rust-big", &big).expect("emit");
    for cmd in [
        json!({ "cmd": "emit", "name": "from-node", "args": ["yo"] }),
        json!({ "cmd": "emit", "name": "node-room", "args": [2], "rooms": ["room"] }),
        json!({ "cmd": "emit", "name": "node-except", "args": [3], "except": ["room"] }),
        json!({ "cmd": "emit", "name": "node-bin", "args": ["b"], "binary": [1, 2, 254] }),
        json!({ "cmd": "emit", "name": "node-big", "args": [big], "rooms": ["room"] }),
    ] {
        node_cmd(&mut node, cmd, "emitted").await;
    }
    let n2_bin = pn.recv("n2", "rust-bin").await;
    assert_eq!(n2_bin["args"], json!([bin(&[9, 8])]));
    let n1_big = pn.recv("n1", "rust-big").await;
    assert_eq!(n1_big["args"], json!([big]));
    let r2_bin = pr.recv("r2", "node-bin").await;
    assert_eq!(r2_bin["args"], json!(["b", bin(&[1, 2, 254])]));
    let r1_big = pr.recv("r1", "node-big").await;
    assert_eq!(r1_big["args"], json!([big]));
    // Every other event arrives (Node's pool may reorder its messages, and
    // an attachment takes two queries, so they are awaited one by one),
    // then nothing else: each server's end marker comes after its events.
    let expected: [(&str, &[&str]); 4] = [
        (
            "r1",
            &[
                "from-node",
                "from-rust",
                "node-bin",
                "node-room",
                "rust-big",
                "rust-room",
            ],
        ),
        ("r2", &["from-node", "from-rust", "node-except", "rust-bin"]),
        (
            "n1",
            &[
                "from-node",
                "from-rust",
                "node-big",
                "node-bin",
                "node-room",
                "rust-room",
            ],
        ),
        ("n2", &["from-node", "from-rust", "node-bin", "node-except"]),
    ];
    for (name, events) in expected {
        let p = if name.starts_with('r') {
            &mut pr
        } else {
            &mut pn
        };
        for event in events {
            p.recv(name, event).await;
        }
    }
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
        assert!(extra.is_empty(), "{name} also got {extra:?}");
    }

    // fetchSockets both ways, with a room.
    let all = rust.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 4, "{all:?}");
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
    assert_eq!(in_room.len(), 2, "{in_room:?}");
    let fetched = node_cmd(&mut node, json!({ "cmd": "fetch" }), "fetched").await;
    let sockets = fetched["sockets"].as_array().expect("sockets");
    assert_eq!(sockets.len(), 4, "{fetched}");
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
    assert_eq!(names, ["n1", "r1"], "{fetched}");

    // socketsJoin from Node reaches our sockets.
    node_cmd(
        &mut node,
        json!({ "cmd": "sockets_join", "rooms": ["room"], "room": "joined" }),
        "done",
    )
    .await;
    let ns = rust.io.of("/");
    eventually("r1 joined the Node-made room", || {
        ns.rooms().iter().any(|r| &**r == "joined")
    })
    .await;

    // Broadcasts with acks both ways.
    let acks = rust
        .io
        .broadcast()
        .timeout(Duration::from_secs(3))
        .emit_with_ack_all("ask", &"?")
        .await
        .expect("emit");
    assert_eq!(acks.local.responses.len(), 2, "{acks:?}");
    let mut remote = acks.remote.clone();
    remote.sort_by_key(|v| v.as_str().map(str::to_owned));
    assert_eq!(remote, vec![Value::from("n1"), Value::from("n2")]);
    assert!(acks.remote_complete, "{acks:?}");
    let acks = node_cmd(
        &mut node,
        json!({ "cmd": "emit_ack", "name": "ask", "args": ["?"], "timeout": 3000 }),
        "emit_acks",
    )
    .await;
    let mut responses: Vec<String> = acks["responses"]
        .as_array()
        .unwrap_or_else(|| panic!("{acks}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect();
    responses.sort();
    assert_eq!(responses, ["n1", "n2", "r1", "r2"]);

    pr.finish().await;
    pn.finish().await;
    // Node closing says goodbye: we stop counting it.
    node.finish().await;
    wait_servers(&rust.io, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_notifications_are_logged_and_survived() {
    logs();
    let Some(db) = Db::new().await else { return };
    let a = rust_server(&db).await;
    let b = rust_server(&db).await;
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let mut pb = clients(&b.url(), &[("b1", &[])]).await;
    a.io.emit("before", &1).expect("emit");
    pb.recv("b1", "before").await;

    let client = db.client().await;
    // An attachment whose bytes are not msgpack.
    let row = client
        .query_one(
            "INSERT INTO socket_io_attachments (payload) VALUES ($1) RETURNING id",
            &[&&b"\xc1\xff garbage"[..]],
        )
        .await
        .expect("insert a bad attachment");
    let bad_id: i64 = row.get(0);
    let payloads = [
        "not json at all".to_owned(),
        "[1,2,3]".to_owned(),
        "{}".to_owned(),
        r#"{"type":99,"uid":"zz","nsp":"/"}"#.to_owned(),
        r#"{"type":3,"uid":"zz","nsp":"/","data":{"packet":5}}"#.to_owned(),
        r#"{"type":7,"uid":"zz","nsp":"/","data":{"opts":{"rooms":[]}}}"#.to_owned(),
        r#"{"uid":"zz","type":3,"attachmentId":"999999999"}"#.to_owned(),
        r#"{"uid":"zz","type":3,"attachmentId":"not a number"}"#.to_owned(),
        format!(r#"{{"uid":"zz","type":3,"attachmentId":"{bad_id}"}}"#),
        r#"{"type":3,"uid":"zz","nsp":"/other","data":{}}"#.to_owned(),
    ];
    for payload in &payloads {
        client
            .execute("SELECT pg_notify('socket.io#/', $1)", &[payload])
            .await
            .expect("notify");
    }
    // And the raw NOTIFY statement, as psql would send it.
    client
        .batch_execute(r#"NOTIFY "socket.io#/", '{"type":3,"nsp":"/"'"#)
        .await
        .expect("NOTIFY");

    // Broadcasting goes on, both ways, and requests still complete.
    a.io.emit("after", &2).expect("emit");
    pb.recv("b1", "after").await;
    let mut pa = clients(&a.url(), &[("a1", &[])]).await;
    b.io.emit("after-b", &3).expect("emit");
    pa.recv("a1", "after-b").await;
    let all = a.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 2, "{all:?}");
    // The junk counted no server.
    assert_eq!(a.io.server_count().await, 2);
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_attachments_are_cleaned_up() {
    logs();
    let Some(db) = Db::new().await else { return };
    let config = adapter_config().cleanup_interval(Duration::from_millis(500));
    let a = rust_server_with(&db.url, config)
        .await
        .expect("connect to postgres");
    a.io.broadcast()
        .emit_args("bin", vec![Value::Binary(vec![1u8].into())])
        .expect("emit");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = false;
    loop {
        let n = attachments(&db).await;
        seen |= n > 0;
        if seen && n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "attachments: {n}, seen: {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn survives_a_postgres_restart() {
    logs();
    // A server of this test's own: the restart cuts every connection.
    let Some(pg) = Postgres::private().await else {
        return;
    };
    let url = pg.url("postgres");
    let a = rust_server_with(&url, adapter_config())
        .await
        .expect("connect to postgres");
    let b = rust_server_with(&url, adapter_config())
        .await
        .expect("connect to postgres");
    wait_servers(&a.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    pg.restart().await;
    // Both sides reconnect by themselves (each listener after 1 to 3 s,
    // each publisher at its next message): retry until a broadcast gets
    // through, each way.
    // (Each side's own client is in the room too: one event name per side.)
    for (from, to, client, event) in [
        (&a.io, &mut pb, "b1", "again-from-a"),
        (&b.io, &mut pa, "a1", "again-from-b"),
    ] {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut n = 0;
        loop {
            n += 1;
            from.to("r").emit(event, &n).expect("emit");
            if timeout(Duration::from_millis(500), to.recv(client, event))
                .await
                .is_ok()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{client} got no broadcast after the restart"
            );
        }
    }
    // Requests work again too.
    let all = a.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 2, "{all:?}");
    pa.finish().await;
    pb.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_postgres_is_a_clear_error() {
    // Nothing listens on a port just freed: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let started = Instant::now();
    let refused = PostgresAdapterFactory::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/db"),
        adapter_config(),
    )
    .await;
    match refused {
        Err(PostgresAdapterError::Postgres(e)) => {
            let text = e.to_string();
            assert!(!text.is_empty());
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    // A peer that accepts and never answers: the connect timeout ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let started = Instant::now();
    let silent_result = timeout(
        Duration::from_secs(15),
        PostgresAdapterFactory::connect(
            &format!("postgres://postgres@{addr}/db"),
            adapter_config().connect_timeout(Duration::from_secs(1)),
        ),
    )
    .await
    .expect("the adapter gave up by itself");
    assert!(
        matches!(
            silent_result,
            Err(PostgresAdapterError::Postgres(_) | PostgresAdapterError::Timeout)
        ),
        "{silent_result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    hold.abort();

    // A connection string that cannot be read.
    let bad = PostgresAdapterFactory::new("postgres://[::1").await;
    assert!(
        matches!(bad, Err(PostgresAdapterError::Config(_))),
        "{bad:?}"
    );
}
