//! The Redis Streams adapter, `@socket.io/redis-streams-adapter` 0.3.x
//! ([`StreamsVersion::V03`]) and 0.2.x ([`StreamsVersion::V02`]); the two
//! cannot share a cluster.
//!
//! 0.3 writes durable messages (plain broadcasts, sockets join/leave,
//! disconnect) to the stream with `XADD stream MAXLEN ~ <n> * uid <uid> nsp
//! <nsp> type <n> [data <data>]`, `data` being JSON, or base64 msgpack when it
//! holds a buffer. Ephemeral ones (broadcasts with acknowledgements,
//! server-side emits, fetch requests) are msgpack envelopes `{type, data,
//! uid, nsp}` published on `prefix#<nsp>#`; responses go to
//! `prefix#<nsp>#<requesterUid>#`, msgpack too. The server count is `PUBSUB
//! NUMSUB prefix#<nsp>#`.
//!
//! 0.2 writes everything to the stream, responses and heartbeats included,
//! and counts servers by heartbeat ([`super::Membership::Heartbeat`]).
//!
//! A stream entry's id is the offset of a broadcast for connection state
//! recovery; sessions are kept under `sio:session:<pid>` as base64 msgpack.

use std::time::Duration;

use bytes::Bytes;

use super::decode::{self, json_or_msgpack};
use super::shape::{self, Node};
use super::{
    json, msgpack, sharded, ClusterMessage, ClusterResponse, DecodeError, EncodeError, Envelope,
    Frame, Membership, MessageType, RedisCommand, ServerId, WireOptions,
};
use crate::adapter::{Room, SessionToPersist};
use crate::proto::Value;
use crate::wire::base64;

/// Which major version's wire to speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamsVersion {
    /// 0.3.x: durable messages in the stream, the rest over pub/sub.
    #[default]
    V03,
    /// 0.2.x: everything in the stream, heartbeats for membership.
    V02,
}

/// One entry read from the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    /// The entry id, e.g. `1795315628325-0`: the offset of a broadcast.
    pub id: String,
    /// The message or (0.2) response.
    pub envelope: Envelope<Frame>,
}

/// The Streams adapter's names, commands and codec, with Node's defaults.
#[derive(Debug, Clone)]
pub struct StreamsCodec {
    stream_name: String,
    stream_count: u32,
    channel_prefix: String,
    use_sharded_pubsub: bool,
    max_len: u64,
    read_count: u64,
    block_time: Duration,
    session_key_prefix: String,
    version: StreamsVersion,
}

impl Default for StreamsCodec {
    fn default() -> StreamsCodec {
        StreamsCodec {
            stream_name: "socket.io".to_owned(),
            stream_count: 1,
            channel_prefix: "socket.io".to_owned(),
            use_sharded_pubsub: false,
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_millis(5_000),
            session_key_prefix: "sio:session:".to_owned(),
            version: StreamsVersion::V03,
        }
    }
}

/// Node's `hashCode`: a Java-style `int32` hash over UTF-16 code units.
pub fn hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Whether `offset` is a stream entry id (`/^[0-9]+-[0-9]+$/`).
pub fn is_valid_offset(offset: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    offset
        .split_once('-')
        .is_some_and(|(ms, seq)| digits(ms) && digits(seq))
}

/// The smallest id after `offset` (Node's `nextOffset`: XRANGE's exclusive
/// ranges need Redis 6.2).
pub fn next_offset(offset: &str) -> Option<String> {
    if !is_valid_offset(offset) {
        return None;
    }
    let (ms, seq) = offset.split_once('-')?;
    let seq: u64 = seq.parse().ok()?;
    Some(format!("{ms}-{}", seq.checked_add(1)?))
}

/// Node's `shouldIncludePacket`: whether a socket in `session_rooms` was a
/// target of a broadcast with `opts`.
pub fn should_include_packet(session_rooms: &[Room], opts: &WireOptions) -> bool {
    let included = opts.rooms.is_empty() || session_rooms.iter().any(|r| opts.rooms.contains(r));
    let not_excluded = session_rooms.iter().all(|r| !opts.except.contains(r));
    included && not_excluded
}

impl StreamsCodec {
    /// The 0.3 wire with Node's defaults.
    pub fn new() -> StreamsCodec {
        StreamsCodec::default()
    }

    /// Speaks `version`'s wire.
    pub fn version(mut self, version: StreamsVersion) -> StreamsCodec {
        self.version = version;
        self
    }

