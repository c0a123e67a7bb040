//! `NativeEmitter`: the Redis emitter under a write-only
//! `socketio_rs.RedisManager(url, write_only=True, flavour='classic')`. It
//! publishes as `@socket.io/redis-emitter` does; each call blocks (with the
//! interpreter released) until Redis took the message.

use pyo3::prelude::*;
use socketio::embed::{Emitter, Runtime};

use crate::convert::to_values;
use crate::errors::to_pyerr;

/// An emitter connected to one Redis, for any namespace.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct NativeEmitter {
    root: Emitter,
}

impl NativeEmitter {
    /// The emitter of `namespace` aimed at `rooms` minus `except`.
    fn target(&self, namespace: &str, rooms: &[String], except: &[String]) -> Emitter {
        let mut e = self.root.of(namespace);
        for r in rooms {
            e = e.to(r);
        }
        for r in except {
            e = e.except(r);
        }
        e
    }
}

#[pymethods]
impl NativeEmitter {
    /// Connects to the Redis at `url` with the servers' adapter key `key`
    /// (default `socket.io`); `OSError` when Redis cannot be reached.
    #[new]
    #[pyo3(signature = (url, key = None))]
    fn new(py: Python<'_>, url: &str, key: Option<&str>) -> PyResult<NativeEmitter> {
        let rt = Runtime::global().map_err(to_pyerr)?;
        let root = py
            .detach(|| Emitter::connect(&rt, url, key))
            .map_err(to_pyerr)?;
        Ok(NativeEmitter { root })
    }

    /// Emits `event` with `args` (a sequence) to the clients of `namespace`
    /// in any of `rooms` (all when empty) and in none of `except_rooms`.
    fn emit(
        &self,
        py: Python<'_>,
        namespace: &str,
        event: &str,
        args: &Bound<'_, PyAny>,
        rooms: Vec<String>,
        except_rooms: Vec<String>,
    ) -> PyResult<()> {
        let args = to_values(args)?;
        let e = self.target(namespace, &rooms, &except_rooms);
        py.detach(|| e.emit(event, args)).map_err(to_pyerr)
    }

    /// Makes the matching sockets join `room`.
    fn sockets_join(
        &self,
        py: Python<'_>,
        namespace: &str,
        rooms: Vec<String>,
        room: &str,
    ) -> PyResult<()> {
        let e = self.target(namespace, &rooms, &[]);
        py.detach(|| e.sockets_join(&[room])).map_err(to_pyerr)
    }

    /// Makes the matching sockets leave `room`.
    fn sockets_leave(
        &self,
        py: Python<'_>,
        namespace: &str,
        rooms: Vec<String>,
        room: &str,
    ) -> PyResult<()> {
        let e = self.target(namespace, &rooms, &[]);
        py.detach(|| e.sockets_leave(&[room])).map_err(to_pyerr)
    }

    /// Disconnects the matching sockets from `namespace`.
    fn disconnect_sockets(
        &self,
        py: Python<'_>,
        namespace: &str,
        rooms: Vec<String>,
        close: bool,
    ) -> PyResult<()> {
        let e = self.target(namespace, &rooms, &[]);
        py.detach(|| e.disconnect_sockets(close)).map_err(to_pyerr)
    }

    /// Sends `event` with `args` to the servers' server-side handlers.
    fn server_side_emit(
        &self,
        py: Python<'_>,
        namespace: &str,
        event: &str,
        args: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let args = to_values(args)?;
        let e = self.root.of(namespace);
        py.detach(|| e.server_side_emit(event, args))
            .map_err(to_pyerr)
    }
}
