//! Tests of `count-threads` > 1: connections spread over the service
//! threads, checked on the metrics endpoint (the site needs
//! `"metrics-path": "/metrics"`).

use super::{get, Server};

/// Connections open on service thread `tsi` now.
pub(crate) fn open_on_thread(srv: &Server, tsi: usize) -> u64 {
    let (_, _, body) = get(&srv.url("/metrics"));
    let text = String::from_utf8_lossy(&body).to_string();
    let key = format!("comlink_connections_open{{thread=\"{tsi}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// Opens connections with `open` in bursts of `burst` at once (the kernel
/// hands each to whichever thread accepts first, so one at a time they may
/// all land on the same idle thread) until each of the two threads holds at
/// least `each` of them; panics after a few bursts.
pub(crate) fn spread<T: Send>(
    srv: &Server,
    burst: usize,
    each: u64,
    open: impl Fn() -> T + Sync,
) -> Vec<T> {
    let mut all = Vec::new();
    for _ in 0..8 {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..burst).map(|_| s.spawn(&open)).collect();
            all.extend(handles.into_iter().map(|h| h.join().expect("connect")));
        });
        // The metrics request itself is open while it is counted.
        if open_on_thread(srv, 0) > each && open_on_thread(srv, 1) > each {
            return all;
        }
    }
    panic!("{} connections did not spread over both threads", all.len());
}
