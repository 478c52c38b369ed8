//! `lws_ring`: a fixed ring of fixed-size elements with one head and any
//! number of consumer tails (plugins keep their own `uint32_t` tails; the
//! ring tracks the oldest one). lws's mirror plugin is built on it. Tails
//! here are element indices, opaque to plugins as in lws.
//!
//! Rings plugins make live in a table of handles ([`create`], [`with`],
//! [`destroy`]). A ring may be shared by several service threads (the
//! plugin guards it, as with lws), so each sits behind a mutex. The ring
//! calls the plugin's `destroy_element` while it releases elements, holding
//! the ring: a ring call from inside `destroy_element` on the same ring
//! would alias it (or free it under the running call), so it is refused
//! ([`RingError::Busy`]); another thread's call waits its turn.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The ring. Holds at most `count - 1` elements, as lws's does.
#[derive(Debug)]
pub(crate) struct Ring {
    elem: usize,
    count: u32,
    buf: Vec<u8>,
    head: u32,
    oldest: u32,
}

impl Ring {
    /// A ring of `count` slots of `elem` bytes (None for absurd sizes).
    pub(crate) fn new(elem: usize, count: usize) -> Option<Ring> {
        if elem == 0 || count < 2 || count > u32::MAX as usize {
            return None;
        }
        let bytes = elem.checked_mul(count)?;
        if bytes > 1 << 30 {
            return None;
        }
        Some(Ring {
            elem,
            count: count as u32,
            buf: vec![0; bytes],
            head: 0,
            oldest: 0,
        })
    }

    /// Elements waiting for `tail` (the oldest tail when `None`).
    pub(crate) fn waiting(&self, tail: Option<u32>) -> usize {
        let t = tail.unwrap_or(self.oldest) % self.count;
        ((self.head + self.count - t) % self.count) as usize
    }

    /// Free slots.
    pub(crate) fn free(&self) -> usize {
        self.count as usize - 1 - self.waiting(None)
    }

    /// Copies up to `n` whole elements from `src` in; returns how many fit.
    pub(crate) fn insert(&mut self, src: &[u8], n: usize) -> usize {
        let n = n.min(self.free()).min(src.len() / self.elem);
        for i in 0..n {
            let at = self.head as usize * self.elem;
            self.buf[at..at + self.elem].copy_from_slice(&src[i * self.elem..(i + 1) * self.elem]);
            self.head = (self.head + 1) % self.count;
        }
        n
    }

    /// The element at `tail` (oldest when `None`), if one is waiting.
    #[cfg(test)]
    pub(crate) fn element(&self, tail: Option<u32>) -> Option<&[u8]> {
        if self.waiting(tail) == 0 {
            return None;
        }
        let at = (tail.unwrap_or(self.oldest) % self.count) as usize * self.elem;
        Some(&self.buf[at..at + self.elem])
    }

    /// Byte offset of the element at `tail`, if one is waiting.
    pub(crate) fn element_offset(&self, tail: Option<u32>) -> Option<usize> {
        (self.waiting(tail) > 0)
            .then(|| (tail.unwrap_or(self.oldest) % self.count) as usize * self.elem)
    }

    /// Advances `tail` past up to `n` waiting elements, copying them to
    /// `dest` when given; returns (elements consumed, new tail).
    pub(crate) fn consume(&self, tail: u32, dest: Option<&mut [u8]>, n: usize) -> (usize, u32) {
        let n = n.min(self.waiting(Some(tail)));
        let mut t = tail % self.count;
        let mut dest = dest;
        for i in 0..n {
            if let Some(d) = dest.as_deref_mut() {
                if d.len() >= (i + 1) * self.elem {
                    let at = t as usize * self.elem;
                    d[i * self.elem..(i + 1) * self.elem]
                        .copy_from_slice(&self.buf[at..at + self.elem]);
                }
            }
            t = (t + 1) % self.count;
        }
        (n, t)
    }

    /// Moves the oldest tail to `tail`, handing each element it passes to
    /// `released` (lws's `destroy_element`).
    pub(crate) fn update_oldest(&mut self, tail: u32, mut released: impl FnMut(&mut [u8])) {
        let tail = tail % self.count;
        let steps = (tail + self.count - self.oldest) % self.count;
        if steps as usize > self.waiting(None) {
            return; // not between oldest and head: ignore, as a corrupt tail
        }
        while self.oldest != tail {
            let at = self.oldest as usize * self.elem;
            released(&mut self.buf[at..at + self.elem]);
            self.oldest = (self.oldest + 1) % self.count;
        }
    }

