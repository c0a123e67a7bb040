//! The native core of the `socketio_rs` Python package: python-socketio's
//! API (in the package's Python code) over the Rust Socket.IO server and
//! client of `ffi::embed`.
//!
//! Python code never runs on the tokio runtime's threads: events become
//! jobs on a [`pool::Pool`] of worker threads of our own, which attach to
//! the interpreter, build the Python objects and call the package's sink.
//! Calls from Python into Rust release the interpreter while Rust works.

mod asgi;
mod client;
mod convert;
mod emitter;
mod errors;
mod options;
mod pool;
mod reply;
mod server;
mod sockets;
mod wsgi;

use pyo3::prelude::*;

/// Converts a Python object to a value and back (for tests of the payload
/// conversion).
#[pyfunction]
fn roundtrip<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let v = convert::to_value(obj)?;
    convert::to_py(py, &v)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<pool::Pool>()?;
    m.add_class::<pool::LoopWaker>()?;
    m.add_class::<options::ClientBundle>()?;
    m.add_class::<server::NativeServer>()?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<emitter::NativeEmitter>()?;
    m.add_class::<reply::Pending>()?;
    m.add_class::<reply::AckReply>()?;
    m.add_class::<reply::ConnectReply>()?;
    m.add_class::<asgi::WsConn>()?;
    m.add_class::<wsgi::HttpCall>()?;
    m.add_class::<wsgi::WsgiSocket>()?;
    m.add_function(wrap_pyfunction!(roundtrip, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
