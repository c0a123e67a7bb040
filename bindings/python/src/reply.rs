//! One-shot answers handed to Python: [`Pending`] (the outcome of an
//! acknowledged emit or a connection), [`AckReply`] (answers a peer's ack
//! request), [`ConnectReply`] (accepts or refuses a connection).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use socketio::embed::{Ack, Error, Next, Value};

use crate::convert::{to_py, to_py_list, to_value, to_values};
use crate::pool::{deliver, unique_key, Pool};

/// An error as Python sees it: `(kind, message, data)`, kind one of
/// `timeout`, `disconnected`, `refused`, `error`.
pub fn error_tuple<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyTuple>> {
    let (kind, data) = match e {
        Error::Timeout => ("timeout", None),
        Error::Disconnected => ("disconnected", None),
        Error::Refused { data, .. } => ("refused", data.as_ref()),
        _ => ("error", None),
    };
    let data = match data {
        Some(d) => to_py(py, d)?,
        None => py.None().into_bound(py),
    };
    PyTuple::new(
        py,
        [
            kind.into_pyobject(py)?.into_any(),
            e.to_string().into_pyobject(py)?.into_any(),
            data,
        ],
    )
}

/// The outcome of an operation as Python sees it: `(None, args)` or
/// `(error_tuple, None)`.
fn outcome<'py>(py: Python<'py>, r: &Result<Vec<Value>, Error>) -> PyResult<Bound<'py, PyTuple>> {
    match r {
        Ok(args) => PyTuple::new(
            py,
            [py.None().into_bound(py), to_py_list(py, args)?.into_any()],
        ),
        Err(e) => PyTuple::new(
            py,
            [error_tuple(py, e)?.into_any(), py.None().into_bound(py)],
        ),
    }
}

type Slot = (Mutex<Option<Result<Vec<Value>, Error>>>, Condvar);

/// The outcome of an asynchronous operation, waited for with
/// [`Pending::wait`] (the interpreter is released meanwhile) or delivered
/// to the pool's sink as `("done", token, outcome)`.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct Pending {
    slot: Arc<Slot>,
}

/// Completes a [`Pending`].
pub struct Completer {
    slot: Arc<Slot>,
    notify: Option<(Pool, u64)>,
}

impl Pending {
    /// A pending outcome; with a token, the outcome is also delivered to the
    /// pool's sink.
    pub fn new(pool: &Pool, token: Option<u64>) -> (Pending, Completer) {
        let slot: Arc<Slot> = Arc::new((Mutex::new(None), Condvar::new()));
        (
            Pending { slot: slot.clone() },
            Completer {
                slot,
                notify: token.map(|t| (pool.clone(), t)),
            },
        )
    }

    /// An outcome known now.
    pub fn ready(pool: &Pool, token: Option<u64>, r: Result<Vec<Value>, Error>) -> Pending {
        let (p, c) = Pending::new(pool, token);
        c.complete(r);
        p
    }
}

impl Completer {
    /// Stores the outcome, wakes waiters, notifies the sink.
    pub fn complete(self, r: Result<Vec<Value>, Error>) {
        if let Some((pool, token)) = &self.notify {
            let copy = r.clone();
            let token = *token;
            pool.push(
                unique_key(),
                Box::new(move |py, sink| {
                    let ev = outcome(py, &copy).and_then(|o| {
                        Ok(PyTuple::new(
                            py,
                            [
                                "done".into_pyobject(py)?.into_any(),
                                token.into_pyobject(py)?.into_any(),
                                o.into_any(),
                            ],
                        )?
                        .into_any())
                    });
                    deliver(py, sink, ev);
                }),
            );
        }
        *self.slot.0.lock() = Some(r);
        self.slot.1.notify_all();
    }
}

