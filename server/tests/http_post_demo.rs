//! protocol-post-demo (Rust built-in, over the host's lws_spa form parser):
//! urlencoded and multipart forms, file upload, HTML escaping.

use crate::support::plugins::install_builtins;
use crate::support::{curl, Site};

fn site() -> (Site, crate::support::Server) {
    let s = Site::with_plugins("", |p| install_builtins(p, &["post_demo"]));
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{"mountpoint": "/formtest", "origin": "callback://protocol-post-demo"}],
            "ws-protocols": [{"protocol-post-demo": {"status": "ok"}}]}]}"#,
    );
    let srv = s.start();
    (s, srv)
}

fn row(page: &str, name: &str) -> (String, String) {
    let key = format!("<td><b>{name}</b></td><td>");
    let at = page
        .find(&key)
        .unwrap_or_else(|| panic!("no row {name} in {page}"))
        + key.len();
    let rest = &page[at..];
    let len = rest.split("</td>").next().unwrap().to_string();
    let value = rest
        .split("</td><td>")
        .nth(1)
        .unwrap()
        .split("</td>")
        .next()
        .unwrap()
        .to_string();
    (len, value)
}

#[test]
fn urlencoded_fields_are_decoded_and_escaped() {
    let (_s, srv) = site();
    let page = curl(&[
        "-X",
        "POST",
        "-d",
        "text=hello+<b>%21+%26+%22q%22&send=Send",
        &srv.url("/formtest"),
    ]);
    assert!(page.contains("Form results (after urldecoding)"), "{page}");
    assert_eq!(
        row(&page, "text"),
        ("16".into(), "hello &lt;b&gt;! &amp; &quot;q&quot;".into())
    );
    assert_eq!(row(&page, "send"), ("4".into(), "Send".into()));
    assert_eq!(row(&page, "file").1, "NULL");
}

#[test]
fn multipart_with_a_file_upload() {
    let (s, srv) = site();
    let up = s.path("up.txt");
    std::fs::write(&up, vec![b'z'; 5000]).unwrap();
    let page = curl(&[
        "-F",
        "text=multi part",
        "-F",
        &format!("file=@{}", up.display()),
        "-F",
        "send=go",
        &srv.url("/formtest"),
    ]);
    assert_eq!(row(&page, "text"), ("10".into(), "multi part".into()));
    assert_eq!(row(&page, "send"), ("2".into(), "go".into()));
    assert!(
        page.contains("<b>filename:</b> up.txt, <b>length</b> 5000"),
        "{page}"
    );
}

#[test]
fn headers_are_complete_and_keep_alive_works() {
    let (_s, srv) = site();
    let out = curl(&[
        "-s",
        "-i",
        "-d",
        "text=a",
        &srv.url("/formtest"),
        "-d",
        "text=b",
        &srv.url("/formtest"),
    ]);
    assert_eq!(out.matches("HTTP/1.1 200").count(), 2, "{out}");
    assert!(
        out.to_ascii_lowercase().contains("content-type: text/html"),
        "{out}"
    );
    assert!(
        out.to_ascii_lowercase().contains("content-length:"),
        "{out}"
    );
}
