//! The task that runs one client session: it owns the transports, answers
//! pings, batches writes, performs the upgrade and reports events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::config::{ClientConfig, PacketDirection};
use super::error::CloseReason;
use super::open::set_prior_websocket_success;
use super::session::{encode_batch, take_batch, Heartbeat};
use super::transport::polling::Polling;
use super::transport::websocket::{self, Websocket};
use super::transport::{EventTx, Tasks, TransportEvent, TransportId};
use super::url::Endpoint;
use super::ClientEvent;
use crate::proto::{Handshake, Packet};
use crate::server::{Message, TransportType};

/// How long a client close may take to flush before the session is dropped.
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// Messages pulled into one polling payload at most when the server sets no
/// `maxPayload`.
const MAX_BATCH: usize = 256;

/// State shared between the driver and the client handles.
pub(crate) struct Shared {
    pub(crate) handshake: Handshake,
    transport: AtomicU8,
    closed: AtomicBool,
    pub(crate) close: CancellationToken,
}

impl Shared {
    pub(crate) fn new(handshake: Handshake, transport: TransportType) -> Shared {
        Shared {
            handshake,
            transport: AtomicU8::new(transport as u8),
            closed: AtomicBool::new(false),
            close: CancellationToken::new(),
        }
    }

    pub(crate) fn transport(&self) -> TransportType {
        if self.transport.load(Ordering::Relaxed) == TransportType::Websocket as u8 {
            TransportType::Websocket
        } else {
            TransportType::Polling
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The transport carrying the session.
pub(crate) enum Active {
    Polling(Box<Polling>),
    Websocket(Websocket),
}

/// An upgrade in progress.
enum Probe {
    /// The WebSocket is connecting.
    Connecting { _task: Tasks },
    /// `2probe` sent, waiting for `3probe`.
    Probing(Websocket),
    /// `3probe` received; waiting for polling to pause.
    Pausing(Websocket),
}

/// What woke the driver.
enum Wake {
    CloseRequested,
    Transport(TransportId, TransportEvent),
    PingTimeout,
    Data(Option<Message>),
    Writable,
    CloseTimeout,
}

type Step = Result<(), CloseReason>;

/// Everything one session owns.
pub(crate) struct Driver {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) endpoint: Arc<Endpoint>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) active: Active,
    pub(crate) active_id: TransportId,
    pub(crate) events_tx: EventTx,
    pub(crate) events_rx: mpsc::Receiver<(TransportId, TransportEvent)>,
    pub(crate) data: mpsc::Receiver<Message>,
    pub(crate) out: mpsc::Sender<ClientEvent>,
    pub(crate) upgrade_to_websocket: bool,
}

struct Run {
    d: Driver,
    heartbeat: Heartbeat,
    probe: Option<(TransportId, Probe)>,
    next_id: TransportId,
    outbox: VecDeque<Packet>,
    data_open: bool,
    closing: Option<Instant>,
    close_sent: bool,
}

impl Driver {
    /// Runs the session until it closes; `initial` are packets received
    /// with the handshake.
    pub(crate) async fn run(self, initial: Vec<Packet>) {
        let heartbeat = Heartbeat::new(&self.shared.handshake, Instant::now());
        let next_id = self.active_id + 1;
        let mut run = Run {
            d: self,
            heartbeat,
            probe: None,
            next_id,
            outbox: VecDeque::new(),
            data_open: true,
            closing: None,
            close_sent: false,
        };
        let reason = match run.run(initial).await {
            // A close the client asked for ends as such, whatever the
            // transports said while it was under way.
            Err(reason) if run.closing.is_none() => reason,
            _ => CloseReason::ForcedClose,
        };
        run.finish(reason).await;
    }
}

impl Run {
    async fn run(&mut self, initial: Vec<Packet>) -> Step {
        if self.d.upgrade_to_websocket && matches!(self.d.active, Active::Polling(_)) {
            self.start_probe();
        }
        for p in initial {
            self.on_packet(p).await?;
        }
        loop {
            // Checked here too: a server flooding messages keeps the timer
            // branch from being polled.
            if self.heartbeat.expired(Instant::now()) {
                return Err(CloseReason::PingTimeout);
            }
            self.flush()?;
            if self.close_done()? {
                return Err(CloseReason::ForcedClose);
            }
            match self.wait().await {
                Wake::CloseRequested => self.start_close(),
                Wake::Transport(id, ev) => self.on_transport(id, ev).await?,
                Wake::PingTimeout => {
                    if self.heartbeat.expired(Instant::now()) {
                        return Err(CloseReason::PingTimeout);
                    }
                }
                Wake::Data(Some(msg)) => self.outbox.push_back(msg.into()),
                Wake::Data(None) => {
                    self.data_open = false;
                    if self.closing.is_none() {
                        self.start_close();
                    }
                }
                Wake::Writable => {}
                Wake::CloseTimeout => return Err(CloseReason::ForcedClose),
            }
        }
    }

