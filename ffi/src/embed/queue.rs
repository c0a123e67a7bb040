//! Where callbacks run: directly on the runtime's threads, or on a thread of
//! the caller's that drains an [`EventQueue`].

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::runtime::{Handle, RuntimeFlavor};

use super::Error;

/// A deferred callback invocation.
pub type Job = Box<dyn FnOnce() + Send>;

/// Runs a job, keeping a panic inside it.
pub(crate) fn run_job(job: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(job)) {
        tracing::error!(error = %Error::from_panic(p.as_ref()), "a callback panicked");
    }
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    closed: bool,
    /// A byte sits in the notification socket.
    signaled: bool,
}

struct Inner {
    state: Mutex<State>,
    ready: Condvar,
    #[cfg(unix)]
    notify: (
        std::os::unix::net::UnixStream,
        std::os::unix::net::UnixStream,
    ),
}

/// A queue of callback invocations that the caller drains on a thread of
/// its own with [`EventQueue::poll`], instead of having callbacks run on the
/// runtime's threads. One queue may serve any number of servers and clients;
/// their callbacks then run one at a time, in the order their events
/// happened.
///
/// On Unix, [`EventQueue::fd`] is a file descriptor that is readable while
/// the queue holds jobs, for `poll`/`epoll`/`select` loops.
#[derive(Clone)]
pub struct EventQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len())
            .finish()
    }
}

impl EventQueue {
    /// A new, empty queue.
    pub fn new() -> Result<EventQueue, Error> {
        #[cfg(unix)]
        let notify = {
            let (r, w) = std::os::unix::net::UnixStream::pair()?;
            r.set_nonblocking(true)?;
            w.set_nonblocking(true)?;
            (r, w)
        };
        Ok(EventQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                ready: Condvar::new(),
                #[cfg(unix)]
                notify,
            }),
        })
    }

    /// Queues a job; a closed queue drops it at once.
    pub fn push(&self, job: Job) {
        let rejected = {
            let mut st = self.inner.state.lock();
            if st.closed {
                Some(job)
            } else {
                st.jobs.push_back(job);
                if !st.signaled {
                    st.signaled = true;
                    self.signal();
                }
                None
            }
        };
        // Dropped outside the lock: its drop may call back into the queue.
        drop(rejected);
        self.inner.ready.notify_all();
    }

    #[cfg(unix)]
    fn signal(&self) {
        use std::io::Write;
        let _ = (&self.inner.notify.1).write(&[1]);
    }

    #[cfg(not(unix))]
    fn signal(&self) {}

    #[cfg(unix)]
    fn unsignal(&self) {
        use std::io::Read;
        let mut buf = [0u8; 64];
        while let Ok(n) = (&self.inner.notify.0).read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    #[cfg(not(unix))]
    fn unsignal(&self) {}

    /// Runs the jobs queued now, on the calling thread, in order; first
    /// waits up to `timeout` for one (`None`: as long as it takes) if the
    /// queue is empty. Returns how many ran; 0 after a timeout or once the
    /// queue is closed.
    pub fn poll(&self, timeout: Option<Duration>) -> usize {
        let deadline = timeout.map(|t| Instant::now() + t);
        let jobs = {
            let mut st = self.inner.state.lock();
            while st.jobs.is_empty() && !st.closed {
                match deadline {
                    None => self.inner.ready.wait(&mut st),
                    Some(d) => {
                        if Instant::now() >= d {
                            break;
                        }
                        self.inner.ready.wait_until(&mut st, d);
                    }
                }
            }
            if st.signaled {
                st.signaled = false;
                self.unsignal();
            }
            std::mem::take(&mut st.jobs)
        };
        let n = jobs.len();
        for job in jobs {
            run_job(job);
        }
        n
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.inner.state.lock().jobs.len()
    }

    /// True when no job waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every waiting job and every job queued from now on (their
    /// callbacks never run; their user data is released). Wakes a thread
    /// blocked in [`EventQueue::poll`].
    pub fn close(&self) {
        let jobs = {
            let mut st = self.inner.state.lock();
            st.closed = true;
            if st.signaled {
                st.signaled = false;
                self.unsignal();
            }
            std::mem::take(&mut st.jobs)
        };
        drop(jobs);
        self.inner.ready.notify_all();
    }

    /// True once [`EventQueue::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().closed
    }

    /// A file descriptor readable while jobs wait (Unix only). Only read
    /// readiness from it; [`EventQueue::poll`] drains it.
    #[cfg(unix)]
    pub fn fd(&self) -> Option<std::os::unix::io::RawFd> {
        use std::os::unix::io::AsRawFd;
        Some(self.inner.notify.0.as_raw_fd())
    }

    /// No file descriptor off Unix.
    #[cfg(not(unix))]
    pub fn fd(&self) -> Option<i32> {
        None
    }
}

/// Where the callbacks of a server or client run.
#[derive(Clone, Debug, Default)]
pub enum Dispatch {
    /// On the runtime's threads, as the events happen (the default).
    #[default]
    Direct,
    /// Queued, to run inside [`EventQueue::poll`].
    Queue(EventQueue),
}

