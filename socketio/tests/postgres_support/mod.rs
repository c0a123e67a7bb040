//! Shared helpers of the Postgres adapter suites: a private PostgreSQL per
//! test binary (each test in a database of its own), our servers on the
//! Postgres adapter, npm `socket.io` peers on `@socket.io/postgres-adapter`,
//! and line-driven `socket.io-client`s.
//!
//! The server itself is [`server`]'s (also used by the embedding layer's
//! tests).
#![allow(dead_code)]

mod server;

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value as Json};
/// The `tokio-postgres` crate, for [`server`].
pub(crate) use socketio::adapter::postgres::client as pg_client;
use socketio::adapter::postgres::{
    PostgresAdapterConfig, PostgresAdapterError, PostgresAdapterFactory,
};
use socketio::{SocketIo, Value};
use tokio::time::Instant;

pub use server::{Db, Postgres};

/// The adapter's warnings in the output of a failed test.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::INFO)
        .try_init();
}

/// The adapter options of the tests: a 1 s heartbeat (as the Node peer),
/// 2 s requests.
pub fn adapter_config() -> PostgresAdapterConfig {
    PostgresAdapterConfig::default()
        .heartbeat_interval(Duration::from_millis(1000))
        .requests_timeout(Duration::from_millis(2000))
}

/// One of our servers on `db`: a "join" event joins a room (acked with the
/// socket id), `socket.data` is `{name}` from the auth.
pub async fn rust_server(db: &Db) -> TestServer {
    rust_server_with(&db.url, adapter_config())
        .await
        .expect("connect to postgres")
}

/// The same with `config`; the adapter's error when it cannot start.
pub async fn rust_server_with(
    url: &str,
    config: PostgresAdapterConfig,
) -> Result<TestServer, PostgresAdapterError> {
    let factory = PostgresAdapterFactory::connect(url, config).await?;
    let io = SocketIo::with_adapter(crate::common::config(), factory);
    io.on_connection(|socket| {
        let name = socket
            .handshake()
            .auth
            .get("name")
            .cloned()
            .unwrap_or(Value::Null);
        let mut data = indexmap::IndexMap::new();
        data.insert("name".to_owned(), name);
        socket.set_data(Value::Object(data));
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

/// Waits until `io` counts `n` servers (heartbeats: the others answer an
/// announcement at once, or within a heartbeat interval).
pub async fn wait_servers(io: &SocketIo, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
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
    let mut p = NodeProc::spawn("sio-client.mjs", &[url, &opts], Duration::from_secs(60));
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

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Sends an end marker to everyone through each of `ios` and returns, per
/// client, the events it got before them: each server publishes in order,
/// and notifications keep their order, so once a client has every server's
/// marker it has everything they sent.
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

/// An npm `socket.io` server on `@socket.io/postgres-adapter`, on `url`;
/// its process and its `http://` URL.
pub async fn node_server(url: &str, limit: Duration) -> (NodeProc, String) {
    let limit_ms = limit.as_millis().to_string();
    let mut p = NodeProc::spawn("postgres-server.mjs", &[url, &limit_ms], limit);
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
