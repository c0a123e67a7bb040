use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::future::BoxFuture;
use parking_lot::{Mutex, MutexGuard, RwLock};

use super::recovery::RecoveryStore;
use super::{
    Adapter, BroadcastOptions, LocalNamespace, RecoveredSession, Room, RoomEvent, RoomListener,
    SessionToPersist, Sid,
};
use crate::proto::Value;

#[derive(Default)]
struct Index {
    rooms: HashMap<Room, HashSet<Sid>>,
    sids: HashMap<Sid, HashSet<Room>>,
}

/// The in-memory adapter: rooms indexed both by room and by socket, so
/// joining, leaving and tearing a socket down cost what the socket owns.
#[derive(Default)]
pub struct LocalAdapter {
    index: RwLock<Index>,
    listeners: RwLock<Vec<RoomListener>>,
    recovery: Option<Mutex<RecoveryStore>>,
}

impl LocalAdapter {
    /// An empty adapter.
    pub fn new() -> Self {
        Self::default()
    }

    /// An adapter that keeps what connection state recovery needs, for at
    /// most `max_disconnection_duration`.
    pub fn with_recovery(max_disconnection_duration: Duration) -> Self {
        LocalAdapter {
            recovery: Some(Mutex::new(RecoveryStore::new(max_disconnection_duration))),
            ..Self::default()
        }
    }

    fn recovery(&self) -> Option<MutexGuard<'_, RecoveryStore>> {
        self.recovery.as_ref().map(|m| m.lock())
    }

    /// Records a broadcast for connection state recovery and returns its
    /// offset; `None` when recovery is off or the broadcast is volatile.
    pub(crate) fn store_packet(&self, opts: &BroadcastOptions, data: &[Value]) -> Option<String> {
        if opts.flags.volatile {
            return None;
        }
        self.recovery().map(|mut r| r.store(opts, data))
    }

    /// Takes back a persisted session, synchronously.
    pub(crate) fn take_session(&self, pid: &str, offset: &str) -> Option<RecoveredSession> {
        self.recovery()?.restore(pid, offset)
    }

    fn emit(&self, events: &[RoomEvent]) {
        if events.is_empty() {
            return;
        }
        let listeners = self.listeners.read().clone();
        for l in &listeners {
            for e in events {
                l(e);
            }
        }
    }

    fn remove(index: &mut Index, sid: Sid, room: &str, events: &mut Vec<RoomEvent>) {
        if let Some(members) = index.rooms.get_mut(room) {
            if members.remove(&sid) {
                let room: Room = index
                    .rooms
                    .get_key_value(room)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| room.into());
                events.push(RoomEvent::LeaveRoom(room.clone(), sid));
                if index.rooms.get(&room).is_some_and(|m| m.is_empty()) {
                    index.rooms.remove(&room);
                    events.push(RoomEvent::DeleteRoom(room));
                }
            }
        }
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let mut events = Vec::new();
        {
            let mut index = self.index.write();
            for room in rooms {
                index.sids.entry(sid).or_default().insert(room.clone());
                let members = index.rooms.entry(room.clone()).or_insert_with(|| {
                    events.push(RoomEvent::CreateRoom(room.clone()));
                    HashSet::new()
                });
                if members.insert(sid) {
                    events.push(RoomEvent::JoinRoom(room.clone(), sid));
                }
            }
        }
        self.emit(&events);
    }

    fn del(&self, sid: Sid, room: &str) {
        let mut events = Vec::new();
        {
            let mut index = self.index.write();
            if let Some(rooms) = index.sids.get_mut(&sid) {
                rooms.remove(room);
            }
            Self::remove(&mut index, sid, room, &mut events);
        }
        self.emit(&events);
    }

    fn del_all(&self, sid: Sid) {
        let mut events = Vec::new();
        {
            let mut index = self.index.write();
            if let Some(rooms) = index.sids.remove(&sid) {
                for room in rooms {
                    Self::remove(&mut index, sid, &room, &mut events);
                }
            }
        }
        self.emit(&events);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.index
            .read()
            .sids
            .get(&sid)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let index = self.index.read();
        let excluded = |sid: &Sid| {
            opts.except
                .iter()
                .any(|r| index.rooms.get(r).is_some_and(|m| m.contains(sid)))
        };
        if opts.rooms.is_empty() {
            return index
                .sids
                .keys()
                .filter(|s| !excluded(s))
                .copied()
                .collect();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for room in &opts.rooms {
            for sid in index.rooms.get(room).into_iter().flatten() {
                if !excluded(sid) && seen.insert(*sid) {
                    out.push(*sid);
                }
            }
        }
        out
    }

    fn rooms(&self) -> HashSet<Room> {
        self.index.read().rooms.keys().cloned().collect()
    }

    fn room_sockets(&self, room: &str) -> Vec<Sid> {
        self.index
            .read()
            .rooms
            .get(room)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default()
    }

    fn on_room_event(&self, listener: RoomListener) {
        self.listeners.write().push(listener);
    }

    fn broadcast(&self, data: Vec<Value>, opts: &BroadcastOptions, local: &dyn LocalNamespace) {
        let offset = self.store_packet(opts, &data);
        local.deliver(data, opts, offset);
    }

    fn persist_session(&self, session: SessionToPersist) {
        if let Some(mut r) = self.recovery() {
            r.persist(session);
        }
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> BoxFuture<'static, Option<RecoveredSession>> {
        Box::pin(std::future::ready(self.take_session(pid, offset)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn room(s: &str) -> Room {
        s.into()
    }

    #[test]
    fn rooms_and_broadcast_targets() {
        let a = LocalAdapter::new();
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        a.on_room_event(Arc::new(move |e| ev.lock().push(e.clone())));
        let (s1, s2, s3) = (Sid::new(), Sid::new(), Sid::new());
        a.add_all(s1, &[room("r1"), room("r2")]);
        a.add_all(s2, &[room("r2")]);
        a.add_all(s3, &[room("r3")]);
        let opts = |rooms: &[&str], except: &[&str]| BroadcastOptions {
            rooms: rooms.iter().map(|r| room(r)).collect(),
            except: except.iter().map(|r| room(r)).collect(),
            ..Default::default()
        };
        let mut all = a.sockets(&opts(&[], &[]));
        all.sort();
        let mut expected = vec![s1, s2, s3];
        expected.sort();
        assert_eq!(all, expected);
        assert_eq!(a.sockets(&opts(&["r1", "r2"], &[])).len(), 2);
        assert_eq!(a.sockets(&opts(&["r2"], &["r1"])), vec![s2]);
        a.del(s1, "r1");
        assert!(!a.rooms().contains("r1"));
        a.del_all(s2);
        assert_eq!(a.room_sockets("r2"), vec![s1]);
        let ev = events.lock();
        assert!(ev.contains(&RoomEvent::CreateRoom(room("r1"))));
        assert!(ev.contains(&RoomEvent::DeleteRoom(room("r1"))));
        assert!(ev.contains(&RoomEvent::LeaveRoom(room("r2"), s2)));
    }
}
