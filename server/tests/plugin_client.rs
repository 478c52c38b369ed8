//! Client connections plugins open (`lws_client_connect_via_info`, #18):
//! the C test plugin `tests/plugins/client_relay.c` opens WebSocket and
//! HTTP client connections on a browser's command and reports every client
//! callback back to it, so each test reads what the plugin saw.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use crate::support::plugins::cc_plugin;
use crate::support::ws::{connect, next_text, Client};
use crate::support::{Server, Site};
use crate::ws_host::{plugin_src, start, vhost};

/// Sends a command to the relay.
fn send(ws: &mut Client, text: &str) {
    ws.send(tungstenite::Message::text(text)).unwrap();
}

/// A site with the relay plugin and the vhosts `vhosts` makes (given the
/// site, for its paths).
fn site(global_extra: &str, vhosts: impl FnOnce(&Site) -> Vec<String>) -> Site {
    let s = Site::new("");
    let dir = s.path("plugins");
    cc_plugin(&dir, "client_relay", &plugin_src("client_relay"));
    std::fs::write(
        s.path("conf"),
        format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\"{global_extra}}}}}",
            dir.display()
        ),
    )
    .unwrap();
    let vhosts = vhosts(&s);
    s.conf_d("v", &format!("{{\"vhosts\": [{}]}}", vhosts.join(",\n")));
    s
}

/// A vhost for the browser's relay connection (`extra`: more members).
fn relay_vhost(port: u16, log: &Path, extra: &str) -> String {
    vhost(
        &format!("relay{port}"),
        port,
        &format!(
            r#", "ws-protocols": [{{"relay": {{}}}}, {{"relay-client": {{"log": "{}"}}}}]{extra}"#,
            log.display()
        ),
    )
}

/// A vhost serving `relay-target` and the files of `dir` (`extra`: more members).
fn target_vhost(name: &str, port: u16, dir: &Path, extra: &str) -> String {
    vhost(
        name,
        port,
        &format!(
            r#", "ws-protocols": [{{"relay-target": {{}}}}],
            "mounts": [{{"mountpoint": "/", "origin": "file://{}", "default": "index.html"}}]{extra}"#,
            dir.display()
        ),
    )
}

fn relay(srv: &Server, port: u16) -> Client {
    connect(srv.addr(port), "/", &["relay"])
}

/// A text file of `len` bytes and the byte sum the plugin computes.
fn text_file(len: usize) -> (Vec<u8>, u64) {
    let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
    let sum = data.iter().map(|&b| u64::from(b)).sum();
    (data, sum)
}

#[test]
fn websocket_client_relays_through_another_vhost() {
    let s = site("", |s| {
        std::fs::create_dir_all(s.path("www/files")).unwrap();
        vec![
            relay_vhost(7681, &s.path("client.log"), ""),
            target_vhost("target", 7682, &s.path("www/files"), ""),
        ]
    });
    let srv = start(&s);
    let mut ws = relay(&srv, 7681);
    let port = srv.addr(7682).port();

    send(
        &mut ws,
        &format!("ws 0 127.0.0.1 {port} /chat relay-target"),
    );
    assert_eq!(next_text(&mut ws), "established");
    // The header the plugin added in CLIENT_APPEND_HANDSHAKE_HEADER reached
    // the other vhost's protocol.
    assert_eq!(next_text(&mut ws), "rx hdr from-plugin");

    // A message goes out in CLIENT_WRITEABLE, the answer comes back in
    // CLIENT_RECEIVE.
    for word in ["hello", "second message", "third"] {
        send(&mut ws, &format!("send {word}"));
        assert_eq!(next_text(&mut ws), format!("rx echo {word}"));
    }

    // One write per CLIENT_WRITEABLE, as on the server side: the second
    // is refused, the first goes out (masked: the target reads it).
    send(&mut ws, "double");
    assert_eq!(next_text(&mut ws), "double 3 -1");
    assert_eq!(next_text(&mut ws), "rx echo one");

    // Returning -1 from CLIENT_WRITEABLE closes it: CLIENT_CLOSED.
    send(&mut ws, "close");
    assert_eq!(next_text(&mut ws), "closed");
    send(&mut ws, "send more");
    assert_eq!(next_text(&mut ws), "no client");

    // The plugin's own user data instead of per-session data.
    send(
        &mut ws,
        &format!("wsu 0 127.0.0.1 {port} /chat relay-target"),
    );
    assert_eq!(next_text(&mut ws), "established own-user");
    assert_eq!(next_text(&mut ws), "rx hdr from-plugin");
}

