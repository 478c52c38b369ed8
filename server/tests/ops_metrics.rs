//! The Prometheus endpoint (global `metrics-path`).

use crate::support::ws::{connect, next_text};
use crate::support::{get, Site};

fn value(text: &str, line_prefix: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .unwrap_or_else(|| panic!("no {line_prefix} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn metrics_count_requests_connections_and_callbacks() {
    let s = Site::dumb_increment(r#""metrics-path": "/metrics""#, "0123456789");
    let srv = s.start();
    for _ in 0..3 {
        assert_eq!(get(&srv.url("/")).0, 200);
    }
    assert_eq!(get(&srv.url("/missing")).0, 404);
    let mut ws = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    next_text(&mut ws);
    next_text(&mut ws);

    let (st, h, body) = get(&srv.url("/metrics"));
    assert_eq!(st, 200);
    assert!(h["content-type"].starts_with("text/plain"), "{h:?}");
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        value(
            &text,
            "comlink_http_requests_total{vhost=\"localhost\",code=\"2xx\"}"
        ),
        3
    );
    assert_eq!(
        value(
            &text,
            "comlink_http_requests_total{vhost=\"localhost\",code=\"4xx\"}"
        ),
        1
    );
    assert!(value(&text, "comlink_response_bytes_total{vhost=\"localhost\"}") >= 30);
    assert_eq!(
        value(
            &text,
            "comlink_websocket_upgrades_total{vhost=\"localhost\"}"
        ),
        1
    );
    assert_eq!(
        value(&text, "comlink_protocol_connections_open{vhost=\"localhost\",protocol=\"dumb-increment-protocol\"}"),
        1
    );
    let calls = value(
        &text,
        "comlink_plugin_callback_seconds_count{vhost=\"localhost\",protocol=\"dumb-increment-protocol\"}",
    );
    assert!(
        calls >= 3,
        "init, established and writeables were timed: {calls}"
    );
    assert!(text.contains("# TYPE comlink_plugin_callback_seconds histogram"));
    drop(ws);
    assert!(crate::support::eventually(5, || {
        let t = String::from_utf8(get(&srv.url("/metrics")).2).unwrap();
        value(&t, "comlink_protocol_connections_open{vhost=\"localhost\",protocol=\"dumb-increment-protocol\"}") == 0
    }));
}

#[test]
fn no_metrics_unless_configured() {
    let s = Site::simple("", "");
    let srv = s.start();
    assert_eq!(get(&srv.url("/metrics")).0, 404);
}
