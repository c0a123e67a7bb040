//! [`Prefixed`]: a connection whose first bytes were already read by
//! someone else, for serving connections another HTTP server accepted.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream that yields `head` (what a host server already read from the
/// connection, e.g. a request line and headers) before the stream's own
/// bytes; writes go straight to the stream. `G` rides along and is dropped
/// with the stream, after a WebSocket upgrade too (hyper hands the stream
/// itself to the upgraded connection): a guard telling the host the
/// connection is over.
#[derive(Debug)]
pub struct Prefixed<T, G = ()> {
    head: Bytes,
    io: T,
    _guard: G,
}

impl<T> Prefixed<T> {
    /// `io`, read as if `head` had not been taken from it yet.
    pub fn new(head: Bytes, io: T) -> Prefixed<T> {
        Prefixed::with_guard(head, io, ())
    }
}

impl<T, G> Prefixed<T, G> {
    /// [`Prefixed::new`], keeping `guard` until the stream is dropped.
    pub fn with_guard(head: Bytes, io: T, guard: G) -> Prefixed<T, G> {
        Prefixed {
            head,
            io,
            _guard: guard,
        }
    }
}

impl<T: AsyncRead + Unpin, G: Unpin> AsyncRead for Prefixed<T, G> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.head.has_remaining() {
            let n = this.head.len().min(buf.remaining());
            buf.put_slice(&this.head[..n]);
            this.head.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin, G: Unpin> AsyncWrite for Prefixed<T, G> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_the_head_then_the_stream() {
        let (mut far, near) = tokio::io::duplex(64);
        let mut p = Prefixed::new(Bytes::from_static(b"GET / "), near);
        far.write_all(b"HTTP/1.1\r\n").await.unwrap();
        drop(far);
        let mut all = String::new();
        p.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "GET / HTTP/1.1\r\n");
    }
}
