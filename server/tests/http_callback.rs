//! callback:// mounts: a C plugin (the seed's HTTP pattern) and a Rust
//! plugin (over the safe API) answering POSTs with a JSON body count.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::support::plugins::{cc_plugin, repo};
use crate::support::{curl, read_response, Server, Site};

/// A site whose `/count` is `callback://<protocol>` from the plugins that
/// `install` puts into the plugin dir.
fn site(protocol: &str, install: impl FnOnce(&Path)) -> (Site, Server) {
    let s = Site::new("");
    let plugins = s.path("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install(&plugins);
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
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/count", "origin": "callback://{protocol}"}},
                       {{"mountpoint": "/nobody", "origin": "callback://not-enabled-here"}}],
            "ws-protocols": [{{"{protocol}": {{"status": "ok"}}}}]}}]}}"#
        ),
    );
    let srv = s.start();
    (s, srv)
}

fn c_site() -> (Site, Server) {
    site("http-count", |dir| {
        cc_plugin(
            dir,
            "http_count",
            &repo().join("examples/c-plugin-http/protocol_http_count.c"),
        );
    })
}

fn rust_site() -> (Site, Server) {
    site("rust-http-count", |dir| {
        let so = crate::support::plugins::rust_example();
        std::fs::copy(&so, dir.join(so.file_name().unwrap())).unwrap();
    })
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

/// 0 B, 7 B, 300 kB and a chunked 300 kB body, each counted exactly.
fn counts_every_size(s: &Site, srv: &Server) {
    let big = s.path("big");
    std::fs::write(&big, vec![7u8; 300_000]).unwrap();
    let big_arg = format!("@{}", big.display());
    let zero = curl(&["-X", "POST", "-H", "Content-Length: 0", &srv.url("/count")]);
    assert_eq!(json_field(&zero, "bytes"), "0", "{zero}");
    let seven = curl(&[
        "-X",
        "POST",
        "--data-binary",
        "1234567",
        &srv.url("/count/x"),
    ]);
    assert_eq!(json_field(&seven, "bytes"), "7", "{seven}");
    assert_eq!(json_field(&seven, "path"), "/x");
    let large = curl(&["-X", "POST", "--data-binary", &big_arg, &srv.url("/count")]);
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
        &big_arg,
        &srv.url("/count"),
    ]);
    assert_eq!(json_field(&chunked, "bytes"), "300000", "{chunked}");
    let head = curl(&["-i", "-X", "POST", "--data-binary", "x", &srv.url("/count")]);
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("server: lwsws"), "{head}");
}

/// Five requests, one kept-alive connection.
fn five_on_one_connection(srv: &Server) {
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
fn a_c_plugin_counts_posts_of_every_size_and_framing() {
    let (s, srv) = c_site();
    counts_every_size(&s, &srv);
    five_on_one_connection(&srv);
}

#[test]
fn a_rust_plugin_counts_posts_of_every_size_and_framing() {
    let (s, srv) = rust_site();
    counts_every_size(&s, &srv);
    five_on_one_connection(&srv);
}

#[test]
fn expect_100_continue_is_answered() {
    let (_s, srv) = c_site();
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
    let (_s, srv) = c_site();
    let out = curl(&["-o", "/dev/null", "-w", "%{http_code}", &srv.url("/nobody")]);
    assert_eq!(out, "404");
    assert!(
        srv.log_text().contains("not-enabled-here"),
        "{}",
        srv.log_text()
    );
}
