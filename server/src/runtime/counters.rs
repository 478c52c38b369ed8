//! Counters every layer bumps: per service thread, per vhost and per plugin
//! protocol, in atomics so any thread may bump them without locks. Read by
//! the status JSON and the metrics endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Counters of one vhost.
#[derive(Debug, Default)]
pub struct VhostStats {
    /// HTTP transactions answered.
    pub h1_trans: AtomicU64,
    /// WebSocket upgrades accepted.
    pub ws_upg: AtomicU64,
    /// Requests refused (4xx/5xx answered by the server itself).
    pub rejected: AtomicU64,
    /// Response body bytes sent (as far as known when answered).
    pub tx: AtomicU64,
    /// Responses by status class (index 0 = 1xx ... 4 = 5xx).
    pub by_class: [AtomicU64; 5],
}

/// Upper bounds (seconds) of the plugin callback latency histogram buckets.
pub const CALLBACK_BUCKETS: [f64; 10] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0,
];

/// How long one protocol's callbacks take (a Prometheus histogram).
#[derive(Debug, Default)]
pub struct CallbackTimes {
    /// Counts per bucket of [`CALLBACK_BUCKETS`], each only the callbacks
    /// that took longer than the bucket below it (one atomic add per
    /// callback, not one per bucket it falls under): [`CallbackTimes::cumulative`]
    /// gives Prometheus's cumulative counts (then +Inf = `count`).
    pub buckets: [AtomicU64; 10],
    /// Total nanoseconds.
    pub sum_ns: AtomicU64,
    /// Callbacks.
    pub count: AtomicU64,
    /// Connections bound to the protocol now.
    pub open: AtomicU64,
}

impl CallbackTimes {
    /// Records one callback's duration.
    pub fn record(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = CALLBACK_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Callbacks that took at most each bound of [`CALLBACK_BUCKETS`].
    pub fn cumulative(&self) -> [u64; 10] {
        let mut total = 0;
        std::array::from_fn(|i| {
            total += self.buckets[i].load(Ordering::Relaxed);
            total
        })
    }
}

/// Counters of one service thread.
#[derive(Debug, Default)]
pub struct ThreadStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

/// Most service threads counted separately.
pub const MAX_THREADS: usize = 64;

static THREADS: OnceLock<Vec<ThreadStats>> = OnceLock::new();
static START: OnceLock<Instant> = OnceLock::new();

/// Per-thread counters (index = tsi).
pub fn threads() -> &'static [ThreadStats] {
    THREADS.get_or_init(|| (0..MAX_THREADS).map(|_| ThreadStats::default()).collect())
}

/// Connections open on all service threads.
pub fn open_connections() -> u64 {
    threads()
        .iter()
        .map(|t| t.open.load(Ordering::Relaxed))
        .sum()
}

/// Marks the start time (call once at start-up).
pub fn start() {
    let _ = START.set(Instant::now());
    threads();
}

/// Seconds since start-up.
pub fn uptime_secs() -> u64 {
    START.get().map_or(0, |s| s.elapsed().as_secs())
}

#[cfg(test)]
mod tests {
    use super::CallbackTimes;
    use std::time::Duration;

    #[test]
    fn callback_histogram_reads_cumulative() {
        let t = CallbackTimes::default();
        t.record(Duration::from_micros(5)); // <= 10 us
        t.record(Duration::from_micros(10)); // on the bound: <= 10 us
        t.record(Duration::from_micros(300)); // <= 500 us
        t.record(Duration::from_secs(2)); // above every bound: +Inf only
        assert_eq!(t.cumulative(), [2, 2, 2, 3, 3, 3, 3, 3, 3, 3]);
        assert_eq!(t.count.load(std::sync::atomic::Ordering::Relaxed), 4);
    }
}
