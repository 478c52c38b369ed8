//! `lws_ring`: a fixed ring of fixed-size elements with one head and any
//! number of consumer tails (plugins keep their own `uint32_t` tails; the
//! ring tracks the oldest one). lws's mirror plugin is built on it. Tails
//! here are element indices, opaque to plugins as in lws.

/// The ring. Holds at most `count - 1` elements, as lws's does.
#[derive(Debug)]
pub struct Ring {
    elem: usize,
    count: u32,
    buf: Vec<u8>,
    head: u32,
    oldest: u32,
}

impl Ring {
    /// A ring of `count` slots of `elem` bytes (None for absurd sizes).
    pub fn new(elem: usize, count: usize) -> Option<Ring> {
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
    pub fn waiting(&self, tail: Option<u32>) -> usize {
        let t = tail.unwrap_or(self.oldest) % self.count;
        ((self.head + self.count - t) % self.count) as usize
    }

    /// Free slots.
    pub fn free(&self) -> usize {
        self.count as usize - 1 - self.waiting(None)
    }

    /// Copies up to `n` whole elements from `src` in; returns how many fit.
    pub fn insert(&mut self, src: &[u8], n: usize) -> usize {
        let n = n.min(self.free()).min(src.len() / self.elem);
        for i in 0..n {
            let at = self.head as usize * self.elem;
            self.buf[at..at + self.elem].copy_from_slice(&src[i * self.elem..(i + 1) * self.elem]);
            self.head = (self.head + 1) % self.count;
        }
        n
    }

    /// The element at `tail` (oldest when `None`), if one is waiting.
    pub fn element(&self, tail: Option<u32>) -> Option<&[u8]> {
        if self.waiting(tail) == 0 {
            return None;
        }
        let at = (tail.unwrap_or(self.oldest) % self.count) as usize * self.elem;
        Some(&self.buf[at..at + self.elem])
    }

    /// Byte offset of the element at `tail`, if one is waiting.
    pub fn element_offset(&self, tail: Option<u32>) -> Option<usize> {
        (self.waiting(tail) > 0)
            .then(|| (tail.unwrap_or(self.oldest) % self.count) as usize * self.elem)
    }

    /// Advances `tail` past up to `n` waiting elements, copying them to
    /// `dest` when given; returns (elements consumed, new tail).
    pub fn consume(&self, tail: u32, dest: Option<&mut [u8]>, n: usize) -> (usize, u32) {
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
    pub fn update_oldest(&mut self, tail: u32, mut released: impl FnMut(&mut [u8])) {
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
    pub fn oldest(&self) -> u32 {
        self.oldest
    }

    /// The whole buffer (for pointers handed to plugins).
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }
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
}
