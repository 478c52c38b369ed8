//! TLS with rustls: HTTPS over HTTP/1.1 and HTTP/2 (ALPN), WebSockets over
//! TLS, client certificates, plain HTTP redirected, `init-ssl` required.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};

use crate::support::plugins::install_builtins;
use crate::support::{Server, Site};

pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    pub(crate) client_cert: String,
    pub(crate) client_key: String,
}

/// A CA, a server certificate for `localhost` and a client certificate
/// (common name and DNS name `client`) it signed.
pub(crate) fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Comlink test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let server = server_params.signed_by(&server_key, &ca).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["client".to_string()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "client");
    let client = client_params.signed_by(&client_key, &ca).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

fn tls_site(pki: &Pki, extra: &str, init_ssl: bool) -> Site {
    let init_ssl = if init_ssl {
        "\"init-ssl\": \"yes\""
    } else {
        ""
    };
    let s = Site::with_plugins(init_ssl, |p| install_builtins(p, &["dumb_increment"]));
    for (name, text) in [
        ("ca.pem", &pki.ca_pem),
        ("cert.pem", &pki.server_cert),
        ("key.pem", &pki.server_key),
        ("client.pem", &pki.client_cert),
        ("client.key", &pki.client_key),
    ] {
        std::fs::write(s.path(name), text).unwrap();
    }
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "host-ssl-cert": "{d}/cert.pem", "host-ssl-key": "{d}/key.pem", "host-ssl-ca": "{d}/ca.pem",
            "sts": "on" {extra},
            "mounts": [{{"mountpoint": "/", "origin": "file://{d}/www"}}],
            "ws-protocols": [{{"dumb-increment-protocol": {{"status": "ok"}}}}]}}]}}"#,
            d = s.dir.path().display()
        ),
    );
    s.file("index.html", "secure page");
    s
}

fn https(srv: &Server, s: &Site, args: &[&str]) -> String {
    let url = format!("https://localhost:{}/", srv.addr(7681).port());
    let resolve = format!("localhost:{}:127.0.0.1", srv.addr(7681).port());
    let ca = s.path("ca.pem");
    let mut all = vec![
        "-sS",
        "-i",
        "--max-time",
        "20",
        "--resolve",
        &resolve,
        "--cacert",
        ca.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    all.push(&url);
    let o = std::process::Command::new("curl")
        .args(&all)
        .output()
        .expect("curl");
    let err = String::from_utf8_lossy(&o.stderr);
    if !err.is_empty() {
        eprintln!("curl: {err}");
    }
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn https_speaks_http2_and_http1_with_sts() {
    let p = pki();
    let s = tls_site(&p, "", true);
    let srv = s.start();
    let h2 = https(&srv, &s, &["--http2"]);
    assert!(h2.starts_with("HTTP/2 200"), "{h2}");
    assert!(h2.ends_with("secure page"), "{h2}");
    assert!(
        h2.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=15768000"),
        "{h2}"
    );
    let h1 = https(&srv, &s, &["--http1.1"]);
    assert!(h1.starts_with("HTTP/1.1 200"), "{h1}");
}

#[test]
fn websocket_over_tls() {
    let p = pki();
    let s = tls_site(&p, "", true);
    let srv = s.start();
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(p.ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(srv.addr(7681)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let tls = rustls::StreamOwned::new(conn, tcp);
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "wss://localhost:{}/",
        srv.addr(7681).port()
    ))
    .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "dumb-increment-protocol".parse().unwrap(),
    );
    let (mut ws, _) = tungstenite::client(req, tls).unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        if let tungstenite::Message::Text(t) = crate::support::ws::read_message(&mut ws).unwrap() {
            got.push(t.to_string());
        }
    }
    assert_eq!(got, vec!["0", "1", "2"]);
}

