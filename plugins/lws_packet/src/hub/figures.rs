//! The figures published to the server's metrics endpoint
//! (`comlink_metric_set`): the service's counters and the journal's state,
//! at most once a second.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use comlink_plugin_api::abi::LWS_CALLBACK_USER;

use packet_journal::metrics::Snapshot;

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
        let labels = vhost_labels(&self.vhost.name());
        for (name, help, counter, value) in figures(&s) {
            comlink_plugin_api::protocol::metric(name, help, counter, &labels, value as f64);
        }
        let shared = &self.access.shared;
        for (name, help, series, value) in
            labelled(&labels, &s, &shared.refusals(), &shared.rate_limited())
        {
            comlink_plugin_api::protocol::metric(name, help, true, &series, value as f64);
        }
        let series = error_series(&labels, &s);
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

/// A figure: name, help, counter (else gauge), value.
type Figure = (&'static str, &'static str, bool, u64);

/// The service's figures, as published.
fn figures(s: &Snapshot) -> [Figure; 18] {
    [
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
    ]
}

/// The counters with labels of their own: packets per source, refusals
/// per side and reason, and packets over the rate limit per source (name,
/// help, labels, value).
fn labelled(
    labels: &str,
    s: &Snapshot,
    refusals: &[(&str, &str, u64)],
    limited: &[(String, u64)],
) -> Vec<(&'static str, &'static str, String, u64)> {
    let mut out = Vec::new();
    for (source, n) in &s.sources {
        out.push((
            "comlink_packet_source_packets_total",
            "Packets recorded, by the label of their sender's token or certificate.",
            format!("{labels},source=\"{}\"", label_value(source)),
            *n,
        ));
    }
    for (side, reason, n) in refusals {
        out.push((
            "comlink_packet_access_refused_total",
            "Requests refused by access control (missing, invalid or wrong-side credentials).",
            format!("{labels},side=\"{side}\",reason=\"{reason}\""),
            *n,
        ));
    }
    for (source, n) in limited {
        out.push((
            "comlink_packet_rate_limited_total",
            "Packets refused over ingest-rate, by source.",
            format!("{labels},source=\"{}\"", label_value(source)),
            *n,
        ));
    }
    out
}

/// The labels of every series of vhost `name`.
fn vhost_labels(name: &str) -> String {
    format!(
        "vhost=\"{}\"",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// The labels of the `comlink_packet_journal_error` series for why the
/// journal refuses packets now (`None` while it takes them). A cleared
/// reason's series stays, at 0.
fn error_series(labels: &str, s: &Snapshot) -> Option<String> {
    s.journal_error.as_ref().map(|why| {
        format!(
            "{labels},state=\"{}\",error=\"{}\"",
            s.journal_state,
            label_value(why)
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn is_metric_name(n: &str) -> bool {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    #[test]
    fn every_figure_has_a_valid_unique_name_and_counters_end_in_total() {
        let all = figures(&Snapshot::default());
        let mut names: Vec<&str> = all.iter().map(|f| f.0).collect();
        for (name, help, counter, _) in all {
            assert!(is_metric_name(name), "{name}");
            assert!(name.starts_with("comlink_packet"), "{name}");
            assert_eq!(counter, name.ends_with("_total"), "{name}");
            assert!(!help.is_empty() && !help.contains('\n'), "{name}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn the_figures_carry_the_snapshot() {
        let s = Snapshot {
            packets_in: 7,
            lost_packets: 3,
            journal_state: "ok",
            ..Snapshot::default()
        };
        let f = figures(&s);
        let get = |n: &str| f.iter().find(|x| x.0 == n).unwrap().3;
        assert_eq!(get("comlink_packets_in_total"), 7);
        assert_eq!(get("comlink_packets_lost_total"), 3);
        assert_eq!(get("comlink_packet_journal_up"), 1);
        let down = Snapshot {
            journal_state: "full",
            ..s
        };
        assert_eq!(
            figures(&down)
                .iter()
                .find(|x| x.0 == "comlink_packet_journal_up")
                .unwrap()
                .3,
            0
        );
    }

    #[test]
    fn sources_refusals_and_rate_limits_have_series_of_their_own() {
        let s = Snapshot {
            sources: vec![("ctrl-1".into(), 4), ("ctrl-\"2".into(), 1)],
            ..Snapshot::default()
        };
        let got = labelled(
            "vhost=\"v\"",
            &s,
            &[("ingest", "invalid", 2)],
            &[("ctrl-1".into(), 7)],
        );
        let series: Vec<(&str, &str, u64)> = got.iter().map(|f| (f.0, f.2.as_str(), f.3)).collect();
        assert_eq!(
            series,
            [
                (
                    "comlink_packet_source_packets_total",
                    "vhost=\"v\",source=\"ctrl-1\"",
                    4
                ),
                (
                    "comlink_packet_source_packets_total",
                    "vhost=\"v\",source=\"ctrl-\\\"2\"",
                    1
                ),
                (
                    "comlink_packet_access_refused_total",
                    "vhost=\"v\",side=\"ingest\",reason=\"invalid\"",
                    2
                ),
                (
                    "comlink_packet_rate_limited_total",
                    "vhost=\"v\",source=\"ctrl-1\"",
                    7
                ),
            ]
        );
        assert!(got
            .iter()
            .all(|f| is_metric_name(f.0) && f.0.ends_with("_total")));
    }

    #[test]
    fn a_vhost_name_is_escaped_in_its_label() {
        assert_eq!(vhost_labels("localhost"), "vhost=\"localhost\"");
        assert_eq!(vhost_labels("a\"b\\c"), "vhost=\"a\\\"b\\\\c\"");
    }

    #[test]
    fn the_error_series_names_the_state_and_a_cleaned_reason() {
        let ok = Snapshot {
            journal_state: "ok",
            ..Snapshot::default()
        };
        assert_eq!(error_series("vhost=\"v\"", &ok), None);
        let full = Snapshot {
            journal_state: "full",
            journal_error: Some("no \"space\"\n{left}".into()),
            ..Snapshot::default()
        };
        assert_eq!(
            error_series("vhost=\"v\"", &full).unwrap(),
            "vhost=\"v\",state=\"full\",error=\"no \\\"space\\\"\\n(left)\""
        );
    }
}
