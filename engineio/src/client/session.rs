//! Sans-IO parts of the client session: reading the handshake, the
//! heartbeat deadline and packing polling payloads. No sockets, no clock of
//! their own: callers pass instants in.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::error::Error;
use crate::proto::{Handshake, Packet, Str, RECORD_SEPARATOR};
use crate::server::TransportType;

/// The handshake as sent; `upgrades` and `maxPayload` are optional so that
/// lenient servers still work.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHandshake {
    sid: String,
    #[serde(default)]
    upgrades: Vec<String>,
    ping_interval: u64,
    ping_timeout: u64,
    #[serde(default)]
    max_payload: u64,
}

/// Reads the JSON of an `open` packet.
pub(crate) fn parse_handshake(json: &Str) -> Result<Handshake, Error> {
    let w: WireHandshake = serde_json::from_str(json)
        .map_err(|e| Error::Protocol(format!("invalid handshake: {e}")))?;
    Ok(Handshake {
        sid: w.sid,
        upgrades: w.upgrades,
        ping_interval: w.ping_interval,
        ping_timeout: w.ping_timeout,
        max_payload: w.max_payload,
    })
}

/// The transports of `upgrades` this client may use, in the handshake's
/// order (the reference's `_filterUpgrades`).
pub(crate) fn filter_upgrades(
    upgrades: &[String],
    allowed: &[TransportType],
) -> Vec<TransportType> {
    upgrades
        .iter()
        .filter_map(|u| allowed.iter().copied().find(|t| t.as_str() == u))
        .collect()
}

/// The client side of the v4 heartbeat: the server pings every
/// `pingInterval`; without a ping for `pingInterval + pingTimeout` the
/// connection is dead.
#[derive(Debug, Clone)]
pub(crate) struct Heartbeat {
    window: Duration,
    deadline: Instant,
}

impl Heartbeat {
    /// Starts the first window at the handshake.
    pub(crate) fn new(handshake: &Handshake, now: Instant) -> Heartbeat {
        let window = Duration::from_millis(
            handshake
                .ping_interval
                .saturating_add(handshake.ping_timeout),
        );
        Heartbeat {
            window,
            deadline: now + window,
        }
    }

    /// A ping arrived: the window starts again.
    pub(crate) fn on_ping(&mut self, now: Instant) {
        self.deadline = now + self.window;
    }

    /// When the connection is considered dead.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        now >= self.deadline
    }
}

/// Takes packets off the front of `queue` for one polling POST: as many as
/// fit in `max_payload` bytes once encoded, and always at least one (a
/// single larger packet is the server's to refuse), as the reference's
/// `_getWritablePackets`. `max_payload == 0` means no limit.
pub(crate) fn take_batch(queue: &mut VecDeque<Packet>, max_payload: u64) -> Vec<Packet> {
    let mut size: u64 = 0;
    let mut n = 0;
    for p in queue.iter() {
        let add = p.encoded_len() as u64 + u64::from(n > 0);
        if n > 0 && max_payload > 0 && size + add > max_payload {
            break;
        }
        size += add;
        n += 1;
    }
    queue.drain(..n).collect()
}

/// The encoded size a polling payload of `packets` would have.
pub(crate) fn payload_len(packets: &[Packet]) -> usize {
    packets.iter().map(Packet::encoded_len).sum::<usize>() + packets.len().saturating_sub(1)
}

/// Writes a polling payload (`RECORD_SEPARATOR`-joined).
pub(crate) fn encode_batch(packets: &[Packet]) -> bytes::Bytes {
    let mut out = Vec::with_capacity(payload_len(packets));
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            out.push(RECORD_SEPARATOR);
        }
        p.encode_into(&mut out);
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn hs(interval: u64, timeout: u64) -> Handshake {
        Handshake {
            sid: "s".into(),
            upgrades: vec![],
            ping_interval: interval,
            ping_timeout: timeout,
            max_payload: 0,
        }
    }

    #[test]
    fn parses_reference_handshake() {
        let h = parse_handshake(&Str::from(
            r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        ))
        .expect("valid");
        assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(h.upgrades, ["websocket"]);
        assert_eq!(
            (h.ping_interval, h.ping_timeout, h.max_payload),
            (25000, 20000, 1000000)
        );
        assert!(parse_handshake(&Str::from("{}")).is_err());
        assert!(parse_handshake(&Str::from("nope")).is_err());
    }

    #[test]
    fn upgrades_are_filtered() {
        let all = [TransportType::Polling, TransportType::Websocket];
        let ups = vec!["webtransport".to_owned(), "websocket".to_owned()];
        assert_eq!(filter_upgrades(&ups, &all), [TransportType::Websocket]);
        assert!(filter_upgrades(&ups, &[TransportType::Polling]).is_empty());
    }

    #[test]
    fn heartbeat_window() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(&hs(300, 200), t0);
        assert_eq!(hb.deadline(), t0 + Duration::from_millis(500));
        assert!(!hb.expired(t0 + Duration::from_millis(499)));
        assert!(hb.expired(t0 + Duration::from_millis(500)));
        hb.on_ping(t0 + Duration::from_millis(400));
        assert!(!hb.expired(t0 + Duration::from_millis(800)));
        assert!(hb.expired(t0 + Duration::from_millis(900)));
    }

    #[test]
    fn batches_respect_max_payload() {
        let msg = |s: &str| Packet::Message(Str::from(s));
        let mut q: VecDeque<Packet> = [msg("aaaa"), msg("bbbb"), msg("cc")].into();
        // "4aaaa" = 5, "\x1e4bbbb" = 6: 11 fits in 11, the third does not.
        let b = take_batch(&mut q, 11);
        assert_eq!(b.len(), 2);
        assert_eq!(payload_len(&b), 11);
        assert_eq!(&encode_batch(&b)[..], b"4aaaa\x1e4bbbb");
        assert_eq!(q.len(), 1);
        // One packet larger than the limit still goes, alone.
        let mut q: VecDeque<Packet> = [msg("0123456789"), msg("x")].into();
        assert_eq!(take_batch(&mut q, 4).len(), 1);
        assert_eq!(take_batch(&mut q, 4).len(), 1);
        assert!(take_batch(&mut q, 4).is_empty());
        // Binary counts its base64 length; 0 is unlimited.
        let mut q: VecDeque<Packet> = [
            Packet::Binary(Bytes::from_static(&[1, 2, 3])),
            msg("x"),
            Packet::Pong,
        ]
        .into();
        assert_eq!(take_batch(&mut q, 0).len(), 3);
    }
}