#[test]
fn http_client_fetches_a_file_from_a_local_vhost() {
    let (data, sum) = text_file(5000);
    let s = site("", |s| {
        s.file("files/data.txt", &data);
        vec![
            relay_vhost(7681, &s.path("client.log"), ""),
            target_vhost("files", 7682, &s.path("www/files"), ""),
        ]
    });
    let srv = start(&s);
    let mut ws = relay(&srv, 7681);
    let port = srv.addr(7682).port();

    send(&mut ws, &format!("get 0 127.0.0.1 {port} /data.txt"));
    // The response's headers are there in ESTABLISHED_CLIENT_HTTP (lws_hdr_copy).
    assert_eq!(next_text(&mut ws), "status 200 text/plain");
    let done = next_text(&mut ws);
    let parts: Vec<&str> = done.split(' ').collect();
    assert_eq!(parts[0], "completed", "{done}");
    assert_eq!(parts[1], "5000", "{done}");
    // lws_http_client_read was asked for 100 bytes at a time.
    assert!(parts[2].parse::<u32>().unwrap() >= 50, "{done}");
    assert_eq!(parts[3], sum.to_string(), "{done}");
    assert_eq!(next_text(&mut ws), "http-closed");

    // A missing file: the status, an empty body.
    send(&mut ws, &format!("get 0 127.0.0.1 {port} /missing.txt"));
    assert!(next_text(&mut ws).starts_with("status 404 "));
    assert!(next_text(&mut ws).starts_with("completed "));
    assert_eq!(next_text(&mut ws), "http-closed");
}

