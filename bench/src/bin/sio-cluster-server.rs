#![warn(missing_docs)]
//! Our server of the cluster benchmark: socketio-rs on the classic Redis
//! adapter (`@socket.io/redis-adapter`'s protocol), default options, on the
//! runtime `sio-bench-server` uses (one worker per allowed core).
//!
//! ```text
//! sio-cluster-server 127.0.0.1:PORT redis://127.0.0.1:6379
//! ```
//!
//! It answers what `bench/node/server-cluster.mjs` answers:
//!
//! * `broadcast(payload)`: emits `broadcast(payload)` to every socket of
//!   `/` on every server of the cluster;
//! * `fetch(ack)`: acknowledges with the number of sockets `fetchSockets`
//!   found across the cluster.

use socketio::adapter::redis::RedisAdapterFactory;
use socketio::{ServerConfig, SocketIo, Value};

fn main() -> std::io::Result<()> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all();
    // As in sio-bench-server: with one worker, first-in first-out.
    if std::thread::available_parallelism().map_or(1, |n| n.get()) == 1 {
        b.global_queue_interval(1);
    }
    b.build()?.block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
    let redis = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let factory = RedisAdapterFactory::new(&redis)
        .await
        .map_err(std::io::Error::other)?;
    let io = SocketIo::with_adapter(ServerConfig::default(), factory);
    io.on_connection(|socket| {
        socket.on("broadcast", |socket, args, _| {
            let _ = socket.namespace().broadcast().emit_args("broadcast", args);
        });
        socket.on("fetch", |socket, _, ack| {
            let Some(ack) = ack else { return };
            let ns = socket.namespace().clone();
            tokio::spawn(async move {
                let n = ns.fetch_all_sockets().await.len();
                let _ = ack.send(vec![Value::from(n as i64)]);
            });
        });
    });
    let listener = io.listen(&addr).await?;
    println!(
        "{{\"server\":\"socketio-rs\",\"version\":\"{}\",\"adapter\":\"redis (classic)\",\"addr\":\"{}\"}}",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()
    );
    listener.stopped().await;
    Ok(())
}
