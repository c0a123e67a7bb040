//! What publishing does while Redis does not answer: once a command failed
//! for want of a connection, messages are dropped at once (counted, and
//! logged once per outage) instead of each waiting for its own failed
//! attempt, with one attempt let through every [`PROBE_INTERVAL`] to notice
//! that Redis is back. So the publish queues drain during an outage rather
//! than fill, and no backlog of stale broadcasts floods the cluster when it
//! ends; as with Node's adapters, what was published meanwhile is lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How often a message is let through to try Redis during an outage.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// One link's view of whether Redis answers.
#[derive(Debug, Default)]
pub(super) struct Outage {
    /// Since when Redis has not answered, and when to try it next; `None`
    /// while it answers.
    down: Mutex<Option<Down>>,
    /// Messages dropped because Redis did not answer or refused them.
    dropped: AtomicU64,
    /// Of those, the ones of the current outage (for its closing log).
    dropped_now: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Down {
    since: Instant,
    next_probe: Instant,
}

impl Outage {
    /// Whether a message may be tried now: always while Redis answers,
    /// one per [`PROBE_INTERVAL`] while it does not. A message refused here
    /// is counted as dropped.
    pub(super) fn may_try(&self) -> bool {
        let mut down = self.down.lock();
        let Some(d) = down.as_mut() else {
            return true;
        };
        let now = Instant::now();
        if now >= d.next_probe {
            d.next_probe = now + PROBE_INTERVAL;
            return true;
        }
        drop(down);
        self.drop_one();
        false
    }

    /// A command got through: ends the outage, if there was one.
    pub(super) fn answered(&self, label: &str) {
        let Some(d) = self.down.lock().take() else {
            return;
        };
        let dropped = self.dropped_now.swap(0, Ordering::Relaxed);
        tracing::warn!(
            after = ?d.since.elapsed(),
            dropped,
            "{label}: Redis answers again; publishing resumed"
        );
    }

    /// A command failed for want of a connection: starts an outage (logged
    /// once), and the message is dropped.
    pub(super) fn unreachable(&self, label: &str, error: &redis::RedisError) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        let mut down = self.down.lock();
        if down.is_some() {
            self.dropped_now.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // What was dropped before (refused commands) is not this outage's.
        self.dropped_now.store(1, Ordering::Relaxed);
        let now = Instant::now();
        *down = Some(Down {
            since: now,
            next_probe: now + PROBE_INTERVAL,
        });
        tracing::warn!(%error, "{label}: Redis unreachable; messages are dropped until it answers");
    }

    /// A message was dropped for another reason (Redis refused it).
    pub(super) fn drop_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.dropped_now.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether Redis answered the last command tried.
    pub(super) fn reachable(&self) -> bool {
        self.down.lock().is_none()
    }

    /// Messages dropped so far because Redis did not answer or refused
    /// them.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> redis::RedisError {
        redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    #[test]
    fn an_outage_lets_one_probe_through_per_interval() {
        let outage = Outage::default();
        assert!(outage.may_try());
        outage.unreachable("test", &refused());
        assert!(!outage.reachable());
        // Within the interval, everything is dropped without trying.
        for _ in 0..10 {
            assert!(!outage.may_try());
        }
        assert_eq!(outage.dropped(), 11);
        std::thread::sleep(PROBE_INTERVAL);
        assert!(outage.may_try());
        assert!(!outage.may_try());
        outage.answered("test");
        assert!(outage.reachable());
        assert!(outage.may_try());
        assert_eq!(outage.dropped(), 12);
    }
}
