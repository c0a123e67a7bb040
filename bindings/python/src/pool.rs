//! Where Python code runs: worker threads of our own, never the tokio
//! runtime's. Jobs carry a key; the jobs of one key run one at a time in
//! the order they were queued (the events of one socket stay in order),
//! jobs of different keys run concurrently on up to `max_workers` threads.
//!
//! A pool made for an asyncio loop has no threads: jobs queue in order and
//! one byte written to a pipe the loop watches (a socket pair on Unix)
//! wakes it once per burst; the loop then runs them all with
//! [`Pool::run_pending`]. No thread but the loop's takes the interpreter
//! lock for them. The pipe is the pool's own, or a [`LoopWaker`] that the
//! pools of one loop share (clients: a pipe per client would stay open as
//! long as the client object).
//!
//! A parked pool ([`Pool::park`]) keeps no idle thread: its workers exit
//! once no job waits, and the next job starts one again (a client that is
//! disconnected holds no thread).

use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;

/// A piece of Python work, built from Rust data on the worker thread.
pub type Job = Box<dyn FnOnce(Python<'_>, &Bound<'_, PyAny>) + Send>;

#[derive(Default)]
struct State {
    /// Keys with queued jobs and no worker on them, in arrival order.
    ready: VecDeque<u64>,
    /// Queued jobs per key; a key is present while it is ready or busy.
    queues: HashMap<u64, VecDeque<Job>>,
    idle: usize,
    workers: usize,
    closed: bool,
    /// Loop mode: the jobs waiting for the loop, in arrival order.
    loop_jobs: VecDeque<Job>,
    /// Loop mode: a wake-up byte is written (or about to be) since the loop
    /// last took the jobs; later jobs need no other.
    wake_pending: bool,
    /// Shared loop mode: the pool is on its waker's list of pools to run.
    scheduled: bool,
    /// Workers exit rather than wait for work.
    parked: bool,
}

/// How a loop pool wakes its loop.
enum LoopWake {
    /// A pipe of its own.
    Own(Waker),
    /// The pipe of the loop's pools.
    Shared(Arc<SharedWaker>),
}

struct Inner {
    state: Mutex<State>,
    wake: Condvar,
    /// Signalled as workers exit.
    exited: Condvar,
    max_workers: usize,
    /// Called with each event (or, for jobs that bring their own target, the
    /// first argument of the job).
    sink: Py<PyAny>,
    /// Called with a socket's events as `(ns, sid, name, args, ack)`
    /// instead of the sink with a tuple: no tuple to build and unpack on
    /// the hot path.
    on_event: Option<Arc<Py<PyAny>>>,
    name: String,
    /// Loop mode: the pipe the loop watches.
    waker: Option<LoopWake>,
}

/// A pool of worker threads that call into Python.
#[pyclass(frozen, weakref, module = "socketio_rs._native")]
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

static UNIQUE: AtomicU64 = AtomicU64::new(1 << 62);

/// A key no socket uses: for jobs that need no ordering.
pub fn unique_key() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

/// The ordering key of a name (a socket id, a namespace).
pub fn key_of(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    // Below the unique range, so the two never collide.
    h.finish() >> 2
}

#[pymethods]
impl Pool {
    /// A pool calling `sink(event)` on at most `max_workers` threads,
    /// started as work arrives.
    #[new]
    #[pyo3(signature = (sink, max_workers = 16, name = "socketio-py"))]
    fn py_new(sink: Py<PyAny>, max_workers: usize, name: &str) -> Self {
        Pool::build(sink, None, max_workers, name, None)
    }

    /// A pool whose jobs run on an asyncio loop: each burst of jobs makes
    /// `wake_fd()` readable; the loop then calls `run_pending()`. With
    /// `waker`, that shared pipe is woken instead, and the loop calls its
    /// `run_pending()`. With `on_event`, a server's socket events are
    /// `on_event(ns, sid, name, args, ack)` calls rather than tuples for
    /// the sink.
    #[staticmethod]
    #[pyo3(signature = (sink, waker = None, on_event = None))]
    fn for_loop(
        sink: Py<PyAny>,
        waker: Option<&Bound<'_, LoopWaker>>,
        on_event: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let wake =
            match waker {
                Some(w) => LoopWake::Shared(w.get().inner.clone()),
                None => LoopWake::Own(Waker::new().map_err(|e| {
                    pyo3::exceptions::PyOSError::new_err(format!("wake-up pipe: {e}"))
                })?),
            };
        Ok(Pool::build(
            sink,
            on_event.map(Arc::new),
            1,
            "socketio-asyncio",
            Some(wake),
        ))
    }

