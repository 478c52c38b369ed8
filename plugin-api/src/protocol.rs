//! The safe side for Rust plugin authors: a [`Protocol`] trait with one
//! defaulted method per callback, and the handles ([`Connection`],
//! [`Vhost`]) through which a protocol talks to the host.
//!
//! State lives in Rust types: `Protocol::Vhost` is created at
//! PROTOCOL_INIT and dropped at PROTOCOL_DESTROY, `Protocol::Session` is
//! created when a connection is ESTABLISHED and dropped when it closes. The
//! export macro ([`crate::export_plugin`]) turns the trait into the C table
//! and entry points the host loads.

use std::ffi::{c_char, c_int, CStr, CString};
use std::time::Duration;

use crate::abi::{self, Lws, LwsProtocols, LwsVhost};
use crate::sys;

/// What the host should do with the connection after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Carry on.
    Continue,
    /// Close it (with the code given to [`Connection::close_reason`], if any).
    Close,
}

impl Action {
    /// lws's return value: 0 to continue, -1 to close.
    pub fn as_raw(self) -> c_int {
        match self {
            Action::Continue => 0,
            Action::Close => -1,
        }
    }
}

/// Why a write was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteError;

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("lws_write refused the write (see the server log)")
    }
}

impl std::error::Error for WriteError {}

/// A connection. It is only a handle: using one whose connection has gone
/// is refused by the host (logged), never undefined behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Connection {
    wsi: *mut Lws,
}

/// The options a `ws-protocols` entry gives the protocol on one vhost, in
/// file order.
#[derive(Debug, Clone, Default)]
pub struct Options(pub Vec<(String, String)>);

impl Options {
    /// The value of option `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[allow(unsafe_code)]
// SAFETY: a `Connection` is an address the host hands out; the host checks
// it against the calling thread's live connections on every use and refuses
// (logs) anything else, so moving the handle between threads cannot reach
// memory it should not.
unsafe impl Send for Connection {}
#[allow(unsafe_code)]
// SAFETY: as for `Send`: the handle has no state of its own.
unsafe impl Sync for Connection {}

#[allow(unsafe_code)]
// SAFETY: a vhost handle is an address the host validates on every call.
unsafe impl Send for Vhost {}
#[allow(unsafe_code)]
// SAFETY: as for `Send`.
unsafe impl Sync for Vhost {}

impl Connection {
    /// Wraps the `struct lws *` of a callback.
    pub fn from_raw(wsi: *mut Lws) -> Connection {
        Connection { wsi }
    }

    /// The raw `struct lws *`.
    pub fn as_raw(&self) -> *mut Lws {
        self.wsi
    }

    fn write(&self, data: &[u8], kind: c_int) -> Result<(), WriteError> {
        // No LWS_PRE headroom (nor a copy to make it): Comlink's host frames
        // into the connection's own buffer, and only reads `data`. A Rust
        // plugin runs only under Comlink (it logs through `comlink_log_line`).
        #[allow(unsafe_code)]
        // SAFETY: `data` holds `data.len()` bytes, which the host's
        // `lws_write` only reads; the host checks the wsi before using it.
        let n = unsafe { sys::lws_write(self.wsi, data.as_ptr().cast_mut(), data.len(), kind) };
        if n < 0 {
            Err(WriteError)
        } else {
            Ok(())
        }
    }

    /// Sends a text message (call from `writeable`, once per callback).
    pub fn write_text(&self, data: &[u8]) -> Result<(), WriteError> {
        self.write(data, abi::LWS_WRITE_TEXT)
    }

    /// Gives one whole text message to each of `conns` that waits for
    /// nothing, from outside their `writeable` (`comlink_write_queued`):
    /// the host frames it once and writes it to each of their sockets
    /// without calling `writeable`. Says which took it; one that did not
    /// (its earlier output is still going out, it is in a callback, it is
    /// another thread's) got nothing: ask for `writeable` as usual.
    pub fn queue_text_all(conns: &[Connection], data: &[u8]) -> Vec<bool> {
        let mut wsis: Vec<*mut Lws> = conns.iter().map(|c| c.wsi).collect();
        let mut taken = vec![0u8; conns.len()];
        #[allow(unsafe_code)]
        // SAFETY: `wsis` and `taken` hold `conns.len()` entries, `data`
        // `data.len()` bytes, which the host only reads (no headroom is
        // needed); the host checks each wsi before using it.
        let n = unsafe {
            sys::comlink_write_queued(
                wsis.as_mut_ptr(),
                wsis.len(),
                data.as_ptr().cast_mut(),
                data.len(),
                abi::LWS_WRITE_TEXT,
                taken.as_mut_ptr(),
            )
        };
        if n < 0 {
            taken.fill(0);
        }
        taken.into_iter().map(|t| t != 0).collect()
    }

