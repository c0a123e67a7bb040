//! The cluster benchmark: 1 to 4 of our servers on one Redis (classic
//! adapter), then as many npm socket.io servers on
//! `@socket.io/redis-adapter`, all in one run; writes a Markdown report.
//! See bench/README.md ("Cluster benchmark") and bench/cluster.sh, which
//! builds, pins and runs it.
//!
//! For each implementation and server count it starts a fresh
//! `redis-server` and the servers (pinned to the servers' core), spreads the
//! clients over the servers, and measures:
//!
//! * deliveries/s: one client (on server A) emits `broadcast`, every client
//!   of every server receives it, four broadcasts in flight at most;
//! * broadcast latency, paced (one broadcast at a time, 20 a second): from
//!   the emit to each delivery, receivers on A ("within") apart from
//!   receivers on the other servers ("cross");
//! * `fetchSockets` latency, one request at a time, from a client on A;
//! * Redis CPU per broadcast, and the servers' CPU per delivery, from /proc.

#[allow(dead_code)]
#[path = "../client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../stats.rs"]
mod stats;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

use client::{num_after, Ws};
use stats::Hist;

type Sink = SplitSink<Ws, Message>;

struct Options {
    quick: bool,
    counts: Vec<usize>,
    impls: Vec<String>,
    clients: usize,
    in_flight: u64,
    core: String,
    out: String,
    command: String,
}

fn options() -> Options {
    let mut o = Options {
        quick: false,
        counts: vec![1, 2, 3, 4],
        impls: vec!["ours".into(), "node".into()],
        clients: 0,
        in_flight: 4,
        core: "1".into(),
        out: "BENCHMARKS-cluster.md".into(),
        command: String::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--quick" => o.quick = true,
            "--servers" => o.counts = value().split(',').filter_map(|n| n.parse().ok()).collect(),
            "--impls" => o.impls = value().split(',').map(str::to_owned).collect(),
            "--clients" => o.clients = value().parse().unwrap_or(0),
            "--in-flight" => o.in_flight = value().parse().unwrap_or(4).max(1),
            "--core" => o.core = value(),
            "--out" => o.out = value(),
            "--command" => o.command = value(),
            _ => {
                eprintln!(
                    "usage: sio-cluster-bench [--quick] [--servers 1,2,3,4] [--impls ours,node] \
                     [--clients N] [--in-flight N] [--core C|C1-C2|C1,C2] [--out FILE] [--command TEXT]"
                );
                std::process::exit(2);
            }
        }
    }
    if o.clients == 0 {
        o.clients = if o.quick { 500 } else { 1000 };
    }
    o
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pinned(core: &str, program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("taskset");
    c.args(["-c", core, program]).args(args);
    c
}

async fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts one server; its banner line (versions) once it listens.
fn start_server(o: &Options, root: &str, which: &str, port: u16, redis: &str) -> (Proc, String) {
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = if which == "ours" {
        let bin = format!("{root}/target/release/sio-cluster-server");
        pinned(&o.core, &bin, &[&addr, redis])
    } else {
        let script = format!("{root}/bench/node/server-cluster.mjs");
        pinned(&o.core, "node", &[&script, &addr, redis])
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a server");
    let mut banner = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut banner);
    }
    (Proc(child), banner.trim().to_owned())
}

/// What the client tasks share.
#[derive(Default)]
struct Shared {
    /// Per broadcast sequence number: how many clients got it.
    got: RefCell<HashMap<u64, usize>>,
    clients: Cell<usize>,
    done: Notify,
    completed: Cell<u64>,
    deliveries: Cell<u64>,
    /// Where latencies go: 0 none, 1 saturated, 2 paced.
    phase: Cell<u8>,
    within: RefCell<Hist>,
    cross: RefCell<Hist>,
    paced_within: RefCell<Hist>,
    paced_cross: RefCell<Hist>,
    /// Pending `fetch` acks by id, answered with the socket count.
    acks: RefCell<HashMap<u64, tokio::sync::oneshot::Sender<u64>>>,
}

/// CPU time of every thread of `pid` in nanoseconds (the scheduler's
/// figure, /proc/PID/task/*/schedstat): clock ticks are too coarse for
/// Redis, which spends a few milliseconds in a window.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn micros(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

