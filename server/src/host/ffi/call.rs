//! Calling into plugins, and the raw memory plugins share with the host.

use std::ffi::{c_int, c_void};

use comlink_plugin_api::abi::{Lws, LwsSortedUsecList, SulCb};

use crate::host::ffi::load::ProtocolDef;
use crate::host::thread;
use crate::host::wsi::Wsi;

/// Calls `def`'s callback for `wsi`.
pub(crate) fn callback(
    def: &ProtocolDef,
    wsi: &Wsi,
    reason: c_int,
    input: *mut c_void,
    len: usize,
) -> c_int {
    // SAFETY: `def.callback` comes from a protocol table the loader checked,
    // in a library `def.lib` keeps open. `wsi` is live and registered on
    // this thread for the duration of the call (so the plugin may pass it
    // back to the lws functions), `user` is its pss (or null) and
    // `input`/`len` follow lws's contract for `reason`, which the caller
    // (the session or transaction driving this wsi) keeps. Rust plugins
    // catch their own panics at this boundary (plugin-api's export macro).
    let rc = unsafe {
        (def.callback)(
            wsi as *const Wsi as *mut Lws,
            reason,
            wsi.pss_ptr(),
            input,
            len,
        )
    };
    crate::host::uv::kick();
    rc
}

/// Runs `f` on the live wsi at `addr` (nothing if it is not live here).
pub(crate) fn with_live<R>(addr: usize, f: impl FnOnce(&Wsi) -> R) -> Option<R> {
    if !thread::is_live(addr) {
        return None;
    }
    // SAFETY: live wsis are registered by their owner while boxed and
    // unregistered before they are dropped, all on this thread; so an
    // address in this thread's live set points at a valid `Wsi`, which
    // stays valid while `f` runs (its owner cannot run meanwhile).
    Some(f(unsafe { &*(addr as *const Wsi) }))
}

/// Asks the CPU to bring the `len` bytes at `addr` into its caches: a
/// hint, for memory about to be used (nothing is read, and an address that
/// is no longer mapped is harmless).
pub(crate) fn prefetch(addr: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in (addr..addr.saturating_add(len)).step_by(64) {
        // SAFETY: a prefetch only hints the cache: it gives the program
        // nothing and never faults, whatever the address.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                line as *const i8,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (addr, len);
}

/// Zeroed memory whose contents belong to a plugin: per-session data
/// (`pss`) and per-vhost data (`lws_protocol_vh_priv_zalloc`). calloc'd,
/// because plugins may assume the C library's allocator; freed on drop.
#[derive(Debug)]
pub(crate) struct PluginMem {
    ptr: *mut c_void,
    len: usize,
}

// SAFETY: the host never reads or writes through `ptr`: it only hands the
// address to the plugin, which owns the contents and synchronises its own
// use of them across service threads (as with lws). Freeing from any
// thread is fine for calloc'd memory.
unsafe impl Send for PluginMem {}
// SAFETY: as above; `&PluginMem` only gives out the address.
unsafe impl Sync for PluginMem {}

impl PluginMem {
    /// `len` zeroed bytes (at least 1); None if the C library has none to
    /// give (the plugin then gets NULL, as from lws).
    pub(crate) fn zeroed(len: usize) -> Option<PluginMem> {
        let len = len.max(1);
        // SAFETY: calloc has no preconditions; it returns null or a block of
        // `len` zeroed bytes.
        let ptr = unsafe { libc::calloc(1, len) };
        (!ptr.is_null()).then_some(PluginMem { ptr, len })
    }

    /// The address handed to the plugin.
    pub(crate) fn as_ptr(&self) -> *mut c_void {
        self.ptr
    }

    /// Where the block starts and how long it is (to cancel the timers a
    /// plugin left in it before it is freed).
    pub(crate) fn span(&self) -> (usize, usize) {
        (self.ptr as usize, self.len)
    }
}

impl Drop for PluginMem {
    fn drop(&mut self) {
        let ptr = self.ptr as usize;
        // A libuv handle the plugin left in this memory is closed first
        // (see `host::uv`); without libuv loops this frees at once.
        crate::host::uv::release(crate::host::uv::Owner::Span(ptr, self.len), move || {
            // SAFETY: `ptr` came from calloc in `zeroed` and is freed
            // only here, once (the `PluginMem` is being dropped).
            unsafe { libc::free(ptr as *mut c_void) }
        });
    }
}

/// A `lws_sorted_usec_list_t` a plugin scheduled, and its callback.
#[derive(Debug)]
pub(crate) struct Sul {
    cb: SulCb,
    addr: usize,
}

impl Sul {
    /// Records `cb(sul)` to be fired later.
    ///
    /// # Safety
    ///
    /// `sul` must stay valid until the `Sul` fires or is dropped: the
    /// plugin keeps it alive until then or cancels it first (lws's
    /// contract), and the timer registry drops the `Sul`s inside memory the
    /// host frees before it frees it.
    pub(crate) unsafe fn new(cb: SulCb, sul: *mut LwsSortedUsecList) -> Sul {
        Sul {
            cb,
            addr: sul as usize,
        }
    }

    /// The address of the plugin's sul (its identity).
    pub(crate) fn addr(&self) -> usize {
        self.addr
    }

    /// Calls the plugin's callback with its sul.
    pub(crate) fn fire(self) {
        // SAFETY: `addr` is the live `lws_sorted_usec_list_t` the plugin
        // scheduled (`Sul::new`'s contract).
        unsafe { (self.cb)(self.addr as *mut LwsSortedUsecList) };
        crate::host::uv::kick();
    }
}
