//! One WebSocket connection after the upgrade: reading and decoding client
//! frames into RECEIVE callbacks, and turning `lws_callback_on_writable`
//! into WRITEABLE callbacks only when the socket has taken everything
//! written before. That is the backpressure: a client that stops reading
//! leaves one write pending, its plugin is not called to write more, and the
//! server's memory for it stays bounded by that one write.

use std::ffi::c_void;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::BytesMut;
use comlink_plugin_api::abi::{
    LWS_CALLBACK_CLIENT_CLOSED, LWS_CALLBACK_CLIENT_ESTABLISHED, LWS_CALLBACK_CLIENT_RECEIVE,
    LWS_CALLBACK_CLIENT_RECEIVE_PONG, LWS_CALLBACK_CLIENT_WRITEABLE, LWS_CALLBACK_CLOSED,
    LWS_CALLBACK_ESTABLISHED, LWS_CALLBACK_RECEIVE, LWS_CALLBACK_RECEIVE_PONG,
    LWS_CALLBACK_SERVER_WRITEABLE, LWS_CALLBACK_TIMER, LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL,
    LWS_CALLBACK_WS_PEER_INITIATED_CLOSE, LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL,
};

use tokio::time::{Instant, Sleep};

use crate::host::dispatch::callback;
use crate::host::thread;
use crate::host::timer_pass;
use crate::host::wsi::{RxState, Wsi};
use comlink_wire::deflate::{Deflater, Inflater, Params};
use comlink_wire::frame::{Decoder, Encoder, Event, Limits, OpCode};

/// lws's receive size when a protocol gives `rx_buffer_size` 0.
const DEFAULT_RX: usize = 4096;
/// How long a closing connection may take to drain its last frames.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);
/// A compressed connection on which nothing was compressed or inflated for
/// between this long and twice this long gives its codec memory back (up to
/// ~300 KiB: zlib states and buffers); the next message makes them again,
/// for some tens of microseconds. Looked at once per period, not per
/// message.
pub(crate) const CODEC_IDLE: Duration = Duration::from_secs(3);
/// WRITEABLE callbacks a connection still gets after the client broke the
/// protocol, for what the plugin asked to send before (the answer to a
/// valid message that came in the same read as the bad frame).
const WRITES_AFTER_ERROR: u32 = 16;

/// Which end of the connection the server is: it accepted it (a browser's
/// WebSocket), or a plugin opened it (`lws_client_connect_via_info`). The
/// client masks what it sends, refuses masked frames, and its protocol
/// gets the CLIENT_ reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// We accepted the connection.
    Server,
    /// A plugin opened it.
    Client,
}

/// The callback reasons of one side.
struct Reasons {
    established: std::ffi::c_int,
    receive: std::ffi::c_int,
    pong: std::ffi::c_int,
    writeable: std::ffi::c_int,
    drop: std::ffi::c_int,
    closed: std::ffi::c_int,
}

impl Side {
    fn reasons(self) -> Reasons {
        match self {
            Side::Server => Reasons {
                established: LWS_CALLBACK_ESTABLISHED,
                receive: LWS_CALLBACK_RECEIVE,
                pong: LWS_CALLBACK_RECEIVE_PONG,
                writeable: LWS_CALLBACK_SERVER_WRITEABLE,
                drop: LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL,
                closed: LWS_CALLBACK_CLOSED,
            },
            Side::Client => Reasons {
                established: LWS_CALLBACK_CLIENT_ESTABLISHED,
                receive: LWS_CALLBACK_CLIENT_RECEIVE,
                pong: LWS_CALLBACK_CLIENT_RECEIVE_PONG,
                writeable: LWS_CALLBACK_CLIENT_WRITEABLE,
                drop: LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL,
                closed: LWS_CALLBACK_CLIENT_CLOSED,
            },
        }
    }
}

/// Random bits for a client's masking keys and handshake nonce, from the
/// standard library's randomly keyed hasher (no cryptographic strength is
/// needed: see [`Encoder::set_client_masking`]).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

