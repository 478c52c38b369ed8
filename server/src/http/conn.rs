//! One client connection: TLS when the listener has it (ALPN picks
//! HTTP/2 or HTTP/1.1), then hyper's server with lws's timeouts.
//!
//! * `keepalive_timeout` (of the socket's default vhost) bounds the wait for
//!   a request head: the idle time between keep-alive requests, and how long
//!   a client may take to send its headers (slowloris).
//! * `timeout-secs` closes a connection on which nothing moved, in either
//!   direction, for that long (a stalled body, a reader that stopped reading).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::http::service::{self, ConnInfo};
use crate::http::site::Site;
use crate::listen::tls::{Plain, Tls};

/// Timeouts of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// Wait for a request head (idle keep-alive, slow headers).
    pub head: Duration,
    /// Nothing moved in either direction.
    pub idle: Duration,
}

/// Runs the futures hyper's HTTP/2 server spawns on this service thread
/// (our request futures are not `Send`: they run plugin callbacks).
#[derive(Clone, Copy, Debug)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// How long a client has to complete the TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Serves one accepted connection until it closes.
pub(crate) async fn serve(
    stream: TcpStream,
    mut info: ConnInfo,
    site: Arc<ArcSwap<Site>>,
    t: Timeouts,
    tls: Option<Tls>,
) {
    let _ = stream.set_nodelay(true);
    let counters = crate::runtime::threads::current_tsi()
        .and_then(|t| crate::runtime::counters::threads().get(t));
    if let Some(c) = counters {
        c.accepted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        c.open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    match tls {
        None => serve_h1(stream, info, site, t).await,
        Some(tls) => {
            // A TLS ClientHello starts with 0x16; anything else is plain HTTP.
            let mut first = [0u8; 1];
            let is_tls = matches!(
                tokio::time::timeout(t.head, stream.peek(&mut first)).await,
                Ok(Ok(1)) if first[0] == 0x16
            );
            if !is_tls {
                match tls.plain {
                    Plain::Refuse => {}
                    Plain::Redirect => {
                        info.redirect_to_https = true;
                        serve_h1(stream, info, site, t).await;
                    }
                    Plain::Serve => serve_h1(stream, info, site, t).await,
                }
            } else {
                match tokio::time::timeout(TLS_HANDSHAKE, tls.acceptor.accept(stream)).await {
                    Ok(Ok(s)) => {
                        info.secure = true;
                        // Only verified certificates get here (rustls
                        // refuses the handshake otherwise).
                        info.peer_cert = s
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| Arc::from(c.as_ref()));
                        let h2 = s.get_ref().1.alpn_protocol() == Some(b"h2");
                        if h2 {
                            serve_h2(s, info, site, t).await;
                        } else {
                            serve_h1(s, info, site, t).await;
                        }
                    }
                    Ok(Err(e)) => tracing::debug!("TLS handshake from {}: {e}", info.peer),
                    Err(_) => tracing::debug!("TLS handshake from {}: timed out", info.peer),
                }
            }
        }
    }
    if let Some(c) = counters {
        c.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// HTTP/1.x (with upgrades) over `stream`.
async fn serve_h1<S>(stream: S, info: ConnInfo, site: Arc<ArcSwap<Site>>, t: Timeouts)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Quirky heads normalised, hostile ones refused (see `normalize`).
    let limits = crate::http::normalize::Limits::new(t.idle);
    let stream = crate::http::normalize::Normalize::new(stream, limits);
    let io = TokioIo::new(Inactivity::new(stream, t.idle));
    let svc = service_fn(move |req| {
        let site = site.load_full();
        let info = info.clone();
        async move { service::handle(site, &info, req).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(t.head)
        .keep_alive(true)
        .half_close(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .max_headers(limits.max_headers)
        .max_header_size(2 * limits.max_head)
        .max_buf_size(crate::http::normalize::MAX_BUF)
        .serve_connection(io, svc)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut stop = crate::host::context::CONTEXT.stopping();
    let res = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop.wait_for(|s| *s) => {
            // Stopping: finish what is in flight, take nothing new.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = res {
        tracing::debug!("connection closed: {e}");
    }
}

/// HTTP/2 over TLS (ALPN `h2`): each stream is one request, served like an
/// HTTP/1 one (callback:// mounts included).
async fn serve_h2<S>(stream: S, info: ConnInfo, site: Arc<ArcSwap<Site>>, t: Timeouts)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Inactivity::new(stream, t.idle));
    let svc = service_fn(move |req| {
        let site = site.load_full();
        let info = info.clone();
        async move { service::handle(site, &info, req).await }
    });
    let conn = hyper::server::conn::http2::Builder::new(LocalExec)
        .timer(TokioTimer::new())
        // The HTTP/1 head limit, answered 431 by hyper; the other limits
        // are checked per request (`normalize::h2`).
        .max_header_list_size(crate::http::normalize::DEFAULT_MAX_HEAD as u32)
        .serve_connection(io, svc);
    let mut conn = std::pin::pin!(conn);
    let mut stop = crate::host::context::CONTEXT.stopping();
    let res = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop.wait_for(|s| *s) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = res {
        tracing::debug!("h2 connection closed: {e}");
    }
}

/// Wraps a stream so that it fails with `TimedOut` once no byte has moved
/// for `limit`. The timer is only re-armed when it fires early, so busy
/// connections pay one clock read per I/O call, not a timer update.
pub(crate) struct Inactivity<S> {
    inner: S,
    limit: Duration,
    last: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl<S> Inactivity<S> {
    /// The wrapped stream (after a WebSocket upgrade, which has its own rules).
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }

    fn new(inner: S, limit: Duration) -> Self {
        let now = Instant::now();
        Inactivity {
            inner,
            limit,
            last: now,
            sleep: Box::pin(tokio::time::sleep_until(now + limit)),
        }
    }

    /// Called when an operation is pending: fails once the limit has passed.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Ok(());
            }
            let deadline = self.last + self.limit;
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection inactive",
                ));
            }
            self.sleep.as_mut().reset(deadline);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Inactivity<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.last = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inactivity<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                self.last = Instant::now();
                Poll::Ready(r)
            }
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                self.last = Instant::now();
                Poll::Ready(r)
            }
            Poll::Pending => match self.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