    /// The file descriptor the loop watches (loop mode): readable while
    /// jobs wait. The pool (or the shared waker) owns it; it stays open
    /// while that lives.
    fn wake_fd(&self) -> PyResult<i64> {
        match &self.inner.waker {
            Some(LoopWake::Own(w)) => Ok(w.fd()),
            Some(LoopWake::Shared(s)) => Ok(s.pipe.fd()),
            None => Err(pyo3::exceptions::PyValueError::new_err("not a loop pool")),
        }
    }

    /// Parked (`True`), the workers exit as soon as no job waits, and the
    /// next job starts one again; unparked (the default), they wait for
    /// work.
    fn park(&self, on: bool) {
        self.inner.state.lock().parked = on;
        if on {
            self.inner.wake.notify_all();
        }
    }

    /// The number of worker threads running.
    fn workers(&self) -> usize {
        self.inner.state.lock().workers
    }

    /// Runs every job queued for the loop, in order, and takes the wake-up
    /// byte (loop mode). Returns how many ran.
    fn run_pending(&self, py: Python<'_>) -> usize {
        // Drained before the jobs are taken: a byte written since belongs
        // to jobs queued since, and wakes the loop again.
        if let Some(LoopWake::Own(w)) = &self.inner.waker {
            w.drain();
        }
        let jobs = {
            let mut st = self.inner.state.lock();
            st.wake_pending = false;
            std::mem::take(&mut st.loop_jobs)
        };
        run_jobs(py, &self.inner, jobs)
    }

    /// Stops the workers once their current job ends; queued jobs are
    /// dropped.
    fn close(&self) {
        self.shutdown();
    }

    /// Waits up to `timeout` seconds, with the interpreter released, for
    /// the workers of a closed pool to exit; returns whether they all did.
    /// Called at interpreter exit, so no worker is still running Python
    /// code (or about to) when the interpreter goes away.
    fn join(&self, py: Python<'_>, timeout: f64) -> bool {
        let deadline = Instant::now() + Duration::from_secs_f64(timeout.max(0.0));
        let inner = self.inner.clone();
        py.detach(move || {
            let mut st = inner.state.lock();
            while st.workers > 0 {
                if Instant::now() >= deadline {
                    return false;
                }
                inner.exited.wait_until(&mut st, deadline);
            }
            true
        })
    }
}

impl Pool {
    fn build(
        sink: Py<PyAny>,
        on_event: Option<Arc<Py<PyAny>>>,
        max_workers: usize,
        name: &str,
        waker: Option<LoopWake>,
    ) -> Self {
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                exited: Condvar::new(),
                max_workers: max_workers.max(1),
                sink,
                on_event,
                name: name.to_owned(),
                waker,
            }),
        }
    }

    /// The handler of socket events, if the pool has one.
    pub fn event_handler(&self) -> Option<Arc<Py<PyAny>>> {
        self.inner.on_event.clone()
    }

    /// Queues a job under `key`.
    pub fn push(&self, key: u64, job: Job) {
        match &self.inner.waker {
            Some(LoopWake::Own(waker)) => {
                let wake = {
                    let mut st = self.inner.state.lock();
                    if st.closed {
                        return;
                    }
                    st.loop_jobs.push_back(job);
                    !std::mem::replace(&mut st.wake_pending, true)
                };
                waker.note_job();
                // Written after the lock is released: the write wakes the
                // loop's thread, which may run at once on this core and
                // would otherwise block on the lock this thread holds (two
                // more context switches per burst).
                if wake {
                    waker.wake();
                }
                return;
            }
            Some(LoopWake::Shared(shared)) => {
                {
                    let mut st = self.inner.state.lock();
                    if st.closed {
                        return;
                    }
                    st.loop_jobs.push_back(job);
                    shared.pipe.note_job();
                    if std::mem::replace(&mut st.scheduled, true) {
                        return; // on the waker's list already
                    }
                }
                shared.schedule(self.inner.clone());
                return;
            }
            None => {}
        }
        let spawn = {
            let mut st = self.inner.state.lock();
            if st.closed {
                return;
            }
            match st.queues.get_mut(&key) {
                // Ready or busy already: it is picked up in turn.
                Some(q) => q.push_back(job),
                None => {
                    st.queues.insert(key, VecDeque::from([job]));
                    st.ready.push_back(key);
                }
            }
            let spawn = st.idle == 0 && st.workers < self.inner.max_workers;
            if spawn {
                st.workers += 1;
            }
            spawn
        };
        if spawn {
            let inner = self.inner.clone();
            let name = format!("{}-worker", self.inner.name);
            let spawned = std::thread::Builder::new()
                .name(name)
                .spawn(move || worker(inner));
            if spawned.is_err() {
                self.inner.state.lock().workers -= 1;
                self.inner.exited.notify_all();
            }
        }
        self.inner.wake.notify_one();
    }

    /// Stops the workers; queued jobs are dropped.
    pub fn shutdown(&self) {
        let dropped = {
            let mut st = self.inner.state.lock();
            st.closed = true;
            st.ready.clear();
            (
                std::mem::take(&mut st.queues),
                std::mem::take(&mut st.loop_jobs),
            )
        };
        drop(dropped);
        self.inner.wake.notify_all();
    }
}

