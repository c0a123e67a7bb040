//! The scenarios. Each runs against one freshly started server, on the
//! generator's single-threaded runtime (every client a local task), and
//! returns its figures; CPU and memory come from /proc.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio::task::{spawn_local, JoinHandle};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, err, next_text, num_after, packets, Polling, Result, Ws};
use crate::stats::{self, Hist};

/// What is being measured, and how hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Closed loop: every client sends an acked echo, waits for the ack,
    /// sends the next.
    Echo { clients: usize },
    /// One client emits `broadcast`, the server emits it to all `clients`
    /// (the sender included); two broadcasts in flight at most.
    Broadcast { clients: usize },
    /// `conns` connections joined to `/` and left idle.
    Idle { conns: usize },
    /// New WebSocket connections, `concurrency` at a time: handshake, join
    /// `/`, one acked echo, close.
    ConnectWs { concurrency: usize },
    /// The same through the browser client's path: polling handshake and
    /// join, then the WebSocket probe and upgrade, one acked echo, close.
    ConnectUpgrade { concurrency: usize },
    /// The echo loop over HTTP long-polling (a GET and a POST connection
    /// per client).
    PollingEcho { clients: usize },
}

impl Scenario {
    pub fn id(&self) -> String {
        match self {
            Scenario::Echo { clients } => format!("echo-{clients}"),
            Scenario::Broadcast { clients } => format!("broadcast-{clients}"),
            Scenario::Idle { conns } => format!("idle-{conns}"),
            Scenario::ConnectWs { .. } => "connect-ws".into(),
            Scenario::ConnectUpgrade { .. } => "connect-upgrade".into(),
            Scenario::PollingEcho { clients } => format!("polling-echo-{clients}"),
        }
    }

    pub fn title(&self) -> String {
        match self {
            Scenario::Echo { clients } => format!("Echo with ack, {clients} WebSocket clients"),
            Scenario::Broadcast { clients } => {
                format!("Broadcast to {clients} WebSocket clients")
            }
            Scenario::Idle { conns } => format!("{conns} idle WebSocket connections"),
            Scenario::ConnectWs { concurrency } => {
                format!("Connection rate, direct WebSocket ({concurrency} at a time)")
            }
            Scenario::ConnectUpgrade { concurrency } => {
                format!("Connection rate, polling then upgrade ({concurrency} at a time)")
            }
            Scenario::PollingEcho { clients } => {
                format!("Echo with ack, {clients} long-polling clients")
            }
        }
    }

    /// Whether the scenario needs HTTP long-polling (the ceiling has none).
    pub fn needs_polling(&self) -> bool {
        matches!(
            self,
            Scenario::ConnectUpgrade { .. } | Scenario::PollingEcho { .. }
        )
    }

    /// The figure that picks the best of several rounds, and whether higher
    /// is better.
    pub fn primary(&self) -> (&'static str, bool) {
        match self {
            Scenario::Idle { .. } => ("rss_per_conn", false),
            _ => ("rate", true),
        }
    }
}

/// The server under test, as the scenarios see it.
pub struct Target {
    pub addr: SocketAddr,
    pub pid: u32,
    pub core: usize,
    pub tck: f64,
}

/// Timing of one run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: Duration,
    pub window: Duration,
}

pub type Figures = BTreeMap<&'static str, f64>;

/// CPU readings around a measurement window.
struct Window {
    start: Instant,
    server: u64,
    generator: u64,
    core: (u64, u64),
}

impl Window {
    fn begin(t: &Target) -> Window {
        Window {
            start: Instant::now(),
            server: stats::cpu_ticks(t.pid).unwrap_or(0),
            generator: stats::own_cpu_ticks(std::process::id()).unwrap_or(0),
            core: stats::core_ticks(t.core).unwrap_or((0, 0)),
        }
    }

    /// Ends the window: its length in seconds, and the figures common to
    /// every scenario (server CPU seconds, utilisations, the load other
    /// processes put on the server's core).
    fn end(self, t: &Target, f: &mut Figures) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        let server = stats::cpu_ticks(t.pid).unwrap_or(0) - self.server;
        let generator = stats::own_cpu_ticks(std::process::id()).unwrap_or(0) - self.generator;
        let (busy, total) = stats::core_ticks(t.core).unwrap_or((0, 0));
        let core_busy = busy.saturating_sub(self.core.0) as f64;
        let core_total = total.saturating_sub(self.core.1).max(1) as f64;
        f.insert("secs", secs);
        f.insert("server_cpu_s", server as f64 / t.tck);
        f.insert("server_util", server as f64 / t.tck / secs);
        f.insert("gen_util", generator as f64 / t.tck / secs);
        f.insert(
            "other_on_core",
            ((core_busy - server as f64) / core_total).max(0.0),
        );
        secs
    }
}

