//! libwebsockets' own `libwebsockets-test-client` (Debian package
//! libwebsockets-test-server) against the bundled configuration: it opens a
//! dumb-increment-protocol and an lws-mirror-protocol connection, prints the
//! numbers it gets and draws random circles (`c #rrggbb x y r;`) on the
//! mirror. Run for a few seconds under `timeout`; its log, a second mirror
//! client of ours and our access log show both protocols at work.
//!
//! Skips, saying why, when the client is not installed (`scripts/test-deps`
//! installs it).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::compat_chromium::start_bundled;
use crate::support::eventually;
use crate::support::ws::connect;

const CLIENT: &str = "libwebsockets-test-client";

fn installed() -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(CLIENT).is_file())
}

#[test]
fn lws_test_client_talks_dumb_increment_and_mirror() {
    if !installed() {
        crate::support::skip(
            "compat_lws_client",
            &format!(
                "no `{CLIENT}` on PATH (Debian package libwebsockets-test-server; \
                 scripts/test-deps installs it)"
            ),
        );
        return;
    }
    let (site, srv) = start_bundled("\"access-log\": \"$SITE/access.log\",");
    let log = site.path("access.log");
    let addr = srv.addr(7681);

    // A second member of the mirror instance "" (the client's): everything
    // the client draws must reach it. It keeps reading so it never becomes
    // the slow member the mirror closes.
    let mut observer = connect(addr, "/", &["lws-mirror-protocol"]);
    // Short reads, so that it notices when to stop.
    observer
        .get_mut()
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let seen = std::thread::spawn(move || {
        let circle = regex::Regex::new(r"^c #[0-9A-F]{6} \d+ \d+ \d+;$").unwrap();
        let (mut circles, mut other) = (0usize, Vec::new());
        while !stop2.load(Ordering::Relaxed) {
            match crate::support::ws::read_message(&mut observer) {
                Ok(tungstenite::Message::Text(t)) if circle.is_match(&t) => circles += 1,
                Ok(tungstenite::Message::Text(t)) => other.push(t.to_string()),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    other.push(format!("read ended: {e}"));
                    break;
                }
            }
        }
        (circles, other)
    });

    // -d: err, warn, notice, info (the dumb numbers), debug (received
    // frames), user. SIGINT lets it close its connections and say so.
    let out = Command::new("timeout")
        .args(["-s", "INT", "-k", "5", "4", CLIENT, "127.0.0.1"])
        .arg(format!("--port={}", addr.port()))
        .args(["-d", "1055"])
        .output()
        .expect("run timeout(1)");
    stop.store(true, Ordering::Relaxed);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (circles, other) = seen.join().unwrap();
    let summary = summarize(&text);
    eprintln!("{CLIENT} (summary):\n{summary}");
    // 124: it was still running when `timeout` stopped it, as it should be.
    assert_eq!(out.status.code(), Some(124), "{summary}");

    for problem in [
        // As with lws: dumb-increment's 10-byte rx buffer is too small for
        // permessage-deflate, and lws-mirror refuses it.
        "instantiating client ext permessage-deflate",
        "CLIENT_CONNECTION_ERROR",
        "bad HTTP response",
        "illegal rsv bits",
        "ws upgrade response not 101",
    ] {
        assert!(!text.contains(problem), "{problem}:\n{summary}");
    }

    // dumb-increment: connected, and counted 0, 1, 2, ... every 50 ms.
    assert!(
        text.contains("dumb: LWS_CALLBACK_CLIENT_ESTABLISHED"),
        "{summary}"
    );
    let rx = regex::Regex::new(r"\] I: rx \d+ '(\d+)'").unwrap();
    let numbers: Vec<u64> = rx
        .captures_iter(&text)
        .map(|c| c[1].parse().unwrap())
        .collect();
    assert!(numbers.len() >= 20, "few numbers: {numbers:?}\n{summary}");
    let expected: Vec<u64> = (0..numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "the count, from 0, none missed");

    // lws-mirror: connected and drew (one circle per WRITEABLE); the circles
    // reached the other member, and mirrored messages (circle-sized frames:
    // the dumb numbers are 1-3 bytes) reached the client.
    assert!(
        text.contains("mirror: LWS_CALLBACK_CLIENT_ESTABLISHED"),
        "{summary}"
    );
    let sent = text.matches("U: LWS_CALLBACK_CLIENT_WRITEABLE").count();
    assert!(sent >= 10, "the client sent {sent} circles\n{summary}");
    assert!(
        circles >= 10,
        "our mirror client saw {circles} circles; other: {other:?}"
    );
    assert!(other.is_empty(), "unexpected on the mirror: {other:?}");
    let frame = regex::Regex::new(r"starting disbursal of (\d+) deframed rx").unwrap();
    let mirrored = frame
        .captures_iter(&text)
        .filter(|c| c[1].parse::<usize>().unwrap() >= 14)
        .count();
    assert!(
        mirrored >= 10,
        "the client received {mirrored} mirrored frames\n{summary}"
    );
    assert!(
        text.contains("mirror: LWS_CALLBACK_CLOSED"),
        "it closed the mirror connection on SIGINT\n{summary}"
    );

    // Our access log has both upgrades.
    let ok = eventually(10, || {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        t.contains("\"GET / (dumb-increment-protocol) HTTP/1.1\" 101")
            && t.contains("\"GET / (lws-mirror-protocol) HTTP/1.1\" 101")
    });
    assert!(
        ok,
        "access log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(srv.log_text().lines().all(|l| !l.contains("ERROR")));
}

/// The client's log without its per-frame and per-write lines (counted).
fn summarize(text: &str) -> String {
    let noisy = [
        "U: LWS_CALLBACK_CLIENT_WRITEABLE",
        " D: ",
        " P: ",
        "] I: rx ",
        "ssl_capable_write",
    ];
    let mut counts = vec![0usize; noisy.len()];
    let mut out = String::new();
    for line in text.lines() {
        match noisy.iter().position(|n| line.contains(n)) {
            Some(i) => counts[i] += 1,
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (n, c) in noisy.iter().zip(counts) {
        out.push_str(&format!("({c} lines with {n:?})\n"));
    }
    out
}
