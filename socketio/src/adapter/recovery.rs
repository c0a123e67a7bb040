//! Connection state recovery storage: the packets a disconnected socket may
//! have missed and the sessions waiting to be resumed, as the reference's
//! `SessionAwareAdapter` keeps them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{BroadcastOptions, Room, Sid};
use crate::proto::Value;

/// What a socket leaves behind on a recoverable disconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionToPersist {
    /// The socket id, reused on recovery.
    pub sid: Sid,
    /// The private session id the client presents to recover.
    pub pid: String,
    /// The rooms to rejoin.
    pub rooms: Vec<Room>,
    /// The per-socket data.
    pub data: Value,
}

/// A session found again, with the events it missed.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredSession {
    /// The persisted session.
    pub session: SessionToPersist,
    /// The event arrays (name, args, offset) sent while it was away.
    pub missed_packets: Vec<Vec<Value>>,
}

struct StoredPacket {
    offset: String,
    opts: BroadcastOptions,
    data: Vec<Value>,
    at: Instant,
}

/// In-memory recovery store, bounded in time by `max_disconnection_duration`:
/// older packets and sessions are dropped as new ones arrive.
pub(crate) struct RecoveryStore {
    max: Duration,
    packets: VecDeque<StoredPacket>,
    sessions: HashMap<String, (SessionToPersist, Instant)>,
    expiries: VecDeque<(String, Instant)>,
}

static OFFSETS: AtomicU64 = AtomicU64::new(0);

/// A process-unique, increasing offset, short like the reference's `yeast`.
fn next_offset() -> String {
    let n = OFFSETS.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    format!("{millis:x}-{n:x}")
}

impl RecoveryStore {
    pub(crate) fn new(max: Duration) -> Self {
        RecoveryStore {
            max,
            packets: VecDeque::new(),
            sessions: HashMap::new(),
            expiries: VecDeque::new(),
        }
    }

    fn purge(&mut self, now: Instant) {
        while self
            .packets
            .front()
            .is_some_and(|p| now.duration_since(p.at) > self.max)
        {
            self.packets.pop_front();
        }
        while let Some((pid, at)) = self.expiries.front() {
            if now.duration_since(*at) <= self.max {
                break;
            }
            if self.sessions.get(pid).is_some_and(|(_, t)| t == at) {
                self.sessions.remove(pid);
            }
            self.expiries.pop_front();
        }
    }

    /// Records a broadcast event and returns the offset appended to it.
    pub(crate) fn store(&mut self, opts: &BroadcastOptions, data: &[Value]) -> String {
        let now = Instant::now();
        self.purge(now);
        let offset = next_offset();
        let mut data = data.to_vec();
        data.push(Value::String(offset.clone()));
        self.packets.push_back(StoredPacket {
            offset: offset.clone(),
            opts: opts.clone(),
            data,
            at: now,
        });
        offset
    }

    pub(crate) fn persist(&mut self, session: SessionToPersist) {
        let now = Instant::now();
        self.purge(now);
        self.expiries.push_back((session.pid.clone(), now));
        self.sessions.insert(session.pid.clone(), (session, now));
    }

    /// The session of `pid` with the packets after `offset` it would have
    /// received; `None` when it expired or the offset is unknown.
    pub(crate) fn restore(&mut self, pid: &str, offset: &str) -> Option<RecoveredSession> {
        let now = Instant::now();
        self.purge(now);
        let (session, _) = self.sessions.remove(pid)?;
        let start = self.packets.iter().position(|p| p.offset == offset)? + 1;
        let missed_packets = self
            .packets
            .iter()
            .skip(start)
            .filter(|p| reaches(&session.rooms, &p.opts))
            .map(|p| p.data.clone())
            .collect();
        Some(RecoveredSession {
            session,
            missed_packets,
        })
    }
}

/// Whether a socket in `rooms` was a recipient of a broadcast with `opts`.
fn reaches(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    let included = opts.rooms.is_empty() || opts.rooms.iter().any(|r| rooms.contains(r));
    let excluded = opts.except.iter().any(|r| rooms.contains(r));
    included && !excluded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pid: &str, rooms: &[&str]) -> SessionToPersist {
        SessionToPersist {
            sid: Sid::new(),
            pid: pid.into(),
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            data: Value::Null,
        }
    }

    #[test]
    fn restores_missed_packets_for_the_sessions_rooms() {
        let mut s = RecoveryStore::new(Duration::from_secs(60));
        let all = BroadcastOptions::default();
        let to_a = BroadcastOptions {
            rooms: vec!["a".into()],
            ..Default::default()
        };
        let to_b = BroadcastOptions {
            rooms: vec!["b".into()],
            ..Default::default()
        };
        let first = s.store(&all, &[Value::from("e0")]);
        s.persist(session("p1", &["a"]));
        s.store(&to_a, &[Value::from("e1")]);
        s.store(&to_b, &[Value::from("e2")]);
        s.store(&all, &[Value::from("e3")]);
        let r = s.restore("p1", &first).unwrap();
        let names: Vec<_> = r
            .missed_packets
            .iter()
            .map(|p| p[0].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["e1", "e3"]);
        assert!(r.missed_packets[0].last().unwrap().as_str().is_some());
        assert!(
            s.restore("p1", &first).is_none(),
            "a session is restored once"
        );
    }

    #[test]
    fn unknown_offset_or_expired_session_is_not_restored() {
        let mut s = RecoveryStore::new(Duration::from_millis(0));
        let off = s.store(&BroadcastOptions::default(), &[Value::from("e")]);
        s.persist(session("p", &[]));
        std::thread::sleep(Duration::from_millis(2));
        assert!(s.restore("p", &off).is_none());
        let mut s = RecoveryStore::new(Duration::from_secs(60));
        s.persist(session("p", &[]));
        assert!(s.restore("p", "nope").is_none());
    }
}
