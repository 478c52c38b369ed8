//! `lwsac`: lws's chunked arena. A plugin keeps a `struct lwsac *`
//! (NULL to start); `lwsac_use` hands out pointer-aligned pieces of the
//! current chunk, starting a new chunk when it is full; everything is freed
//! at once (`lwsac_free`), or when the last reference goes after a detach.
//!
//! The plugin's `struct lwsac *` is a handle of this table, never
//! dereferenced. Chunks are boxed slices that never move or shrink while
//! the arena lives, so the pointers handed out stay valid until it is freed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// lws's default chunk size when the caller passes 0.
pub(crate) const DEFAULT_CHUNK: usize = 4000;

/// What each chunk costs beyond its usable bytes, for
/// `lwsac_total_alloc` (lws counts its own chunk header).
const CHUNK_OVERHEAD: usize = 32;

/// Rounds up to the size of a pointer, as lws aligns every piece.
pub(crate) fn align(n: usize) -> usize {
    let a = std::mem::size_of::<usize>();
    n.div_ceil(a) * a
}

/// One chunk: its bytes (in `u64`s, so the start is 8-aligned) and how
/// many are used.
#[derive(Debug)]
struct Chunk {
    mem: Box<[u64]>,
    used: usize,
}

impl Chunk {
    fn new(bytes: usize) -> Chunk {
        Chunk {
            mem: vec![0u64; bytes.div_ceil(8)].into_boxed_slice(),
            used: 0,
        }
    }

    fn size(&self) -> usize {
        self.mem.len() * 8
    }

    fn free(&self) -> usize {
        self.size() - self.used
    }
}

/// One arena.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    chunks: Vec<Chunk>,
    refcount: u32,
    detached: bool,
    total: u64,
}

impl Arena {
    /// A piece of `ensure` bytes (zeroed past `ensure` up to its aligned
    /// end): its chunk and offset. `backfill` looks in every chunk for
    /// room first, else only the newest.
    pub(crate) fn use_bytes(
        &mut self,
        ensure: usize,
        chunk_size: usize,
        backfill: bool,
    ) -> (usize, usize) {
        let al = align(ensure);
        let found = if backfill {
            self.chunks.iter().position(|c| c.free() >= al)
        } else {
            let last = self.chunks.len().checked_sub(1);
            last.filter(|&i| self.chunks[i].free() >= al)
        };
        let i = match found {
            Some(i) => i,
            None => {
                let size = if chunk_size == 0 {
                    DEFAULT_CHUNK
                } else {
                    chunk_size
                }
                .max(al);
                self.chunks.push(Chunk::new(size));
                self.total += (self.chunks[self.chunks.len() - 1].size() + CHUNK_OVERHEAD) as u64;
                self.chunks.len() - 1
            }
        };
        let c = &mut self.chunks[i];
        let at = c.used;
        c.used += al;
        (i, at)
    }

    /// Where chunk `i`'s bytes start.
    pub(crate) fn chunk_ptr(&mut self, i: usize) -> *mut u8 {
        self.chunks[i].mem.as_mut_ptr() as *mut u8
    }

    /// Zeroes `n` bytes at `at` in chunk `i`.
    pub(crate) fn zero(&mut self, i: usize, at: usize, n: usize) {
        let c = &mut self.chunks[i];
        let end = (at + n).min(c.size());
        for w in at..end {
            let (word, byte) = (w / 8, w % 8);
            c.mem[word] &= !(0xffu64 << (byte * 8));
        }
    }

    /// Grows the newest piece by `amount` (aligned, zeroed) if the chunk
    /// has room: lws's `lwsac_extend`. False when it has not.
    pub(crate) fn extend(&mut self, amount: usize) -> bool {
        let al = align(amount);
        let Some(c) = self.chunks.last_mut() else {
            return false;
        };
        if c.free() < al {
            return false;
        }
        let at = c.used;
        c.used += al;
        let i = self.chunks.len() - 1;
        self.zero(i, at, al);
        true
    }

    /// Bytes allocated, with lws's per-chunk overhead.
    pub(crate) fn total_alloc(&self) -> u64 {
        self.total
    }

