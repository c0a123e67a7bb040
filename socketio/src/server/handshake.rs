use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engineio::server::RequestInfo;
use http::HeaderMap;

use crate::proto::Value;

/// What a socket knows of how it connected, as the reference's
/// `socket.handshake`.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Headers of the request that opened the Engine.IO session (shared by
    /// every namespace of the connection).
    pub headers: Arc<HeaderMap>,
    /// Its query parameters.
    pub query: Vec<(String, String)>,
    /// The CONNECT payload (`{}` when absent).
    pub auth: Value,
    /// Peer address.
    pub address: String,
    /// When the session opened.
    pub time: SystemTime,
    /// `time` as milliseconds since the epoch (the reference's `issued`).
    pub issued: u64,
    /// Request URL (path and query).
    pub url: String,
    /// Whether the connection came over TLS.
    pub secure: bool,
    /// Whether the request came from another origin.
    pub xdomain: bool,
}

impl Handshake {
    pub(crate) fn new(req: &RequestInfo, auth: Value) -> Self {
        Handshake {
            headers: req.headers.clone(),
            query: req.query_pairs(),
            auth,
            address: req
                .remote_addr
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
            time: req.time,
            issued: req
                .time
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            url: req
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            secure: req.secure(),
            xdomain: req.headers.contains_key(http::header::ORIGIN),
        }
    }

    /// One query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
