//! WebSocket transport: direct sessions and upgrades from polling.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::config::TransportType;
use super::deflate::{self, DeflateStream, WsIo};
use super::engine::Engine;
use super::request::RequestInfo;
use super::session::SessionEvent;
use super::sid::SessionId;
use super::socket::{wants_base64, DisconnectReason, Handler, Outgoing, Socket};
use crate::proto::{v3, Packet, Str};

type Ws = WebSocketStream<WsIo<TokioIo<Upgraded>>>;

/// Frames are gathered up to this many bytes before a write: the run loop
/// flushes after draining its queue, so a broadcast burst goes out in a few
/// system calls instead of one per frame. The buffer grows only when used.
const WRITE_BUFFER: usize = 64 * 1024;

pub(crate) async fn accept<H: Handler>(
    engine: &Engine<H>,
    upgraded: Upgraded,
    req: &RequestInfo,
) -> Ws {
    let io = TokioIo::new(upgraded);
    // As the 101 answer said (`service::websocket_upgrade`).
    let io = match engine.config.per_message_deflate {
        Some(threshold) if deflate::accepts(&req.headers) => WsIo::Deflate(Box::new(
            DeflateStream::new(io, threshold, engine.config.max_http_buffer_size),
        )),
        _ => WsIo::Plain(io),
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(engine.config.max_http_buffer_size))
        .max_frame_size(Some(engine.config.max_http_buffer_size));
    WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await
}

fn text_frame(s: Str) -> WsMessage {
    // SAFETY: `Str` is valid UTF-8 by construction.
    WsMessage::Text(unsafe { Utf8Bytes::from_bytes_unchecked(s.into_bytes()) })
}

/// How a session's packets map to frames, fixed once per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    V4,
    /// Protocol 3: binary messages behind their type byte, or as `b4`
    /// base64 text for a client that asked for `b64`.
    V3 {
        binary: bool,
    },
}

impl Framing {
    fn of<D>(socket: &Socket<D>, req: &RequestInfo) -> Self {
        match socket.is_eio3() {
            false => Framing::V4,
            true => Framing::V3 {
                binary: !wants_base64(req),
            },
        }
    }
}

fn to_frame(p: Packet, framing: Framing) -> WsMessage {
    match (p, framing) {
        (Packet::Binary(b), Framing::V4) => WsMessage::Binary(b),
        (Packet::Binary(b), Framing::V3 { binary: true }) => {
            WsMessage::Binary(v3::encode_binary_frame(&b))
        }
        (p @ Packet::Binary(_), Framing::V3 { binary: false }) => text_frame(v3::encode_text(&p)),
        (other, _) => text_frame(other.to_frame_text().unwrap_or_default()),
    }
}

/// A session opened directly over WebSocket: opens it (run by the task
/// that waited for the upgrade), then spawns the session's loop as a task
/// of its own.
///
/// The loop's task is made once the session is open, so it holds the loop
/// alone: one future holding the opening too would keep the opening's
/// size (its request, the handshake) for the whole life of every
/// connection, hundreds of bytes each.
pub(crate) async fn serve_new<H: Handler>(
    engine: Arc<Engine<H>>,
    upgraded: Upgraded,
    req: RequestInfo,
    sid: SessionId,
    eio3: bool,
) {
    if let Some(opened) = open_new(engine, upgraded, req, sid, eio3).await {
        spawn_run(opened);
    }
}

/// Spawns the loop of an open session, in turns with the other
/// connections (see `turns`).
fn spawn_run<H: Handler>((engine, socket, ws, framing): Opened<H>) {
    let conn = run(engine.clone(), socket, ws, framing);
    tokio::spawn(engine.turns.wrap(conn));
}

/// Accepts the WebSocket and opens its session: what [`run`] takes, or
/// `None` when the session is over before it started.
async fn open_new<H: Handler>(
    engine: Arc<Engine<H>>,
    upgraded: Upgraded,
    req: RequestInfo,
    sid: SessionId,
    eio3: bool,
) -> Option<Opened<H>> {
    let mut ws = accept(&engine, upgraded, &req).await;
    let Some((socket, open)) = engine.open(TransportType::Websocket, req, sid, eio3) else {
        // The generated id was taken meanwhile.
        let _ = ws.close(None).await;
        return None;
    };
    let framing = Framing::of(&socket, socket.req());
    ws.get_mut().next_frame(true);
    if ws.send(to_frame(open, framing)).await.is_err() {
        socket.close_with(DisconnectReason::TransportError);
        return None;
    }
    Some((engine, socket, ws, framing))
}

/// What a connection's loop ([`run`]) takes over.
type Opened<H> = (
    Arc<Engine<H>>,
    Arc<Socket<<H as Handler>::Data>>,
    Ws,
    Framing,
);

