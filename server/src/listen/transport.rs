//! The socket under a WebSocket session: plain TCP or TLS. Both offer the
//! same two things the session needs: a write that never waits (what
//! `lws_write` does from inside a callback) and awaitable readiness.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream as ClientTlsStream;
use tokio_rustls::server::TlsStream;

thread_local! {
    // One read buffer per service thread, shared by all its sessions.
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; 16 * 1024]);
}

/// A session's socket.
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS (rustls), borrowed only inside single polls, never across awaits.
    Tls(Box<RefCell<TlsStream<TcpStream>>>),
    /// TLS of a connection we opened (a plugin's client connection).
    ClientTls(Box<RefCell<ClientTlsStream<TcpStream>>>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Plain(_) => "Transport::Plain",
            Transport::Tls(_) => "Transport::Tls",
            Transport::ClientTls(_) => "Transport::ClientTls",
        })
    }
}

impl Transport {
    /// Writes what the socket takes now; `WouldBlock` when it takes nothing.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => plain_try_write(s, buf),
            Transport::Tls(t) => tls_try_write(t, buf),
            Transport::ClientTls(t) => tls_try_write(t, buf),
        }
    }

    /// Reads what is available into `buf`; `Ready(Ok(0))` = EOF. Reads go
    /// through a per-thread buffer, so an idle connection holds no read
    /// buffer of its own.
    ///
    /// A poll function rather than an `async fn`: waiting this way keeps the
    /// waker in the socket's own reader slot, where a readiness future would
    /// add some 190 bytes to the future of every idle session.
    pub fn poll_read_some(
        &self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Plain(s) => loop {
                if let Err(e) = ready!(s.poll_read_ready(cx)) {
                    return Poll::Ready(Err(e));
                }
                let r = READ_BUF.with(|b| {
                    let mut b = b.borrow_mut();
                    let r = s.try_read(&mut b[..]);
                    if let Ok(n) = r {
                        buf.extend_from_slice(&b[..n]);
                    }
                    r
                });
                match r {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            Transport::Tls(t) => tls_poll_read(t, cx, buf),
            Transport::ClientTls(t) => tls_poll_read(t, cx, buf),
        }
    }

    /// Ready once the socket can take more (TLS: once buffered records are
    /// out). Like [`poll_read_some`](Self::poll_read_some), it keeps its
    /// waker in the socket's writer slot.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Transport::Plain(s) => s.poll_write_ready(cx),
            Transport::Tls(t) => tls_poll_flush(t, cx),
            Transport::ClientTls(t) => tls_poll_flush(t, cx),
        }
    }

    /// Waits until the socket can take more.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// Closes our sending side.
    pub fn shutdown_write(&self) {
        match self {
            Transport::Plain(s) => {
                let _ = socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write);
            }
            Transport::Tls(t) => tls_shutdown(t),
            Transport::ClientTls(t) => tls_shutdown(t),
        }
    }
}

/// A send on a plain socket, tried first without tokio's readiness state.
/// Most sends find room: asking tokio first would read the socket's
/// readiness entry, memory of its own, which a pass sending to a thousand
/// sockets finds cold each time. A full socket is tried again through
/// tokio, which then knows to wait for room (its readiness is cleared), so
/// a caller that waits with `writable()` after `WouldBlock` does not spin.
/// The send is rustix's system call, not libc's `send`, which also marks
/// a thread-cancellation point around it: a cost on every delivery of a
/// fan-out, for cancellation this server never uses.
fn plain_try_write(s: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    use rustix::io::Errno;
    use rustix::net::{send, SendFlags};
    loop {
        match send(s, buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return s.try_write(buf),
            Err(e) => return Err(e.into()),
        }
    }
}

/// [`Transport::try_write`] on a TLS stream of either side.
fn tls_try_write<S: AsyncWrite + Unpin>(t: &RefCell<S>, buf: &[u8]) -> io::Result<usize> {
    let Ok(mut t) = t.try_borrow_mut() else {
        return Err(io::ErrorKind::WouldBlock.into());
    };
    let mut cx = Context::from_waker(Waker::noop());
    match Pin::new(&mut *t).poll_write(&mut cx, buf) {
        Poll::Ready(r) => {
            // Push the TLS records out as far as the socket allows.
            let _ = Pin::new(&mut *t).poll_flush(&mut cx);
            r
        }
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// [`Transport::poll_read_some`] on a TLS stream of either side.
fn tls_poll_read<S: AsyncRead + Unpin>(
    t: &RefCell<S>,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    let Ok(mut t) = t.try_borrow_mut() else {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    };
    READ_BUF.with(|b| {
        let mut b = b.borrow_mut();
        let mut rb = ReadBuf::new(&mut b[..]);
        match Pin::new(&mut *t).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                buf.extend_from_slice(rb.filled());
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
}

/// [`Transport::poll_writable`] on a TLS stream of either side.
fn tls_poll_flush<S: AsyncWrite + Unpin>(
    t: &RefCell<S>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let Ok(mut t) = t.try_borrow_mut() else {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    };
    Pin::new(&mut *t).poll_flush(cx)
}

/// [`Transport::shutdown_write`] on a TLS stream of either side.
fn tls_shutdown<S: AsyncWrite + Unpin>(t: &RefCell<S>) {
    if let Ok(mut t) = t.try_borrow_mut() {
        let mut cx = Context::from_waker(Waker::noop());
        let _ = Pin::new(&mut *t).poll_shutdown(&mut cx);
    }
}