/// How the session ended.
enum End {
    /// The socket failed or reached EOF.
    PeerGone,
    /// The peer sent a close frame (already answered if the plugin agreed).
    PeerClosed,
    /// A callback returned non-zero (close with `lws_close_reason`'s code).
    Local,
    /// The client broke the protocol.
    Protocol(u16, &'static str),
    /// `lws_set_timeout` expired, or the peer stopped answering pings.
    Timeout,
}

/// Runs the session to its end, then CLOSED and cleanup. `rbuf` holds what
/// the client sent after its upgrade request; the socket is in `wsi.stream`.
///
/// Not an `async fn`: an `async fn` keeps a second copy of its arguments in
/// its future, and this future lives as long as the connection (an `async`
/// block uses what it captured in place).
#[allow(clippy::manual_async_fn)]
pub(crate) fn run(
    wsi: Box<Wsi>,
    rbuf: BytesMut,
    deflate: Option<Params>,
    ping: Option<Duration>,
) -> impl Future<Output = ()> {
    run_as(Side::Server, wsi, rbuf, deflate, ping)
}

/// [`run`], for either side.
#[allow(clippy::manual_async_fn)]
pub(crate) fn run_as(
    side: Side,
    wsi: Box<Wsi>,
    rbuf: BytesMut,
    deflate: Option<Params>,
    ping: Option<Duration>,
) -> impl Future<Output = ()> {
    async move {
        let reasons = side.reasons();
        // The hyper connection has ended; the socket lives on as this session.
        let counters = crate::runtime::threads::current_tsi()
            .and_then(|t| crate::runtime::counters::threads().get(t));
        if let Some(c) = counters {
            c.open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let _open = scopeguard(move || {
            if let Some(c) = counters {
                c.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let mut decoder = codec(&wsi, deflate.as_ref(), side);

        let established = callback(&wsi, reasons.established, std::ptr::null_mut(), 0);
        if let Some(r) = &wsi.request {
            // As lws frees its header table after the handshake.
            *r.headers.borrow_mut() = http::HeaderMap::new();
        }
        let end = if established != 0 {
            End::Local
        } else {
            serve(&wsi, &mut decoder, rbuf, ping, &reasons).await
        };
        wsi.parked.set(false);
        finish(&wsi, end).await;
        callback(&wsi, reasons.drop, std::ptr::null_mut(), 0);
        callback(&wsi, reasons.closed, std::ptr::null_mut(), 0);
        thread::unregister(&wsi);
        if let Some(s) = wsi.stream.get() {
            s.shutdown_write();
        }
    }
}

/// The session's decoder; its encoder goes to `wsi` (where `lws_write`
/// finds it).
fn codec(wsi: &Wsi, deflate: Option<&Params>, side: Side) -> Decoder {
    let chunk = wsi
        .proto()
        .map(|p| p.def.rx_buffer_size)
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_RX);
    let limits = Limits {
        max_message: max_message(wsi),
        chunk,
    };
    let mut encoder = Encoder::new();
    let mut decoder = match side {
        Side::Server => Decoder::new(limits),
        Side::Client => {
            encoder.set_client_masking(random_u64());
            Decoder::for_server_frames(limits)
        }
    };
    if let Some(p) = deflate {
        decoder.set_inflate(Inflater::new(p));
        encoder.set_deflate(Deflater::new(p));
    }
    *wsi.encoder.borrow_mut() = Some(encoder);
    decoder
}

/// Runs `f` when dropped.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

/// The session's loop until it ends. Not an `async fn`, for the reason
/// given at [`run`].
#[allow(clippy::manual_async_fn)]
fn serve<'a>(
    wsi: &'a Wsi,
    decoder: &'a mut Decoder,
    mut rbuf: BytesMut,
    ping: Option<Duration>,
    reasons: &'a Reasons,
) -> impl Future<Output = End> + 'a {
    async move {
        let Some(stream) = wsi.stream.get() else {
            return End::PeerGone;
        };
        // RECEIVE hands plugins a NUL-terminated copy (some compare with strcmp).
        // Grown on the first message only: idle connections stay small.
        let mut scratch: Vec<u8> = Vec::new();
        // The client broke the protocol: no more reading; pending writes
        // go out (a few WRITEABLE rounds), then the close.
        let mut failed: Option<(u16, &'static str, u32)> = None;
        let mut last_rx = Instant::now();
        let mut ping_sent = false;
        let mut stop = crate::host::context::CONTEXT.stopping();
        // Made at the first deadline: most sessions never have one.
        let mut sleep: Option<Pin<Box<Sleep>>> = None;
        let mut armed: Option<Instant> = None;
        // permessage-deflate: when to look whether the codec went quiet.
        // Moved once per CODEC_IDLE at most, never per message.
        let compressing = decoder.inflate_enabled();
        let mut codec_check: Option<Instant> = None;
        loop {
            wsi.parked.set(false);
            if wsi.close_requested.get() {
                return End::Local;
            }
            // 1. Everything already read, unless the plugin paused rx.
            while failed.is_none() && !wsi.rx_paused.get() {
                let ev = match decoder.feed(&mut rbuf) {
                    Ok(Some(ev)) => ev,
                    Ok(None) => break,
                    Err(ce) => {
                        failed = Some((ce.code, ce.reason, 0));
                        rbuf = BytesMut::new();
                        break;
                    }
                };
                match ev {
                    Event::Data {
                        binary,
                        first,
                        last,
                        payload,
                        remaining,
                    } => {
                        wsi.rx.set(RxState {
                            first,
                            last,
                            binary,
                            remaining,
                        });
                        scratch.clear();
                        scratch.extend_from_slice(&payload);
                        scratch.push(0);
                        let rc = callback(
                            wsi,
                            reasons.receive,
                            scratch.as_mut_ptr() as *mut c_void,
                            payload.len(),
                        );
                        if rc != 0 {
                            return End::Local;
                        }
                    }
                    Event::Ping(p) => queue_control(wsi, OpCode::Pong, &p),
                    Event::Pong(p) => {
                        let mut p = p.to_vec();
                        let rc =
                            callback(wsi, reasons.pong, p.as_mut_ptr() as *mut c_void, p.len());
                        if rc != 0 {
                            return End::Local;
                        }
                    }
                    Event::Close { code, reason } => {
                        let mut payload = Vec::new();
                        if let Some(c) = code {
                            payload.extend_from_slice(&c.to_be_bytes());
                            payload.extend_from_slice(reason.as_bytes());
                        }
                        let rc = callback(
                            wsi,
                            LWS_CALLBACK_WS_PEER_INITIATED_CLOSE,
                            payload.as_mut_ptr() as *mut c_void,
                            payload.len(),
                        );
                        if rc == 0 {
                            queue_close(wsi, code, "");
                        }
                        return End::PeerClosed;
                    }
                }
                if wsi.close_requested.get() {
                    return End::Local;
                }
            }
            // Everything read has been handled: give the buffer's memory back
            // (most connections are idle most of the time).
            if rbuf.is_empty() && rbuf.capacity() > 0 {
                rbuf = BytesMut::new();
            }
            // 2. Push out what is pending.
            if wsi.flush_to(stream).is_err() {
                return End::PeerGone;
            }
            // 3. WRITEABLE, only once the socket has taken everything.
            if let Some((code, reason, rounds)) = failed.as_mut() {
                let idle = wsi.tx.borrow().is_empty();
                if idle && (!wsi.writable_requested.get() || *rounds >= WRITES_AFTER_ERROR) {
                    return End::Protocol(*code, reason);
                }
                if idle {
                    *rounds += 1;
                }
            }
            if wsi.writable_requested.get() && wsi.tx.borrow().is_empty() {
                wsi.writable_requested.set(false);
                if callback(wsi, reasons.writeable, std::ptr::null_mut(), 0) != 0 {
                    return End::Local;
                }
                // A plugin asking again from WRITEABLE must not starve the loop.
                tokio::task::consume_budget().await;
                continue;
            }
            // 4. Wait for the socket, a wake-up or a deadline.
            let want_write = !wsi.tx.borrow().is_empty();
            let want_read = !wsi.rx_paused.get() && failed.is_none();
            let ping_at = ping.map(|p| last_rx + p);
            if compressing && codec_check.is_none() && holds_codec_memory(wsi, decoder) {
                codec_check = Some(Instant::now() + CODEC_IDLE);
            }
            // Parking, the session hands its timer to the thread's timer
            // task (TIMER then comes without waking this task).
            let parking = failed.is_none();
            let timer = if parking && timer_pass::hand_over(wsi) {
                None
            } else {
                wsi.timer.get()
            };
            let deadline = [timer, wsi.timeout.get(), ping_at, codec_check]
                .into_iter()
                .flatten()
                .min();
            // One timer for the session, moved only when the deadline changes:
            // a new timer per turn of the loop costs a timer-wheel insert and
            // removal for every message.
            if let Some(d) = deadline {
                if armed != Some(d) {
                    match sleep.as_mut() {
                        Some(s) => s.as_mut().reset(d),
                        None => sleep = Some(Box::pin(tokio::time::sleep_until(d))),
                    }
                    armed = Some(d);
                }
            }
            // WRITEABLE may now come from the thread's pass (not while
            // the connection is failing: its last rounds are counted here).
            wsi.parked.set(parking);
            tokio::select! {
                r = poll_fn(|cx| stream.poll_read_some(cx, &mut rbuf)), if want_read => {
                    match r {
                        Ok(0) => return End::PeerGone,
                        Ok(_) => {
                            last_rx = Instant::now();
                            ping_sent = false;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(_) => return End::PeerGone,
                    }
                }
                r = poll_fn(|cx| stream.poll_writable(cx)), if want_write => {
                    if r.is_err() {
                        return End::PeerGone;
                    }
                }
                _ = wsi.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => {
                    *wsi.close_reason.borrow_mut() = Some((1001, b"server stopping".to_vec()));
                    return End::Local;
                }
                _ = poll_fn(|cx| match sleep.as_mut() {
                    Some(s) => s.as_mut().poll(cx),
                    None => Poll::Pending,
                }), if deadline.is_some() => {
                    let now = Instant::now();
                    if wsi.timeout.get().is_some_and(|t| t <= now) {
                        return End::Timeout;
                    }
                    if wsi.timer.get().is_some_and(|t| t <= now) {
                        wsi.timer.set(None);
                        if callback(wsi, LWS_CALLBACK_TIMER, std::ptr::null_mut(), 0) != 0 {
                            return End::Local;
                        }
                    }
                    if ping_at.is_some_and(|t| t <= now) {
                        if ping_sent {
                            return End::Timeout;
                        }
                        queue_control(wsi, OpCode::Ping, b"");
                        ping_sent = true;
                        last_rx = now;
                    }
                    if codec_check.is_some_and(|t| t <= now) {
                        codec_check = if codec_was_active(wsi, decoder) {
                            Some(now + CODEC_IDLE)
                        } else {
                            release_codec_memory(wsi, decoder);
                            scratch = Vec::new();
                            None
                        };
                    }
                }
            }
        }
    }
}

/// The connection's compressor or decompressor holds memory.
fn holds_codec_memory(wsi: &Wsi, decoder: &Decoder) -> bool {
    decoder.holds_inflate_memory()
        || wsi
            .encoder
            .borrow()
            .as_ref()
            .is_some_and(Encoder::holds_deflate_memory)
}

/// Something was compressed or inflated since the last look.
fn codec_was_active(wsi: &Wsi, decoder: &mut Decoder) -> bool {
    let inflated = decoder.take_inflate_active();
    let deflated = wsi
        .encoder
        .borrow_mut()
        .as_mut()
        .is_some_and(Encoder::take_deflate_active);
    inflated || deflated
}

/// Gives back the codec memory of a quiet connection (what cannot go, an
/// inflater whose client takes its context over, stays).
fn release_codec_memory(wsi: &Wsi, decoder: &mut Decoder) {
    decoder.release_inflate_memory();
    if let Some(enc) = wsi.encoder.borrow_mut().as_mut() {
        enc.release_deflate_memory();
    }
}

fn queue_control(wsi: &Wsi, op: OpCode, payload: &[u8]) {
    let mut tx = wsi.tx.borrow_mut();
    if let Some(enc) = wsi.encoder.borrow_mut().as_mut() {
        let _ = enc.control(&mut tx, op, payload);
    }
}

/// Queues a close frame (masked on a client connection).
fn queue_close(wsi: &Wsi, code: Option<u16>, reason: &str) {
    let mut tx = wsi.tx.borrow_mut();
    if let Some(enc) = wsi.encoder.borrow_mut().as_mut() {
        enc.close(&mut tx, code, reason);
    }
}

/// Sends the close frame the ending calls for and lets it drain.
async fn finish(wsi: &Wsi, end: End) {
    let Some(stream) = wsi.stream.get() else {
        return;
    };
    match end {
        End::PeerGone | End::Timeout => return,
        End::PeerClosed => {}
        End::Local => {
            let reason = wsi.close_reason.borrow_mut().take();
            match reason {
                Some((code, text)) => queue_close(wsi, Some(code), &String::from_utf8_lossy(&text)),
                None => queue_close(wsi, None, ""),
            }
        }
        End::Protocol(code, reason) => {
            tracing::debug!("{:?}: closing with {code}: {reason}", wsi.tag);
            queue_close(wsi, Some(code), reason);
        }
    }
    let drain = async {
        while !wsi.tx.borrow().is_empty() {
            if wsi.flush_to(stream).is_err() || stream.writable().await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_DRAIN, drain).await;
}

/// The `max-message` option (bytes) of the connection's protocol on its
/// vhost: a longer message closes the connection with 1009, whatever the
/// protocol. 0 (unset or not a number) = no limit.
fn max_message(wsi: &Wsi) -> u64 {
    let Some(name) = wsi.proto().map(|p| p.def.name.clone()) else {
        return 0;
    };
    wsi.site.vhosts[wsi.vhost]
        .cfg
        .ws_protocols
        .iter()
        .filter(|p| p.name == name)
        .flat_map(|p| &p.options)
        .find(|o| o.name == "max-message")
        .and_then(|o| o.value.trim().parse().ok())
        .unwrap_or(0)
}
