//! WebSocket compression (RFC 7692 `permessage-deflate`, engine.io's
//! `perMessageDeflate`), as a byte stream beneath tungstenite.
//!
//! tungstenite has no extension hook and refuses frames with RSV1 set, so
//! the extension lives one layer down: [`DeflateStream`] reads and writes
//! the connection's frames itself and shows tungstenite only plain ones.
//! - Inbound, a message whose first frame has RSV1 set is gathered across
//!   its continuation frames, inflated (§7.2.2) within the size limit, and
//!   handed up as one unfragmented masked frame; everything else passes
//!   through untouched.
//! - Outbound, each whole data frame of at least the threshold is deflated
//!   (§7.2.1: sync flush, the trailing `00 00 ff ff` dropped) and sent with
//!   RSV1 set; smaller ones and control frames go as they are.
//!
//! Both directions run without context takeover (the server says so in its
//! answer, as RFC 7692 lets it): each message is compressed on its own, so
//! an idle connection keeps no compression state.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The server's answer to an accepted offer.
pub(crate) const RESPONSE: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// Whether the request offers `permessage-deflate` in a form this server
/// accepts: any offer without a `server_max_window_bits` below 15 or
/// parameters it does not know.
pub(crate) fn accepts(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(acceptable_offer)
}

fn acceptable_offer(offer: &str) -> bool {
    let mut parts = offer.split(';').map(str::trim);
    if !parts
        .next()
        .is_some_and(|n| n.eq_ignore_ascii_case("permessage-deflate"))
    {
        return false;
    }
    parts.all(|param| {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        match name.to_ascii_lowercase().as_str() {
            // Limits on what the client sends: ours inflates any window.
            "client_max_window_bits" | "client_no_context_takeover" => true,
            "server_no_context_takeover" => value.is_none(),
            // A smaller window than 15 for our output is not offered here.
            "server_max_window_bits" => value == Some("15"),
            _ => false,
        }
    })
}

/// The upgraded connection with or without compression.
#[derive(Debug)]
pub(crate) enum WsIo<S> {
    /// No extension negotiated.
    Plain(S),
    /// `permessage-deflate` negotiated.
    Deflate(Box<DeflateStream<S>>),
}

impl<S> WsIo<S> {
    /// Tells the compressor about the next data frame the writer hands
    /// tungstenite: `compress: false` (socket.io's `compress(false)`) sends
    /// it as it is, whatever its size. Without compression, nothing to do.
    pub(crate) fn next_frame(&mut self, compress: bool) {
        if let WsIo::Deflate(d) = self {
            d.next_frame(compress);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            WsIo::Deflate(d) => Pin::new(&mut **d).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            WsIo::Deflate(d) => Pin::new(&mut **d).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            WsIo::Deflate(d) => Pin::new(&mut **d).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WsIo::Plain(s) => s.is_write_vectored(),
            WsIo::Deflate(_) => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_flush(cx),
            WsIo::Deflate(d) => Pin::new(&mut **d).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            WsIo::Deflate(d) => Pin::new(&mut **d).poll_shutdown(cx),
        }
    }
}

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const MASK: u8 = 0x80;
const OP_CONTINUATION: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
/// The empty stored block a sync flush ends with (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Processed output waiting for the socket beyond which writes wait.
const WRITE_HIGH_WATER: usize = 256 * 1024;

/// A frame's header, as read from the start of a buffer.
struct Header {
    first: u8,
    masked: bool,
    header_len: usize,
    payload_len: usize,
}

impl Header {
    /// The header at the start of `b`, or `None` while incomplete.
    fn parse(b: &[u8]) -> io::Result<Option<Header>> {
        if b.len() < 2 {
            return Ok(None);
        }
        let masked = b[1] & MASK != 0;
        let (len, mut at) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(n), 10)
            }
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if masked {
            at += 4;
        }
        let payload_len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
        Ok(Some(Header {
            first: b[0],
            masked,
            header_len: at,
            payload_len,
        }))
    }

    fn opcode(&self) -> u8 {
        self.first & 0x0f
    }

    fn is_control(&self) -> bool {
        self.opcode() & 0x08 != 0
    }
}

