//! Listeners and vhost choice, keep-alive, pipelining, HTTP/1.0, timeouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{raw, read_response, Site};

fn two_vhosts_one_port() -> Site {
    let s = Site::new("");
    for name in ["first", "second", "other"] {
        std::fs::create_dir_all(s.path(name)).unwrap();
        std::fs::write(s.path(name).join("index.html"), name).unwrap();
    }
    let root = s.dir.path().display().to_string();
    // Two files: the alphabetically first conf.d file supplies the default vhost.
    s.conf_d(
        "a-first",
        &format!(
            r#"{{"vhosts": [
            {{"name": "first.example", "port": "7681", "mounts": [{{"mountpoint": "/", "origin": "file://{root}/first"}}]}},
            {{"name": "second.example", "port": "7681", "mounts": [{{"mountpoint": "/", "origin": "file://{root}/second"}}]}}
            ]}}"#
        ),
    );
    s.conf_d(
        "b-other",
        &format!(
            r#"{{"vhosts": [{{"name": "other.example", "port": "7682", "mounts": [{{"mountpoint": "/", "origin": "file://{root}/other"}}]}}]}}"#
        ),
    );
    s
}

fn get_host(srv: &crate::support::Server, port: u16, host: Option<&str>) -> String {
    let req = match host {
        Some(h) => format!("GET / HTTP/1.1\r\nHost: {h}\r\nConnection: close\r\n\r\n"),
        None => "GET / HTTP/1.0\r\n\r\n".to_string(),
    };
    String::from_utf8(raw(srv.addr(port), req.as_bytes()).body).unwrap()
}

#[test]
fn host_header_picks_the_vhost_on_a_shared_port() {
    let site = two_vhosts_one_port();
    let srv = site.start();
    assert_eq!(get_host(&srv, 7681, Some("first.example")), "first");
    assert_eq!(get_host(&srv, 7681, Some("SECOND.example:7681")), "second");
    assert_eq!(
        get_host(&srv, 7681, Some("www.second.example")),
        "second",
        "*.name suffix"
    );
    assert_eq!(
        get_host(&srv, 7681, Some("unknown.test")),
        "first",
        "first vhost is the default"
    );
    assert_eq!(get_host(&srv, 7681, None), "first", "HTTP/1.0 without Host");
    assert_eq!(
        get_host(&srv, 7682, Some("first.example")),
        "other",
        "other port, own vhost"
    );
    // The default bind is dual-stack: IPv6 loopback reaches it too, where the host has IPv6.
    if let Ok(mut s) = TcpStream::connect(("::1", srv.addr(7681).port())) {
        s.write_all(b"GET / HTTP/1.0\r\nHost: second.example\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.ends_with("second"), "{out}");
    }
}

#[test]
fn keep_alive_serves_several_requests_and_pipelining_works() {
    let s = Site::simple("", "");
    s.file("a.txt", "AAA").file("b.txt", "BB");
    let srv = s.start();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for _ in 0..3 {
        c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let r = read_response(&mut c, false);
        assert_eq!((r.status, r.body.as_slice()), (200, &b"AAA"[..]));
    }
    // Three requests in one write: three answers, in order.
    c.write_all(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    for want in [&b"AAA"[..], b"BB", b"AAA"] {
        let r = read_response(&mut c, false);
        assert_eq!(r.body, want);
    }
}

#[test]
fn http_1_0_closes_unless_keep_alive_asked() {
    let s = Site::simple("", "");
    s.file("a.txt", "A");
    let srv = s.start();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut c, false).body, b"A");
    c.write_all(b"GET /a.txt HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut c, false).body, b"A");
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "connection closed after a plain HTTP/1.0 request"
    );
}

#[test]
fn idle_keep_alive_connection_is_closed_after_keepalive_timeout() {
    let s = Site::simple(r#""keepalive_timeout": "1""#, "");
    s.file("a.txt", "A");
    let srv = s.start();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut c, false);
    let t = Instant::now();
    let mut buf = [0u8; 16];
    let n = c.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "server closed the idle connection");
    assert!(t.elapsed() < Duration::from_secs(15));
}

#[test]
fn slow_headers_are_cut_at_the_header_timeout() {
    let s = Site::simple(r#""keepalive_timeout": "1""#, "");
    let srv = s.start();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nX-A: 1\r\n").unwrap();
    // A header line every 250 ms, for up to 10 s: a server without a header
    // timeout keeps reading them forever.
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        if c.write_all(b"X-B: 2\r\n").is_err() {
            break;
        }
    }
    // The server must have ended the connection (possibly after a 408):
    // reading reaches the end or a reset, never a read timeout.
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection is still open after 10 s of slow headers: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
}

#[test]
fn interface_by_name_binds_its_addresses() {
    let s = Site::new("");
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts":[{{"name":"localhost","port":7681,"interface":"lo","noipv6":"on","mounts":[{{"mountpoint":"/","origin":"file://{}"}}]}}]}}"#,
            s.path("www").display()
        ),
    );
    s.file("index.html", "lo!");
    let srv = s.start();
    assert!(
        srv.log_text().contains("listening on 127.0.0.1:"),
        "{}",
        srv.log_text()
    );
    assert_eq!(get_host_plain(&srv), "lo!");
}

fn get_host_plain(srv: &crate::support::Server) -> String {
    String::from_utf8(raw(srv.addr(7681), b"GET / HTTP/1.0\r\n\r\n").body).unwrap()
}