fn latency(f: &mut Figures, h: &Hist) {
    if let (Some(p50), Some(p99)) = (h.quantile(0.5), h.quantile(0.99)) {
        f.insert("p50", p50 / 1000.0);
        f.insert("p99", p99 / 1000.0);
    }
}

/// The tail of a closed loop's latency: one round trip in a thousand, and
/// the worst one. A server that parks a few clients behind a busy queue
/// shows it here long before it moves p99.
fn tail_latency(f: &mut Figures, h: &Hist) {
    if let (Some(p999), Some(max)) = (h.quantile(0.999), h.max()) {
        f.insert("p999", p999 / 1000.0);
        f.insert("max", max as f64 / 1000.0);
    }
}

/// The figures of [`client_spread`], which only mean something when every
/// loop is one long-lived client.
const CLIENT_SPREAD: [&str; 5] = [
    "slowest_client_ops",
    "slowest_client_rate",
    "fastest_client_ops",
    "fastest_client_rate",
    "fairness",
];

/// How evenly a server served its clients: the round trips of the slowest
/// and of the fastest client over a window of `secs`, and their ratio. The
/// total rate alone hides a server that starves some clients to feed others.
fn client_spread(f: &mut Figures, per_client: &[u64], secs: f64) {
    let (Some(&min), Some(&max)) = (per_client.iter().min(), per_client.iter().max()) else {
        return;
    };
    f.insert("slowest_client_ops", min as f64);
    f.insert("fastest_client_ops", max as f64);
    if secs > 0.0 {
        f.insert("slowest_client_rate", min as f64 / secs);
        f.insert("fastest_client_rate", max as f64 / secs);
    }
    f.insert("fairness", min as f64 / max.max(1) as f64);
}

fn per_op(f: &mut Figures, ops: u64, secs: f64) {
    f.insert("ops", ops as f64);
    f.insert("rate", ops as f64 / secs);
    if ops > 0 {
        f.insert("cpu_per_op", f["server_cpu_s"] * 1e6 / ops as f64);
    }
}

/// Runs `n` connection attempts, 64 at a time.
async fn connect_many<T, F, Fut>(n: usize, connect: F) -> Result<Vec<T>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let results: Vec<Result<T>> = futures_util::stream::iter((0..n).map(|_| connect()))
        .buffer_unordered(64)
        .collect()
        .await;
    let mut ok = Vec::with_capacity(n);
    let mut first_error = None;
    for r in results {
        match r {
            Ok(c) => ok.push(c),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(err(format!(
            "{} of {n} connections failed, first: {e}",
            n - ok.len()
        ))),
        None => Ok(ok),
    }
}

fn abort_all(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        h.abort();
    }
}

pub async fn run(s: Scenario, t: &Target, timing: Timing) -> Result<Figures> {
    match s {
        Scenario::Echo { clients } => echo(t, timing, clients).await,
        Scenario::Broadcast { clients } => broadcast(t, timing, clients).await,
        Scenario::Idle { conns } => idle(t, conns).await,
        Scenario::ConnectWs { concurrency } => connect_rate(t, timing, concurrency, false).await,
        Scenario::ConnectUpgrade { concurrency } => {
            connect_rate(t, timing, concurrency, true).await
        }
        Scenario::PollingEcho { clients } => polling_echo(t, timing, clients).await,
    }
}

/// Round trips of the echo scenarios.
struct Loop {
    measuring: Cell<bool>,
    hist: RefCell<Hist>,
    per_client: RefCell<Vec<u64>>,
    errors: Cell<u64>,
    first_error: RefCell<Option<String>>,
}

impl Loop {
    fn new(clients: usize) -> Rc<Loop> {
        Rc::new(Loop {
            measuring: Cell::new(false),
            hist: RefCell::default(),
            per_client: RefCell::new(vec![0; clients]),
            errors: Cell::new(0),
            first_error: RefCell::default(),
        })
    }

