//! Access log lines in lws's (Apache combined) format.

use crate::support::{eventually, get_with, Site};

#[test]
fn one_combined_line_per_request() {
    let s = Site::simple("", "");
    let log = s.path("access.log");
    let www = s.path("www");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1",
            "access-log": "{}", "mounts": [{{"mountpoint": "/", "origin": "file://{}"}}]}}]}}"#,
            log.display(),
            www.display()
        ),
    );
    s.file("a.txt", "12345");
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
