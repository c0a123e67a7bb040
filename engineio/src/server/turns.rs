//! Turns for the WebSocket connection tasks, first come first served.
//!
//! tokio's scheduler serves its tasks in order only while a worker's own run
//! queue holds them all (256). A thousand saturated connections are a
//! thousand runnable tasks: the queue overflows, and tokio moves half of it
//! to the shared queue. With tokio's defaults a worker looks there once every
//! few dozen tasks, so the tasks moved wait a hundred times longer than the
//! others; with `global_queue_interval(1)` the shared queue comes first and
//! the 128 oldest tasks, which an overflow leaves in the local queue, wait
//! until the overload ends, seconds later. Either way some clients are
//! starved while the others are served (see bench/README.md).
//!
//! So a connection task's wake-up does not go to tokio straight away: it
//! joins a queue of ours, first in first out, and only a few connection
//! tasks ([`Turns::new`]'s `limit`) wait in tokio's queues at any time. Each
//! connection task that starts running hands the next one over. tokio's
//! queues stay short, never overflow, and the connections are served in the
//! order they became ready, on any runtime settings. A task that is running
//! holds no turn: a handler that blocks delays nobody but its own
//! connection (and its worker).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;

/// Neither queued nor running: the next wake-up queues it.
const IDLE: u8 = 0;
/// In our queue, waiting for its turn.
const QUEUED: u8 = 1;
/// Handed to tokio (woken there), not polled yet: holds a turn.
const HANDED: u8 = 2;
/// Being polled.
const RUNNING: u8 = 3;
/// Woken while being polled: queued again once the poll ends.
const NOTIFIED: u8 = 4;
/// Finished or dropped: wake-ups do nothing.
const DONE: u8 = 5;

/// Connection tasks waiting in tokio's queues at most, all workers
/// together: half of one worker's run queue (256), so that even when one
/// worker wakes them all (a turn handed on as a task starts runs on that
/// worker) its queue never overflows. Below that the turns change nothing:
/// a wake-up goes to tokio at once, as without them. Fewer turns order the
/// tasks more strictly (tokio's LIFO slot reorders the few it holds: 8 per
/// worker left echo at 100 clients at fairness 0.99, 32 at 0.95) but cost
/// the bindings, whose language thread wakes connections in bursts, a
/// fifth of their echo: a burst larger than the turns waits in our queue,
/// and the runtime and the language thread then wake each other half as
/// often again (measured in context switches per round trip).
const HANDED_AT_MOST: usize = 128;

/// The queue of connection tasks ready to run, shared by every connection
/// of a server; the server holds it.
pub(crate) struct Turns {
    shared: Arc<Shared>,
}

impl Drop for Turns {
    fn drop(&mut self) {
        // Every connection task holds its server, so none is left: what is
        // still queued is stale, and would keep the queue alive through its
        // slots' references to it.
        self.shared.queue.lock().ready.clear();
    }
}

struct Shared {
    limit: usize,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// Tasks handed to tokio and not polled yet.
    handed: usize,
    /// Tasks woken, waiting for a turn, oldest first. An entry whose slot
    /// is no longer `QUEUED` is stale and skipped.
    ready: VecDeque<Arc<Slot>>,
}

impl Queue {
    /// Hands turns out while there are some: the tokio wakers to call once
    /// the lock is released.
    fn hand_out(&mut self, limit: usize, woken: &mut Wakers) {
        while self.handed < limit {
            let Some(slot) = self.ready.pop_front() else {
                return;
            };
            if slot
                .state
                .compare_exchange(QUEUED, HANDED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.handed += 1;
                woken.push(slot);
            }
        }
    }
}

/// Tasks given a turn, to wake once the queue's lock is released; one,
/// nearly always.
#[derive(Default)]
struct Wakers {
    first: Option<Arc<Slot>>,
    more: Vec<Arc<Slot>>,
}

impl Wakers {
    fn push(&mut self, slot: Arc<Slot>) {
        match self.first {
            None => self.first = Some(slot),
            Some(_) => self.more.push(slot),
        }
    }

    fn wake(self) {
        if let Some(slot) = self.first {
            slot.wake_task();
        }
        self.more.iter().for_each(|slot| slot.wake_task());
    }
}