    /// The oldest tail.
    pub(crate) fn oldest(&self) -> u32 {
        self.oldest
    }

    /// Bytes per element.
    pub(crate) fn element_len(&self) -> usize {
        self.elem
    }

    /// The whole buffer (for pointers handed to plugins).
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The whole buffer, writable (for `lws_ring_next_linear_insert_range`).
    pub(crate) fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Where the head is, as a byte offset, and how many bytes from there
    /// may be written without wrapping (whole free elements); None when
    /// the ring is full.
    pub(crate) fn linear_insert_range(&self) -> Option<(usize, usize)> {
        let free = self.free();
        if free == 0 {
            return None;
        }
        let to_end = (self.count - self.head) as usize;
        Some((self.head as usize * self.elem, free.min(to_end) * self.elem))
    }

    /// Moves the head on by `bytes` written in place: whole elements only,
    /// at most the free ones. Returns how many elements it moved.
    pub(crate) fn bump_head(&mut self, bytes: usize) -> usize {
        let n = (bytes / self.elem).min(self.free());
        self.head = ((self.head as usize + n) % self.count as usize) as u32;
        n
    }

    /// The head, as an element index.
    pub(crate) fn head(&self) -> u32 {
        self.head
    }
}

/// What the plugin's `destroy_element` does with a released element.
pub(crate) type Release = Box<dyn FnMut(&mut [u8]) + Send>;

/// A plugin's ring and its `destroy_element`.
pub(crate) struct RingBox {
    /// The ring.
    pub(crate) ring: Ring,
    release: Option<Release>,
}

impl RingBox {
    /// Moves the oldest tail to `tail`, releasing what it passes.
    pub(crate) fn release_to(&mut self, tail: u32) {
        let release = &mut self.release;
        self.ring.update_oldest(tail, |e| {
            if let Some(r) = release.as_mut() {
                r(e)
            }
        });
    }

    /// `lws_ring_consume`: up to `max` elements from `tail` (the oldest
    /// when `None`, which also releases them), copied into `dest` when
    /// given. Returns (elements consumed, the tail after them).
    pub(crate) fn consume(
        &mut self,
        tail: Option<u32>,
        dest: Option<&mut [u8]>,
        max: usize,
    ) -> (usize, u32) {
        let from = tail.unwrap_or(self.ring.oldest());
        let (done, after) = self.ring.consume(from, dest, max);
        if tail.is_none() {
            self.release_to(after);
        }
        (done, after)
    }
}

/// Why a ring call was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RingError {
    /// Not a handle the host gave out (or one already destroyed).
    #[error("{0:#x} is not a ring")]
    Unknown(usize),
    /// The ring is running the `destroy_element` this call comes from.
    #[error(
        "re-entrant call refused: the ring is running the destroy_element this call comes from"
    )]
    Busy,
}

struct Slot {
    /// The thread holding `state` ([`me`]), or 0.
    holder: AtomicUsize,
    state: Mutex<RingBox>,
}

static RINGS: Mutex<Option<HashMap<usize, Arc<Slot>>>> = Mutex::new(None);

fn rings<R>(f: impl FnOnce(&mut HashMap<usize, Arc<Slot>>) -> R) -> R {
    f(RINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new))
}

/// This thread, as a non-zero number no other live thread has.
fn me() -> usize {
    thread_local! {
        static ME: u8 = const { 0 };
    }
    ME.with(|m| m as *const u8 as usize)
}

/// A ring held by this thread.
struct Held<'a> {
    slot: &'a Slot,
    state: MutexGuard<'a, RingBox>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Before `state` unlocks (fields drop after this).
        self.slot.holder.store(0, Ordering::Relaxed);
    }
}

/// Takes the ring, waiting for another thread's call to end; refused if
/// this thread holds it already. Only this thread ever writes its own
/// number into `holder`, so reading it there means "held here".
fn hold(slot: &Slot) -> Result<Held<'_>, RingError> {
    if slot.holder.load(Ordering::Relaxed) == me() {
        return Err(RingError::Busy);
    }
    let state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
    slot.holder.store(me(), Ordering::Relaxed);
    Ok(Held { slot, state })
}

/// Registers a ring; its handle.
pub(crate) fn create(ring: Ring, release: Option<Release>) -> usize {
    let slot = Arc::new(Slot {
        holder: AtomicUsize::new(0),
        state: Mutex::new(RingBox { ring, release }),
    });
    let handle = Arc::as_ptr(&slot) as usize;
    rings(|t| t.insert(handle, slot));
    handle
}

