//! The one way in from C: [`export!`] defines each lws function a plugin
//! calls, and the checks here turn what it passes into Rust values before
//! anything else looks at them (hyper's `ffi_fn!` and `non_null!`, for lws).
//!
//! * `struct lws *` becomes `&Wsi` only if it is live on this service
//!   thread ([`wsi`]); `struct lws_vhost *` becomes a [`Vhost`] only if a
//!   live site owns it. Both checks are complete, so they are safe.
//! * A buffer (`ptr`, `len`), a C string or a head cursor (`unsigned char
//!   **p`, `end`) cannot be checked completely: the helpers for them are
//!   `unsafe fn`s that check what can be checked (null, order, length) and
//!   leave the rest to the lws contract, which each caller names in its
//!   `// SAFETY:` line.
//!
//! A failed check is a [`Fault`]: the export logs it with its own name and
//! returns its stated default, the way lws fails the call (-1, NULL, 0).

use std::ffi::{c_char, CStr};
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use comlink_plugin_api::abi::{Lws, LwsProtocols, LwsVhost};

use crate::host::site::HostSite;
use crate::host::thread;
use crate::host::vhost::{self, VhostHandle, VhostProtocol};
use crate::host::wsi::{Role, Wsi};

/// Defines an lws function exported to plugins.
///
/// ```ignore
/// export! {
///     /// `lws_get_tsi`.
///     fn lws_get_tsi(p: *mut Lws) -> c_int {
///         Ok(c_int::try_from(wsi(&p)?.tsi).unwrap_or(0))
///     } ?= 0
/// }
/// ```
///
/// The body returns `Result<ret, Fault>`; a `Fault` is logged as
/// "`name`: fault" and the call returns the value after `?=`, as does a
/// panic (caught here: it never unwinds into C). Without `-> ret` the
/// function returns nothing and needs no default.
///
/// The function is an `unsafe extern "C" fn`: its pointer arguments are
/// trusted as far as the lws contract says (a `# Safety` section saying so
/// is added to its docs), and the body says where in `// SAFETY:` lines.
macro_rules! export {
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block ?= $default:expr
    ) => {
        $(#[$attr])*
        ///
        /// # Safety
        ///
        /// Called by plugins: pointer arguments follow the contract of the lws
        /// function of this name (`plugin-api/include/libwebsockets.h`). What
        /// can be checked is: a bad `struct lws *`, vhost, ring or form parser
        /// fails the call.
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            $crate::host::ffi::boundary::run(
                stringify!($name),
                $default,
                move || -> Result<$ret, $crate::host::ffi::boundary::Fault> { $body },
            )
        }
    };
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $(#[$attr])*
        ///
        /// # Safety
        ///
        /// Called by plugins: pointer arguments follow the contract of the lws
        /// function of this name (`plugin-api/include/libwebsockets.h`). What
        /// can be checked is: a bad `struct lws *`, vhost, ring or form parser
        /// fails the call.
        #[no_mangle]
        pub(crate) unsafe extern "C" fn $name($($arg: $ty),*) {
            $crate::host::ffi::boundary::run(
                stringify!($name),
                (),
                move || -> Result<(), $crate::host::ffi::boundary::Fault> { $body },
            )
        }
    };
}
pub(crate) use export;

