//! What the UI may do to the server's sockets, as the reference's feature
//! handlers: `emit`, `join`, `leave` and `_disconnect`, each on a namespace
//! and optionally only on the sockets in a room (the "filter"), across the
//! cluster through the adapter. Not registered when read-only.

use std::sync::{Arc, Weak};

use crate::proto::Value;
use crate::server::{BroadcastOperator, ServerInner, Socket};

/// The UI's features, in the order the reference lists them.
pub(crate) const EMIT: &str = "EMIT";
pub(crate) const JOIN: &str = "JOIN";
pub(crate) const LEAVE: &str = "LEAVE";
pub(crate) const DISCONNECT: &str = "DISCONNECT";
pub(crate) const MJOIN: &str = "MJOIN";
pub(crate) const MLEAVE: &str = "MLEAVE";
pub(crate) const MDISCONNECT: &str = "MDISCONNECT";
pub(crate) const AGGREGATED_EVENTS: &str = "AGGREGATED_EVENTS";
pub(crate) const ALL_EVENTS: &str = "ALL_EVENTS";

/// Events a broadcast may not carry (the reference's `RESERVED_EVENTS`).
const RESERVED: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The features the UI is offered.
pub(crate) fn supported_features(readonly: bool, development: bool) -> Vec<&'static str> {
    let mut f = match readonly {
        true => Vec::new(),
        false => vec![EMIT, JOIN, LEAVE, DISCONNECT, MJOIN, MLEAVE, MDISCONNECT],
    };
    f.push(AGGREGATED_EVENTS);
    if development {
        f.push(ALL_EVENTS);
    }
    f
}

/// JavaScript's truthiness.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Binary(_) | Value::Array(_) | Value::Object(_) => true,
    }
}

/// Room names from a string or an array of strings.
fn rooms_of(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// The sockets an action targets: the namespace, narrowed to the filter's
/// rooms when the filter is truthy (as `if (filter) io.of(nsp).in(filter)`).
/// `None` for what the reference could not act on either (a namespace that
/// is not a string, a filter that is no room name).
fn target(
    server: &Weak<ServerInner>,
    nsp: Option<&Value>,
    filter: Option<&Value>,
) -> Option<BroadcastOperator> {
    let server = server.upgrade()?;
    let nsp = nsp?.as_str()?;
    // `io.of(nsp)`: created when missing, as in the reference, so that an
    // action reaches a namespace that only other servers of the cluster
    // have.
    let op = server.of(nsp).broadcast();
    match filter {
        Some(f) if truthy(f) => Some(op.in_(rooms_of(f)?)),
        _ => Some(op),
    }
}

/// Registers the UI's actions on an admin socket.
pub(crate) fn register(server: Weak<ServerInner>, socket: &Arc<Socket>) {
    let s = server.clone();
    // emit(nsp, filter, event, ...args)
    socket.on("emit", move |_, args, _| {
        let Some(op) = target(&s, args.first(), args.get(1)) else {
            return;
        };
        let Some(event) = args.get(2).and_then(Value::as_str) else {
            return;
        };
        if RESERVED.contains(&event) {
            tracing::debug!(event, "admin UI emit of a reserved event ignored");
            return;
        }
        let _ = op.emit_args(event, args.get(3..).unwrap_or_default().to_vec());
    });
    let s = server.clone();
    // join(nsp, room, filter)
    socket.on("join", move |_, args, _| {
        if let (Some(op), Some(rooms)) = (
            target(&s, args.first(), args.get(2)),
            args.get(1).and_then(rooms_of),
        ) {
            op.sockets_join(rooms);
        }
    });
    let s = server.clone();
    // leave(nsp, room, filter)
    socket.on("leave", move |_, args, _| {
        if let (Some(op), Some(rooms)) = (
            target(&s, args.first(), args.get(2)),
            args.get(1).and_then(rooms_of),
        ) {
            op.sockets_leave(rooms);
        }
    });
    // _disconnect(nsp, close, filter)
    socket.on("_disconnect", move |_, args, _| {
        if let Some(op) = target(&server, args.first(), args.get(2)) {
            op.disconnect_sockets(args.get(1).is_some_and(truthy));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_follow_readonly_and_mode() {
        assert_eq!(
            supported_features(false, true),
            [
                EMIT,
                JOIN,
                LEAVE,
                DISCONNECT,
                MJOIN,
                MLEAVE,
                MDISCONNECT,
                AGGREGATED_EVENTS,
                ALL_EVENTS
            ]
        );
        assert_eq!(
            supported_features(true, true),
            [AGGREGATED_EVENTS, ALL_EVENTS]
        );
        assert_eq!(supported_features(true, false), [AGGREGATED_EVENTS]);
    }

    #[test]
    fn truthiness_is_javascripts() {
        for v in [
            Value::Null,
            Value::Bool(false),
            Value::from(0),
            Value::from(""),
        ] {
            assert!(!truthy(&v), "{v:?}");
        }
        for v in [
            Value::Bool(true),
            Value::from(1),
            Value::from("a"),
            Value::Array(Vec::new()),
            Value::Object(Default::default()),
        ] {
            assert!(truthy(&v), "{v:?}");
        }
    }

    #[test]
    fn rooms_are_strings_or_arrays_of_strings() {
        assert_eq!(rooms_of(&Value::from("a")), Some(vec!["a".to_owned()]));
        assert_eq!(
            rooms_of(&Value::array([Value::from("a"), Value::from("b")])),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(rooms_of(&Value::array([Value::from(1)])), None);
        assert_eq!(rooms_of(&Value::from(1)), None);
    }
}