#[test]
fn wss_and_https_clients_check_the_certificate() {
    let pki = crate::ops_tls::pki();
    let (data, sum) = text_file(300);
    let s = site(r#", "init-ssl": "1""#, |s| {
        s.file("files/data.txt", &data);
        s.file("ca.pem", &pki.ca_pem);
        s.file("cert.pem", &pki.server_cert);
        s.file("key.pem", &pki.server_key);
        let log = s.path("client.log");
        let tls = format!(
            r#", "host-ssl-cert": "{}", "host-ssl-key": "{}""#,
            s.path("www/cert.pem").display(),
            s.path("www/key.pem").display()
        );
        let trusted = format!(r#", "client-ssl-ca": "{}""#, s.path("www/ca.pem").display());
        vec![
            relay_vhost(7681, &log, ""),
            relay_vhost(7682, &log, &trusted),
            target_vhost("localhost", 7683, &s.path("www/files"), &tls),
        ]
    });
    let srv = start(&s);
    let port = srv.addr(7683).port();

    // Without the test CA the certificate is refused...
    let mut untrusting = relay(&srv, 7681);
    send(
        &mut untrusting,
        &format!("ws 1 localhost {port} / relay-target"),
    );
    let err = next_text(&mut untrusting);
    assert!(err.starts_with("error tls: "), "{err}");
    // ...unless the plugin allows a self-signed one (LCCSCF_ALLOW_SELFSIGNED).
    send(
        &mut untrusting,
        &format!("ws 3 localhost {port} / relay-target"),
    );
    assert_eq!(next_text(&mut untrusting), "established");
    assert_eq!(next_text(&mut untrusting), "rx hdr from-plugin");

    // The vhost's client-ssl-ca makes it trusted.
    let mut ws = relay(&srv, 7682);
    send(&mut ws, &format!("ws 1 localhost {port} / relay-target"));
    assert_eq!(next_text(&mut ws), "established");
    assert_eq!(next_text(&mut ws), "rx hdr from-plugin");
    send(&mut ws, "send over tls");
    assert_eq!(next_text(&mut ws), "rx echo over tls");
    send(&mut ws, "close");
    assert_eq!(next_text(&mut ws), "closed");

    send(&mut ws, &format!("get 1 localhost {port} /data.txt"));
    assert_eq!(next_text(&mut ws), "status 200 text/plain");
    let done = next_text(&mut ws);
    assert!(done.starts_with("completed 300 "), "{done}");
    assert!(done.ends_with(&format!(" {sum}")), "{done}");
    assert_eq!(next_text(&mut ws), "http-closed");

    // The name is checked: 127.0.0.1 is not in the certificate...
    send(&mut ws, &format!("ws 1 127.0.0.1 {port} / relay-target"));
    let err = next_text(&mut ws);
    assert!(err.starts_with("error tls: "), "{err}");
    // ...unless LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK (1 | 4).
    send(&mut ws, &format!("ws 5 127.0.0.1 {port} / relay-target"));
    assert_eq!(next_text(&mut ws), "established");
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn connection_error_says_why() {
    let s = site("", |s| vec![relay_vhost(7681, &s.path("client.log"), "")]);
    let srv = start(&s);
    let mut ws = relay(&srv, 7681);
    let port = closed_port();
    send(&mut ws, &format!("ws 0 127.0.0.1 {port} / x"));
    let err = next_text(&mut ws);
    assert!(err.starts_with("error connect to 127.0.0.1:"), "{err}");
    assert!(err.contains("refused"), "{err}");
    send(&mut ws, &format!("get 0 127.0.0.1 {port} /"));
    let err = next_text(&mut ws);
    assert!(err.contains("refused"), "{err}");
    // No CLIENT_CLOSED after a connection error.
    send(&mut ws, "close");
    assert_eq!(next_text(&mut ws), "no client");
}

#[test]
fn a_killed_peer_closes_the_client_and_the_server_goes_on() {
    let s = site("", |s| vec![relay_vhost(7681, &s.path("client.log"), "")]);
    let mut srv = start(&s);

    // The peer: a WebSocket server in this test that greets, then dies.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let peer_thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        ws.send(tungstenite::Message::text("hi from the peer"))
            .unwrap();
        let _ = rx.recv();
        // Gone without a close frame, as a killed process.
        let stream = ws.get_ref();
        stream.shutdown(std::net::Shutdown::Both).unwrap();
    });

    let mut ws = relay(&srv, 7681);
    send(&mut ws, &format!("ws 0 127.0.0.1 {} / x", peer.port()));
    assert_eq!(next_text(&mut ws), "established");
    assert_eq!(next_text(&mut ws), "rx hi from the peer");
    tx.send(()).unwrap();
    peer_thread.join().unwrap();
    assert_eq!(next_text(&mut ws), "closed");

    assert!(srv.alive());
    let mut again = relay(&srv, 7681);
    send(&mut again, "send x");
    assert_eq!(next_text(&mut again), "no client");
}

/// Builds the relay plugin as `version` into `dir`, replacing the file the
/// way an install does (a new file moved over the old name).
fn build_relay(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let tmp = dir.join(format!(".build-{version}.so"));
    let o = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-I"])
        .arg(crate::support::plugins::repo().join("plugin-api/include"))
        .arg(format!("-DVERSION=\"{version}\""))
        .arg("-o")
        .arg(&tmp)
        .arg(plugin_src("client_relay"))
        .output()
        .expect("cc is installed by scripts/test-deps");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::rename(&tmp, dir.join("libprotocol_client_relay.so")).unwrap();
}