/// One connection task's place in the queue; its waker is the one the
/// task's future sees.
struct Slot {
    shared: Arc<Shared>,
    state: AtomicU8,
    /// tokio's waker of the task, called when the task gets its turn.
    task: Mutex<Option<Waker>>,
}

impl Wake for Slot {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                RUNNING => NOTIFIED,
                IDLE => {
                    if self.enqueue() {
                        return;
                    }
                    state = self.state.load(Ordering::Acquire);
                    continue;
                }
                // Already queued, handed or notified; or gone.
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }
}

impl Slot {
    /// Wakes the tokio task: its turn has come. Before its first poll it
    /// has no waker yet, and needs none: tokio polls it anyway.
    fn wake_task(&self) {
        if let Some(w) = self.task.lock().as_ref() {
            w.wake_by_ref();
        }
    }

    /// Queues an idle task, or hands it a turn at once when one is free and
    /// nobody waits. False when the task was not idle any more.
    fn enqueue(self: &Arc<Self>) -> bool {
        let shared = &self.shared;
        let hand = {
            let mut q = shared.queue.lock();
            let hand = q.handed < shared.limit && q.ready.is_empty();
            let next = if hand { HANDED } else { QUEUED };
            if self
                .state
                .compare_exchange(IDLE, next, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return false;
            }
            if hand {
                q.handed += 1;
            } else {
                q.ready.push_back(self.clone());
            }
            hand
        };
        if hand {
            self.wake_task();
        }
        true
    }
}

impl Turns {
    /// A queue letting `limit` tasks wait in tokio's queues at a time.
    pub(crate) fn new(limit: usize) -> Turns {
        Turns {
            shared: Arc::new(Shared {
                limit: limit.max(1),
                queue: Mutex::default(),
            }),
        }
    }

    /// The queue every server uses ([`HANDED_AT_MOST`] turns).
    pub(crate) fn for_this_machine() -> Turns {
        Turns::new(HANDED_AT_MOST)
    }

    /// `fut`, woken through this queue: spawn this instead of `fut`.
    pub(crate) fn wrap<F: Future>(&self, fut: F) -> Fair<F> {
        let slot = Arc::new(Slot {
            shared: self.shared.clone(),
            // tokio polls a spawned task once without asking: as idle.
            state: AtomicU8::new(IDLE),
            task: Mutex::new(None),
        });
        Fair {
            waker: Waker::from(slot.clone()),
            slot,
            fut: Box::pin(fut),
        }
    }
}

/// A future whose wake-ups wait for a turn ([`Turns::wrap`]).
pub(crate) struct Fair<F> {
    slot: Arc<Slot>,
    waker: Waker,
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for Fair<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let slot = &this.slot;
        {
            let mut task = slot.task.lock();
            if !task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        // The turn ends as the poll starts: the next task waits in tokio's
        // queue meanwhile, and runs next.
        let shared = &slot.shared;
        let mut woken = Wakers::default();
        {
            let mut q = shared.queue.lock();
            // A task tokio polls unasked (its first poll) holds no turn; one
            // still queued leaves a stale entry behind.
            if slot.state.swap(RUNNING, Ordering::AcqRel) == HANDED {
                q.handed -= 1;
            }
            q.hand_out(shared.limit, &mut woken);
        }
        woken.wake();

        let res = this
            .fut
            .as_mut()
            .poll(&mut Context::from_waker(&this.waker));

        if res.is_ready() {
            slot.state.store(DONE, Ordering::Release);
            return res;
        }
        if slot
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Woken while running (its own packets, a yield at the end of
            // its budget): back of the queue.
            slot.state.store(IDLE, Ordering::Release);
            slot.enqueue();
        }
        Poll::Pending
    }
}