#[test]
fn client_certificates_are_required_when_configured() {
    let p = pki();
    let s = tls_site(&p, r#", "client-cert-required": "1""#, true);
    let srv = s.start();
    let without = https(&srv, &s, &["--http1.1"]);
    assert!(
        !without.contains("secure page"),
        "served without a client certificate: {without}"
    );
    let cert = s.path("client.pem");
    let key = s.path("client.key");
    let with = https(
        &srv,
        &s,
        &[
            "--http1.1",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    assert!(with.ends_with("secure page"), "{with}");
}

#[test]
fn plain_http_on_the_tls_port_is_redirected_when_configured() {
    let p = pki();
    let s = tls_site(&p, r#", "allow-non-tls": "1", "redirect-http": "1""#, true);
    let srv = s.start();
    let mut c = TcpStream::connect(srv.addr(7681)).unwrap();
    c.write_all(b"GET /x?y=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 301"), "{out}");
    assert!(
        out.to_ascii_lowercase()
            .contains("location: https://localhost/x?y=1"),
        "{out}"
    );
    // And TLS still works on the same port.
    assert!(https(&srv, &s, &["--http1.1"]).ends_with("secure page"));
}

#[test]
fn without_init_ssl_the_vhost_serves_plain_http_and_warns() {
    let p = pki();
    let s = tls_site(&p, "", false);
    let srv = s.start();
    assert!(srv.log_text().contains("init-ssl"), "{}", srv.log_text());
    let (st, _, body) = crate::support::get(&srv.url("/"));
    assert_eq!((st, body.as_slice()), (200, &b"secure page"[..]));
}

#[test]
fn a_missing_certificate_names_the_file_and_line() {
    let p = pki();
    let s = tls_site(&p, "", true);
    std::fs::remove_file(s.path("cert.pem")).unwrap();
    let o = crate::support::lwsws()
        .arg("-c")
        .arg(s.dir.path())
        .arg("--ephemeral-ports")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(
        text.contains("cert.pem") && text.contains("conf.d/v:"),
        "{text}"
    );
    let _ = Path::new("");
}

#[test]
fn callback_mounts_work_over_http2() {
    let p = pki();
    let s = tls_site(&p, "", true);
    crate::support::plugins::cc_plugin(
        &s.path("plugins"),
        "http_count",
        &crate::support::plugins::repo().join("examples/c-plugin-http/protocol_http_count.c"),
    );
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "host-ssl-cert": "{d}/cert.pem", "host-ssl-key": "{d}/key.pem",
            "mounts": [{{"mountpoint": "/", "origin": "callback://http-count"}}],
            "ws-protocols": [{{"http-count": {{"status": "ok"}}}}]}}]}}"#,
            d = s.dir.path().display()
        ),
    );
    let srv = s.start();
    let out = https(
        &srv,
        &s,
        &["--http2", "-X", "POST", "--data-binary", "seven!!"],
    );
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(out.contains("\"bytes\":7"), "{out}");
    // A streamed upload: over HTTP/2 curl sends it with no Content-Length,
    // its end is the stream's end; every byte reaches the plugin.
    std::fs::write(s.path("upload"), vec![b'u'; 100_000]).unwrap();
    let file = format!("@{}", s.path("upload").display());
    let out = https(
        &srv,
        &s,
        &[
            "--http2",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &file,
            "-v",
        ],
    );
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(out.contains("\"bytes\":100000"), "{out}");
    // A POST ended with its headers: an empty body, answered.
    let out = https(&srv, &s, &["--http2", "-X", "POST"]);
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    assert!(out.contains("\"bytes\":0"), "{out}");
}

#[test]
fn http2_requests_meet_the_http1_limits() {
    let p = pki();
    let s = tls_site(&p, "", true);
    let srv = s.start();
    let status = |extra: &[&str], path: &str| -> String {
        let mut args = vec![
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
        ];
        args.extend_from_slice(extra);
        let port = srv.addr(7681).port();
        let url = format!("https://localhost:{port}{path}");
        let resolve = format!("localhost:{port}:127.0.0.1");
        let ca = s.path("ca.pem");
        let o = std::process::Command::new("curl")
            .args(["-sS", "--max-time", "20", "--resolve", &resolve, "--cacert"])
            .arg(&ca)
            .args(&args)
            .arg(&url)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    assert_eq!(status(&[], "/"), "200 2");
    let many: Vec<String> = (0..101).map(|i| format!("X-H{i}: v")).collect();
    let mut extra = Vec::new();
    for h in &many {
        extra.extend(["-H", h.as_str()]);
    }
    // curl adds User-Agent and Accept: 103 header lines, then 100.
    assert_eq!(status(&extra, "/"), "431 2", "103 header lines");
    assert_eq!(status(&extra[6..], "/"), "200 2", "100 header lines");
    let big = format!("X-Big: {}", "a".repeat(20_000));
    assert_eq!(status(&["-H", &big], "/"), "431 2", "a 20 kB header");
    let long = format!("/{}", "x".repeat(9000));
    assert_eq!(status(&[], &long), "414 2", "a 9 kB path");
}

#[test]
fn certificates_are_read_again_on_reload() {
    let old = pki();
    let s = tls_site(&old, "", true);
    let srv = s.start();
    assert!(https(&srv, &s, &["--http1.1"]).starts_with("HTTP/1.1 200"));
    // A renewed certificate from another CA lands in the same files.
    let new = pki();
    std::fs::write(s.path("cert.pem"), &new.server_cert).unwrap();
    std::fs::write(s.path("key.pem"), &new.server_key).unwrap();
    std::fs::write(s.path("ca.pem"), &new.ca_pem).unwrap();
    let before = https(&srv, &s, &[]);
    assert!(
        before.is_empty(),
        "the old certificate serves until reload: {before}"
    );
    srv.reload();
    // The service threads take the new listeners' TLS just after the log line.
    assert!(
        crate::support::eventually(10, || https(&srv, &s, &["--http2"])
            .starts_with("HTTP/2 200")),
        "{}",
        srv.log_text()
    );
    std::fs::write(s.path("ca.pem"), &old.ca_pem).unwrap();
    assert!(
        https(&srv, &s, &[]).is_empty(),
        "the old certificate is gone"
    );
}
