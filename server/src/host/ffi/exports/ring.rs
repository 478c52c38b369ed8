//! `lws_ring`, over the host's rings ([`host::ring`](crate::host::ring)).
//! A `struct lws_ring *` is a handle of the ring table, never dereferenced.

use std::ffi::{c_int, c_void};

use crate::host::ffi::boundary::{bytes, bytes_mut, export, Fault};
use crate::host::ring::{self, Release, Ring, RingError};

impl From<RingError> for Fault {
    fn from(e: RingError) -> Fault {
        Fault::Refused(e.to_string())
    }
}

/// A tail argument: the plugin's `uint32_t`, or None for NULL.
///
/// # Safety
///
/// `tail` is null or the plugin's readable `uint32_t`.
unsafe fn tail_of(tail: *mut u32) -> Option<u32> {
    // SAFETY: a non-null tail is readable (our contract).
    unsafe { tail.as_ref() }.copied()
}

/// `n` elements of `elem` bytes, as a byte count (None on overflow).
fn span(n: usize, elem: usize) -> Result<usize, Fault> {
    n.checked_mul(elem)
        .ok_or(Fault::Range("element count times size overflows"))
}

export! {
    /// `lws_ring_create`.
    fn lws_ring_create(
        element_len: usize,
        count: usize,
        destroy_element: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> *mut c_void {
        let Some(r) = Ring::new(element_len, count) else {
            return Ok(std::ptr::null_mut());
        };
        let release = destroy_element.map(|d| -> Release {
            Box::new(move |e: &mut [u8]| {
                // SAFETY: the plugin's destroy_element takes a pointer to
                // one element; `e` is that element, inside the ring.
                unsafe { d(e.as_mut_ptr() as *mut c_void) }
            })
        });
        Ok(ring::create(r, release) as *mut c_void)
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_ring_destroy`: releases every waiting element, then the ring.
    fn lws_ring_destroy(r: *mut c_void) {
        Ok(ring::destroy(r as usize)?)
    }
}

export! {
    /// `lws_ring_get_count_free_elements`.
    fn lws_ring_get_count_free_elements(r: *mut c_void) -> usize {
        Ok(ring::with(r as usize, |rb| rb.ring.free())?)
    } ?= 0
}

export! {
    /// `lws_ring_get_count_waiting_elements`.
    fn lws_ring_get_count_waiting_elements(r: *mut c_void, tail: *mut u32) -> usize {
        // SAFETY: lws contract: `tail` is null or the plugin's `uint32_t`.
        let tail = unsafe { tail_of(tail) };
        Ok(ring::with(r as usize, |rb| rb.ring.waiting(tail))?)
    } ?= 0
}

export! {
    /// `lws_ring_insert`: copies up to `max_count` elements in; how many fit.
    fn lws_ring_insert(r: *mut c_void, src: *const c_void, max_count: usize) -> usize {
        if src.is_null() {
            return Ok(0);
        }
        ring::with(r as usize, |rb| {
            let n = max_count.min(rb.ring.free());
            // SAFETY: lws contract: `src` holds `max_count` elements; we
            // read the first `n <= max_count` of them.
            let data = unsafe { bytes(src as *const u8, span(n, rb.ring.element_len())?) }?;
            Ok(rb.ring.insert(data, n))
        })?
    } ?= 0
}

export! {
    /// `lws_ring_consume`: up to `max_count` elements from `*tail` (or from
    /// the oldest tail, releasing them, when `tail` is NULL), copied to
    /// `dest` when it is not NULL.
    fn lws_ring_consume(
        r: *mut c_void,
        tail: *mut u32,
        dest: *mut c_void,
        max_count: usize,
    ) -> usize {
        // SAFETY: lws contract: `tail` is null or the plugin's `uint32_t`.
        let from = unsafe { tail_of(tail) };
        let (done, after) = ring::with(r as usize, |rb| {
            let n = max_count.min(rb.ring.waiting(from));
            let dest = if dest.is_null() {
                None
            } else {
                let len = span(n, rb.ring.element_len())?;
                // SAFETY: lws contract: `dest` has room for `max_count`
                // elements; we write at most `n <= max_count`.
                Some(unsafe { bytes_mut(dest as *mut u8, len) }?)
            };
            Ok::<_, Fault>(rb.consume(from, dest, n))
        })??;
        // SAFETY: a non-null `tail` is the plugin's writable `uint32_t`.
        if let Some(t) = unsafe { tail.as_mut() } {
            *t = after;
        }
        Ok(done)
    } ?= 0
}

export! {
    /// `lws_ring_get_element`: the element at `*tail` (oldest when NULL),
    /// or NULL. It points into the ring, valid until the ring is destroyed.
    fn lws_ring_get_element(r: *mut c_void, tail: *mut u32) -> *const c_void {
        // SAFETY: lws contract: `tail` is null or the plugin's `uint32_t`.
        let tail = unsafe { tail_of(tail) };
        Ok(ring::with(r as usize, |rb| {
            rb.ring
                .element_offset(tail)
                .map_or(std::ptr::null(), |off| rb.ring.buffer()[off..].as_ptr() as *const c_void)
        })?)
    } ?= std::ptr::null()
}

export! {
    /// `lws_ring_update_oldest_tail`: releases elements up to `tail`.
    fn lws_ring_update_oldest_tail(r: *mut c_void, tail: u32) {
        Ok(ring::with(r as usize, |rb| rb.release_to(tail))?)
    }
}

export! {
    /// `lws_ring_get_oldest_tail`.
    fn lws_ring_get_oldest_tail(r: *mut c_void) -> u32 {
        Ok(ring::with(r as usize, |rb| rb.ring.oldest())?)
    } ?= 0
}

export! {
    /// `lws_ring_next_linear_insert_range`: where the plugin may write new
    /// elements in place (`*start`) and how many bytes fit there without
    /// wrapping (`*bytes`); then it calls `lws_ring_bump_head`. Returns 0,
    /// or 1 when the ring is full.
    fn lws_ring_next_linear_insert_range(
        r: *mut c_void,
        start: *mut *mut c_void,
        bytes: *mut usize,
    ) -> c_int {
        if start.is_null() || bytes.is_null() {
            return Err(Fault::Null("start or bytes"));
        }
        let got = ring::with(r as usize, |rb| {
            rb.ring
                .linear_insert_range()
                .map(|(off, n)| (rb.ring.buffer_mut()[off..].as_mut_ptr() as *mut c_void, n))
        })?;
        let Some((at, n)) = got else {
            return Ok(1);
        };
        // SAFETY: both are the plugin's writable out-parameters (checked
        // non-null above).
        unsafe {
            *start = at;
            *bytes = n;
        }
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_ring_bump_head`: `bytes` were written at the head in place.
    fn lws_ring_bump_head(r: *mut c_void, bytes: usize) {
        let moved = ring::with(r as usize, |rb| {
            (rb.ring.bump_head(bytes), rb.ring.element_len())
        })?;
        if moved.0 * moved.1 != bytes {
            tracing::debug!(
                "lws_ring_bump_head: {bytes} bytes is not whole free elements; moved {} elements",
                moved.0
            );
        }
        Ok(())
    }
}

export! {
    /// `lws_ring_dump`: the ring's state in the log (notice level, as lws).
    fn lws_ring_dump(r: *mut c_void, tail: *mut u32) {
        // SAFETY: lws contract: `tail` is null or the plugin's `uint32_t`.
        let tail = unsafe { tail_of(tail) };
        let line = ring::with(r as usize, |rb| {
            let ring = &rb.ring;
            format!(
                "ring {r:p}: {} elements of {} bytes, head {}, oldest tail {}, free {}, \
                 waiting for tail {}: {}",
                ring.buffer().len() / ring.element_len(),
                ring.element_len(),
                ring.head(),
                ring.oldest(),
                ring.free(),
                tail.unwrap_or(ring.oldest()),
                ring.waiting(tail)
            )
        })?;
        tracing::info!("{line}");
        Ok(())
    }
}