    fn done(&self, client: usize, started: Instant) {
        if self.measuring.get() {
            self.hist.borrow_mut().record(started.elapsed());
            self.per_client.borrow_mut()[client] += 1;
        }
    }

    fn failed(&self, e: &client::Error) {
        self.errors.set(self.errors.get() + 1);
        self.first_error
            .borrow_mut()
            .get_or_insert_with(|| e.to_string());
    }

    /// Measures `timing.window` after `timing.warmup`.
    async fn measure(&self, t: &Target, timing: Timing) -> Figures {
        tokio::time::sleep(timing.warmup).await;
        let w = Window::begin(t);
        self.hist.replace(Hist::default());
        self.measuring.set(true);
        tokio::time::sleep(timing.window).await;
        self.measuring.set(false);
        let mut f = Figures::new();
        let secs = w.end(t, &mut f);
        let per_client = self.per_client.borrow();
        let ops: u64 = per_client.iter().sum();
        per_op(&mut f, ops, secs);
        latency(&mut f, &self.hist.borrow());
        tail_latency(&mut f, &self.hist.borrow());
        client_spread(&mut f, &per_client, secs);
        f.insert("errors", self.errors.get() as f64);
        f
    }

    fn check(&self) -> Result<()> {
        match &*self.first_error.borrow() {
            Some(e) if self.per_client.borrow().iter().sum::<u64>() == 0 => {
                Err(err(format!("every client failed, first: {e}")))
            }
            _ => Ok(()),
        }
    }
}

async fn echo(t: &Target, timing: Timing, clients: usize) -> Result<Figures> {
    let addr = t.addr;
    let conns = connect_many(clients, || client::sio_ws(addr)).await?;
    let shared = Loop::new(clients);
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            let sh = shared.clone();
            spawn_local(async move {
                for id in 1.. {
                    let started = Instant::now();
                    if let Err(e) = client::ws_echo(&mut ws, id).await {
                        sh.failed(&e);
                        return;
                    }
                    sh.done(i, started);
                }
            })
        })
        .collect();
    let f = shared.measure(t, timing).await;
    abort_all(handles);
    shared.check()?;
    Ok(f)
}

async fn polling_echo(t: &Target, timing: Timing, clients: usize) -> Result<Figures> {
    let addr = t.addr;
    let conns = connect_many(clients, || Polling::connect(addr)).await?;
    let shared = Loop::new(clients);
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            let sh = shared.clone();
            spawn_local(async move {
                let mut pending = p.get_now();
                for id in 1.. {
                    let started = Instant::now();
                    let round = async {
                        p.post(client::echo_frame(id)).await?;
                        loop {
                            let body = (&mut pending).await?;
                            pending = p.get_now();
                            let mut acked = false;
                            let mut ping = false;
                            for pk in packets(&body) {
                                match pk {
                                    "2" => ping = true,
                                    "1" => return Err(err("session closed by the server")),
                                    _ => {
                                        acked |= pk.strip_prefix("43").and_then(client::ack_id)
                                            == Some(id)
                                    }
                                }
                            }
                            if ping {
                                p.post("3".into()).await?;
                            }
                            if acked {
                                return Ok(());
                            }
                        }
                    };
                    if let Err(e) = round.await {
                        sh.failed(&e);
                        return;
                    }
                    sh.done(i, started);
                }
            })
        })
        .collect();
    let f = shared.measure(t, timing).await;
    abort_all(handles);
    shared.check()?;
    Ok(f)
}

/// At most this many broadcasts are in flight: enough that the server
/// always has the next one queued, few enough that latency stays the
/// server's.
const BROADCAST_WINDOW: u64 = 2;

struct Fanout {
    clients: u64,
    base: Instant,
    measuring: Cell<bool>,
    hist: RefCell<Hist>,
    deliveries: Cell<u64>,
    /// Deliveries of broadcast `k`, at `k % 64`.
    counts: RefCell<[u64; 64]>,
    sent: Cell<u64>,
    completed: Cell<u64>,
    stalls: Cell<u64>,
    errors: Cell<u64>,
    progress: Notify,
}

