//! HTTP long-polling: one pending GET and one pending POST per session.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};

use super::compress;
use super::engine::Engine;
use super::errors::empty;
use super::socket::{DisconnectReason, Handler, Outgoing, Socket};
use crate::proto::{decode_payload, encode_payload_into, v3, Packet};

/// Closes the session if the GET is dropped before it answered: hyper drops
/// the handler when the client goes away, which is how an aborted poll is
/// noticed.
struct AbortGuard<'a, D>(Option<&'a Socket<D>>);

impl<D> Drop for AbortGuard<'_, D> {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.close_with(DisconnectReason::TransportError);
        }
    }
}

/// Answers a long-poll GET with everything queued, waiting for the first
/// packet if there is none yet.
pub(crate) async fn get<H: Handler>(
    engine: &Engine<H>,
    socket: &Arc<Socket<H::Data>>,
    req_headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    let Some(mut rx) = socket.outbox.try_receiver() else {
        // Overlapping GET: the reference closes the session; the pending GET
        // then answers with a close packet.
        socket.close_with(DisconnectReason::TransportError);
        return empty(StatusCode::BAD_REQUEST);
    };
    let mut packets = Vec::new();
    // engine.io compresses a poll's answer if one of its packets may be
    // compressed; the engine's own packets may.
    let mut compress = false;
    let mut take = |out: Outgoing, packets: &mut Vec<Packet>| {
        compress |= out.compress();
        out.for_each(|p| packets.push(p));
    };
    if socket.upgrading.load(Ordering::Acquire) {
        // The client is moving to a WebSocket and will pause polling: answer
        // at once, so its pause never waits on this GET. What is queued
        // goes now, as the reference flushes its buffer to a waiting poll
        // until the upgrade completes (the client reads this answer before
        // it sends the upgrade, so order holds); a noop when nothing is.
        while let Some(out) = rx.try_recv() {
            take(out, &mut packets);
        }
        drop(rx);
        if packets.is_empty() {
            packets.push(Packet::Noop);
        }
        return poll_answer(engine, socket, req_headers, &packets, compress);
    }
    let mut guard = AbortGuard(Some(socket.as_ref()));
    // Whether this GET was waiting when the session closed (the reference's
    // writable transport): the close then goes alone in its answer.
    let waited = !socket.is_closed();
    if waited {
        tokio::select! {
            biased;
            _ = socket.closed.cancelled() => {}
            _ = socket.poll_interrupt.notified() => packets.push(Packet::Noop),
            out = rx.recv() => take(out, &mut packets),
        }
    }
    guard.0 = None;
    if socket.is_closed() {
        if socket.disconnect_reason() == Some(DisconnectReason::TransportClose) {
            // The client asked to close: end its poll cleanly.
            packets.clear();
            packets.push(Packet::Noop);
            socket.final_poll_taken.store(true, Ordering::Release);
            socket.flushed.notify_one();
        } else {
            while let Some(out) = rx.try_recv() {
                take(out, &mut packets);
            }
            // A session the server closed, as the reference's polling
            // transport: what was queued goes first, in an answer of its own;
            // the close follows in the next poll, behind a noop when no GET
            // was waiting for it. A shutdown hands over everything in one
            // answer (the reference discards it): the server will not wait
            // for many polls.
            if socket.disconnect_reason() == Some(DisconnectReason::ServerShuttingDown) {
                packets.push(Packet::Close);
                socket.final_poll_taken.store(true, Ordering::Release);
                socket.flushed.notify_one();
            } else if packets.is_empty() {
                if !waited {
                    packets.push(Packet::Noop);
                }
                packets.push(Packet::Close);
                socket.final_poll_taken.store(true, Ordering::Release);
                socket.flushed.notify_one();
            }
        }
    } else {
        while let Some(out) = rx.try_recv() {
            take(out, &mut packets);
        }
    }
    drop(rx);
    poll_answer(engine, socket, req_headers, &packets, compress)
}

/// A GET's answer carrying `packets`: compressed, past the threshold, when
/// one of them may be (`compress`: a message sent compressible) or is the
/// engine's own.
fn poll_answer<H: Handler>(
    engine: &Engine<H>,
    socket: &Socket<H::Data>,
    req_headers: &HeaderMap,
    packets: &[Packet],
    compress: bool,
) -> Response<Full<Bytes>> {
    let compress = compress
        || packets
            .iter()
            .any(|p| !matches!(p, Packet::Message(_) | Packet::Binary(_)));
    payload_response(engine, socket, req_headers, packets, compress)
}

