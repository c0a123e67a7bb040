//! Broadcast fan-out: one small event (`42["tick",{"n":1,"msg":"hello"}]`)
//! to every socket of one namespace, 1000 sockets by default.
//!
//! ```text
//! cargo bench -p socketio --bench broadcast
//! SIO_BENCH_CLIENTS=200 cargo bench -p socketio --bench broadcast
//! ```
//!
//! The server listens on 127.0.0.1:0 and the clients are raw WebSocket
//! Engine.IO sessions (tokio-tungstenite) joined to `/`, in the same process
//! and on the same multi-threaded runtime as the server. Two measurements:
//!
//! * `server_enqueue`: the time `io.emit` takes — encode once, find the
//!   recipients, queue the shared frame on every session. Delivery is awaited
//!   after each sample, outside the timing, so buffers never fill up.
//! * `end_to_end`: from `io.emit` until every client has read the frame off
//!   its socket; includes the server's writes and the clients' reads, which
//!   share the machine's cores (on a 2-core box the clients take about half).
//!
//! File descriptors: each connection costs two (client and server end, same
//! process), so 1000 sockets need about 2000; check `ulimit -n` (the
//! development machines allow 20000). If connecting fails with "too many open
//! files", lower `SIO_BENCH_CLIENTS`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use socketio::{ServerConfig, SocketIo};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// Counts the ticks every client received; wakes the bench when a whole
/// broadcast has arrived.
struct Delivery {
    clients: usize,
    received: AtomicUsize,
    complete: Notify,
}

impl Delivery {
    fn tick(&self) {
        let n = self.received.fetch_add(1, Ordering::AcqRel) + 1;
        if n.is_multiple_of(self.clients) {
            self.complete.notify_one();
        }
    }

    /// Waits for the broadcast in flight to reach every client.
    async fn wait(&self) {
        tokio::time::timeout(Duration::from_secs(30), self.complete.notified())
            .await
            .expect("a broadcast did not reach every client within 30 s");
    }
}

struct Fixture {
    rt: Runtime,
    io: SocketIo,
    delivery: Arc<Delivery>,
}

async fn client(url: String, delivery: Arc<Delivery>) {
    let (mut ws, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok(c) => c,
        Err(e) => panic!("connect failed ({e}); too many open files? lower SIO_BENCH_CLIENTS"),
    };
    // Engine.IO open packet, then join `/`.
    let _open = ws.next().await;
    ws.send(Message::text("40")).await.expect("send CONNECT");
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Text(t) if t.as_str() == "2" => {
                let _ = ws.send(Message::text("3")).await;
            }
            Message::Text(t) if t.starts_with("42") => delivery.tick(),
            Message::Close(_) => break,
            _ => {}
        }
    }
}

fn setup(clients: usize) -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let delivery = Arc::new(Delivery {
        clients,
        received: AtomicUsize::new(0),
        complete: Notify::new(),
    });
    let io = rt.block_on(async {
        let io = SocketIo::new(ServerConfig::default());
        let listener = io.listen("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            listener.local_addr()
        );
        // Connect in waves, so that the listen backlog never overflows.
        for wave in (0..clients).collect::<Vec<_>>().chunks(100) {
            let target = io.of("/").sockets().len() + wave.len();
            for _ in wave {
                tokio::spawn(client(url.clone(), delivery.clone()));
            }
            let started = Instant::now();
            while io.of("/").sockets().len() < target {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "only {} of {clients} clients joined",
                    io.of("/").sockets().len()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        io
    });
    Fixture { rt, io, delivery }
}

fn broadcast(c: &mut Criterion) {
    let clients = std::env::var("SIO_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000usize);
    let Fixture { rt, io, delivery } = setup(clients);
    let payload = json!({ "n": 1, "msg": "hello" });

    let mut group = c.benchmark_group(format!("broadcast_{clients}_sockets"));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(clients as u64));

    // The emits run in a task on the runtime, as they would from an event
    // handler: waking the recipients' writers then costs what it costs a
    // worker thread, not a thread outside the runtime.
    let io = Arc::new(io);
    let run = |iters: u64, enqueue_only: bool| {
        let io = io.clone();
        let delivery = delivery.clone();
        let payload = payload.clone();
        rt.block_on(async move {
            tokio::spawn(async move {
                let mut enqueue = Duration::ZERO;
                let started = Instant::now();
                for _ in 0..iters {
                    let t = Instant::now();
                    io.emit("tick", &payload).expect("emit");
                    enqueue += t.elapsed();
                    delivery.wait().await;
                }
                if enqueue_only {
                    enqueue
                } else {
                    started.elapsed()
                }
            })
            .await
            .expect("bench task")
        })
    };
    group.bench_function("server_enqueue", |b| {
        b.iter_custom(|iters| run(iters, true))
    });
    group.bench_function("end_to_end", |b| b.iter_custom(|iters| run(iters, false)));
    group.finish();

    io.close();
    rt.shutdown_timeout(Duration::from_secs(1));
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
