#![warn(missing_docs)]
//! `sio-bench`: the load generator of the side-by-side benchmarks.
//!
//! It starts each server itself (pinned to a core with `taskset`), drives it
//! with raw Engine.IO / Socket.IO clients on one thread, reads the server's
//! CPU time and memory from /proc, and writes BENCHMARKS.md. Loopback only;
//! every step is bounded in time. `bench/run.sh` is the one command that
//! builds everything and calls it.

mod client;
mod report;
mod scenarios;
mod stats;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use report::{Column, Run};
use scenarios::{Figures, Scenario, Target, Timing};

const HELP: &str = "\
sio-bench run [options]

Options:
  --quick                 1 round, 0.5 s warm-up, 2 s windows, 5 000 idle connections
  --rounds N              rounds (default 3; the best round of each cell is kept)
  --window SECS           measurement window (default 5)
  --warmup SECS           warm-up before each window (default 1)
  --idle N                idle connections (default 10000)
  --server NAME=COMMAND   a server to compare; COMMAND gets the address
                          (127.0.0.1:PORT) as its last argument. Repeat.
                          A server named `ceiling` is the bare WebSocket
                          reference: no polling, never the best of a row.
  --servers A,B           run only these of the --server list
  --scenarios A,B         echo-100, echo-1000, broadcast-1000, idle,
                          connect-ws, connect-upgrade, polling-echo-100;
                          echo-N runs the echo with N clients
  --server-core N         core the servers are pinned to (default 1)
  --out PATH              the Markdown report (default BENCHMARKS.md)
  --json PATH             every measurement as JSON lines
  --logs DIR              servers' stderr (default target/bench-logs)
  --command TEXT          the command line the report says was run
";

struct ServerSpec {
    name: String,
    argv: Vec<String>,
}

struct Options {
    quick: bool,
    rounds: usize,
    timing: Timing,
    idle: usize,
    servers: Vec<ServerSpec>,
    only_servers: Option<Vec<String>>,
    only_scenarios: Option<Vec<String>>,
    server_core: usize,
    out: String,
    json: Option<String>,
    logs: String,
    command: String,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("run") => {}
        Some("--help" | "-h" | "help") | None => {
            print!("{HELP}");
            std::process::exit(0);
        }
        Some(other) => return Err(format!("unknown command {other:?}\n\n{HELP}")),
    }
    let mut o = Options {
        quick: false,
        rounds: 3,
        timing: Timing {
            warmup: Duration::from_secs(1),
            window: Duration::from_secs(5),
        },
        idle: 10_000,
        servers: vec![],
        only_servers: None,
        only_scenarios: None,
        server_core: 1,
        out: "BENCHMARKS.md".into(),
        json: None,
        logs: "target/bench-logs".into(),
        command: "sio-bench run".into(),
    };
    let (mut rounds, mut window, mut warmup, mut idle) = (None, None, None, None);
    let list = |v: String| v.split(',').map(str::to_owned).collect::<Vec<_>>();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let secs = |v: String| {
            v.parse::<f64>()
                .map(Duration::from_secs_f64)
                .map_err(|e| e.to_string())
        };
        match a.as_str() {
            "--quick" => o.quick = true,
            "--rounds" => rounds = Some(value()?.parse().map_err(|_| "bad --rounds")?),
            "--window" => window = Some(secs(value()?)?),
            "--warmup" => warmup = Some(secs(value()?)?),
            "--idle" => idle = Some(value()?.parse().map_err(|_| "bad --idle")?),
            "--server" => {
                let v = value()?;
                let (name, cmd) = v.split_once('=').ok_or("--server NAME=COMMAND")?;
                o.servers.push(ServerSpec {
                    name: name.to_owned(),
                    argv: cmd.split_whitespace().map(str::to_owned).collect(),
                });
            }
            "--servers" => o.only_servers = Some(list(value()?)),
            "--scenarios" => o.only_scenarios = Some(list(value()?)),
            "--server-core" => o.server_core = value()?.parse().map_err(|_| "bad --server-core")?,
            "--out" => o.out = value()?,
            "--json" => o.json = Some(value()?),
            "--logs" => o.logs = value()?,
            "--command" => o.command = value()?,
            _ => return Err(format!("unknown option {a}\n\n{HELP}")),
        }
    }
    if o.quick {
        o.rounds = 1;
        o.timing = Timing {
            warmup: Duration::from_millis(500),
            window: Duration::from_secs(2),
        };
        o.idle = 5_000;
    }
    o.rounds = rounds.unwrap_or(o.rounds).max(1);
    o.timing.window = window.unwrap_or(o.timing.window);
    o.timing.warmup = warmup.unwrap_or(o.timing.warmup);
    o.idle = idle.unwrap_or(o.idle);
    if o.servers.is_empty() {
        return Err("no --server given".into());
    }
    if let Some(only) = &o.only_servers {
        o.servers.retain(|s| only.contains(&s.name));
    }
    Ok(o)
}

