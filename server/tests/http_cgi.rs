//! cgi:// mounts: environment, body to stdin, CGI headers, timeout kill.

use std::path::Path;

use crate::support::{curl, raw, Site};

fn site() -> (Site, crate::support::Server) {
    let s = Site::simple("", "");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1",
            "mounts": [
              {{"mountpoint": "/env", "origin": "cgi://{d}/env.sh", "cgi-env": [{{"EXTRA": "from-config"}}]}},
              {{"mountpoint": "/status", "origin": "cgi://{d}/status.sh"}},
              {{"mountpoint": "/slow", "origin": "cgi://{d}/slow.sh", "cgi-timeout": "1"}},
              {{"mountpoint": "/noread", "origin": "cgi://{d}/noread.sh"}}
            ]}}]}}"#,
            d = dir.display()
        ),
    );
    let srv = s.start();
    (s, srv)
}

#[test]
fn cgi_gets_the_environment_and_the_body() {
    let (_s, srv) = site();
    let out = curl(&[
        "-X",
        "POST",
        "-H",
        "X-Test: hello",
        "-H",
        "Content-Type: text/x-test",
        "--data-binary",
        "0123456789",
        &srv.url("/env/a/b?q=1&r=2"),
    ]);
    for want in [
        "method=POST",
        "query=q=1&r=2",
        "path_info=/a/b",
        "script_name=/env",
        "content_length=10",
        "content_type=text/x-test",
        "remote_addr=127.0.0.1",
        "http_x_test=hello",
        "extra=from-config",
        "stdin_bytes=10",
    ] {
        assert!(out.contains(want), "missing {want} in:\n{out}");
    }
    // A body sent with no length, ended by the client's close: all of it
    // reaches stdin, and no CONTENT_LENGTH is made up.
    let mut s = std::net::TcpStream::connect(srv.addr(7681)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    use std::io::Write;
    s.write_all(b"POST /env HTTP/1.0\r\n\r\n0123456789abc")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let r = crate::support::read_response(&mut s, false);
    let out = String::from_utf8_lossy(&r.body);
    assert!(r.head.starts_with("HTTP/1.0 200"), "{}", r.head);
    assert!(out.contains("stdin_bytes=13"), "{out}");
    assert!(out.contains("content_length=\n"), "{out}");
}

#[test]
fn cgi_status_and_location_headers() {
    let (_s, srv) = site();
    let r = raw(
        srv.addr(7681),
        b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 418);
    assert!(String::from_utf8_lossy(&r.body).contains("short and stout"));
    let r = raw(
        srv.addr(7681),
        b"GET /status?redirect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/elsewhere"));
}

#[test]
fn cgi_over_its_timeout_is_killed_with_its_children() {
    let (_s, srv) = site();
    let r = raw(
        srv.addr(7681),
        b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 504);
    // The log line is read from the server's stderr by another thread: it
    // may arrive just after the answer.
    let logged = crate::support::eventually(5, || srv.log_text().contains("killed"));
    assert!(logged, "{}", srv.log_text());
    // Its whole process group is gone (no `sleep 30` left behind by it).
    let gone = crate::support::eventually(5, || {
        let out = std::process::Command::new("pgrep")
            .args(["-f", "tests/cgi/slow.sh"])
            .output()
            .unwrap();
        out.stdout.is_empty()
    });
    assert!(gone, "the timed-out CGI is still running");
}

#[test]
fn cgi_that_never_reads_stdin_still_answers_a_big_post() {
    let (s, srv) = site();
    let big = s.path("big");
    std::fs::write(&big, vec![b'x'; 3_000_000]).unwrap();
    let out = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("@{}", big.display()),
        &srv.url("/noread"),
    ]);
    assert!(out.contains("ignored stdin"), "{out}");
    // And the server is still fine.
    assert!(curl(&[&srv.url("/env")]).contains("method=GET"));
}
