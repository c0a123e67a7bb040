//! Reading the options dict `socketio_rs` passes down.

use std::sync::Arc;
use std::time::Duration;

use engineio::server::{Cors, CorsOrigin};

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sio_core::server::ClientBundleError;
use socketio::embed::{RedisFlavour, RedisOptions, ServerOptions, TransportType};

/// The browser client's files (`serve_client`), read from the npm package
/// socket.io-client when the Python server is made, so a missing bundle
/// fails there.
#[pyclass(frozen, module = "socketio_rs._native")]
pub struct ClientBundle {
    bundle: sio_core::ClientBundle,
}

#[pymethods]
impl ClientBundle {
    /// Reads the bundle of the package in `dir` (or of its `dist/`).
    #[new]
    fn new(dir: std::path::PathBuf) -> PyResult<Self> {
        let bundle = sio_core::ClientBundle::load(&dir).map_err(|e| match e {
            ClientBundleError::NotFound(_) | ClientBundleError::MissingFiles { .. } => {
                PyFileNotFoundError::new_err(e.to_string())
            }
            ClientBundleError::Io { .. } => PyOSError::new_err(e.to_string()),
            _ => PyValueError::new_err(e.to_string()),
        })?;
        Ok(ClientBundle { bundle })
    }

    /// The package's version, the files' ETag.
    #[getter]
    fn version(&self) -> &str {
        self.bundle.version()
    }

    /// The folder the files were read from.
    #[getter]
    fn dir(&self) -> std::path::PathBuf {
        self.bundle.dir().to_path_buf()
    }
}

/// The value of `key`, if present and not None.
pub fn opt<'py, T: FromPyObjectOwned<'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(v.extract::<T>().map_err(|e| {
            let e: PyErr = e.into();
            PyValueError::new_err(format!("option {key}: {e}"))
        })?)),
        _ => Ok(None),
    }
}

/// A duration given in seconds (int or float).
pub fn secs(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Duration>> {
    match opt::<f64>(d, key)? {
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(_) => Err(PyValueError::new_err(format!(
            "option {key} must be a non-negative number of seconds"
        ))),
        None => Ok(None),
    }
}

/// The server's options from the dict `socketio_rs` passes.
pub fn server_options(options: &Bound<'_, PyDict>) -> PyResult<ServerOptions> {
    let mut o = ServerOptions::default();
    if let Some(redis) = opt::<Bound<'_, PyDict>>(options, "redis")? {
        let url: String = opt(&redis, "url")?
            .ok_or_else(|| PyValueError::new_err("option redis: the url is missing"))?;
        let flavour: String = opt(&redis, "flavour")?.unwrap_or_else(|| "classic".into());
        o.redis = Some(RedisOptions {
            url,
            key: opt(&redis, "key")?,
            flavour: RedisFlavour::parse(&flavour)
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
            requests_timeout: None,
        });
    }
    if opt::<bool>(options, "msgpack")?.unwrap_or(false) {
        o.msgpack(true);
    }
    let c = &mut o.config;
    if let Some(p) = opt::<String>(options, "path")? {
        c.engine.path = p;
    }
    if let Some(t) = secs(options, "ping_interval")? {
        c.engine.ping_interval = t;
    }
    if let Some(t) = secs(options, "ping_timeout")? {
        c.engine.ping_timeout = t;
    }
    if let Some(t) = secs(options, "upgrade_timeout")? {
        c.engine.upgrade_timeout = t;
    }
    if let Some(n) = opt::<usize>(options, "max_http_buffer_size")? {
        c.engine.max_http_buffer_size = n;
    }
    if let Some(b) = opt::<bool>(options, "allow_upgrades")? {
        c.engine.allow_upgrades = b;
    }
    if let Some(t) = opt::<Vec<String>>(options, "transports")? {
        c.engine.transports = transports(&t)?;
    }
    if let Some(n) = opt::<Option<usize>>(options, "compression_threshold")? {
        c.engine.http_compression_threshold = n;
    }
    if let Some(n) = opt::<usize>(options, "max_connections")? {
        c.engine.max_connections = Some(n);
    }
    if let Some(t) = secs(options, "connect_timeout")? {
        c.connect_timeout = t;
    }
    if let Some(t) = secs(options, "ack_timeout")? {
        c.ack_timeout = t;
    }
    c.engine.cors = cors(options)?;
    if let Some(v) = options.get_item("serve_client")? {
        if !v.is_none() {
            let bundle = v.cast::<ClientBundle>().map_err(|_| {
                PyTypeError::new_err("option serve_client: a socketio_rs._native.ClientBundle")
            })?;
            c.serve_client = Some(bundle.get().bundle.clone());
        }
    }
    if let Some(d) = opt::<Bound<'_, PyDict>>(options, "cookie")? {
        c.engine.cookie = Some(
            engineio::server::Cookie::default()
                .name(opt::<String>(&d, "name")?.unwrap_or_else(|| "io".into()))
                .path(opt(&d, "path")?)
                .http_only(opt(&d, "http_only")?.unwrap_or(false))
                .same_site(opt(&d, "same_site")?)
                .secure(opt(&d, "secure")?.unwrap_or(false))
                .max_age(opt(&d, "max_age")?)
                .domain(opt(&d, "domain")?),
        );
    }
    Ok(o)
}