/// A server process, killed when dropped.
struct Running {
    child: Child,
    info: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(spec: &ServerSpec, addr: SocketAddr, core: usize, logs: &str) -> Result<Running, String> {
    let _ = std::fs::create_dir_all(logs);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{logs}/{}.log", spec.name))
        .map_err(|e| format!("log file: {e}"))?;
    let mut child = Command::new("taskset")
        .arg("-c")
        .arg(core.to_string())
        .args(&spec.argv)
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", spec.argv.join(" ")))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        // Drain the rest so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let mut running = Running {
        child,
        info: String::new(),
    };
    running.info =
        rx.recv_timeout(Duration::from_secs(30))
            .map_err(|_| match running.child.try_wait() {
                Ok(Some(status)) => format!(
                    "{} exited ({status}); see {logs}/{}.log",
                    spec.name, spec.name
                ),
                _ => format!(
                    "{} printed nothing within 30 s; see {logs}/{}.log",
                    spec.name, spec.name
                ),
            })?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{} does not accept connections", spec.name));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(running)
}

fn all_scenarios(idle: usize) -> Vec<Scenario> {
    vec![
        Scenario::Echo { clients: 100 },
        Scenario::Echo { clients: 1000 },
        Scenario::Broadcast { clients: 1000 },
        Scenario::Idle { conns: idle },
        Scenario::ConnectWs { concurrency: 32 },
        Scenario::ConnectUpgrade { concurrency: 32 },
        Scenario::PollingEcho { clients: 100 },
    ]
}

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn machine() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let l = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            let kib: f64 = l.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let ulimit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            let line = l
                .lines()
                .find(|l| l.starts_with("Max open files"))?
                .to_owned();
            line.split_whitespace().nth(3).map(str::to_owned)
        })
        .unwrap_or_default();
    let rev = sh("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_default();
    let dirty = sh(
        "git",
        &["status", "--porcelain", "--", "engineio", "socketio"],
    )
    .is_some_and(|s| !s.is_empty());
    vec![
        ("nproc".into(), cpus.to_string()),
        ("CPU".into(), model),
        ("memory".into(), mem),
        ("kernel".into(), kernel),
        ("open files limit".into(), ulimit),
        (
            "socketio-rs revision".into(),
            format!(
                "{rev}{}",
                if dirty {
                    " with uncommitted changes in engineio/ or socketio/"
                } else {
                    ""
                }
            ),
        ),
    ]
}

fn label(name: &str, info: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(info).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    match s("server").as_deref() {
        Some("socket.io") => format!(
            "npm socket.io {} on Node {} (ws {}, bufferutil {}), installed from {}",
            s("version").unwrap_or_default(),
            s("node").unwrap_or_default(),
            s("ws").unwrap_or_default(),
            s("bufferutil").unwrap_or_else(|| "not installed".into()),
            s("from").unwrap_or_default(),
        ),
        Some("socketioxide") => format!(
            "socketioxide {} from crates.io on hyper 1 (default options, multi-threaded tokio runtime); \
             its accept loop runs in `main` as in its documented hyper example, so it has two \
             busy threads on the core where ours has one: under competing load the scheduler \
             gives it a larger share, which lifts its rates (not its CPU per operation)",
            s("version").unwrap_or_default()
        ),
        Some("socketio-rs") => format!(
            "socketio-rs {} (this repository, `sio-bench-server ours`: default options, multi-threaded tokio runtime)",
            s("version").unwrap_or_default()
        ),
        Some("ceiling") => "bare tokio-tungstenite WebSocket server speaking just enough of the \
             protocol (`sio-bench-server ceiling`), 4 KiB read buffer, no hyper; not a Socket.IO server"
            .into(),
        _ => format!("{name}: {info}"),
    }
}

