//! The health check (global `health-path`, issue #15): 200 while serving,
//! 503 while stopping or while a packet journal does not take packets,
//! with a small JSON body saying why; and `lwsws --probe`, what the
//! Dockerfile's HEALTHCHECK runs.

use std::process::Command;

use serde_json::Value;

use crate::support::plugins::install_builtins;
use crate::support::redis::{free_port, Redis};
use crate::support::{curl, eventually, get, lwsws, skip, Server, Site};

/// Status and JSON body of `GET url`.
fn health(url: &str) -> (u16, Value) {
    let (status, headers, body) = get(url);
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/json"),
        "{url}"
    );
    assert_eq!(
        headers.get("cache-control").map(String::as_str),
        Some("no-store")
    );
    (status, serde_json::from_slice(&body).expect("a JSON body"))
}

/// Two vhosts on two ports, each with a file mount on `www/`.
fn two_vhosts(global: &str) -> Site {
    let s = Site::new(global);
    s.file("index.html", "page");
    let www = s.path("www");
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [
              {{"name": "one", "port": 7681, "interface": "127.0.0.1",
                "access-log": "{}",
                "mounts": [{{"mountpoint": "/", "origin": "file://{}", "default": "index.html"}}]}},
              {{"name": "two", "port": 7682, "interface": "127.0.0.1",
                "mounts": [{{"mountpoint": "/", "origin": "file://{}", "default": "index.html"}}]}}]}}"#,
            s.path("access.log").display(),
            www.display(),
            www.display()
        ),
    );
    s
}

#[test]
fn health_path_is_off_by_default_and_answers_on_every_vhost_when_set() {
    let srv = two_vhosts("").start();
    assert_eq!(get(&srv.url("/healthz")).0, 404, "off unless configured");
    drop(srv);

    let s = two_vhosts(r#""health-path": "/healthz""#);
    let srv = s.start();
    for port in [7681, 7682] {
        let url = format!("http://{}/healthz", srv.addr(port));
        assert_eq!(
            health(&url),
            (200, serde_json::json!({"status": "ok"})),
            "{url}"
        );
    }
    let head = curl(&["-I", &srv.url("/healthz")]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let post = curl(&["-i", "-d", "x", &srv.url("/healthz")]);
    assert!(
        post.starts_with("HTTP/1.1 405") && post.to_lowercase().contains("allow: get, head"),
        "{post}"
    );
    // The rest is served as before, and health checks (every few seconds
    // from a load balancer) stay out of the access log.
    assert_eq!(get(&srv.url("/")).2, b"page");
    assert!(eventually(10, || std::fs::read_to_string(
        s.path("access.log")
    )
    .unwrap_or_default()
    .contains("GET / ")));
    let log = std::fs::read_to_string(s.path("access.log")).unwrap();
    assert!(!log.contains("/healthz"), "{log}");
}

#[test]
fn health_says_stopping_during_stop_delay_while_the_rest_is_served() {
    let s = two_vhosts(r#""health-path": "/healthz", "stop-delay-secs": "2""#);
    let mut srv = s.start();
    assert_eq!(health(&srv.url("/healthz")).0, 200);
    Command::new("kill")
        .args(["-TERM", &srv.pid().to_string()])
        .status()
        .unwrap();
    assert!(
        eventually(5, || health(&srv.url("/healthz"))
            == (503, serde_json::json!({"status": "stopping"}))),
        "{}",
        srv.log_text()
    );
    assert_eq!(get(&srv.url("/")).2, b"page", "still serving");
    let st = srv.wait_exit(15).expect("stopped after the delay");
    assert_eq!(st.code(), Some(0));
    assert!(
        srv.log_text().contains("stop-delay-secs"),
        "{}",
        srv.log_text()
    );
}

/// The packet service on vhost `localhost` with its store at `backend`,
/// the health check at /healthz.
fn packet_site(backend: &str) -> Site {
    let s = Site::with_plugins(r#""health-path": "/healthz""#, |p| {
        install_builtins(p, &["lws_packet"])
    });
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/in", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [{{"protocol-lws-packet": {{"status": "ok", "backend": "{backend}"}}}}]}}]}}"#
        ),
    );
    s
}

/// The status of a POSTed packet.
fn post(srv: &Server) -> String {
    curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--data-binary",
        "packet",
        &srv.url("/in"),
    ])
}

fn problem(v: &Value) -> &Value {
    assert_eq!(v["status"], "unavailable", "{v}");
    let p = &v["problems"][0];
    assert_eq!(p["vhost"], "localhost", "{v}");
    assert_eq!(p["part"], "packet journal", "{v}");
    p
}

