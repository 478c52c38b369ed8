//! How long the writer gathers one group commit under `fsync: always`.
//!
//! Senders that wait for their answer before sending again (an HTTP client
//! posting one packet at a time, on each of its connections) come back
//! right after their acknowledgement, while the next sync is already
//! running if the writer started it at once with whatever was queued. They
//! then split into two cohorts that take turns, each waiting for a sync
//! and a half, and every sync carries only about half of them. Measured
//! with 50 such connections on a disk whose fdatasync takes ~4 ms: ~16
//! packets per sync.
//!
//! So before a sync the writer waits for the senders it has just
//! answered: it expects what was queued during the last sync plus as many
//! as that sync acknowledged, and goes ahead once they are there, or after
//! about one sync (at least [`MIN_WAIT`], at most [`MAX_WAIT`]). A lone
//! sender (one answered, one expected) never waits. The queue wakes the
//! writer only when the count is there, so the wait costs the event loop
//! nothing. Durability is untouched: a packet is still answered only after
//! the sync that covers it.

use std::time::Duration;

/// The shortest bound on a wait for company. On a fast disk (or tmpfs) a
/// sync is shorter than the event loop takes to answer 50 clients and read
/// their next packets, and a commit of a few packets costs it more (waking
/// the writer, the wake-up back) than the wait: with 50 posting
/// connections on tmpfs, 2.5 packets per sync and 14,100 packets/s with a
/// 250 us bound, 33 and 16,900/s with this one.
const MIN_WAIT: Duration = Duration::from_millis(2);
/// The longest a commit waits for company.
const MAX_WAIT: Duration = Duration::from_millis(25);

/// How a commit waits for company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// The longest wait.
    pub(super) most: Duration,
}

/// The writer's memory of recent commits.
#[derive(Debug, Default)]
pub(super) struct Gather {
    /// The recent time of one sync (a moving average).
    sync: Duration,
    /// Answers the last commit gave: their senders may be back.
    answered: usize,
}

impl Gather {
    /// Notes a sync that took `took`.
    pub(super) fn synced(&mut self, took: Duration) {
        self.sync = if self.sync.is_zero() {
            took
        } else {
            (self.sync * 7 + took) / 8
        };
    }

    /// Notes that `n` packets were just answered.
    pub(super) fn answered(&mut self, n: usize) {
        self.answered = n;
    }

    /// How many packets the next commit may expect, with `queued` of them
    /// found waiting when the last one was answered.
    pub(super) fn expect(&self, queued: usize) -> usize {
        queued + self.answered
    }

    /// How to wait for them, or `None` when the commit should not wait
    /// (it has `have` packets, or there was no sync yet).
    pub(super) fn plan(&self, have: usize, queued: usize) -> Option<Plan> {
        if self.sync.is_zero() || have >= self.expect(queued) {
            return None;
        }
        Some(Plan {
            most: self.sync.clamp(MIN_WAIT, MAX_WAIT),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(sync_us: u64, answered: usize) -> Gather {
        let mut g = Gather::default();
        g.synced(Duration::from_micros(sync_us));
        g.answered(answered);
        g
    }

    #[test]
    fn senders_just_answered_are_waited_for_until_they_are_all_back() {
        // 25 answered, 25 queued during the sync: 50 expected.
        let g = after(4000, 25);
        assert_eq!(g.expect(25), 50);
        let p = g.plan(25, 25).unwrap();
        assert_eq!(p.most, Duration::from_millis(4));
        assert!(g.plan(49, 25).is_some());
        assert_eq!(g.plan(50, 25), None);
    }

    #[test]
    fn a_lone_sender_and_no_history_never_wait() {
        assert_eq!(after(4000, 1).plan(1, 0), None);
        assert_eq!(after(4000, 0).plan(1, 0), None);
        assert_eq!(Gather::default().plan(1, 0), None);
    }

    #[test]
    fn the_wait_follows_the_sync_time_within_bounds() {
        assert_eq!(
            after(4000, 10).plan(1, 0).unwrap().most,
            Duration::from_millis(4)
        );
        assert_eq!(after(5, 10).plan(1, 0).unwrap().most, MIN_WAIT);
        assert_eq!(after(60_000, 10).plan(1, 0).unwrap().most, MAX_WAIT);
        // A moving average: one slow sync moves it an eighth of the way.
        let mut g = after(800, 10);
        g.synced(Duration::from_micros(8800));
        assert_eq!(g.sync, Duration::from_micros(1800));
    }
}