/// Why an export refused a call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Fault {
    /// A `struct lws *` that is not a live connection of this thread.
    #[error("{0:#x} is not a live connection of this service thread")]
    NotWsi(usize),
    /// A connection of the wrong kind for the call.
    #[error("{0:?} is not {1}")]
    Role(std::ffi::CString, &'static str),
    /// A `struct lws_vhost *` that is not a vhost of a live site.
    #[error("{0:#x} is not a vhost")]
    NotVhost(usize),
    /// A required pointer is NULL.
    #[error("{0} is NULL")]
    Null(&'static str),
    /// Pointers that cannot describe a buffer (`end` before `*p`, `*p`
    /// before `start`, a length beyond `isize::MAX`).
    #[error("bad buffer: {0}")]
    Range(&'static str),
    /// What the plugin asked to write does not fit before `end`. Logged at
    /// debug only: lws returns nonzero without a word, and a plugin may try.
    #[error("no room left in the buffer")]
    NoRoom,
    /// Refused by the host's own rules (the message says which).
    #[error("{0}")]
    Refused(String),
}

impl From<crate::host::write::WriteError> for Fault {
    fn from(e: crate::host::write::WriteError) -> Fault {
        Fault::Refused(e.to_string())
    }
}

impl From<crate::host::http_response::HeadSent> for Fault {
    fn from(e: crate::host::http_response::HeadSent) -> Fault {
        Fault::Refused(e.to_string())
    }
}

/// Runs an export's body: a `Fault` is logged and a panic caught, both
/// answered with `default`.
pub(crate) fn run<R>(name: &str, default: R, body: impl FnOnce() -> Result<R, Fault>) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(r)) => r,
        Ok(Err(Fault::NoRoom)) => {
            tracing::debug!("{name}: {}", Fault::NoRoom);
            default
        }
        Ok(Err(fault)) => {
            tracing::error!("{name}: {fault}");
            default
        }
        Err(_) => {
            tracing::error!("{name}: internal error (panic caught at the plugin boundary)");
            default
        }
    }
}

/// A pointer argument, `*const T` or `*mut T` (so checks take either).
pub(crate) trait Ptr<T> {
    /// Its address.
    fn addr(&self) -> usize;
}

impl<T> Ptr<T> for *const T {
    fn addr(&self) -> usize {
        *self as usize
    }
}

impl<T> Ptr<T> for *mut T {
    fn addr(&self) -> usize {
        *self as usize
    }
}

/// The live connection behind the argument `p`.
///
/// The reference borrows the argument, so it cannot outlive the call: a
/// live wsi is only dropped by its owner on this thread, which cannot run
/// while a plugin's call into the host does.
pub(crate) fn wsi(p: &impl Ptr<Lws>) -> Result<&Wsi, Fault> {
    let addr = p.addr();
    if addr == 0 || !thread::is_live(addr) {
        return Err(Fault::NotWsi(addr));
    }
    // SAFETY: `addr` is in this thread's live set: a boxed `Wsi` its owner
    // registered and unregisters before dropping it, on this thread (so not
    // during this call). Only shared references to it are ever made.
    Ok(unsafe { &*(addr as *const Wsi) })
}

/// [`wsi`], which must be an HTTP transaction.
pub(crate) fn http_wsi(p: &impl Ptr<Lws>) -> Result<&Wsi, Fault> {
    let w = wsi(p)?;
    if w.role != Role::Http {
        return Err(Fault::Role(w.tag.clone(), "an HTTP transaction"));
    }
    Ok(w)
}

/// A vhost a plugin named, with its site held for the length of the call.
pub(crate) struct Vhost {
    site: Arc<HostSite>,
    index: usize,
}

impl Vhost {
    /// The site it belongs to.
    pub(crate) fn site(&self) -> &Arc<HostSite> {
        &self.site
    }
}

impl Deref for Vhost {
    type Target = VhostHandle;

    fn deref(&self) -> &VhostHandle {
        &self.site.vhosts[self.index]
    }
}

/// The vhost behind `v`: one of a live site's handles (found by address,
/// so nothing is read through `v` itself).
pub(crate) fn vhost(v: &impl Ptr<LwsVhost>) -> Result<Vhost, Fault> {
    let addr = v.addr();
    let site = vhost::site_of(addr).ok_or(Fault::NotVhost(addr))?;
    let index = site
        .vhosts
        .iter()
        .position(|h| h as *const VhostHandle as usize == addr)
        .ok_or(Fault::NotVhost(addr))?;
    Ok(Vhost { site, index })
}

