//! The normalising layer on the socket: [`Normalize`] runs
//! [`comlink_wire::normalize::Normalizer`] (the sans-I/O request-head
//! normaliser, documented there) over the bytes read from a client, and
//! keeps the two timing rules only the socket can: the minimum body rate
//! and the lingering close.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pub(crate) use comlink_wire::normalize::*;

/// hyper's read/write buffer bound per connection (its default is ~400 KiB).
pub(crate) const MAX_BUF: usize = 64 * 1024;
/// How long a closing connection reads (and drops) what the client still sends.
pub(crate) const LINGER: Duration = Duration::from_secs(1);
/// Most bytes dropped after a refusal, or while lingering, before closing anyway.
const DRAIN_CAP: usize = 1024 * 1024;

/// Minimum body rate bookkeeping (see the module docs).
#[derive(Debug)]
struct Rate {
    window: Duration,
    min: u64,
    waited: Duration,
    bytes: u64,
    since: Option<Instant>,
}

impl Rate {
    fn new(l: &Limits) -> Rate {
        Rate {
            window: l.body_window,
            min: l.body_min_bytes,
            waited: Duration::ZERO,
            bytes: 0,
            since: None,
        }
    }

    fn reset(&mut self) {
        self.waited = Duration::ZERO;
        self.bytes = 0;
        self.since = None;
    }

    fn waiting(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// `n` bytes arrived: false when the window is over and too few came.
    fn arrived(&mut self, n: usize, now: Instant) -> bool {
        if let Some(s) = self.since.take() {
            self.waited += now.saturating_duration_since(s);
        }
        self.bytes += n as u64;
        if self.window.is_zero() || self.waited < self.window {
            return true;
        }
        let ok = self.bytes >= self.min;
        self.waited = Duration::ZERO;
        self.bytes = 0;
        ok
    }
}

/// The client stream as hyper should see it. See the module docs.
#[derive(Debug)]
pub(crate) struct Normalize<S> {
    inner: S,
    engine: Normalizer,
    /// Normalised bytes hyper has not read yet.
    out: BytesMut,
    rate: Rate,
    /// Bytes dropped after a refusal or while lingering.
    dropped: usize,
    linger: Option<Pin<Box<Sleep>>>,
}

impl<S> Normalize<S> {
    /// Wraps a freshly accepted client stream.
    pub(crate) fn new(inner: S, limits: Limits) -> Normalize<S> {
        Normalize {
            inner,
            rate: Rate::new(&limits),
            engine: Normalizer::new(limits),
            out: BytesMut::new(),
            dropped: 0,
            linger: None,
        }
    }

    /// The stream, and bytes read from it that hyper has not taken yet
    /// (they come after hyper's own buffered bytes), for an upgrade.
    pub(crate) fn into_parts(self) -> (S, Bytes) {
        (self.inner, self.out.freeze())
    }

    /// For an upgraded connection: the stream and every byte read past the
    /// request head, `buffered` (what hyper read ahead) first.
    pub(crate) fn into_upgraded(self, buffered: Bytes) -> (S, Bytes) {
        let (inner, rest) = self.into_parts();
        if rest.is_empty() {
            return (inner, buffered);
        }
        let mut all = BytesMut::with_capacity(buffered.len() + rest.len());
        all.extend_from_slice(&buffered);
        all.extend_from_slice(&rest);
        (inner, all.freeze())
    }
}

impl<S: AsyncRead + Unpin> Normalize<S> {
    /// Reads and drops input; `Ready` at EOF, on an error or past the cap.
    fn poll_drop_input(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 4096];
        loop {
            let mut rb = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    self.dropped += rb.filled().len();
                    if self.dropped > DRAIN_CAP {
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Normalize<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.engine.refused().is_some() {
                // Hyper answers the refusal and closes; meanwhile what the
                // client still sends is dropped (never an EOF it did not send).
                return this.poll_drop_input(cx);
            }
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let in_body = this.engine.in_body();
            if !in_body {
                this.rate.reset();
            }
            let before = buf.filled().len();
            match Pin::new(&mut this.inner).poll_read(cx, buf) {
                Poll::Pending => {
                    if in_body {
                        this.rate.waiting(Instant::now());
                    }
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let after = buf.filled().len();
            if after == before {
                if this.engine.eof(&mut this.out) {
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            if in_body && !this.rate.arrived(after - before, Instant::now()) {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body slower than the minimum rate",
                )));
            }
            // Body and passthrough bytes stay where they are; from the first
            // head byte on, the rest goes through the normalizer.
            let k = this.engine.pass(&buf.filled()[before..after]);
            if before + k == after {
                return Poll::Ready(Ok(()));
            }
            this.engine
                .feed(&buf.filled()[before + k..after], &mut this.out);
            buf.set_filled(before + k);
            if k > 0 {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Normalize<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Lingering close: shut the write side, then drop what the client
    /// still sends until it closes too, [`LINGER`] passes or the cap is hit.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            if let Err(e) = std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx)) {
                tracing::trace!("shutdown: {e}");
                return Poll::Ready(Ok(()));
            }
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        if let Some(t) = this.linger.as_mut() {
            if t.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
        }
        match this.poll_drop_input(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests;