#[test]
fn health_is_503_while_the_packet_journal_cannot_be_opened() {
    let port = free_port();
    let srv = packet_site(&format!("redis://127.0.0.1:{port}/")).start();
    let (status, v) = health(&srv.url("/healthz"));
    assert_eq!(status, 503, "{v}");
    let why = problem(&v)["why"].as_str().unwrap().to_string();
    assert!(why.contains(&format!("127.0.0.1:{port}")), "{v}");
}

#[test]
fn health_is_503_while_the_packet_journal_refuses_packets_and_200_again_after() {
    const TEST: &str =
        "ops_health::health_is_503_while_the_packet_journal_refuses_packets_and_200_again_after";
    let Some(mut redis) = Redis::start() else {
        return skip(TEST, "no redis-server (scripts/test-deps installs it)");
    };
    let srv = packet_site(&redis.url()).start();
    assert_eq!(post(&srv), "200");
    assert_eq!(health(&srv.url("/healthz")).0, 200);

    // The store goes away: packets are refused, and the health check says so.
    redis.kill();
    assert!(eventually(20, || post(&srv) == "503"), "{}", srv.log_text());
    let (status, v) = health(&srv.url("/healthz"));
    assert_eq!(status, 503, "{v}");
    assert!(!problem(&v)["why"].as_str().unwrap().is_empty(), "{v}");

    // It comes back: the next packet taken clears it (a controller retries
    // a refused packet).
    redis.restart();
    assert!(eventually(20, || post(&srv) == "200"), "{}", srv.log_text());
    assert_eq!(
        health(&srv.url("/healthz")),
        (200, serde_json::json!({"status": "ok"}))
    );
}

#[test]
fn probe_exits_0_on_200_and_1_otherwise() {
    let s = two_vhosts(r#""health-path": "/healthz""#);
    let srv = s.start();
    let probe = |path: &str| lwsws().args(["--probe", &srv.url(path)]).output().unwrap();
    let ok = probe("/healthz");
    assert_eq!(ok.status.code(), Some(0));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        out.starts_with("HTTP/1.1 200 OK\n") && out.contains(r#"{"status":"ok"}"#),
        "{out}"
    );
    assert_eq!(probe("/missing").status.code(), Some(1));
    // Nothing listening: 1, and why on stderr.
    let gone = lwsws()
        .args([
            "--probe",
            &format!("http://127.0.0.1:{}/healthz", free_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(1));
    assert!(!gone.stderr.is_empty());
}

/// A load balancer that took the server out on a 503 sends no more
/// packets; the check must come back by itself once the journal works, or
/// the server would stay out for good.
#[test]
fn health_comes_back_without_traffic_once_the_journal_works_again() {
    const TEST: &str = "ops_health::health_comes_back_without_traffic_once_the_journal_works_again";
    // A failed fsync: the journal stops and reopens by itself.
    let tmp = tempfile::tempdir().unwrap();
    let fault = tmp.path().join("fault");
    let s = Site::with_plugins(r#""health-path": "/healthz""#, |p| {
        install_builtins(p, &["lws_packet"])
    });
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/in", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [{{"protocol-lws-packet": {{"status": "ok",
              "journal-dir": "{}", "test-fault-file": "{}"}}}}]}}]}}"#,
            s.path("journal").display(),
            fault.display()
        ),
    );
    let srv = s.start();
    assert_eq!(post(&srv), "200");
    std::fs::write(&fault, "sync").unwrap();
    assert_eq!(post(&srv), "503");
    assert_eq!(health(&srv.url("/healthz")).0, 503);
    std::fs::remove_file(&fault).unwrap();
    assert!(
        eventually(30, || health(&srv.url("/healthz")).0 == 200),
        "no packet was sent, and the check stayed 503: {}",
        srv.log_text()
    );
    assert_eq!(post(&srv), "200");

    // A lost Redis: packets are refused for a second at a time; with none
    // sent, the check comes back once Redis does.
    let Some(mut redis) = Redis::start() else {
        return skip(TEST, "no redis-server (scripts/test-deps installs it)");
    };
    let srv = packet_site(&redis.url()).start();
    assert_eq!(post(&srv), "200");
    redis.kill();
    assert!(eventually(20, || post(&srv) == "503"), "{}", srv.log_text());
    assert_eq!(health(&srv.url("/healthz")).0, 503);
    redis.restart();
    assert!(
        eventually(30, || health(&srv.url("/healthz")).0 == 200),
        "{}",
        srv.log_text()
    );
}
