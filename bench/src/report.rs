//! BENCHMARKS.md: how to run, the machine, the table of figures with each as
//! a ratio to the best Socket.IO server of its row, the run's conditions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::scenarios::{Figures, Scenario};

/// A server of the run as the report names it.
pub struct Column {
    pub name: String,
    pub label: String,
    pub ceiling: bool,
}

/// Everything the report needs.
pub struct Run<'a> {
    pub mode: &'a str,
    pub command: &'a str,
    pub date: String,
    pub machine: Vec<(String, String)>,
    pub load_before: String,
    pub load_after: String,
    pub timing: String,
    pub columns: Vec<Column>,
    pub scenarios: Vec<Scenario>,
    /// Best round of each (scenario id, server name); `Err` when it failed.
    pub results: BTreeMap<(String, String), Result<Figures, String>>,
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

struct Metric {
    key: &'static str,
    label: &'static str,
    better: Better,
    decimals: usize,
}

const fn m(key: &'static str, label: &'static str, better: Better, decimals: usize) -> Metric {
    Metric {
        key,
        label,
        better,
        decimals,
    }
}

fn metrics(s: &Scenario) -> Vec<Metric> {
    use Better::*;
    let latency = [
        m("p50", "p50 latency (ms)", Lower, 2),
        m("p99", "p99 latency (ms)", Lower, 2),
    ];
    // What a few unlucky operations waited: the tail a server that parks
    // some of its clients behind the others shows before p99 moves.
    let tail = [
        m("p999", "p99.9 latency (ms)", Lower, 2),
        m("max", "max latency (ms)", Lower, 2),
    ];
    match s {
        Scenario::Echo { .. } | Scenario::PollingEcho { .. } => {
            let mut v = vec![m("rate", "round trips/s", Higher, 0)];
            v.extend(latency);
            v.extend(tail);
            v.push(m("cpu_per_op", "server CPU per round trip (µs)", Lower, 1));
            v.push(m(
                "slowest_client_ops",
                "slowest client: round trips",
                Higher,
                0,
            ));
            v.push(m(
                "slowest_client_rate",
                "slowest client: round trips/s",
                Higher,
                1,
            ));
            v.push(m(
                "fastest_client_ops",
                "fastest client: round trips",
                Higher,
                0,
            ));
            v.push(m(
                "fastest_client_rate",
                "fastest client: round trips/s",
                Higher,
                1,
            ));
            v.push(m(
                "fairness",
                "fairness: slowest / fastest client",
                Neither,
                2,
            ));
            v
        }
        Scenario::Broadcast { .. } => {
            let mut v = vec![m("rate", "deliveries/s", Higher, 0)];
            v.extend(latency);
            v.extend(tail);
            v.push(m("cpu_per_op", "server CPU per delivery (µs)", Lower, 2));
            v
        }
        Scenario::Idle { .. } => vec![
            m("rss_per_conn", "server RSS per connection (KiB)", Lower, 1),
            m(
                "cpu_per_op",
                "server CPU per connection set up (µs)",
                Lower,
                0,
            ),
        ],
        Scenario::ConnectWs { .. } | Scenario::ConnectUpgrade { .. } => {
            let mut v = vec![m("rate", "connections/s", Higher, 0)];
            v.extend(latency);
            v.extend(tail);
            v.push(m("cpu_per_op", "server CPU per connection (µs)", Lower, 0));
            v.push(m(
                "rss_growth_per_conn",
                "server RSS growth per connection made (bytes)",
                Neither,
                0,
            ));
            v
        }
    }
}

fn fmt_num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    // Thin groups of thousands in the integer part.
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