/// A WebSocket probing an existing polling session: `2probe` / `3probe`, the
/// pending GET ended with a noop, then `5` switches the session over; the
/// session's loop then runs in a task of its own, as for [`serve_new`].
pub(crate) async fn serve_upgrade<H: Handler>(
    engine: Arc<Engine<H>>,
    socket: Arc<Socket<H::Data>>,
    upgraded: Upgraded,
    req: RequestInfo,
) {
    if let Some(opened) = probe_upgrade(engine, socket, upgraded, req).await {
        spawn_run(opened);
    }
}

/// The probe of an upgrade: the session switched over, ready for [`run`],
/// or `None`.
async fn probe_upgrade<H: Handler>(
    engine: Arc<Engine<H>>,
    socket: Arc<Socket<H::Data>>,
    upgraded: Upgraded,
    req: RequestInfo,
) -> Option<Opened<H>> {
    let framing = Framing::of(&socket, &req);
    let mut ws = accept(&engine, upgraded, &req).await;
    if !engine.config.allow_upgrades
        || socket.transport() != TransportType::Polling
        || socket.upgrading.swap(true, Ordering::AcqRel)
    {
        let _ = ws.close(None).await;
        return None;
    }
    let probe = async {
        while let Some(Ok(msg)) = ws.next().await {
            match msg {
                WsMessage::Text(t) if t.as_str() == "2probe" => {
                    ws.get_mut().next_frame(true);
                    ws.send(text_frame(Str::from_static("3probe"))).await.ok()?;
                    socket.poll_interrupt.notify_one();
                }
                WsMessage::Text(t) if t.as_str() == "5" => return Some(()),
                WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                _ => return None,
            }
        }
        None
    };
    let upgraded = tokio::select! {
        r = tokio::time::timeout(engine.config.upgrade_timeout, probe) => matches!(r, Ok(Some(()))),
        _ = socket.closed.cancelled() => false,
    };
    if !upgraded {
        socket.upgrading.store(false, Ordering::Release);
        let _ = ws.close(None).await;
        return None;
    }
    socket.set_transport(TransportType::Websocket);
    socket.upgrading.store(false, Ordering::Release);
    engine.handler.on_upgrade(&socket);
    engine.session_event(&socket, SessionEvent::Upgrade);
    Some((engine, socket, ws, framing))
}

/// Pumps packets both ways until the session ends, one packet per frame.
///
/// An `async move` block rather than an `async fn`: an `async fn` copies
/// its arguments into locals, and the WebSocket would be held twice.
#[allow(clippy::manual_async_fn)] // on purpose, as said above
fn run<H: Handler>(
    engine: Arc<Engine<H>>,
    socket: Arc<Socket<H::Data>>,
    mut ws: Ws,
    framing: Framing,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        let (engine, socket) = (&*engine, &socket);
        // Registered once for the whole loop rather than once per packet.
        let closed = socket.closed.cancelled();
        tokio::pin!(closed);
        // After an upgrade the last GET may still hold the queue for a
        // moment. The waits of this loop that happen once or rarely (this
        // one, and those of the close) are boxed: the loop's future is
        // as large as its largest wait, for the whole life of the
        // connection.
        let mut rx = match socket.outbox.try_receiver() {
            Some(rx) => rx,
            None => {
                let waiting = Box::pin(socket.outbox.receiver());
                tokio::select! {
                    rx = waiting => rx,
                    _ = &mut closed => return,
                }
            }
        };
        let budget = Budget::default();
        loop {
            // Checked here, the close future is polled only before the task
            // sleeps rather than on every packet.
            if socket.is_closed() {
                break;
            }
            if budget.spent() {
                yield_once().await;
                budget.refill();
            }
            tokio::select! {
                biased;
                out = rx.recv() => {
                    let write = async {
                        budget.spend(write_out(&mut ws, out, framing).await?);
                        while budget.left() {
                            let Some(out) = rx.try_recv() else { break };
                            budget.spend(write_out(&mut ws, out, framing).await?);
                        }
                        ws.flush().await
                    };
                    tokio::pin!(write);
                    let res = tokio::select! {
                        r = &mut write => r,
                        _ = &mut closed => {
                            // A server close still delivers what was queued before
                            // it, this burst included, within the time `finish`
                            // gets below. Any other close (a client that stopped
                            // reading and missed its pong) must not pin the
                            // connection.
                            if !socket.disconnect_reason().is_some_and(|r| r.flushes()) {
                                return;
                            }
                            match Box::pin(tokio::time::timeout(engine.config.ping_timeout, write)).await {
                                Ok(Ok(())) => break,
                                _ => return,
                            }
                        }
                    };
                    if res.is_err() {
                        socket.close_with(DisconnectReason::TransportError);
                        return;
                    }
                }
                msg = budget.read(&mut ws) => {
                    budget.spend(1);
                    // Its own handlers' replies are written on the next turn of
                    // this loop, without waking the task.
                    rx.will_look_again();
                    let result = match msg {
                        Some(Ok(WsMessage::Text(t))) => {
                            // SAFETY: tungstenite validated the frame as UTF-8.
                            let text = unsafe { Str::from_bytes_unchecked(t.into()) };
                            let packet = match framing {
                                Framing::V4 => Packet::decode(text),
                                Framing::V3 { .. } => v3::decode_packet(text),
                            };
                            engine.on_decoded(socket, packet)
                        }
                        Some(Ok(WsMessage::Binary(b))) => match framing {
                            Framing::V4 => engine.on_packet(socket, Packet::Binary(b)),
                            Framing::V3 { .. } => engine.on_decoded(socket, v3::decode_binary_frame(b)),
                        },
                        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => Ok(()),
                        Some(Ok(WsMessage::Close(_))) | None => Err(DisconnectReason::TransportClose),
                        // What the compression layer refused (a message past the
                        // size limit once inflated, bad compressed data): an
                        // error of the peer's, as tungstenite's own limits are.
                        Some(Err(WsError::Io(e))) if e.kind() == std::io::ErrorKind::InvalidData => {
                            Err(DisconnectReason::TransportError)
                        }
                        // A peer that vanished without a close frame is a
                        // "transport close", as the reference reports it.
                        Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_)))
                        | Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                            Err(DisconnectReason::TransportClose)
                        }
                        Some(Err(_)) => Err(DisconnectReason::TransportError),
                    };
                    if let Err(reason) = result {
                        socket.close_with(reason);
                        break;
                    }
                }
                _ = &mut closed => break,
            }
        }
        // The last packets and the close frame get as long as a pong would:
        // a peer that does not read them does not keep the connection.
        let finish = async {
            if socket.disconnect_reason().is_some_and(|r| r.flushes()) {
                while let Some(out) = rx.try_recv() {
                    if write_out(&mut ws, out, framing).await.is_err() {
                        return;
                    }
                }
            }
            let _ = ws.close(None).await;
        };
        let _ = Box::pin(tokio::time::timeout(engine.config.ping_timeout, finish)).await;
    }
}

