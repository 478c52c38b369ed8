//! Counters of the packet service, kept as atomics so any thread can read
//! them: what `lws-server-status` and the metrics endpoint will show once
//! they are wired (see the README), and what `GET <mount>/stats` shows now.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Packets recorded.
    pub packets_in: AtomicU64,
    /// Bytes of packet bodies recorded.
    pub bytes_in: AtomicU64,
    /// Group commits (appends written together).
    pub commits: AtomicU64,
    /// fdatasync calls.
    pub syncs: AtomicU64,
    /// Packets refused (too big, journal errors).
    pub refused: AtomicU64,
    /// Envelopes sent to subscribers (all kinds).
    pub delivered: AtomicU64,
    /// Journal reads for subscribers catching up.
    pub journal_reads: AtomicU64,
    /// Live subscribers (WebSocket, SSE, long-poll).
    pub subscribers: AtomicU64,
    /// Errors talking to a shared store (Redis) while following it.
    pub store_errors: AtomicU64,
    /// Packets answered with the id of an earlier one (idempotency key).
    pub replays: AtomicU64,
    /// Times the journal stopped taking packets (a write or fsync failed).
    pub journal_failures: AtomicU64,
    /// Times it reopened after that.
    pub journal_reopens: AtomicU64,
    /// Corrupt records found (a checksum that does not match).
    pub corruptions: AtomicU64,
    /// Packet ids lost to them.
    pub lost_packets: AtomicU64,
    /// Packets recorded per source (the sender's label), for senders that
    /// have one.
    pub by_source: Mutex<BTreeMap<String, u64>>,
}

/// A point-in-time copy, with the journal's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Metrics`].
    pub packets_in: u64,
    /// See [`Metrics`].
    pub bytes_in: u64,
    /// See [`Metrics`].
    pub commits: u64,
    /// See [`Metrics`].
    pub syncs: u64,
    /// See [`Metrics`].
    pub refused: u64,
    /// See [`Metrics`].
    pub delivered: u64,
    /// See [`Metrics`].
    pub journal_reads: u64,
    /// See [`Metrics`].
    pub subscribers: u64,
    /// See [`Metrics`].
    pub store_errors: u64,
    /// See [`Metrics`].
    pub replays: u64,
    /// See [`Metrics`].
    pub journal_failures: u64,
    /// See [`Metrics`].
    pub journal_reopens: u64,
    /// See [`Metrics`].
    pub corruptions: u64,
    /// See [`Metrics`].
    pub lost_packets: u64,
    /// `ok`, `full` (no space: refusing, retrying every second),
    /// `stopped` (a write or fsync failed: refusing, reopening on a
    /// backoff) or `unavailable` (the shared store cannot be reached).
    pub journal_state: &'static str,
    /// Why it is not `ok`.
    pub journal_error: Option<String>,
    /// Subscribers reading from the journal rather than live (as last
    /// reported by the plugin, once a second).
    pub catching_up: u64,
    /// Oldest id kept.
    pub first_id: u64,
    /// Newest committed id (0: none).
    pub last_id: u64,
    /// Bytes of segment files (Redis: its memory use of the stream).
    pub journal_bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// Bytes in the live tail.
    pub live_bytes: u64,
    /// Largest lag of a subscriber, in packets (as last reported).
    pub max_lag: u64,
    /// Packets recorded per source, by label.
    pub sources: Vec<(String, u64)>,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a packet recorded from `source`.
    pub fn count_source(&self, source: &str) {
        let mut m = self.by_source.lock().unwrap_or_else(|e| e.into_inner());
        match m.get_mut(source) {
            Some(n) => *n += 1,
            None => {
                m.insert(source.to_string(), 1);
            }
        }
    }

    /// Subtracts `n` from a gauge.
    pub fn sub(c: &AtomicU64, n: u64) {
        c.fetch_sub(n, Ordering::Relaxed);
    }

    /// The counters now (journal figures left at 0).
    pub fn counters(&self) -> Snapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            packets_in: g(&self.packets_in),
            bytes_in: g(&self.bytes_in),
            commits: g(&self.commits),
            syncs: g(&self.syncs),
            refused: g(&self.refused),
            delivered: g(&self.delivered),
            journal_reads: g(&self.journal_reads),
            subscribers: g(&self.subscribers),
            store_errors: g(&self.store_errors),
            replays: g(&self.replays),
            journal_failures: g(&self.journal_failures),
            journal_reopens: g(&self.journal_reopens),
            corruptions: g(&self.corruptions),
            lost_packets: g(&self.lost_packets),
            sources: self
                .by_source
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            ..Snapshot::default()
        }
    }
}

impl Snapshot {
    /// As a flat JSON object (names as in lws-server-status style: snake_case).
    pub fn to_json(&self) -> String {
        let error = match &self.journal_error {
            Some(e) => {
                let mut out = String::new();
                crate::envelope::push_json_string(&mut out, e);
                out
            }
            None => "null".into(),
        };
        let mut sources = String::from("{");
        for (i, (label, n)) in self.sources.iter().enumerate() {
            if i > 0 {
                sources.push(',');
            }
            crate::envelope::push_json_string(&mut sources, label);
            sources.push_str(&format!(":{n}"));
        }
        sources.push('}');
        format!(
            "{{\"packets_in\":{},\"bytes_in\":{},\"commits\":{},\"syncs\":{},\"refused\":{},\
             \"delivered\":{},\"journal_reads\":{},\"subscribers\":{},\"store_errors\":{},\
             \"catching_up\":{},\
             \"first_id\":{},\"last_id\":{},\"journal_bytes\":{},\"segments\":{},\
             \"live_bytes\":{},\"max_lag\":{},\"replays\":{},\"journal_state\":\"{}\",\
             \"journal_error\":{},\"journal_failures\":{},\"journal_reopens\":{},\
             \"corruptions\":{},\"lost_packets\":{},\"sources\":{}}}",
            self.packets_in,
            self.bytes_in,
            self.commits,
            self.syncs,
            self.refused,
            self.delivered,
            self.journal_reads,
            self.subscribers,
            self.store_errors,
            self.catching_up,
            self.first_id,
            self.last_id,
            self.journal_bytes,
            self.segments,
            self.live_bytes,
            self.max_lag,
            self.replays,
            self.journal_state,
            error,
            self.journal_failures,
            self.journal_reopens,
            self.corruptions,
            self.lost_packets,
            sources
        )
    }
}
