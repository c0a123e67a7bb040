//! What the server tells the UI as it happens: the Engine.IO counters and
//! aggregated events (every mode), and in development mode each socket's
//! connection, update, rooms, events and disconnection, as the reference's
//! `registerVerboseListeners` and `registerEngineListeners`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use engineio::server::TransportType;
use indexmap::IndexMap;

use crate::adapter::RoomEvent;
use crate::proto::Value;
use crate::server::client::{Client, EngineSocket};
use crate::server::observer::ServerObserver;
use crate::server::{Namespace, Socket};

use super::serialize::{admin_fields, data_without_admin, local_socket, now, ADMIN_KEY};
use super::AdminState;

impl ServerObserver for AdminState {
    fn raw_connection(&self, conn: &EngineSocket) {
        self.events.push("rawConnection", None, 1);
        self.counts.clients.fetch_add(1, Ordering::AcqRel);
        if conn.transport() == TransportType::Polling {
            self.counts.polling.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn raw_disconnection(&self, conn: &EngineSocket, reason: &'static str) {
        self.events.push("rawDisconnection", Some(reason), 1);
        self.counts.clients.fetch_sub(1, Ordering::AcqRel);
        // An upgraded session left the polling count when it upgraded.
        if conn.transport() == TransportType::Polling {
            self.counts.polling.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn upgraded(&self, conn: &EngineSocket) {
        self.counts.polling.fetch_sub(1, Ordering::AcqRel);
        if !self.development {
            return;
        }
        let transport = conn.transport().as_str();
        for socket in Client::sockets(conn) {
            if let Value::Object(mut data) = socket.data() {
                if let Some(Value::Object(admin)) = data.get_mut(ADMIN_KEY) {
                    admin.insert("transport".to_owned(), Value::from(transport));
                    socket.replace_data(Value::Object(data));
                }
            }
            let mut update = IndexMap::new();
            update.insert("id".to_owned(), Value::from(socket.id().as_str()));
            update.insert("nsp".to_owned(), Value::from(socket.nsp()));
            update.insert("transport".to_owned(), Value::from(transport));
            self.emit("socket_updated", vec![Value::Object(update)]);
        }
    }

    fn packet_in(&self, bytes: usize) {
        self.events.push("packetsIn", None, 1);
        self.events.push("bytesIn", None, bytes as u64);
    }

    fn packet_out(&self, bytes: usize) {
        self.events.push("packetsOut", None, 1);
        self.events.push("bytesOut", None, bytes as u64);
    }

    fn new_namespace(&self, ns: &Arc<Namespace>) {
        self.add_namespace(ns);
    }

    fn socket_connected(&self, socket: &Arc<Socket>) {
        if !self.development {
            return;
        }
        // As the reference: `data` becomes `{_admin: {clientId, transport},
        // ...what a middleware put there}`, so other servers of a cluster
        // can show the socket's client and transport.
        let mut data = IndexMap::new();
        data.insert(ADMIN_KEY.to_owned(), admin_fields(socket));
        match socket.data() {
            Value::Object(old) => {
                data.extend(old.into_iter().filter(|(k, _)| k != ADMIN_KEY));
                socket.replace_data(Value::Object(data));
            }
            Value::Null => socket.replace_data(Value::Object(data)),
            // Data that is not an object is left as it is.
            _ => {}
        }
        self.emit("socket_connected", vec![local_socket(socket), now()]);
        let nsp = Value::from(socket.nsp());
        if socket.nsp() != self.namespace_name {
            // The same report for both directions, under the UI's names.
            let report = |name: &'static str| {
                let me = self.weak();
                let n = nsp.clone();
                move |s: &Arc<Socket>, event: &str, args: &[Value]| {
                    if let Some(me) = me.upgrade() {
                        me.emit(
                            name,
                            vec![
                                n.clone(),
                                Value::from(s.id().as_str()),
                                event_args(event, args),
                                now(),
                            ],
                        );
                    }
                }
            };
            socket.on_any(report("event_received"));
            socket.on_any_outgoing(report("event_sent"));
        }
        let me = self.weak();
        socket.on_disconnect(move |s, reason| {
            if let Some(me) = me.upgrade() {
                me.emit(
                    "socket_disconnected",
                    vec![
                        nsp.clone(),
                        Value::from(s.id().as_str()),
                        Value::from(reason.as_str()),
                        now(),
                    ],
                );
            }
        });
    }

    fn socket_data_changed(&self, socket: &Socket) {
        if !self.development {
            return;
        }
        let mut update = IndexMap::new();
        update.insert("id".to_owned(), Value::from(socket.id().as_str()));
        update.insert("nsp".to_owned(), Value::from(socket.nsp()));
        update.insert("data".to_owned(), data_without_admin(&socket.data()));
        self.emit("socket_updated", vec![Value::Object(update)]);
    }
}

/// `[event, ...args]`, as the reference's `onAny` listeners see them.
fn event_args(event: &str, args: &[Value]) -> Value {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(Value::from(event));
    all.extend(args.iter().cloned());
    Value::Array(all)
}

/// `room_joined` / `room_left` for the sockets of `ns` (development mode).
pub(crate) fn watch_rooms(state: Weak<AdminState>, ns: &Namespace) {
    let nsp = Value::from(ns.name());
    ns.on_room_event(move |event| {
        let Some(state) = state.upgrade() else { return };
        let (name, room, sid) = match event {
            RoomEvent::JoinRoom(room, sid) => ("room_joined", room, sid),
            RoomEvent::LeaveRoom(room, sid) => ("room_left", room, sid),
            _ => return,
        };
        state.emit(
            name,
            vec![
                nsp.clone(),
                Value::from(&**room),
                Value::from(sid.as_str()),
                now(),
            ],
        );
    });
}
