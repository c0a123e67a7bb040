//! Shared helpers of the Redis adapter suites: a private `redis-server` per
//! test, our servers on each adapter flavour, npm `socket.io` peers on the
//! official adapters, and line-driven `socket.io-client`s.
#![allow(dead_code)]

pub mod cluster;
pub mod sentinel;
pub mod tls;

use std::net::TcpListener;
use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value as Json};
use socketio::adapter::redis::{RedisAdapterConfig, RedisAdapterFactory, RedisConnectOptions};
use socketio::adapter::redis_sharded::{ShardedRedisAdapterConfig, ShardedRedisAdapterFactory};
use socketio::adapter::redis_streams::{RedisStreamsAdapterConfig, RedisStreamsAdapterFactory};
use socketio::server::RecoveryConfig;
use socketio::{FetchedSocket, SocketIo, Value};
use tokio::time::timeout;
use tokio::time::Instant;

pub const REDIS_BIN: &str = "/usr/bin/redis-server";

/// Which official Node adapter the cluster speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Classic,
    Sharded,
    Streams,
    /// Streams with `useShardedPubSub`.
    StreamsSharded,
}

impl Flavour {
    /// The flavour argument of `tests/node/redis-server.mjs`.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Classic => "classic",
            Flavour::Sharded => "sharded",
            Flavour::Streams => "streams",
            Flavour::StreamsSharded => "streams-sharded",
        }
    }
}

/// A private `redis-server`, killed on drop.
pub struct Redis {
    child: std::process::Child,
    pub port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The adapter's reconnections and failures in the output of a failed
/// test.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::INFO)
        .try_init();
}

pub fn redis_binary() -> Option<&'static str> {
    if std::path::Path::new(REDIS_BIN).exists() {
        return Some(REDIS_BIN);
    }
    assert!(
        std::env::var_os("SOCKETIO_RS_REQUIRE_REDIS").is_none(),
        "SOCKETIO_RS_REQUIRE_REDIS is set but {REDIS_BIN} is missing (apt-get install redis-server)"
    );
    eprintln!(
        "SKIPPED: {REDIS_BIN} not found; install redis-server to run the Redis adapter tests"
    );
    None
}

impl Redis {
    /// Starts a server on a free port; `None` (test skipped) without the
    /// binary.
    pub async fn start() -> Option<Redis> {
        let bin = redis_binary()?;
        // A free port is picked, then bound by redis-server: another
        // process (a test running beside this one) may take it in between;
        // then another port is tried.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let redis = Redis::start_on(bin, port).await;
            if redis.is_own().await {
                return Some(redis);
            }
            eprintln!("port {port} was taken before redis-server bound it; trying another");
        }
        panic!("redis-server found no free port in 3 attempts");
    }

    /// Whether the server answering on the port is this one's process.
    async fn is_own(&self) -> bool {
        let Ok(client) = socketio::adapter::redis::client::Client::open(self.url()) else {
            return false;
        };
        let Ok(Ok(mut conn)) = timeout(WAIT, client.get_multiplexed_async_connection()).await
        else {
            return false;
        };
        let info: Result<String, _> = socketio::adapter::redis::client::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await;
        let answering = info.ok().and_then(|i| {
            i.lines()
                .find_map(|l| l.strip_prefix("process_id:"))
                .and_then(|p| p.trim().parse::<u32>().ok())
        });
        answering == Some(self.child.id())
    }

    async fn start_on(bin: &str, port: u16) -> Redis {
        let redis = Redis {
            child: Redis::spawn(bin, port),
            port,
        };
        redis.wait_up().await;
        redis
    }

    fn spawn(bin: &str, port: u16) -> std::process::Child {
        std::process::Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start redis-server")
    }

    async fn wait_up(&self) {
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (until [`Redis::restart`]).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts a fresh one on the same port.
    pub async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Redis::spawn(REDIS_BIN, self.port);
        self.wait_up().await;
    }
}

/// The recovery window of the servers built with `recovery`.
pub const RECOVERY: Duration = Duration::from_secs(30);

/// One of our servers on the cluster: a "join" event joins a room (acked
/// with the socket id), `socket.data` is `{name}` from the auth.
pub async fn rust_server(redis: &Redis, flavour: Flavour) -> TestServer {
    rust_server_with(redis, flavour, false).await
}

