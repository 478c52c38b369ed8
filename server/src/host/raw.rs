//! Raw descriptors: a file (FIFO, device) or a socket a plugin adopted
//! (`lws_adopt_descriptor_vhost`), served on the adopting service thread.
//!
//! A raw file wsi gets RAW_RX_FILE with no data while its descriptor is
//! readable (the plugin reads it), RAW_WRITEABLE_FILE once it is writable
//! after `lws_callback_on_writable`, and is closed on a hang-up with
//! nothing left to read. A raw socket wsi gets RAW_RX with the bytes read,
//! RAW_WRITEABLE once what it wrote is out, and is closed when the peer
//! closes. Either is closed when a callback returns nonzero, on
//! `lws_set_timeout`, when the server stops, and when a reload replaces its
//! plugin ([`close_local`]); its last callback is RAW_CLOSE(_FILE), then the
//! descriptor is closed.

use std::ffi::{c_int, c_void};
use std::future::poll_fn;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;

use bytes::BytesMut;
use comlink_plugin_api::abi::{
    LWS_CALLBACK_RAW_ADOPT, LWS_CALLBACK_RAW_ADOPT_FILE, LWS_CALLBACK_RAW_CLOSE,
    LWS_CALLBACK_RAW_CLOSE_FILE, LWS_CALLBACK_RAW_RX, LWS_CALLBACK_RAW_RX_FILE,
    LWS_CALLBACK_RAW_WRITEABLE, LWS_CALLBACK_RAW_WRITEABLE_FILE, LWS_CALLBACK_TIMER,
    LWS_WRITE_HTTP, LWS_WRITE_HTTP_FINAL,
};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use tokio::time::{Instant, Sleep};

use crate::host::dispatch::callback;
use crate::host::site::HostSite;
use crate::host::thread;
use crate::host::vhost::VhostHandle;
use crate::host::write::WriteError;
use crate::host::wsi::{Role, Wsi};
use crate::listen::transport::Transport;

/// What is adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A file descriptor (RAW_*_FILE callbacks).
    File,
    /// A connected stream socket (RAW_* callbacks).
    Socket,
}

/// Why an adoption failed (the descriptor is closed).
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdoptError {
    /// Not called on a service thread.
    #[error("not called on a service thread")]
    OffThread,
    /// The named protocol is not enabled on the vhost.
    #[error("vhost \"{0}\" has no protocol \"{1}\" enabled")]
    NoProtocol(String, String),
    /// No protocol named and the vhost has none to default to.
    #[error("vhost \"{0}\" has no protocol for raw {1} (name one, or give one the pvo \"{2}\")")]
    NoDefault(String, &'static str, &'static str),
    /// A kind of adoption the host does not do.
    #[error("{0} is not supported")]
    Unsupported(&'static str),
    /// The event loop cannot watch the descriptor (e.g. a regular file).
    #[error("the descriptor cannot be watched: {0}")]
    Watch(std::io::Error),
    /// RAW_ADOPT(_FILE) returned nonzero.
    #[error("the protocol refused it (RAW_ADOPT returned {0})")]
    Refused(c_int),
}

/// Adopts `fd` on vhost `vhost` of `site` as `kind`, bound to protocol
/// `protocol` (None: the vhost's default for the kind), with `first` as
/// bytes already read from it (sockets). Returns the new wsi, live on this
/// service thread until it closes.
pub(crate) fn adopt(
    site: &Arc<HostSite>,
    vhost: usize,
    kind: Kind,
    fd: OwnedFd,
    protocol: Option<&str>,
    opaque: *mut c_void,
    first: &[u8],
) -> Result<*const Wsi, AdoptError> {
    let tsi = thread::current_tsi().ok_or(AdoptError::OffThread)?;
    let vh = &site.vhosts[vhost];
    let proto = choose(vh, kind, protocol)?;
    let (role, peer) = match kind {
        Kind::File => (Role::RawFile, None),
        Kind::Socket => (
            Role::RawSocket,
            socket2::SockRef::from(&fd)
                .peer_addr()
                .ok()
                .and_then(|a| a.as_socket()),
        ),
    };
    let wsi = Wsi::new(site.clone(), vhost, role, peer, None);
    wsi.bind(proto);
    wsi.opaque.set(opaque);
    set_nonblocking(&fd).map_err(AdoptError::Watch)?;
    match kind {
        Kind::File => {
            let file = std::fs::File::from(fd);
            let afd = crate::host::ffi::fd::watch(file).map_err(AdoptError::Watch)?;
            let _ = wsi.raw_file.set(afd);
        }
        Kind::Socket => {
            let s = tokio::net::TcpStream::from_std(std::net::TcpStream::from(fd))
                .map_err(AdoptError::Watch)?;
            let _ = wsi.stream.set(Transport::Plain(s));
        }
    }
    thread::register(&wsi);
    let reason = match kind {
        Kind::File => LWS_CALLBACK_RAW_ADOPT_FILE,
        Kind::Socket => LWS_CALLBACK_RAW_ADOPT,
    };
    let rc = callback(&wsi, reason, std::ptr::null_mut(), 0);
    if rc != 0 {
        thread::unregister(&wsi);
        return Err(AdoptError::Refused(rc));
    }
    let counters = crate::runtime::counters::threads().get(tsi);
    if let Some(c) = counters {
        c.open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let ptr: *const Wsi = &*wsi;
    let first = BytesMut::from(first);
    tokio::task::spawn_local(async move {
        let wsi = wsi;
        serve(&wsi, first).await;
        let reason = match wsi.role {
            Role::RawFile => LWS_CALLBACK_RAW_CLOSE_FILE,
            _ => LWS_CALLBACK_RAW_CLOSE,
        };
        callback(&wsi, reason, std::ptr::null_mut(), 0);
        thread::unregister(&wsi);
        if let Some(s) = wsi.stream.get() {
            let _ = wsi.flush_to(s);
            s.shutdown_write();
        }
        if let Some(c) = counters {
            c.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        // Dropping the wsi closes the descriptor.
    });
    Ok(ptr)
}

/// The protocol (index) an adoption binds.
fn choose(vh: &VhostHandle, kind: Kind, protocol: Option<&str>) -> Result<usize, AdoptError> {
    let name = || vh.cfg.name.clone();
    match (protocol, kind) {
        (Some(p), _) => vh
            .find(p)
            .ok_or_else(|| AdoptError::NoProtocol(name(), p.to_owned())),
        (None, Kind::Socket) => {
            raw_protocol(vh).ok_or_else(|| AdoptError::NoDefault(name(), "sockets", "raw"))
        }
        (None, Kind::File) => vh
            .default_protocol
            .or_else(|| (!vh.protocols.is_empty()).then_some(0))
            .ok_or_else(|| AdoptError::NoDefault(name(), "files", "default")),
    }
}

/// The vhost's protocol for raw sockets: the one whose pvo has "raw".
pub(crate) fn raw_protocol(vh: &VhostHandle) -> Option<usize> {
    vh.protocols
        .iter()
        .position(|p| p.pvo.has("raw") && !p.failed.load(std::sync::atomic::Ordering::Relaxed))
}

fn set_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
}

/// What `poll(2)` says of a descriptor right now: (readable, hung up).
fn poll_now(fd: &impl AsFd) -> (bool, bool) {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => {
            let r = fds[0].revents().unwrap_or(PollFlags::empty());
            (
                r.contains(PollFlags::POLLIN),
                r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL),
            )
        }
        Err(_) => (false, true),
    }
}

