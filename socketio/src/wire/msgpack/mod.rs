//! msgpack over [`Value`] as the npm libraries of Socket.IO peers write and
//! read it: `notepack.io` 2.2 (`socket.io-msgpack-parser`), `notepack.io` 3
//! (the Redis adapters) and `@msgpack/msgpack` 2.8 (the Redis Streams
//! adapter).
//!
//! # Writing
//!
//! The three write the same bytes for everything a [`Value`] holds, so one
//! [`Writer`] serves every format:
//! * maps in insertion order, strings as `str` (fixstr/str 8/16/32), buffers
//!   as `bin`;
//! * integers, including integral `f64`s (JS cannot tell `1` from `1.0`), in
//!   the smallest format, unsigned ones for `>= 0` and signed ones below;
//!   other numbers as float 64.
//!
//! One deliberate difference: integral doubles outside `[-2^63, 2^64)` are
//! written as float 64, where notepack wraps them into a 64-bit integer
//! (`1e300` becomes `0`).
//!
//! A string, buffer, array or map of `2^32` or more bytes or elements has no
//! msgpack form (notepack throws): writing one is a [`TooLarge`] error.
//!
//! # Reading
//!
//! [`decode`] accepts all of msgpack and maps it to [`Value`] the way the JS
//! side would see it after `JSON.stringify`: NaN and infinities become
//! `null`, invalid UTF-8 is replaced with U+FFFD as `Buffer#toString` does,
//! JS `undefined` is a missing key in a map and `null` in an array.
//! Extension types and non-string map keys depend on the peer, see
//! [`Dialect`]. Nesting is bounded ([`MAX_DEPTH`]) and a forged length
//! never allocates more than the input holds.

mod read;
mod write;

pub(crate) use read::{decode, decode_shared, Dialect};
pub(crate) use write::{TooLarge, Writer};

/// How deep arrays and maps may nest, the outermost one included; the JSON
/// parser allows the same, and it keeps the recursion off the end of the
/// stack.
pub(crate) const MAX_DEPTH: usize = 128;

/// Every integral `f64` in `[-2^63, 2^64)` is exact as an `i64` or `u64`.
pub(crate) const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
/// See [`TWO_POW_63`].
pub(crate) const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
