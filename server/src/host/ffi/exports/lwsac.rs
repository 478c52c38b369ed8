//! `lwsac_*`, over [`host::lwsac`](crate::host::lwsac). The plugin's
//! `struct lwsac *` is a handle of the arena table, never dereferenced;
//! the pieces handed out are the arena's own memory.

use std::ffi::{c_int, c_void};

use crate::host::ffi::boundary::{export, Fault};
use crate::host::lwsac::{self, LwsacError};

impl From<LwsacError> for Fault {
    fn from(e: LwsacError) -> Fault {
        Fault::Refused(e.to_string())
    }
}

/// The handle in the plugin's `struct lwsac **head`.
///
/// # Safety
///
/// `head` is null or the plugin's readable `struct lwsac *` slot.
unsafe fn handle(head: *mut *mut c_void) -> Result<usize, Fault> {
    // SAFETY: our contract.
    let h = unsafe { head.as_ref() }.ok_or(Fault::Null("head"))?;
    Ok(*h as usize)
}

/// Sets the plugin's slot.
///
/// # Safety
///
/// `head` is the plugin's writable `struct lwsac *` slot (non-null).
unsafe fn set(head: *mut *mut c_void, h: usize) {
    // SAFETY: our contract.
    unsafe { *head = h as *mut c_void };
}

/// `lwsac_use` and its variants: a piece of `ensure` bytes.
///
/// # Safety
///
/// `head` is null or the plugin's `struct lwsac *` slot (NULL or a handle).
unsafe fn use_piece(
    head: *mut *mut c_void,
    ensure: usize,
    chunk_size: usize,
    backfill: bool,
    zero: bool,
) -> Result<*mut c_void, Fault> {
    // SAFETY: passed on (same contract).
    let h = unsafe { handle(head) }?;
    if ensure > 1 << 30 {
        return Err(Fault::Range("lwsac piece larger than 1 GiB"));
    }
    let (h, p) = lwsac::with(h, true, |a| {
        let (i, at) = a.use_bytes(ensure, chunk_size, backfill);
        a.chunk_ptr(i).wrapping_add(at)
    })?;
    // SAFETY: `head` is the plugin's slot, checked non-null by `handle`.
    unsafe { set(head, h) };
    if zero {
        // SAFETY: `p` starts `ensure` bytes of the arena's chunk just
        // handed out (the chunk holds at least that many from `p`).
        unsafe { std::ptr::write_bytes(p, 0, ensure) };
    }
    Ok(p as *mut c_void)
}

export! {
    /// `lwsac_use`: `ensure` bytes from the newest chunk, or a new chunk of
    /// `chunk_size` bytes (0: lws's default, 4000) when it lacks room.
    fn lwsac_use(head: *mut *mut c_void, ensure: usize, chunk_size: usize) -> *mut c_void {
        // SAFETY: lws contract: `head` is the plugin's slot.
        unsafe { use_piece(head, ensure, chunk_size, false, false) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lwsac_use_backfill`: as `lwsac_use`, trying older chunks' room first.
    fn lwsac_use_backfill(head: *mut *mut c_void, ensure: usize, chunk_size: usize) -> *mut c_void {
        // SAFETY: lws contract: `head` is the plugin's slot.
        unsafe { use_piece(head, ensure, chunk_size, true, false) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lwsac_use_zero`: as `lwsac_use`, the piece zeroed.
    fn lwsac_use_zero(head: *mut *mut c_void, ensure: usize, chunk_size: usize) -> *mut c_void {
        // SAFETY: lws contract: `head` is the plugin's slot.
        unsafe { use_piece(head, ensure, chunk_size, false, true) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lwsac_free`: frees the arena and sets `*head` to NULL.
    fn lwsac_free(head: *mut *mut c_void) {
        // SAFETY: lws contract: `head` is the plugin's slot.
        let h = unsafe { handle(head) }?;
        if h != 0 {
            lwsac::free(h)?;
            // SAFETY: non-null slot (checked by `handle`).
            unsafe { set(head, 0) };
        }
        Ok(())
    }
}

export! {
    /// `lwsac_detach`: freed now (and `*head` set to NULL) if unreferenced,
    /// else when the last reference goes.
    fn lwsac_detach(head: *mut *mut c_void) {
        // SAFETY: lws contract: `head` is the plugin's slot.
        let h = unsafe { handle(head) }?;
        if h != 0 && lwsac::detach(h)? {
            // SAFETY: non-null slot (checked by `handle`).
            unsafe { set(head, 0) };
        }
        Ok(())
    }
}

export! {
    /// `lwsac_reference`.
    fn lwsac_reference(head: *mut c_void) {
        Ok(lwsac::reference(head as usize)?)
    }
}

export! {
    /// `lwsac_unreference`: drops a reference; a detached arena whose last
    /// reference this was is freed, and `*head` set to NULL.
    fn lwsac_unreference(head: *mut *mut c_void) {
        // SAFETY: lws contract: `head` is the plugin's slot.
        let h = unsafe { handle(head) }?;
        if h != 0 && lwsac::unreference(h)? {
            // SAFETY: non-null slot (checked by `handle`).
            unsafe { set(head, 0) };
        }
        Ok(())
    }
}

export! {
    /// `lwsac_extend`: grows the last piece by `amount` bytes (zeroed) if
    /// its chunk has room: 0, else 1.
    fn lwsac_extend(head: *mut c_void, amount: usize) -> c_int {
        let (_, ok) = lwsac::with(head as usize, false, |a| a.extend(amount))?;
        Ok(c_int::from(!ok))
    } ?= 1
}

export! {
    /// `lwsac_total_alloc`: bytes the arena allocated (0 for NULL).
    fn lwsac_total_alloc(head: *mut c_void) -> u64 {
        if head.is_null() {
            return Ok(0);
        }
        Ok(lwsac::with(head as usize, false, |a| a.total_alloc())?.1)
    } ?= 0
}

export! {
    /// `lwsac_total_overhead`: bytes allocated and not handed out.
    fn lwsac_total_overhead(head: *mut c_void) -> u64 {
        if head.is_null() {
            return Ok(0);
        }
        Ok(lwsac::with(head as usize, false, |a| a.total_overhead())?.1)
    } ?= 0
}

export! {
    /// `lwsac_align`: `length` rounded up to the size of a pointer.
    fn lwsac_align(length: usize) -> usize {
        Ok(lwsac::align(length))
    } ?= length
}

export! {
    /// `lwsac_info`: the arena's size in the debug log.
    fn lwsac_info(head: *mut c_void) {
        if head.is_null() {
            tracing::debug!("lwsac_info: empty");
            return Ok(());
        }
        let total = lwsac::with(head as usize, false, |a| a.total_alloc())?.1;
        tracing::debug!("lwsac_info: lwsac {head:p}: {total} bytes");
        Ok(())
    }
}