/// python-engineio's origin policy from `cors_allowed_origins` and
/// `cors_credentials`: absent or None, only the server's own origin; `'*'`
/// (alone or in a list), any origin; a string or list, those origins; a
/// callable, what it answers; `[]`, no CORS handling at all. Every policy but
/// the last refuses a request carrying another origin with 400, WebSocket
/// included, as python-engineio does.
fn cors(options: &Bound<'_, PyDict>) -> PyResult<Option<Cors>> {
    let credentials = opt::<bool>(options, "cors_credentials")?.unwrap_or(true);
    let origin = match options.get_item("cors_allowed_origins")? {
        None => CorsOrigin::SameOrigin,
        Some(v) if v.is_none() => CorsOrigin::SameOrigin,
        Some(v) if v.is_instance_of::<PyString>() => {
            let s: String = v.extract()?;
            if s == "*" {
                CorsOrigin::Reflect
            } else {
                CorsOrigin::List(vec![s])
            }
        }
        Some(v) if v.is_callable() => callable_origin(v.unbind()),
        Some(v) => {
            let list: Vec<String> = v.extract().map_err(|_| {
                PyTypeError::new_err(
                    "cors_allowed_origins must be None, '*', a string, a list of strings \
                     or a callable",
                )
            })?;
            if list.is_empty() {
                return Ok(None);
            }
            if list.iter().any(|o| o == "*") {
                CorsOrigin::Reflect
            } else {
                CorsOrigin::List(list)
            }
        }
    };
    Ok(Some(Cors {
        origin,
        credentials,
        methods: "OPTIONS, GET, POST".into(),
        refuse_disallowed: true,
        ..Cors::default()
    }))
}

/// A Python callable deciding origins: called as python-engineio calls it,
/// `f(origin, environ)`, or `f(origin)` when it takes one argument, on a
/// blocking thread so no runtime worker waits for the interpreter. An
/// exception refuses the origin (fails closed) and is logged.
fn callable_origin(f: Py<PyAny>) -> CorsOrigin {
    let f = Arc::new(f);
    CorsOrigin::Callback(Arc::new(move |origin, req| {
        let f = f.clone();
        let origin = origin.map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                Python::attach(|py| {
                    let call = || -> PyResult<bool> {
                        let environ = environ(py, &req)?;
                        let r = match f.call1(py, (origin.clone(), environ)) {
                            Err(e) if e.is_instance_of::<PyTypeError>(py) => {
                                f.call1(py, (origin.clone(),))?
                            }
                            r => r?,
                        };
                        r.bind(py).is_truthy()
                    };
                    call().unwrap_or_else(|e| {
                        e.print(py);
                        false
                    })
                })
            })
            .await
            .unwrap_or(false)
            .into()
        })
    }))
}

/// The WSGI-style environ of a request, as python-engineio hands its origin
/// callables.
fn environ<'py>(
    py: Python<'py>,
    req: &engineio::server::RequestInfo,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("REQUEST_METHOD", req.method.as_str())?;
    d.set_item("PATH_INFO", req.uri.path())?;
    d.set_item("QUERY_STRING", req.uri.query().unwrap_or(""))?;
    d.set_item(
        "wsgi.url_scheme",
        if req.secure() { "https" } else { "http" },
    )?;
    if let Some(addr) = req.remote_addr {
        d.set_item("REMOTE_ADDR", addr.ip().to_string())?;
    }
    for (name, value) in req.headers.iter() {
        let key = name.as_str().to_ascii_uppercase().replace('-', "_");
        let key = match key.as_str() {
            "CONTENT_TYPE" | "CONTENT_LENGTH" => key,
            _ => format!("HTTP_{key}"),
        };
        d.set_item(key, String::from_utf8_lossy(value.as_bytes()))?;
    }
    Ok(d)
}

/// Transport names to transports.
pub fn transports(names: &[String]) -> PyResult<Vec<TransportType>> {
    if names.is_empty() {
        return Err(PyValueError::new_err("at least one transport is needed"));
    }
    names
        .iter()
        .map(|t| match t.as_str() {
            "polling" => Ok(TransportType::Polling),
            "websocket" => Ok(TransportType::Websocket),
            other => Err(PyValueError::new_err(format!(
                "unknown transport {other:?}"
            ))),
        })
        .collect()
}