/// The wsi's loop until it is to close.
async fn serve(wsi: &Wsi, rbuf: BytesMut) {
    match wsi.role {
        Role::RawFile => serve_file(wsi).await,
        _ => serve_socket(wsi, rbuf).await,
    }
}

/// The nearest of the wsi's timer and timeout.
fn deadline(wsi: &Wsi) -> Option<Instant> {
    [wsi.timer.get(), wsi.timeout.get()]
        .into_iter()
        .flatten()
        .min()
}

/// A deadline passed: false to close (a timeout, or TIMER returned nonzero).
fn on_deadline(wsi: &Wsi) -> bool {
    let now = Instant::now();
    if wsi.timeout.get().is_some_and(|t| t <= now) {
        return false;
    }
    if wsi.timer.get().is_some_and(|t| t <= now) {
        wsi.timer.set(None);
        return callback(wsi, LWS_CALLBACK_TIMER, std::ptr::null_mut(), 0) == 0;
    }
    true
}

async fn sleep_until(sleep: &mut Option<Pin<Box<Sleep>>>, at: Option<Instant>) {
    match (sleep.as_mut(), at) {
        (_, None) => std::future::pending().await,
        (Some(s), Some(at)) => {
            s.as_mut().reset(at);
            s.as_mut().await
        }
        (None, Some(at)) => {
            let s = sleep.insert(Box::pin(tokio::time::sleep_until(at)));
            s.as_mut().await
        }
    }
}

async fn serve_file(wsi: &Wsi) {
    let Some(afd) = wsi.raw_file.get() else {
        return;
    };
    let mut stop = crate::host::context::CONTEXT.stopping();
    let mut sleep: Option<Pin<Box<Sleep>>> = None;
    loop {
        if wsi.close_requested.get() || *stop.borrow() {
            return;
        }
        let at = deadline(wsi);
        tokio::select! {
            g = afd.readable(), if !wsi.rx_paused.get() => {
                let Ok(mut g) = g else { return };
                let (readable, hung_up) = poll_now(afd);
                if !readable {
                    if hung_up {
                        return;
                    }
                    g.clear_ready();
                    continue;
                }
                if callback(wsi, LWS_CALLBACK_RAW_RX_FILE, std::ptr::null_mut(), 0) != 0 {
                    return;
                }
                // Still readable (the plugin read part of it): again, after
                // the loop's other work.
                tokio::task::consume_budget().await;
            }
            g = afd.writable(), if wsi.writable_requested.get() => {
                if g.is_err() {
                    return;
                }
                wsi.writable_requested.set(false);
                if callback(wsi, LWS_CALLBACK_RAW_WRITEABLE_FILE, std::ptr::null_mut(), 0) != 0 {
                    return;
                }
                tokio::task::consume_budget().await;
            }
            _ = wsi.wake.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
            _ = sleep_until(&mut sleep, at), if at.is_some() => {
                if !on_deadline(wsi) {
                    return;
                }
            }
        }
    }
}