    /// `streamName` (default `socket.io`).
    pub fn stream_name(mut self, name: impl Into<String>) -> StreamsCodec {
        self.stream_name = name.into();
        self
    }

    /// `streamCount` (default 1; at least 1). See [`Self::stream_for`] for
    /// why mixed clusters should keep 1.
    pub fn stream_count(mut self, count: u32) -> StreamsCodec {
        self.stream_count = count.max(1);
        self
    }

    /// `channelPrefix` (default `socket.io`).
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> StreamsCodec {
        self.channel_prefix = prefix.into();
        self
    }

    /// `useShardedPubSub` (default off): SPUBLISH/SSUBSCRIBE for the
    /// pub/sub part (0.3).
    pub fn use_sharded_pubsub(mut self, on: bool) -> StreamsCodec {
        self.use_sharded_pubsub = on;
        self
    }

    /// Whether the pub/sub part uses sharded pub/sub.
    pub fn uses_sharded_pubsub(&self) -> bool {
        self.use_sharded_pubsub
    }

    /// `maxLen` (default 10000), the approximate stream length kept.
    pub fn max_len(mut self, max_len: u64) -> StreamsCodec {
        self.max_len = max_len;
        self
    }

    /// `readCount` (default 100), entries per XREAD.
    pub fn read_count(mut self, count: u64) -> StreamsCodec {
        self.read_count = count;
        self
    }

    /// `blockTimeInMs` (default 5 s), how long an XREAD blocks.
    pub fn block_time(mut self, block: Duration) -> StreamsCodec {
        self.block_time = block;
        self
    }

    /// `sessionKeyPrefix` (default `sio:session:`).
    pub fn session_key_prefix(mut self, prefix: impl Into<String>) -> StreamsCodec {
        self.session_key_prefix = prefix.into();
        self
    }

    /// How servers are counted with this version.
    pub fn membership(&self) -> Membership {
        match self.version {
            StreamsVersion::V03 => Membership::Counted,
            StreamsVersion::V02 => Membership::Heartbeat,
        }
    }

    /// The stream of namespace `nsp`: `streamName`, or with several streams
    /// `streamName-<hashCode(nsp) % streamCount>`.
    ///
    /// Faithful to Node, bug included: a negative hash gives e.g.
    /// `socket.io--1`, a stream no Node server reads, so such a namespace's
    /// broadcasts never reach other servers. Keep `streamCount` at 1 in
    /// clusters with Node servers.
    pub fn stream_for(&self, nsp: &str) -> String {
        if self.stream_count == 1 {
            self.stream_name.clone()
        } else {
            let i = i64::from(hash_code(nsp)) % i64::from(self.stream_count);
            format!("{}-{i}", self.stream_name)
        }
    }

    /// The streams a server reads (one connection each, as Node).
    pub fn read_streams(&self) -> Vec<String> {
        if self.stream_count == 1 {
            vec![self.stream_name.clone()]
        } else {
            (0..self.stream_count)
                .map(|i| format!("{}-{i}", self.stream_name))
                .collect()
        }
    }

    /// `XREAD COUNT <readCount> BLOCK <ms> STREAMS <stream> <offset>`; start
    /// at `$`, then pass the last entry id read.
    pub fn xread_command(&self, stream: &str, offset: &str) -> RedisCommand {
        RedisCommand::new(
            "XREAD",
            [
                "COUNT".to_owned(),
                self.read_count.to_string(),
                "BLOCK".to_owned(),
                self.block_time.as_millis().to_string(),
                "STREAMS".to_owned(),
                stream.to_owned(),
                offset.to_owned(),
            ],
        )
    }