    fn upgrading(&self) -> bool {
        matches!(self.probe, Some((_, Probe::Pausing(_))))
    }

    fn can_write(&self) -> bool {
        match &self.d.active {
            // Up to the pause itself: see `Polling::writable`.
            Active::Polling(p) => p.writable(),
            Active::Websocket(ws) => ws.writable(),
        }
    }

    async fn wait(&mut self) -> Wake {
        let pull = self.data_open && self.outbox.is_empty() && self.can_write();
        let ws_full = !self.outbox.is_empty()
            && !self.upgrading()
            && matches!(&self.d.active, Active::Websocket(ws) if !ws.writable());
        let close_deadline = self.closing;
        let active = &self.d.active;
        tokio::select! {
            biased;
            _ = self.d.shared.close.cancelled(), if self.closing.is_none() => Wake::CloseRequested,
            Some((id, ev)) = self.d.events_rx.recv() => Wake::Transport(id, ev),
            _ = sleep_until(self.heartbeat.deadline()) => Wake::PingTimeout,
            msg = self.d.data.recv(), if pull => Wake::Data(msg),
            _ = wait_ws(active), if ws_full => Wake::Writable,
            _ = sleep_until(close_deadline.unwrap_or_else(Instant::now)), if close_deadline.is_some() => Wake::CloseTimeout,
        }
    }