async fn serve_socket(wsi: &Wsi, mut rbuf: BytesMut) {
    let Some(stream) = wsi.stream.get() else {
        return;
    };
    let chunk = wsi
        .proto()
        .map(|p| p.def.rx_buffer_size)
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX);
    let mut stop = crate::host::context::CONTEXT.stopping();
    let mut sleep: Option<Pin<Box<Sleep>>> = None;
    // RAW_RX hands plugins a NUL-terminated copy.
    let mut scratch: Vec<u8> = Vec::new();
    loop {
        if wsi.close_requested.get() || *stop.borrow() {
            return;
        }
        // 1. What was read, in pieces of the protocol's rx buffer size.
        while !rbuf.is_empty() && !wsi.rx_paused.get() {
            let piece = rbuf.split_to(rbuf.len().min(chunk));
            scratch.clear();
            scratch.extend_from_slice(&piece);
            scratch.push(0);
            let rc = callback(
                wsi,
                LWS_CALLBACK_RAW_RX,
                scratch.as_mut_ptr() as *mut c_void,
                piece.len(),
            );
            if rc != 0 || wsi.close_requested.get() {
                return;
            }
        }
        // 2. Push out what is pending; 3. WRITEABLE once it is all out.
        if wsi.flush_to(stream).is_err() {
            return;
        }
        if wsi.writable_requested.get() && wsi.tx.borrow().is_empty() {
            wsi.writable_requested.set(false);
            if callback(wsi, LWS_CALLBACK_RAW_WRITEABLE, std::ptr::null_mut(), 0) != 0 {
                return;
            }
            tokio::task::consume_budget().await;
            continue;
        }
        let want_write = !wsi.tx.borrow().is_empty();
        let at = deadline(wsi);
        tokio::select! {
            r = poll_fn(|cx| stream.poll_read_some(cx, &mut rbuf)), if !wsi.rx_paused.get() => {
                match r {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
            r = poll_fn(|cx| stream.poll_writable(cx)), if want_write => {
                if r.is_err() {
                    return;
                }
            }
            _ = wsi.wake.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
            _ = sleep_until(&mut sleep, at), if at.is_some() => {
                if !on_deadline(wsi) {
                    return;
                }
            }
        }
    }
}

/// `lws_write` on a raw wsi (`LWS_WRITE_RAW`): a socket's bytes go out as
/// far as the socket takes them now, the rest when it can; a file's are
/// written to it at once, as far as it takes them (the count is returned).
pub(crate) fn write(wsi: &Wsi, data: &[u8], kind: c_int) -> Result<usize, WriteError> {
    let base = kind & 0x1f;
    if base != LWS_WRITE_HTTP && base != LWS_WRITE_HTTP_FINAL {
        return Err(WriteError::Kind {
            kind: base,
            role: "a raw connection",
        });
    }
    if let Some(f) = wsi.raw_file.get() {
        let mut file: &std::fs::File = f.get_ref();
        return match file.write(data) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(WriteError::Http {
                tag: wsi.tag.clone(),
                what: format!("write to the raw file failed: {e}"),
            }),
        };
    }
    wsi.tx.borrow_mut().extend_from_slice(data);
    if let Some(s) = wsi.stream.get() {
        if wsi.flush_to(s).is_err() {
            wsi.close_requested.set(true);
        }
    }
    wsi.wake.notify_one();
    Ok(data.len())
}

/// The descriptor under `wsi` (`lws_get_socket_fd`), if it has one.
pub(crate) fn fd_of(wsi: &Wsi) -> Option<RawFd> {
    if let Some(f) = wsi.raw_file.get() {
        return Some(f.as_raw_fd());
    }
    match wsi.stream.get()? {
        Transport::Plain(s) => Some(s.as_raw_fd()),
        Transport::Tls(t) => t.try_borrow().ok().map(|t| t.get_ref().0.as_raw_fd()),
        Transport::ClientTls(t) => t.try_borrow().ok().map(|t| t.get_ref().0.as_raw_fd()),
    }
}

/// Closes this thread's raw wsis of protocols from libraries `libs` (a
/// reload replaced them: their RAW_CLOSE runs before their DESTROY).
pub(crate) fn close_local(libs: &[usize]) {
    for addr in thread::live() {
        crate::host::ffi::call::with_live(addr, |wsi| {
            if !matches!(wsi.role, Role::RawFile | Role::RawSocket) {
                return;
            }
            if wsi
                .proto()
                .is_some_and(|p| libs.contains(&(Arc::as_ptr(&p.def.lib) as usize)))
            {
                wsi.close_requested.set(true);
                wsi.wake.notify_one();
            }
        });
    }
}