    /// `prefix#<nsp>#` (0.3).
    pub fn public_channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.channel_prefix)
    }

    /// `prefix#<nsp>#<uid>#`, where `uid`'s responses arrive (0.3).
    pub fn private_channel(&self, nsp: &str, uid: &str) -> String {
        format!("{}#{nsp}#{uid}#", self.channel_prefix)
    }

    /// The pub/sub subscriptions of namespace `nsp` (none for 0.2).
    pub fn subscribe_commands(&self, nsp: &str, uid: &ServerId) -> Vec<RedisCommand> {
        let channels = [
            self.public_channel(nsp),
            self.private_channel(nsp, uid.as_str()),
        ];
        match (self.version, self.use_sharded_pubsub) {
            (StreamsVersion::V02, _) => Vec::new(),
            (StreamsVersion::V03, false) => vec![RedisCommand::new("SUBSCRIBE", channels)],
            (StreamsVersion::V03, true) => channels
                .into_iter()
                .map(|c| RedisCommand::new("SSUBSCRIBE", [c]))
                .collect(),
        }
    }

    /// `PUBSUB NUMSUB prefix#<nsp>#` (`SHARDNUMSUB` with sharded pub/sub);
    /// `None` for 0.2, which counts heartbeats.
    pub fn server_count_command(&self, nsp: &str) -> Option<RedisCommand> {
        let sub = if self.use_sharded_pubsub {
            "SHARDNUMSUB"
        } else {
            "NUMSUB"
        };
        (self.version == StreamsVersion::V03)
            .then(|| RedisCommand::new("PUBSUB", [sub.to_owned(), self.public_channel(nsp)]))
    }

    /// Whether 0.3 sends `message` over pub/sub rather than the stream.
    pub fn is_ephemeral(&self, message: &ClusterMessage) -> bool {
        self.version == StreamsVersion::V03
            && matches!(
                message,
                ClusterMessage::Broadcast {
                    request_id: Some(_),
                    ..
                } | ClusterMessage::ServerSideEmit { .. }
                    | ClusterMessage::FetchSockets { .. }
            )
    }

    /// The command that publishes `envelope`: an XADD, or (0.3 ephemeral
    /// messages) a msgpack PUBLISH on the public channel. An XADD's reply is
    /// the entry id, the offset to append to a broadcast for recovery.
    pub fn encode_message(
        &self,
        envelope: &Envelope<ClusterMessage>,
    ) -> Result<RedisCommand, EncodeError> {
        let kind = shape::message_type(&envelope.body)?;
        let data = shape::message_data(&envelope.body);
        if self.is_ephemeral(&envelope.body) {
            let tree = shape::envelope(kind, data, envelope.uid.as_ref(), &envelope.nsp);
            return Ok(self.publish(
                self.public_channel(&envelope.nsp),
                msgpack::encode_node(&tree)?.into(),
            ));
        }
        self.xadd(envelope.uid.as_ref(), &envelope.nsp, kind, data)
    }

    /// The command that sends a response to `requester`: a msgpack PUBLISH
    /// on its private channel (0.3), or an XADD (0.2).
    pub fn encode_response(
        &self,
        requester: &ServerId,
        envelope: &Envelope<ClusterResponse>,
    ) -> Result<RedisCommand, EncodeError> {
        let kind = shape::response_type(&envelope.body)?;
        let data = shape::response_data(&envelope.body);
        match self.version {
            StreamsVersion::V03 => {
                let tree = shape::envelope(kind, Some(data), envelope.uid.as_ref(), &envelope.nsp);
                Ok(self.publish(
                    self.private_channel(&envelope.nsp, requester.as_str()),
                    msgpack::encode_node(&tree)?.into(),
                ))
            }
            StreamsVersion::V02 => {
                self.xadd(envelope.uid.as_ref(), &envelope.nsp, kind, Some(data))
            }
        }
    }

    fn publish(&self, channel: String, payload: Bytes) -> RedisCommand {
        RedisCommand {
            name: if self.use_sharded_pubsub {
                "SPUBLISH"
            } else {
                "PUBLISH"
            },
            args: vec![channel.into(), payload],
        }
    }

    fn xadd(
        &self,
        uid: Option<&ServerId>,
        nsp: &str,
        kind: MessageType,
        data: Option<Node<'_>>,
    ) -> Result<RedisCommand, EncodeError> {
        let mut args: Vec<Bytes> = vec![
            self.stream_for(nsp).into(),
            Bytes::from_static(b"MAXLEN"),
            Bytes::from_static(b"~"),
            self.max_len.to_string().into(),
            Bytes::from_static(b"*"),
        ];
        if let Some(uid) = uid {
            args.push(Bytes::from_static(b"uid"));
            args.push(Bytes::copy_from_slice(uid.as_str().as_bytes()));
        }
        args.push(Bytes::from_static(b"nsp"));
        args.push(Bytes::copy_from_slice(nsp.as_bytes()));
        args.push(Bytes::from_static(b"type"));
        args.push((kind as u8).to_string().into());
        if let Some(data) = data {
            let text = if data.has_binary() {
                base64::encode(&msgpack::encode_node(&data)?)
            } else {
                json::encode_node(&data)
            };
            args.push(Bytes::from_static(b"data"));
            args.push(text.into());
        }
        Ok(RedisCommand { name: "XADD", args })
    }

    /// Decodes one stream entry from its id and field/value pairs. Entries
    /// without a namespace are skipped (`Ok(None)`), as Node skips them.
    pub fn decode_entry<I, K, V>(
        &self,
        id: &str,
        fields: I,
    ) -> Result<Option<StreamEntry>, DecodeError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let raw = RawEntry::new(fields);
        let nsp = match raw.nsp {
            Some(nsp) if !nsp.is_empty() => nsp,
            _ => return Ok(None),
        };
        let kind = parse_int(raw.kind.as_deref().unwrap_or_default())
            .ok_or_else(|| DecodeError::new("the entry type is not a number"))?;
        let data = match raw.data {
            Some(d) if !d.is_empty() => Some(decode_data(&d)?),
            _ => None,
        };
        Ok(Some(StreamEntry {
            id: id.to_owned(),
            envelope: Envelope {
                uid: raw.uid.map(ServerId::from),
                nsp,
                body: decode::frame(kind, data)?,
            },
        }))
    }

    /// Decodes a pub/sub payload (0.3): a msgpack envelope (JSON is accepted
    /// too, which Node does not send here).
    pub fn decode_pubsub(&self, payload: &[u8]) -> Result<Envelope<Frame>, DecodeError> {
        sharded::decode_envelope(json_or_msgpack(payload)?)
    }

    /// `<sessionKeyPrefix><pid>`.
    pub fn session_key(&self, pid: &str) -> String {
        format!("{}{pid}", self.session_key_prefix)
    }

    /// `SET <key> base64(msgpack({sid, pid, rooms, data})) PX <ttl>`, what a
    /// disconnecting socket leaves for any server to resume.
    pub fn persist_session_command(
        &self,
        session: &SessionToPersist,
        ttl: Duration,
    ) -> Result<RedisCommand, EncodeError> {
        let value = base64::encode(&msgpack::encode_node(&shape::session(session))?);
        Ok(RedisCommand::new(
            "SET",
            [
                self.session_key(&session.pid),
                value,
                "PX".to_owned(),
                ttl.as_millis().to_string(),
            ],
        ))
    }

    /// `MULTI`, `GET <key>`, `DEL <key>`, `EXEC`: takes a session once (the
    /// GET's reply is the value for [`Self::decode_session`]).
    pub fn take_session_commands(&self, pid: &str) -> Vec<RedisCommand> {
        let key = self.session_key(pid);
        vec![
            RedisCommand::new("MULTI", Vec::<Bytes>::new()),
            RedisCommand::new("GET", [key.clone()]),
            RedisCommand::new("DEL", [key]),
            RedisCommand::new("EXEC", Vec::<Bytes>::new()),
        ]
    }

    /// Decodes a persisted session (base64 msgpack).
    pub fn decode_session(&self, value: &[u8]) -> Result<SessionToPersist, DecodeError> {
        let raw = base64::decode(value).ok_or_else(|| DecodeError::new("invalid base64"))?;
        decode::session(msgpack::decode_value(&raw)?)
    }

    /// `XRANGE <stream> <offset> <offset>`: whether `offset` is still in the
    /// stream; `None` (recovery refused) when it is not an entry id.
    pub fn offset_check_command(&self, nsp: &str, offset: &str) -> Option<RedisCommand> {
        is_valid_offset(offset).then(|| {
            RedisCommand::new(
                "XRANGE",
                [self.stream_for(nsp), offset.to_owned(), offset.to_owned()],
            )
        })
    }

    /// `XRANGE <stream> <next_offset(after)> +`: the entries after `after`.
    /// Node repeats it from the last id returned, at most 100 times, until a
    /// reply is empty.
    pub fn missed_range_command(&self, nsp: &str, after: &str) -> Option<RedisCommand> {
        let start = next_offset(after)?;
        Some(RedisCommand::new(
            "XRANGE",
            [self.stream_for(nsp), start, "+".to_owned()],
        ))
    }

    /// What a resuming socket in `session_rooms` missed from one entry of
    /// [`Self::missed_range_command`]: for a broadcast (type 3) in `nsp`
    /// that targeted it, the event array with the entry id appended.
    pub fn missed_packet<I, K, V>(
        &self,
        nsp: &str,
        id: &str,
        fields: I,
        session_rooms: &[Room],
    ) -> Result<Option<Vec<Value>>, DecodeError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let raw = RawEntry::new(fields);
        if raw.nsp.as_deref() != Some(nsp) || raw.kind.as_deref() != Some("3") {
            return Ok(None);
        }
        let data = match raw.data {
            Some(d) if !d.is_empty() => Some(decode_data(&d)?),
            _ => None,
        };
        match decode::frame(3, data)? {
            Frame::Message(ClusterMessage::Broadcast { packet, opts, .. })
                if should_include_packet(session_rooms, &opts) =>
            {
                let mut data = packet.data;
                data.push(Value::from(id));
                Ok(Some(data))
            }
            _ => Ok(None),
        }
    }
}

