//! The lws functions plugins call, exported by name from the `lwsws`
//! executable (it is linked with `-rdynamic`), so a plugin built against
//! `plugin-api/include/libwebsockets.h` resolves them when it is loaded.
//!
//! Every entry point checks its pointers before use: a `struct lws *` must
//! be live on the calling service thread, a `struct lws_vhost *` must belong
//! to a live site, a ring must be one we made. A bad pointer is logged and
//! the call fails the way lws fails it (-1, NULL or nothing). A panic inside
//! an entry point is caught and turned into the same failure, never unwound
//! into C.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};

use comlink_plugin_api::abi::{
    token_header, Lws, LwsContext, LwsProtocolVhostOptions, LwsProtocols, LwsSortedUsecList,
    LwsVhost, SulCb, TokenKind, LLL_DEBUG, LLL_ERR, LLL_INFO, LLL_NOTICE, LLL_USER, LLL_WARN,
    LWS_WRITE_BINARY, LWS_WRITE_CONTINUATION, LWS_WRITE_NO_FIN, LWS_WRITE_PING, LWS_WRITE_PONG,
    LWS_WRITE_TEXT, NO_PENDING_TIMEOUT,
};

use crate::host::context::CONTEXT;
use crate::host::ffi::call;
use crate::host::ring::Ring;
use crate::host::thread::{self, Command};
use crate::host::vhost::{self, VhostHandle, VhostProtocol};
use crate::host::wsi::{Role, Wsi};
use crate::host::{dispatch, timers};
use crate::ws::frame::OpCode;

/// Runs `body`, turning a panic into `default` (never unwinding into C).
pub(crate) fn guard<R>(name: &str, default: R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(_) => {
            tracing::error!("{name}: internal error (panic caught at the plugin boundary)");
            default
        }
    }
}

/// The live wsi behind `p`, or None (logged) for a pointer that is not one.
pub(crate) fn wsi<'a>(name: &str, p: *const Lws) -> Option<&'a Wsi> {
    let addr = p as usize;
    if p.is_null() || !thread::is_live(addr) {
        tracing::error!("{name}: {p:?} is not a live connection of this service thread");
        return None;
    }
    // SAFETY: `addr` is in this thread's live set, so it is a boxed `Wsi`
    // that its owner keeps alive (and registered) for as long as it can be
    // reached; we only hand out a shared reference.
    Some(unsafe { &*(addr as *const Wsi) })
}

/// The live vhost behind `p`.
fn vh<'a>(name: &str, p: *const LwsVhost) -> Option<&'a VhostHandle> {
    if p.is_null() || !vhost::is_live(p as usize) {
        tracing::error!("{name}: {p:?} is not a vhost");
        return None;
    }
    // SAFETY: registered handles live inside a `Site` that unregisters them
    // before it is dropped; sites are only dropped once no connection or
    // callback holds them, so the handle outlives this call.
    Some(unsafe { &*(p as *const VhostHandle) })
}

/// The protocol `prot` names on `vh` (by table address, else by name).
fn vproto(vh: &VhostHandle, prot: *const LwsProtocols) -> Option<&VhostProtocol> {
    if prot.is_null() {
        return None;
    }
    if let Some(i) = vh.find_raw(prot) {
        return vh.protocols.get(i);
    }
    // SAFETY: `prot` is a plugin's `struct lws_protocols`; its first member
    // is the name, a NUL-terminated string (checked non-null).
    let name = unsafe { (*prot).name };
    if name.is_null() {
        return None;
    }
    let name = cstr_lossy(name);
    vh.protocols.iter().find(|p| p.def.name == name)
}

/// A C string as Rust text (lossy); "" for null.
pub fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: callers pass NUL-terminated strings (plugin names, pvo names
    // and values, arguments of lws calls documented as C strings).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Copies `s` into `buf` (`len` bytes) NUL-terminated; false if it does not fit.
fn copy_out(s: &[u8], buf: *mut c_char, len: usize) -> bool {
    if buf.is_null() || len == 0 || s.len() + 1 > len {
        return false;
    }
    // SAFETY: the caller gave `buf` as writable for `len` bytes, and we
    // write `s.len() + 1 <= len` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, s.len());
        *buf.add(s.len()) = 0;
    }
    true
}

// ---------------------------------------------------------------------------
// Context, vhost, protocol

/// `lws_get_context`.
#[no_mangle]
pub extern "C" fn lws_get_context(_wsi: *const Lws) -> *mut LwsContext {
    crate::host::context::context_ptr()
}

/// `lws_get_vhost`.
#[no_mangle]
pub extern "C" fn lws_get_vhost(p: *mut Lws) -> *mut LwsVhost {
    guard("lws_get_vhost", std::ptr::null_mut(), || {
        wsi("lws_get_vhost", p).map_or(std::ptr::null_mut(), |w| {
            w.vhost_handle() as *const VhostHandle as *mut LwsVhost
        })
    })
}

/// `lws_get_vhost_name`.
#[no_mangle]
pub extern "C" fn lws_get_vhost_name(v: *mut LwsVhost) -> *const c_char {
    guard("lws_get_vhost_name", std::ptr::null(), || {
        vh("lws_get_vhost_name", v).map_or(std::ptr::null(), |h| h.name.as_ptr())
    })
}

/// `lws_get_vhost_listen_port`.
#[no_mangle]
pub extern "C" fn lws_get_vhost_listen_port(v: *mut LwsVhost) -> c_int {
    guard("lws_get_vhost_listen_port", -1, || {
        vh("lws_get_vhost_listen_port", v).map_or(-1, |h| c_int::from(h.port))
    })
}

