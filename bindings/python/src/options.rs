//! Reading the options dict `socketio_rs` passes down.

use std::sync::Arc;
use std::time::Duration;

use engineio::server::{Cors, CorsOrigin};

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sio_core::server::ClientBundleError;
use socketio::embed::options::{
    parse_parser, parse_transports, Api, OptionType, OptionValue, ServerOption, SERVER_OPTIONS,
};
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

/// The server's options from the dict `socketio_rs` passes, keyed by
/// python-socketio's and python-engineio's keywords; what each one sets is
/// the embedding layer's option table's to say. A key the table does not
/// know is a `ValueError`.
pub fn server_options(options: &Bound<'_, PyDict>) -> PyResult<ServerOptions> {
    for key in options.keys() {
        let key: String = key.extract()?;
        ServerOption::find(Api::Python, &key).map_err(value_error)?;
    }
    let mut o = ServerOptions::default();
    // python-engineio's policy when `cors_allowed_origins` is absent or None:
    // the server's own origin only.
    let same_origin = OptionValue::Cors(Some(cors_policy(CorsOrigin::SameOrigin)));
    o.set(Api::Python, "cors_allowed_origins", same_origin)
        .map_err(value_error)?;
    // In the table's order, which applies the CORS credentials after the
    // policy they belong to.
    for option in SERVER_OPTIONS {
        let Some(key) = option.python else { continue };
        let Some(v) = options.get_item(key)? else {
            continue;
        };
        let value = if !v.is_none() {
            read(option.option_type, key, &v)?
        } else if option.option_type == OptionType::Limit {
            // None lifts a limit (`compression_threshold=None`: no
            // compression), where it would otherwise keep the default.
            OptionValue::Limit(None)
        } else {
            continue;
        };
        option.apply(&mut o, value).map_err(value_error)?;
    }
    Ok(o)
}

/// A Python value as a value of the option `key`, whose type is `ty`.
fn read(ty: OptionType, key: &str, v: &Bound<'_, PyAny>) -> PyResult<OptionValue> {
    Ok(match ty {
        OptionType::Bool => OptionValue::Bool(extract(key, v)?),
        OptionType::Count => OptionValue::Count(extract(key, v)?),
        OptionType::Limit => OptionValue::Limit(Some(extract(key, v)?)),
        OptionType::Duration => OptionValue::Duration(seconds(key, extract(key, v)?)?),
        OptionType::Text => OptionValue::Text(extract(key, v)?),
        OptionType::Transports => {
            let names: Vec<String> = extract(key, v)?;
            OptionValue::Transports(transports(&names)?)
        }
        OptionType::Cors => OptionValue::Cors(cors(v)?),
        OptionType::ClientBundle => {
            let bundle = v.cast::<ClientBundle>().map_err(|_| {
                PyTypeError::new_err(format!("option {key}: a socketio_rs._native.ClientBundle"))
            })?;
            OptionValue::ClientBundle(Some(bundle.get().bundle.clone()))
        }
        OptionType::Cookie => {
            let d: Bound<'_, PyDict> = extract(key, v)?;
            OptionValue::Cookie(Some(
                engineio::server::Cookie::default()
                    .name(opt::<String>(&d, "name")?.unwrap_or_else(|| "io".into()))
                    .path(opt(&d, "path")?)
                    .http_only(opt(&d, "http_only")?.unwrap_or(false))
                    .same_site(opt(&d, "same_site")?)
                    .secure(opt(&d, "secure")?.unwrap_or(false))
                    .max_age(opt(&d, "max_age")?)
                    .domain(opt(&d, "domain")?),
            ))
        }
        OptionType::Redis => {
            let d: Bound<'_, PyDict> = extract(key, v)?;
            let url: String = opt(&d, "url")?.ok_or_else(|| {
                PyValueError::new_err(format!("option {key}: the url is missing"))
            })?;
            let flavour: String = opt(&d, "flavour")?.unwrap_or_else(|| "classic".into());
            OptionValue::Redis(Some(RedisOptions {
                key: opt(&d, "key")?,
                ..RedisOptions::new(url, RedisFlavour::parse(&flavour).map_err(value_error)?)
            }))
        }
        OptionType::Parser => {
            let name: String = extract(key, v)?;
            OptionValue::Parser(parse_parser(&name).map_err(value_error)?)
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "option {key}: {other} cannot be given from Python"
            )))
        }
    })
}

/// `v` as a `T`; a `ValueError` naming `key` when it is not one.
fn extract<'py, T: FromPyObjectOwned<'py>>(key: &str, v: &Bound<'py, PyAny>) -> PyResult<T> {
    v.extract::<T>().map_err(|e| {
        let e: PyErr = e.into();
        PyValueError::new_err(format!("option {key}: {e}"))
    })
}

/// The value of `key`, if present and not None.
pub fn opt<'py, T: FromPyObjectOwned<'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(extract(key, &v)?)),
        _ => Ok(None),
    }
}

/// A duration given in seconds (int or float).
pub fn secs(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Duration>> {
    opt::<f64>(d, key)?.map(|s| seconds(key, s)).transpose()
}

fn seconds(key: &str, s: f64) -> PyResult<Duration> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(PyValueError::new_err(format!(
            "option {key} must be a non-negative number of seconds"
        )))
    }
}

/// An error of the embedding layer's options as a `ValueError` with its
/// message.
fn value_error(e: socketio::embed::Error) -> PyErr {
    match e {
        socketio::embed::Error::InvalidArgument(m) => PyValueError::new_err(m),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// python-engineio's origin policy from `cors_allowed_origins`: `'*'`
/// (alone or in a list), any origin; a string or list, those origins; a
/// callable, what it answers; `[]`, no CORS handling at all. Every policy but
/// the last refuses a request carrying another origin with 400, WebSocket
/// included, as python-engineio does. `cors_credentials` is applied after.
fn cors(v: &Bound<'_, PyAny>) -> PyResult<Option<Cors>> {
    let origin = if v.is_instance_of::<PyString>() {
        let s: String = v.extract()?;
        if s == "*" {
            CorsOrigin::Reflect
        } else {
            CorsOrigin::List(vec![s])
        }
    } else if v.is_callable() {
        callable_origin(v.clone().unbind())
    } else {
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
    };
    Ok(Some(cors_policy(origin)))
}

/// python-engineio's CORS answers for `origin`, with credentials (until
/// `cors_credentials` says otherwise).
fn cors_policy(origin: CorsOrigin) -> Cors {
    Cors {
        origin,
        credentials: true,
        methods: "OPTIONS, GET, POST".into(),
        refuse_disallowed: true,
        ..Cors::default()
    }
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
    parse_transports(names).map_err(value_error)
}
