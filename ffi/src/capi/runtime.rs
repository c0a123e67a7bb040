//! Runtimes and event queues.

use std::ffi::c_int;
use std::time::Duration;

use super::{ffi_guard, free_handle, href, out_ptr, put};
use crate::embed::{EventQueue, Runtime};

/// A tokio runtime: the threads the library's work (and, by default, its
/// callbacks) run on. Without one, a global runtime (one thread per CPU) is
/// created on first use.
pub struct sio_runtime {
    pub(crate) rt: Runtime,
}

/// A queue of callback invocations, for running callbacks on a thread of
/// yours: give it to `sio_server_options_set_queue` /
/// `sio_client_options_set_queue`, then call `sio_queue_poll` in your loop.
pub struct sio_queue {
    pub(crate) q: EventQueue,
}

/// Creates a runtime with `worker_threads` threads (0: one per CPU). Its
/// threads stop once it is freed and no server or client uses it any more.
#[no_mangle]
pub unsafe extern "C" fn sio_runtime_new(
    worker_threads: usize,
    out: *mut *mut sio_runtime,
) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        let rt = Runtime::new(worker_threads)?;
        put(out, sio_runtime { rt });
        Ok(())
    })
}

/// Releases a runtime. Servers and clients created on it keep it running
/// until they are freed too. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_runtime_free(rt: *mut sio_runtime) {
    super::ffi_guard_or!((), { free_handle(rt) })
}

/// Creates an event queue.
#[no_mangle]
pub unsafe extern "C" fn sio_queue_new(out: *mut *mut sio_queue) -> c_int {
    ffi_guard!({
        let out = out_ptr(out, "out")?;
        put(
            out,
            sio_queue {
                q: EventQueue::new()?,
            },
        );
        Ok(())
    })
}

/// Stores in `*fd` a file descriptor that is readable while callbacks wait
/// in the queue, for `poll`/`epoll`/`select`. Only wait on it; never read,
/// write or close it (`sio_queue_poll` drains it). -1 off POSIX systems.
#[no_mangle]
pub unsafe extern "C" fn sio_queue_fd(queue: *const sio_queue, fd: *mut c_int) -> c_int {
    ffi_guard!({
        let q = href(queue, "queue")?;
        let fd = out_ptr(fd, "fd")?;
        *fd = q.q.fd().unwrap_or(-1);
        Ok(())
    })
}

/// Runs the callbacks waiting in the queue, on the calling thread, in
/// order. If none waits, first waits up to `timeout_ms` milliseconds for one
/// (0: do not wait; negative: wait as long as it takes). Stores how many ran
/// in `*n_run` (may be NULL). Callbacks may call any `sio_` function,
/// `sio_queue_poll` included. Poll a queue from one thread: the order of
/// callbacks is kept only then.
#[no_mangle]
pub unsafe extern "C" fn sio_queue_poll(
    queue: *const sio_queue,
    timeout_ms: c_int,
    n_run: *mut usize,
) -> c_int {
    ffi_guard!({
        let q = href(queue, "queue")?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let n = q.q.poll(timeout);
        if !n_run.is_null() {
            *n_run = n;
        }
        Ok(())
    })
}

/// Closes and releases a queue: the callbacks still waiting are dropped
/// without running (their user data is released), and so are those that
/// servers and clients still using it queue later. Free it only after
/// closing those, or when dropping their events is what you want. NULL is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn sio_queue_free(queue: *mut sio_queue) {
    super::ffi_guard_or!((), {
        if let Some(q) = queue.as_ref() {
            q.q.close();
        }
        free_handle(queue)
    })
}
