//! Calling into plugins, and the raw memory plugins share with the host.

use std::ffi::{c_int, c_void};

use comlink_plugin_api::abi::{Lws, LwsSortedUsecList, SulCb};

use crate::host::ffi::load::ProtocolDef;
use crate::host::thread;
use crate::host::wsi::Wsi;

/// Calls `def`'s callback for `wsi`.
pub fn callback(
    def: &ProtocolDef,
    wsi: &Wsi,
    reason: c_int,
    user: *mut c_void,
    input: *mut c_void,
    len: usize,
) -> c_int {
    // SAFETY: `def.callback` comes from a protocol table the loader checked,
    // in a library `def.lib` keeps open. `wsi` is live and registered on
    // this thread for the duration of the call (so the plugin may pass it
    // back to the lws functions), `user` is its pss (or null) and
    // `input`/`len` follow lws's contract for `reason`. Rust plugins catch
    // their own panics at this boundary (plugin-api's export macro).
    unsafe { (def.callback)(wsi as *const Wsi as *mut Lws, reason, user, input, len) }
}

/// Runs `f` on the live wsi at `addr` (nothing if it is not live here).
pub fn with_live<R>(addr: usize, f: impl FnOnce(&Wsi) -> R) -> Option<R> {
    if !thread::is_live(addr) {
        return None;
    }
    // SAFETY: live wsis are registered by their owner while boxed and
    // unregistered before they are dropped, all on this thread; so an
    // address in this thread's live set points at a valid `Wsi`.
    Some(f(unsafe { &*(addr as *const Wsi) }))
}

/// `calloc(size)`: zeroed memory a plugin owns the contents of.
pub fn zalloc(size: usize) -> *mut c_void {
    // SAFETY: calloc with a non-zero size returns null or a valid block.
    unsafe { libc::calloc(1, size.max(1)) }
}

/// Frees what [`zalloc`] returned.
pub fn free(p: *mut c_void) {
    // SAFETY: `p` came from `zalloc` (calloc) and is freed once: callers
    // take it out of its owner before freeing.
    unsafe { libc::free(p) }
}

/// Fires a `lws_sul_schedule` timer.
pub fn sul(cb: SulCb, addr: usize) {
    // SAFETY: `addr` is the sul the plugin scheduled; it is still
    // registered (cancel and freeing of the memory it lives in remove it
    // first), so it points at the plugin's live `lws_sorted_usec_list_t`.
    unsafe { cb(addr as *mut LwsSortedUsecList) }
}

/// Gives freed heap memory back to the system (glibc `malloc_trim`), as
/// lwsws does once a minute. The host itself allocates with mimalloc, which
/// returns freed memory on its own; this trims the C library's heap, where
/// plugins (and [`zalloc`]) allocate, so their bursts do not keep RSS up.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has
    // no preconditions and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
