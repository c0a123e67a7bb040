//! The acknowledgements a peer asked for and JS has not answered yet.
//!
//! An event asking for an acknowledgement reaches JS with a number, the
//! key of its [`Ack`] here, rather than with an object wrapping it: a class
//! instance per event (its wrapper, its reference, its finalizer) cost more
//! than the rest of a round trip's crossing into JS. JS answers with the
//! owner's `ack(key, …)`, and hands back the key of an answer it will never
//! send (`dropAck`, once its function is garbage) so nothing is held for
//! the connection's lifetime.

use napi::bindgen_prelude::Buffer;
use parking_lot::Mutex;
use slab::Slab;
use socketio_ffi::embed::Ack;

use crate::socket::sent;

/// The unanswered acknowledgements of one server or client. Only the JS
/// thread touches it (events become JS values there), so its lock is
/// never contended.
#[derive(Default)]
pub(crate) struct AckTable {
    acks: Mutex<Slab<Ack>>,
}

impl AckTable {
    /// Keeps `ack` until JS answers it; its key.
    pub fn insert(&self, ack: Ack) -> u32 {
        let key = self.acks.lock().insert(ack);
        // Keys are reused, densely: more than 2^32 outstanding answers
        // would need as many events held by JS at once.
        u32::try_from(key).unwrap_or(u32::MAX)
    }

    /// Sends the answer `key` stands for; a key already answered or
    /// dropped does nothing.
    pub fn send(&self, key: u32, json: &str, bins: Option<&[Buffer]>) -> napi::Result<()> {
        let args = crate::decode(json, bins.unwrap_or_default())?;
        let ack = self.acks.lock().try_remove(key as usize);
        if let Some(ack) = ack {
            sent(ack.send(args))?;
        }
        Ok(())
    }

    /// How many requests wait for JS.
    pub fn len(&self) -> usize {
        self.acks.lock().len()
    }

    /// Forgets `key` unanswered (its JS function was collected).
    pub fn drop_key(&self, key: u32) {
        let ack = self.acks.lock().try_remove(key as usize);
        drop(ack);
    }
}
