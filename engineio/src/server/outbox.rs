//! The bounded queue of packets waiting for a session's transport.
//!
//! A `VecDeque` behind a mutex: unlike a channel it allocates nothing
//! until the first packet and gives back a burst's memory once drained,
//! which is what an idle connection costs. One consumer at a time (the
//! transport holding [`Outbox::receiver`]'s lock), whose waker is kept under
//! the same mutex: a push costs no synchronisation beyond that lock, and
//! wakes the consumer only when it waits. Any number of producers.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

use super::socket::Outgoing;

/// Capacity kept after the queue drains; a larger one is released.
const KEEP_CAPACITY: usize = 16;

/// Why a packet could not be queued.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The queue holds its maximum.
    Full,
    /// The session is closing: nothing more is queued.
    Closed,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Outgoing>,
    closed: bool,
    /// The consumer's waker, kept across waits (re-registered only when
    /// another task consumes).
    consumer: Option<Waker>,
    /// The consumer found the queue empty and waits for a push.
    waiting: bool,
    /// The consumer, though `waiting`, is running and looks at the queue
    /// again before it sleeps: a push need not wake it.
    looking: bool,
}

/// A session's outgoing queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    state: Mutex<State>,
    capacity: usize,
    /// Signalled when a pop makes room.
    writable: Notify,
    /// Serializes consumers: a GET and a WebSocket during an upgrade.
    receiver: tokio::sync::Mutex<()>,
}

impl Outbox {
    pub(crate) fn new(capacity: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            writable: Notify::new(),
            receiver: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Queues `out`, or fails at once when full or closed.
    pub(crate) fn try_push(&self, out: Outgoing) -> Result<(), PushError> {
        let wake = {
            let mut st = self.state();
            if st.closed {
                return Err(PushError::Closed);
            }
            if st.queue.len() >= self.capacity {
                return Err(PushError::Full);
            }
            st.queue.push_back(out);
            if std::mem::take(&mut st.waiting) && !st.looking {
                st.consumer.clone()
            } else {
                None
            }
        };
        if let Some(w) = wake {
            crate::wakes::wake(w);
        }
        Ok(())
    }

    /// Queues `out` only if the consumer waits on an empty queue (the
    /// transport is writable); otherwise hands it back as `Full`.
    pub(crate) fn try_push_idle(&self, out: Outgoing) -> Result<(), PushError> {
        let wake = {
            let mut st = self.state();
            if st.closed {
                return Err(PushError::Closed);
            }
            if !st.waiting || !st.queue.is_empty() {
                return Err(PushError::Full);
            }
            st.queue.push_back(out);
            st.waiting = false;
            if st.looking {
                None
            } else {
                st.consumer.clone()
            }
        };
        if let Some(w) = wake {
            crate::wakes::wake(w);
        }
        Ok(())
    }

    /// Signalled when a pop makes room (or the outbox closes): enable it,
    /// then [`Outbox::try_push`], and wait on it if the push found no room.
    pub(crate) fn room(&self) -> tokio::sync::futures::Notified<'_> {
        self.writable.notified()
    }

    /// Stops accepting packets; those queued stay for the transport.
    pub(crate) fn close(&self) {
        self.state().closed = true;
        self.writable.notify_waiters();
    }

    /// Exclusive right to consume, waited for.
    pub(crate) async fn receiver(&self) -> Receiver<'_> {
        Receiver {
            outbox: self,
            _guard: self.receiver.lock().await,
        }
    }

    /// Exclusive right to consume, if free now.
    pub(crate) fn try_receiver(&self) -> Option<Receiver<'_>> {
        let guard = self.receiver.try_lock().ok()?;
        Some(Receiver {
            outbox: self,
            _guard: guard,
        })
    }

    /// The next packet; with `cx`, an empty queue registers the consumer.
    fn pop(&self, cx: Option<&mut Context<'_>>) -> Option<Outgoing> {
        let out = {
            let mut st = self.state();
            let out = st.queue.pop_front();
            if st.queue.is_empty() && st.queue.capacity() > KEEP_CAPACITY {
                st.queue = VecDeque::new();
            }
            if let (None, Some(cx)) = (&out, cx) {
                match &st.consumer {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => st.consumer = Some(cx.waker().clone()),
                }
                st.waiting = true;
                st.looking = false;
            }
            out
        };
        if out.is_some() {
            self.writable.notify_one();
        }
        out
    }
}

