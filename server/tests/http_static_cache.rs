//! file:// mounts keep small files, their ETag and Last-Modified and their
//! Content-Type per service thread: what is served must still be what is
//! on disk now, and the type the name asked for on this mount.

use std::fs::{File, FileTimes};
use std::time::{Duration, UNIX_EPOCH};

use crate::support::{get, get_with, Site};

/// Sets `path`'s mtime to `secs` after the epoch.
fn set_mtime(path: &std::path::Path, secs: u64) {
    let f = File::options().write(true).open(path).unwrap();
    f.set_times(FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(secs)))
        .unwrap();
}

#[test]
fn a_file_changed_on_disk_is_served_as_it_is_now() {
    let s = Site::simple("", "");
    s.file("a.txt", "hello");
    let path = s.path("www/a.txt");
    set_mtime(&path, 1_000_000_000);
    let srv = s.start();
    // Twice: the second answer comes from the cache.
    for _ in 0..2 {
        let (st, h, body) = get(&srv.url("/a.txt"));
        assert_eq!((st, body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(h["etag"], "000000053B9ACA00");
        assert_eq!(h["last-modified"], "Sun, 09 Sep 2001 01:46:40 GMT");
    }

    // Same length, rewritten in place, another mtime.
    std::fs::write(&path, "HELLO").unwrap();
    set_mtime(&path, 1_000_000_060);
    let (st, h, body) = get(&srv.url("/a.txt"));
    assert_eq!((st, body.as_slice()), (200, &b"HELLO"[..]));
    assert_eq!(h["etag"], "000000053B9ACA3C");
    assert_eq!(h["last-modified"], "Sun, 09 Sep 2001 01:47:40 GMT");
    // The old tag no longer matches.
    let (st, _, body) = get_with(&srv.url("/a.txt"), &[("if-none-match", "000000053B9ACA00")]);
    assert_eq!((st, body.as_slice()), (200, &b"HELLO"[..]));

    // Another length.
    std::fs::write(&path, "hello, world").unwrap();
    set_mtime(&path, 1_000_000_060);
    let (_, h, body) = get(&srv.url("/a.txt"));
    assert_eq!(body, b"hello, world");
    assert_eq!(h["etag"], "0000000C3B9ACA3C");
    assert_eq!(h["content-length"], "12");

    // Replaced by a rename with the same length and mtime: another file.
    let tmp = s.path("www/.a.txt.new");
    std::fs::write(&tmp, "HELLO, WORLD").unwrap();
    set_mtime(&tmp, 1_000_000_060);
    std::fs::rename(&tmp, &path).unwrap();
    let (_, h, body) = get(&srv.url("/a.txt"));
    assert_eq!(body, b"HELLO, WORLD");
    assert_eq!(h["etag"], "0000000C3B9ACA3C");
}

#[test]
fn a_hard_link_is_typed_by_its_own_name() {
    let s = Site::simple("", "");
    s.file("a.txt", "p{}");
    std::fs::hard_link(s.path("www/a.txt"), s.path("www/a.css")).unwrap();
    std::fs::hard_link(s.path("www/a.txt"), s.path("www/passwd")).unwrap();
    let srv = s.start();
    for _ in 0..2 {
        assert_eq!(get(&srv.url("/a.txt")).1["content-type"], "text/plain");
        assert_eq!(get(&srv.url("/a.css")).1["content-type"], "text/css");
        // Same file, but a name lws does not serve.
        assert_eq!(get(&srv.url("/passwd")).0, 415);
    }
}

#[test]
fn two_mounts_of_one_directory_keep_their_own_types() {
    let s = Site::new("\"server-string\": \"lwsws\"");
    let www = s.path("www");
    s.file("a.props", "k=v");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/", "origin": "file://{w}",
                         "extra-mimetypes": {{".props": "text/x-one"}}}},
                       {{"mountpoint": "/two", "origin": "file://{w}",
                         "extra-mimetypes": {{".props": "text/x-two"}}}},
                       {{"mountpoint": "/none", "origin": "file://{w}"}}]}}]}}"#,
            w = www.display()
        ),
    );
    let srv = s.start();
    for _ in 0..2 {
        assert_eq!(get(&srv.url("/a.props")).1["content-type"], "text/x-one");
        assert_eq!(
            get(&srv.url("/two/a.props")).1["content-type"],
            "text/x-two"
        );
        assert_eq!(get(&srv.url("/none/a.props")).0, 415);
    }
}