fn worker(inner: Arc<Inner>) {
    loop {
        let (key, job) = {
            let mut st = inner.state.lock();
            loop {
                if st.closed {
                    st.workers -= 1;
                    inner.exited.notify_all();
                    return;
                }
                if let Some(key) = st.ready.pop_front() {
                    let job = st.queues.get_mut(&key).and_then(VecDeque::pop_front);
                    if let Some(job) = job {
                        break (key, job);
                    }
                    st.queues.remove(&key);
                    continue;
                }
                if st.parked {
                    st.workers -= 1;
                    inner.exited.notify_all();
                    return;
                }
                st.idle += 1;
                inner.wake.wait(&mut st);
                st.idle -= 1;
            }
        };
        let sink = &inner.sink;
        // `try_attach`: once the interpreter is finalizing, the job is dropped.
        let ran = Python::try_attach(|py| run_job(py, sink.bind(py), job));
        let mut st = inner.state.lock();
        if ran.is_none() {
            st.closed = true;
        }
        match st.queues.get(&key) {
            Some(q) if !q.is_empty() => st.ready.push_back(key),
            _ => {
                st.queues.remove(&key);
            }
        }
    }
}

/// Runs the jobs a loop took from a pool, in order; returns how many ran.
fn run_jobs(py: Python<'_>, inner: &Inner, jobs: VecDeque<Job>) -> usize {
    let n = jobs.len();
    let sink = inner.sink.bind(py);
    for job in jobs {
        run_job(py, sink, job);
    }
    n
}

/// Runs one job; a panic in it is logged, never propagated.
fn run_job(py: Python<'_>, sink: &Bound<'_, PyAny>, job: Job) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| job(py, sink))) {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        tracing::error!(error = %msg, "a binding job panicked");
    }
}

/// The wake-up pipe of the loop pools of one asyncio loop: a byte in it
/// while any of them has jobs; the loop watches [`LoopWaker::fd`] and calls
/// [`LoopWaker::run_pending`]. It holds a pool only while that pool has
/// jobs waiting; the pipe closes with this object and the last pool on it.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct LoopWaker {
    inner: Arc<SharedWaker>,
}

struct SharedWaker {
    pipe: Waker,
    state: Mutex<SharedState>,
}

#[derive(Default)]
struct SharedState {
    /// A byte is written (or about to be) since the loop last took the
    /// pools.
    pending: bool,
    /// Pools with jobs, in the order they got them.
    ready: VecDeque<Arc<Inner>>,
}

impl SharedWaker {
    /// Puts a pool with jobs on the list, waking the loop if it is not
    /// woken already.
    fn schedule(&self, pool: Arc<Inner>) {
        let wake = {
            let mut st = self.state.lock();
            st.ready.push_back(pool);
            !std::mem::replace(&mut st.pending, true)
        };
        // Outside the lock, as in `Pool::push`.
        if wake {
            self.pipe.wake();
        }
    }
}

#[pymethods]
impl LoopWaker {
    /// A new pipe, for the loop pools of one asyncio loop.
    #[new]
    fn new() -> PyResult<Self> {
        let pipe = Waker::new()
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("wake-up pipe: {e}")))?;
        Ok(LoopWaker {
            inner: Arc::new(SharedWaker {
                pipe,
                state: Mutex::new(SharedState::default()),
            }),
        })
    }

    /// The file descriptor the loop watches: readable while jobs wait.
    fn fd(&self) -> i64 {
        self.inner.pipe.fd()
    }

    /// Runs the jobs of every pool that has some, each pool's in order, and
    /// takes the wake-up byte. Returns how many ran.
    fn run_pending(&self, py: Python<'_>) -> usize {
        // Drained first, as in `Pool::run_pending`.
        self.inner.pipe.drain();
        let pools = {
            let mut st = self.inner.state.lock();
            st.pending = false;
            std::mem::take(&mut st.ready)
        };
        let mut n = 0;
        for pool in pools {
            let jobs = {
                let mut st = pool.state.lock();
                // Cleared with the jobs taken: a later job schedules the
                // pool again.
                st.scheduled = false;
                std::mem::take(&mut st.loop_jobs)
            };
            n += run_jobs(py, &pool, jobs);
        }
        n
    }
}