async fn reader(
    mut stream: futures_util::stream::SplitStream<Ws>,
    on_a: bool,
    epoch: Instant,
    shared: Rc<Shared>,
) {
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(t) = msg else { continue };
        let s = t.as_str();
        if s.starts_with("42[\"broadcast\"") {
            let (Some(sent), Some(k)) = (num_after(s, "\"t\":"), num_after(s, "\"k\":")) else {
                continue;
            };
            let lat = micros(epoch).saturating_sub(sent);
            match (shared.phase.get(), on_a) {
                (1, true) => shared.within.borrow_mut().record_us(lat),
                (1, false) => shared.cross.borrow_mut().record_us(lat),
                (2, true) => shared.paced_within.borrow_mut().record_us(lat),
                (2, false) => shared.paced_cross.borrow_mut().record_us(lat),
                _ => {}
            }
            shared.deliveries.set(shared.deliveries.get() + 1);
            let mut got = shared.got.borrow_mut();
            let n = got.entry(k).or_insert(0);
            *n += 1;
            if *n >= shared.clients.get() {
                got.remove(&k);
                shared.completed.set(shared.completed.get() + 1);
                shared.done.notify_one();
            }
        } else if let Some(rest) = s.strip_prefix("43") {
            if let Some(id) = client::ack_id(rest) {
                if let Some(tx) = shared.acks.borrow_mut().remove(&id) {
                    let count = rest
                        .split_once('[')
                        .and_then(|(_, r)| r.trim_end_matches(']').parse().ok());
                    let _ = tx.send(count.unwrap_or(0));
                }
            }
        }
    }
}

async fn send(sink: &RefCell<Option<Sink>>, frame: String) {
    // One sender at a time (the scenario's own loop): the borrow is held
    // across the send only by that loop.
    let mut s = sink.borrow_mut().take().expect("the sender's sink");
    let _ = s.send(Message::text(frame)).await;
    *sink.borrow_mut() = Some(s);
}

/// One measurement's figures.
#[derive(Default, Clone)]
struct Row {
    deliveries_s: f64,
    broadcasts_s: f64,
    sat_within_p50: f64,
    sat_cross_p50: f64,
    within_p50: f64,
    within_p99: f64,
    cross_p50: f64,
    cross_p99: f64,
    fetch_p50: f64,
    fetch_p99: f64,
    redis_us_per_broadcast: f64,
    servers_us_per_delivery: f64,
    generator_util: f64,
    servers_util: f64,
    redis_util: f64,
    /// The share of the servers' core other processes took.
    others_util: f64,
    banner: String,
}

fn q(h: &Hist, p: f64) -> f64 {
    h.quantile(p).unwrap_or(f64::NAN) / 1000.0
}