/// Runs `f` on the ring behind `handle`.
pub(crate) fn with<R>(handle: usize, f: impl FnOnce(&mut RingBox) -> R) -> Result<R, RingError> {
    let slot = rings(|t| t.get(&handle).cloned()).ok_or(RingError::Unknown(handle))?;
    let mut held = hold(&slot)?;
    Ok(f(&mut held.state))
}

/// `lws_ring_destroy`: releases every waiting element, then forgets the
/// ring (freed once no call holds it).
pub(crate) fn destroy(handle: usize) -> Result<(), RingError> {
    with(handle, |rb| {
        let (_, head) = rb.ring.consume(rb.ring.oldest(), None, usize::MAX);
        rb.release_to(head);
        rings(|t| t.remove(&handle));
    })
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn insert_consume_and_oldest_tail() {
        let mut r = Ring::new(4, 4).unwrap();
        assert_eq!(r.free(), 3);
        assert_eq!(r.insert(b"aaaabbbbccccdddd", 4), 3, "one slot always empty");
        assert_eq!(r.free(), 0);
        let mut t = r.oldest();
        assert_eq!(r.element(Some(t)), Some(&b"aaaa"[..]));
        let mut out = [0u8; 8];
        let (n, nt) = r.consume(t, Some(&mut out), 2);
        assert_eq!((n, &out), (2, b"aaaabbbb"));
        t = nt;
        assert_eq!(r.waiting(Some(t)), 1);
        let mut released = Vec::new();
        r.update_oldest(t, |e| released.push(e.to_vec()));
        assert_eq!(released, vec![b"aaaa".to_vec(), b"bbbb".to_vec()]);
        assert_eq!(r.free(), 2);
        assert_eq!(r.insert(b"eeeeffff", 2), 2);
        let (n, t2) = r.consume(t, None, 10);
        assert_eq!(n, 3);
        assert_eq!(r.waiting(Some(t2)), 0);
        assert!(r.element(Some(t2)).is_none());
    }

    /// Writing in place: the range stops at the end of the buffer, the head
    /// moves by whole elements, never past the free ones.
    #[test]
    fn linear_insert_range_and_bump_head() {
        let mut r = Ring::new(2, 4).unwrap();
        assert_eq!(r.linear_insert_range(), Some((0, 6)));
        assert_eq!(r.bump_head(5), 2, "whole elements only");
        assert_eq!(r.head(), 2);
        let (n, t) = r.consume(r.oldest(), None, 2);
        assert_eq!(n, 2);
        r.update_oldest(t, |_| ());
        // Head at 2 of 4: two elements to the end of the buffer, three free.
        assert_eq!(r.linear_insert_range(), Some((4, 4)));
        assert_eq!(r.bump_head(100), 3, "at most the free elements");
        assert_eq!(r.linear_insert_range(), None);
        assert_eq!(r.head(), 1);
    }

    /// `destroy_element` calling back into its own ring is refused, and the
    /// call that ran it completes; the ring works afterwards.
    #[test]
    fn a_ring_call_from_destroy_element_is_refused() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};

        let handle = Arc::new(AtomicUsize::new(0));
        let inner = Arc::new(Mutex::new(Vec::new()));
        let (h2, inner2) = (handle.clone(), inner.clone());
        let h = super::create(
            Ring::new(4, 4).unwrap(),
            Some(Box::new(move |e: &mut [u8]| {
                let again = super::with(h2.load(Ordering::Relaxed), |rb| rb.ring.free());
                inner2.lock().unwrap().push((e.to_vec(), again.is_err()));
                let gone = super::destroy(h2.load(Ordering::Relaxed));
                assert!(matches!(gone, Err(super::RingError::Busy)));
            })),
        );
        handle.store(h, Ordering::Relaxed);
        assert_eq!(
            super::with(h, |rb| rb.ring.insert(b"aaaabbbb", 2)).unwrap(),
            2
        );
        let (n, _) = super::with(h, |rb| rb.consume(None, None, 1)).unwrap();
        assert_eq!(n, 1);
        assert_eq!(*inner.lock().unwrap(), [(b"aaaa".to_vec(), true)]);
        assert_eq!(super::with(h, |rb| rb.ring.waiting(None)).unwrap(), 1);
        // Another thread's call waits for the ring instead of being refused.
        let t = std::thread::spawn(move || super::with(h, |rb| rb.ring.free()).unwrap());
        assert_eq!(t.join().unwrap(), 2);
        super::destroy(h).unwrap();
        assert_eq!(inner.lock().unwrap().len(), 2);
        assert!(matches!(
            super::with(h, |_| ()),
            Err(super::RingError::Unknown(_))
        ));
    }
}