#[pymethods]
impl Pending {
    /// Waits up to `timeout` seconds (`None`: as long as it takes) with the
    /// interpreter released; returns `(None, args)`, `(error, None)`, or
    /// `None` if the time ran out.
    #[pyo3(signature = (timeout = None))]
    fn wait<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let deadline = timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)));
        let slot = self.slot.clone();
        let r = py.detach(move || {
            let mut g = slot.0.lock();
            loop {
                if let Some(r) = g.as_ref() {
                    return Some(r.clone());
                }
                match deadline {
                    None => slot.1.wait(&mut g),
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            return None;
                        }
                        // Short slices: a Ctrl-C in the waiting thread is seen soon.
                        let step = (d - now).min(Duration::from_millis(200));
                        slot.1.wait_for(&mut g, step);
                    }
                }
            }
        });
        r.map(|r| outcome(py, &r)).transpose()
    }

    /// True once the outcome is known.
    fn done(&self) -> bool {
        self.slot.0.lock().is_some()
    }
}

/// Answers a peer's acknowledgement request, once.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct AckReply {
    ack: Mutex<Option<Ack>>,
}

impl AckReply {
    /// Wraps an embed ack.
    pub fn new(ack: Ack) -> AckReply {
        AckReply {
            ack: Mutex::new(Some(ack)),
        }
    }
}

#[pymethods]
impl AckReply {
    /// Sends the acknowledgement with these arguments (a list); later calls
    /// do nothing. Returns whether it was sent.
    fn send(&self, py: Python<'_>, args: &Bound<'_, PyAny>) -> PyResult<bool> {
        let args = to_values(args)?;
        self.send_values(py, args)
    }

    /// Sends a handler's return value as the acknowledgement: a tuple as
    /// its arguments, None as none, anything else as the one argument (as
    /// python-socketio). Spares the handler's caller building the list.
    fn reply(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        let args = if value.is_none() {
            Vec::new()
        } else if value.is_instance_of::<PyTuple>() {
            to_values(value)?
        } else {
            vec![to_value(value)?]
        };
        self.send_values(py, args)
    }
}

impl AckReply {
    fn send_values(&self, py: Python<'_>, args: Vec<Value>) -> PyResult<bool> {
        let Some(ack) = self.ack.lock().take() else {
            return Ok(false);
        };
        Ok(py.detach(move || ack.send(args)).is_ok())
    }
}

/// Called when a connection is settled (to drop the bookkeeping of a
/// refused one).
pub type OnSettle = Box<dyn FnOnce(bool) + Send>;

/// Accepts or refuses a connection, once; dropped unanswered, it refuses.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct ConnectReply {
    inner: Mutex<Option<(Next, OnSettle)>>,
}

impl ConnectReply {
    /// Wraps a middleware's answer.
    pub fn new(next: Next, on_settle: OnSettle) -> ConnectReply {
        ConnectReply {
            inner: Mutex::new(Some((next, on_settle))),
        }
    }
}

#[pymethods]
impl ConnectReply {
    /// Lets the connection in.
    fn accept(&self) {
        if let Some((next, settle)) = self.inner.lock().take() {
            settle(true);
            next.accept();
        }
    }

    /// Refuses the connection: the client gets `connect_error` with this
    /// message and data.
    #[pyo3(signature = (message, data = None))]
    fn refuse(&self, message: &str, data: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let data = data.filter(|d| !d.is_none()).map(to_value).transpose()?;
        if let Some((next, settle)) = self.inner.lock().take() {
            settle(false);
            next.refuse(message, data);
        }
        Ok(())
    }
}

impl Drop for ConnectReply {
    fn drop(&mut self) {
        if let Some((next, settle)) = self.inner.lock().take() {
            settle(false);
            next.refuse("connection handler did not answer", None);
        }
    }
}

/// A tuple of Python objects, for events.
pub fn tuple<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyTuple::new(py, items)?.into_any())
}

/// The acknowledgement handed to Python: an `AckReply`, or None when the
/// peer asked for none.
pub(crate) fn ack_object(
    py: Python<'_>,
    ack: Option<socketio::embed::Ack>,
) -> PyResult<Bound<'_, PyAny>> {
    Ok(match ack {
        Some(a) => Py::new(py, AckReply::new(a))?.into_bound(py).into_any(),
        None => py.None().into_bound(py),
    })
}
