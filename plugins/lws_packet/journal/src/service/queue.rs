//! The writer's queue: appends from any thread, taken by the writer in
//! batches. Unlike a channel, a sender wakes the writer only when the
//! writer waits and the queue holds as many as it waits for, so a writer
//! gathering a group commit of 50 packets is woken once, not 50 times
//! (with the event loop and the writer on one core, each wake-up is two
//! context switches taken from the event loop).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    closed: bool,
    /// The writer waits until the queue holds this many (0: not waiting).
    want: usize,
}

/// A multi-producer queue with one consumer that waits for a count.
#[derive(Debug)]
pub(super) struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> Queue<T> {
    pub(super) fn new() -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
                want: 0,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `item`; gives it back when the queue is closed.
    pub(super) fn push(&self, item: T) -> Result<(), T> {
        let mut st = self.lock();
        if st.closed {
            return Err(item);
        }
        st.items.push_back(item);
        let wake = st.want != 0 && st.items.len() >= st.want;
        if wake {
            st.want = 0;
        }
        drop(st);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// No more items: the writer takes what is left, then sees it closed.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Waits until the queue holds at least `n` items, is closed, or
    /// `until` passes.
    pub(super) fn wait_for(&self, n: usize, until: Instant) {
        let mut st = self.lock();
        while st.items.len() < n && !st.closed {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st.want = n;
            st = self
                .ready
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.want = 0;
    }

    /// Moves queued items into `out` while `out` holds fewer than
    /// `max_items` and `bytes` (counted with `size`) is under `max_bytes`.
    /// False once the queue is closed and empty.
    pub(super) fn take(
        &self,
        out: &mut Vec<T>,
        bytes: &mut usize,
        max_items: usize,
        max_bytes: usize,
        size: impl Fn(&T) -> usize,
    ) -> bool {
        let mut st = self.lock();
        while out.len() < max_items && *bytes < max_bytes {
            let Some(item) = st.items.pop_front() else {
                break;
            };
            *bytes += size(&item);
            out.push(item);
        }
        !(st.closed && st.items.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn the_writer_is_woken_once_the_count_it_waits_for_is_there() {
        let q = Arc::new(Queue::new());
        let q2 = q.clone();
        let t = std::thread::spawn(move || {
            q2.wait_for(3, Instant::now() + Duration::from_secs(30));
            let mut out = Vec::new();
            let mut bytes = 0;
            q2.take(&mut out, &mut bytes, 100, 100, |_| 1);
            out
        });
        for i in 0..3 {
            q.push(i).unwrap();
        }
        assert_eq!(t.join().unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn a_wait_ends_at_its_deadline_and_takes_respect_the_limits() {
        let q = Queue::new();
        q.push(7u32).unwrap();
        // Only one of the two: it returns at its deadline.
        q.wait_for(2, Instant::now() + Duration::from_millis(20));
        for i in 0..4 {
            q.push(i).unwrap();
        }
        let (mut out, mut bytes) = (Vec::new(), 0);
        assert!(q.take(&mut out, &mut bytes, 2, 100, |_| 1));
        assert_eq!(out, vec![7, 0]);
        let (mut out, mut bytes) = (Vec::new(), 0);
        assert!(q.take(&mut out, &mut bytes, 100, 10, |v| *v as usize * 10));
        // 10 bytes: the limit is reached after the first.
        assert_eq!(out, vec![1]);
    }

    #[test]
    fn a_closed_queue_gives_what_it_holds_then_says_so() {
        let q = Queue::new();
        q.push(1).unwrap();
        q.close();
        assert_eq!(q.push(2), Err(2));
        // Closing ends any wait at once.
        q.wait_for(5, Instant::now() + Duration::from_secs(30));
        let (mut out, mut bytes) = (Vec::new(), 0);
        assert!(!q.take(&mut out, &mut bytes, 100, 100, |_| 1));
        assert_eq!(out, vec![1]);
    }
}