    /// Sends a binary message.
    pub fn write_binary(&self, data: &[u8]) -> Result<(), WriteError> {
        self.write(data, abi::LWS_WRITE_BINARY)
    }

    /// Sends one frame of a fragmented message: `first` picks text/binary or
    /// continuation, `fin` ends the message.
    pub fn write_fragment(
        &self,
        data: &[u8],
        binary: bool,
        first: bool,
        fin: bool,
    ) -> Result<(), WriteError> {
        let mut kind = if !first {
            abi::LWS_WRITE_CONTINUATION
        } else if binary {
            abi::LWS_WRITE_BINARY
        } else {
            abi::LWS_WRITE_TEXT
        };
        if !fin {
            kind |= abi::LWS_WRITE_NO_FIN;
        }
        self.write(data, kind)
    }

    /// Asks for a `writeable` callback once the connection can take more.
    pub fn request_writable(&self) {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_callback_on_writable(self.wsi);
        }
    }

    /// Whether earlier output is still waiting for the socket (asking also
    /// allows another write in the same callback when it is not).
    pub fn send_pipe_choked(&self) -> bool {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_send_pipe_choked(self.wsi) != 0
        }
    }

    /// Sets the close code and reason used when the callback returns
    /// [`Action::Close`]; returns `Action::Close` for convenience.
    pub fn close_reason(&self, code: u16, reason: &[u8]) -> Action {
        let mut r = reason.to_vec();
        #[allow(unsafe_code)]
        // SAFETY: `r` is readable for its length; the host copies it.
        unsafe {
            sys::lws_close_reason(self.wsi, c_int::from(code), r.as_mut_ptr(), r.len());
        }
        Action::Close
    }

    /// The piece being received is the last of its message.
    pub fn is_final_fragment(&self) -> bool {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_is_final_fragment(self.wsi) != 0
        }
    }

    /// The piece being received is the first of its message.
    pub fn is_first_fragment(&self) -> bool {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_is_first_fragment(self.wsi) != 0
        }
    }

    /// The message being received is binary.
    pub fn is_binary(&self) -> bool {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_frame_is_binary(self.wsi) != 0
        }
    }

    /// Bytes of the current frame still to come.
    pub fn remaining_payload(&self) -> usize {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_remaining_packet_payload(self.wsi)
        }
    }

    /// Pauses (false) or resumes (true) receiving.
    pub fn set_receiving(&self, on: bool) {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_rx_flow_control(self.wsi, c_int::from(on));
        }
    }

    /// One `timer` callback after `after` (None cancels).
    pub fn set_timer(&self, after: Option<Duration>) {
        let us = after.map_or(-1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_set_timer_usecs(self.wsi, us);
        }
    }

    /// Closes the connection `secs` from now unless called again (0 cancels).
    pub fn set_timeout(&self, secs: u32) {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            sys::lws_set_timeout(
                self.wsi,
                abi::PENDING_TIMEOUT_USER_OK,
                c_int::try_from(secs).unwrap_or(c_int::MAX),
            );
        }
    }

    /// The peer's address as text.
    pub fn peer(&self) -> Option<String> {
        let mut buf = [0 as c_char; 64];
        #[allow(unsafe_code)]
        // SAFETY: `buf` is writable for its length; on success the host
        // wrote a NUL-terminated string into it.
        unsafe {
            let p = sys::lws_get_peer_simple(self.wsi, buf.as_mut_ptr(), buf.len());
            (!p.is_null()).then(|| CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        }
    }

    /// A request header (or pseudo token) by `WSI_TOKEN_*` index.
    pub fn header(&self, token: c_int) -> Option<String> {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi; `buf` has `len + 1` bytes.
        unsafe {
            let len = sys::lws_hdr_total_length(self.wsi, token);
            if len <= 0 {
                return None;
            }
            let mut buf = vec![0 as c_char; len as usize + 1];
            let n = sys::lws_hdr_copy(self.wsi, buf.as_mut_ptr(), len + 1, token);
            (n >= 0).then(|| CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        }
    }

    /// A request header that has no `WSI_TOKEN_*` index (such as
    /// `Last-Event-ID`), by name (`lws_hdr_custom_copy`).
    pub fn custom_header(&self, name: &str) -> Option<String> {
        let name = CString::new(format!("{}:", name.trim_end_matches(':'))).ok()?;
        let nlen = c_int::try_from(name.as_bytes().len()).ok()?;
        #[allow(unsafe_code)]
        // SAFETY: `name` is readable for `nlen` bytes; the host validates
        // the wsi; `buf` has `len + 1` bytes.
        unsafe {
            let len = sys::lws_hdr_custom_length(self.wsi, name.as_ptr(), nlen);
            if len < 0 {
                return None;
            }
            let mut buf = vec![0 as c_char; len as usize + 1];
            let n =
                sys::lws_hdr_custom_copy(self.wsi, buf.as_mut_ptr(), len + 1, name.as_ptr(), nlen);
            (n >= 0).then(|| CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        }
    }

    /// The value of URL argument `name` (`?name=value`).
    pub fn url_arg(&self, name: &str) -> Option<String> {
        let name = CString::new(name).ok()?;
        let mut buf = vec![0 as c_char; 512];
        #[allow(unsafe_code)]
        // SAFETY: `name` is NUL-terminated, `buf` writable for its length.
        unsafe {
            let n = sys::lws_get_urlarg_by_name_safe(
                self.wsi,
                name.as_ptr(),
                buf.as_mut_ptr(),
                buf.len() as c_int,
            );
            (n >= 0).then(|| CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        }
    }

    /// HTTP: writes the response head (status line, `headers`, and
    /// `content-length` when given). The body follows in later
    /// `http_writeable` callbacks ([`Connection::write_http`]).
    pub fn write_http_head(
        &self,
        status: u16,
        headers: &[(&str, &str)],
        content_length: Option<u64>,
    ) -> Result<(), WriteError> {
        let mut head = format!("HTTP/1.1 {status} \r\n");
        for (k, v) in headers {
            if k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']) {
                return Err(WriteError);
            }
            head.push_str(k);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        if let Some(n) = content_length {
            head.push_str(&format!("content-length: {n}\r\n"));
        }
        head.push_str("\r\n");
        self.write(head.as_bytes(), abi::LWS_WRITE_HTTP_HEADERS)
    }

    /// HTTP: writes body bytes; `last` ends the body.
    pub fn write_http(&self, data: &[u8], last: bool) -> Result<(), WriteError> {
        let kind = if last {
            abi::LWS_WRITE_HTTP_FINAL
        } else {
            abi::LWS_WRITE_HTTP
        };
        self.write(data, kind)
    }

    /// HTTP: the response is complete; the connection is kept for the next
    /// request ([`Action::Close`] if that failed).
    pub fn transaction_completed(&self) -> Action {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        let rc = unsafe { sys::lws_http_transaction_completed(self.wsi) };
        if rc == 0 {
            Action::Continue
        } else {
            Action::Close
        }
    }

    /// HTTP: answers with `status` and lws's small HTML page, `body` (HTML)
    /// after the code, completing the response (`lws_return_http_status`).
    pub fn return_status(&self, status: u16, body: Option<&str>) -> Action {
        let body = body.and_then(|b| CString::new(b).ok());
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi; `body` is NUL-terminated or null.
        let rc = unsafe {
            sys::lws_return_http_status(
                self.wsi,
                std::ffi::c_uint::from(status),
                body.as_ref().map_or(std::ptr::null(), |b| b.as_ptr()),
            )
        };
        if rc == 0 {
            Action::Continue
        } else {
            Action::Close
        }
    }

    /// The request method (`GET`, `POST`, ...) of an HTTP transaction.
    pub fn method(&self) -> Option<&'static str> {
        let mut p: *mut c_char = std::ptr::null_mut();
        let mut len: c_int = 0;
        #[allow(unsafe_code)]
        // SAFETY: out pointers to locals; the host validates the wsi.
        let m = unsafe { sys::lws_http_get_uri_and_method(self.wsi, &mut p, &mut len) };
        Some(match m {
            abi::LWSHUMETH_GET => "GET",
            abi::LWSHUMETH_POST => "POST",
            abi::LWSHUMETH_OPTIONS => "OPTIONS",
            abi::LWSHUMETH_PUT => "PUT",
            abi::LWSHUMETH_PATCH => "PATCH",
            abi::LWSHUMETH_DELETE => "DELETE",
            abi::LWSHUMETH_CONNECT => "CONNECT",
            abi::LWSHUMETH_HEAD => "HEAD",
            _ => return None,
        })
    }

    /// The client's TLS certificate (DER), when it presented one the
    /// vhost verified (`host-ssl-ca` with `client-cert-required`).
    pub fn peer_certificate(&self) -> Option<Vec<u8>> {
        // Room for most certificates; asked again with the size when not.
        let mut room = 8 << 10;
        for _ in 0..2 {
            let head = std::mem::size_of::<abi::LwsTlsCertInfoResults>();
            let words = (head + room).div_ceil(8);
            // u64s: aligned for the union.
            let mut buf = vec![0u64; words];
            let res = buf.as_mut_ptr() as *mut abi::LwsTlsCertInfoResults;
            let name_at = std::mem::offset_of!(abi::LwsTlsCertInfoResults, ns)
                + std::mem::offset_of!(abi::LwsTlsCertInfoNs, name);
            #[allow(unsafe_code)]
            // SAFETY: `buf` is aligned for the union and has `room` bytes
            // after `ns.name`'s start (it is `head + room` long and the
            // union is at its start); the host writes at most `room` there.
            let (rc, len) = unsafe {
                let rc = sys::lws_tls_peer_cert_info(
                    self.wsi,
                    abi::LWS_TLS_CERT_INFO_DER_RAW,
                    res,
                    room,
                );
                (rc, (*res).ns.len)
            };
            let len = usize::try_from(len).unwrap_or(0);
            if rc == 0 && len <= room {
                let bytes: &[u8] = {
                    #[allow(unsafe_code)]
                    // SAFETY: the host wrote `len` (<= `room`) bytes at
                    // `name_at`, inside `buf`.
                    unsafe {
                        std::slice::from_raw_parts((buf.as_ptr() as *const u8).add(name_at), len)
                    }
                };
                return Some(bytes.to_vec());
            }
            if len == 0 || len <= room {
                return None;
            }
            room = len;
        }
        None
    }

    /// Names the client in the access log's user field (instead of `-`):
    /// call it before answering (in [`Protocol::open_http`], or in
    /// [`Protocol::accept`] for a WebSocket). Never pass a secret.
    pub fn set_log_user(&self, user: &str) {
        let user = CString::new(user.replace('\0', "")).unwrap_or_default();
        #[allow(unsafe_code)]
        // SAFETY: `user` is NUL-terminated; the host validates the wsi and
        // copies the string.
        unsafe {
            sys::comlink_access_log_user(self.wsi, user.as_ptr());
        }
    }

    /// A short printable id, for logs.
    pub fn tag(&self) -> String {
        #[allow(unsafe_code)]
        // SAFETY: the host returns a NUL-terminated string or "?".
        unsafe {
            CStr::from_ptr(sys::lws_wsi_tag(self.wsi))
                .to_string_lossy()
                .into_owned()
        }
    }

    /// The vhost this connection is on, with this connection's protocol.
    pub fn vhost(&self) -> Vhost {
        #[allow(unsafe_code)]
        // SAFETY: the host validates the wsi.
        unsafe {
            Vhost {
                vh: sys::lws_get_vhost(self.wsi),
                proto: sys::lws_get_protocol(self.wsi),
            }
        }
    }
}

/// A vhost, seen from one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vhost {
    vh: *mut LwsVhost,
    proto: *const LwsProtocols,
}

impl Vhost {
    /// From raw pointers (as a stand-in callback gives them).
    pub fn from_raw(vh: *mut LwsVhost, proto: *const LwsProtocols) -> Vhost {
        Vhost { vh, proto }
    }

    /// The raw vhost pointer.
    pub fn as_raw(&self) -> *mut LwsVhost {
        self.vh
    }

    /// The raw protocol pointer.
    pub fn protocol_raw(&self) -> *const LwsProtocols {
        self.proto
    }

    /// Asks for `writeable` on every connection of this protocol here.
    pub fn request_writable_all(&self) {
        #[allow(unsafe_code)]
        // SAFETY: the host validates both pointers.
        unsafe {
            sys::lws_callback_on_writable_all_protocol_vhost(self.vh, self.proto);
        }
    }

    /// Calls this protocol's `vhost_event` with `reason` after `after`.
    pub fn schedule(&self, reason: c_int, after: Duration) {
        #[allow(unsafe_code)]
        // SAFETY: the host validates both pointers.
        unsafe {
            sys::lws_timed_callback_vh_protocol_us(
                self.vh,
                self.proto,
                reason,
                i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
            );
        }
    }

    /// The vhost's configured `interface` (an address or an interface
    /// name), or `None` when it listens on every interface.
    pub fn iface(&self) -> Option<String> {
        #[allow(unsafe_code)]
        // SAFETY: the host returns a NUL-terminated string or NULL.
        unsafe {
            let p = sys::lws_get_vhost_iface(self.vh);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    }

    /// The vhost's name.
    pub fn name(&self) -> String {
        #[allow(unsafe_code)]
        // SAFETY: the host returns a NUL-terminated name or NULL.
        unsafe {
            let p = sys::lws_get_vhost_name(self.vh);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }
}

/// Wakes every service thread: each protocol then gets `vhost_event` with
/// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`. The one call any thread may make.
pub fn cancel_service() {
    #[allow(unsafe_code)]
    // SAFETY: lws_cancel_service ignores its argument's contents here and is
    // safe from any thread.
    unsafe {
        sys::lws_cancel_service(std::ptr::null_mut());
    }
}

/// Whether the server is stopping. Protocols get `vhost_event` with
/// `LWS_CALLBACK_EVENT_WAIT_CANCELLED` when it starts, and should then end
/// responses that would otherwise never end (event streams, long polls).
pub fn server_stopping() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: the host ignores the argument and only reads a flag.
    unsafe {
        sys::lws_context_is_being_destroyed(std::ptr::null_mut()) != 0
    }
}

/// The host's version string.
pub fn library_version() -> String {
    #[allow(unsafe_code)]
    // SAFETY: the host returns a static NUL-terminated string.
    unsafe {
        CStr::from_ptr(sys::lws_get_library_version())
            .to_string_lossy()
            .into_owned()
    }
}

/// The server's state as JSON (lws's `lws_json_dump_context` shape:
/// version, uptime, load averages, per-thread and per-vhost figures).
pub fn context_json(hide_vhosts: bool) -> String {
    let mut buf = vec![0 as c_char; 256 * 1024];
    #[allow(unsafe_code)]
    // SAFETY: `buf` is writable for its length; the host writes at most
    // `len` bytes including a NUL and returns the text length.
    let n = unsafe {
        sys::lws_json_dump_context(
            std::ptr::null(),
            buf.as_mut_ptr(),
            buf.len() as c_int,
            c_int::from(hide_vhosts),
        )
    };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len());
    let bytes: Vec<u8> = buf[..n].iter().map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// This machine's host name as the server reports it.
pub fn canonical_hostname() -> String {
    #[allow(unsafe_code)]
    // SAFETY: the host returns a static NUL-terminated string.
    unsafe {
        CStr::from_ptr(sys::lws_canonical_hostname(std::ptr::null_mut()))
            .to_string_lossy()
            .into_owned()
    }
}

/// Reports a figure for the server's metrics endpoint: `counter` or gauge,
/// `labels` like `vhost="a"` (or ""). False if the host refused the name.
pub fn metric(name: &str, help: &str, counter: bool, labels: &str, value: f64) -> bool {
    let c = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
    let (n, h, l) = (c(name), c(help), c(labels));
    let kind = if counter { c"counter" } else { c"gauge" };
    #[allow(unsafe_code)]
    // SAFETY: all four strings are NUL-terminated and live for the call.
    unsafe {
        sys::comlink_metric_set(n.as_ptr(), h.as_ptr(), kind.as_ptr(), l.as_ptr(), value) == 0
    }
}

/// Reports on `part` of the service this plugin provides on `vhost` ("" for
/// the whole server) to the server's health check (`health-path`): `Err(why)`
/// makes it answer 503 with `why` until an `Ok(())` for the same vhost and
/// part.
pub fn health(vhost: &str, part: &str, state: Result<(), &str>) {
    let c = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
    let (v, p) = (c(vhost), c(part));
    let (ok, why) = match state {
        Ok(()) => (1, c("")),
        Err(why) => (0, c(why)),
    };
    #[allow(unsafe_code)]
    // SAFETY: all three strings are NUL-terminated and live for the call.
    unsafe {
        sys::comlink_health_set(v.as_ptr(), p.as_ptr(), ok, why.as_ptr());
    }
}

/// Logs a line through the server's log (lws `LLL_*` level bits).
pub fn log(level: c_int, line: &str) {
    let line = CString::new(line.replace('\0', "")).unwrap_or_default();
    #[allow(unsafe_code)]
    // SAFETY: `line` is NUL-terminated.
    unsafe {
        sys::comlink_log_line(level, line.as_ptr());
    }
}

/// A protocol written in Rust. Every method but `NAME` has a default, so a
/// protocol implements only the events it cares about.
pub trait Protocol: 'static {
    /// Per-vhost state (lws's "vhd"). `Send`, because with `count-threads` >
    /// 1 it is used from every service thread (one callback at a time).
    type Vhost: Send + 'static;
    /// Per-connection state (lws's "pss").
    type Session: 'static;
    /// The protocol name (ws subprotocol, `ws-protocols` key).
    const NAME: &'static CStr;
    /// Largest piece of received data handed to [`Protocol::receive`].
    const RX_BUFFER_SIZE: usize = 4096;

    /// PROTOCOL_INIT on one vhost; `None` refuses the protocol there.
    fn init(vhost: Vhost, options: &Options) -> Option<Self::Vhost>;

    /// PROTOCOL_DESTROY.
    fn destroy(_vhd: Self::Vhost) {}

    /// A connection is established; `None` closes it.
    fn open(vhd: &mut Self::Vhost, conn: Connection) -> Option<Self::Session>;

    /// Received data (a piece of at most `RX_BUFFER_SIZE` bytes; see
    /// [`Connection::is_final_fragment`]).
    fn receive(
        _vhd: &mut Self::Vhost,
        _s: &mut Self::Session,
        _conn: Connection,
        _data: &[u8],
    ) -> Action {
        Action::Continue
    }

    /// The connection can take one write.
    fn writeable(_vhd: &mut Self::Vhost, _s: &mut Self::Session, _conn: Connection) -> Action {
        Action::Continue
    }

    /// [`Connection::set_timer`] expired.
    fn timer(_vhd: &mut Self::Vhost, _s: &mut Self::Session, _conn: Connection) -> Action {
        Action::Continue
    }

    /// A pong arrived.
    fn pong(
        _vhd: &mut Self::Vhost,
        _s: &mut Self::Session,
        _conn: Connection,
        _data: &[u8],
    ) -> Action {
        Action::Continue
    }

    /// The connection is gone.
    fn closed(_vhd: &mut Self::Vhost, _s: Self::Session, _conn: Connection) {}

    /// Before the handshake is answered: false refuses the connection,
    /// with 403, or with the HTTP answer written here first
    /// ([`Connection::write_http_head`], [`Connection::send_pipe_choked`],
    /// then [`Connection::write_http`] with `last`): a 401 with
    /// `WWW-Authenticate`, say.
    fn accept(_vhd: &mut Self::Vhost, _conn: Connection) -> bool {
        true
    }

    /// Whether an offered extension (`permessage-deflate`) may be used.
    fn accept_extension(_name: &str) -> bool {
        true
    }

    /// HTTP: a request reached this protocol through a `callback://` mount;
    /// `path` is the part after the mountpoint. `None` answers 404.
    fn open_http(_vhd: &mut Self::Vhost, _conn: Connection, _path: &str) -> Option<Self::Session> {
        None
    }

    /// HTTP: a piece of the request body.
    fn http_body(
        _vhd: &mut Self::Vhost,
        _s: &mut Self::Session,
        _conn: Connection,
        _data: &[u8],
    ) -> Action {
        Action::Continue
    }

    /// HTTP: the request body is complete (also called, after an empty
    /// piece, for `Content-Length: 0`).
    fn http_body_complete(
        _vhd: &mut Self::Vhost,
        _s: &mut Self::Session,
        _conn: Connection,
    ) -> Action {
        Action::Continue
    }

    /// HTTP: the connection can take one write.
    fn http_writeable(_vhd: &mut Self::Vhost, _s: &mut Self::Session, _conn: Connection) -> Action {
        Action::Continue
    }

    /// A vhost-level event: [`Vhost::schedule`]d reasons,
    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`, user reasons.
    fn vhost_event(_vhd: &mut Self::Vhost, _vhost: Vhost, _reason: c_int) {}
}