/// The answer to a GET: `packets` as the session's protocol frames them.
pub(crate) fn payload_response<H: Handler>(
    engine: &Engine<H>,
    socket: &Socket<H::Data>,
    req_headers: &HeaderMap,
    packets: &[Packet],
    compress: bool,
) -> Response<Full<Bytes>> {
    let (body, binary) = if socket.is_eio3() {
        let payload = v3::encode_payload(packets, socket.polling_binary);
        (payload.body, payload.binary)
    } else {
        let mut body = Vec::with_capacity(packets.iter().map(|p| p.encoded_len() + 1).sum());
        encode_payload_into(packets, &mut body);
        (body, false)
    };
    let (body, encoding) = match engine.config.http_compression_threshold {
        Some(threshold) if compress && body.len() >= threshold => {
            compress::maybe_compress(body, req_headers)
        }
        _ => (body, None),
    };
    let mut res = Response::new(Full::new(Bytes::from(body)));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if binary {
            "application/octet-stream"
        } else {
            "text/plain; charset=UTF-8"
        }),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    res
}

/// Whether the server closed the session, which then still owes its client
/// a final poll.
fn server_closed<D>(socket: &Socket<D>) -> bool {
    socket.disconnect_reason().is_some_and(|r| r.flushes())
}

/// Takes a POSTed payload and hands its packets to the session.
pub(crate) async fn post<H: Handler, B>(
    engine: &Engine<H>,
    socket: &Arc<Socket<H::Data>>,
    headers: &HeaderMap,
    body: B,
) -> Response<Full<Bytes>>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if socket.post_busy.swap(true, Ordering::AcqRel) {
        socket.close_with(DisconnectReason::TransportError);
        return empty(StatusCode::BAD_REQUEST);
    }
    let res = read_and_dispatch(engine, socket, headers, body).await;
    socket.post_busy.store(false, Ordering::Release);
    match res {
        Ok(()) => {
            let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            // As every polling answer of the reference's.
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err((status, reason)) => {
            socket.close_with(reason);
            empty(status)
        }
    }
}

async fn read_and_dispatch<H: Handler, B>(
    engine: &Engine<H>,
    socket: &Arc<Socket<H::Data>>,
    headers: &HeaderMap,
    body: B,
) -> Result<(), (StatusCode, DisconnectReason)>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = engine.config.max_http_buffer_size;
    // v4 polling bodies are text; the reference refuses binary POSTs. A
    // protocol 3 client sends binary payloads that way.
    let binary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    if binary && !socket.is_eio3() {
        return Err((StatusCode::BAD_REQUEST, DisconnectReason::TransportError));
    }
    let too_large = (
        StatusCode::PAYLOAD_TOO_LARGE,
        DisconnectReason::TransportError,
    );
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
    {
        return Err(too_large);
    }
    // Raced with the session: a body trickled in after the heartbeat closed
    // the session is not read on.
    let collected = tokio::select! {
        r = Limited::new(body, limit).collect() => r,
        _ = socket.closed.cancelled() => {
            if server_closed(socket) {
                // Its client still has a final poll to make.
                return Ok(());
            }
            return Err((StatusCode::BAD_REQUEST, DisconnectReason::TransportError));
        }
    };
    let body = match collected {
        Ok(c) => c.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(too_large)
        }
        Err(_) => return Err((StatusCode::BAD_REQUEST, DisconnectReason::TransportError)),
    };
    if socket.is_eio3() {
        dispatch_v3(engine, socket, body, binary);
        return Ok(());
    }
    for packet in decode_payload(body) {
        if socket.is_closed() {
            break;
        }
        // Whatever ends the session here (a close packet, garbage, a client
        // ping), the POST itself is answered `ok`, as the reference does.
        if let Err(reason) = engine.on_decoded(socket, packet) {
            socket.close_with(reason);
            break;
        }
    }
    Ok(())
}

/// Hands a protocol 3 payload's packets to the session. A payload whose
/// framing is broken is refused whole: its lengths cannot be trusted, so
/// neither can the packets before the fault.
fn dispatch_v3<H: Handler>(
    engine: &Engine<H>,
    socket: &Arc<Socket<H::Data>>,
    body: Bytes,
    binary: bool,
) {
    let decoded = match binary {
        true => v3::decode_binary_payload(body),
        false => v3::decode_payload(body),
    };
    let packets = match decoded {
        Ok(packets) => packets,
        Err(e) => {
            let _ = engine.on_decoded(socket, Err(e));
            socket.close_with(DisconnectReason::ParseError);
            return;
        }
    };
    for packet in packets {
        if socket.is_closed() {
            break;
        }
        if let Err(reason) = engine.on_packet(socket, packet) {
            socket.close_with(reason);
            break;
        }
    }
}