/// The consuming side, held by one transport at a time.
pub(crate) struct Receiver<'a> {
    outbox: &'a Outbox,
    _guard: tokio::sync::MutexGuard<'a, ()>,
}

impl Receiver<'_> {
    /// The next packet, waiting for one.
    pub(crate) fn recv(&mut self) -> impl std::future::Future<Output = Outgoing> + '_ {
        std::future::poll_fn(|cx| match self.outbox.pop(Some(cx)) {
            Some(out) => Poll::Ready(out),
            None => Poll::Pending,
        })
    }

    /// The next packet if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Outgoing> {
        self.outbox.pop(None)
    }

    /// The consumer is running and looks at the queue again before it
    /// waits: packets pushed until then need not wake it. Its own handlers'
    /// replies would otherwise wake the task that is already running,
    /// which then runs once more for nothing.
    pub(crate) fn will_look_again(&mut self) {
        self.outbox.state().looking = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Packet;
    use std::sync::Arc;
    use std::time::Duration;

    fn ping() -> Outgoing {
        Outgoing::One(Packet::Ping)
    }

    /// Queues a packet, waiting for room, as the heartbeat queues its ping.
    async fn push_waiting(ob: &Outbox, out: fn() -> Outgoing) -> Result<(), PushError> {
        loop {
            let room = ob.room();
            tokio::pin!(room);
            room.as_mut().enable();
            match ob.try_push(out()) {
                Err(PushError::Full) => room.await,
                done => return done,
            }
        }
    }

    #[tokio::test]
    async fn bounded_in_order_and_waking() {
        let ob = Arc::new(Outbox::new(2));
        ob.try_push(Outgoing::One(Packet::Pong)).expect("room");
        ob.try_push(ping()).expect("room");
        assert!(matches!(ob.try_push(ping()), Err(PushError::Full)));

        // A push waiting for room completes once a pop makes some.
        let waiter = {
            let ob = ob.clone();
            tokio::spawn(async move {
                push_waiting(&ob, || Outgoing::One(Packet::Noop))
                    .await
                    .is_ok()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        let mut rx = ob.receiver().await;
        assert!(matches!(rx.recv().await, Outgoing::One(Packet::Pong)));
        assert!(tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("woken")
            .expect("task"));
        assert!(matches!(rx.try_recv(), Some(Outgoing::One(Packet::Ping))));
        assert!(matches!(rx.try_recv(), Some(Outgoing::One(Packet::Noop))));
        assert!(rx.try_recv().is_none());

        // One consumer at a time.
        assert!(ob.try_receiver().is_none());
        drop(rx);
        assert!(ob.try_receiver().is_some());

        // A receiver waiting for a packet wakes on a push from elsewhere.
        let reader = {
            let ob = ob.clone();
            tokio::spawn(async move {
                matches!(
                    ob.receiver().await.recv().await,
                    Outgoing::One(Packet::Ping)
                )
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        ob.try_push(ping()).expect("room");
        assert!(tokio::time::timeout(Duration::from_secs(2), reader)
            .await
            .expect("woken")
            .expect("task"));

        // Closed: nothing more queued, a blocked push gives up.
        ob.try_push(ping()).expect("room");
        ob.try_push(ping()).expect("room");
        let blocked = {
            let ob = ob.clone();
            tokio::spawn(async move { push_waiting(&ob, ping).await.is_err() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        ob.close();
        assert!(tokio::time::timeout(Duration::from_secs(2), blocked)
            .await
            .expect("woken")
            .expect("task"));
        assert!(matches!(ob.try_push(ping()), Err(PushError::Closed)));
        // What was queued before the close is still there.
        let mut rx = ob.receiver().await;
        assert!(rx.try_recv().is_some());
        assert!(rx.try_recv().is_some());
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn a_drained_burst_gives_its_memory_back() {
        let ob = Outbox::new(1024);
        for _ in 0..500 {
            ob.try_push(ping()).expect("room");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut rx = ob.receiver().await;
            while rx.try_recv().is_some() {}
        });
        assert_eq!(ob.state().queue.capacity(), 0);
    }
}