/// The same, with connection state recovery when `recovery`.
pub async fn rust_server_with(redis: &Redis, flavour: Flavour, recovery: bool) -> TestServer {
    rust_server_at(
        &redis.url(),
        RedisConnectOptions::default(),
        flavour,
        recovery,
    )
    .await
    .expect("connect to redis")
}

/// One of our servers on the Redis at `url` reached with `connection`; the
/// adapter's error when it cannot connect.
pub async fn rust_server_at(
    url: &str,
    connection: RedisConnectOptions,
    flavour: Flavour,
    recovery: bool,
) -> Result<TestServer, socketio::adapter::redis::RedisAdapterError> {
    let timeout = Duration::from_millis(2000);
    let window = recovery.then_some(RECOVERY);
    let mut config = config();
    if recovery {
        config = config.connection_state_recovery(Some(
            RecoveryConfig::default()
                .max_disconnection_duration(RECOVERY)
                .skip_middlewares(true),
        ));
    }
    let io = match flavour {
        Flavour::Classic => {
            let factory = RedisAdapterFactory::connect(
                url,
                RedisAdapterConfig::default()
                    .requests_timeout(timeout)
                    .recovery(window)
                    .connection(connection),
            )
            .await?;
            SocketIo::with_adapter(config, factory)
        }
        Flavour::Sharded => {
            let factory = ShardedRedisAdapterFactory::connect(
                url,
                ShardedRedisAdapterConfig::default()
                    .requests_timeout(timeout)
                    .recovery(window)
                    .connection(connection),
            )
            .await?;
            SocketIo::with_adapter(config, factory)
        }
        Flavour::Streams | Flavour::StreamsSharded => {
            let factory = RedisStreamsAdapterFactory::connect(
                url,
                RedisStreamsAdapterConfig::default()
                    .requests_timeout(timeout)
                    .recovery(window)
                    .use_sharded_pubsub(flavour == Flavour::StreamsSharded)
                    .connection(connection),
            )
            .await?;
            SocketIo::with_adapter(config, factory)
        }
    };
    io.on_connection(|socket| {
        let name = socket
            .handshake()
            .auth
            .get("name")
            .cloned()
            .unwrap_or(Value::Null);
        if socket.data() == Value::Null {
            let mut data = indexmap::IndexMap::new();
            data.insert("name".to_owned(), name);
            socket.set_data(Value::Object(data));
        }
        socket.on("join", |socket, args, ack| {
            if let Some(Value::String(room)) = args.first() {
                socket.join(room.as_str());
            }
            if let Some(ack) = ack {
                let _ = ack.send(vec![Value::String(socket.id().to_string())]);
            }
        });
    });
    Ok(serve(io).await)
}

/// Emits `event` to `room` through `io` every half second until `client`
/// of `p` got it (30 s at most): a room channel subscribed after the join
/// was acknowledged, or a broker failing over.
pub async fn until_received(
    io: &SocketIo,
    p: &mut NodeProc,
    client: &str,
    room: &str,
    event: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    loop {
        n += 1;
        io.to(room).emit(event, &n).expect("emit");
        if timeout(Duration::from_millis(500), p.recv(client, event))
            .await
            .is_ok()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{client} never got {event:?}");
    }
}