/// The protocol of `vh` that `prot` names: by table address, else by the
/// name in the plugin's `struct lws_protocols` (as lws compares them).
///
/// # Safety
///
/// `prot` is null or points at a readable `struct lws_protocols` whose
/// `name` is null or a NUL-terminated string.
pub(crate) unsafe fn vhost_protocol(
    vh: &VhostHandle,
    prot: *const LwsProtocols,
) -> Option<&VhostProtocol> {
    if prot.is_null() {
        return None;
    }
    if let Some(i) = vh.find_raw(prot) {
        return vh.protocols.get(i);
    }
    // SAFETY: `prot` is a readable `struct lws_protocols` (our contract);
    // its first member is the name.
    let name = unsafe { (*prot).name };
    // SAFETY: a non-null name is a C string (our contract).
    let name = unsafe { cstr(name) }?.to_str().ok()?;
    vh.protocols.iter().find(|p| p.def.name == name)
}

/// `p` as a C string; None for null.
///
/// # Safety
///
/// `p` is null or points at a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn cstr<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: non-null `p` is a C string valid for `'a` (our contract).
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// `p` as Rust text (invalid UTF-8 replaced); "" for null.
///
/// # Safety
///
/// As [`cstr`], for the length of the call.
pub(crate) unsafe fn text(p: *const c_char) -> String {
    // SAFETY: passed on to the caller (same contract).
    unsafe { cstr(p) }.map_or_else(String::new, |c| c.to_string_lossy().into_owned())
}

/// The `len` bytes at `p` (empty for `len` 0, even when `p` is null).
///
/// # Safety
///
/// When `len` > 0 and `p` is not null, `p..p + len` is readable and not
/// written for `'a` (checked here: null, and `len` <= `isize::MAX`).
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], Fault> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fault::Null("the buffer"));
    }
    if len > isize::MAX as usize {
        return Err(Fault::Range("longer than isize::MAX"));
    }
    // SAFETY: non-null, length in range (checked), readable (our contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The `len` pointers at `p`, an array a plugin passes (empty for `len` 0,
/// even when `p` is null).
///
/// # Safety
///
/// When `len` > 0 and `p` is not null, `p..p + len` holds `len` pointers,
/// not written for `'a` (checked here: null, alignment and length).
pub(crate) unsafe fn pointers<'a, T>(p: *const *mut T, len: usize) -> Result<&'a [*mut T], Fault> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Fault::Null("the array"));
    }
    if !p.is_aligned() {
        return Err(Fault::Range("an array of pointers not aligned as one"));
    }
    if len > isize::MAX as usize / std::mem::size_of::<*mut T>() {
        return Err(Fault::Range("longer than isize::MAX bytes"));
    }
    // SAFETY: non-null, aligned, length in range (checked), readable (our
    // contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// `len` bytes at `p` as lws's `(value, length)` pairs give them: a
/// negative `len` means "up to the NUL"; null is empty.
///
/// # Safety
///
/// `p` is null, or `len` >= 0 readable bytes, or (for `len` < 0) a
/// NUL-terminated string, valid for `'a`.
pub(crate) unsafe fn bytes_or_cstr<'a>(p: *const u8, len: i32) -> Result<&'a [u8], Fault> {
    match usize::try_from(len) {
        // SAFETY: `len` readable bytes at `p` (our contract).
        Ok(n) if !p.is_null() => unsafe { bytes(p, n) },
        Ok(_) => Ok(&[]),
        // SAFETY: a negative length: `p` is null or a C string (our contract).
        Err(_) => Ok(unsafe { cstr(p as *const c_char) }.map_or(&[][..], CStr::to_bytes)),
    }
}

