//! The embedding layer on the Postgres adapter, as the bindings use it: a
//! `postgres://` URL in the adapter option joins two servers into one
//! cluster over a real PostgreSQL started by the test (skipped without
//! PostgreSQL unless `SOCKETIO_RS_REQUIRE_POSTGRES` is set).

#[path = "../../socketio/tests/postgres_support/server.rs"]
mod pg_server;

use std::time::{Duration, Instant};

use pg_server::Db;
use sio_core::adapter::postgres::client as pg_client;
use socketio::embed::{RedisFlavour, RedisOptions, Runtime, Server, ServerOptions, Value};

#[test]
fn two_servers_join_one_cluster_through_a_postgres_url() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio runtime");
    let Some(db) = tokio.block_on(Db::new()) else {
        return;
    };
    let rt = Runtime::new(2).expect("runtime");
    let server = || {
        Server::new(ServerOptions {
            runtime: Some(rt.clone()),
            redis: Some(RedisOptions {
                requests_timeout: Some(Duration::from_secs(2)),
                ..RedisOptions::new(db.url.clone(), RedisFlavour::Classic)
            }),
            ..ServerOptions::default()
        })
        .expect("join the Postgres cluster")
    };
    let a = server();
    let b = server();
    b.io().on_server_side_emit("ping", |args, ack| {
        if let Some(ack) = ack {
            let n = args.first().and_then(Value::as_i64).unwrap_or(0);
            ack.send(Value::from(n + 1));
        }
    });
    // The servers count each other by heartbeat.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let count = rt.block_on(a.io().server_count()).expect("count");
        if count == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "server count stayed {count}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let answers = rt
        .block_on(a.io().server_side_emit_with_ack(
            "ping",
            vec![Value::from(41)],
            Duration::from_secs(3),
        ))
        .expect("ask");
    assert_eq!(answers, vec![Value::from(42)]);
    drop((a, b));
}
