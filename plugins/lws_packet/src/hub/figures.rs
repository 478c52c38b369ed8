//! The figures published to the server's metrics endpoint
//! (`comlink_metric_set`): the service's counters and the journal's state,
//! at most once a second.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use comlink_plugin_api::abi::LWS_CALLBACK_USER;

use super::Hub;

/// Our vhost event for a deferred metrics report.
pub(super) const METRICS_REASON: c_int = LWS_CALLBACK_USER + 0x5c;

impl Hub {
    /// Reports the service's figures to the server's metrics endpoint, at
    /// most once a second (called on every wake-up).
    pub(super) fn report_metrics(&mut self) {
        let now = Instant::now();
        if self
            .metrics_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            // Report the latest figures a second from now instead.
            if !self.metrics_armed {
                self.metrics_armed = true;
                self.vhost.schedule(METRICS_REASON, Duration::from_secs(1));
            }
            return;
        }
        self.metrics_at = Some(now);
        let s = self.svc().snapshot();
        let labels = format!(
            "vhost=\"{}\"",
            self.vhost.name().replace('\\', "\\\\").replace('"', "\\\"")
        );
        let figures: [(&str, &str, bool, u64); 18] = [
            (
                "comlink_packets_in_total",
                "Packets recorded.",
                true,
                s.packets_in,
            ),
            (
                "comlink_packet_bytes_in_total",
                "Bytes of packet bodies recorded.",
                true,
                s.bytes_in,
            ),
            (
                "comlink_packet_commits_total",
                "Group commits.",
                true,
                s.commits,
            ),
            (
                "comlink_packet_syncs_total",
                "fdatasync calls of the journal.",
                true,
                s.syncs,
            ),
            (
                "comlink_packets_refused_total",
                "Packets refused.",
                true,
                s.refused,
            ),
            (
                "comlink_packets_delivered_total",
                "Envelopes sent to subscribers.",
                true,
                s.delivered,
            ),
            (
                "comlink_packet_journal_reads_total",
                "Journal reads for lagging subscribers.",
                true,
                s.journal_reads,
            ),
            (
                "comlink_packet_subscribers",
                "Live subscribers.",
                false,
                s.subscribers,
            ),
            (
                "comlink_packet_subscribers_catching_up",
                "Subscribers reading from the journal.",
                false,
                s.catching_up,
            ),
            (
                "comlink_packet_last_id",
                "Newest committed packet id.",
                false,
                s.last_id,
            ),
            (
                "comlink_packet_journal_bytes",
                "Bytes of journal segments.",
                false,
                s.journal_bytes,
            ),
            (
                "comlink_packet_subscriber_max_lag",
                "Largest subscriber lag, in packets.",
                false,
                s.max_lag,
            ),
            (
                "comlink_packet_replays_total",
                "Packets answered with an earlier packet's id (Idempotency-Key).",
                true,
                s.replays,
            ),
            (
                "comlink_packet_journal_up",
                "1 when the journal takes packets, 0 when it refuses them.",
                false,
                u64::from(s.journal_state == "ok"),
            ),
            (
                "comlink_packet_journal_failures_total",
                "Times the journal stopped after a failed write or fsync.",
                true,
                s.journal_failures,
            ),
            (
                "comlink_packet_journal_reopens_total",
                "Times the journal reopened after stopping.",
                true,
                s.journal_reopens,
            ),
            (
                "comlink_packet_corrupt_records_total",
                "Corrupt journal records found (checksum mismatch).",
                true,
                s.corruptions,
            ),
            (
                "comlink_packets_lost_total",
                "Packet ids lost to corrupt records.",
                true,
                s.lost_packets,
            ),
        ];
        for (name, help, counter, value) in figures {
            comlink_plugin_api::protocol::metric(name, help, counter, &labels, value as f64);
        }
        // Why it refuses, as a label (the series of a cleared reason
        // stays, at 0).
        let series = s.journal_error.as_ref().map(|why| {
            format!(
                "{labels},state=\"{}\",error=\"{}\"",
                s.journal_state,
                label_value(why)
            )
        });
        if series != self.error_series {
            let help = "1 while the journal refuses packets for this reason.";
            let name = "comlink_packet_journal_error";
            if let Some(old) = &self.error_series {
                comlink_plugin_api::protocol::metric(name, help, false, old, 0.0);
            }
            if let Some(new) = &series {
                comlink_plugin_api::protocol::metric(name, help, false, new, 1.0);
            }
            self.error_series = series;
        }
    }
}

/// `v` as a Prometheus label value (the host refuses braces and newlines
/// in labels).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('{', "(")
        .replace('}', ")")
}
