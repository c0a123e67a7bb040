//! Opening a session: the handshake on the first transport that works.

use std::sync::atomic::{AtomicBool, Ordering};

use super::config::ClientConfig;
use super::error::Error;
use super::session::parse_handshake;
use super::transport::polling::{decode, Http};
use super::transport::websocket::{self, WsStream};
use super::url::Endpoint;
use crate::proto::{Handshake, Packet};
use crate::server::TransportType;

/// Whether a WebSocket connection of this process has succeeded, for
/// `remember_upgrade` (the reference's `Socket.priorWebsocketSuccess`).
pub(crate) static PRIOR_WEBSOCKET_SUCCESS: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_prior_websocket_success(ok: bool) {
    PRIOR_WEBSOCKET_SUCCESS.store(ok, Ordering::Relaxed);
}

/// A session whose handshake succeeded.
pub(crate) enum Opened {
    /// Over polling; `rest` are the packets that followed the handshake in
    /// the same response.
    Polling {
        handshake: Handshake,
        rest: Vec<Packet>,
    },
    /// Over WebSocket.
    Websocket {
        handshake: Handshake,
        stream: Box<WsStream>,
    },
}

/// The transport to open with: WebSocket when `remember_upgrade` and a
/// WebSocket worked before, else the first of `transports`.
pub(crate) fn first_transport(
    config: &ClientConfig,
    transports: &[TransportType],
) -> Option<TransportType> {
    let ws = TransportType::Websocket;
    if config.remember_upgrade
        && PRIOR_WEBSOCKET_SUCCESS.load(Ordering::Relaxed)
        && transports.contains(&ws)
    {
        return Some(ws);
    }
    transports.first().copied()
}

/// Performs the handshake, falling back to the next transport on failure
/// when `try_all_transports` is set.
pub(crate) async fn open(
    endpoint: &Endpoint,
    config: &ClientConfig,
    http: &Http,
) -> Result<Opened, Error> {
    let mut transports = config.transports.clone();
    let mut transport = first_transport(config, &transports).ok_or(Error::NoTransports)?;
    loop {
        let result = match transport {
            TransportType::Polling => open_polling(endpoint, http).await,
            TransportType::Websocket => open_websocket(endpoint, config).await,
        };
        match result {
            Ok(opened) => return Ok(opened),
            Err(e) => {
                set_prior_websocket_success(false);
                transports.retain(|t| *t != transport);
                match transports.first() {
                    Some(next) if config.try_all_transports => {
                        tracing::debug!(error = %e, failed = transport.as_str(), "trying the next transport");
                        transport = *next;
                    }
                    _ => return Err(e),
                }
            }
        }
    }
}

async fn open_polling(endpoint: &Endpoint, http: &Http) -> Result<Opened, Error> {
    let body = http
        .request(&endpoint.uri(TransportType::Polling, None), None)
        .await?;
    let mut packets = decode(body)
        .ok_or_else(|| Error::Protocol("invalid handshake payload".into()))?
        .into_iter();
    match packets.next() {
        Some(Packet::Open(json)) => Ok(Opened::Polling {
            handshake: parse_handshake(&json)?,
            rest: packets.collect(),
        }),
        _ => Err(Error::Protocol("expected an open packet".into())),
    }
}

async fn open_websocket(endpoint: &Endpoint, config: &ClientConfig) -> Result<Opened, Error> {
    let mut stream = websocket::connect(endpoint, None, config).await?;
    let handshake = websocket::read_handshake(&mut stream).await?;
    Ok(Opened::Websocket {
        handshake,
        stream: Box::new(stream),
    })
}
