//! Prometheus text metrics, served at the global `metrics-path` on every
//! vhost (off when unset): requests by status class, bytes, WebSocket
//! upgrades, open connections by thread and by protocol, plugin callback
//! latency.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use http::header::{HeaderValue, CONTENT_TYPE};

use crate::http::response::{full, Response};
use crate::http::site::{Site, VhostSite};
use crate::runtime::counters::{self as stats, CALLBACK_BUCKETS};

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes a metric family's `# HELP` and `# TYPE` lines.
fn head(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// One counter family with a sample per vhost.
fn vhost_counter(
    o: &mut String,
    site: &Site,
    name: &str,
    help: &str,
    value: impl Fn(&VhostSite) -> u64,
) {
    head(o, name, "counter", help);
    for v in &site.vhosts {
        let _ = writeln!(o, "{name}{{vhost=\"{}\"}} {}", esc(&v.cfg.name), value(v));
    }
}

/// The metrics page for `site`.
pub(crate) fn render(site: &Site) -> String {
    let mut o = String::new();
    head(
        &mut o,
        "comlink_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    );
    let _ = writeln!(o, "comlink_uptime_seconds {}", stats::uptime_secs());

    head(
        &mut o,
        "comlink_http_requests_total",
        "counter",
        "HTTP transactions answered, by vhost and status class.",
    );
    for v in &site.vhosts {
        for (i, c) in v.stats.by_class.iter().enumerate() {
            let _ = writeln!(
                o,
                "comlink_http_requests_total{{vhost=\"{}\",code=\"{}xx\"}} {}",
                esc(&v.cfg.name),
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
    }
    vhost_counter(
        &mut o,
        site,
        "comlink_response_bytes_total",
        "Response body bytes, by vhost.",
        |v| v.stats.tx.load(Ordering::Relaxed),
    );
    vhost_counter(
        &mut o,
        site,
        "comlink_websocket_upgrades_total",
        "WebSocket upgrades accepted, by vhost.",
        |v| v.stats.ws_upg.load(Ordering::Relaxed),
    );
    head(
        &mut o,
        "comlink_connections_open",
        "gauge",
        "Connections open, by service thread.",
    );
    head(
        &mut o,
        "comlink_connections_accepted_total",
        "counter",
        "Connections accepted, by service thread.",
    );
    let threads = crate::host::context::CONTEXT.count_threads();
    for (i, t) in stats::threads().iter().take(threads).enumerate() {
        let _ = writeln!(
            o,
            "comlink_connections_open{{thread=\"{i}\"}} {}",
            t.open.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            o,
            "comlink_connections_accepted_total{{thread=\"{i}\"}} {}",
            t.accepted.load(Ordering::Relaxed)
        );
    }
    head(
        &mut o,
        "comlink_protocol_connections_open",
        "gauge",
        "Connections bound to a plugin protocol, by vhost and protocol.",
    );
    for v in &site.host.vhosts {
        for p in &v.protocols {
            let _ = writeln!(
                o,
                "comlink_protocol_connections_open{{vhost=\"{}\",protocol=\"{}\"}} {}",
                esc(&v.cfg.name),
                esc(&p.def.name),
                p.times.open.load(Ordering::Relaxed)
            );
        }
    }
    head(
        &mut o,
        "comlink_plugin_callback_seconds",
        "histogram",
        "Time spent in plugin callbacks, by vhost and protocol.",
    );
    for v in &site.host.vhosts {
        for p in &v.protocols {
            let labels = format!(
                "vhost=\"{}\",protocol=\"{}\"",
                esc(&v.cfg.name),
                esc(&p.def.name)
            );
            for (b, n) in CALLBACK_BUCKETS.iter().zip(p.times.cumulative()) {
                let _ = writeln!(
                    o,
                    "comlink_plugin_callback_seconds_bucket{{{labels},le=\"{b}\"}} {n}"
                );
            }
            let count = p.times.count.load(Ordering::Relaxed);
            let _ = writeln!(
                o,
                "comlink_plugin_callback_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                o,
                "comlink_plugin_callback_seconds_sum{{{labels}}} {}",
                p.times.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
            );
            let _ = writeln!(
                o,
                "comlink_plugin_callback_seconds_count{{{labels}}} {count}"
            );
        }
    }
    render_plugin_values(&mut o);
    o
}

fn render_plugin_values(o: &mut String) {
    let mut last = None;
    for ((name, labels), v) in crate::host::figures::snapshot() {
        if last.as_ref() != Some(&name) {
            head(o, &name, v.kind, &v.help);
            last = Some(name.clone());
        }
        if labels.is_empty() {
            let _ = writeln!(o, "{name} {}", v.value);
        } else {
            let _ = writeln!(o, "{name}{{{labels}}} {}", v.value);
        }
    }
}

/// The HTTP answer.
pub(crate) fn answer(site: &Site) -> Response {
    let body = render(site);
    let mut resp = http::Response::new(full(body));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