/// Feeds one unit of the queue to the socket: the number of frames fed.
async fn write_out(ws: &mut Ws, out: Outgoing, framing: Framing) -> Result<usize, WsError> {
    let compress = out.compress();
    match out {
        Outgoing::One(p) => {
            ws.get_mut().next_frame(compress);
            ws.feed(to_frame(p, framing)).await.map(|()| 1)
        }
        Outgoing::Batch(packets) | Outgoing::Plain(packets) => {
            let n = packets.len();
            for p in packets {
                ws.get_mut().next_frame(compress);
                ws.feed(to_frame(p, framing)).await?;
            }
            Ok(n)
        }
    }
}

/// Packets a connection handles, both ways, before it lets the others run.
/// A connection that never finds its socket empty (a client flooding it)
/// would otherwise keep its worker for as long as tokio's own budget of
/// reads and writes lasts, some thousands of small packets.
pub(crate) const PACKETS_PER_TURN: usize = 32;

/// The packets a connection may still handle on this turn. Refilled when
/// its socket has nothing more to read: the connection has caught up, and
/// sleeps until the next frame unless it has packets to write.
///
/// Shared by the loop's two branches, one reading while the other spends:
/// an atomic only because the task must be `Send` (one thread uses it).
struct Budget {
    left: AtomicUsize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: AtomicUsize::new(PACKETS_PER_TURN),
        }
    }
}

impl Budget {
    fn spend(&self, n: usize) {
        let left = self.left.load(Ordering::Relaxed);
        self.left.store(left.saturating_sub(n), Ordering::Relaxed);
    }

    fn left(&self) -> bool {
        self.left.load(Ordering::Relaxed) > 0
    }

    fn spent(&self) -> bool {
        !self.left()
    }

    fn refill(&self) {
        self.left.store(PACKETS_PER_TURN, Ordering::Relaxed);
    }

    /// The next frame; an empty socket refills the budget.
    fn read<'a>(
        &'a self,
        ws: &'a mut Ws,
    ) -> impl std::future::Future<Output = Option<Result<WsMessage, WsError>>> + 'a {
        std::future::poll_fn(move |cx| {
            let next = ws.poll_next_unpin(cx);
            if next.is_pending() {
                self.refill();
            }
            next
        })
    }
}

/// Lets the other tasks run: wakes itself and gives the worker up once.
/// The wake-up goes to the back of the connections' queue (`turns`).
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}