/// The `len` writable bytes at `p`.
///
/// # Safety
///
/// When `len` > 0 and `p` is not null, `p..p + len` is writable and used by
/// nothing else for `'a` (checked here: null, `len` <= `isize::MAX`).
pub(crate) unsafe fn bytes_mut<'a>(p: *mut u8, len: usize) -> Result<&'a mut [u8], Fault> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Fault::Null("the buffer"));
    }
    if len > isize::MAX as usize {
        return Err(Fault::Range("longer than isize::MAX"));
    }
    // SAFETY: non-null, length in range (checked), writable and not aliased
    // (our contract).
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// A `len`-byte output buffer for a C string (lws's `char *buf, int len`).
///
/// # Safety
///
/// As [`bytes_mut`]; a negative `len` is refused.
pub(crate) unsafe fn out_buf<'a>(
    p: *mut c_char,
    len: impl TryInto<usize>,
) -> Result<&'a mut [u8], Fault> {
    let len = len
        .try_into()
        .map_err(|_| Fault::Range("negative length"))?;
    if p.is_null() {
        return Err(Fault::Null("the output buffer"));
    }
    // SAFETY: passed on to the caller (same contract).
    unsafe { bytes_mut(p as *mut u8, len) }
}

/// Copies `s` into `buf` with a NUL after it; false (nothing written) if
/// it does not fit.
pub(crate) fn put_cstr(buf: &mut [u8], s: &[u8]) -> bool {
    if s.len() >= buf.len() {
        return false;
    }
    buf[..s.len()].copy_from_slice(s);
    buf[s.len()] = 0;
    true
}

/// The plugin's head buffer as lws's header helpers take it: the cursor
/// `*p` and the room from it up to `end`.
pub(crate) struct Cursor<'a> {
    pos: &'a mut *mut u8,
    room: &'a mut [u8],
}

impl<'a> Cursor<'a> {
    /// The room at `*p` before `end`.
    ///
    /// # Safety
    ///
    /// `p` is null or the plugin's cursor: readable and writable, and when
    /// `*p` <= `end` the bytes `*p..end` are one writable buffer used by
    /// nothing else for `'a` (checked here: nulls, and `*p` <= `end`).
    pub(crate) unsafe fn new(p: *mut *mut u8, end: *mut u8) -> Result<Cursor<'a>, Fault> {
        // SAFETY: a non-null `p` is the plugin's cursor (our contract).
        let pos = unsafe { p.as_mut() }.ok_or(Fault::Null("p"))?;
        if pos.is_null() || end.is_null() {
            return Err(Fault::Null("*p or end"));
        }
        let len = (end as usize)
            .checked_sub(*pos as usize)
            .ok_or(Fault::Range("*p is after end"))?;
        // SAFETY: `*pos..end` is the plugin's writable buffer (our
        // contract); its length is the checked, non-negative distance.
        let room = unsafe { bytes_mut(*pos, len) }?;
        Ok(Cursor { pos, room })
    }

    /// Appends `bytes` at the cursor and moves it past them.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        if bytes.len() > self.room.len() {
            return Err(Fault::NoRoom);
        }
        let room = std::mem::take(&mut self.room);
        let (dst, rest) = room.split_at_mut(bytes.len());
        dst.copy_from_slice(bytes);
        self.room = rest;
        // Stays inside the buffer (or one past its end): `bytes` fitted.
        *self.pos = self.pos.wrapping_add(bytes.len());
        Ok(())
    }

    /// Where the cursor is now.
    pub(crate) fn at(&self) -> *mut u8 {
        *self.pos
    }
}

/// The bytes from `start` up to `at`, where a head was built.
///
/// # Safety
///
/// When `start` <= `at` (checked here), `start..at` is one readable buffer,
/// not written for `'a`.
pub(crate) unsafe fn written<'a>(start: *mut u8, at: *mut u8) -> Result<&'a [u8], Fault> {
    if start.is_null() {
        return Err(Fault::Null("start"));
    }
    let len = (at as usize)
        .checked_sub(start as usize)
        .ok_or(Fault::Range("*p is before start"))?;
    // SAFETY: `start..at` is the plugin's head buffer (our contract), of the
    // checked, non-negative length.
    unsafe { bytes(start, len) }
}