pub async fn wait_servers(io: &SocketIo, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let count = io.server_count().await;
        if count == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server count stayed {count}, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A node client process connected to `url` with clients `names` (each
/// answering acks with its name) that joined `rooms`.
pub async fn clients(url: &str, names: &[(&str, &[&str])]) -> NodeProc {
    let opts = json!({ "transports": ["websocket"] }).to_string();
    let mut p = NodeProc::spawn("sio-client.mjs", &[url, &opts], Duration::from_secs(25));
    p.expect("ready", |v| v["event"] == "ready").await;
    for (name, rooms) in names {
        p.connect(name, json!({ "auth": { "name": name }, "answer": "name" }))
            .await;
        for room in *rooms {
            p.emit_ack(name, "join", json!([room])).await;
        }
    }
    p
}

/// The names of the events `client` received so far (drains its lines).
pub fn received(p: &mut NodeProc, client: &str) -> Vec<String> {
    p.take(|v| v["event"] == "recv" && v["client"] == client)
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Sends an end marker to everyone through each of `ios` and returns, per
/// client, the events it got before them: each server publishes in order, so
/// once a client has every server's marker it has everything they sent.
pub async fn until_end(
    ios: &[&SocketIo],
    procs: &mut [(&mut NodeProc, &[&str])],
) -> Vec<Vec<String>> {
    for (i, io) in ios.iter().enumerate() {
        io.emit(&format!("end{i}"), &0).expect("emit end");
    }
    let mut out = Vec::new();
    for (p, names) in procs.iter_mut() {
        for name in names.iter() {
            for i in 0..ios.len() {
                p.recv(name, &format!("end{i}")).await;
            }
            let mut got = received(p, name);
            got.retain(|e| !e.starts_with("end"));
            out.push(got);
        }
    }
    out
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// An npm `socket.io` server on the official adapter of `flavour`, with
/// connection state recovery when `recovery_ms` is set.
pub async fn node_server(
    redis: &Redis,
    flavour: Flavour,
    recovery_ms: Option<u64>,
) -> (NodeProc, String) {
    node_server_at(&redis.url(), flavour, recovery_ms, Duration::from_secs(30)).await
}

/// The same on the Redis at `url` (comma-separated seeds: a Redis Cluster,
/// reached with node-redis `createCluster`), living `limit` at most.
pub async fn node_server_at(
    url: &str,
    flavour: Flavour,
    recovery_ms: Option<u64>,
    limit: Duration,
) -> (NodeProc, String) {
    let recovery = recovery_ms.unwrap_or(0).to_string();
    let limit_ms = limit.as_millis().to_string();
    let args = [url, flavour.name(), recovery.as_str(), limit_ms.as_str()];
    let mut p = NodeProc::spawn("redis-server.mjs", &args, limit);
    let ready = p.expect("ready", |v| v["event"] == "ready").await;
    let url = format!("http://127.0.0.1:{}", ready["port"]);
    (p, url)
}

pub async fn node_cmd(p: &mut NodeProc, cmd: Json, answer: &str) -> Json {
    p.send(cmd).await;
    p.expect(answer, |v| {
        v["event"]
            .as_str()
            .is_some_and(|e| e == answer || e == format!("{answer}_error"))
    })
    .await
}

// ------------------------------------------------------------ test bodies
// Each runs for any flavour; the suites call them with theirs.

pub async fn two_rust_servers_broadcast_rooms_and_except(flavour: Flavour) {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, flavour).await;
    let b = rust_server(&redis, flavour).await;
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &["x"])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r", "x"]), ("b2", &[])]).await;

    a.io.to("r").emit("to-r", &1).expect("emit");
    b.io.except("r").emit("except-r", &2).expect("emit");
    a.io.to("r").except("x").emit("r-not-x", &3).expect("emit");
    b.io.emit("all", &4).expect("emit");
    a.io.broadcast().local().emit("local-a", &5).expect("emit");
    // A payload with binary crosses too.
    b.io.to("x")
        .emit_args("bin", vec![Value::Binary(vec![1u8, 2, 3].into())])
        .expect("emit");

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
        ["all", "bin", "except-r", "local-a"]
    );
    assert_eq!(sorted(got[2].clone()), ["all", "bin", "to-r"]);
    assert_eq!(sorted(got[3].clone()), ["all", "except-r"]);
    pa.finish().await;
    pb.finish().await;
}

pub async fn two_rust_servers_join_leave_disconnect_and_fetch(flavour: Flavour) {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, flavour).await;
    let b = rust_server(&redis, flavour).await;
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    let mut pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &[])]).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"]), ("b2", &[])]).await;

    // fetchSockets across servers, with handshake and data of remote ones.
    let all = a.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all.iter().filter(|s| s.is_local()).count(), 2);
    let remote: Vec<_> = all
        .iter()
        .filter_map(|s| match s {
            FetchedSocket::Remote(r) => Some(r),
            FetchedSocket::Local(_) => None,
        })
        .collect();
    let b1 = remote
        .iter()
        .find(|r| r.data.get("name").and_then(Value::as_str) == Some("b1"))
        .expect("b1 among the remote sockets");
    assert!(b1.rooms.iter().any(|r| &**r == "r"), "{b1:?}");
    assert_eq!(b1.handshake.address, "127.0.0.1");
    assert_eq!(b1.id.len(), 20);
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

