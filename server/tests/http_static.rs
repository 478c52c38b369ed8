//! file:// mounts: default document, MIME types, caching headers,
//! conditional requests, ranges, HEAD, large files, redirects.

use crate::support::{get, get_with, raw, Site};

#[test]
fn default_document_mime_and_server_header() {
    let s = Site::simple("", "\"default\": \"test.html\"");
    s.file("test.html", "<h1>hi</h1>")
        .file("style.css", "p{}")
        .file("data.json", "{}");
    let srv = s.start();
    let (st, h, body) = get(&srv.url("/"));
    assert_eq!(st, 200);
    assert_eq!(body, b"<h1>hi</h1>");
    assert_eq!(h["content-type"], "text/html");
    assert_eq!(h["server"], "lwsws");
    assert_eq!(h["content-length"], "11");
    assert_eq!(get(&srv.url("/style.css")).1["content-type"], "text/css");
    assert_eq!(
        get(&srv.url("/data.json")).1["content-type"],
        "application/json"
    );
}

#[test]
fn unknown_suffix_is_415_unless_extra_mimetypes_say_so() {
    let s = Site::simple("", r#""extra-mimetypes": {".props": "text/x-props"}"#);
    s.file("passwd", "root:x:0:0")
        .file("a.props", "k=v")
        .file("b.weird", "?");
    let srv = s.start();
    assert_eq!(get(&srv.url("/passwd")).0, 415);
    assert_eq!(get(&srv.url("/b.weird")).0, 415);
    let (st, h, _) = get(&srv.url("/a.props"));
    assert_eq!(st, 200);
    assert_eq!(h["content-type"], "text/x-props");

    let s = Site::simple("", r#""extra-mimetypes": {"*": ""}"#);
    s.file("passwd", "root");
    let srv = s.start();
    let (st, h, body) = get(&srv.url("/passwd"));
    assert_eq!((st, body.as_slice()), (200, &b"root"[..]));
    assert!(!h.contains_key("content-type"), "{h:?}");
}

#[test]
fn missing_file_is_404_with_lws_error_page() {
    let site = Site::simple("", "");
    site.file("present.html", "here");
    let srv = site.start();
    assert_eq!(get(&srv.url("/present.html")).0, 200);
    let (st, h, body) = get(&srv.url("/nope.html"));
    assert_eq!(st, 404);
    assert_eq!(h["content-type"], "text/html");
    assert!(String::from_utf8_lossy(&body).contains("<h1>404</h1>"));
}

#[test]
fn etag_is_lws_form_and_if_none_match_gives_304() {
    let s = Site::simple("", "");
    s.file("a.txt", "hello");
    let srv = s.start();
    let (st, h, _) = get(&srv.url("/a.txt"));
    assert_eq!(st, 200);
    let etag = h["etag"].clone();
    assert_eq!(etag.len(), 16, "{etag}");
    assert!(etag.starts_with("00000005"), "length first: {etag}");
    assert!(etag
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    let (st, h2, body) = get_with(&srv.url("/a.txt"), &[("if-none-match", &etag)]);
    assert_eq!(st, 304);
    assert!(body.is_empty());
    assert_eq!(h2["etag"], etag);
    assert_eq!(h2["cache-control"], "no-store");
    assert_eq!(
        get_with(&srv.url("/a.txt"), &[("if-none-match", "0000000000000000")]).0,
        200
    );
}

#[test]
fn if_modified_since_and_last_modified() {
    let s = Site::simple("", "");
    s.file("a.txt", "hello");
    let srv = s.start();
    let (_, h, _) = get(&srv.url("/a.txt"));
    let lm = h["last-modified"].clone();
    assert_eq!(
        get_with(&srv.url("/a.txt"), &[("if-modified-since", &lm)]).0,
        304
    );
    let old = "Mon, 01 Jan 2001 00:00:00 GMT";
    assert_eq!(
        get_with(&srv.url("/a.txt"), &[("if-modified-since", old)]).0,
        200
    );
}

#[test]
fn cache_control_from_mount_keys() {
    let s = Site::simple(
        "",
        r#""cache-max-age": "60", "cache-reuse": "1", "cache-revalidate": "1", "cache-intermediaries": "0""#,
    );
    s.file("a.txt", "x");
    let srv = s.start();
    assert_eq!(
        get(&srv.url("/a.txt")).1["cache-control"],
        "must-revalidate, private, max-age=60"
    );
    let s = Site::simple("", r#""cache-no": "on""#);
    s.file("a.txt", "x");
    assert_eq!(get(&s.start().url("/a.txt")).1["cache-control"], "no-cache");
}

#[test]
fn single_range_is_206_and_bad_range_416() {
    let s = Site::simple("", "");
    s.file("a.txt", "0123456789");
    let srv = s.start();
    let (st, h, body) = get_with(&srv.url("/a.txt"), &[("range", "bytes=2-5")]);
    assert_eq!(st, 206);
    assert_eq!(body, b"2345");
    assert_eq!(h["content-range"], "bytes 2-5/10");
    let (st, _, body) = get_with(&srv.url("/a.txt"), &[("range", "bytes=-3")]);
    assert_eq!((st, body.as_slice()), (206, &b"789"[..]));
    let (st, h, _) = get_with(&srv.url("/a.txt"), &[("range", "bytes=50-")]);
    assert_eq!(st, 416);
    assert_eq!(h["content-range"], "bytes */10");
}

#[test]
fn head_has_headers_and_no_body() {
    let s = Site::simple("", "");
    s.file("a.txt", "0123456789");
    let srv = s.start();
    let r = raw(
        srv.addr(7681),
        b"HEAD /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length").as_deref(), Some("10"));
    let mut rest = Vec::new();
    use std::io::Read;
    let mut s2 = std::net::TcpStream::connect(srv.addr(7681)).unwrap();
    std::io::Write::write_all(&mut s2, b"HEAD /a.txt HTTP/1.0\r\n\r\n").unwrap();
    s2.read_to_end(&mut rest).unwrap();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.ends_with("\r\n\r\n"),
        "HEAD must not carry a body: {text:?}"
    );
}

#[test]
fn large_file_streams_intact_and_ranges_into_it() {
    let s = Site::simple("", "");
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    s.file("big.bin.txt", &big);
    let srv = s.start();
    let (st, h, body) = get(&srv.url("/big.bin.txt"));
    assert_eq!(st, 200);
    assert_eq!(h["content-length"], "5000000");
    assert!(body == big, "large file content differs");
    let (st, _, body) = get_with(
        &srv.url("/big.bin.txt"),
        &[("range", "bytes=4000000-4000009")],
    );
    assert_eq!(st, 206);
    assert_eq!(body, &big[4_000_000..4_000_010]);
}

#[test]
fn directory_mountpoint_redirects_and_subdir_default() {
    let s = Site::simple("", "");
    let www = s.path("www");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/", "origin": "file://{w}"}},
                       {{"mountpoint": "/app", "origin": "file://{w}/app", "default": "main.html"}}]}}]}}"#,
            w = www.display()
        ),
    );
    s.file("app/main.html", "app main")
        .file("sub/index.html", "sub index");
    let srv = s.start();
    let (st, h, _) = get(&srv.url("/app"));
    assert_eq!(st, 301);
    assert!(h["location"].ends_with("/app/"), "{h:?}");
    assert_eq!(get(&srv.url("/app/")).2, b"app main");
    assert_eq!(get(&srv.url("/sub/")).2, b"sub index");
    assert_eq!(get(&srv.url("/sub")).2, b"sub index");
}

