//! The native half of the `socketio-rs` npm package: socket.io's server and
//! client on the Rust core, through the embedding layer of `socketio-ffi`.
//!
//! The JS layer (`index.js`) gives the socket.io API; this module gives it
//! handles (server, namespaces, sockets, clients) and feeds every event to
//! one JS dispatcher function per server or client (see [`dispatch`]).
//! Payloads cross as a JSON array with binary placeholders plus a list of
//! buffers, the socket.io-parser convention, so the JS layer uses
//! `JSON.stringify`/`JSON.parse` semantics exactly as socket.io does.

#![deny(clippy::unwrap_used, clippy::expect_used)]

// Public: its items are called from JS only (napi), never from Rust.
mod acks;
pub mod admin;
mod broadcast;
mod client;
mod dispatch;
mod emitter;
mod engine;
mod server;
mod socket;

use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use socketio_ffi::embed::{payload, Error, Value};

/// The cargo profile the addon was compiled with: `'release'` (optimised,
/// what `npm install` builds) or `'debug'` (`npm run build:debug`, the test
/// script's build), told by `debug_assertions`.
#[napi(ts_return_type = "'release' | 'debug'")]
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// A JS error with the embedding layer's message.
pub(crate) fn js_err(e: Error) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

/// A bad argument as a JS error with the embedding layer's message alone
/// (`unknown transport "x"`), as the JS layer words its own.
pub(crate) fn argument_err(e: Error) -> napi::Error {
    match e {
        Error::InvalidArgument(m) => napi::Error::from_reason(m),
        other => js_err(other),
    }
}

/// Arguments from the JS layer: a JSON array plus buffers.
pub(crate) fn decode(json: &str, bins: &[Buffer]) -> napi::Result<Vec<Value>> {
    let slices: Vec<&[u8]> = bins.iter().map(|b| &b[..]).collect();
    payload::decode(Some(json), &slices).map_err(js_err)
}

/// Milliseconds from JS (any number) as a duration; negative and NaN are 0.
pub(crate) fn millis(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64((ms / 1000.0).min(1e9))
    } else if ms == f64::INFINITY {
        Duration::from_secs(1_000_000_000)
    } else {
        Duration::ZERO
    }
}
