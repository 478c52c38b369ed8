//! What `struct lws *` points at: one connection bound to a protocol, or a
//! stand-in (lws's "fake wsi") for vhost-level callbacks such as
//! PROTOCOL_INIT. A `Wsi` is owned by the service thread that created it
//! and registered there while alive, so a pointer a plugin hands back is
//! checked against that thread's live set before it is used.

use std::cell::{Cell, OnceCell, RefCell};
use std::ffi::{c_void, CString};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::host::ffi::call::PluginMem;
use crate::host::site::HostSite;
use crate::host::vhost::{VhostHandle, VhostProtocol};
use crate::host::{thread, timers, writable};
use comlink_wire::frame::Encoder;

/// What the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A stand-in for vhost-level callbacks: no socket.
    Vhost,
    /// A WebSocket connection.
    WebSocket,
    /// An HTTP transaction on a `callback://` mount.
    Http,
    /// A descriptor a plugin adopted as a raw file (`host::raw`).
    RawFile,
    /// A socket a plugin adopted raw, or a raw vhost's listener accepted.
    RawSocket,
    /// A WebSocket a plugin opened to a server (`lws_client_connect_via_info`).
    WsClient,
    /// An HTTP request a plugin made (`lws_client_connect_via_info` with a method).
    HttpClient,
}

/// The request that opened the connection (for `lws_hdr_copy` and url args).
#[derive(Debug, Default)]
pub struct RequestInfo {
    /// Method.
    pub method: String,
    /// URL path (percent-decoded).
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// The path as a C string (for `lws_http_get_uri_and_method`).
    pub path_c: std::ffi::CString,
    /// It came over TLS.
    pub secure: bool,
    /// Request headers. A WebSocket drops them once ESTABLISHED has run, as
    /// lws frees its header table after the handshake: an idle connection
    /// should not carry its opening request around.
    pub headers: std::cell::RefCell<http::HeaderMap>,
    /// The client's certificate (DER), when it presented one that the
    /// vhost's `host-ssl-ca` verified (`lws_tls_peer_cert_info`).
    pub peer_cert: Option<Arc<[u8]>>,
    /// Who the protocol says the client is, for the access log's user
    /// field (`comlink_access_log_user`).
    pub log_user: std::cell::RefCell<Option<String>>,
}

/// The response of an HTTP transaction, as the plugin writes it.
#[derive(Debug, Default)]
pub struct HttpState {
    /// Where the response head goes once the plugin has written it.
    pub head: Option<tokio::sync::oneshot::Sender<Head>>,
    /// Header bytes written so far (`LWS_WRITE_HTTP_HEADERS_CONTINUATION`).
    pub head_buf: Vec<u8>,
    /// The body is complete (`LWS_WRITE_HTTP_FINAL`, or the transaction completed).
    pub finished: bool,
    /// A file to stream as the body (`lws_serve_http_file`): file and bytes left.
    pub file: Option<(std::fs::File, u64)>,
}

/// A response head written by a plugin.
pub(crate) use comlink_wire::head::Head;

/// Fragment state of the data being delivered in RECEIVE.
#[derive(Debug, Clone, Copy, Default)]
pub struct RxState {
    /// First piece of a message.
    pub first: bool,
    /// Last piece of a message.
    pub last: bool,
    /// The message is binary.
    pub binary: bool,
    /// Bytes of the current frame still to come.
    pub remaining: u64,
}

static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

/// `kind|n`, lws's tag form (one per HTTP transaction: no `format!`).
fn tag(kind: &str, n: u64) -> CString {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    let mut t = Vec::with_capacity(kind.len() + 1 + digits.len() + 1);
    t.extend_from_slice(kind.as_bytes());
    t.push(b'|');
    t.extend_from_slice(digits.as_bytes());
    CString::new(t).unwrap_or_default()
}