impl Dispatch {
    /// Runs `job` now (direct) or queues it.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) {
        match self {
            Dispatch::Direct => run_job(job),
            Dispatch::Queue(q) => q.push(Box::new(job)),
        }
    }

    /// Runs `job` and returns once it has run, or was dropped (closed
    /// queue), or `abandon` says to stop waiting. Direct: at once. Queued:
    /// the calling runtime thread waits for the polling thread, handing its
    /// other tasks to another thread meanwhile; used where the order of what
    /// follows depends on the callback having run (handlers registered in a
    /// connection callback must be in place before the socket's first event).
    pub fn run_and_wait(&self, job: impl FnOnce() + Send + 'static, abandon: impl Fn() -> bool) {
        let q = match self {
            Dispatch::Direct => return run_job(job),
            Dispatch::Queue(q) => q,
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        q.push(Box::new(move || {
            job();
            let _ = tx.send(());
        }));
        let wait = || loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !abandon() => continue,
                _ => return,
            }
        };
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            // A single-threaded runtime cannot wait: the job just stays queued.
            Ok(_) => {}
            Err(_) => wait(),
        }
    }
}

/// A one-shot completion: called once with the outcome.
pub type Completion<T> = Box<dyn FnOnce(Result<T, Error>) + Send>;

/// The context every handle of one server or client shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) rt: super::Runtime,
    pub(crate) dispatch: Dispatch,
    closed: AtomicBool,
    ack_timeout: Duration,
}

impl Ctx {
    pub(crate) fn new(rt: super::Runtime, dispatch: Dispatch, ack_timeout: Duration) -> Arc<Ctx> {
        Arc::new(Ctx {
            rt,
            dispatch,
            closed: AtomicBool::new(false),
            ack_timeout,
        })
    }

    /// The default wait for acknowledgements.
    pub(crate) fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Undoes [`Ctx::close`] (a server listening again after a close).
    pub(crate) fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    /// Dispatches a job.
    pub(crate) fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.dispatch.run(job);
    }

    /// Dispatches a job and waits for it (see [`Dispatch::run_and_wait`]),
    /// giving up once the owner is closed.
    pub(crate) fn run_and_wait(self: &Arc<Self>, job: impl FnOnce() + Send + 'static) {
        let me = self.clone();
        self.dispatch.run_and_wait(job, move || me.is_closed());
    }

    /// Runs `fut` eagerly (its synchronous part now, in call order), then
    /// dispatches `done` with its output — never from inside this call.
    pub(crate) fn complete<T, F>(self: &Arc<Self>, fut: F, done: impl FnOnce(T) + Send + 'static)
    where
        T: Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let ctx = self.clone();
        self.rt.spawn_eager(async move {
            let out = fut.await;
            // Off the caller's stack even when `fut` finished at once.
            tokio::task::yield_now().await;
            ctx.run(move || done(out));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn jobs_run_in_order_on_the_polling_thread() {
        let q = EventQueue::new().expect("queue");
        let seen = Arc::new(Mutex::new(Vec::new()));
        for i in 0..3 {
            let s = seen.clone();
            q.push(Box::new(move || {
                s.lock().push((i, std::thread::current().id()))
            }));
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.poll(Some(Duration::ZERO)), 3);
        let me = std::thread::current().id();
        assert_eq!(*seen.lock(), vec![(0, me), (1, me), (2, me)]);
        assert_eq!(q.poll(Some(Duration::from_millis(10))), 0);
    }

    #[cfg(unix)]
    #[test]
    fn fd_is_readable_while_jobs_wait() {
        use std::os::unix::io::FromRawFd;
        let q = EventQueue::new().expect("queue");
        let fd = q.fd().expect("fd");
        // Borrow the descriptor without owning it.
        let s =
            std::mem::ManuallyDrop::new(unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) });
        let mut buf = [0u8; 8];
        use std::io::Read;
        assert!((&*s).read(&mut buf).is_err(), "empty: would block");
        q.push(Box::new(|| {}));
        q.push(Box::new(|| {}));
        assert_eq!(q.poll(None), 2);
        assert!((&*s).read(&mut buf).is_err(), "drained by poll");
    }

    #[test]
    fn close_drops_jobs_and_wakes_pollers() {
        let q = EventQueue::new().expect("queue");
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Drop for Count {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let c = Count(dropped.clone());
        q.push(Box::new(move || drop(c)));
        let q2 = q.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            q2.close();
        });
        // The job is there: poll runs it... unless close came first; either
        // way it is gone exactly once.
        let _ = q.poll(None);
        assert_eq!(q.poll(None), 0, "closed: returns at once");
        t.join().expect("join");
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        let c = Count(dropped.clone());
        q.push(Box::new(move || drop(c)));
        assert_eq!(dropped.load(Ordering::SeqCst), 2, "dropped on push");
    }

    #[test]
    fn run_and_wait_waits_for_the_poller() {
        let q = EventQueue::new().expect("queue");
        let d = Dispatch::Queue(q.clone());
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let poller = std::thread::spawn(
            move || {
                while q.poll(Some(Duration::from_millis(200))) == 0 {}
            },
        );
        d.run_and_wait(move || r.store(true, Ordering::SeqCst), || false);
        assert!(ran.load(Ordering::SeqCst));
        poller.join().expect("join");
    }
}
