//! The gate between a session's incoming packets and the layer above: a
//! server shutting down closes every gate first and waits for the handlers
//! already inside to return, and only then closes the sessions. Whatever a
//! handler sent is then queued before any session stops taking packets, so
//! a message acknowledged to one client was queued for every other client
//! it was sent to.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

const INSIDE: u8 = 1;
const SHUT: u8 = 2;

thread_local! {
    /// The gate whose handler this thread is running, so that a handler
    /// that shuts the server down does not wait for itself.
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct InputGate(AtomicU8);

impl InputGate {
    /// Runs `f` unless the gate is shut (then `None`).
    pub(crate) fn pass<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        if self
            .0
            .compare_exchange(0, INSIDE, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        let _leave = Leave {
            gate: self,
            outer: CURRENT.replace(self.addr()),
        };
        Some(f())
    }

    /// Shuts the gate and waits, at most `limit`, for a handler still
    /// inside to return. Handlers are synchronous and brief; the limit only
    /// keeps a handler that blocks on the caller from hanging it. Returns
    /// whether the gate is empty.
    pub(crate) fn shut(&self, limit: Duration) -> bool {
        if self.0.fetch_or(SHUT, Ordering::AcqRel) & INSIDE == 0 || CURRENT.get() == self.addr() {
            return true;
        }
        let deadline = Instant::now() + limit;
        let mut spins = 0u32;
        while self.0.load(Ordering::Acquire) & INSIDE != 0 {
            if Instant::now() >= deadline {
                return false;
            }
            spins += 1;
            if spins < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        true
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }
}

/// Leaves the gate when the handler returns or unwinds.
struct Leave<'a> {
    gate: &'a InputGate,
    outer: usize,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        CURRENT.set(self.outer);
        self.gate.0.fetch_and(!INSIDE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn a_shut_gate_refuses() {
        let g = InputGate::default();
        assert_eq!(g.pass(|| 1), Some(1));
        assert!(g.shut(Duration::from_secs(1)));
        assert_eq!(g.pass(|| 2), None);
    }

    #[test]
    fn shutting_waits_for_the_handler_inside() {
        let g = Arc::new(InputGate::default());
        let done = Arc::new(AtomicBool::new(false));
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let t = {
            let (g, done) = (g.clone(), done.clone());
            std::thread::spawn(move || {
                g.pass(|| {
                    let _ = entered_tx.send(());
                    std::thread::sleep(Duration::from_millis(100));
                    done.store(true, Ordering::Release);
                })
            })
        };
        entered_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("handler entered");
        assert!(g.shut(Duration::from_secs(5)));
        assert!(done.load(Ordering::Acquire), "shut returned mid-handler");
        assert!(t.join().is_ok());
    }

    #[test]
    fn a_handler_may_shut_its_own_gate() {
        let g = InputGate::default();
        assert_eq!(g.pass(|| g.shut(Duration::from_secs(5))), Some(true));
        assert_eq!(g.pass(|| ()), None);
    }

    #[test]
    fn shutting_gives_up_on_a_handler_that_never_returns() {
        let g = Arc::new(InputGate::default());
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let t = {
            let g = g.clone();
            std::thread::spawn(move || {
                g.pass(|| {
                    let _ = entered_tx.send(());
                    let _ = release_rx.recv_timeout(Duration::from_secs(5));
                })
            })
        };
        entered_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("handler entered");
        assert!(!g.shut(Duration::from_millis(20)));
        let _ = release_tx.send(());
        assert!(t.join().is_ok());
        assert_eq!(g.pass(|| ()), None);
    }

    #[test]
    fn a_panicking_handler_leaves_the_gate() {
        let g = InputGate::default();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            g.pass(|| panic!("handler failed"))
        }));
        assert!(r.is_err());
        assert!(g.shut(Duration::from_millis(1)));
    }
}
