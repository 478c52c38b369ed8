//! `lws_ring`, over the host's [`Ring`](crate::host::ring::Ring).

use super::*;

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