#[test]
fn redirect_mount_and_error_document() {
    let s = Site::simple(r#""error-document-404": "/404.html""#, "");
    let www = s.path("www");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1",
            "error-document-404": "/404.html",
            "mounts": [{{"mountpoint": "/", "origin": "file://{w}"}},
                       {{"mountpoint": "/old", "origin": ">https://example.com/new/"}},
                       {{"mountpoint": "/keep", "origin": ">http://example.com/k", "append-path": "1"}}]}}]}}"#,
            w = www.display()
        ),
    );
    s.file("404.html", "not here");
    let srv = s.start();
    let (st, h, _) = get(&srv.url("/old/thing"));
    assert_eq!(st, 301);
    assert_eq!(h["location"], "https://example.com/new/");
    let (st, h, _) = get(&srv.url("/keep/a/b?x=1"));
    assert_eq!(st, 301);
    assert_eq!(h["location"], "http://example.com/k/a/b?x=1");
    let (st, h, _) = get(&srv.url("/missing.html"));
    assert_eq!(st, 302);
    assert_eq!(h["location"], "/404.html");
    let (st, _, body) = get(&srv.url("/404.html"));
    assert_eq!((st, body.as_slice()), (404, &b"not here"[..]));
}

#[test]
fn vhost_and_mount_headers_and_sts() {
    let s = Site::simple(
        r#""sts": "on", "headers": [{"X-Vhost": "v", "X-Both": "from-vhost"}]"#,
        r#""headers": [{"X-Both": "from-mount", "X-Mount": "m"}]"#,
    );
    s.file("a.txt", "x");
    let srv = s.start();
    let (_, h, _) = get(&srv.url("/a.txt"));
    assert_eq!(h["x-vhost"], "v");
    assert_eq!(h["x-mount"], "m");
    assert_eq!(h["x-both"], "from-mount");
    assert_eq!(
        h["strict-transport-security"],
        "max-age=15768000 ; includeSubDomains"
    );
    let (_, h, _) = get(&srv.url("/nothing.txt"));
    assert_eq!(h["x-vhost"], "v", "vhost headers are on error pages too");
}

#[test]
fn no_server_header_without_server_string() {
    let s = Site::new("");
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts":[{{"name":"localhost","port":7681,"interface":"127.0.0.1","mounts":[{{"mountpoint":"/","origin":"file://{}"}}]}}]}}"#,
            s.path("www").display()
        ),
    );
    s.file("index.html", "x");
    let (_, h, _) = get(&s.start().url("/"));
    assert!(!h.contains_key("server"), "{h:?}");
}

#[test]
fn reject_service_keywords_by_user_agent() {
    let s = Site::new(r#""reject-service-keywords": [{"badbot": "418 No"}]"#);
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts":[{{"name":"localhost","port":7681,"interface":"127.0.0.1","mounts":[{{"mountpoint":"/","origin":"file://{}"}}]}}]}}"#,
            s.path("www").display()
        ),
    );
    s.file("index.html", "x");
    let srv = s.start();
    assert_eq!(
        get_with(&srv.url("/"), &[("user-agent", "a badbot/1")]).0,
        418
    );
    assert_eq!(get_with(&srv.url("/"), &[("user-agent", "fine")]).0, 200);
}

#[test]
fn post_to_a_file_mount_is_405() {
    let s = Site::simple("", "");
    s.file("a.txt", "x");
    let srv = s.start();
    let r = raw(
        srv.addr(7681),
        b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
}
