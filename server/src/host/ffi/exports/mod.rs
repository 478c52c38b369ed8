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
    LwsTlsCertInfoResults, LwsVhost, SulCb, TokenKind, LLL_DEBUG, LLL_ERR, LLL_INFO, LLL_NOTICE,
    LLL_USER, LLL_WARN, LWS_TLS_CERT_INFO_DER_RAW, LWS_TLS_CERT_INFO_VERIFIED, LWS_WRITE_BINARY,
    LWS_WRITE_CONTINUATION, LWS_WRITE_NO_FIN, LWS_WRITE_PING, LWS_WRITE_PONG, LWS_WRITE_TEXT,
    NO_PENDING_TIMEOUT,
};

use crate::host::context::CONTEXT;
use crate::host::ffi::call;
use crate::host::ring::Ring;
use crate::host::thread::{self, Command};
use crate::host::vhost::{self, VhostHandle, VhostProtocol};
use crate::host::wsi::{Role, Wsi};
use crate::host::{dispatch, timers};
use comlink_wire::frame::OpCode;

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

mod context;
mod log;
mod peer;
mod request;
mod ring;
mod timing;
mod write;

pub use self::context::*;
pub use self::log::*;
pub use self::peer::*;
pub use self::request::*;
pub use self::ring::*;
pub use self::timing::*;
pub use self::write::*;
