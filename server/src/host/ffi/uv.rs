//! libuv, for plugins written against lws's libuv integration
//! (`lws_uv_getloop`). The server does not link libuv: the first
//! `lws_uv_getloop` call `dlopen`s `libuv.so.1` (Debian's libuv1; the same
//! copy a plugin linked with `-luv` already brought in), so a server without
//! such plugins neither maps libuv nor makes a loop.
//!
//! Only the few functions the host itself needs are bound here, by hand:
//! making a loop, embedding it in a service thread's event loop
//! (`uv_backend_fd`, `uv_backend_timeout`, `uv_run(UV_RUN_NOWAIT)`), and
//! finding and closing the handles a plugin left behind (`uv_walk`,
//! `uv_close`). [`Loop`] is the safe face of one loop; the host's
//! `host::uv` drives it.

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::OnceLock;
use std::time::Duration;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The file `dlopen`ed: libuv's ABI-stable major version 1.
pub(crate) const LIBUV: &str = "libuv.so.1";

// uv_run_mode
const UV_RUN_NOWAIT: c_int = 2;

// uv_handle_type (uv.h's UV_HANDLE_TYPE_MAP order, from 1).
const UV_ASYNC: c_int = 1;
const UV_CHECK: c_int = 2;
const UV_FS_EVENT: c_int = 3;
const UV_HANDLE: c_int = 5;
const UV_IDLE: c_int = 6;
const UV_NAMED_PIPE: c_int = 7;
const UV_POLL: c_int = 8;
const UV_PREPARE: c_int = 9;
const UV_PROCESS: c_int = 10;
const UV_TCP: c_int = 12;
const UV_TIMER: c_int = 13;
const UV_TTY: c_int = 14;
const UV_UDP: c_int = 15;
const UV_SIGNAL: c_int = 16;

/// Word index of `close_cb` in `uv_handle_t` (after `data`, `loop`, `type`).
const CLOSE_CB_WORD: usize = 3;

type WalkCb = unsafe extern "C" fn(*mut c_void, *mut c_void);

/// The libuv functions the host calls.
struct Api {
    loop_size: unsafe extern "C" fn() -> usize,
    loop_init: unsafe extern "C" fn(*mut c_void) -> c_int,
    backend_fd: unsafe extern "C" fn(*const c_void) -> c_int,
    backend_timeout: unsafe extern "C" fn(*const c_void) -> c_int,
    loop_alive: unsafe extern "C" fn(*const c_void) -> c_int,
    update_time: unsafe extern "C" fn(*mut c_void),
    run: unsafe extern "C" fn(*mut c_void, c_int) -> c_int,
    walk: unsafe extern "C" fn(*mut c_void, WalkCb, *mut c_void),
    close: unsafe extern "C" fn(*mut c_void, Option<unsafe extern "C" fn(*mut c_void)>),
    is_closing: unsafe extern "C" fn(*const c_void) -> c_int,
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    handle_get_type: unsafe extern "C" fn(*const c_void) -> c_int,
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

/// Loads libuv into the global symbol scope, for a plugin that calls libuv
/// without linking it (built with `cc -shared` and no `-luv`).
pub(crate) fn load_global() -> Result<(), &'static str> {
    api().map(|_| ())
}

fn api() -> Result<&'static Api, &'static str> {
    API.get_or_init(load).as_ref().map_err(String::as_str)
}

fn load() -> Result<Api, String> {
    // SAFETY: libuv's initialisers only set up its own state. RTLD_GLOBAL:
    // libuv's symbols then also serve plugins loaded later that use libuv
    // without linking it. The library stays open for the process (loops
    // made from it are never freed).
    let lib = unsafe { Library::open(Some(LIBUV), RTLD_NOW | RTLD_GLOBAL) }
        .map_err(|e| format!("cannot load {LIBUV} (Debian: apt install libuv1): {e}"))?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the symbol is libuv's function of this name, whose C
            // signature (uv.h, ABI-stable across libuv 1.x) is the field's
            // type; the library is never closed (below), so the pointer
            // stays valid.
            *unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                .map_err(|e| format!("{LIBUV}: {e}"))?
        };
    }
    let api = Api {
        loop_size: sym!("uv_loop_size"),
        loop_init: sym!("uv_loop_init"),
        backend_fd: sym!("uv_backend_fd"),
        backend_timeout: sym!("uv_backend_timeout"),
        loop_alive: sym!("uv_loop_alive"),
        update_time: sym!("uv_update_time"),
        run: sym!("uv_run"),
        walk: sym!("uv_walk"),
        close: sym!("uv_close"),
        is_closing: sym!("uv_is_closing"),
        handle_size: sym!("uv_handle_size"),
        handle_get_type: sym!("uv_handle_get_type"),
    };
    std::mem::forget(lib);
    Ok(api)
}