pub async fn two_rust_servers_server_side_emit_and_broadcast_acks(flavour: Flavour) {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, flavour).await;
    let b = rust_server(&redis, flavour).await;
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
    let answers =
        a.io.server_side_emit_with_ack("ping", vec![Value::from(41)], Duration::from_secs(2))
            .await;
    assert_eq!(answers, vec![Value::from(42)]);
    // Nobody on A answers "ping": B's request ends at the timeout, partial.
    let started = Instant::now();
    let none =
        b.io.server_side_emit_with_ack("ping", vec![Value::from(1)], Duration::from_millis(500))
            .await;
    assert!(none.is_empty());
    assert!(started.elapsed() < Duration::from_millis(1500));

    // Broadcast with acks: local answers with ids, remote ones as values.
    let pa = clients(&a.url(), &[("a1", &["r"]), ("a2", &[])]).await;
    let pb = clients(&b.url(), &[("b1", &["r"]), ("b2", &[])]).await;
    let acks =
        a.io.broadcast()
            .timeout(Duration::from_secs(2))
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
            .timeout(Duration::from_secs(2))
            .emit_with_ack_all("ask", &"?")
            .await
            .expect("emit");
    assert_eq!(acks.local.responses.len(), 1);
    assert_eq!(acks.remote, vec![Value::from("a1")]);
    assert!(acks.remote_complete);
    pa.finish().await;
    pb.finish().await;
}

pub async fn survives_a_redis_restart(flavour: Flavour) {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis, flavour).await;
    let b = rust_server(&redis, flavour).await;
    wait_servers(&a.io, 2).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    redis.restart().await;
    // Both subscribers come back (NUMSUB counts them again), then
    // broadcasts flow again.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if timeout(Duration::from_secs(2), a.io.server_count()).await == Ok(2) {
            break;
        }
        assert!(Instant::now() < deadline, "servers did not resubscribe");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The publisher reconnects lazily: retry until a broadcast gets through.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        n += 1;
        // To one room: with the sharded adapter, its own channel, which
        // the restarted subscriber must have subscribed again.
        a.io.to("r").emit("again", &n).expect("emit");
        let got = timeout(Duration::from_millis(500), pb.recv("b1", "again")).await;
        if got.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "no broadcast after the restart");
    }
    pb.finish().await;
}