/// One connection (or a vhost-level stand-in).
pub struct Wsi {
    /// The site the connection started on (keeps its vhosts and plugins alive).
    pub site: Arc<HostSite>,
    /// Index of its vhost in `site.vhosts`.
    pub vhost: usize,
    /// Index of its protocol in the vhost's protocols.
    pub protocol: Cell<Option<usize>>,
    /// Per-session data (`user` in callbacks): zeroed, the protocol's
    /// `per_session_data_size` bytes.
    pss: RefCell<Option<PluginMem>>,
    /// What it is.
    pub role: Role,
    /// The peer.
    pub peer: Option<SocketAddr>,
    /// The opening request.
    pub request: Option<Box<RequestInfo>>,
    /// The socket, once the connection is upgraded (none for stand-ins).
    pub stream: OnceCell<crate::listen::transport::Transport>,
    /// Bytes accepted by `lws_write` and not yet on the socket.
    pub tx: RefCell<BytesMut>,
    /// HTTP response state (HTTP role only).
    pub http: RefCell<HttpState>,
    /// WebSocket frame encoder (deflate state when negotiated).
    pub encoder: RefCell<Option<Encoder>>,
    /// `lws_callback_on_writable` was called.
    pub writable_requested: Cell<bool>,
    /// A write happened and `lws_send_pipe_choked` has not been asked since
    /// (lws's "could have pending": a second write is refused).
    pub could_have_pending: Cell<bool>,
    /// Set by `lws_close_reason`.
    pub close_reason: RefCell<Option<(u16, Vec<u8>)>>,
    /// `lws_rx_flow_control(wsi, 0)`.
    pub rx_paused: Cell<bool>,
    /// Fragment state for RECEIVE.
    pub rx: Cell<RxState>,
    /// `lws_set_timer_usecs` deadline.
    pub timer: Cell<Option<Instant>>,
    /// The deadline last handed to the thread's timer task
    /// ([`timer_pass`](crate::host::timer_pass)), not yet come up.
    pub timer_handed: Cell<Option<Instant>>,
    /// `lws_set_timeout` deadline.
    pub timeout: Cell<Option<Instant>>,
    /// A callback returned non-zero outside the connection's own task (e.g.
    /// from `lws_callback_all_protocol`): close at the next turn.
    pub close_requested: Cell<bool>,
    /// `lws_set_opaque_user_data`.
    pub opaque: Cell<*mut c_void>,
    /// Wakes the connection task.
    pub wake: Notify,
    /// Its WebSocket session waits (for its socket, a wake-up or a
    /// deadline) with nothing of its own to do: WRITEABLE may be called
    /// for it from this thread's pass ([`writable`]).
    pub parked: Cell<bool>,
    /// It is in this thread's WRITEABLE pass queue.
    pub in_pass_queue: Cell<bool>,
    /// Its WRITEABLE is running in the pass, which sends what the callback
    /// wrote once it returns ([`writable`]).
    pub in_pass: Cell<bool>,
    /// `tx` holds frames written in the pass and not yet offered to the
    /// socket (never more than [`writable::BATCH`] bytes).
    pub held: Cell<bool>,
    /// `lws_wsi_tag`.
    pub tag: CString,
    /// Owning service thread.
    pub tsi: usize,
    /// The descriptor of a raw file wsi (`host::raw`).
    pub raw_file: OnceCell<tokio::io::unix::AsyncFd<std::fs::File>>,
    /// A connection a plugin opened: its state (`host::client`).
    pub client: Option<Box<crate::host::client::ClientState>>,
}

impl std::fmt::Debug for Wsi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wsi").field("tag", &self.tag).finish()
    }
}

impl Wsi {
    /// A new wsi on this thread, not yet registered.
    pub fn new(
        site: Arc<HostSite>,
        vhost: usize,
        role: Role,
        peer: Option<SocketAddr>,
        request: Option<Box<RequestInfo>>,
    ) -> Box<Wsi> {
        let n = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
        let kind = match role {
            Role::Vhost => "vh",
            Role::WebSocket => "ws",
            Role::Http => "h1",
            Role::RawFile => "rf",
            Role::RawSocket => "rs",
            Role::WsClient => "wsc",
            Role::HttpClient => "hc",
        };
        Box::new(Wsi {
            site,
            vhost,
            protocol: Cell::new(None),
            pss: RefCell::new(None),
            role,
            peer,
            request,
            stream: OnceCell::new(),
            tx: RefCell::new(BytesMut::new()),
            encoder: RefCell::new(None),
            http: RefCell::new(HttpState::default()),
            writable_requested: Cell::new(false),
            could_have_pending: Cell::new(false),
            close_reason: RefCell::new(None),
            rx_paused: Cell::new(false),
            rx: Cell::new(RxState::default()),
            timer: Cell::new(None),
            timer_handed: Cell::new(None),
            timeout: Cell::new(None),
            close_requested: Cell::new(false),
            opaque: Cell::new(std::ptr::null_mut()),
            wake: Notify::new(),
            parked: Cell::new(false),
            in_pass_queue: Cell::new(false),
            in_pass: Cell::new(false),
            held: Cell::new(false),
            tag: tag(kind, n),
            tsi: thread::current_tsi().unwrap_or(0),
            raw_file: OnceCell::new(),
            client: None,
        })
    }

