//! Wake-ups of connection tasks held back while a thread works through a
//! batch, for threads outside the runtime that send on many sessions.
//!
//! A packet queued from a thread that is not one of the runtime's wakes
//! the session's task at once. When that thread is a language's event loop
//! (the JavaScript thread of the Node binding) answering a burst of events,
//! each such wake-up unparks a runtime worker, which, on a busy machine or
//! a process pinned to one core, preempts the event loop to write one
//! packet and parks again: a context switch or two per packet where one per
//! burst would do. [`hold`] makes the calling thread keep the wake-ups of
//! what it queues until [`release`], which the embedding calls when its
//! batch is done (Node: from `setImmediate`, after the loop's I/O phase).
//!
//! The packets themselves are queued at once, in order; only the task's
//! wake-up waits. At most [`HELD_AT_MOST`] wake-ups are held: past that
//! they go out as they come, so a long batch never starves the writers.

use std::cell::RefCell;
use std::task::Waker;

/// The most wake-ups one thread holds before it wakes as it goes.
pub const HELD_AT_MOST: usize = 256;

thread_local! {
    static HELD: RefCell<Option<Vec<Waker>>> = const { RefCell::new(None) };
}

/// Holds the calling thread's wake-ups of session tasks until [`release`]
/// is called on this thread. Returns `false` if it already held them.
///
/// The caller must make sure [`release`] follows: until then the sessions
/// the thread sent on are not written to.
pub fn hold() -> bool {
    HELD.try_with(|h| {
        let mut h = h.borrow_mut();
        if h.is_some() {
            false
        } else {
            *h = Some(Vec::new());
            true
        }
    })
    .unwrap_or(false)
}

/// Whether the calling thread holds its wake-ups.
pub fn held() -> bool {
    HELD.try_with(|h| h.borrow().is_some()).unwrap_or(false)
}

/// Wakes what the calling thread held and stops holding.
pub fn release() {
    let held = HELD.try_with(|h| h.borrow_mut().take()).ok().flatten();
    for w in held.into_iter().flatten() {
        w.wake();
    }
}

/// Wakes `w` now, or later if the calling thread holds its wake-ups.
pub(crate) fn wake(w: Waker) {
    let mut w = Some(w);
    let _ = HELD.try_with(|h| {
        if let Some(held) = h.borrow_mut().as_mut() {
            if held.len() < HELD_AT_MOST {
                held.extend(w.take());
            }
        }
    });
    if let Some(w) = w {
        w.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn held_until_released_and_bounded() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        wake(w.clone());
        assert_eq!(c.0.load(Ordering::SeqCst), 1, "not holding: at once");
        assert!(hold());
        assert!(!hold(), "already holding");
        assert!(held());
        for _ in 0..3 {
            wake(w.clone());
        }
        assert_eq!(c.0.load(Ordering::SeqCst), 1, "held");
        // Another thread never holds for this one.
        let w2 = w.clone();
        std::thread::spawn(move || wake(w2)).join().unwrap();
        assert_eq!(c.0.load(Ordering::SeqCst), 2);
        release();
        assert!(!held());
        assert_eq!(c.0.load(Ordering::SeqCst), 5);
        release();
        assert_eq!(
            c.0.load(Ordering::SeqCst),
            5,
            "a second release wakes nothing"
        );

        assert!(hold());
        for _ in 0..HELD_AT_MOST + 10 {
            wake(w.clone());
        }
        assert_eq!(c.0.load(Ordering::SeqCst), 15, "past the bound: at once");
        release();
        assert_eq!(c.0.load(Ordering::SeqCst), 5 + HELD_AT_MOST + 10);
    }
}
