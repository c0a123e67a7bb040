//! Errors of the embedding layer as Python exceptions.

use pyo3::exceptions::{
    PyConnectionError, PyOSError, PyRuntimeError, PyTimeoutError, PyValueError,
};
use pyo3::PyErr;
use socketio::embed::Error;

/// The Python exception for an embedding-layer error.
pub fn to_pyerr(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidArgument(_) | Error::Limit(_) => PyValueError::new_err(msg),
        Error::Io(_) => PyOSError::new_err(msg),
        Error::Timeout => PyTimeoutError::new_err(msg),
        Error::Disconnected | Error::Refused { .. } => PyConnectionError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}