/// `lws_get_protocol`.
#[no_mangle]
pub extern "C" fn lws_get_protocol(p: *mut Lws) -> *const LwsProtocols {
    guard("lws_get_protocol", std::ptr::null(), || {
        wsi("lws_get_protocol", p)
            .and_then(|w| w.proto())
            .map_or(std::ptr::null(), |vp| vp.def.raw)
    })
}

/// `lws_protocol_get` (same as `lws_get_protocol`).
#[no_mangle]
pub extern "C" fn lws_protocol_get(p: *mut Lws) -> *const LwsProtocols {
    lws_get_protocol(p)
}

/// `lws_vhost_name_to_protocol`.
#[no_mangle]
pub extern "C" fn lws_vhost_name_to_protocol(
    v: *mut LwsVhost,
    name: *const c_char,
) -> *const LwsProtocols {
    guard("lws_vhost_name_to_protocol", std::ptr::null(), || {
        let Some(h) = vh("lws_vhost_name_to_protocol", v) else {
            return std::ptr::null();
        };
        let name = cstr_lossy(name);
        h.protocols
            .iter()
            .find(|p| p.def.name == name)
            .map_or(std::ptr::null(), |p| p.def.raw)
    })
}

/// `lws_protocol_vh_priv_zalloc`: zeroed per-vhost memory for the protocol
/// (the same block again if it was already allocated).
#[no_mangle]
pub extern "C" fn lws_protocol_vh_priv_zalloc(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    size: c_int,
) -> *mut c_void {
    guard("lws_protocol_vh_priv_zalloc", std::ptr::null_mut(), || {
        let Some(vp) = vh("lws_protocol_vh_priv_zalloc", v).and_then(|h| vproto(h, prot)) else {
            return std::ptr::null_mut();
        };
        let existing = vp.vh_priv.load(Ordering::Acquire);
        if !existing.is_null() {
            return existing;
        }
        let size = usize::try_from(size).unwrap_or(0).max(1);
        let p = call::zalloc(size);
        vp.vh_priv_size.store(size, Ordering::Release);
        vp.vh_priv.store(p, Ordering::Release);
        p
    })
}

/// `lws_protocol_vh_priv_get`.
#[no_mangle]
pub extern "C" fn lws_protocol_vh_priv_get(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
) -> *mut c_void {
    guard("lws_protocol_vh_priv_get", std::ptr::null_mut(), || {
        if v.is_null() {
            return std::ptr::null_mut();
        }
        vh("lws_protocol_vh_priv_get", v)
            .and_then(|h| vproto(h, prot))
            .map_or(std::ptr::null_mut(), |vp| {
                vp.vh_priv.load(Ordering::Acquire)
            })
    })
}

/// `lws_pvo_search`: the option called `name` in the list starting at `pvo`.
#[no_mangle]
pub extern "C" fn lws_pvo_search(
    pvo: *const LwsProtocolVhostOptions,
    name: *const c_char,
) -> *const LwsProtocolVhostOptions {
    guard("lws_pvo_search", std::ptr::null(), || {
        let want = cstr_lossy(name);
        let mut p = pvo;
        while !p.is_null() {
            // SAFETY: pvo lists are ours (`PvoList`, alive while the site is)
            // or plugin-built lists with the same layout; `next` ends in null.
            let node = unsafe { &*p };
            if cstr_lossy(node.name) == want {
                return p;
            }
            p = node.next;
        }
        std::ptr::null()
    })
}

/// `lws_pvo_get_str`: 0 and `*result` set when found.
#[no_mangle]
pub extern "C" fn lws_pvo_get_str(
    input: *mut c_void,
    name: *const c_char,
    result: *mut *const c_char,
) -> c_int {
    guard("lws_pvo_get_str", 1, || {
        let p = lws_pvo_search(input as *const LwsProtocolVhostOptions, name);
        if p.is_null() || result.is_null() {
            return 1;
        }
        // SAFETY: `p` is a node found above; `result` is a non-null out pointer.
        unsafe { *result = (*p).value };
        0
    })
}

/// `lws_get_count_threads`.
#[no_mangle]
pub extern "C" fn lws_get_count_threads(_cx: *mut LwsContext) -> c_int {
    c_int::try_from(CONTEXT.count_threads()).unwrap_or(1)
}

/// `lws_get_tsi`.
#[no_mangle]
pub extern "C" fn lws_get_tsi(p: *mut Lws) -> c_int {
    guard("lws_get_tsi", 0, || {
        wsi("lws_get_tsi", p).map_or(0, |w| c_int::try_from(w.tsi).unwrap_or(0))
    })
}

/// `lws_wsi_user`: the per-session data.
#[no_mangle]
pub extern "C" fn lws_wsi_user(p: *mut Lws) -> *mut c_void {
    guard("lws_wsi_user", std::ptr::null_mut(), || {
        wsi("lws_wsi_user", p).map_or(std::ptr::null_mut(), |w| w.pss.get())
    })
}

/// `lws_get_opaque_user_data`.
#[no_mangle]
pub extern "C" fn lws_get_opaque_user_data(p: *const Lws) -> *mut c_void {
    guard("lws_get_opaque_user_data", std::ptr::null_mut(), || {
        wsi("lws_get_opaque_user_data", p).map_or(std::ptr::null_mut(), |w| w.opaque.get())
    })
}

/// `lws_set_opaque_user_data`.
#[no_mangle]
pub extern "C" fn lws_set_opaque_user_data(p: *mut Lws, data: *mut c_void) {
    guard("lws_set_opaque_user_data", (), || {
        if let Some(w) = wsi("lws_set_opaque_user_data", p) {
            w.opaque.set(data);
        }
    })
}

