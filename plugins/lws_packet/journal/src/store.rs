//! The small trait the [`Service`](crate::Service) runs on, so the packets
//! can live in the embedded segment log ([`crate::log`]) or in a Redis
//! stream shared by several servers ([`crate::redis`]).
//!
//! A store has two halves: [`Store`], the read side any thread may use, and
//! [`Appender`], the write side owned by the service's writer thread.

use std::io;

use crate::log::{Chunk, Entry};
use crate::record::Packet;
use crate::segment::Corruption;

/// What became of one appended entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded as this new packet.
    New(u64),
    /// Its idempotency key was recorded before, as this packet: nothing
    /// was stored.
    Replay(u64),
}

impl Outcome {
    /// The packet id.
    pub fn id(self) -> u64 {
        match self {
            Outcome::New(id) | Outcome::Replay(id) => id,
        }
    }
}

/// The read side of a packet store.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// What and where, for logs (`journal /var/lib/...`, `redis://.../key`).
    fn describe(&self) -> String;
    /// The oldest id still kept (or the next id when none is).
    fn first_id(&self) -> u64;
    /// Bytes the store holds (on disk, or in Redis's memory).
    fn stored_bytes(&self) -> u64;
    /// Segment files (0 for stores without them).
    fn segment_count(&self) -> usize;
    /// Packets with ids in `from..=upto`, about `max_bytes` of them (at
    /// least one). A gap (ids that no longer exist) comes back alone.
    fn read(&self, from: u64, upto: u64, max_bytes: usize) -> io::Result<Chunk>;
    /// Corrupt records that reads came across since the last call (they
    /// were reported to the readers as gaps).
    fn take_corruptions(&self) -> Vec<Corruption> {
        Vec::new()
    }
}

/// The write side of a packet store, owned by one thread.
pub trait Appender: Send {
    /// Records `entries`. Returns what became of them, in order: all of
    /// them, or the first few and the error that stopped the rest. An entry
    /// with a key recorded within the last `dedup_window_ms` (when given)
    /// is a [`Outcome::Replay`] of that packet, and is not stored again.
    fn append(
        &mut self,
        entries: &[Entry<'_>],
        dedup_window_ms: Option<i64>,
    ) -> (Vec<Outcome>, Option<io::Error>);
    /// Makes everything appended durable.
    fn sync(&mut self) -> io::Result<()>;
    /// Why the store stopped taking packets (a write or fsync failed), if
    /// it did; it takes them again after a successful [`Appender::reopen`].
    fn broken(&self) -> Option<String> {
        None
    }
    /// Opens the store again after it broke: cuts what was not durable
    /// (with `keep_written`, what was not written: the `never` policy
    /// acknowledges writes) and recovers as at start. Returns what it
    /// found; an error leaves it broken.
    fn reopen(&mut self, keep_written: bool) -> io::Result<crate::log::Recovery> {
        let _ = keep_written;
        Err(io::Error::other("this store does not reopen"))
    }
    /// Whether [`Appender::sync`] is the service's to call (the `fsync`
    /// policy applies). A store that is durable by its own configuration
    /// (Redis's `appendfsync`) says no, and appends are acknowledged as soon
    /// as the store has answered.
    fn syncs(&self) -> bool {
        true
    }
    /// Whether appended packets are live as soon as they are recorded.
    /// A shared store whose other writers interleave ids says no: a
    /// [`Follower`] then publishes every packet in id order.
    fn live_on_append(&self) -> bool {
        true
    }
    /// Drops the oldest packets while the store is over `max_bytes` or
    /// they are older than `max_age_ms`.
    fn retain(&mut self, max_bytes: Option<u64>, max_age_ms: Option<i64>, now_ms: i64);
}

/// Reads a shared store's new packets in id order, whoever appended them.
pub trait Follower: Send {
    /// Waits (about `wait`) for packets after `after`, and returns them in
    /// id order (none on a timeout).
    fn next(&mut self, after: u64, wait: std::time::Duration) -> io::Result<Vec<Packet>>;
}

/// A store opened: its halves, an optional follower, and what opening
/// found.
pub struct Opened {
    /// The read side.
    pub store: std::sync::Arc<dyn Store>,
    /// The write side.
    pub appender: Box<dyn Appender>,
    /// For stores that are not live on append.
    pub follower: Option<Box<dyn Follower>>,
    /// What opening found.
    pub recovery: crate::log::Recovery,
}