fn summary(f: &Figures) -> String {
    let g = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    if let Some(rss) = f.get("rss_per_conn") {
        return format!(
            "{rss:.1} KiB/conn, {:.0} µs CPU/conn, other load {:.0} %",
            g("cpu_per_op"),
            g("other_on_core") * 100.0
        );
    }
    let mut s = format!(
        "{:.0}/s p50 {:.2} ms p99 {:.2} ms",
        g("rate"),
        g("p50"),
        g("p99")
    );
    if let (Some(p999), Some(max)) = (f.get("p999"), f.get("max")) {
        s += &format!(" p99.9 {p999:.2} ms max {max:.2} ms");
    }
    if let (Some(slow), Some(fast)) = (f.get("slowest_client_rate"), f.get("fastest_client_rate")) {
        s += &format!(", clients {slow:.1}..{fast:.1}/s");
    }
    s += &format!(
        ", {:.2} µs CPU/op, server {:.2} gen {:.2} other {:.0} % errors {}",
        g("cpu_per_op"),
        g("server_util"),
        g("gen_util"),
        g("other_on_core") * 100.0,
        g("errors")
    );
    s
}

fn better(s: &Scenario, a: &Figures, b: &Figures) -> bool {
    let (key, higher) = s.primary();
    match (a.get(key), b.get(key)) {
        (Some(x), Some(y)) => {
            if higher {
                x > y
            } else {
                x < y
            }
        }
        (Some(_), None) => true,
        _ => false,
    }
}

