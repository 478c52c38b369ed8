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
    site_with(protocol, "", install)
}

/// [`site`] with more vhost keys (`vhost_extra` starts with a comma).
fn site_with(protocol: &str, vhost_extra: &str, install: impl FnOnce(&Path)) -> (Site, Server) {
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
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1"{vhost_extra},
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
    // The log comes through a pipe: it can trail the answer.
    srv.wait_log("not-enabled-here", 10);
}

/// lws's HTTP helper calls, made by a C plugin, each answering as lws does
/// (`server/tests/plugins/http_helpers.c`).
#[test]
fn the_lws_http_helpers_answer_as_lws_does() {
    let (_s, srv) = site("http-helpers", |dir| {
        cc_plugin(
            dir,
            "http_helpers",
            &repo().join("server/tests/plugins/http_helpers.c"),
        );
    });
    let addr = srv.addr(7681);
    let ask = |path: &str, extra: &str| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(format!("GET /count{path} HTTP/1.1\r\nHost: here{extra}\r\n\r\n").as_bytes())
            .unwrap();
        read_response(&mut s, false)
    };
    let page = |code: u16, inner: &str| {
        format!(
            "<html><head><meta charset=utf-8 http-equiv=\"Content-Language\" content=\"en\"/>\
             <link rel=\"stylesheet\" type=\"text/css\" href=\"/error.css\"/></head>\
             <body><h1>{code}</h1>{inner}</body></html>"
        )
    };
    let r = ask("/status", "");
    assert_eq!(r.status, 403, "{}", r.head);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        page(403, "<p>not for you</p>")
    );
    assert_eq!(r.header("content-type").as_deref(), Some("text/html"));
    assert_eq!(r.header("server").as_deref(), Some("lwsws"));
    let r = ask("/status-default", "");
    assert_eq!(r.status, 404);
    assert_eq!(String::from_utf8_lossy(&r.body), page(404, ""));
    let r = ask("/redirect", "");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/elsewhere"));
    assert_eq!(r.header("content-length").as_deref(), Some("0"));
    let r = ask("/common", "");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(r.header("x-helper").as_deref(), Some("yes"));
    assert_eq!(r.body, b"hello");
    let r = ask("/echo?y=1&x=two%20words", "\r\nX-Thing: gadget");
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "x=two words thing=gadget host=here host_len=4 thing_len=6"
    );
    let r = ask("/echo", "");
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "x=(none) thing=(none) host=here host_len=4 thing_len=-1"
    );
    // FILTER_HTTP_CONNECTION refusing: closed without an answer, as lws.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /count/deny HTTP/1.1\r\nHost: here\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut got);
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    // Five answers of different kinds on one kept-alive connection.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for (path, status) in [
        ("/common", 200),
        ("/status", 403),
        ("/redirect", 302),
        ("/echo", 200),
        ("/status-default", 404),
    ] {
        s.write_all(format!("GET /count{path} HTTP/1.1\r\nHost: here\r\n\r\n").as_bytes())
            .unwrap();
        assert_eq!(read_response(&mut s, false).status, status, "{path}");
    }
}

/// Header helpers given pointers that describe no buffer (`start` after
/// `*p`, `*p` after `end`) fail and write nothing; the plugin then answers
/// normally. Before, `*p - start` was computed unchecked: a panic in a
/// debug build, a wrapped length and a wild read in a release build.
#[test]
fn header_helpers_refuse_pointers_out_of_order() {
    let (_s, srv) = site("http-helpers", |dir| {
        cc_plugin(
            dir,
            "http_helpers",
            &repo().join("server/tests/plugins/http_helpers.c"),
        );
    });
    let mut s = TcpStream::connect(srv.addr(7681)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /count/bad-pointers HTTP/1.1\r\nHost: here\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "finalize=1 status=1 by-name=1 moved=0"
    );
    // The same connection still works.
    s.write_all(b"GET /count/common HTTP/1.1\r\nHost: here\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).body, b"hello");
    // The server's stderr is read from a file: the line may land just
    // after the answer.
    assert!(
        crate::support::eventually(10, || srv.log_text().contains("*p is before start")),
        "{}",
        srv.log_text()
    );
    let log = srv.log_text();
    assert!(!log.contains("panic caught"), "{log}");
}

/// A form parser's file callback calling `lws_spa_process`,
/// `lws_spa_finalize` and `lws_spa_destroy` on its own parser is refused
/// (-1, the parse goes on) while it may still read the fields parsed so
/// far (`server/tests/plugins/spa_reenter.c`). Before, the host held a
/// `&mut` to the parser across the callback and the calls aliased it, the
/// destroy freeing it under the parse.
#[test]
fn a_form_parser_refuses_calls_from_its_own_callback() {
    let (s, srv) = site("spa-reenter", |dir| {
        cc_plugin(
            dir,
            "spa_reenter",
            &repo().join("server/tests/plugins/spa_reenter.c"),
        );
    });
    let up = s.path("up.txt");
    std::fs::write(&up, vec![b'z'; 3000]).unwrap();
    let file = format!("file=@{}", up.display());
    for _ in 0..2 {
        let page = curl(&["-F", "text=hello", "-F", &file, &srv.url("/count")]);
        assert!(
            page.contains("process=-1 finalize=-1 destroy=-1 during=hello after=hello file=3000"),
            "{page}"
        );
    }
    srv.wait_log("lws_spa_destroy: re-entrant call refused", 10);
    let log = srv.log_text();
    assert!(!log.contains("panic caught"), "{log}");
}

/// `lws_return_http_status(404)` on a vhost with `error-document-404` is a
/// redirect to that document, as lws does it.
#[test]
fn a_plugin_404_goes_to_the_error_document() {
    let (_s, srv) = site_with(
        "http-helpers",
        r#", "error-document-404": "/missing.html""#,
        |dir| {
            cc_plugin(
                dir,
                "http_helpers",
                &repo().join("server/tests/plugins/http_helpers.c"),
            );
        },
    );
    let mut s = TcpStream::connect(srv.addr(7681)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /count/status-default HTTP/1.1\r\nHost: here\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 302, "{}", r.head);
    assert_eq!(r.header("location").as_deref(), Some("/missing.html"));
    // Other statuses are answered as they are.
    s.write_all(b"GET /count/status HTTP/1.1\r\nHost: here\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).status, 403);
}
