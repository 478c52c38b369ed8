//! Access log lines in lws's (Apache combined) format.

use crate::support::{eventually, get_with, Site};

/// A site whose access log is `access.log`, serving `a.txt`.
fn logged_site() -> (Site, std::path::PathBuf) {
    let s = Site::simple("", "");
    let log = s.path("access.log");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1",
            "access-log": "{}", "mounts": [{{"mountpoint": "/", "origin": "file://{}"}}]}}]}}"#,
            log.display(),
            s.path("www").display()
        ),
    );
    s.file("a.txt", "12345");
    (s, log)
}

#[test]
fn one_combined_line_per_request() {
    let (s, log) = logged_site();
    let srv = s.start();
    get_with(
        &srv.url("/a.txt?q=1"),
        &[
            ("user-agent", "tester \"quoted\""),
            ("referer", "http://r/"),
        ],
    );
    get_with(&srv.url("/missing.txt"), &[("user-agent", "t2")]);
    assert!(eventually(10, || std::fs::read_to_string(&log)
        .map(|t| t.lines().count() >= 2)
        .unwrap_or(false)));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let re = regex::Regex::new(
        r#"^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /a\.txt HTTP/1\.1" 200 5 "http://r/" "tester 'quoted'"$"#,
    )
    .unwrap();
    assert!(re.is_match(lines[0]), "{}", lines[0]);
    assert!(
        lines[1].contains("\"GET /missing.txt HTTP/1.1\" 404 "),
        "{}",
        lines[1]
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// A GET whose log line is told apart by its user agent (lws logs the
/// path without its query).
fn get_as(srv: &crate::support::Server, agent: &str) {
    get_with(&srv.url("/a.txt"), &[("user-agent", agent)]);
}

fn logged(log: &std::path::Path, what: &str) -> bool {
    eventually(10, || {
        std::fs::read_to_string(log)
            .map(|t| t.contains(what))
            .unwrap_or(false)
    })
}

#[test]
fn sigusr1_reopens_a_log_moved_away() {
    let (s, log) = logged_site();
    let srv = s.start();
    get_as(&srv, "before");
    assert!(logged(&log, "\"before\""));
    let moved = s.path("access.log.1");
    std::fs::rename(&log, &moved).unwrap();
    std::process::Command::new("kill")
        .args(["-USR1", &srv.pid().to_string()])
        .status()
        .unwrap();
    assert!(eventually(10, || srv
        .log_text()
        .contains("access logs reopened")));
    get_as(&srv, "after");
    assert!(logged(&log, "\"after\""), "{}", srv.log_text());
    let old = std::fs::read_to_string(&moved).unwrap();
    assert!(!old.contains("\"after\""), "{old}");
}

#[test]
fn copytruncate_leaves_no_hole_before_the_next_line() {
    let (s, log) = logged_site();
    let srv = s.start();
    for i in 0..20 {
        get_as(&srv, &format!("fill{i}"));
    }
    assert!(logged(&log, "\"fill19\""));
    // What logrotate's copytruncate does: copy, then truncate in place,
    // with no signal to the server.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    get_as(&srv, "after");
    assert!(logged(&log, "\"after\""));
    let bytes = std::fs::read(&log).unwrap();
    assert!(!bytes.contains(&0), "the writer wrote past a hole of NULs");
    assert!(
        bytes.starts_with(b"127.0.0.1 "),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}