/// A loop's wake-up pipe: bytes in it while jobs may wait. Writers write
/// one byte per burst after releasing the pool's lock, so the reader cannot
/// count on a byte being there when it sees a wake-up pending: both ends
/// are non-blocking, the reader drains whatever is there, and a byte that
/// arrives after its jobs were taken only wakes the loop once for nothing.
struct Waker {
    pipe: Arc<Pipe>,
}

struct Pipe {
    /// Jobs queued for the loop so far: a deferred wake-up waits while the
    /// runtime thread keeps adding to the burst.
    jobs: AtomicU64,
    #[cfg(unix)]
    rx: std::os::unix::net::UnixStream,
    #[cfg(unix)]
    tx: std::os::unix::net::UnixStream,
    #[cfg(not(unix))]
    rx: std::io::PipeReader,
    #[cfg(not(unix))]
    tx: std::io::PipeWriter,
}

impl Waker {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        let (rx, tx) = std::os::unix::net::UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        Ok(Waker {
            pipe: Arc::new(Pipe {
                jobs: AtomicU64::new(0),
                rx,
                tx,
            }),
        })
    }

    /// Elsewhere no loop pool is used (threads hand the jobs over): a pipe,
    /// whose reads would block on an empty pipe, so the reader drains
    /// nothing.
    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        let (rx, tx) = std::io::pipe()?;
        Ok(Waker {
            pipe: Arc::new(Pipe {
                jobs: AtomicU64::new(0),
                rx,
                tx,
            }),
        })
    }

    #[cfg(unix)]
    fn fd(&self) -> i64 {
        use std::os::fd::AsRawFd;
        i64::from(self.pipe.rx.as_raw_fd())
    }

    #[cfg(windows)]
    fn fd(&self) -> i64 {
        use std::os::windows::io::AsRawHandle;
        self.pipe.rx.as_raw_handle() as i64
    }

    /// Wakes the loop. On a thread of the tokio runtime (a socket's event,
    /// an acknowledgement arriving), the byte is written once the runtime
    /// thread has run the other tasks ready now (`yield_now` defers to its
    /// next pass over the I/O driver): when the loop's thread shares a core
    /// with it, waking at once lets the loop preempt the runtime thread and
    /// run a burst of one or two events, and pay for a loop iteration and
    /// two context switches each time; deferred, the loop takes every event
    /// those tasks produced in one wake-up (and those of the next passes,
    /// while each brings more). Elsewhere, at once.
    fn wake(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.pipe.write();
            return;
        };
        // Written when the task runs, or when it is dropped unrun (the
        // runtime shutting down): never lost.
        let guard = WriteOnDrop(self.pipe.clone());
        rt.spawn(async move {
            // Once more while the last pass queued jobs (the burst is still
            // growing), a few times at most: each pass costs the runtime a
            // poll of its I/O driver, and the loop waits meanwhile.
            let mut seen = guard.0.jobs.load(Ordering::Relaxed);
            for _ in 0..DEFER_PASSES {
                tokio::task::yield_now().await;
                let now = guard.0.jobs.load(Ordering::Relaxed);
                if now == seen {
                    break;
                }
                seen = now;
            }
            drop(guard);
        });
    }

    /// Counts a job queued for the loop.
    fn note_job(&self) {
        self.pipe.jobs.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every byte there (never blocks).
    fn drain(&self) {
        self.pipe.drain();
    }
}

/// How many passes of the runtime thread a wake-up of the loop waits at
/// most for the burst to stop growing.
const DEFER_PASSES: usize = 4;

/// Wakes the loop when dropped.
struct WriteOnDrop(Arc<Pipe>);

impl Drop for WriteOnDrop {
    fn drop(&mut self) {
        self.0.write();
    }
}

impl Pipe {
    /// Writes a byte. A full buffer means the loop has plenty of wake-ups
    /// to read already.
    fn write(&self) {
        use std::io::Write;
        match (&self.tx).write(&[1]) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => tracing::warn!(error = %e, "waking the asyncio loop failed"),
        }
    }

    #[cfg(unix)]
    fn drain(&self) {
        use std::io::Read;
        let mut b = [0u8; 64];
        loop {
            match (&self.rx).read(&mut b) {
                // A full buffer: more may be there.
                Ok(n) if n == b.len() => continue,
                Ok(_) => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the asyncio loop's wake-up failed");
                    return;
                }
            }
        }
    }

    #[cfg(not(unix))]
    fn drain(&self) {
        let _ = &self.rx;
    }
}

/// Calls the sink with an event tuple; an exception escaping the sink (it
/// catches and logs its own) is reported as unraisable, never propagated.
pub fn deliver(py: Python<'_>, sink: &Bound<'_, PyAny>, event: PyResult<Bound<'_, PyAny>>) {
    let r = event.and_then(|ev| sink.call1((ev,)));
    if let Err(e) = r {
        e.write_unraisable(py, Some(sink));
    }
}