#[test]
fn a_swapped_plugin_closes_its_client_before_its_destroy() {
    let s = site(r#", "watch": "off""#, |s| {
        vec![
            relay_vhost(7681, &s.path("client.log"), ""),
            vhost(
                "target",
                7682,
                r#", "ws-protocols": [{"relay-target": {}}]"#,
            ),
        ]
    });
    let plugins = s.path("plugins");
    build_relay(&plugins, "v1");
    let srv = start(&s);
    let mut ws = relay(&srv, 7681);
    let port = srv.addr(7682).port();
    send(&mut ws, &format!("ws 0 127.0.0.1 {port} / relay-target"));
    assert_eq!(next_text(&mut ws), "established");
    assert_eq!(next_text(&mut ws), "rx hdr from-plugin");

    // A new build of the plugin: the old one is told its context is
    // ending and closes its client connection (CLIENT_CLOSED)...
    build_relay(&plugins, "v2");
    srv.reload();
    assert_eq!(next_text(&mut ws), "closed");
    // ...and its PROTOCOL_DESTROY comes once its last connection is gone.
    drop(ws);
    let log = s.path("client.log");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        crate::support::eventually(10, || read().contains("\ndestroy\n")),
        "{}",
        read()
    );
    let text = read();
    let at = |what: &str| {
        text.find(what)
            .unwrap_or_else(|| panic!("no {what:?} in:\n{text}"))
    };
    assert!(at("init v1") < at("being destroyed"), "{text}");
    assert!(at("being destroyed") < at("closed"), "{text}");
    assert!(at("closed") < at("\ndestroy"), "{text}");
    assert!(text.contains("init v2"), "{text}");
}

#[test]
fn http_client_posts_a_body_in_writeable_callbacks() {
    let s = site("", |s| {
        let example =
            crate::support::plugins::repo().join("examples/c-plugin-http/protocol_http_count.c");
        cc_plugin(&s.path("plugins"), "http_count", &example);
        vec![
            relay_vhost(7681, &s.path("client.log"), ""),
            vhost(
                "counter",
                7682,
                r#", "ws-protocols": [{"http-count": {}}],
                "mounts": [{"mountpoint": "/count", "origin": "callback://http-count"}]"#,
            ),
        ]
    });
    let srv = start(&s);
    let mut ws = relay(&srv, 7681);
    let port = srv.addr(7682).port();
    // 4500 bytes: four LWS_WRITE_HTTP of 1000, then LWS_WRITE_HTTP_FINAL.
    send(&mut ws, &format!("post 0 127.0.0.1 {port} /count/x 4500"));
    assert!(next_text(&mut ws).starts_with("status 200 "));
    let body = next_text(&mut ws);
    assert!(body.starts_with("body {\"bytes\":4500,"), "{body}");
    assert_eq!(next_text(&mut ws), "http-closed");
}

/// Not a test: prints how many relay round trips per second one client
/// connection carries (browser -> relay -> client connection -> the other
/// vhost's echo -> back). Run it alone:
/// `cargo test --release --test integration relay_round_trip_figures -- --ignored --nocapture`
#[test]
#[ignore = "a figure, not a check"]
fn relay_round_trip_figures() {
    let s = site("", |s| {
        std::fs::create_dir_all(s.path("www/files")).unwrap();
        vec![
            relay_vhost(7681, &s.path("client.log"), ""),
            target_vhost("target", 7682, &s.path("www/files"), ""),
        ]
    });
    let srv = start(&s);
    let mut ws = relay(&srv, 7681);
    let port = srv.addr(7682).port();
    send(&mut ws, &format!("ws 0 127.0.0.1 {port} / relay-target"));
    assert_eq!(next_text(&mut ws), "established");
    assert_eq!(next_text(&mut ws), "rx hdr from-plugin");
    let n = 5000;
    let started = std::time::Instant::now();
    for i in 0..n {
        send(&mut ws, &format!("send m{i}"));
        assert_eq!(next_text(&mut ws), format!("rx echo m{i}"));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "relay round trips: {n} in {secs:.2} s = {:.0}/s, {:.1} us each",
        f64::from(n) / secs,
        secs * 1e6 / f64::from(n)
    );
}