async fn measure(o: &Options, root: &str, which: &str, n: usize, tck: f64) -> Row {
    let window = if o.quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(8)
    };
    let redis_port = free_port();
    let redis = Proc(
        pinned(
            &o.core,
            "redis-server",
            &[
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("start redis-server"),
    );
    wait_port(redis_port).await;
    // taskset execs redis-server: same pid.
    let redis_pid = redis.0.id();
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let mut servers = Vec::new();
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let mut banner = String::new();
    for _ in 0..n {
        let port = free_port();
        let (p, b) = start_server(o, root, which, port, &redis_url);
        wait_port(port).await;
        servers.push(p);
        addrs.push(SocketAddr::from(([127, 0, 0, 1], port)));
        banner = b;
    }
    let pids: Vec<u32> = servers.iter().map(|p| p.0.id()).collect();

    let shared = Rc::new(Shared::default());
    shared.clients.set(o.clients);
    let epoch = Instant::now();
    let sink: Rc<RefCell<Option<Sink>>> = Rc::default();
    // The other clients' write halves, only kept open.
    let mut idle_sinks = Vec::new();
    for i in 0..o.clients {
        let server = i % n;
        let ws = client::sio_ws(addrs[server])
            .await
            .unwrap_or_else(|e| panic!("{which} x{n}: client {i}: {e}"));
        let (tx, rx) = ws.split();
        if i == 0 {
            *sink.borrow_mut() = Some(tx);
        } else {
            idle_sinks.push(tx);
        }
        tokio::task::spawn_local(reader(rx, server == 0, epoch, shared.clone()));
    }
    // Every server subscribed and counted: fetchSockets sees every client.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut next_id = 1u64;
    loop {
        let (tx, rx) = tokio::sync::oneshot::channel();
        shared.acks.borrow_mut().insert(next_id, tx);
        send(&sink, format!("42{next_id}[\"fetch\"]")).await;
        next_id += 1;
        let seen = tokio::time::timeout(Duration::from_secs(6), rx).await;
        if matches!(seen, Ok(Ok(c)) if c as usize == o.clients) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{which} x{n}: fetchSockets sees {seen:?} of {} clients",
            o.clients
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let seq = Cell::new(0u64);
    let broadcast = |sink: Rc<RefCell<Option<Sink>>>| {
        let k = seq.get();
        seq.set(k + 1);
        let frame = format!(
            "42[\"broadcast\",{{\"t\":{},\"k\":{k},\"s\":\"{}\"}}]",
            micros(epoch),
            client::PAYLOAD
        );
        async move { send(&sink, frame).await }
    };

    // Saturated: `in_flight` broadcasts at most, for a warm-up and a
    // window.
    let saturated = |len: Duration, measuring: bool| {
        let shared = shared.clone();
        let sink = sink.clone();
        let broadcast = &broadcast;
        async move {
            if measuring {
                shared.phase.set(1);
            }
            let end = Instant::now() + len;
            let start_completed = shared.completed.get();
            let mut sent = 0u64;
            while Instant::now() < end {
                while sent - (shared.completed.get() - start_completed) < o.in_flight {
                    broadcast(sink.clone()).await;
                    sent += 1;
                }
                if tokio::time::timeout(Duration::from_secs(5), shared.done.notified())
                    .await
                    .is_err()
                {
                    eprintln!("{which} x{n}: a broadcast did not reach every client in 5 s");
                    break;
                }
            }
            // Let the last ones land.
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while shared.completed.get() - start_completed < sent {
                    shared.done.notified().await;
                }
            })
            .await;
            shared.phase.set(0);
        }
    };
    saturated(Duration::from_millis(500), false).await;

    let cpu = cpu_ns;
    let servers_cpu = || pids.iter().map(|p| cpu(*p)).sum::<u64>();
    let (r0, s0, g0) = (cpu(redis_pid), servers_cpu(), cpu_ns(std::process::id()));
    // `--core` is taskset's list ("1", "1-4", "1,3"): the first core
    // stands for the others' share.
    let core: usize = o
        .core
        .split([',', '-'])
        .next()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(1);
    let k0 = stats::core_ticks(core).unwrap_or((0, 0));
    let (c0, d0) = (shared.completed.get(), shared.deliveries.get());
    let started = Instant::now();
    saturated(window, true).await;
    let secs = started.elapsed().as_secs_f64();
    let (r1, s1, g1) = (cpu(redis_pid), servers_cpu(), cpu_ns(std::process::id()));
    let k1 = stats::core_ticks(core).unwrap_or((0, 0));
    let core_busy = k1.0.saturating_sub(k0.0) as f64;
    let core_total = k1.1.saturating_sub(k0.1).max(1) as f64;
    let ours_on_core = ((r1 - r0) + (s1 - s0)) as f64 / 1e9 * tck;
    let completed = (shared.completed.get() - c0) as f64;
    let deliveries = (shared.deliveries.get() - d0) as f64;

    // Paced: one at a time, 20 a second.
    shared.phase.set(2);
    let end = Instant::now() + window;
    while Instant::now() < end {
        let before = shared.completed.get();
        broadcast(sink.clone()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while shared.completed.get() == before {
                shared.done.notified().await;
            }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shared.phase.set(0);

    // fetchSockets, one at a time.
    let mut fetch = Hist::default();
    let end = Instant::now() + window / 2;
    while Instant::now() < end {
        let (tx, rx) = tokio::sync::oneshot::channel();
        shared.acks.borrow_mut().insert(next_id, tx);
        let t = Instant::now();
        send(&sink, format!("42{next_id}[\"fetch\"]")).await;
        next_id += 1;
        if tokio::time::timeout(Duration::from_secs(6), rx)
            .await
            .is_ok()
        {
            fetch.record(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let row = Row {
        deliveries_s: deliveries / secs,
        broadcasts_s: completed / secs,
        sat_within_p50: q(&shared.within.borrow(), 0.5),
        sat_cross_p50: q(&shared.cross.borrow(), 0.5),
        within_p50: q(&shared.paced_within.borrow(), 0.5),
        within_p99: q(&shared.paced_within.borrow(), 0.99),
        cross_p50: q(&shared.paced_cross.borrow(), 0.5),
        cross_p99: q(&shared.paced_cross.borrow(), 0.99),
        fetch_p50: q(&fetch, 0.5),
        fetch_p99: q(&fetch, 0.99),
        redis_us_per_broadcast: (r1 - r0) as f64 / 1e3 / completed.max(1.0),
        servers_us_per_delivery: (s1 - s0) as f64 / 1e3 / deliveries.max(1.0),
        generator_util: (g1 - g0) as f64 / 1e9 / secs,
        servers_util: (s1 - s0) as f64 / 1e9 / secs,
        redis_util: (r1 - r0) as f64 / 1e9 / secs,
        others_util: ((core_busy - ours_on_core) / core_total).max(0.0),
        banner,
    };
    drop(idle_sinks);
    drop(servers);
    drop(redis);
    row
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.digits$}")
    }
}

fn main() {
    let o = options();
    let root = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| ".".into());
    let tck = stats::clk_tck();
    let load_before = stats::loadavg();
    let began = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let mut rows: Vec<(String, usize, Row)> = Vec::new();
    local.block_on(&rt, async {
        for which in &o.impls {
            for &n in &o.counts {
                eprintln!("== {which}: {n} server(s)");
                let row = measure(&o, &root, which, n, tck).await;
                eprintln!(
                    "   {:.0} deliveries/s, within p99 {:.2} ms, cross p99 {:.2} ms, fetch p50 {:.2} ms, redis {:.1} µs/broadcast",
                    row.deliveries_s, row.within_p99, row.cross_p99, row.fetch_p50, row.redis_us_per_broadcast
                );
                rows.push((which.clone(), n, row));
            }
        }
    });
    let report = report(&o, &rows, &load_before, began.elapsed());
    std::fs::write(&o.out, report).expect("write the report");
    eprintln!("wrote {}", o.out);
}

fn report(o: &Options, rows: &[(String, usize, Row)], load_before: &str, took: Duration) -> String {
    let get = |which: &str, n: usize| {
        rows.iter()
            .find(|(w, m, _)| w == which && *m == n)
            .map(|(_, _, r)| r.clone())
    };
    let mut s = String::new();
    s.push_str("# Cluster benchmark\n\n");
    s.push_str(
        "Socket.IO servers in a cluster on one Redis, loopback only: 1 to 4 of ours \
         (socketio-rs, `sio-cluster-server`, classic Redis adapter) against as many npm \
         `socket.io` servers on `@socket.io/redis-adapter` (`bench/node/server-cluster.mjs`). \
         Written by `bench/cluster.sh`; see bench/README.md, \"Cluster benchmark\".\n\n",
    );
    s.push_str("## Last run\n\n");
    let now = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    s.push_str(&format!(
        "- command: `{}` ({} mode), {}\n",
        if o.command.is_empty() {
            "sio-cluster-bench"
        } else {
            &o.command
        },
        if o.quick { "quick" } else { "full" },
        now.trim()
    ));
    s.push_str(&format!("- socketio-rs revision: {}\n", rev.trim()));
    s.push_str(&format!(
        "- nproc: {}; servers and redis-server pinned to core(s) {}, the load generator (every client, one thread) to core 0\n",
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
            .unwrap_or(0),
        o.core
    ));
    s.push_str(&format!(
        "- load average (1, 5, 15 min) before: {load_before}, after: {}\n",
        stats::loadavg()
    ));
    s.push_str(&format!(
        "- {} clients spread round-robin over the servers; {} broadcasts in flight at most; windows of {} s; total run time {} s\n",
        o.clients,
        o.in_flight,
        if o.quick { 3 } else { 8 },
        took.as_secs()
    ));
    for which in &o.impls {
        if let Some(r) = o.counts.iter().find_map(|n| get(which, *n)) {
            s.push_str(&format!("- {which}: `{}`\n", r.banner));
        }
    }
    s.push_str("\n## Results\n\n");
    s.push_str(
        "| servers | server | deliveries/s | broadcasts/s | within p50 / p99 (ms) | cross p50 / p99 (ms) | cross p99 / within p99 | saturated within / cross p50 (ms) | fetchSockets p50 / p99 (ms) | Redis CPU per broadcast (µs) | servers' CPU per delivery (µs) | servers' + Redis CPU (cores) | others on that core | generator CPU (core) |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for &n in &o.counts {
        for which in &o.impls {
            let Some(r) = get(which, n) else { continue };
            let ratio = if n > 1 {
                fmt(r.cross_p99 / r.within_p99, 2)
            } else {
                "–".into()
            };
            s.push_str(&format!(
                "| {n} | {which} | {} | {} | {} / {} | {} / {} | {ratio} | {} / {} | {} / {} | {} | {} | {} + {} | {} % | {} |\n",
                fmt(r.deliveries_s, 0),
                fmt(r.broadcasts_s, 0),
                fmt(r.within_p50, 2),
                fmt(r.within_p99, 2),
                fmt(r.cross_p50, 2),
                fmt(r.cross_p99, 2),
                fmt(r.sat_within_p50, 2),
                fmt(r.sat_cross_p50, 2),
                fmt(r.fetch_p50, 2),
                fmt(r.fetch_p99, 2),
                fmt(r.redis_us_per_broadcast, 1),
                fmt(r.servers_us_per_delivery, 2),
                fmt(r.servers_util, 2),
                fmt(r.redis_util, 2),
                fmt(r.others_util * 100.0, 0),
                fmt(r.generator_util, 2),
            ));
        }
    }
    s.push_str(
        "\n### Growth with the number of servers\n\nEach figure at N servers over the same figure at 1 server.\n\n\
         | servers | server | deliveries/s | within p99 | fetchSockets p50 | Redis CPU per broadcast | servers' CPU per delivery |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for &n in &o.counts {
        for which in &o.impls {
            let (Some(r), Some(one)) = (get(which, n), get(which, 1)) else {
                continue;
            };
            s.push_str(&format!(
                "| {n} | {which} | {} | {} | {} | {} | {} |\n",
                fmt(r.deliveries_s / one.deliveries_s, 2),
                fmt(r.within_p99 / one.within_p99, 2),
                fmt(r.fetch_p50 / one.fetch_p50, 2),
                fmt(r.redis_us_per_broadcast / one.redis_us_per_broadcast, 2),
                fmt(r.servers_us_per_delivery / one.servers_us_per_delivery, 2),
            ));
        }
    }
    s.push_str("\n### Targets\n\n| servers | ours / node deliveries/s (target >= 5 at 3 servers) | ours: cross p99 / within p99 (target <= 2) |\n|---|---|---|\n");
    for &n in &o.counts {
        let ratio = match (get("ours", n), get("node", n)) {
            (Some(a), Some(b)) => fmt(a.deliveries_s / b.deliveries_s, 2),
            _ => "–".into(),
        };
        let latency = match get("ours", n) {
            Some(r) if n > 1 => fmt(r.cross_p99 / r.within_p99, 2),
            _ => "–".into(),
        };
        s.push_str(&format!("| {n} | {ratio} | {latency} |\n"));
    }
    s.push_str(&reading(o, &get));
    s
}

/// The slope of `y` over the server count by least squares: how much a
/// figure grows per added server.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// How each figure grows with the number of servers, in words, from this
/// run's figures.
fn reading(o: &Options, get: &dyn Fn(&str, usize) -> Option<Row>) -> String {
    let mut s = String::from("\n### How the figures grow with the number of servers\n\n");
    s.push_str(
        "Every server and Redis share one core here, so the cluster's deliveries/s cannot grow \
         with the number of servers: what this run shows is what each added server costs.\n\n",
    );
    for which in &o.impls {
        let series = |f: &dyn Fn(&Row) -> f64| -> Vec<(f64, f64)> {
            o.counts
                .iter()
                .filter_map(|&n| get(which, n).map(|r| (n as f64, f(&r))))
                .filter(|p| p.1.is_finite())
                .collect()
        };
        let rates: Vec<String> = series(&|r| r.deliveries_s)
            .iter()
            .map(|(n, v)| format!("{v:.0} at {n}"))
            .collect();
        s.push_str(&format!(
            "- **{which}**: deliveries/s {}; Redis CPU per broadcast {} µs per added server \
             (Redis writes each published broadcast to every subscribed server); servers' CPU \
             per delivery {} µs per added server (each server decodes every broadcast, whatever \
             its share of the clients); fetchSockets p50 {} ms per added server (the requester \
             waits for every server's answer, and decodes every remote socket); paced latency \
             p99 within one server {} ms and across servers {} ms per added server.\n",
            rates.join(", "),
            fmt(slope(&series(&|r| r.redis_us_per_broadcast)), 1),
            fmt(slope(&series(&|r| r.servers_us_per_delivery)), 2),
            fmt(slope(&series(&|r| r.fetch_p50)), 2),
            fmt(slope(&series(&|r| r.within_p99)), 2),
            fmt(slope(&series(&|r| r.cross_p99)), 2),
        ));
    }
    s.push_str(
        "\nThe share of the servers' core other processes took (the \"others\" column) moves \
         every rate and latency of its row; CPU per broadcast and per delivery hold up best \
         under such load.\n",
    );
    s
}