/// `lws_is_ssl`: 1 when the connection came over TLS.
#[no_mangle]
pub extern "C" fn lws_is_ssl(p: *mut Lws) -> c_int {
    guard("lws_is_ssl", 0, || {
        wsi("lws_is_ssl", p)
            .and_then(|w| w.request.as_ref())
            .map_or(0, |r| c_int::from(r.secure))
    })
}

/// `lws_wsi_tag`.
#[no_mangle]
pub extern "C" fn lws_wsi_tag(p: *mut Lws) -> *const c_char {
    guard("lws_wsi_tag", c"?".as_ptr(), || {
        wsi("lws_wsi_tag", p).map_or(c"?".as_ptr(), |w| w.tag.as_ptr())
    })
}

/// `lws_get_peer_simple`: the peer's address as text, into `name`.
#[no_mangle]
pub extern "C" fn lws_get_peer_simple(
    p: *mut Lws,
    name: *mut c_char,
    namelen: usize,
) -> *const c_char {
    guard("lws_get_peer_simple", std::ptr::null(), || {
        let Some(w) = wsi("lws_get_peer_simple", p) else {
            return std::ptr::null();
        };
        let text = w.peer.map_or_else(
            || "unknown".to_string(),
            |a| a.ip().to_canonical().to_string(),
        );
        if copy_out(text.as_bytes(), name, namelen) {
            name
        } else {
            std::ptr::null()
        }
    })
}

/// `lws_get_library_version`.
#[no_mangle]
pub extern "C" fn lws_get_library_version() -> *const c_char {
    static V: OnceLock<CString> = OnceLock::new();
    V.get_or_init(|| {
        CString::new(format!("4.3.99-comlink-{}", env!("CARGO_PKG_VERSION"))).unwrap_or_default()
    })
    .as_ptr()
}

/// `lws_canonical_hostname`.
#[no_mangle]
pub extern "C" fn lws_canonical_hostname(_cx: *mut LwsContext) -> *const c_char {
    static H: OnceLock<CString> = OnceLock::new();
    H.get_or_init(|| {
        let name = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        CString::new(name).unwrap_or_default()
    })
    .as_ptr()
}

/// `lws_cmdline_option_cx`: lwsws has no plugin command-line options.
#[no_mangle]
pub extern "C" fn lws_cmdline_option_cx(
    _cx: *const LwsContext,
    _val: *const c_char,
) -> *const c_char {
    std::ptr::null()
}

/// `lws_cancel_service`: the one lws call any thread may make; every
/// service thread then sends EVENT_WAIT_CANCELLED to every protocol.
#[no_mangle]
pub extern "C" fn lws_cancel_service(_cx: *mut LwsContext) {
    guard("lws_cancel_service", (), || CONTEXT.cancel_service())
}

/// `lws_callback_http_dummy`: the default handler; nothing to do here.
#[no_mangle]
pub extern "C" fn lws_callback_http_dummy(
    _wsi: *mut Lws,
    _reason: c_int,
    _user: *mut c_void,
    _in: *mut c_void,
    _len: usize,
) -> c_int {
    0
}

/// `lws_json_purify`: JSON-escapes `string` into `escaped` (`len` bytes).
#[no_mangle]
pub extern "C" fn lws_json_purify(
    escaped: *mut c_char,
    string: *const c_char,
    len: c_int,
    in_used: *mut c_int,
) -> *const c_char {
    guard("lws_json_purify", std::ptr::null(), || {
        let cap = usize::try_from(len).unwrap_or(0);
        if escaped.is_null() || cap == 0 {
            return std::ptr::null();
        }
        let src = if string.is_null() {
            Vec::new()
        } else {
            // SAFETY: `string` is a NUL-terminated C string (lws contract).
            unsafe { CStr::from_ptr(string) }.to_bytes().to_vec()
        };
        let mut out = Vec::with_capacity(cap);
        let mut used = 0;
        for &b in &src {
            let piece: Vec<u8> = match b {
                b'"' => b"\\\"".to_vec(),
                b'\\' => b"\\\\".to_vec(),
                b'\n' => b"\\n".to_vec(),
                b'\r' => b"\\r".to_vec(),
                b'\t' => b"\\t".to_vec(),
                b if b < 0x20 => format!("\\u{b:04x}").into_bytes(),
                b => vec![b],
            };
            if out.len() + piece.len() + 1 > cap {
                break;
            }
            out.extend_from_slice(&piece);
            used += 1;
        }
        copy_out(&out, escaped, cap);
        if !in_used.is_null() {
            // SAFETY: a non-null out pointer from the caller.
            unsafe { *in_used = c_int::try_from(used).unwrap_or(c_int::MAX) };
        }
        escaped
    })
}

/// `lws_json_dump_context`: the server's state as JSON (lws's shape) into
/// `buf`; its length, truncated to fit (`len` bytes with the NUL).
#[no_mangle]
pub extern "C" fn lws_json_dump_context(
    _cx: *const LwsContext,
    buf: *mut c_char,
    len: c_int,
    hide_vhosts: c_int,
) -> c_int {
    guard("lws_json_dump_context", 0, || {
        let Some(site) = CONTEXT.site() else {
            return 0;
        };
        let text =
            crate::ops::stats::context_json(&site, CONTEXT.count_threads(), hide_vhosts != 0)
                .to_string();
        let cap = usize::try_from(len).unwrap_or(0);
        if cap == 0 {
            return 0;
        }
        let n = text.len().min(cap - 1);
        copy_out(&text.as_bytes()[..n], buf, cap);
        c_int::try_from(n).unwrap_or(0)
    })
}

