//! Prometheus text metrics, served at the global `metrics-path` on every
//! vhost (off when unset): requests by status class, bytes, WebSocket
//! upgrades, open connections by thread and by protocol, plugin callback
//! latency.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use http::header::{HeaderValue, CONTENT_TYPE};

use crate::http::response::{full, Response};
use crate::ops::stats::{self, CALLBACK_BUCKETS};
use crate::site::Site;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics page for `site`.
pub fn render(site: &Site) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP comlink_uptime_seconds Seconds since the server started."
    );
    let _ = writeln!(o, "# TYPE comlink_uptime_seconds gauge");
    let _ = writeln!(o, "comlink_uptime_seconds {}", stats::uptime_secs());

    let _ = writeln!(
        o,
        "# HELP comlink_http_requests_total HTTP transactions answered, by vhost and status class."
    );
    let _ = writeln!(o, "# TYPE comlink_http_requests_total counter");
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
    let _ = writeln!(
        o,
        "# HELP comlink_response_bytes_total Response body bytes, by vhost."
    );
    let _ = writeln!(o, "# TYPE comlink_response_bytes_total counter");
    for v in &site.vhosts {
        let _ = writeln!(
            o,
            "comlink_response_bytes_total{{vhost=\"{}\"}} {}",
            esc(&v.cfg.name),
            v.stats.tx.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        o,
        "# HELP comlink_websocket_upgrades_total WebSocket upgrades accepted, by vhost."
    );
    let _ = writeln!(o, "# TYPE comlink_websocket_upgrades_total counter");
    for v in &site.vhosts {
        let _ = writeln!(
            o,
            "comlink_websocket_upgrades_total{{vhost=\"{}\"}} {}",
            esc(&v.cfg.name),
            v.stats.ws_upg.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        o,
        "# HELP comlink_connections_open Connections open, by service thread."
    );
    let _ = writeln!(o, "# TYPE comlink_connections_open gauge");
    let _ = writeln!(
        o,
        "# HELP comlink_connections_accepted_total Connections accepted, by service thread."
    );
    let _ = writeln!(o, "# TYPE comlink_connections_accepted_total counter");
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
    let _ = writeln!(o, "# HELP comlink_protocol_connections_open Connections bound to a plugin protocol, by vhost and protocol.");
    let _ = writeln!(o, "# TYPE comlink_protocol_connections_open gauge");
    for v in &site.vhosts {
        for p in &v.handle.protocols {
            let _ = writeln!(
                o,
                "comlink_protocol_connections_open{{vhost=\"{}\",protocol=\"{}\"}} {}",
                esc(&v.cfg.name),
                esc(&p.def.name),
                p.times.open.load(Ordering::Relaxed)
            );
        }
    }
    let _ = writeln!(o, "# HELP comlink_plugin_callback_seconds Time spent in plugin callbacks, by vhost and protocol.");
    let _ = writeln!(o, "# TYPE comlink_plugin_callback_seconds histogram");
    for v in &site.vhosts {
        for p in &v.handle.protocols {
            let labels = format!(
                "vhost=\"{}\",protocol=\"{}\"",
                esc(&v.cfg.name),
                esc(&p.def.name)
            );
            for (i, b) in CALLBACK_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "comlink_plugin_callback_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    p.times.buckets[i].load(Ordering::Relaxed)
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
    o
}

/// The HTTP answer.
pub fn answer(site: &Site) -> Response {
    let body = render(site);
    let mut resp = http::Response::new(full(body));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
