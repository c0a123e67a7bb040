//! Broadcasts: the JS layer collects the operators (`to`, `except`,
//! `local`, ...) and hands them over in one [`BroadcastSpec`] with the
//! final action.

use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use socketio_ffi::embed::{Broadcast, FetchedSocket, Value};

use crate::dispatch::{Dispatcher, Event, EventKind};
use crate::socket::{completion, SockRef};
use crate::{decode, js_err, millis};

/// The operators of a broadcast.
#[napi(object)]
pub struct BroadcastSpec {
    /// Target rooms (none: everyone).
    pub rooms: Vec<String>,
    /// Excluded rooms.
    pub except: Vec<String>,
    /// Only this server's sockets.
    pub local: bool,
    /// Dropped for sockets whose buffer is full.
    pub volatile: bool,
    /// Compression hint.
    pub compress: Option<bool>,
    /// How long `emitWithAck` waits, in milliseconds.
    pub timeout: Option<f64>,
}

/// Applies the operators to a base broadcast.
pub(crate) fn apply(mut b: Broadcast, spec: &BroadcastSpec) -> Broadcast {
    for r in &spec.rooms {
        b = b.to(r);
    }
    for r in &spec.except {
        b = b.except(r);
    }
    if spec.local {
        b = b.local();
    }
    if spec.volatile {
        b = b.volatile();
    }
    if let Some(c) = spec.compress {
        b = b.compress(c);
    }
    if let Some(t) = spec.timeout {
        b = b.timeout(millis(t));
    }
    b
}

/// Emits to the selected sockets.
pub(crate) fn emit(b: Broadcast, event: &str, json: &str, bins: &[Buffer]) -> napi::Result<()> {
    let args = decode(json, bins)?;
    b.emit(event, args).map_err(js_err)
}

/// Emits with acknowledgements; callback `cb` gets one argument, the
/// array of the first argument of each answer (the reference's
/// `responses`), as a success or with the timeout error.
pub(crate) fn emit_with_ack(
    b: Broadcast,
    disp: &Arc<Dispatcher>,
    event: &str,
    json: &str,
    bins: &[Buffer],
    cb: u32,
) -> napi::Result<()> {
    let args = decode(json, bins)?;
    let d = disp.clone();
    b.emit_with_ack(event, args, move |r| {
        let ev = match r {
            Ok(rep) => {
                let k = if rep.is_complete() {
                    EventKind::Done
                } else {
                    EventKind::Failed
                };
                let responses = Value::Array(
                    rep.replies
                        .into_iter()
                        .map(|(_, a)| a.into_iter().next().unwrap_or(Value::Null))
                        .chain(rep.remote)
                        .collect(),
                );
                let mut ev = Event::new(k, cb).args(&[responses]);
                if k == EventKind::Failed {
                    ev.name = Some("operation has timed out".into());
                }
                Ok(ev)
            }
            Err(e) => Err(e),
        };
        d.send(completion(cb, ev));
    });
    Ok(())
}

/// What `bcastAct` does to the selected sockets; an unknown name from JS
/// is a `TypeError` before anything happens.
#[napi(string_enum = "lowercase")]
pub enum BroadcastAction {
    /// Make them join the rooms.
    Join,
    /// Make them leave the rooms.
    Leave,
    /// Disconnect them (with the close flag: their connections).
    Disconnect,
    /// Hand them to the callback (`fetchSockets`).
    Fetch,
}

/// The actions on the selected sockets.
pub(crate) fn act(
    b: Broadcast,
    disp: &Arc<Dispatcher>,
    act: BroadcastAction,
    rooms: &[String],
    flag: bool,
    cb: u32,
) {
    match act {
        BroadcastAction::Join => rooms.iter().for_each(|r| b.join(r)),
        BroadcastAction::Leave => rooms.iter().for_each(|r| b.leave(r)),
        BroadcastAction::Disconnect => b.disconnect(flag),
        BroadcastAction::Fetch => {
            // The cluster's sockets: this server's as handles, the others'
            // described in the argument (`RemoteSocket`s in JS).
            let d = disp.clone();
            b.fetch_all_sockets(move |r| {
                let ev = r.map(|found| {
                    let (mut local, mut remote) = (Vec::new(), Vec::new());
                    for f in found {
                        match f {
                            FetchedSocket::Local(s) => local.push(SockRef::new(s, &d)),
                            FetchedSocket::Remote(v) => remote.push(v),
                        }
                    }
                    let mut ev = Event::new(EventKind::Done, cb).args(&[Value::Array(remote)]);
                    ev.sockets = Some(local);
                    ev
                });
                d.send(completion(cb, ev));
            });
        }
    }
}