/// `comlink_metric_set`: a plugin's figure for the metrics endpoint
/// (Comlink's own call; `kind` "counter" or "gauge"). 0, or -1 if refused.
#[no_mangle]
pub extern "C" fn comlink_metric_set(
    name: *const c_char,
    help: *const c_char,
    kind: *const c_char,
    labels: *const c_char,
    value: f64,
) -> c_int {
    guard("comlink_metric_set", -1, || {
        let ok = crate::ops::metrics::set_plugin_value(
            &cstr_lossy(name),
            &cstr_lossy(help),
            &cstr_lossy(kind),
            &cstr_lossy(labels),
            value,
        );
        if ok {
            0
        } else {
            -1
        }
    })
}

// ---------------------------------------------------------------------------
// Logging

fn level_of(filter: c_int) -> tracing::Level {
    let f = filter as u32;
    if f & LLL_ERR as u32 != 0 {
        tracing::Level::ERROR
    } else if f & LLL_WARN as u32 != 0 {
        tracing::Level::WARN
    } else if f & (LLL_NOTICE as u32 | LLL_USER as u32) != 0 {
        tracing::Level::INFO
    } else if f & (LLL_INFO as u32 | LLL_DEBUG as u32) != 0 {
        tracing::Level::DEBUG
    } else {
        tracing::Level::TRACE
    }
}

/// `lwsl_visible`: whether a log line of `level` would be printed.
#[no_mangle]
pub extern "C" fn lwsl_visible(level: c_int) -> c_int {
    let on = match level_of(level) {
        tracing::Level::ERROR => tracing::enabled!(tracing::Level::ERROR),
        tracing::Level::WARN => tracing::enabled!(tracing::Level::WARN),
        tracing::Level::INFO => tracing::enabled!(tracing::Level::INFO),
        tracing::Level::DEBUG => tracing::enabled!(tracing::Level::DEBUG),
        tracing::Level::TRACE => tracing::enabled!(tracing::Level::TRACE),
    };
    c_int::from(on)
}

/// The non-variadic end of the header's `_lws_log` (which formats the line).
#[no_mangle]
pub extern "C" fn comlink_log_line(level: c_int, line: *const c_char) {
    guard("comlink_log_line", (), || {
        let text = cstr_lossy(line);
        let text = text.trim_end();
        match level_of(level) {
            tracing::Level::ERROR => tracing::error!(target: "plugin", "{text}"),
            tracing::Level::WARN => tracing::warn!(target: "plugin", "{text}"),
            tracing::Level::INFO => tracing::info!(target: "plugin", "{text}"),
            tracing::Level::DEBUG => tracing::debug!(target: "plugin", "{text}"),
            tracing::Level::TRACE => tracing::trace!(target: "plugin", "{text}"),
        }
    })
}

// ---------------------------------------------------------------------------
// Writing and flow control

/// `lws_write`: one frame for a WebSocket. Refused (-1) outside a
/// connection, for HTTP write types, and for a second write before the
/// loop (or `lws_send_pipe_choked`) saw the first one out.
#[no_mangle]
pub extern "C" fn lws_write(p: *mut Lws, buf: *mut u8, len: usize, protocol: c_int) -> c_int {
    guard("lws_write", -1, || {
        let Some(w) = wsi("lws_write", p) else {
            return -1;
        };
        if w.role == Role::Vhost {
            tracing::error!(
                "lws_write: {:?} is not a connection that can be written",
                w.tag
            );
            return -1;
        }
        if w.could_have_pending.get() {
            tracing::error!(
                "Illegal back-to-back write of {len} detected on {:?} (one lws_write per WRITEABLE callback, or check lws_send_pipe_choked)",
                w.tag
            );
            return -1;
        }
        if buf.is_null() && len > 0 {
            return -1;
        }
        let data: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the plugin passes `len` readable bytes at `buf`.
            unsafe { std::slice::from_raw_parts(buf, len) }
        };
        if w.role == Role::Http {
            return super::http::write(w, data, protocol);
        }
        let base = protocol & 0x1f;
        let fin = protocol & LWS_WRITE_NO_FIN == 0;
        let mut tx = w.tx.borrow_mut();
        let mut enc = w.encoder.borrow_mut();
        let Some(enc) = enc.as_mut() else {
            return -1;
        };
        let res = match base {
            LWS_WRITE_TEXT => enc.data(&mut tx, OpCode::Text, fin, data),
            LWS_WRITE_BINARY => enc.data(&mut tx, OpCode::Binary, fin, data),
            LWS_WRITE_CONTINUATION => enc.data(&mut tx, OpCode::Continuation, fin, data),
            LWS_WRITE_PING => enc.control(&mut tx, OpCode::Ping, data),
            LWS_WRITE_PONG => enc.control(&mut tx, OpCode::Pong, data),
            other => {
                tracing::error!("lws_write: write type {other} is not valid on a WebSocket");
                return -1;
            }
        };
        if let Err(e) = res {
            tracing::error!("lws_write on {:?}: {e}", w.tag);
            return -1;
        }
        drop(tx);
        w.could_have_pending.set(true);
        if let Some(stream) = w.stream.get() {
            if crate::ws::session::flush(w, stream).is_err() {
                w.close_requested.set(true);
            }
        }
        w.wake.notify_one();
        c_int::try_from(len).unwrap_or(c_int::MAX)
    })
}

/// `lws_send_pipe_choked`: 1 while earlier output is still waiting for the
/// socket; 0 clears the "could have pending" state, allowing another write.
#[no_mangle]
pub extern "C" fn lws_send_pipe_choked(p: *mut Lws) -> c_int {
    guard("lws_send_pipe_choked", 1, || {
        let Some(w) = wsi("lws_send_pipe_choked", p) else {
            return 1;
        };
        if let Some(stream) = w.stream.get() {
            let _ = crate::ws::session::flush(w, stream);
        }
        if w.tx.borrow().is_empty() {
            w.could_have_pending.set(false);
            0
        } else {
            1
        }
    })
}

