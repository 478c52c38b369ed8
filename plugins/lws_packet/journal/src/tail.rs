//! The live tail: the most recent committed packets, kept in memory (within
//! a byte budget) so live subscribers never touch the disk. A subscriber
//! whose next id has left the tail reads the journal instead.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::record::Packet;

/// Recent packets, contiguous ids, oldest first.
#[derive(Debug, Default)]
pub struct Tail {
    q: VecDeque<Arc<Packet>>,
    bytes: usize,
    budget: usize,
}

/// The id asked for is older than the tail: read the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Miss;

impl Tail {
    /// An empty tail holding about `budget` bytes.
    pub fn new(budget: usize) -> Tail {
        Tail {
            budget,
            ..Tail::default()
        }
    }

    /// Adds a just-committed packet (ids arrive in order), dropping the
    /// oldest past the budget (the newest is always kept).
    pub fn push(&mut self, p: Arc<Packet>) {
        if self.q.back().is_some_and(|b| b.id + 1 != p.id) {
            // Not contiguous (cannot happen in one run): start over.
            self.q.clear();
            self.bytes = 0;
        }
        self.bytes += p.weight();
        self.q.push_back(p);
        while self.bytes > self.budget && self.q.len() > 1 {
            if let Some(old) = self.q.pop_front() {
                self.bytes -= old.weight();
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Up to `max` packets from id `from` (and about `max_bytes`), nothing
    /// when `from` is past the newest; [`Miss`] when it is older than the
    /// oldest held (or the tail is empty and `from` is not past `committed`).
    pub fn get(
        &self,
        from: u64,
        committed: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<Arc<Packet>>, Miss> {
        let mut out = VecDeque::new();
        self.get_into(from, committed, max, max_bytes, &mut out)?;
        Ok(out.into())
    }

    /// [`get`](Tail::get) appending to `out` (a subscriber's queue, so a
    /// live delivery allocates nothing); the count appended.
    pub fn get_into(
        &self,
        from: u64,
        committed: u64,
        max: usize,
        max_bytes: usize,
        out: &mut VecDeque<Arc<Packet>>,
    ) -> Result<usize, Miss> {
        if from > committed {
            return Ok(0);
        }
        let Some(front) = self.q.front() else {
            return Err(Miss);
        };
        if from < front.id {
            return Err(Miss);
        }
        let start = usize::try_from(from - front.id).unwrap_or(usize::MAX);
        let (mut n, mut bytes) = (0, 0);
        for p in self.q.range(start.min(self.q.len())..) {
            if p.id > committed || n >= max || (bytes >= max_bytes && n > 0) {
                break;
            }
            bytes += p.data.len();
            out.push_back(p.clone());
            n += 1;
        }
        if n == 0 {
            // Committed but not here (the tail restarted): the journal has it.
            return Err(Miss);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: u64, n: usize) -> Arc<Packet> {
        Arc::new(Packet::new(id, 0, String::new(), vec![0; n]))
    }

    #[test]
    fn keeps_the_newest_within_budget() {
        let mut t = Tail::new(1000);
        for id in 1..=20 {
            t.push(p(id, 100));
        }
        assert!(t.bytes() <= 1000);
        assert!(matches!(t.get(1, 20, 100, usize::MAX), Err(Miss)));
        let got = t.get(18, 20, 100, usize::MAX).unwrap();
        assert_eq!(got.iter().map(|p| p.id).collect::<Vec<_>>(), [18, 19, 20]);
        assert!(t.get(21, 20, 100, usize::MAX).unwrap().is_empty());
        assert_eq!(t.get(18, 20, 1, usize::MAX).unwrap().len(), 1);
        assert_eq!(t.get(18, 19, 100, usize::MAX).unwrap().len(), 2);
        // One oversized packet is still kept.
        t.push(p(21, 5000));
        assert_eq!(t.get(21, 21, 10, 10).unwrap().len(), 1);
    }

    #[test]
    fn empty_tail_misses_committed_ids() {
        let t = Tail::new(1000);
        assert!(matches!(t.get(5, 10, 10, 10), Err(Miss)));
        assert!(t.get(11, 10, 10, 10).unwrap().is_empty());
    }
}
