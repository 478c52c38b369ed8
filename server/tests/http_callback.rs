//! callback:// mounts: a C plugin (the seed's HTTP pattern) answering POSTs.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::plugins::{cc_plugin, repo};
use crate::support::{curl, read_response, Site};

fn site() -> (Site, crate::support::Server) {
    let s = Site::new("");
    let plugins = s.path("plugins");
    cc_plugin(
        &plugins,
        "http_count",
        &repo().join("examples/c-plugin-http/protocol_http_count.c"),
    );
    std::fs::write(
        s.path("conf"),
        format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\", \"server-string\": \"lwsws\"}}}}",
            plugins.display()
        ),
    )
    .unwrap();
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{"mountpoint": "/count", "origin": "callback://http-count"},
                       {"mountpoint": "/nobody", "origin": "callback://not-enabled-here"}],
            "ws-protocols": [{"http-count": {"status": "ok"}}]}]}"#,
    );
    let srv = s.start();
    (s, srv)
}

fn json_field(body: &str, field: &str) -> String {
    let key = format!("\"{field}\":");
    let rest = &body[body
        .find(&key)
        .unwrap_or_else(|| panic!("{field} in {body}"))
        + key.len()..];
    rest.split([',', '}'])
        .next()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

#[test]
fn posts_of_every_size_and_framing_are_counted() {
    let (s, srv) = site();
    let big = s.path("big");
    std::fs::write(&big, vec![7u8; 300_000]).unwrap();
    let seven = curl(&[
        "-X",
        "POST",
        "--data-binary",
        "1234567",
        &srv.url("/count/x"),
    ]);
    assert_eq!(json_field(&seven, "bytes"), "7", "{seven}");
    assert_eq!(json_field(&seven, "path"), "/x");
    let zero = curl(&["-X", "POST", "-H", "Content-Length: 0", &srv.url("/count")]);
    assert_eq!(json_field(&zero, "bytes"), "0", "{zero}");
    let large = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("@{}", big.display()),
        &srv.url("/count"),
    ]);
    assert_eq!(json_field(&large, "bytes"), "300000", "{large}");
    assert!(
        json_field(&large, "chunks").parse::<u32>().unwrap() > 1,
        "delivered in pieces"
    );
    let chunked = curl(&[
        "-X",
        "POST",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", big.display()),
        &srv.url("/count"),
    ]);
    assert_eq!(json_field(&chunked, "bytes"), "300000", "{chunked}");
    let head = curl(&[
        "-s",
        "-i",
        "-X",
        "POST",
        "--data-binary",
        "x",
        &srv.url("/count"),
    ]);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("server: lwsws"),
        "{head}"
    );
}

#[test]
fn five_requests_on_one_kept_alive_connection() {
    let (_s, srv) = site();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..5 {
        let body = "x".repeat(i * 10);
        write!(
            c,
            "POST /count/{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let r = read_response(&mut c, false);
        assert_eq!(r.status, 200);
        let text = String::from_utf8(r.body).unwrap();
        assert_eq!(json_field(&text, "bytes"), (i * 10).to_string(), "{text}");
        assert_eq!(json_field(&text, "path"), format!("/{i}"));
    }
}

#[test]
fn expect_100_continue_is_answered() {
    let (_s, srv) = site();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(
        b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let cont = read_response(&mut c, true);
    assert_eq!(cont.status, 100);
    c.write_all(b"abcd").unwrap();
    let r = read_response(&mut c, false);
    assert_eq!(
        json_field(&String::from_utf8(r.body).unwrap(), "bytes"),
        "4"
    );
}

#[test]
fn callback_to_a_protocol_not_on_the_vhost_is_404_and_logged() {
    let (_s, srv) = site();
    let out = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &srv.url("/nobody"),
    ]);
    assert_eq!(out, "404");
    assert!(
        srv.log_text().contains("not-enabled-here"),
        "{}",
        srv.log_text()
    );
}