/// A loop's backend fd, borrowed from libuv (never closed here).
#[derive(Debug)]
pub(crate) struct BackendFd(RawFd);

impl AsRawFd for BackendFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// What a sweep looks for: handles that belong to memory about to be freed
/// or to a library about to be unloaded.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Owner {
    /// Handles stored in `[start, start + len)` (plugin memory the host
    /// frees: per-vhost and per-session data).
    Span(usize, usize),
    /// Handles stored in, or calling into, the shared object loaded at
    /// this base address (`dladdr`'s `dli_fbase`).
    Library(usize),
}

/// The base address of the shared object that contains `addr`, if any.
pub(crate) fn object_base(addr: usize) -> Option<usize> {
    if addr < 4096 {
        return None;
    }
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr only looks `addr` up in the dynamic linker's tables of
    // loaded objects (it never dereferences it) and fills `info`.
    let found = unsafe { libc::dladdr(addr as *const c_void, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr returned nonzero, so it filled `info`.
    let base = unsafe { info.assume_init() }.dli_fbase as usize;
    (base != 0).then_some(base)
}

/// One service thread's libuv loop. Made once per thread and never freed
/// (plugins keep its address; handles of the current plugins stay on it
/// until the process ends). Every method works only on its own service
/// thread (libuv loops are single-threaded) and does nothing elsewhere.
#[derive(Debug)]
pub(crate) struct Loop {
    ptr: *mut c_void,
    tsi: usize,
}

// SAFETY: the loop is only touched on its own service thread: every method
// checks the calling thread first. Other threads only pass its address on.
unsafe impl Send for Loop {}
// SAFETY: as above.
unsafe impl Sync for Loop {}

impl Loop {
    /// Loads libuv if needed and makes service thread `tsi`'s loop.
    pub(crate) fn new(tsi: usize) -> Result<&'static Loop, String> {
        let api = api()?;
        // SAFETY: uv_loop_size has no preconditions.
        let size = unsafe { (api.loop_size)() };
        // SAFETY: calloc has no preconditions; it returns null or `size`
        // zeroed bytes, aligned for any type (uv_loop_t included).
        let ptr = unsafe { libc::calloc(1, size.max(1)) };
        if ptr.is_null() {
            return Err("out of memory for a libuv loop".into());
        }
        // SAFETY: `ptr` is `uv_loop_size()` writable bytes, never used as a
        // loop before.
        let rc = unsafe { (api.loop_init)(ptr) };
        if rc != 0 {
            // SAFETY: `ptr` came from calloc above and nothing else has it.
            unsafe { libc::free(ptr) };
            return Err(format!("uv_loop_init failed ({rc})"));
        }
        Ok(Box::leak(Box::new(Loop { ptr, tsi })))
    }

    /// The `uv_loop_t *` plugins get.
    pub(crate) fn as_ptr(&self) -> *mut c_void {
        self.ptr
    }

    fn here(&self) -> Option<&'static Api> {
        if crate::runtime::threads::current_tsi() != Some(self.tsi) {
            return None;
        }
        api().ok()
    }

    /// Watches the file descriptor that becomes readable when the loop has
    /// I/O to run (`uv_backend_fd`), from this thread's tokio runtime.
    pub(crate) fn watch_backend(&self) -> std::io::Result<AsyncFd<BackendFd>> {
        let unusable = || std::io::Error::other("no libuv backend fd on this thread");
        let api = self.here().ok_or_else(unusable)?;
        // SAFETY: `ptr` is an initialised loop, used on its own thread.
        let fd = unsafe { (api.backend_fd)(self.ptr) };
        if fd < 0 {
            return Err(unusable());
        }
        // SAFETY: the backend fd (libuv's epoll fd) stays open and the same
        // for the loop's life, which is the process's: the loop is never
        // closed.
        unsafe { AsyncFd::register_with_interest(BackendFd(fd), Interest::READABLE) }
            .map_err(|e| e.into_parts().1)
    }

    /// How long the loop may sleep before its next timer is due: `None`
    /// when it has nothing to wait for but I/O (or nothing at all).
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        let api = self.here()?;
        // SAFETY: `ptr` is an initialised loop, used on its own thread.
        unsafe {
            (api.update_time)(self.ptr);
            if (api.loop_alive)(self.ptr) == 0 {
                return None;
            }
            let ms = (api.backend_timeout)(self.ptr);
            u64::try_from(ms).ok().map(Duration::from_millis)
        }
    }

    /// Runs what is due without blocking: expired timers, ready I/O,
    /// finished closes (`uv_run(UV_RUN_NOWAIT)`). Plugin callbacks run here.
    pub(crate) fn run_nowait(&self) {
        if let Some(api) = self.here() {
            // SAFETY: `ptr` is an initialised loop, used on its own thread;
            // the host never calls this from inside a libuv callback (only
            // the loop's driver task calls it), so uv_run is not re-entered.
            unsafe { (api.run)(self.ptr, UV_RUN_NOWAIT) };
        }
    }

    /// The loop's handles (libuv's internal ones excluded), by address.
    fn handles(&self, api: &Api) -> Vec<usize> {
        unsafe extern "C" fn collect(h: *mut c_void, arg: *mut c_void) {
            // SAFETY: `arg` is the `Vec` passed to uv_walk below, alive and
            // not otherwise borrowed while uv_walk runs.
            let out = unsafe { &mut *(arg as *mut Vec<usize>) };
            out.push(h as usize);
        }
        let mut out: Vec<usize> = Vec::new();
        // SAFETY: `ptr` is an initialised loop on its own thread; `collect`
        // only records addresses, and `out` outlives the call.
        unsafe {
            (api.walk)(
                self.ptr,
                collect,
                &mut out as *mut Vec<usize> as *mut c_void,
            )
        };
        out
    }

    /// Whether any of `addrs` is still a handle of this loop (a handle
    /// leaves the loop once its close has finished).
    pub(crate) fn has_any(&self, addrs: &[usize]) -> bool {
        let Some(api) = self.here() else {
            return false;
        };
        self.handles(api).iter().any(|h| addrs.contains(h))
    }

    /// Closes every handle that belongs to `owner` (see [`Owner`]) and is
    /// not closing yet, and returns the addresses of all that belong to it,
    /// closing already or now: the memory and code they use must stay until
    /// [`has_any`](Self::has_any) no longer finds them.
    pub(crate) fn close_owned_by(&self, owner: Owner) -> Vec<usize> {
        let Some(api) = self.here() else {
            return Vec::new();
        };
        let mut owned = Vec::new();
        for h in self.handles(api) {
            // SAFETY: `h` was just reported by uv_walk: a live handle of this
            // loop, on its own thread.
            if !unsafe { belongs(api, h, owner) } {
                continue;
            }
            // SAFETY: as above; uv_close on a handle not yet closing is
            // allowed from any point of the loop's thread, inside a libuv
            // callback too. No close callback: the host only waits for it.
            unsafe {
                if (api.is_closing)(h as *const c_void) == 0 {
                    (api.close)(h as *mut c_void, None);
                }
            }
            owned.push(h);
        }
        owned
    }
}