impl Fanout {
    fn deliver(&self, text: &str) {
        let (Some(k), Some(sent_at)) = (num_after(text, "\"k\":"), num_after(text, "\"t\":"))
        else {
            return;
        };
        if self.measuring.get() {
            let now = self.base.elapsed().as_micros() as u64;
            self.hist
                .borrow_mut()
                .record_us(now.saturating_sub(sent_at));
            self.deliveries.set(self.deliveries.get() + 1);
        }
        let mut counts = self.counts.borrow_mut();
        let slot = &mut counts[(k % 64) as usize];
        *slot += 1;
        if *slot == self.clients {
            *slot = 0;
            self.completed.set(self.completed.get() + 1);
            self.progress.notify_one();
        }
    }

    fn frame(&self) -> Message {
        let k = self.sent.get();
        self.sent.set(k + 1);
        let t = self.base.elapsed().as_micros();
        Message::text(format!(
            "42[\"broadcast\",{{\"k\":{k},\"t\":{t},\"s\":\"{}\"}}]",
            client::PAYLOAD
        ))
    }

    /// Forgets the broadcasts in flight when one did not reach everyone
    /// (a server dropped it for a full buffer, say).
    fn unstall(&self) {
        self.stalls.set(self.stalls.get() + 1);
        *self.counts.borrow_mut() = [0; 64];
        self.completed.set(self.sent.get());
    }
}

async fn receive(ws: &mut Ws, fan: &Fanout) -> Result<()> {
    let t = next_text(ws).await?;
    if t.starts_with("42[\"broadcast\"") {
        fan.deliver(&t);
    }
    Ok(())
}

async fn broadcast(t: &Target, timing: Timing, clients: usize) -> Result<Figures> {
    let addr = t.addr;
    let mut conns = connect_many(clients, || client::sio_ws(addr)).await?;
    let fan = Rc::new(Fanout {
        clients: clients as u64,
        base: Instant::now(),
        measuring: Cell::new(false),
        hist: RefCell::default(),
        deliveries: Cell::new(0),
        counts: RefCell::new([0; 64]),
        sent: Cell::new(0),
        completed: Cell::new(0),
        stalls: Cell::new(0),
        errors: Cell::new(0),
        progress: Notify::new(),
    });
    let mut trigger = conns.pop().ok_or_else(|| err("no clients"))?;
    let mut handles: Vec<_> = conns
        .into_iter()
        .map(|mut ws| {
            let fan = fan.clone();
            spawn_local(async move {
                while receive(&mut ws, &fan).await.is_ok() {}
                fan.errors.set(fan.errors.get() + 1);
            })
        })
        .collect();
    let trig = fan.clone();
    handles.push(spawn_local(async move {
        let fan = trig;
        loop {
            while fan.sent.get() - fan.completed.get() < BROADCAST_WINDOW {
                if trigger.send(fan.frame()).await.is_err() {
                    fan.errors.set(fan.errors.get() + 1);
                    return;
                }
            }
            tokio::select! {
                r = receive(&mut trigger, &fan) => if r.is_err() {
                    fan.errors.set(fan.errors.get() + 1);
                    return;
                },
                _ = fan.progress.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => fan.unstall(),
            }
        }
    }));
    tokio::time::sleep(timing.warmup).await;
    let w = Window::begin(t);
    fan.hist.replace(Hist::default());
    fan.measuring.set(true);
    let completed_before = fan.completed.get();
    tokio::time::sleep(timing.window).await;
    fan.measuring.set(false);
    let mut f = Figures::new();
    let secs = w.end(t, &mut f);
    let completed = fan.completed.get() - completed_before;
    abort_all(handles);
    per_op(&mut f, fan.deliveries.get(), secs);
    latency(&mut f, &fan.hist.borrow());
    tail_latency(&mut f, &fan.hist.borrow());
    f.insert("broadcasts_per_s", completed as f64 / secs);
    f.insert("errors", (fan.errors.get() + fan.stalls.get()) as f64);
    if fan.deliveries.get() == 0 {
        return Err(err("no broadcast delivered"));
    }
    Ok(f)
}

async fn idle(t: &Target, conns: usize) -> Result<Figures> {
    let addr = t.addr;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = stats::rss_kib(t.pid).ok_or_else(|| err("no RSS"))?;
    let w = Window::begin(t);
    let held = connect_many(conns, || client::sio_ws(addr)).await?;
    let mut f = Figures::new();
    let secs = w.end(t, &mut f);
    per_op(&mut f, held.len() as u64, secs);
    // Let the server settle (allocator, garbage collector) before reading.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = stats::rss_kib(t.pid).ok_or_else(|| err("no RSS"))?;
    f.insert("rss_base_mib", before as f64 / 1024.0);
    f.insert("rss_mib", after as f64 / 1024.0);
    f.insert(
        "rss_per_conn",
        after.saturating_sub(before) as f64 / held.len() as f64,
    );
    f.insert("errors", 0.0);
    drop(held);
    Ok(f)
}

