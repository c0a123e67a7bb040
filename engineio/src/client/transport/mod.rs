//! The two transports. Each runs its IO in tasks of its own and reports to
//! the session driver through one channel, tagged with the transport's id so
//! that late reports of a replaced transport are recognised and ignored.

pub(crate) mod polling;
pub(crate) mod websocket;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::proto::Packet;

/// Tells transports apart in the driver's channel.
pub(crate) type TransportId = u64;

/// What a transport reports to the driver.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// The packets of one polling response.
    Packets(Vec<Packet>),
    /// The packet of one WebSocket frame.
    Packet(Packet),
    /// A POST completed: polling may write again.
    Drained,
    /// The GET loop stopped after a pause request.
    Paused,
    /// A probe WebSocket connected.
    Opened(websocket::Websocket),
    /// The server sent something undecodable.
    ParseError,
    /// The transport failed.
    Error(String),
    /// The server closed the transport.
    Closed,
}

/// The sending side of the driver's channel.
pub(crate) type EventTx = mpsc::Sender<(TransportId, TransportEvent)>;

/// Aborts its tasks when dropped, so a replaced or closed transport stops
/// all its IO.
#[derive(Debug, Default)]
pub(crate) struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    pub(crate) fn push(&mut self, task: JoinHandle<()>) {
        self.0.push(task);
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// An error with its chain of causes, for messages.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
