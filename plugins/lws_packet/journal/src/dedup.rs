//! The idempotency index of the segment log: each key recorded within the
//! dedup window and the id of its packet, so a retried packet is answered
//! with the original id instead of being stored again.
//!
//! Memory is bounded by the window: entries leave in the order they came
//! once older than it. At open, the index is rebuilt from the records of
//! the window (their keys are in the journal), so it holds across restarts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Keys and their packet ids, oldest first.
#[derive(Debug, Default)]
pub struct Dedup {
    map: HashMap<Arc<[u8]>, (u64, i64)>,
    order: VecDeque<(i64, u64, Arc<[u8]>)>,
}

impl Dedup {
    /// The id recorded for `key` at or after `since_ms`.
    pub fn get(&self, key: &[u8], since_ms: i64) -> Option<u64> {
        self.map
            .get(key)
            .filter(|&&(_, ts)| ts >= since_ms)
            .map(|&(id, _)| id)
    }

    /// Records that `key` is packet `id`, recorded at `ts_ms`.
    pub fn insert(&mut self, key: &[u8], id: u64, ts_ms: i64) {
        let key: Arc<[u8]> = Arc::from(key);
        self.map.insert(key.clone(), (id, ts_ms));
        self.order.push_back((ts_ms, id, key));
    }

    /// Forgets `key` if it is packet `id` (a write that failed).
    pub fn remove(&mut self, key: &[u8], id: u64) {
        if self.map.get(key).is_some_and(|&(i, _)| i == id) {
            self.map.remove(key);
        }
    }

    /// Drops the entries older than `since_ms`.
    pub fn expire(&mut self, since_ms: i64) {
        while let Some((ts, id, key)) = self.order.front() {
            if *ts >= since_ms {
                break;
            }
            if self.map.get(key).is_some_and(|&(i, _)| i == *id) {
                self.map.remove(key);
            }
            self.order.pop_front();
        }
    }

    /// Forgets the packets above `id` (cut when the journal reopened).
    pub fn forget_above(&mut self, id: u64) {
        self.map.retain(|_, &mut (i, _)| i <= id);
        self.order.retain(|&(_, i, _)| i <= id);
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No keys held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_expire_with_the_window_and_cuts_forget_them() {
        let mut d = Dedup::default();
        d.insert(b"a", 1, 100);
        d.insert(b"b", 2, 200);
        d.insert(b"c", 3, 300);
        assert_eq!(d.get(b"a", 0), Some(1));
        assert_eq!(d.get(b"a", 150), None, "outside the window");
        d.expire(150);
        assert_eq!((d.len(), d.get(b"a", 0)), (2, None));
        d.remove(b"b", 99);
        assert_eq!(d.get(b"b", 0), Some(2), "only its own id removes a key");
        d.remove(b"b", 2);
        assert_eq!(d.get(b"b", 0), None);
        d.insert(b"d", 4, 400);
        d.forget_above(3);
        assert_eq!((d.get(b"c", 0), d.get(b"d", 0)), (Some(3), None));
        d.expire(i64::MAX);
        assert!(d.is_empty());
    }
}
