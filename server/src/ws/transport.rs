//! The socket under a WebSocket session: plain TCP or TLS. Both offer the
//! same two things the session needs: a write that never waits (what
//! `lws_write` does from inside a callback) and awaitable readiness.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A session's socket.
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS (rustls), borrowed only inside single polls, never across awaits.
    Tls(Box<RefCell<TlsStream<TcpStream>>>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Plain(_) => "Transport::Plain",
            Transport::Tls(_) => "Transport::Tls",
        })
    }
}

impl Transport {
    /// Writes what the socket takes now; `WouldBlock` when it takes nothing.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.try_write(buf),
            Transport::Tls(t) => {
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
        }
    }

    /// Reads what is available into `buf` (waiting for something); 0 = EOF.
    pub async fn read_some(&self, buf: &mut BytesMut) -> io::Result<usize> {
        buf.reserve(16 * 1024);
        match self {
            Transport::Plain(s) => loop {
                s.readable().await?;
                match s.try_read_buf(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return r,
                }
            },
            Transport::Tls(t) => {
                let mut chunk = [0u8; 16 * 1024];
                let n = poll_fn(|cx| {
                    let Ok(mut t) = t.try_borrow_mut() else {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    };
                    let mut rb = ReadBuf::new(&mut chunk);
                    match Pin::new(&mut *t).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                })
                .await?;
                buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
        }
    }

    /// Waits until the socket can take more (TLS: until buffered records
    /// are out).
    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.writable().await,
            Transport::Tls(t) => {
                poll_fn(|cx| {
                    let Ok(mut t) = t.try_borrow_mut() else {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    };
                    Pin::new(&mut *t).poll_flush(cx)
                })
                .await
            }
        }
    }

    /// Closes our sending side.
    pub fn shutdown_write(&self) {
        match self {
            Transport::Plain(s) => {
                let _ = socket2::SockRef::from(s).shutdown(std::net::Shutdown::Write);
            }
            Transport::Tls(t) => {
                if let Ok(mut t) = t.try_borrow_mut() {
                    let mut cx = Context::from_waker(Waker::noop());
                    let _ = Pin::new(&mut *t).poll_shutdown(&mut cx);
                }
            }
        }
    }
}
