//! Latency histogram and the /proc readings: CPU time, RSS, core load.

use std::time::Duration;

/// A log-linear histogram of microseconds: exact below 128 µs, then 64
/// buckets per power of two (under 1.6 % error), any value up to 2^63.
/// The largest value is also kept exactly: it is the one stall a reader
/// looks for, and a bucket would blur it (or clamp it, past the last one).
#[derive(Clone)]
pub struct Hist {
    counts: Vec<u64>,
    n: u64,
    max: u64,
}

const LINEAR: u64 = 128;
const SUB: u64 = 64;

impl Default for Hist {
    fn default() -> Self {
        Hist {
            counts: vec![0; (LINEAR + 58 * SUB) as usize],
            n: 0,
            max: 0,
        }
    }
}

impl Hist {
    fn index(v: u64) -> usize {
        if v < LINEAR {
            return v as usize;
        }
        let exp = 63 - u64::from(v.leading_zeros()); // >= 7
        let shift = exp - 6;
        (LINEAR + (shift - 1) * SUB + ((v >> shift) - SUB)) as usize
    }

    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < LINEAR {
            return i;
        }
        let j = i - LINEAR;
        let shift = j / SUB + 1;
        let mantissa = j % SUB + SUB;
        (mantissa << shift) + (1 << shift) / 2
    }

    /// Records one duration.
    pub fn record(&mut self, d: Duration) {
        self.record_us(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one value in microseconds.
    pub fn record_us(&mut self, us: u64) {
        let i = Self::index(us).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.n += 1;
        self.max = self.max.max(us);
    }

    /// The `q` quantile (0..=1) in microseconds.
    ///
    /// Never above [`Hist::max`]: a bucket's midpoint can lie past the
    /// largest value it holds, and a p99.9 printed above the max would read
    /// as an error.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::value(i).min(self.max) as f64);
            }
        }
        None
    }

    /// The largest value recorded, in microseconds, exact.
    pub fn max(&self) -> Option<u64> {
        (self.n > 0).then_some(self.max)
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The fields of /proc/PID/stat after the command name (which may hold
/// spaces): state is the first, ppid the second, utime the 12th.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = read(&format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// `pid` and its descendants: a server may be a process tree (gunicorn's
/// master and its workers), whose CPU and memory all count.
fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                parents.push((p, ppid));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

/// utime + stime of a process (all its threads), in clock ticks.
pub fn own_cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// utime + stime of a process and its descendants, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let own = own_cpu_ticks(pid)?;
    Some(
        own + tree(pid)
            .into_iter()
            .skip(1)
            .filter_map(own_cpu_ticks)
            .sum::<u64>(),
    )
}

fn own_rss_kib(pid: u32) -> Option<u64> {
    let status = read(&format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident set size of a process and its descendants, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let own = own_rss_kib(pid)?;
    Some(
        own + tree(pid)
            .into_iter()
            .skip(1)
            .filter_map(own_rss_kib)
            .sum::<u64>(),
    )
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
pub fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Busy and total ticks of one core, from /proc/stat.
pub fn core_ticks(core: usize) -> Option<(u64, u64)> {
    let stat = read("/proc/stat")?;
    let name = format!("cpu{core}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest counted in user)
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// The 1-minute load average.
pub fn loadavg() -> String {
    read("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Hist;

    #[test]
    fn buckets_round_trip_within_two_percent() {
        for v in [0u64, 1, 127, 128, 129, 1000, 4096, 65_537, 1 << 40] {
            let back = Hist::value(Hist::index(v));
            let err = (back as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err < 0.02, "{v} -> {back}");
        }
        let mut h = Hist::default();
        for v in 1..=100 {
            h.record_us(v);
        }
        assert_eq!(h.quantile(0.5), Some(50.0));
        assert_eq!(h.quantile(0.99), Some(99.0));
    }

    #[test]
    fn empty_has_no_quantile_nor_max() {
        let h = Hist::default();
        assert_eq!(h.quantile(0.999), None);
        assert_eq!(h.max(), None);
    }

    #[test]
    fn max_is_exact_where_buckets_are_not() {
        let mut h = Hist::default();
        for v in [10, 5_000, 123_457, 3] {
            h.record_us(v);
        }
        assert_eq!(h.max(), Some(123_457));
        // Past the last bucket the count is clamped, the max is not.
        h.record_us(u64::MAX);
        assert_eq!(h.max(), Some(u64::MAX));
    }

    #[test]
    fn p999_picks_the_one_in_a_thousand() {
        let mut h = Hist::default();
        for _ in 0..1998 {
            h.record_us(100);
        }
        h.record_us(50_000);
        h.record_us(90_000);
        // 2000 values: rank 1998 is still 100 µs, p99.95 reaches the tail.
        assert_eq!(h.quantile(0.999), Some(100.0));
        let tail = h.quantile(0.9995).unwrap_or_default();
        assert!((tail - 50_000.0).abs() / 50_000.0 < 0.02, "{tail}");
        assert_eq!(h.max(), Some(90_000));
    }

    #[test]
    fn quantile_never_exceeds_the_max() {
        let mut h = Hist::default();
        // 1000 sits low in its bucket, whose midpoint is above it.
        h.record_us(1000);
        assert_eq!(h.quantile(1.0), Some(1000.0));
        assert_eq!(h.quantile(0.999), Some(1000.0));
    }
}
