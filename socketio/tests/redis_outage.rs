//! A broadcast flood while Redis is away: the adapter's publish queue stays
//! bounded (read from its [`PublishStats`], not from the process's memory),
//! what could not be published is counted as dropped, a request whose
//! answer was lost times out naming the server that stayed silent, and once
//! Redis is back the broadcasts flow again.
//!
//! Each test starts its own `redis-server` on a free loopback port and
//! kills it on drop. Without the binary the tests skip loudly, unless
//! `SOCKETIO_RS_REQUIRE_REDIS` is set, where they fail.

mod common;
mod redis_support;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use common::{config, serve, TestServer};
use parking_lot::Mutex;
use redis_support::{clients, until_received, wait_servers, Flavour, Redis};
use socketio::adapter::redis::{PublishStats, RedisAdapterConfig, RedisAdapterFactory};
use socketio::adapter::redis_sharded::{ShardedRedisAdapterConfig, ShardedRedisAdapterFactory};
use socketio::adapter::redis_streams::{RedisStreamsAdapterConfig, RedisStreamsAdapterFactory};
use socketio::{SocketIo, Value};
use tokio::time::Instant;

/// The queue bound of these servers, per namespace.
const MAX_QUEUED: usize = 1000;
/// How long Redis stays away.
const OUTAGE: Duration = Duration::from_secs(3);
/// How long requests wait for the other servers.
const REQUESTS: Duration = Duration::from_millis(1500);

/// One of our servers, and how to read its adapter's publish figures.
async fn server(redis: &Redis, flavour: Flavour) -> (TestServer, Box<dyn Fn() -> PublishStats>) {
    let url = redis.url();
    let (io, stats): (SocketIo, Box<dyn Fn() -> PublishStats>) = match flavour {
        Flavour::Classic => {
            let f = RedisAdapterFactory::connect(
                &url,
                RedisAdapterConfig::default()
                    .requests_timeout(REQUESTS)
                    .max_queued_publishes(MAX_QUEUED),
            )
            .await
            .expect("connect to redis");
            let io = SocketIo::with_adapter(config(), f.clone());
            (io, Box::new(move || f.publish_stats()))
        }
        Flavour::Sharded => {
            let f = ShardedRedisAdapterFactory::connect(
                &url,
                ShardedRedisAdapterConfig::default()
                    .requests_timeout(REQUESTS)
                    .max_queued_publishes(MAX_QUEUED),
            )
            .await
            .expect("connect to redis");
            let io = SocketIo::with_adapter(config(), f.clone());
            (io, Box::new(move || f.publish_stats()))
        }
        Flavour::Streams | Flavour::StreamsSharded => {
            let f = RedisStreamsAdapterFactory::connect(
                &url,
                RedisStreamsAdapterConfig::default()
                    .requests_timeout(REQUESTS)
                    .max_queued_publishes(MAX_QUEUED)
                    .use_sharded_pubsub(flavour == Flavour::StreamsSharded),
            )
            .await
            .expect("connect to redis");
            let io = SocketIo::with_adapter(config(), f.clone());
            (io, Box::new(move || f.publish_stats()))
        }
    };
    io.on_connection(|socket| {
        socket.on("join", |socket, args, ack| {
            if let Some(Value::String(room)) = args.first() {
                socket.join(room.as_str());
            }
            if let Some(ack) = ack {
                let _ = ack.send(vec![Value::String(socket.id().to_string())]);
            }
        });
    });
    (serve(io).await, stats)
}

/// The log lines of the test's own thread (where the requests it awaits
/// run), to read what a timed-out request says.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