impl<F> Drop for Fair<F> {
    fn drop(&mut self) {
        let slot = &self.slot;
        if slot.state.swap(DONE, Ordering::AcqRel) != HANDED {
            return;
        }
        // Dropped (aborted) between its turn and its poll: the turn goes on.
        let mut woken = Wakers::default();
        {
            let mut q = slot.shared.queue.lock();
            q.handed -= 1;
            q.hand_out(slot.shared.limit, &mut woken);
        }
        woken.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// tokio's side, played by hand: a task's waker puts its index in the
    /// run queue; the test polls what is there, in order.
    #[derive(Default)]
    struct Executor {
        run_queue: Mutex<VecDeque<usize>>,
    }

    struct TaskWaker {
        exec: Arc<Executor>,
        id: usize,
    }

    impl Wake for TaskWaker {
        fn wake(self: Arc<Self>) {
            self.exec.run_queue.lock().push_back(self.id);
        }
    }

    /// A task that counts its polls and keeps the waker it was given, so
    /// the test can wake it as an I/O event would.
    struct Probe {
        polls: AtomicUsize,
        waker: Mutex<Option<Waker>>,
        /// Wakes itself on every poll, as a connection that always has more
        /// to read and yields at the end of its budget.
        hog: bool,
    }

    impl Probe {
        fn new(hog: bool) -> Arc<Probe> {
            Arc::new(Probe {
                polls: AtomicUsize::new(0),
                waker: Mutex::new(None),
                hog,
            })
        }

        fn future(self: &Arc<Self>) -> impl Future<Output = ()> {
            let me = self.clone();
            std::future::poll_fn(move |cx| {
                me.polls.fetch_add(1, Ordering::Relaxed);
                *me.waker.lock() = Some(cx.waker().clone());
                if me.hog {
                    cx.waker().wake_by_ref();
                }
                Poll::<()>::Pending
            })
        }

        fn wake(&self) {
            if let Some(w) = self.waker.lock().clone() {
                w.wake();
            }
        }

        fn polls(&self) -> usize {
            self.polls.load(Ordering::Relaxed)
        }
    }

    type Task = Pin<Box<Fair<Pin<Box<dyn Future<Output = ()>>>>>>;

    struct Harness {
        exec: Arc<Executor>,
        tasks: Vec<Task>,
        wakers: Vec<Waker>,
    }

    impl Harness {
        fn new(turns: &Turns, probes: &[Arc<Probe>]) -> Harness {
            let exec = Arc::new(Executor::default());
            let mut h = Harness {
                exec: exec.clone(),
                tasks: vec![],
                wakers: vec![],
            };
            for (id, p) in probes.iter().enumerate() {
                let fut: Pin<Box<dyn Future<Output = ()>>> = Box::pin(p.future());
                h.tasks.push(Box::pin(turns.wrap(fut)));
                h.wakers.push(Waker::from(Arc::new(TaskWaker {
                    exec: exec.clone(),
                    id,
                })));
                // tokio's first poll of a spawned task, unasked.
                h.poll(id);
            }
            h
        }

        fn poll(&mut self, id: usize) {
            let mut cx = Context::from_waker(&self.wakers[id]);
            let _ = self.tasks[id].as_mut().poll(&mut cx);
        }

        /// Polls the next scheduled task; its index.
        fn step(&mut self) -> Option<usize> {
            let id = self.exec.run_queue.lock().pop_front()?;
            self.poll(id);
            Some(id)
        }

        fn scheduled(&self) -> Vec<usize> {
            self.exec.run_queue.lock().iter().copied().collect()
        }
    }

    #[test]
    fn woken_tasks_get_turns_in_the_order_they_were_woken() {
        let turns = Turns::new(2);
        let probes: Vec<_> = (0..5).map(|_| Probe::new(false)).collect();
        let mut h = Harness::new(&turns, &probes);
        assert!(h.scheduled().is_empty());
        for i in [3, 0, 4, 1, 2] {
            probes[i].wake();
        }
        // Two turns: only the first two woken wait in the runtime's queue.
        assert_eq!(h.scheduled(), vec![3, 0]);
        // Each task starting to run hands the next one its turn.
        let mut order = vec![];
        while let Some(id) = h.step() {
            order.push(id);
        }
        assert_eq!(order, vec![3, 0, 4, 1, 2]);
        // A wake-up counts once, however many come before the turn.
        probes[1].wake();
        probes[1].wake();
        assert_eq!(h.scheduled(), vec![1]);
        assert_eq!(h.step(), Some(1));
        assert_eq!(h.step(), None);
    }

    #[test]
    fn a_task_that_keeps_waking_itself_waits_behind_the_others() {
        let turns = Turns::new(1);
        let mut probes = vec![Probe::new(true)];
        probes.extend((0..4).map(|_| Probe::new(false)));
        let mut h = Harness::new(&turns, &probes);
        // The hog is back in the queue after its first poll, and holds the
        // one turn; the others are woken behind it.
        for p in &probes[1..] {
            p.wake();
        }
        let order: Vec<_> = (0..10).filter_map(|_| h.step()).collect();
        // The hog runs once per round, never twice in a row while others wait.
        assert_eq!(order[..6], [0, 1, 2, 3, 4, 0]);
        assert!(probes[1..].iter().all(|p| p.polls() == 2));
    }

    #[test]
    fn a_task_dropped_with_its_turn_hands_it_on() {
        let turns = Turns::new(1);
        let probes: Vec<_> = (0..3).map(|_| Probe::new(false)).collect();
        let mut h = Harness::new(&turns, &probes);
        probes[0].wake();
        probes[1].wake();
        probes[2].wake();
        assert_eq!(h.scheduled(), vec![0]);
        // Aborted while waiting in the runtime's queue: its turn goes on.
        let dropped = h.exec.run_queue.lock().pop_front();
        assert_eq!(dropped, Some(0));
        h.tasks[0] = Box::pin(turns.wrap(Box::pin(std::future::pending()) as Pin<Box<_>>));
        assert_eq!(h.scheduled(), vec![1]);
        assert_eq!(h.step(), Some(1));
        assert_eq!(h.step(), Some(2));
        assert_eq!(h.step(), None);
        assert_eq!(turns.shared.queue.lock().handed, 0);
    }

    /// A thousand closed loops on one worker, as a thousand connections whose
    /// clients answer at once: a "network" task wakes every loop that has
    /// completed a round trip, each time tokio polls its drivers (a task that
    /// yields is woken then). Counted in polls, not time.
    fn closed_loops(turns: Option<Turns>, fifo_runtime: bool) -> (usize, usize) {
        const LOOPS: usize = 1000;
        const ROUND_TRIPS: usize = 200_000;
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(1);
        if fifo_runtime {
            b.global_queue_interval(1);
        }
        let rt = b.build().expect("runtime");
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new((0..LOOPS).map(|_| AtomicUsize::new(0)).collect());
        let done: Arc<Mutex<Vec<(usize, Waker)>>> = Arc::default();
        let total = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut handles = vec![];
            for i in 0..LOOPS {
                let (counts, done, total) = (counts.clone(), done.clone(), total.clone());
                let mut first = true;
                let conn = std::future::poll_fn(move |cx| {
                    if !std::mem::take(&mut first) {
                        counts[i].fetch_add(1, Ordering::Relaxed);
                        total.fetch_add(1, Ordering::Relaxed);
                    }
                    done.lock().push((i, cx.waker().clone()));
                    Poll::<()>::Pending
                });
                handles.push(match &turns {
                    Some(t) => tokio::spawn(t.wrap(conn)),
                    None => tokio::spawn(conn),
                });
            }
            let network = tokio::spawn({
                let (done, total) = (done.clone(), total.clone());
                async move {
                    while total.load(Ordering::Relaxed) < ROUND_TRIPS {
                        let answered = std::mem::take(&mut *done.lock());
                        for (_, w) in answered {
                            w.wake();
                        }
                        tokio::task::yield_now().await;
                    }
                }
            });
            network.await.expect("network");
            for h in handles {
                h.abort();
            }
        });
        let counts: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let min = counts.iter().copied().min().unwrap_or(0);
        let max = counts.iter().copied().max().unwrap_or(0);
        (min, max)
    }

    #[test]
    fn a_thousand_saturated_connections_are_served_alike_on_one_worker() {
        for fifo_runtime in [false, true] {
            let (min, max) = closed_loops(Some(Turns::new(HANDED_AT_MOST)), fifo_runtime);
            eprintln!("with turns, global_queue_interval(1): {fifo_runtime}: slowest {min}, fastest {max}");
            // Every loop within a few of the mean (200 round trips each).
            assert!(
                min * 10 >= max * 9,
                "global_queue_interval(1): {fifo_runtime}, slowest {min}, fastest {max}"
            );
            // tokio's queues alone, for the record: with either setting some
            // tasks wait far longer than others (not asserted: that is
            // tokio's behaviour, which may change).
            let (min, max) = closed_loops(None, fifo_runtime);
            eprintln!(
                "without turns, global_queue_interval(1): {fifo_runtime}: slowest {min}, fastest {max}"
            );
        }
    }
}