/// Whether handle `h` belongs to `owner`: it is stored in the span, or (for
/// a library) it is stored in the library, or its `data`, its close
/// callback or its type's own callbacks point into the library.
///
/// # Safety
///
/// `h` is a live handle of a loop made by `api`'s libuv, used on that
/// loop's thread.
unsafe fn belongs(api: &Api, h: usize, owner: Owner) -> bool {
    match owner {
        Owner::Span(start, len) => h >= start && h - start < len,
        Owner::Library(base) => {
            if object_base(h) == Some(base) {
                return true;
            }
            // SAFETY: `h` is a live handle (the caller's contract).
            let ty = unsafe { (api.handle_get_type)(h as *const c_void) };
            // SAFETY: uv_handle_size has no preconditions.
            let (base_size, size) =
                unsafe { ((api.handle_size)(UV_HANDLE), (api.handle_size)(ty)) };
            let first = base_size / std::mem::size_of::<usize>();
            // Where the type's callbacks sit right after the common handle
            // fields, in libuv 1.x's (stable) unix layouts.
            let own: &[usize] = match ty {
                UV_TIMER | UV_PREPARE | UV_CHECK | UV_IDLE | UV_ASYNC | UV_POLL | UV_SIGNAL
                | UV_PROCESS => &[0],
                UV_TCP | UV_NAMED_PIPE | UV_TTY => &[1, 2],
                UV_UDP => &[2, 3],
                UV_FS_EVENT => &[1],
                _ => &[],
            };
            let words = [0, CLOSE_CB_WORD]
                .into_iter()
                .chain(own.iter().map(|w| first + w));
            for w in words {
                if (w + 1) * std::mem::size_of::<usize>() > size {
                    continue;
                }
                // SAFETY: the handle is `size` bytes (uv_handle_size of its
                // type) and word `w` lies inside them; handles are pointer
                // aligned.
                let v = unsafe { (h as *const usize).add(w).read() };
                if object_base(v) == Some(base) {
                    return true;
                }
            }
            false
        }
    }
}
