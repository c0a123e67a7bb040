//! The Engine.IO v4 client: HTTP long-polling and WebSocket transports, the
//! upgrade from one to the other, and the heartbeat, on par with the npm
//! `engine.io-client`.
//!
//! ```no_run
//! # async fn run() -> Result<(), engineio::client::Error> {
//! use engineio::client::{Client, ClientConfig, ClientEvent};
//! use engineio::Message;
//!
//! let (client, mut events) = Client::connect("http://localhost:3000", ClientConfig::default()).await?;
//! client.send(Message::Text("hello".into())).ok();
//! while let Some(event) = events.recv().await {
//!     match event {
//!         ClientEvent::Message(msg) => println!("{msg:?}"),
//!         ClientEvent::Upgrade(transport) => println!("now on {}", transport.as_str()),
//!         ClientEvent::Close(reason) => break,
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Each connection runs on a task of its own; [`Client`] is a cheap handle
//! to it. The transports stay apart from the protocol logic of
//! `session` (handshake, heartbeat deadline, payload batching), which takes
//! instants and packets and does no IO.

mod config;
mod driver;
mod error;
mod open;
mod session;
mod tls;
mod transport;
mod url;

use std::sync::Arc;

use tokio::sync::mpsc;

pub use config::{ClientAuthPem, ClientConfig, PacketDirection, PacketObserver, TlsConfig};
pub use error::{CloseReason, Error};
/// The rustls version the `tls` feature uses, for
/// [`TlsConfig::rustls_config`].
#[cfg(feature = "tls")]
pub use rustls;

pub use crate::proto::Handshake;
pub use crate::server::{Message, SendError, TransportType};

use driver::{Active, Driver, Shared};
use open::{open, set_prior_websocket_success, Opened};
use transport::polling::{Http, Polling};
use transport::websocket::Websocket;
use url::Endpoint;

/// What a connection reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A message from the server.
    Message(Message),
    /// The connection moved to another transport (polling to WebSocket).
    Upgrade(TransportType),
    /// The connection ended; always the last event.
    Close(CloseReason),
}

/// A handle to one Engine.IO connection. Cheap to clone; the connection
/// closes when [`Client::close`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    data: mpsc::Sender<Message>,
    shared: Arc<Shared>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.close.cancel();
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("sid", &self.sid())
            .field("transport", &self.transport())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Client {
    /// Connects to the Engine.IO server at `url` (`http://host:port`; `ws`
    /// works too, and `https` / `wss` with the `tls` feature) and returns
    /// once the handshake is done, with the receiver of the connection's
    /// events.
    pub async fn connect(
        url: &str,
        config: ClientConfig,
    ) -> Result<(Client, mpsc::Receiver<ClientEvent>), Error> {
        let mut endpoint = Endpoint::parse(url, &config)?;
        endpoint.set_tls(tls::Tls::new(endpoint.secure(), &config)?);
        let endpoint = Arc::new(endpoint);
        let config = Arc::new(config);
        let http = Http::new(config.extra_headers.clone(), endpoint.tls())?;
        let opening = open(&endpoint, &config, &http);
        let opened = match config.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, opening)
                .await
                .map_err(|_| Error::Timeout)??,
            None => opening.await?,
        };
        let (events_tx, events_rx) = mpsc::channel(64);
        let (handshake, active, initial) = match opened {
            Opened::Polling { handshake, rest } => {
                let polling = Polling::start(
                    http,
                    endpoint.clone(),
                    handshake.sid.clone(),
                    0,
                    events_tx.clone(),
                );
                (handshake, Active::Polling(Box::new(polling)), rest)
            }
            Opened::Websocket { handshake, stream } => {
                set_prior_websocket_success(true);
                let ws = Websocket::start(*stream, 0, events_tx.clone());
                (handshake, Active::Websocket(ws), Vec::new())
            }
        };
        let transport = match active {
            Active::Polling(_) => TransportType::Polling,
            Active::Websocket(_) => TransportType::Websocket,
        };
        let upgrade_to_websocket = config.upgrade
            && session::filter_upgrades(&handshake.upgrades, &config.transports)
                .contains(&TransportType::Websocket);
        if let Some(o) = &config.observer {
            // The handshake's packet, first of all, as engine.io-client's
            // `packet` event reports it.
            let open = crate::proto::Packet::Open(handshake.to_json().into());
            o.observe(PacketDirection::Received, &open);
        }
        let shared = Arc::new(Shared::new(handshake, transport));
        let (data_tx, data_rx) = mpsc::channel(config.send_buffer.max(1));
        let (out_tx, out_rx) = mpsc::channel(config.event_buffer.max(1));
        let driver = Driver {
            config,
            endpoint,
            shared: shared.clone(),
            active,
            active_id: 0,
            events_tx,
            events_rx,
            data: data_rx,
            out: out_tx,
            upgrade_to_websocket,
        };
        tokio::spawn(driver.run(initial));
        let client = Client {
            inner: Arc::new(Inner {
                data: data_tx,
                shared,
            }),
        };
        Ok((client, out_rx))
    }

    /// Queues a message; fails when the send buffer is full or the
    /// connection is closed (or closing).
    pub fn send(&self, msg: Message) -> Result<(), SendError> {
        self.inner.data.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    /// Queues several messages back to back, all or none: a Socket.IO packet
    /// and its binary attachments must not be split by a full buffer.
    pub fn send_many(&self, msgs: Vec<Message>) -> Result<(), SendError> {
        let permits = self
            .inner
            .data
            .try_reserve_many(msgs.len())
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })?;
        for (permit, msg) in permits.zip(msgs) {
            permit.send(msg);
        }
        Ok(())
    }

    /// Queues a message, waiting for room in the send buffer.
    pub async fn send_async(&self, msg: Message) -> Result<(), SendError> {
        self.inner
            .data
            .send(msg)
            .await
            .map_err(|_| SendError::Closed)
    }

    /// Closes the connection after the messages already queued are written;
    /// the event receiver then gets [`CloseReason::ForcedClose`].
    pub fn close(&self) {
        self.inner.shared.close.cancel();
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.inner.shared.handshake.sid
    }

    /// The server's handshake (ping interval and timeout, max payload).
    pub fn handshake(&self) -> &Handshake {
        &self.inner.shared.handshake
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportType {
        self.inner.shared.transport()
    }

    /// True once the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.is_closed()
    }
}
