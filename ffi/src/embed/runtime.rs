//! The tokio runtime foreign callers run on: a lazily created global one, or
//! one the caller creates with its own thread count.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};

use super::Error;

struct RtInner {
    rt: Option<tokio::runtime::Runtime>,
    handle: Handle,
}

impl Drop for RtInner {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else { return };
        // The last reference may go away inside a callback, on one of this
        // runtime's own threads (or another runtime's), where waiting for the
        // workers would deadlock or panic: let them wind down on their own.
        if Handle::try_current().is_ok() {
            rt.shutdown_background();
        } else {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// A multi-threaded tokio runtime. Cheap to clone; the threads stop when the
/// last clone (including those held by servers and clients) is dropped. The
/// [global](Runtime::global) one lives as long as the process.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RtInner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

impl Runtime {
    /// A runtime with `worker_threads` threads (0: one per CPU), named
    /// `sio-rt`.
    pub fn new(worker_threads: usize) -> Result<Runtime, Error> {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.enable_all().thread_name("sio-rt");
        if worker_threads > 0 {
            b.worker_threads(worker_threads);
        }
        // tokio's defaults, global queue interval included. Past 256
        // runnable tasks per worker tokio's queues serve some tasks far
        // later than others on any setting; the server keeps its WebSocket
        // connections first in first out itself (engineio's connection
        // turns), so nothing here needs tuning. `global_queue_interval(1)`
        // also cost the bindings a third of their broadcast rate.
        let rt = b.build()?;
        let handle = rt.handle().clone();
        Ok(Runtime {
            inner: Arc::new(RtInner {
                rt: Some(rt),
                handle,
            }),
        })
    }

    /// The process-wide runtime (one worker per CPU), created on first use.
    pub fn global() -> Result<Runtime, Error> {
        if let Some(rt) = GLOBAL.get() {
            return Ok(rt.clone());
        }
        let rt = Runtime::new(0)?;
        // Another thread may have won the race: use whichever got stored.
        Ok(GLOBAL.get_or_init(|| rt).clone())
    }

    /// The given runtime, or the global one.
    pub fn or_global(rt: Option<&Runtime>) -> Result<Runtime, Error> {
        match rt {
            Some(rt) => Ok(rt.clone()),
            None => Runtime::global(),
        }
    }

    /// The tokio handle.
    pub fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// Spawns a task.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.handle.spawn(fut);
    }

    /// Runs `fut` to completion from synchronous code: from a foreign
    /// thread, or from a callback on a worker of a multi-threaded runtime
    /// (the worker hands its other tasks over while it waits).
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, Error> {
        match Handle::try_current() {
            Err(_) => Ok(self.inner.handle.block_on(fut)),
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                Ok(tokio::task::block_in_place(|| {
                    self.inner.handle.block_on(fut)
                }))
            }
            Ok(_) => Err(Error::state(
                "cannot wait inside a single-threaded tokio runtime",
            )),
        }
    }

    /// Runs `fut` once now, on the calling thread (inside this runtime's
    /// context), then lets the runtime finish it. Whatever the future does
    /// before its first suspension — sending a packet, registering an
    /// acknowledgement — thus happens in call order, as with a synchronous
    /// emit.
    pub fn spawn_eager<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut fut = Box::pin(fut);
        let done = {
            let _guard = self.inner.handle.enter();
            let waker = futures_util::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            matches!(Pin::as_mut(&mut fut).poll(&mut cx), Poll::Ready(()))
        };
        if !done {
            self.inner.handle.spawn(fut);
        }
    }

    /// Runs `f` inside this runtime's context (for APIs that spawn tasks).
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.inner.handle.enter();
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_from_a_worker_and_a_foreign_thread() {
        let rt = Runtime::new(2).expect("runtime");
        assert_eq!(rt.block_on(async { 1 }).expect("foreign"), 1);
        let rt2 = rt.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            let _ = tx.send(rt2.block_on(async { 2 }).expect("worker"));
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("sent"), 2);
    }

    #[test]
    fn eager_runs_the_first_step_now() {
        let rt = Runtime::new(1).expect("runtime");
        let hit = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let h = hit.clone();
        rt.spawn_eager(async move {
            h.store(true, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
        });
        assert!(hit.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn dropped_inside_its_own_worker() {
        let rt = Runtime::new(1).expect("runtime");
        let (tx, rx) = std::sync::mpsc::channel();
        let inner = rt.clone();
        drop(rt);
        let handle = inner.handle().clone();
        handle.spawn(async move {
            drop(inner);
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(5)).expect("dropped");
    }
}