/// `lws_partial_buffered`: 1 while output is waiting for the socket.
#[no_mangle]
pub extern "C" fn lws_partial_buffered(p: *mut Lws) -> c_int {
    guard("lws_partial_buffered", 0, || {
        wsi("lws_partial_buffered", p).map_or(0, |w| c_int::from(!w.tx.borrow().is_empty()))
    })
}

/// `lws_callback_on_writable`.
#[no_mangle]
pub extern "C" fn lws_callback_on_writable(p: *mut Lws) -> c_int {
    guard("lws_callback_on_writable", -1, || {
        let Some(w) = wsi("lws_callback_on_writable", p) else {
            return -1;
        };
        if w.role == Role::Vhost {
            return 0;
        }
        w.request_writable();
        1
    })
}

/// Applies `cmd` here (when this is a service thread) and on every other
/// service thread.
fn everywhere(cmd: Command) {
    let here = thread::current_tsi();
    if here.is_some() {
        match &cmd {
            Command::WritableAll { proto, vhost } => dispatch::writable_all_local(*proto, *vhost),
            Command::CallbackAll {
                proto,
                vhost,
                reason,
                arg,
                len,
            } => dispatch::callback_all_local(*proto, *vhost, *reason, *arg, *len),
            _ => {}
        }
    }
    CONTEXT.post_all(here, &cmd);
}

/// `lws_callback_on_writable_all_protocol`.
#[no_mangle]
pub extern "C" fn lws_callback_on_writable_all_protocol(
    _cx: *const LwsContext,
    prot: *const LwsProtocols,
) -> c_int {
    guard("lws_callback_on_writable_all_protocol", -1, || {
        everywhere(Command::WritableAll {
            proto: prot as usize,
            vhost: None,
        });
        0
    })
}

/// `lws_callback_on_writable_all_protocol_vhost`.
#[no_mangle]
pub extern "C" fn lws_callback_on_writable_all_protocol_vhost(
    v: *const LwsVhost,
    prot: *const LwsProtocols,
) -> c_int {
    guard("lws_callback_on_writable_all_protocol_vhost", -1, || {
        if vh("lws_callback_on_writable_all_protocol_vhost", v).is_none() {
            return -1;
        }
        everywhere(Command::WritableAll {
            proto: prot as usize,
            vhost: Some(v as usize),
        });
        0
    })
}

/// `lws_callback_all_protocol`.
#[no_mangle]
pub extern "C" fn lws_callback_all_protocol(
    _cx: *mut LwsContext,
    prot: *const LwsProtocols,
    reason: c_int,
) -> c_int {
    guard("lws_callback_all_protocol", -1, || {
        everywhere(Command::CallbackAll {
            proto: prot as usize,
            vhost: None,
            reason,
            arg: 0,
            len: 0,
        });
        0
    })
}

/// `lws_callback_all_protocol_vhost_args`.
#[no_mangle]
pub extern "C" fn lws_callback_all_protocol_vhost_args(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    argp: *mut c_void,
    len: usize,
) -> c_int {
    guard("lws_callback_all_protocol_vhost_args", -1, || {
        if vh("lws_callback_all_protocol_vhost_args", v).is_none() {
            return -1;
        }
        everywhere(Command::CallbackAll {
            proto: prot as usize,
            vhost: Some(v as usize),
            reason,
            arg: argp as usize,
            len,
        });
        0
    })
}

/// `lws_callback_all_protocol_vhost`.
#[no_mangle]
pub extern "C" fn lws_callback_all_protocol_vhost(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
) -> c_int {
    lws_callback_all_protocol_vhost_args(v, prot, reason, std::ptr::null_mut(), 0)
}

/// `lws_rx_flow_control`: bit 0 of `enable` set = receive, clear = pause.
#[no_mangle]
pub extern "C" fn lws_rx_flow_control(p: *mut Lws, enable: c_int) -> c_int {
    guard("lws_rx_flow_control", -1, || {
        let Some(w) = wsi("lws_rx_flow_control", p) else {
            return -1;
        };
        w.rx_paused.set(enable & 1 == 0);
        w.wake.notify_one();
        0
    })
}

/// `lws_rx_flow_allow_all_protocol`: resume receiving on every connection
/// of the protocol (this thread's).
#[no_mangle]
pub extern "C" fn lws_rx_flow_allow_all_protocol(
    _cx: *const LwsContext,
    prot: *const LwsProtocols,
) {
    guard("lws_rx_flow_allow_all_protocol", (), || {
        for addr in thread::live() {
            call::with_live(addr, |w| {
                if w.role == Role::WebSocket
                    && w.proto().is_some_and(|vp| std::ptr::eq(vp.def.raw, prot))
                {
                    w.rx_paused.set(false);
                    w.wake.notify_one();
                }
            });
        }
    })
}

/// `lws_is_first_fragment`.
#[no_mangle]
pub extern "C" fn lws_is_first_fragment(p: *mut Lws) -> c_int {
    guard("lws_is_first_fragment", 0, || {
        wsi("lws_is_first_fragment", p).map_or(0, |w| c_int::from(w.rx.get().first))
    })
}

/// `lws_is_final_fragment`.
#[no_mangle]
pub extern "C" fn lws_is_final_fragment(p: *mut Lws) -> c_int {
    guard("lws_is_final_fragment", 0, || {
        wsi("lws_is_final_fragment", p).map_or(0, |w| c_int::from(w.rx.get().last))
    })
}