    /// Writes what can be written now.
    fn flush(&mut self) -> Step {
        if !self.can_write() {
            return Ok(());
        }
        match &mut self.d.active {
            Active::Polling(polling) => {
                // Top the queue up to one payload's worth of messages.
                let max = self.d.shared.handshake.max_payload;
                let mut size: u64 = self.outbox.iter().map(|p| p.encoded_len() as u64 + 1).sum();
                while self.data_open
                    && (if max > 0 {
                        size < max
                    } else {
                        self.outbox.len() < MAX_BATCH
                    })
                {
                    match self.d.data.try_recv() {
                        Ok(msg) => {
                            let p = Packet::from(msg);
                            size += p.encoded_len() as u64 + 1;
                            self.outbox.push_back(p);
                        }
                        Err(_) => break,
                    }
                }
                if self.outbox.is_empty() {
                    return Ok(());
                }
                let batch = take_batch(&mut self.outbox, max);
                if let Some(o) = &self.d.config.observer {
                    for p in &batch {
                        o.observe(PacketDirection::Sent, p);
                    }
                }
                polling.post(encode_batch(&batch));
            }
            Active::Websocket(ws) => {
                while ws.writable() {
                    let next = match self.outbox.pop_front() {
                        Some(p) => p,
                        None if self.data_open => match self.d.data.try_recv() {
                            Ok(msg) => msg.into(),
                            Err(_) => break,
                        },
                        None => break,
                    };
                    if let Some(o) = &self.d.config.observer {
                        o.observe(PacketDirection::Sent, &next);
                    }
                    if !ws.send(next) {
                        return Err(CloseReason::TransportError(
                            "websocket writer stopped".into(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn start_close(&mut self) {
        self.closing = Some(Instant::now() + CLOSE_LIMIT);
        // Messages sent before the close are still delivered; later sends fail.
        self.d.data.close();
        if !self.upgrading() {
            self.probe = None;
        }
    }

    /// Sends the close packet once everything before it is out; true when the
    /// session can end.
    fn close_done(&mut self) -> Result<bool, CloseReason> {
        if self.closing.is_none() || self.data_open || self.upgrading() {
            return Ok(false);
        }
        if !self.close_sent {
            self.outbox.push_back(Packet::Close);
            self.close_sent = true;
            self.flush()?;
        }
        Ok(self.outbox.is_empty()
            && match &self.d.active {
                Active::Polling(p) => p.writable(),
                Active::Websocket(_) => true,
            })
    }

    async fn on_transport(&mut self, id: TransportId, ev: TransportEvent) -> Step {
        if id == self.d.active_id {
            match ev {
                TransportEvent::Packets(packets) => {
                    for p in packets {
                        self.on_packet(p).await?;
                    }
                }
                TransportEvent::Packet(p) => self.on_packet(p).await?,
                TransportEvent::Drained => {
                    if let Active::Polling(p) = &mut self.d.active {
                        p.on_drained();
                    }
                }
                TransportEvent::Paused => {
                    if let Active::Polling(p) = &mut self.d.active {
                        p.on_paused();
                    }
                }
                TransportEvent::Opened(_) => {}
                TransportEvent::ParseError => return Err(CloseReason::ParseError),
                TransportEvent::Error(e) => return Err(CloseReason::TransportError(e)),
                TransportEvent::Closed => return Err(CloseReason::TransportClose),
            }
            return self.maybe_finish_upgrade().await;
        }
        let Some((probe_id, probe)) = self.probe.take() else {
            return Ok(());
        };
        if probe_id != id {
            self.probe = Some((probe_id, probe));
            return Ok(());
        }
        match (probe, ev) {
            (Probe::Connecting { .. }, TransportEvent::Opened(ws)) => {
                if ws.send(Packet::PingProbe) {
                    self.probe = Some((id, Probe::Probing(ws)));
                }
            }
            (Probe::Probing(ws), TransportEvent::Packet(Packet::PongProbe)) => {
                set_prior_websocket_success(true);
                if let Active::Polling(p) = &mut self.d.active {
                    p.pause();
                }
                self.probe = Some((id, Probe::Pausing(ws)));
                return self.maybe_finish_upgrade().await;
            }
            (probe, ev) => {
                tracing::debug!(?ev, "upgrade probe failed");
                if matches!(probe, Probe::Pausing(_)) {
                    if let Active::Polling(p) = &mut self.d.active {
                        p.resume();
                    }
                }
            }
        }
        Ok(())
    }

    /// Switches to the probed WebSocket once polling has paused.
    async fn maybe_finish_upgrade(&mut self) -> Step {
        let paused = matches!(&self.d.active, Active::Polling(p) if p.is_paused());
        if !paused || !self.upgrading() {
            return Ok(());
        }
        let Some((id, Probe::Pausing(ws))) = self.probe.take() else {
            return Ok(());
        };
        self.d.active = Active::Websocket(ws);
        self.d.active_id = id;
        self.d
            .shared
            .transport
            .store(TransportType::Websocket as u8, Ordering::Relaxed);
        self.outbox.push_front(Packet::Upgrade);
        self.emit(ClientEvent::Upgrade(TransportType::Websocket))
            .await;
        Ok(())
    }

    async fn on_packet(&mut self, packet: Packet) -> Step {
        if let Some(o) = &self.d.config.observer {
            o.observe(PacketDirection::Received, &packet);
        }
        match packet {
            Packet::Ping => {
                self.heartbeat.on_ping(Instant::now());
                self.outbox.push_back(Packet::Pong);
            }
            Packet::Message(text) => self.emit(ClientEvent::Message(Message::Text(text))).await,
            Packet::Binary(data) => self.emit(ClientEvent::Message(Message::Binary(data))).await,
            Packet::Close => return Err(CloseReason::TransportClose),
            _ => {}
        }
        Ok(())
    }

    async fn emit(&self, event: ClientEvent) {
        // A receiver that was dropped does not want events; the session goes
        // on for the handles that still send.
        let _ = self.d.out.send(event).await;
    }

    fn start_probe(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        set_prior_websocket_success(false);
        let endpoint = self.d.endpoint.clone();
        let config = self.d.config.clone();
        let sid = self.d.shared.handshake.sid.clone();
        let events = self.d.events_tx.clone();
        let mut task = Tasks::default();
        task.push(tokio::spawn(async move {
            let event = match websocket::connect(&endpoint, Some(&sid), &config).await {
                Ok(stream) => TransportEvent::Opened(Websocket::start(stream, id, events.clone())),
                Err(e) => TransportEvent::Error(e.to_string()),
            };
            let _ = events.send((id, event)).await;
        }));
        self.probe = Some((id, Probe::Connecting { _task: task }));
    }

    async fn finish(self, reason: CloseReason) {
        let Run { d, probe, .. } = self;
        drop(probe);
        d.shared.closed.store(true, Ordering::Release);
        let Driver {
            active,
            out,
            mut data,
            ..
        } = d;
        data.close();
        if let Active::Websocket(ws) = active {
            ws.shutdown(Duration::from_secs(1)).await;
        }
        let _ = out.send(ClientEvent::Close(reason)).await;
    }
}

async fn wait_ws(active: &Active) {
    match active {
        Active::Websocket(ws) => ws.wait_writable().await,
        Active::Polling(_) => std::future::pending().await,
    }
}
