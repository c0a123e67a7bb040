//! socketio-rs for other languages.
//!
//! - [`embed`]: the embedding layer, safe Rust — the runtime, handles,
//!   callbacks (direct or queued), completions and dynamic payloads that the
//!   C API and the Python and Node bindings are built on.
//! - [`capi`] (feature `capi`, on by default): the `extern "C"` functions of
//!   `include/socketio.h`, prefix `sio_`.

#![warn(missing_docs)]

pub mod embed;

#[cfg(feature = "capi")]
pub mod capi;