/// `lws_frame_is_binary`.
#[no_mangle]
pub extern "C" fn lws_frame_is_binary(p: *mut Lws) -> c_int {
    guard("lws_frame_is_binary", 0, || {
        wsi("lws_frame_is_binary", p).map_or(0, |w| c_int::from(w.rx.get().binary))
    })
}

/// `lws_remaining_packet_payload`.
#[no_mangle]
pub extern "C" fn lws_remaining_packet_payload(p: *mut Lws) -> usize {
    guard("lws_remaining_packet_payload", 0, || {
        wsi("lws_remaining_packet_payload", p).map_or(0, |w| w.rx.get().remaining as usize)
    })
}

/// `lws_close_reason`: the code and payload of the close frame sent when
/// the callback next returns non-zero.
#[no_mangle]
pub extern "C" fn lws_close_reason(p: *mut Lws, status: c_int, buf: *mut u8, len: usize) {
    guard("lws_close_reason", (), || {
        let Some(w) = wsi("lws_close_reason", p) else {
            return;
        };
        let text = if buf.is_null() || len == 0 {
            Vec::new()
        } else {
            // SAFETY: the plugin passes `len` readable bytes at `buf`.
            unsafe { std::slice::from_raw_parts(buf, len.min(123)) }.to_vec()
        };
        *w.close_reason.borrow_mut() = Some((u16::try_from(status).unwrap_or(1000), text));
    })
}

// ---------------------------------------------------------------------------
// Request headers and url arguments

fn header_value(w: &Wsi, token: c_int) -> Option<Vec<u8>> {
    let req = w.request.as_ref()?;
    match token_header(token)? {
        TokenKind::Header(name) => {
            let headers = req.headers.borrow();
            let vals: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
            (!vals.is_empty()).then(|| vals.join(&b","[..]))
        }
        TokenKind::MethodUri(method) => {
            (method == req.method).then(|| req.path.clone().into_bytes())
        }
        TokenKind::UriArgs => req.query.clone().map(String::into_bytes),
        TokenKind::Pseudo(_) => None,
    }
}

/// `lws_hdr_total_length`: length of the header (0 when absent).
#[no_mangle]
pub extern "C" fn lws_hdr_total_length(p: *mut Lws, token: c_int) -> c_int {
    guard("lws_hdr_total_length", 0, || {
        wsi("lws_hdr_total_length", p)
            .and_then(|w| header_value(w, token))
            .map_or(0, |v| c_int::try_from(v.len()).unwrap_or(c_int::MAX))
    })
}

/// `lws_hdr_copy`: copies the header NUL-terminated; its length, or -1
/// when it does not fit (0 when absent).
#[no_mangle]
pub extern "C" fn lws_hdr_copy(p: *mut Lws, dest: *mut c_char, len: c_int, token: c_int) -> c_int {
    guard("lws_hdr_copy", -1, || {
        let Some(w) = wsi("lws_hdr_copy", p) else {
            return -1;
        };
        let cap = usize::try_from(len).unwrap_or(0);
        let v = header_value(w, token).unwrap_or_default();
        if !copy_out(&v, dest, cap) {
            return -1;
        }
        c_int::try_from(v.len()).unwrap_or(-1)
    })
}

/// The value of url argument `name` (`name` may end with '=').
fn urlarg(w: &Wsi, name: &str) -> Option<String> {
    let q = w.request.as_ref()?.query.as_deref()?;
    let key = name.strip_suffix('=').unwrap_or(name);
    for part in q.split('&') {
        let decoded = percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        let (k, v) = decoded.split_once('=').unwrap_or((decoded.as_str(), ""));
        if k == key {
            return Some(v.to_string());
        }
    }
    None
}

