//! Reading the options dict `socketio_rs` passes down.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use socketio::embed::{RedisFlavour, RedisOptions, ServerOptions, TransportType};

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
    if let Some(origins) = opt::<Option<Vec<String>>>(options, "cors_allowed_origins")? {
        c.engine.cors = origins.map(|list| engineio::server::Cors {
            origin: if list.iter().any(|o| o == "*") {
                engineio::server::CorsOrigin::Any
            } else {
                engineio::server::CorsOrigin::List(list)
            },
            credentials: opt::<bool>(options, "cors_credentials")
                .ok()
                .flatten()
                .unwrap_or(true),
            ..Default::default()
        });
    }
    Ok(o)
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