async fn flood_while_redis_is_away(flavour: Flavour) {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let captured = Captured::default();
    let sink = captured.clone();
    let _log = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish(),
    );
    let (a, a_stats) = server(&redis, flavour).await;
    let (b, _) = server(&redis, flavour).await;
    wait_servers(&a.io, 2).await;
    wait_servers(&b.io, 2).await;
    // B answers "slow" a second late: the request is on its way when Redis
    // goes, and the answer is lost.
    b.io.on_server_side_emit("slow", |_, ack| {
        if let Some(ack) = ack {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                ack.send(Value::from("late"));
            });
        }
    });
    let mut pb = clients(&b.url(), &[("b1", &["r"])]).await;
    until_received(&a.io, &mut pb, "b1", "r", "before").await;
    // A hears from B, so it knows whom it waits for.
    let (tx, mut heard) = common::record::<()>();
    a.io.on_server_side_emit("hello", move |_, _| {
        let _ = tx.send(());
    });
    b.io.server_side_emit("hello", vec![]).await;
    heard.next().await;

    // The flood: 10 000 broadcasts a second from A to a room nobody is in
    // (Redis carries them all the same), from now until after Redis is
    // back.
    let flooding = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flood = {
        let io = a.io.clone();
        let flooding = flooding.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..50 {
                    n += 1;
                    let _ = io.to("f").emit("flood", &n);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            n
        })
    };
    // Awaited here, not spawned: its timeout is logged on this thread.
    let slow = async {
        let started = Instant::now();
        let answers =
            a.io.server_side_emit_with_ack("slow", vec![], REQUESTS)
                .await;
        (answers, started.elapsed())
    };
    let outage = async {
        // B got the request (its answer is due in a second): Redis goes.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = a_stats();
        redis.stop();
        let away = Instant::now();
        let mut peak = 0;
        while away.elapsed() < OUTAGE {
            peak = peak.max(a_stats().queued);
            if std::env::var_os("OUTAGE_DEBUG").is_some() {
                eprintln!("{:?} {:?}", away.elapsed(), a_stats());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (before, peak, a_stats())
    };
    let ((answers, took), (before, peak, during)) = tokio::join!(slow, outage);
    assert!(
        peak <= MAX_QUEUED,
        "{flavour:?}: {peak} queued (bound {MAX_QUEUED}): {during:?}"
    );
    // The bound, plus the one message being published.
    assert!(
        during.peak_queued <= MAX_QUEUED + 1,
        "{flavour:?}: {during:?}"
    );
    assert!(!during.redis_reachable, "{flavour:?}: {during:?}");
    // Some 30 000 broadcasts went nowhere: dropped, not kept.
    assert!(
        during.dropped > before.dropped + 10_000,
        "{flavour:?}: {before:?} then {during:?}"
    );

    // The request whose answer was lost timed out, naming B.
    assert!(answers.is_empty(), "{flavour:?}: {answers:?}");
    assert!(
        took >= REQUESTS - Duration::from_millis(100),
        "{flavour:?}: ended after {took:?}"
    );
    let log = captured.text();
    let line = log
        .lines()
        .find(|l| l.contains("request timed out"))
        .unwrap_or_else(|| panic!("{flavour:?}: no timeout logged:\n{log}"));
    assert!(
        line.contains("missing=[ServerId("),
        "{flavour:?}: the silent server is not named: {line}"
    );

    // Redis comes back: broadcasts reach B again, the flood still going.
    redis.restart().await;
    until_received(&a.io, &mut pb, "b1", "r", "again").await;
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    let sent = flood.await.expect("the flood task ran");
    let after = a_stats();
    assert!(after.redis_reachable, "{flavour:?}: {after:?}");
    assert!(
        after.peak_queued <= MAX_QUEUED + 1,
        "{flavour:?}: {after:?}"
    );
    assert!(sent > 10_000, "{flavour:?}: only {sent} sent");
    pb.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn classic_stays_bounded_while_redis_is_away() {
    flood_while_redis_is_away(Flavour::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sharded_stays_bounded_while_redis_is_away() {
    flood_while_redis_is_away(Flavour::Sharded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_stay_bounded_while_redis_is_away() {
    flood_while_redis_is_away(Flavour::Streams).await;
}