/// `lws_get_urlarg_by_name_safe`: length of the value copied, or -1.
#[no_mangle]
pub extern "C" fn lws_get_urlarg_by_name_safe(
    p: *mut Lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> c_int {
    guard("lws_get_urlarg_by_name_safe", -1, || {
        let Some(w) = wsi("lws_get_urlarg_by_name_safe", p) else {
            return -1;
        };
        match urlarg(w, &cstr_lossy(name)) {
            Some(v) if copy_out(v.as_bytes(), buf, usize::try_from(len).unwrap_or(0)) => {
                c_int::try_from(v.len()).unwrap_or(-1)
            }
            _ => -1,
        }
    })
}

/// `lws_get_urlarg_by_name`: `buf` holding the value, or NULL.
#[no_mangle]
pub extern "C" fn lws_get_urlarg_by_name(
    p: *mut Lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> *const c_char {
    if lws_get_urlarg_by_name_safe(p, name, buf, len) < 0 {
        std::ptr::null()
    } else {
        buf
    }
}

// ---------------------------------------------------------------------------
// Timeouts and timers

/// `lws_set_timeout`: close the connection after `secs` (0 or
/// `NO_PENDING_TIMEOUT` cancels; a negative value closes at once).
#[no_mangle]
pub extern "C" fn lws_set_timeout(p: *mut Lws, reason: c_int, secs: c_int) {
    lws_set_timeout_us(p, reason, i64::from(secs).saturating_mul(1_000_000));
}

/// `lws_set_timeout_us`.
#[no_mangle]
pub extern "C" fn lws_set_timeout_us(p: *mut Lws, reason: c_int, us: i64) {
    guard("lws_set_timeout", (), || {
        let Some(w) = wsi("lws_set_timeout", p) else {
            return;
        };
        if reason == NO_PENDING_TIMEOUT || us == 0 {
            w.timeout.set(None);
        } else if us < 0 {
            w.close_requested.set(true);
        } else {
            w.timeout.set(Some(
                tokio::time::Instant::now() + std::time::Duration::from_micros(us as u64),
            ));
        }
        w.wake.notify_one();
    })
}

/// `lws_set_timer_usecs`: one LWS_CALLBACK_TIMER after `usecs` (negative cancels).
#[no_mangle]
pub extern "C" fn lws_set_timer_usecs(p: *mut Lws, usecs: i64) {
    guard("lws_set_timer_usecs", (), || {
        let Some(w) = wsi("lws_set_timer_usecs", p) else {
            return;
        };
        w.timer.set(
            (usecs >= 0).then(|| {
                tokio::time::Instant::now() + std::time::Duration::from_micros(usecs as u64)
            }),
        );
        w.wake.notify_one();
    })
}

/// `lws_timed_callback_vh_protocol_us`: calls the protocol on the vhost with
/// `reason` (through a stand-in wsi) after `us` microseconds.
#[no_mangle]
pub extern "C" fn lws_timed_callback_vh_protocol_us(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    us: i64,
) -> c_int {
    guard("lws_timed_callback_vh_protocol", -1, || {
        let Some(h) = vh("lws_timed_callback_vh_protocol", v) else {
            return -1;
        };
        let Some(pi) =
            vproto(h, prot).and_then(|vp| h.protocols.iter().position(|x| std::ptr::eq(x, vp)))
        else {
            return -1;
        };
        if thread::current_tsi().is_none() {
            tracing::error!("lws_timed_callback_vh_protocol: call it from a callback");
            return -1;
        }
        let Some(site) = vhost::site_of(v as usize) else {
            return -1;
        };
        let vi = h.index;
        let at = tokio::time::Instant::now() + std::time::Duration::from_micros(us.max(0) as u64);
        tokio::task::spawn_local(async move {
            tokio::time::sleep_until(at).await;
            if site.vhosts[vi].handle.protocols[pi]
                .initialized
                .load(Ordering::Acquire)
            {
                dispatch::vhost_callback(&site, vi, pi, reason, std::ptr::null_mut(), 0);
            }
        });
        0
    })
}

/// `lws_timed_callback_vh_protocol`.
#[no_mangle]
pub extern "C" fn lws_timed_callback_vh_protocol(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    secs: c_int,
) -> c_int {
    lws_timed_callback_vh_protocol_us(v, prot, reason, i64::from(secs).saturating_mul(1_000_000))
}

/// `lws_sul_schedule`: `cb(sul)` on service thread `tsi` after `us`
/// microseconds (`LWS_SET_TIMER_USEC_CANCEL` cancels).
#[no_mangle]
pub extern "C" fn lws_sul_schedule(
    _cx: *mut LwsContext,
    tsi: c_int,
    sul: *mut LwsSortedUsecList,
    cb: Option<SulCb>,
    us: i64,
) {
    guard("lws_sul_schedule", (), || {
        if sul.is_null() {
            return;
        }
        match cb {
            Some(cb) if us >= 0 => {
                timers::schedule(usize::try_from(tsi).unwrap_or(0), sul as usize, cb, us)
            }
            _ => timers::cancel(sul as usize),
        }
    })
}

/// `lws_sul_schedule_wakesuspend` (no suspend here: same as `lws_sul_schedule`).
#[no_mangle]
pub extern "C" fn lws_sul_schedule_wakesuspend(
    cx: *mut LwsContext,
    tsi: c_int,
    sul: *mut LwsSortedUsecList,
    cb: Option<SulCb>,
    us: i64,
) {
    lws_sul_schedule(cx, tsi, sul, cb, us)
}

/// `lws_sul_cancel`.
#[no_mangle]
pub extern "C" fn lws_sul_cancel(sul: *mut LwsSortedUsecList) {
    guard("lws_sul_cancel", (), || timers::cancel(sul as usize))
}

/// `lws_now_usecs`: a monotonic clock in microseconds.
#[no_mangle]
pub extern "C" fn lws_now_usecs() -> i64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() * 1_000_000 + t.tv_nsec() / 1_000)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// lws_ring

struct RingBox {
    ring: Ring,
    destroy: Option<unsafe extern "C" fn(*mut c_void)>,
}

static RINGS: Mutex<Option<std::collections::HashSet<usize>>> = Mutex::new(None);

fn ring_ref<'a>(name: &str, r: *mut c_void) -> Option<&'a mut RingBox> {
    let ok = RINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|s| s.contains(&(r as usize)));
    if !ok {
        tracing::error!("{name}: {r:?} is not a ring");
        return None;
    }
    // SAFETY: `r` is a live `RingBox` we leaked in `lws_ring_create` and
    // have not freed (it is in `RINGS`). lws rings are not thread-safe and
    // plugins use each from one thread at a time, as with lws.
    Some(unsafe { &mut *(r as *mut RingBox) })
}

/// `lws_ring_create`.
#[no_mangle]
pub extern "C" fn lws_ring_create(
    element_len: usize,
    count: usize,
    destroy_element: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut c_void {
    guard("lws_ring_create", std::ptr::null_mut(), || {
        let Some(ring) = Ring::new(element_len, count) else {
            return std::ptr::null_mut();
        };
        let p = Box::into_raw(Box::new(RingBox {
            ring,
            destroy: destroy_element,
        })) as *mut c_void;
        RINGS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Default::default)
            .insert(p as usize);
        p
    })
}

