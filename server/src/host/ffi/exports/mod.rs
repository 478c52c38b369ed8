//! The lws functions plugins call, exported by name from the `lwsws`
//! executable (it is linked with `-rdynamic`), so a plugin built against
//! `plugin-api/include/libwebsockets.h` resolves them when it is loaded.
//!
//! Every entry point is defined with [`export!`](super::boundary::export):
//! it checks its pointers with the helpers of [`boundary`](super::boundary)
//! (a `struct lws *` must be live on the calling service thread, a `struct
//! lws_vhost *` must belong to a live site, a ring or form parser must be
//! one we made), then calls safe code. A bad pointer is logged and the call
//! fails the way lws fails it (-1, NULL or nothing); so does a panic, which
//! never unwinds into C.

// Until they move onto `export!` too: what ring.rs and ../spa.rs still use.
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use comlink_plugin_api::abi::Lws;

use crate::host::ring::Ring;
use crate::host::thread;
use crate::host::wsi::Wsi;

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

/// A C string as Rust text (lossy); "" for null.
pub fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: callers pass NUL-terminated strings (plugin names, pvo names
    // and values, arguments of lws calls documented as C strings).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

mod context;
mod http;
mod log;
mod request;
mod ring;
mod timing;
mod write;

pub use self::context::*;
pub use self::http::*;
pub use self::log::*;
pub use self::request::*;
pub use self::ring::*;
pub use self::timing::*;
pub use self::write::*;