    /// Its vhost.
    pub fn vhost_handle(&self) -> &VhostHandle {
        &self.site.vhosts[self.vhost]
    }

    /// Its protocol, if bound.
    pub fn proto(&self) -> Option<&VhostProtocol> {
        self.protocol
            .get()
            .and_then(|i| self.vhost_handle().protocols.get(i))
    }

    /// Binds protocol `index` and allocates fresh zeroed per-session data.
    pub fn bind(&self, index: usize) {
        self.free_pss();
        self.count_open(false);
        self.protocol.set(Some(index));
        self.count_open(true);
        let size = self.proto().map_or(0, |p| p.def.pss_size);
        if size > 0 && self.external_user().is_null() {
            *self.pss.borrow_mut() = PluginMem::zeroed(size);
        }
    }

    /// The per-session data as the plugin gets it (`user`), or null.
    pub fn pss_ptr(&self) -> *mut c_void {
        let external = self.external_user();
        if !external.is_null() {
            return external;
        }
        self.pss
            .borrow()
            .as_ref()
            .map_or(std::ptr::null_mut(), PluginMem::as_ptr)
    }

    /// The user data a plugin gave its client connection (`userdata` of
    /// the connect info), or null.
    fn external_user(&self) -> *mut c_void {
        self.client
            .as_ref()
            .map_or(std::ptr::null_mut(), |c| c.userdata)
    }

    /// Frees the per-session data (cancelling timers a plugin left in it).
    pub fn free_pss(&self) {
        let mem = self.pss.borrow_mut().take();
        if let Some(mem) = mem {
            let (start, len) = mem.span();
            timers::cancel_within(start, len);
        }
    }

    /// Writes as much pending output (`tx`) as `stream` takes now.
    pub fn flush_to(&self, stream: &crate::listen::transport::Transport) -> std::io::Result<()> {
        self.held.set(false);
        let mut tx = self.tx.borrow_mut();
        while !tx.is_empty() {
            match stream.try_write(&tx) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) if n == tx.len() => {
                    // All of it: the buffer is kept, its room whole.
                    tx.clear();
                    if tx.capacity() > 4096 {
                        // Do not keep a large write's buffer on an idle connection.
                        *tx = BytesMut::new();
                    }
                }
                Ok(n) => {
                    // Moves the start along the same buffer (`split_to`
                    // would make it a shared one, an allocation per send).
                    tx.advance(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// [`Wsi::flush_to`] its own socket (if it has one yet); a socket that
    /// failed asks for the connection to close.
    pub fn flush_or_close(&self) {
        if let Some(stream) = self.stream.get() {
            if self.flush_to(stream).is_err() {
                self.close_requested.set(true);
            }
        }
    }

    /// After writes its task did not make (the WRITEABLE pass's, a message
    /// given to many): wakes the task if it has something to look after,
    /// output left waiting for the socket, a close, or a compressor the
    /// writes made (given back once the connection goes quiet).
    pub fn wake_if_task_has_work(&self) {
        let compressing = self
            .encoder
            .borrow()
            .as_ref()
            .is_some_and(comlink_wire::frame::Encoder::holds_deflate_memory);
        if self.close_requested.get() || !self.tx.borrow().is_empty() || compressing {
            self.wake.notify_one();
        }
    }

    /// Asks for a WRITEABLE callback: from this thread's pass when the
    /// session is parked with nothing waiting for the socket, else from
    /// its own task.
    pub fn request_writable(&self) {
        self.writable_requested.set(true);
        // Frames held for the pass's send go out before its next pass.
        let waiting = !self.held.get() && !self.tx.borrow().is_empty();
        if self.parked.get() && !waiting && writable::enqueue(self) {
            return;
        }
        self.wake.notify_one();
    }
}

impl Wsi {
    /// Keeps the protocol's open-connection figure (stand-ins not counted).
    fn count_open(&self, up: bool) {
        if self.role == Role::Vhost {
            return;
        }
        if let Some(p) = self.proto() {
            if up {
                p.times
                    .open
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else {
                p.times
                    .open
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Wsi {
    fn drop(&mut self) {
        crate::host::threadpool::wsi_closing(self as *const Wsi as usize);
        self.count_open(false);
        self.free_pss();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_are_kind_bar_number() {
        assert_eq!(super::tag("h1", 42).to_str().unwrap(), "h1|42");
        assert_eq!(
            super::tag("ws", u64::MAX).to_str().unwrap(),
            "ws|18446744073709551615"
        );
    }
}
