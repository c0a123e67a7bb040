//! What `server_stats` reports: the Engine.IO counters the reference keeps
//! (`clientsCount`, `pollingClientsCount`), the events aggregated per second
//! (`aggregatedEvents`), and the process's host name, pid and uptime.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use parking_lot::Mutex;

use crate::proto::Value;

/// An aggregation key: the second (in ms since the epoch), the type and
/// the subtype.
type EventKey = (u64, &'static str, Option<String>);

/// Counts per second, per type and subtype, until the next `server_stats`
/// takes them (the reference's `EventBuffer`).
#[derive(Debug, Default)]
pub(crate) struct EventBuffer {
    buffer: Mutex<IndexMap<EventKey, u64>>,
}

impl EventBuffer {
    /// Adds `count` to this second's `type` / `sub_type` entry.
    pub(crate) fn push(&self, kind: &'static str, sub_type: Option<&str>, count: u64) {
        let second = now_millis() / 1000 * 1000;
        *self
            .buffer
            .lock()
            .entry((second, kind, sub_type.map(str::to_owned)))
            .or_default() += count;
    }

    /// The entries so far, as `[{timestamp, type, subType?, count}]`, and
    /// an empty buffer.
    pub(crate) fn take(&self) -> Value {
        let entries = std::mem::take(&mut *self.buffer.lock());
        Value::Array(
            entries
                .into_iter()
                .map(|((timestamp, kind, sub_type), count)| {
                    let mut o = IndexMap::new();
                    o.insert("timestamp".to_owned(), Value::from(timestamp));
                    o.insert("type".to_owned(), Value::from(kind));
                    // `undefined` in the reference: left out of the JSON.
                    if let Some(s) = sub_type {
                        o.insert("subType".to_owned(), Value::from(s));
                    }
                    o.insert("count".to_owned(), Value::from(count));
                    Value::Object(o)
                })
                .collect(),
        )
    }
}

/// The Engine.IO sessions open, and those of them still on long-polling.
#[derive(Debug, Default)]
pub(crate) struct ClientCounts {
    pub(crate) clients: AtomicI64,
    pub(crate) polling: AtomicI64,
}

impl ClientCounts {
    pub(crate) fn clients(&self) -> u64 {
        self.clients.load(Ordering::Acquire).max(0) as u64
    }

    pub(crate) fn polling(&self) -> u64 {
        self.polling.load(Ordering::Acquire).max(0) as u64
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The machine's host name, as Node's `os.hostname()`.
pub(crate) fn hostname() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        system_hostname()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    })
    .clone()
}

#[cfg(target_os = "linux")]
fn system_hostname() -> Option<String> {
    // What gethostname(2) answers (the UTS namespace's name).
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_owned())
}

#[cfg(not(target_os = "linux"))]
fn system_hostname() -> Option<String> {
    let out = std::process::Command::new("hostname").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Seconds since the process started (`process.uptime()`): from the
/// kernel's record of the process's start on Linux; elsewhere, since the
/// first instrumented server asked.
pub(crate) fn uptime() -> f64 {
    static FIRST_ASKED: OnceLock<Instant> = OnceLock::new();
    let first = *FIRST_ASKED.get_or_init(Instant::now);
    process_uptime().unwrap_or_else(|| first.elapsed().as_secs_f64())
}

#[cfg(target_os = "linux")]
fn process_uptime() -> Option<f64> {
    // Field 22 of /proc/self/stat is the start time in clock ticks after
    // boot; the comm field (2) may hold spaces, so count from its `)`.
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let start_ticks: f64 = after_comm.split_whitespace().nth(19)?.parse().ok()?;
    let boot_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // USER_HZ is 100 on every Linux target Rust supports.
    let up = boot_uptime - start_ticks / 100.0;
    (up >= 0.0).then_some(up)
}

#[cfg(not(target_os = "linux"))]
fn process_uptime() -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_aggregate_per_second_type_and_subtype() {
        let b = EventBuffer::default();
        b.push("packetsIn", None, 1);
        b.push("packetsIn", None, 1);
        b.push("bytesIn", None, 10);
        b.push("rawDisconnection", Some("transport close"), 1);
        let Value::Array(v) = b.take() else {
            panic!("array")
        };
        // Usually one second; two if the clock ticked over in between.
        let count = |kind: &str| -> u64 {
            v.iter()
                .filter(|e| e.get("type") == Some(&Value::from(kind)))
                .map(|e| e.get("count").and_then(Value::as_u64).unwrap_or(0))
                .sum()
        };
        assert_eq!(count("packetsIn"), 2);
        assert_eq!(count("bytesIn"), 10);
        let d = v
            .iter()
            .find(|e| e.get("type") == Some(&Value::from("rawDisconnection")))
            .expect("rawDisconnection");
        assert_eq!(d.get("subType"), Some(&Value::from("transport close")));
        let p = v
            .iter()
            .find(|e| e.get("type") == Some(&Value::from("packetsIn")))
            .expect("packetsIn");
        assert!(p.get("subType").is_none());
        assert_eq!(
            p.get("timestamp").and_then(Value::as_u64).unwrap() % 1000,
            0
        );
        assert_eq!(b.take(), Value::Array(Vec::new()));
    }

    #[test]
    fn host_and_uptime_are_plausible() {
        assert!(!hostname().is_empty());
        let up = uptime();
        assert!((0.0..1e9).contains(&up), "{up}");
    }
}
