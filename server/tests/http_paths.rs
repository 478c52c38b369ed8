//! No request can read outside a mount's directory, whatever its spelling.
//! Raw sockets, because real clients normalise these paths away.

use crate::support::{raw, Site};

fn site_with_secret() -> (Site, crate::support::Server) {
    let s = Site::simple("", "");
    s.file("index.html", "public");
    s.file("sub/page.html", "sub page");
    std::fs::write(s.path("secret.html"), "SECRET").unwrap();
    std::os::unix::fs::symlink(s.path("secret.html"), s.path("www/escape.html")).unwrap();
    std::os::unix::fs::symlink(s.path("www/sub/page.html"), s.path("www/inside.html")).unwrap();
    std::os::unix::fs::symlink(s.path("."), s.path("www/updir")).unwrap();
    let srv = s.start();
    (s, srv)
}

#[test]
fn traversal_forms_are_refused() {
    let (_s, srv) = site_with_secret();
    for target in [
        "/../secret.html",
        "/sub/../../secret.html",
        "/%2e%2e/secret.html",
        "/%2E%2E/secret.html",
        "/.%2e/secret.html",
        "/..%2fsecret.html",
        "/sub%2f..%2f..%2fsecret.html",
        "//secret.html",
        "/sub//page.html",
        "/index.html%00.txt",
        "/./index.html",
        "/..\\secret.html",
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let r = raw(srv.addr(7681), req.as_bytes());
        assert!(
            r.status == 403 || r.status == 404 || r.status == 400,
            "{target}: status {}",
            r.status
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("SECRET"),
            "{target} leaked the secret"
        );
    }
}

#[test]
fn symlinks_inside_are_served_outside_are_not() {
    let (_s, srv) = site_with_secret();
    let get = |p: &str| {
        raw(
            srv.addr(7681),
            format!("GET {p} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    };
    let r = get("/inside.html");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"sub page"[..]));
    let r = get("/escape.html");
    assert_eq!(r.status, 404);
    let r = get("/updir/secret.html");
    assert_eq!(r.status, 404);
    // Logged while answering; the test reads stderr on another thread.
    assert!(crate::support::eventually(5, || srv
        .log_text()
        .contains("resolves outside")));
}