impl Run<'_> {
    fn figure(&self, s: &Scenario, server: &str, key: &str) -> Option<f64> {
        match self.results.get(&(s.id(), server.to_owned()))? {
            Ok(f) => f.get(key).copied(),
            Err(_) => None,
        }
    }

    fn best(&self, s: &Scenario, metric: &Metric) -> Option<f64> {
        let values = self
            .columns
            .iter()
            .filter(|c| !c.ceiling)
            .filter_map(|c| self.figure(s, &c.name, metric.key))
            .filter(|v| v.is_finite() && *v > 0.0);
        match metric.better {
            Better::Higher => {
                values.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v))))
            }
            Better::Lower => values.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v)))),
            Better::Neither => None,
        }
    }

    fn cell(&self, s: &Scenario, col: &Column, metric: &Metric, best: Option<f64>) -> String {
        if col.ceiling && s.needs_polling() {
            return "n/a".into();
        }
        match self.results.get(&(s.id(), col.name.clone())) {
            None => "–".into(),
            Some(Err(_)) => "failed".into(),
            Some(Ok(f)) => match f.get(metric.key) {
                None => "–".into(),
                Some(&v) => {
                    let shown = fmt_num(v, metric.decimals);
                    match best {
                        Some(b) if b > 0.0 => {
                            let ratio = v / b;
                            if (ratio - 1.0).abs() < 0.005 && !col.ceiling {
                                format!("**{shown}** (1.00)")
                            } else {
                                format!("{shown} ({ratio:.2})")
                            }
                        }
                        _ => shown,
                    }
                }
            },
        }
    }

    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(w, "# Benchmarks\n");
        let _ = writeln!(
            w,
            "Socket.IO servers side by side on one machine, loopback only: ours \
             (socketio-rs), socketioxide, the npm `socket.io` server, and a bare \
             tokio-tungstenite WebSocket server as the ceiling. Written by \
             `bench/run.sh`; the numbers below are the last run's.\n"
        );
        let _ = writeln!(w, "## How to run\n");
        let _ = writeln!(
            w,
            "```text\n./bench/run.sh           # full: 3 rounds, best round kept (about 8 minutes)\n\
             ./bench/run.sh --quick   # 1 round, short windows (under 2 minutes once built)\n```\n"
        );
        let _ = writeln!(
            w,
            "It builds the load generator and our bench server (`cargo build --release -p sio-bench`), \
             the socketioxide peer (`bench/peers/socketioxide`, its own workspace and lockfile, built \
             into `target/bench-peers/`) and installs the Node peer (`bench/node`, `npm ci`), then runs \
             `sio-bench run`. Every server runs alone, freshly started for each measurement, \
             pinned with `taskset -c 1`; the load generator is pinned to core 0 and runs every client \
             on one thread. `sio-bench --help` lists the options (`--scenarios`, `--servers`, \
             `--rounds`, ...).\n"
        );
        let _ = writeln!(w, "## Last run\n");
        let _ = writeln!(
            w,
            "- command: `{}` ({} mode), {}",
            self.command.trim_end(),
            self.mode,
            self.date
        );
        for (k, v) in &self.machine {
            let _ = writeln!(w, "- {k}: {v}");
        }
        let _ = writeln!(
            w,
            "- load average (1, 5, 15 min) before: {}, after: {}",
            self.load_before, self.load_after
        );
        let _ = writeln!(w, "- timing: {}", self.timing);
        for n in &self.notes {
            let _ = writeln!(w, "- {n}");
        }
        let _ = writeln!(w, "\nServers:\n");
        for c in &self.columns {
            let _ = writeln!(w, "- **{}**: {}", c.name, c.label);
        }
        let _ = writeln!(w, "\n## Results\n");
        let _ = writeln!(
            w,
            "Each cell: the figure, then in brackets its ratio to the best Socket.IO server of \
             that row (the highest rate, the lowest latency, CPU or memory; the best is in bold; \
             rows without a ratio have no better direction). \
             The ceiling is not a Socket.IO server and never counts as the best; its ratio shows \
             the headroom. Ratios compare servers measured minutes apart in the same run; never \
             compare figures across runs or machines. Latency is measured at saturation \
             (closed loops), so it is mostly queueing.\n"
        );
        let mut header = String::from("| scenario | figure |");
        let mut rule = String::from("|---|---|");
        for c in &self.columns {
            let _ = write!(header, " {} |", c.name);
            rule.push_str("---:|");
        }
        let _ = writeln!(w, "{header}\n{rule}");
        for s in &self.scenarios {
            for (i, metric) in metrics(s).iter().enumerate() {
                let best = self.best(s, metric);
                let title = if i == 0 { s.title() } else { String::new() };
                let mut row = format!("| {title} | {} |", metric.label);
                for c in &self.columns {
                    let _ = write!(row, " {} |", self.cell(s, c, metric, best));
                }
                let _ = writeln!(w, "{row}");
            }
        }
        let _ = writeln!(w, "\n### Conditions of each measurement\n");
        let _ = writeln!(
            w,
            "Server CPU: the server's CPU time over the window's length (1.00 = its core fully \
             used). Generator CPU: the same for the load generator; near 1.00 it may be the \
             bottleneck. Other load: the share of the server's core used by other processes \
             during the window (this machine is shared); a high figure makes that cell suspect.\n"
        );
        let mut header = String::from("| scenario |");
        let mut rule = String::from("|---|");
        for c in &self.columns {
            let _ = write!(header, " {} |", c.name);
            rule.push_str("---|");
        }
        let _ = writeln!(w, "{header}\n{rule}");
        for s in &self.scenarios {
            let mut row = format!("| {} |", s.id());
            for c in &self.columns {
                let cell = match self.results.get(&(s.id(), c.name.clone())) {
                    _ if c.ceiling && s.needs_polling() => "n/a".to_owned(),
                    None => "–".into(),
                    Some(Err(e)) => format!("failed: {}", e.replace('|', "/")),
                    Some(Ok(f)) => {
                        let g = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
                        let mut c = format!(
                            "server {:.2}, generator {:.2}, other {:.0} %",
                            g("server_util"),
                            g("gen_util"),
                            g("other_on_core") * 100.0
                        );
                        if g("errors") > 0.0 {
                            let _ = write!(c, ", {} errors", g("errors"));
                        }
                        if let Some(b) = f.get("broadcasts_per_s") {
                            let _ = write!(c, ", {b:.0} broadcasts/s");
                        }
                        if let (Some(base), Some(rss)) = (f.get("rss_base_mib"), f.get("rss_mib")) {
                            let _ = write!(c, ", RSS {base:.1} → {rss:.1} MiB");
                        }
                        c
                    }
                };
                let _ = write!(row, " {cell} |");
            }
            let _ = writeln!(w, "{row}");
        }
        let _ = writeln!(w, "\n## Scenarios\n");
        let _ = writeln!(
            w,
            "Every server answers the same two events: `echo(payload, ack)` acknowledges with the \
             payload, `broadcast(payload)` emits `broadcast(payload)` to every socket of `/`. \
             The payload is a small object (`{{\"i\":1,\"s\":\"the quick brown fox...\"}}`). The \
             clients are raw Engine.IO v4 / Socket.IO v5 sessions (no client library), all \
             joined to `/`, answering pings.\n"
        );
        let _ = writeln!(
            w,
            "- **Echo with ack**: closed loops; each client sends `42<id>[\"echo\",payload]`, waits \
             for `43<id>[payload]`, sends the next. Round trips/s over the window; latency of each \
             round trip completed in the window: p50, p99, p99.9 (one in a thousand took longer) \
             and max (the single slowest, exact, where the quantiles are within 1.6 %); server CPU \
             time per round trip. Then how evenly the clients were served: the round trips the \
             slowest client completed in the window, as a count and per second, the same for the \
             fastest client, and fairness (the slowest's count over the fastest's; 1.00 = every \
             client served alike). Round trips still in flight when the window closes count nowhere: \
             a client stuck for the whole window has 0 round trips and adds no latency, so the \
             slowest client's rows are where a starved client shows. The counts are over the window whose length the timing above gives.\n\
             - **Broadcast**: one of the clients emits `broadcast` carrying its send time, with at \
             most two broadcasts in flight (the next goes when one has reached every client). \
             Deliveries/s counts frames received by all clients; latency runs from the emit to each \
             delivery (p50, p99, p99.9 and max, as in the echo).\n\
             - **Idle connections**: the server's RSS (/proc/PID/status) before and after opening \
             the connections, 64 at a time, divided by their number, read 1 s after the last one \
             joined; and the server CPU time each took to set up.\n\
             - **Connection rate**: loops that each connect, join `/`, do one acked echo, close, \
             and start again. Direct WebSocket: `?transport=websocket` straight away. Polling then \
             upgrade: the browser client's path (GET handshake, POST `40`, GET the CONNECT answer, \
             then a WebSocket with the sid, `2probe`/`3probe`, the pending GET must end, `5`). \
             Latency: of each loop, connect to close (p50, p99, p99.9, max); the loops are \
             connection slots, a new client each time, so there are no per-client rows. \
             RSS growth: the server's RSS after the window minus before it, per connection \
             made, i.e. what a server keeps of connections that are gone.\n\
             - **Polling echo**: the echo loop over HTTP long-polling, each client with a GET \
             connection always pending and a POST connection, as a browser has; the same figures as \
             the echo.\n"
        );
        o
    }
}