    /// Bytes allocated but not handed out, plus the per-chunk overhead.
    pub(crate) fn total_overhead(&self) -> u64 {
        self.chunks
            .iter()
            .map(|c| (c.free() + CHUNK_OVERHEAD) as u64)
            .sum()
    }
}

/// The arenas plugins hold, by handle.
static ARENAS: Mutex<Option<HashMap<usize, Arena>>> = Mutex::new(None);
/// Handles count up from here, in steps of 16: never NULL, never reused
/// while the server runs, and unlike any real pointer a plugin holds.
static NEXT: AtomicUsize = AtomicUsize::new(0x1ac0_0000);

/// Why an lwsac call was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LwsacError {
    /// Not a handle of a live arena.
    #[error("{0:#x} is not a live lwsac")]
    Unknown(usize),
}

/// Runs `f` on the arena `handle` (0: makes a new one and stores its
/// handle through `set`).
pub(crate) fn with<R>(
    handle: usize,
    create: bool,
    f: impl FnOnce(&mut Arena) -> R,
) -> Result<(usize, R), LwsacError> {
    let mut g = ARENAS.lock().unwrap_or_else(|e| e.into_inner());
    let map = g.get_or_insert_with(HashMap::new);
    let handle = if handle == 0 && create {
        let h = NEXT.fetch_add(16, Ordering::Relaxed);
        map.insert(h, Arena::default());
        h
    } else {
        handle
    };
    let a = map.get_mut(&handle).ok_or(LwsacError::Unknown(handle))?;
    Ok((handle, f(a)))
}

/// Frees the arena (and every piece handed out of it).
pub(crate) fn free(handle: usize) -> Result<(), LwsacError> {
    let mut g = ARENAS.lock().unwrap_or_else(|e| e.into_inner());
    let map = g.get_or_insert_with(HashMap::new);
    map.remove(&handle)
        .map(drop)
        .ok_or(LwsacError::Unknown(handle))
}

/// `lwsac_detach`: freed now if nobody holds a reference, else when the
/// last one goes. True when it was freed.
pub(crate) fn detach(handle: usize) -> Result<bool, LwsacError> {
    let (_, free_now) = with(handle, false, |a| {
        a.detached = true;
        a.refcount == 0
    })?;
    if free_now {
        free(handle)?;
    }
    Ok(free_now)
}

/// `lwsac_reference`.
pub(crate) fn reference(handle: usize) -> Result<(), LwsacError> {
    with(handle, false, |a| a.refcount += 1).map(drop)
}

/// `lwsac_unreference`: true when that freed a detached arena.
pub(crate) fn unreference(handle: usize) -> Result<bool, LwsacError> {
    let (_, free_now) = with(handle, false, |a| {
        if a.refcount == 0 {
            tracing::warn!("lwsac_unreference: refcount going below zero");
        }
        a.refcount = a.refcount.saturating_sub(1);
        a.detached && a.refcount == 0
    })?;
    if free_now {
        free(handle)?;
    }
    Ok(free_now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_aligned_and_chunks_grow() {
        let mut a = Arena::default();
        assert_eq!(a.use_bytes(3, 64, false), (0, 0));
        assert_eq!(a.use_bytes(8, 64, false), (0, 8));
        // Too big for what is left: a new chunk, sized for it.
        assert_eq!(a.use_bytes(100, 64, false), (1, 0));
        assert_eq!(a.chunks[1].size(), 104);
        // Without backfill the older chunk's room is not used...
        assert_eq!(a.use_bytes(8, 64, false), (2, 0));
        // ... with it, it is.
        assert_eq!(a.use_bytes(8, 64, true), (0, 16));
        assert_eq!(a.total_alloc(), (64 + 104 + 64 + 3 * CHUNK_OVERHEAD) as u64);
        assert!(a.extend(8));
        assert!(!a.extend(1000));
    }

    #[test]
    fn detached_arenas_go_with_their_last_reference() {
        let (h, _) = with(0, true, |a| a.use_bytes(10, 0, false)).unwrap();
        reference(h).unwrap();
        assert!(!detach(h).unwrap());
        assert!(with(h, false, |_| ()).is_ok());
        assert!(unreference(h).unwrap());
        assert!(with(h, false, |_| ()).is_err());
        let (h, _) = with(0, true, |_| ()).unwrap();
        assert!(detach(h).unwrap());
        assert!(free(h).is_err());
    }
}
