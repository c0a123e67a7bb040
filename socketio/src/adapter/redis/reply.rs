//! Reading Redis replies: bulk strings, `PUBSUB NUMSUB` counts, and the
//! entries of `XREAD` and `XRANGE`. Malformed parts are skipped, never
//! unwrapped: a reply is what a peer (or a proxy) sent.

/// The count of a `PUBSUB NUMSUB <channel>` reply: `[channel, count]`, or
/// the map `{channel: count}` a cluster connection sums over the nodes.
pub(super) fn numsub_count(reply: &redis::Value) -> Option<usize> {
    let count = match reply {
        redis::Value::Array(items) => items.get(1)?,
        redis::Value::Map(pairs) => &pairs.first()?.1,
        _ => return None,
    };
    match count {
        redis::Value::Int(n) => usize::try_from(*n).ok(),
        _ => None,
    }
}

/// The text of a string reply (an `XADD`'s entry id).
pub(super) fn string(v: &redis::Value) -> Option<String> {
    bulk(v).and_then(|b| String::from_utf8(b).ok())
}

/// The bytes of a string reply.
pub(super) fn bulk(v: &redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.clone().into_bytes()),
        redis::Value::VerbatimString { text, .. } => Some(text.clone().into_bytes()),
        _ => None,
    }
}

/// A stream entry as Redis returns it: its id and field/value pairs.
pub(super) type RawStreamEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// The entries of an `XREAD` reply, `[[stream, entries], ...]` (RESP3: a
/// map stream => entries), as `(id, [(field, value)])`. Malformed parts are
/// skipped.
pub(super) fn xread_entries(reply: &redis::Value) -> Vec<RawStreamEntry> {
    let streams: Vec<&redis::Value> = match reply {
        redis::Value::Array(items) => items
            .iter()
            .filter_map(|s| match s {
                redis::Value::Array(pair) => pair.get(1),
                _ => None,
            })
            .collect(),
        redis::Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    streams.into_iter().flat_map(entries).collect()
}

/// The entries of an `XRANGE` reply, `[[id, [field, value, ...]], ...]`.
pub(super) fn entries(v: &redis::Value) -> Vec<RawStreamEntry> {
    let redis::Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let redis::Value::Array(e) = e else {
                return None;
            };
            let id = String::from_utf8(bulk(e.first()?)?).ok()?;
            let fields = match e.get(1)? {
                redis::Value::Array(kv) => kv
                    .chunks(2)
                    .filter_map(|p| Some((bulk(p.first()?)?, bulk(p.get(1)?)?)))
                    .collect(),
                _ => Vec::new(),
            };
            Some((id, fields))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value as V;

    fn b(s: &str) -> V {
        V::BulkString(s.as_bytes().to_vec())
    }

    fn entry(id: &str, kv: &[&str]) -> V {
        V::Array(vec![b(id), V::Array(kv.iter().map(|s| b(s)).collect())])
    }

    #[test]
    fn stream_replies_are_parsed_and_malformed_parts_skipped() {
        let range = V::Array(vec![
            entry("1-0", &["nsp", "/", "type", "3"]),
            V::Int(7),
            entry("1-1", &["odd"]),
        ]);
        let got = entries(&range);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "1-0");
        assert_eq!(got[0].1[0], (b"nsp".to_vec(), b"/".to_vec()));
        assert!(got[1].1.is_empty());
        // XREAD: [[stream, entries]], and RESP3's map.
        let read = V::Array(vec![V::Array(vec![b("socket.io"), range.clone()])]);
        assert_eq!(xread_entries(&read).len(), 2);
        let map = V::Map(vec![(b("socket.io"), range)]);
        assert_eq!(xread_entries(&map).len(), 2);
        assert!(xread_entries(&V::Nil).is_empty());
        assert!(xread_entries(&V::Array(vec![V::Int(1)])).is_empty());
    }

    #[test]
    fn numsub_replies() {
        let reply = V::Array(vec![b("socket.io#/#"), V::Int(3)]);
        assert_eq!(numsub_count(&reply), Some(3));
        assert_eq!(numsub_count(&V::Array(vec![b("c"), V::Int(-1)])), None);
        assert_eq!(numsub_count(&V::Nil), None);
        assert_eq!(numsub_count(&V::Map(vec![(b("c"), V::Int(2))])), Some(2));
        assert_eq!(numsub_count(&V::Map(vec![])), None);
    }
}