/// `lws_ring_destroy`: releases every waiting element, then the ring.
#[no_mangle]
pub extern "C" fn lws_ring_destroy(r: *mut c_void) {
    guard("lws_ring_destroy", (), || {
        let Some(rb) = ring_ref("lws_ring_destroy", r) else {
            return;
        };
        let head_tail = {
            let (_, t) = rb.ring.consume(rb.ring.oldest(), None, usize::MAX);
            t
        };
        release_to(rb, head_tail);
        RINGS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Default::default)
            .remove(&(r as usize));
        // SAFETY: `r` came from `Box::into_raw` in `lws_ring_create` and was
        // just removed from `RINGS`, so this is its only free.
        drop(unsafe { Box::from_raw(r as *mut RingBox) });
    })
}

fn release_to(rb: &mut RingBox, tail: u32) {
    let destroy = rb.destroy;
    rb.ring.update_oldest(tail, |e| {
        if let Some(d) = destroy {
            // SAFETY: the plugin's destroy_element takes a pointer to one
            // element; `e` is that element inside the ring buffer.
            unsafe { d(e.as_mut_ptr() as *mut c_void) }
        }
    });
}

fn tail_of(tail: *mut u32) -> Option<u32> {
    // SAFETY: a non-null tail is the plugin's own `uint32_t`.
    (!tail.is_null()).then(|| unsafe { *tail })
}

/// `lws_ring_get_count_free_elements`.
#[no_mangle]
pub extern "C" fn lws_ring_get_count_free_elements(r: *mut c_void) -> usize {
    guard("lws_ring_get_count_free_elements", 0, || {
        ring_ref("lws_ring_get_count_free_elements", r).map_or(0, |rb| rb.ring.free())
    })
}

/// `lws_ring_get_count_waiting_elements`.
#[no_mangle]
pub extern "C" fn lws_ring_get_count_waiting_elements(r: *mut c_void, tail: *mut u32) -> usize {
    guard("lws_ring_get_count_waiting_elements", 0, || {
        ring_ref("lws_ring_get_count_waiting_elements", r)
            .map_or(0, |rb| rb.ring.waiting(tail_of(tail)))
    })
}

/// `lws_ring_insert`: copies up to `max_count` elements in; how many fit.
#[no_mangle]
pub extern "C" fn lws_ring_insert(r: *mut c_void, src: *const c_void, max_count: usize) -> usize {
    guard("lws_ring_insert", 0, || {
        let Some(rb) = ring_ref("lws_ring_insert", r) else {
            return 0;
        };
        if src.is_null() {
            return 0;
        }
        let n = max_count.min(rb.ring.free());
        let Some(bytes) = n.checked_mul(element_len(rb)) else {
            return 0;
        };
        // SAFETY: the plugin passes `max_count` elements at `src`; we read
        // at most `n <= max_count` of them.
        let data = unsafe { std::slice::from_raw_parts(src as *const u8, bytes) };
        rb.ring.insert(data, n)
    })
}

fn element_len(rb: &RingBox) -> usize {
    rb.ring.buffer().len() / (rb.ring.free() + rb.ring.waiting(None) + 1)
}

/// `lws_ring_consume`: up to `max_count` elements from `*tail` (or from
/// the oldest tail, releasing them, when `tail` is NULL), copied to `dest`
/// when it is not NULL.
#[no_mangle]
pub extern "C" fn lws_ring_consume(
    r: *mut c_void,
    tail: *mut u32,
    dest: *mut c_void,
    max_count: usize,
) -> usize {
    guard("lws_ring_consume", 0, || {
        let Some(rb) = ring_ref("lws_ring_consume", r) else {
            return 0;
        };
        let from = tail_of(tail).unwrap_or(rb.ring.oldest());
        let n = max_count.min(rb.ring.waiting(Some(from)));
        let elem = element_len(rb);
        let dest_slice = (!dest.is_null()).then(|| {
            // SAFETY: the plugin gave `dest` room for `max_count` elements;
            // we write at most `n <= max_count`.
            unsafe { std::slice::from_raw_parts_mut(dest as *mut u8, n * elem) }
        });
        let (done, new_tail) = rb.ring.consume(from, dest_slice, n);
        if tail.is_null() {
            release_to(rb, new_tail);
        } else {
            // SAFETY: non-null tail is the plugin's `uint32_t`.
            unsafe { *tail = new_tail };
        }
        done
    })
}

/// `lws_ring_get_element`: the element at `*tail` (oldest when NULL), or NULL.
#[no_mangle]
pub extern "C" fn lws_ring_get_element(r: *mut c_void, tail: *mut u32) -> *const c_void {
    guard("lws_ring_get_element", std::ptr::null(), || {
        let Some(rb) = ring_ref("lws_ring_get_element", r) else {
            return std::ptr::null();
        };
        match rb.ring.element_offset(tail_of(tail)) {
            // SAFETY: `off` is an element offset inside the ring's buffer.
            Some(off) => unsafe { rb.ring.buffer().as_ptr().add(off) as *const c_void },
            None => std::ptr::null(),
        }
    })
}

/// `lws_ring_update_oldest_tail`: releases elements up to `tail`.
#[no_mangle]
pub extern "C" fn lws_ring_update_oldest_tail(r: *mut c_void, tail: u32) {
    guard("lws_ring_update_oldest_tail", (), || {
        if let Some(rb) = ring_ref("lws_ring_update_oldest_tail", r) {
            release_to(rb, tail);
        }
    })
}

/// `lws_ring_get_oldest_tail`.
#[no_mangle]
pub extern "C" fn lws_ring_get_oldest_tail(r: *mut c_void) -> u32 {
    guard("lws_ring_get_oldest_tail", 0, || {
        ring_ref("lws_ring_get_oldest_tail", r).map_or(0, |rb| rb.ring.oldest())
    })
}