/// One connection of the browser client's path: polling handshake, join,
/// then probe and upgrade while a GET is pending.
async fn upgrade_once(addr: SocketAddr) -> Result<Ws> {
    let mut p = Polling::connect(addr).await?;
    let pending = p.get_now();
    let mut ws = client::ws_open(addr, &p.sid_query()).await?;
    ws.send(Message::text("2probe")).await?;
    loop {
        if next_text(&mut ws).await? == "3probe" {
            break;
        }
    }
    // The client pauses polling: the pending GET must end (with a noop)
    // before it sends the upgrade.
    pending.await?;
    ws.send(Message::text("5")).await?;
    drop(p);
    Ok(ws)
}

async fn connect_rate(
    t: &Target,
    timing: Timing,
    concurrency: usize,
    upgrade: bool,
) -> Result<Figures> {
    let addr = t.addr;
    let shared = Loop::new(concurrency);
    let handles: Vec<_> = (0..concurrency)
        .map(|i| {
            let sh = shared.clone();
            spawn_local(async move {
                loop {
                    let started = Instant::now();
                    let once = async {
                        let mut ws = if upgrade {
                            upgrade_once(addr).await?
                        } else {
                            client::sio_ws(addr).await?
                        };
                        client::ws_echo(&mut ws, 1).await?;
                        let _ = ws.close(None).await;
                        Ok::<_, client::Error>(())
                    };
                    match once.await {
                        Ok(()) => sh.done(i, started),
                        Err(e) => {
                            sh.failed(&e);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            })
        })
        .collect();
    let rss_before = stats::rss_kib(t.pid).unwrap_or(0);
    let mut f = shared.measure(t, timing).await;
    let rss_after = stats::rss_kib(t.pid).unwrap_or(0);
    abort_all(handles);
    shared.check()?;
    // Its loops are connection slots, each a new client every time round.
    for k in CLIENT_SPREAD {
        f.remove(k);
    }
    // Memory a server keeps after connections have come and gone: RSS growth
    // over the measured window (which follows the warm-up) per connection made.
    if let Some(&ops) = f.get("ops").filter(|o| **o > 0.0) {
        f.insert(
            "rss_growth_per_conn",
            (rss_after as f64 - rss_before as f64) * 1024.0 / ops,
        );
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::{client_spread, tail_latency, Figures, CLIENT_SPREAD};
    use crate::stats::Hist;

    #[test]
    fn spread_names_the_slowest_and_the_fastest_client() {
        let mut f = Figures::new();
        client_spread(&mut f, &[40, 10, 25, 50], 2.0);
        assert_eq!(f["slowest_client_ops"], 10.0);
        assert_eq!(f["slowest_client_rate"], 5.0);
        assert_eq!(f["fastest_client_ops"], 50.0);
        assert_eq!(f["fastest_client_rate"], 25.0);
        assert_eq!(f["fairness"], 0.2);
        assert_eq!(f.len(), CLIENT_SPREAD.len());
    }

    #[test]
    fn spread_of_starved_or_absent_clients() {
        let mut f = Figures::new();
        client_spread(&mut f, &[0, 0], 1.0);
        assert_eq!(f["slowest_client_ops"], 0.0);
        assert_eq!(f["fairness"], 0.0);
        let mut f = Figures::new();
        client_spread(&mut f, &[], 1.0);
        assert!(f.is_empty());
        // A window of no length has counts but no rates.
        let mut f = Figures::new();
        client_spread(&mut f, &[3, 4], 0.0);
        assert_eq!(f["fastest_client_ops"], 4.0);
        assert!(!f.contains_key("fastest_client_rate"));
    }

    #[test]
    fn tail_latency_in_milliseconds() {
        let mut f = Figures::new();
        tail_latency(&mut f, &Hist::default());
        assert!(f.is_empty());
        let mut h = Hist::default();
        for _ in 0..999 {
            h.record_us(100);
        }
        h.record_us(250_123);
        tail_latency(&mut f, &h);
        assert_eq!(f["p999"], 0.1);
        assert_eq!(f["max"], 250.123);
    }
}