/// The known fields of an entry, as text (Node's client returns strings).
struct RawEntry {
    uid: Option<String>,
    nsp: Option<String>,
    kind: Option<String>,
    data: Option<Vec<u8>>,
}

impl RawEntry {
    fn new<I, K, V>(fields: I) -> RawEntry
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut raw = RawEntry {
            uid: None,
            nsp: None,
            kind: None,
            data: None,
        };
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        for (k, v) in fields {
            let v = v.as_ref();
            match k.as_ref() {
                b"uid" => raw.uid = Some(text(v)),
                b"nsp" => raw.nsp = Some(text(v)),
                b"type" => raw.kind = Some(text(v)),
                b"data" => raw.data = Some(v.to_vec()),
                _ => {}
            }
        }
        raw
    }
}

/// `parseInt(s, 10)` for the non-negative integers Node writes.
fn parse_int(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    s.get(..end)?.parse().ok()
}

/// JSON when it starts with `{`, base64 msgpack otherwise.
fn decode_data(data: &[u8]) -> Result<Value, DecodeError> {
    if data.first() == Some(&b'{') {
        json::decode_value(data)
    } else {
        let raw = base64::decode(data).ok_or_else(|| DecodeError::new("invalid base64"))?;
        msgpack::decode_value(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_follow_node_hash_code() {
        assert_eq!(hash_code(""), 0);
        assert_eq!(hash_code("/"), 47);
        // Values from node running the adapter's `hashCode`.
        assert_eq!(hash_code("/chat"), 46_457_863);
        assert_eq!(hash_code("/orders-eu-west"), -1_281_345_613);
        assert_eq!(hash_code("/\u{e9}\u{1f600}"), 3_396_989);
        let codec = StreamsCodec::new().stream_count(3);
        assert_eq!(codec.stream_for("/chat"), "socket.io-1");
        // The upstream bug, reproduced on purpose.
        assert_eq!(codec.stream_for("/orders-eu-west"), "socket.io--1");
        assert_eq!(
            codec.read_streams(),
            ["socket.io-0", "socket.io-1", "socket.io-2"]
        );
        assert_eq!(StreamsCodec::new().stream_for("/x"), "socket.io");
    }

    #[test]
    fn offsets() {
        assert!(is_valid_offset("1795315628325-0"));
        assert!(!is_valid_offset("1795315628325"));
        assert!(!is_valid_offset("-1"));
        assert!(!is_valid_offset("1-2-3"));
        assert_eq!(next_offset("17-9").as_deref(), Some("17-10"));
        assert_eq!(next_offset("x"), None);
    }

    #[test]
    fn packet_filter_matches_node() {
        let rooms: Vec<Room> = vec!["sid".into(), "a".into()];
        let opts = |r: &[&str], e: &[&str]| WireOptions {
            rooms: r.iter().map(|&s| s.into()).collect(),
            except: e.iter().map(|&s| s.into()).collect(),
            ..WireOptions::default()
        };
        assert!(should_include_packet(&rooms, &opts(&[], &[])));
        assert!(should_include_packet(&rooms, &opts(&["a", "b"], &[])));
        assert!(!should_include_packet(&rooms, &opts(&["b"], &[])));
        assert!(!should_include_packet(&rooms, &opts(&[], &["a"])));
    }
}

#[cfg(test)]
mod codec_tests {
    use super::*;
    use crate::adapter::cluster::ClusterPacket;
    use crate::adapter::Sid;

    fn env(body: ClusterMessage) -> Envelope<ClusterMessage> {
        Envelope::new(ServerId::from("u"), "/", body)
    }

    #[test]
    fn ephemeral_messages_use_pubsub_in_0_3_only() {
        let sse = env(ClusterMessage::ServerSideEmit {
            args: vec!["ev".into()],
            request_id: None,
        });
        let v3 = StreamsCodec::new();
        let cmd = v3.encode_message(&sse);
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        assert_eq!(cmd.name, "PUBLISH");
        assert_eq!(cmd.arg_str(0), Some("socket.io#/#"));
        assert_eq!(
            v3.decode_pubsub(&cmd.args[1]).map(|e| e.body),
            Ok(Frame::Message(sse.body.clone()))
        );
        let sharded = StreamsCodec::new().use_sharded_pubsub(true);
        assert_eq!(sharded.encode_message(&sse).map(|c| c.name), Ok("SPUBLISH"));
        assert_eq!(
            sharded.subscribe_commands("/", &ServerId::from("u")).len(),
            2
        );
        let v2 = StreamsCodec::new().version(StreamsVersion::V02);
        assert_eq!(v2.encode_message(&sse).map(|c| c.name), Ok("XADD"));
        assert!(v2.subscribe_commands("/", &ServerId::from("u")).is_empty());
        assert_eq!(v2.server_count_command("/"), None);
        assert_eq!(v2.membership(), Membership::Heartbeat);

        let response = Envelope::new(
            ServerId::from("u"),
            "/",
            ClusterResponse::ClientCount {
                request_id: "r".into(),
                count: 1,
            },
        );
        let requester = ServerId::from("req");
        let cmd = v3.encode_response(&requester, &response);
        assert_eq!(
            cmd.ok()
                .and_then(|c| c.arg_str(0).map(str::to_owned))
                .as_deref(),
            Some("socket.io#/#req#")
        );
        assert_eq!(
            v2.encode_response(&requester, &response).map(|c| c.name),
            Ok("XADD")
        );
    }

    #[test]
    fn entries_and_recovery() {
        let codec = StreamsCodec::new();
        assert_eq!(
            codec.decode_entry("1-0", [(&b"uid"[..], &b"u"[..]), (b"type", b"2")]),
            Ok(None)
        );
        assert!(codec
            .decode_entry("1-0", [(&b"nsp"[..], &b"/"[..]), (b"type", b"x")])
            .is_err());
        let broadcast = env(ClusterMessage::Broadcast {
            packet: ClusterPacket::event(vec!["tick".into(), Value::from(vec![1u8])]),
            opts: WireOptions {
                rooms: vec!["a".into()],
                ..WireOptions::default()
            },
            request_id: None,
        });
        let cmd = codec.encode_message(&broadcast);
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        let fields: Vec<(Bytes, Bytes)> = cmd.args[5..]
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        // Binary: base64 msgpack data.
        assert_ne!(fields[3].1[0], b'{');
        let entry = codec.decode_entry("5-1", fields.clone());
        assert_eq!(
            entry.map(|e| e.map(|e| e.envelope.body)),
            Ok(Some(Frame::Message(broadcast.body)))
        );
        let rooms: Vec<Room> = vec!["a".into()];
        assert_eq!(
            codec.missed_packet("/", "5-1", fields.clone(), &rooms),
            Ok(Some(vec![
                "tick".into(),
                Value::from(vec![1u8]),
                "5-1".into()
            ]))
        );
        assert_eq!(
            codec.missed_packet("/", "5-1", fields.clone(), &[]),
            Ok(None)
        );
        assert_eq!(codec.missed_packet("/x", "5-1", fields, &rooms), Ok(None));
        assert_eq!(codec.offset_check_command("/", "abc"), None);
        assert_eq!(codec.missed_range_command("/", "abc"), None);

        let session = SessionToPersist {
            sid: Sid::new(),
            pid: "p".into(),
            rooms: vec!["a".into()],
            data: Value::Null,
        };
        let cmd = codec.persist_session_command(&session, Duration::from_secs(2));
        let Ok(cmd) = cmd else { panic!("{cmd:?}") };
        assert_eq!(cmd.arg_str(0), Some("sio:session:p"));
        assert_eq!(cmd.arg_str(3), Some("2000"));
        assert_eq!(codec.decode_session(&cmd.args[1]), Ok(session));
        assert!(codec.decode_session(b"!!").is_err());
    }
}