pub async fn mixed_cluster_with_node_redis_adapter(flavour: Flavour) {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let rust = rust_server(&redis, flavour).await;
    let (mut node, node_url) = node_server(&redis, flavour, None).await;
    wait_servers(&rust.io, 2).await;
    let count = node_cmd(&mut node, json!({ "cmd": "server_count" }), "server_count").await;
    assert_eq!(count["count"], 2, "{count}");

    let mut pr = clients(&rust.url(), &[("r1", &["room"]), ("r2", &[])]).await;
    let mut pn = clients(&node_url, &[("n1", &["room"]), ("n2", &[])]).await;

    // Broadcasts both ways, with rooms and except.
    rust.io.emit("from-rust", &"hi").expect("emit");
    rust.io.to("room").emit("rust-room", &1).expect("emit");
    rust.io
        .except("room")
        .emit_args("rust-bin", vec![Value::Binary(vec![9u8, 8].into())])
        .expect("emit");
    node_cmd(
        &mut node,
        json!({ "cmd": "emit", "name": "from-node", "args": ["yo"] }),
        "emitted",
    )
    .await;
    node_cmd(
        &mut node,
        json!({ "cmd": "emit", "name": "node-room", "args": [2], "rooms": ["room"] }),
        "emitted",
    )
    .await;
    node_cmd(
        &mut node,
        json!({ "cmd": "emit", "name": "node-except", "args": [3], "except": ["room"] }),
        "emitted",
    )
    .await;
    let n2_bin = pn.recv("n2", "rust-bin").await;
    assert_eq!(n2_bin["args"], json!([bin(&[9, 8])]));
    let r1 = pr.recv("r1", "from-node").await;
    assert_eq!(r1["args"], json!(["yo"]));
    // Each server's end marker: both publish in order, so once a client
    // has both markers it has everything they sent.
    rust.io.emit("end-rust", &0).expect("emit");
    node_cmd(
        &mut node,
        json!({ "cmd": "emit", "name": "end-node", "args": [] }),
        "emitted",
    )
    .await;
    let mut got = Vec::new();
    for name in ["r1", "r2", "n1", "n2"] {
        let p = if name.starts_with('r') {
            &mut pr
        } else {
            &mut pn
        };
        p.recv(name, "end-rust").await;
        p.recv(name, "end-node").await;
        got.push(sorted(received(p, name)));
    }
    // (r1's "from-node" and n2's "rust-bin" were taken above.)
    assert_eq!(got[0], ["from-rust", "node-room", "rust-room"]);
    assert_eq!(
        got[1],
        ["from-node", "from-rust", "node-except", "rust-bin"]
    );
    assert_eq!(got[2], ["from-node", "from-rust", "node-room", "rust-room"]);
    assert_eq!(got[3], ["from-node", "from-rust", "node-except"]);

    // fetchSockets both ways.
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
    assert_eq!(in_room.len(), 2);
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
    assert_eq!(r1["handshake"]["address"], "127.0.0.1");
    assert!(r1["handshake"]["headers"].is_object(), "{r1}");

    // serverSideEmit both ways, with and without acks.
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
        json!({ "cmd": "sse_ack", "name": "node-ping", "args": ["x"], "timeout": 2000 }),
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
    let answers = rust
        .io
        .server_side_emit_with_ack("rust-ping", vec![Value::from("q")], Duration::from_secs(2))
        .await;
    assert_eq!(answers, vec![Value::from("node-pong:q")]);

    // Broadcast with acks both ways.
    let acks = rust
        .io
        .broadcast()
        .timeout(Duration::from_secs(2))
        .emit_with_ack_all("ask", &"?")
        .await
        .expect("emit");
    assert_eq!(acks.local.responses.len(), 2);
    let mut remote = acks.remote.clone();
    remote.sort_by_key(|v| v.as_str().map(str::to_owned));
    assert_eq!(remote, vec![Value::from("n1"), Value::from("n2")]);
    assert!(acks.remote_complete);
    let acks = node_cmd(
        &mut node,
        json!({ "cmd": "emit_ack", "name": "ask", "args": ["?"], "timeout": 2000 }),
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
    node.finish().await;
}

/// Where a roaming client disconnects and where it comes back.
pub enum Peer<'a> {
    Rust(&'a SocketIo, String),
    Node(&'a mut NodeProc, String),
}

impl Peer<'_> {
    fn url(&self) -> &str {
        match self {
            Peer::Rust(_, u) | Peer::Node(_, u) => u,
        }
    }

    async fn emit(&mut self, name: &str, arg: i64) {
        match self {
            Peer::Rust(io, _) => io.emit(name, &arg).expect("emit"),
            Peer::Node(p, _) => {
                node_cmd(
                    p,
                    json!({ "cmd": "emit", "name": name, "args": [arg] }),
                    "emitted",
                )
                .await;
            }
        }
    }
}

/// A client connects to `a`, gets tick 1, drops; `a` emits ticks 2 and 3
/// while it is away, and the client comes back on `b` with the same id and
/// the missed ticks. `a_sockets` says how many sockets `a` has.
pub async fn roam(mut a: Peer<'_>, b: Peer<'_>, a_sockets: impl Fn() -> usize) {
    let mut client = NodeProc::spawn(
        "sio-recovery-cross.mjs",
        &[a.url(), b.url(), "1500"],
        Duration::from_secs(20),
    );
    client
        .expect("connected", |v| v["event"] == "connected")
        .await;
    a.emit("tick", 1).await;
    // The client drops on tick 1; once `a` saw it go, what it sends is
    // missed and must come back from Redis.
    eventually("the client left A", || a_sockets() == 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.emit("tick", 2).await;
    a.emit("tick", 3).await;
    let back = client.expect("back", |v| v["event"] == "back").await;
    assert_eq!(back["received"], json!([1, 2, 3]), "{back}");
    assert_eq!(back["recovered"], true, "{back}");
    assert_eq!(back["sameId"], true, "{back}");
    // It exits by itself.
    client.kill().await;
}

/// socketsJoin, socketsLeave and disconnectSockets between one of our
/// servers and a Node server, both ways.
pub async fn mixed_cluster_room_operations(flavour: Flavour) {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let rust = rust_server(&redis, flavour).await;
    let (mut node, node_url) = node_server(&redis, flavour, None).await;
    wait_servers(&rust.io, 2).await;
    let mut pr = clients(&rust.url(), &[("r1", &["a"]), ("r2", &[])]).await;
    let mut pn = clients(&node_url, &[("n1", &["a"]), ("n2", &[])]).await;
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

    // Rust → Node: the sockets in "a" join "g", everywhere.
    rust.io.in_("a").sockets_join("g");
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
    // Node → Rust: everyone in "g" leaves "a".
    node_cmd(
        &mut node,
        json!({ "cmd": "sockets_leave", "rooms": ["g"], "room": "a" }),
        "done",
    )
    .await;
    let ns = rust.io.of("/");
    eventually("r1 left a on Rust", || {
        !ns.rooms().iter().any(|r| &**r == "a")
    })
    .await;
    let in_a = rust.io.in_("a").fetch_all_sockets().await;
    assert!(in_a.is_empty(), "{in_a:?}");
    // Node → Rust: the sockets in "g" are disconnected.
    node_cmd(
        &mut node,
        json!({ "cmd": "disconnect_sockets", "rooms": ["g"] }),
        "done",
    )
    .await;
    assert_eq!(pr.disconnected("r1").await, "io server disconnect");
    assert_eq!(pn.disconnected("n1").await, "io server disconnect");
    // Rust → Node: every other socket is disconnected.
    rust.io.broadcast().disconnect_sockets(false);
    assert_eq!(pn.disconnected("n2").await, "io server disconnect");
    assert_eq!(pr.disconnected("r2").await, "io server disconnect");
    let left = node_cmd(&mut node, json!({ "cmd": "fetch" }), "fetched").await;
    assert!(names(&left).is_empty(), "{left}");
    pr.finish().await;
    pn.finish().await;
    node.finish().await;
}

/// Garbage on the cluster's channels and stream is dropped (and logged):
/// nothing panics and the cluster keeps working.
pub async fn malformed_cluster_messages_are_dropped(flavour: Flavour) {
    use socketio::adapter::redis::client as redis;
    let Some(redis_server) = Redis::start().await else {
        return;
    };
    let a = rust_server(&redis_server, flavour).await;
    let b = rust_server(&redis_server, flavour).await;
    wait_servers(&a.io, 2).await;
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    let client = redis::Client::open(redis_server.url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let garbage: [&[u8]; 6] = [
        b"garbage",
        b"{\"type\":3,\"uid\":\"x\",\"nsp\":\"/\"}",
        b"{\"type\":99,\"uid\":\"x\",\"nsp\":\"/\"}",
        b"{\"type\":7,\"uid\":\"x\",\"nsp\":\"/\",\"data\":{\"opts\":5}}",
        &[0xc1, 0x00, 0xff],
        &[
            0x93, 0xa1, b'x', 0x81, 0xa4, b't', b'y', b'p', b'e', 0x02, 0x80,
        ],
    ];
    let (publish, channels): (&str, Vec<&str>) = match flavour {
        Flavour::Classic => (
            "PUBLISH",
            vec![
                "socket.io#/#",
                "socket.io#/#r#",
                "socket.io-request#/#",
                "socket.io-response#/#",
            ],
        ),
        Flavour::Sharded => ("SPUBLISH", vec!["socket.io#/#", "socket.io#/#r#"]),
        Flavour::Streams => ("PUBLISH", vec!["socket.io#/#"]),
        Flavour::StreamsSharded => ("SPUBLISH", vec!["socket.io#/#"]),
    };
    for channel in &channels {
        for payload in garbage {
            let _: redis::Value = redis::cmd(publish)
                .arg(*channel)
                .arg(payload)
                .query_async(&mut conn)
                .await
                .expect("publish");
        }
    }
    if matches!(flavour, Flavour::Streams | Flavour::StreamsSharded) {
        let entries: [&[&str]; 5] = [
            &["nsp", "/", "type", "3", "data", "{bad"],
            &["nsp", "/", "type", "x"],
            &["nsp", "/", "type", "3", "data", "!!not base64!!"],
            &["uid", "u", "type", "3"],
            &["nsp", "/", "type", "4", "data", "{\"opts\":{},\"rooms\":7}"],
        ];
        for fields in entries {
            let _: redis::Value = redis::cmd("XADD")
                .arg("socket.io")
                .arg("*")
                .arg(fields)
                .query_async(&mut conn)
                .await
                .expect("xadd");
        }
    }
    a.io.to("r").emit("after", &1).expect("emit");
    let got = pb.recv("b1", "after").await;
    assert_eq!(got["args"], json!([1]));
    let all = a.io.fetch_all_sockets().await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(a.io.server_count().await, 2);
    pb.finish().await;
}