async fn run(o: Options) -> Result<(), String> {
    let started = Instant::now();
    let tck = stats::clk_tck();
    let load_before = stats::loadavg();
    let mut scenarios = all_scenarios(o.idle);
    if let Some(only) = &o.only_scenarios {
        scenarios.retain(|s| {
            let id = s.id();
            only.iter()
                .any(|x| *x == id || id.starts_with(&format!("{x}-")))
        });
        // Echo at another scale than the defaults' (e.g. `echo-10000`).
        for x in only {
            let clients = x.strip_prefix("echo-").and_then(|n| n.parse().ok());
            if let Some(clients) = clients.filter(|&n: &usize| n > 0) {
                if !scenarios.iter().any(|s| s.id() == *x) {
                    scenarios.push(Scenario::Echo { clients });
                }
            }
        }
    }
    let mut json = match &o.json {
        Some(p) => Some(std::fs::File::create(p).map_err(|e| format!("{p}: {e}"))?),
        None => None,
    };
    // Below the ephemeral range (32768-60999 here), where the generator's own
    // client sockets could already hold the port.
    let mut port = 21_000 + (std::process::id() % 500) as u16 * 20;
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    let mut results: BTreeMap<(String, String), Result<Figures, String>> = BTreeMap::new();
    for round in 0..o.rounds {
        for s in &scenarios {
            // Rotate the order each round so no server always goes first.
            let n = o.servers.len();
            for i in 0..n {
                let spec = &o.servers[(i + round) % n];
                if spec.name == "ceiling" && s.needs_polling() {
                    continue;
                }
                port += 1;
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let outcome = match start(spec, addr, o.server_core, &o.logs) {
                    Err(e) => Err(e),
                    Ok(server) => {
                        labels
                            .entry(spec.name.clone())
                            .or_insert_with(|| label(&spec.name, &server.info));
                        let target = Target {
                            addr,
                            pid: server.child.id(),
                            core: o.server_core,
                            tck,
                        };
                        let limit = o.timing.warmup + o.timing.window + Duration::from_secs(90);
                        let r = tokio::time::timeout(limit, scenarios::run(*s, &target, o.timing))
                            .await
                            .map_err(|_| "timed out".to_owned())
                            .and_then(|r| r.map_err(|e| e.to_string()));
                        drop(server);
                        r
                    }
                };
                eprintln!(
                    "[{:>5.1}s] round {} {:<16} {:<13} {}",
                    started.elapsed().as_secs_f64(),
                    round + 1,
                    s.id(),
                    spec.name,
                    match &outcome {
                        Ok(f) => summary(f),
                        Err(e) => format!("FAILED: {e}"),
                    }
                );
                if let Some(file) = &mut json {
                    use std::io::Write;
                    let line = serde_json::json!({
                        "round": round + 1,
                        "scenario": s.id(),
                        "server": spec.name,
                        "figures": outcome.as_ref().ok(),
                        "error": outcome.as_ref().err(),
                    });
                    let _ = writeln!(file, "{line}");
                }
                let key = (s.id(), spec.name.clone());
                let keep = match (results.get(&key), &outcome) {
                    (None, _) | (Some(Err(_)), Ok(_)) => true,
                    (Some(Ok(old)), Ok(new)) => better(s, new, old),
                    _ => false,
                };
                if keep {
                    results.insert(key, outcome);
                }
                // Let the sockets of the last run close before the next.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let load_after = stats::loadavg();
    let max_other = results
        .values()
        .filter_map(|r| r.as_ref().ok()?.get("other_on_core").copied())
        .fold(0.0f64, f64::max);
    let busy = load_before
        .split_whitespace()
        .next()
        .and_then(|l| l.parse::<f64>().ok())
        .unwrap_or(0.0);
    let mut notes = vec![];
    if busy > 0.5 || max_other > 0.05 {
        notes.push(format!(
            "**loaded machine**: other processes were running (load average {load_before} \
             before the run; up to {:.0} % of the servers' core taken by others during a \
             window). Rates and latencies depend on how much of its core each server got: \
             read each cell with its conditions below. CPU time per operation and memory \
             per connection hold up best under such load.",
            max_other * 100.0
        ));
    }
    let mut bound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((scenario, server), r) in &results {
        if let Some(g) = r.as_ref().ok().and_then(|f| f.get("gen_util")) {
            if *g >= 0.9 {
                bound
                    .entry(scenario.clone())
                    .or_default()
                    .push(server.clone());
            }
        }
    }
    if !bound.is_empty() {
        let cells: Vec<String> = bound
            .iter()
            .map(|(s, servers)| format!("{s} ({})", servers.join(", ")))
            .collect();
        notes.push(format!(
            "the load generator used 90 % or more of its core in {}: there the rates are what \
             one client core can drive rather than the server's limit (the server's own CPU per \
             operation still holds)",
            cells.join("; ")
        ));
    }
    if o.idle < 10_000 {
        notes.push(format!(
            "idle connections scaled down to {} for this mode (the full run uses 10 000)",
            o.idle
        ));
    }
    notes.push(format!(
        "total run time {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    let columns = o
        .servers
        .iter()
        .map(|s| Column {
            name: s.name.clone(),
            label: labels
                .get(&s.name)
                .cloned()
                .unwrap_or_else(|| "did not start".into()),
            ceiling: s.name == "ceiling",
        })
        .collect();
    let report = Run {
        mode: if o.quick { "quick" } else { "full" },
        command: &o.command,
        date: sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default(),
        machine: machine(),
        load_before,
        load_after,
        timing: format!(
            "{} round(s), best kept; {:.1} s warm-up and {:.1} s window per measurement; \
             servers pinned to core {}, generator to the other",
            o.rounds,
            o.timing.warmup.as_secs_f64(),
            o.timing.window.as_secs_f64(),
            o.server_core
        ),
        columns,
        scenarios,
        results,
        notes,
    };
    std::fs::write(&o.out, report.markdown()).map_err(|e| format!("{}: {e}", o.out))?;
    eprintln!("wrote {}", o.out);
    Ok(())
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    if let Err(e) = local.block_on(&rt, run(o)) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