/// Writes a frame header: `first` byte, the length, and a zero mask when
/// `masked` (a masked frame whose payload is its own unmasked bytes).
fn put_header(out: &mut BytesMut, first: u8, len: usize, masked: bool) {
    let mask_bit = if masked { MASK } else { 0 };
    out.put_u8(first);
    if len < 126 {
        out.put_u8(mask_bit | len as u8);
    } else if let Ok(n) = u16::try_from(len) {
        out.put_u8(mask_bit | 126);
        out.put_u16(n);
    } else {
        out.put_u8(mask_bit | 127);
        out.put_u64(len as u64);
    }
    if masked {
        out.put_u32(0);
    }
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// The connection under tungstenite when `permessage-deflate` is on (see
/// the module's documentation).
#[derive(Debug)]
pub(crate) struct DeflateStream<S> {
    io: S,
    /// Compress data frames of at least this many bytes.
    threshold: usize,
    /// Largest message, inflated (the engine's `maxHttpBufferSize`).
    max_message: usize,
    /// Bytes read from the socket, not yet framed.
    raw_in: BytesMut,
    /// Plain frames for tungstenite.
    plain_in: BytesMut,
    /// The compressed message being gathered: its opcode and payload.
    gathering: Option<(u8, Vec<u8>)>,
    /// Bytes tungstenite wrote, not yet framed.
    plain_out: BytesMut,
    /// Frames for the socket.
    raw_out: BytesMut,
    /// Inside a fragmented outgoing message (sent as it is).
    fragmented_out: bool,
    /// Data frames announced by the writer ([`Self::next_frame`]) and data
    /// frames framed in `frame_output`: both count the same frames in the
    /// same order, as tungstenite writes what it is fed in order.
    frames_fed: u64,
    frames_out: u64,
    /// The numbers (in `frames_fed`'s count) of the frames to send
    /// uncompressed, oldest first.
    plain_frames: VecDeque<u64>,
    read_eof: bool,
}

impl<S> DeflateStream<S> {
    pub(crate) fn new(io: S, threshold: usize, max_message: usize) -> DeflateStream<S> {
        DeflateStream {
            io,
            threshold,
            max_message,
            raw_in: BytesMut::new(),
            plain_in: BytesMut::new(),
            gathering: None,
            plain_out: BytesMut::new(),
            raw_out: BytesMut::new(),
            fragmented_out: false,
            frames_fed: 0,
            frames_out: 0,
            plain_frames: VecDeque::new(),
            read_eof: false,
        }
    }

    /// See [`WsIo::next_frame`].
    fn next_frame(&mut self, compress: bool) {
        if !compress {
            self.plain_frames.push_back(self.frames_fed);
        }
        self.frames_fed += 1;
    }

    /// Whether the next whole data frame may be compressed (counts it).
    fn take_frame(&mut self) -> bool {
        let n = self.frames_out;
        self.frames_out += 1;
        if self.plain_frames.front() == Some(&n) {
            self.plain_frames.pop_front();
            return false;
        }
        true
    }

    /// Turns the complete frames of `raw_in` into plain ones in `plain_in`.
    fn frame_input(&mut self) -> io::Result<()> {
        while let Some(h) = Header::parse(&self.raw_in)? {
            if !h.masked {
                return Err(invalid("unmasked frame from a client"));
            }
            if h.payload_len > self.max_message {
                return Err(invalid("frame too large"));
            }
            let total = h.header_len + h.payload_len;
            if self.raw_in.len() < total {
                self.raw_in.reserve(total - self.raw_in.len());
                return Ok(());
            }
            let frame = self.raw_in.split_to(total);
            let compressed_start = h.first & RSV1 != 0 && !h.is_control();
            match (&mut self.gathering, h.opcode()) {
                (None, OP_TEXT | OP_BINARY) if compressed_start => {
                    self.gathering = Some((h.opcode(), unmask(&frame, &h)));
                }
                (Some((_, data)), OP_CONTINUATION) if h.first & RSV1 == 0 => {
                    data.extend_from_slice(&unmask(&frame, &h));
                    if data.len() > self.max_message {
                        return Err(invalid("message too large"));
                    }
                }
                (Some(_), OP_TEXT | OP_BINARY) => {
                    return Err(invalid("a new message inside a fragmented one"));
                }
                // Control frames may come between fragments; anything else
                // (RSV1 where it has no meaning) reaches tungstenite, which
                // refuses it.
                _ => {
                    self.plain_in.extend_from_slice(&frame);
                    continue;
                }
            }
            if h.first & FIN != 0 {
                if let Some((opcode, data)) = self.gathering.take() {
                    let message = inflate(&data, self.max_message)?;
                    put_header(&mut self.plain_in, FIN | opcode, message.len(), true);
                    self.plain_in.extend_from_slice(&message);
                }
            }
        }
        Ok(())
    }

    /// Turns the complete frames of `plain_out` into frames for the socket.
    fn frame_output(&mut self) -> io::Result<()> {
        while let Some(h) = Header::parse(&self.plain_out)? {
            let total = h.header_len + h.payload_len;
            if self.plain_out.len() < total {
                return Ok(());
            }
            let frame = self.plain_out.split_to(total);
            let whole_data = h.first & FIN != 0
                && !self.fragmented_out
                && matches!(h.opcode(), OP_TEXT | OP_BINARY);
            if !h.is_control() {
                self.fragmented_out = h.first & FIN == 0;
            }
            // Whole data frames are the writer's frames, each announced.
            let compress = whole_data && self.take_frame();
            if compress && !h.masked && h.payload_len >= self.threshold {
                let packed = deflate(&frame[h.header_len..])?;
                put_header(&mut self.raw_out, h.first | RSV1, packed.len(), false);
                self.raw_out.extend_from_slice(&packed);
            } else {
                self.raw_out.extend_from_slice(&frame);
            }
        }
        Ok(())
    }
}

fn unmask(frame: &[u8], h: &Header) -> Vec<u8> {
    let key = &frame[h.header_len - 4..h.header_len];
    frame[h.header_len..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

/// One message inflated on its own (no context takeover), refusing more
/// than `max` bytes of output: a small frame cannot expand past the limit.
fn inflate(data: &[u8], max: usize) -> io::Result<Vec<u8>> {
    let mut d = Decompress::new(false);
    let mut input = Vec::with_capacity(data.len() + TAIL.len());
    input.extend_from_slice(data);
    input.extend_from_slice(&TAIL);
    let mut out = Vec::with_capacity((data.len() * 4).min(max).max(64));
    loop {
        if out.len() == out.capacity() {
            if out.len() > max {
                return Err(invalid("message too large once inflated"));
            }
            // Room up to one byte past the limit, to tell "exactly max"
            // from "more".
            let room = max + 1 - out.len();
            out.reserve(out.len().max(64).min(room));
        }
        let consumed = d.total_in() as usize;
        let status = d
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
            .map_err(|_| invalid("invalid compressed message"))?;
        if out.len() > max {
            return Err(invalid("message too large once inflated"));
        }
        let done = d.total_in() as usize == input.len();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if done && out.len() < out.capacity() => return Ok(out),
            Status::BufError if out.len() < out.capacity() => {
                return Err(invalid("truncated compressed message"))
            }
            _ => {}
        }
    }
}

/// One message deflated on its own: sync flush, the trailing empty block
/// dropped.
fn deflate(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        let consumed = c.total_in() as usize;
        c.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .map_err(|_| invalid("compression failed"))?;
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    Ok(out)
}

impl<S: AsyncRead + AsyncWrite + Unpin> DeflateStream<S> {
    /// Writes what waits in `raw_out`; ready once it is all written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.raw_out.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.raw_out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.raw_out.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for DeflateStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.plain_in.is_empty() {
                let n = this.plain_in.len().min(buf.remaining());
                buf.put_slice(&this.plain_in[..n]);
                this.plain_in.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_eof {
                // What remains is a partial frame: tungstenite sees the end.
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 8 * 1024];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                this.read_eof = true;
                continue;
            }
            this.raw_in.extend_from_slice(rb.filled());
            this.frame_input()?;
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for DeflateStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.raw_out.len() >= WRITE_HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        this.plain_out.extend_from_slice(buf);
        this.frame_output()?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pairs: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for p in pairs {
            h.append(
                http::header::SEC_WEBSOCKET_EXTENSIONS,
                http::HeaderValue::from_str(p).unwrap(),
            );
        }
        h
    }

    #[test]
    fn negotiates_the_offers_it_can_honour() {
        assert!(accepts(&header(&[
            "permessage-deflate; client_max_window_bits"
        ])));
        assert!(accepts(&header(&[
            "x-webkit-deflate-frame, permessage-deflate"
        ])));
        assert!(accepts(&header(&[
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ])));
        assert!(!accepts(&header(&[])));
        assert!(!accepts(&header(&[
            "permessage-deflate; server_max_window_bits=10"
        ])));
        assert!(!accepts(&header(&["permessage-deflate; mystery=1"])));
        assert!(accepts(&header(&[
            "permessage-deflate; server_max_window_bits=10, permessage-deflate"
        ])));
    }

    #[test]
    fn messages_round_trip_and_bombs_are_refused() {
        let text = "socket.io ".repeat(500).into_bytes();
        let packed = deflate(&text).unwrap();
        assert!(packed.len() < text.len() / 10);
        assert_eq!(inflate(&packed, 1 << 20).unwrap(), text);
        assert_eq!(inflate(&deflate(b"").unwrap(), 16).unwrap(), b"");
        // 1 MB of zeros compresses to about a kilobyte; the limit holds.
        let zeros = vec![0u8; 1 << 20];
        let bomb = deflate(&zeros).unwrap();
        assert!(bomb.len() < 4096);
        assert!(inflate(&bomb, 100_000).is_err());
        assert!(inflate(b"\xff\xff\xff", 1000).is_err());
        // Exactly at the limit is fine, one byte over is not; tiny limits
        // too.
        let exact = vec![7u8; 5000];
        let packed = deflate(&exact).unwrap();
        assert_eq!(inflate(&packed, 5000).unwrap(), exact);
        assert!(inflate(&packed, 4999).is_err());
        assert!(inflate(&packed, 3).is_err());
        // Every prefix of a message is an error or a shorter message, never
        // a panic or a hang.
        for n in 0..packed.len() {
            if let Ok(out) = inflate(&packed[..n], 5000) {
                assert!(out.len() <= exact.len());
            }
        }
    }

    /// A masked client frame of `payload`, compressed or not.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [1u8, 2, 3, 4];
        let mut f = BytesMut::new();
        put_header(&mut f, first, payload.len(), false);
        f[1] |= MASK;
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f.to_vec()
    }

    #[tokio::test]
    async fn inflates_fragmented_client_messages_and_deflates_large_replies() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut peer, ours) = tokio::io::duplex(1 << 16);
        let mut s = DeflateStream::new(ours, 100, 1 << 20);
        let text = "hello ".repeat(100);
        let packed = deflate(text.as_bytes()).unwrap();
        let (a, b) = packed.split_at(packed.len() / 2);
        // A compressed text message in two fragments around a ping, then a
        // plain one.
        let mut wire = client_frame(OP_TEXT | RSV1, a);
        wire.extend(client_frame(FIN | 0x9, b"p"));
        wire.extend(client_frame(FIN | OP_CONTINUATION, b));
        wire.extend(client_frame(FIN | OP_TEXT, b"plain"));
        peer.write_all(&wire).await.unwrap();
        let mut got = vec![0u8; 4096];
        let mut seen = Vec::new();
        while seen.len() < 2 + 4 + 1 + 4 + 4 + text.len() + 2 + 4 + 5 {
            let n = s.read(&mut got).await.unwrap();
            seen.extend_from_slice(&got[..n]);
        }
        // The ping first (it completed first), then the whole message.
        assert_eq!(seen[0], FIN | 0x9);
        let rest = &seen[2 + 4 + 1..];
        let h = Header::parse(rest).unwrap().unwrap();
        assert_eq!(h.first, FIN | OP_TEXT);
        assert_eq!(h.payload_len, text.len());
        assert_eq!(
            &rest[h.header_len..h.header_len + text.len()],
            text.as_bytes()
        );

        // A new message before the compressed one ended: refused.
        let (mut peer2, ours2) = tokio::io::duplex(1 << 16);
        let mut s2 = DeflateStream::new(ours2, 100, 1 << 20);
        let mut wire = client_frame(OP_TEXT | RSV1, a);
        wire.extend(client_frame(FIN | OP_TEXT, b"interloper"));
        peer2.write_all(&wire).await.unwrap();
        let err = s2.read(&mut got).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        // Outbound: a large frame goes compressed, a small one as it is.
        let mut big = BytesMut::new();
        put_header(&mut big, FIN | OP_TEXT, text.len(), false);
        big.extend_from_slice(text.as_bytes());
        let mut small = BytesMut::new();
        put_header(&mut small, FIN | OP_TEXT, 2, false);
        small.extend_from_slice(b"hi");
        s.write_all(&big).await.unwrap();
        s.write_all(&small).await.unwrap();
        s.flush().await.unwrap();
        let mut out = vec![0u8; 4096];
        let n = peer.read(&mut out).await.unwrap();
        let h = Header::parse(&out[..n]).unwrap().unwrap();
        assert_eq!(h.first, FIN | RSV1 | OP_TEXT);
        let body = &out[h.header_len..h.header_len + h.payload_len];
        assert_eq!(inflate(body, 1 << 20).unwrap(), text.as_bytes());
        assert_eq!(&out[h.header_len + h.payload_len..n], &small[..]);
    }
}
