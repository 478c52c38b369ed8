//! Access control of the packet service (issue #16) through the real
//! server: every endpoint with no token, an unknown one, the other side's
//! and the right one (in the header, and in `access_token` where browsers
//! need it), hashed entries, a client certificate as identity over TLS, a
//! reload and a file edit that add and remove tokens while clients run,
//! the rate limit, and tokens kept out of every log and figure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

use super::{packet_vhost, MOUNT};
use crate::support::plugins::install_builtins;
use crate::support::ws::{client_on, raw_handshake_at, Client};
use crate::support::{eventually, read_response, Raw, Server, Site};

pub(super) const CTRL_A: &str = "ctrl-a-token-0000000001";
/// In the file as its SHA-256 only.
const CTRL_B: &str = "ctrl-b-token-0000000002";
const CTRL_B_SHA: &str = "ba49388725232a555afeef93a652ac6320c5c8bd24df91f1fdcb429b121c32e8";
pub(super) const READER: &str = "reader-token-00000000003";
/// In the file as its SHA-256 only.
const READER_2: &str = "reader-2-token-000000004";
const READER_2_SHA: &str = "1a8918ae7a66285e0d3537b6eeb154339cf917ddd2db69d1a68abefef2826436";
const UNKNOWN: &str = "nobody-knows-this-token-5";
const CTRL_C: &str = "ctrl-c-token-0000000006";
const READER_3: &str = "reader-3-token-000000007";

/// Every token of these tests: none may show in a log or a figure.
const ALL_TOKENS: [&str; 7] = [CTRL_A, CTRL_B, READER, READER_2, UNKNOWN, CTRL_C, READER_3];

fn ingest_file() -> String {
    format!("# controllers\nctrl-a {CTRL_A}\nctrl-b sha256:{CTRL_B_SHA}\n")
}

fn subscribe_file() -> String {
    format!("reader {READER}\n\nreader-2 sha256:{READER_2_SHA}\n")
}

/// Replaces `path` the way an operator's tools do (a new file renamed).
fn replace(path: &PathBuf, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A packet site whose ingest entry names both token files and `extra`
/// options; `global` goes into the global section.
pub(super) fn access_site(global: &str, extra: &str) -> Site {
    let s = Site::with_plugins(global, |p| install_builtins(p, &["lws_packet"]));
    std::fs::write(s.path("ingest.tokens"), ingest_file()).unwrap();
    std::fs::write(s.path("subscribe.tokens"), subscribe_file()).unwrap();
    let j = format!(r#""journal-dir": "{}""#, s.path("journal").display());
    let ingest = format!(
        r#"{j}, "ingest-tokens": "{}", "subscribe-tokens": "{}"{extra}"#,
        s.path("ingest.tokens").display(),
        s.path("subscribe.tokens").display()
    );
    packet_vhost(&s, &ingest, &j);
    s
}

/// How a request carries its token.
#[derive(Clone, Copy, Debug)]
enum Cred<'a> {
    None,
    Header(&'a str),
    Query(&'a str),
    Both(&'a str),
}

impl Cred<'_> {
    fn header(self) -> Option<String> {
        match self {
            Cred::Header(t) | Cred::Both(t) => Some(format!("Bearer {t}")),
            _ => None,
        }
    }

    /// `path` with the `access_token` argument added, if it goes there.
    fn path(self, path: &str) -> String {
        match self {
            Cred::Query(t) | Cred::Both(t) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                format!("{path}{sep}access_token={t}")
            }
            _ => path.to_string(),
        }
    }
}

/// The endpoints of the service.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Endpoint {
    Post,
    WsIngest,
    WsSubscribe,
    Events,
    Packets,
    Stats,
}

const INGEST_ENDPOINTS: [Endpoint; 2] = [Endpoint::Post, Endpoint::WsIngest];
const SUBSCRIBE_ENDPOINTS: [Endpoint; 4] = [
    Endpoint::WsSubscribe,
    Endpoint::Events,
    Endpoint::Packets,
    Endpoint::Stats,
];

/// Sends one request with an optional `Authorization` value and reads
/// its answer.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<String>,
    body: &[u8],
) -> (TcpStream, Raw) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: text/plain\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let r = read_response(&mut s, false);
    (s, r)
}

/// Calls `endpoint` with `cred`: the response (head and, unless it goes
/// on, body) and, for a 101, the WebSocket.
fn call(srv: &Server, endpoint: Endpoint, cred: Cred<'_>) -> (Raw, Option<Client>) {
    let addr = srv.addr(7681);
    let ws = |protocol: &str, path: &str| {
        let mut extra = vec![("Sec-WebSocket-Protocol", protocol.to_string())];
        if let Some(a) = cred.header() {
            extra.push(("Authorization", a));
        }
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (s, r) = raw_handshake_at(addr, &cred.path(path), &extra);
        let client = (r.status == 101).then(|| client_on(s));
        (r, client)
    };
    match endpoint {
        Endpoint::Post => {
            let path = cred.path(MOUNT);
            (http(addr, "POST", &path, cred.header(), b"hello").1, None)
        }
        Endpoint::WsIngest => ws("protocol-lws-packet", "/"),
        Endpoint::WsSubscribe => ws("packet-subscribe", "/?since=0"),
        Endpoint::Events => {
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut head = format!(
                "GET {} HTTP/1.1\r\nHost: {addr}\r\n",
                cred.path(&format!("{MOUNT}/events"))
            );
            if let Some(a) = cred.header() {
                head.push_str(&format!("Authorization: {a}\r\n"));
            }
            head.push_str("\r\n");
            s.write_all(head.as_bytes()).unwrap();
            // A stream that opened goes on: its head only.
            let mut r = read_response(&mut s, true);
            if r.status != 200 {
                if let Some(n) = r.header("content-length") {
                    let mut body = vec![0; n.parse().unwrap()];
                    s.read_exact(&mut body).unwrap();
                    r.body = body;
                }
            }
            (r, None)
        }
        Endpoint::Packets => {
            let path = cred.path(&format!("{MOUNT}/packets?since=0"));
            (http(addr, "GET", &path, cred.header(), b"").1, None)
        }
        Endpoint::Stats => {
            let path = cred.path(&format!("{MOUNT}/stats"));
            (http(addr, "GET", &path, cred.header(), b"").1, None)
        }
    }
}

fn ok_status(endpoint: Endpoint) -> u16 {
    match endpoint {
        Endpoint::WsIngest | Endpoint::WsSubscribe => 101,
        _ => 200,
    }
}

/// Asserts a refusal: its status, challenge and JSON error.
fn refused(r: &Raw, status: u16, error: Option<&str>, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.head);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    let want = match error {
        None => "Bearer realm=\"localhost\"".to_string(),
        Some(e) => format!("Bearer realm=\"localhost\", error=\"{e}\""),
    };
    assert_eq!(challenge, want, "{what}");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json"),
        "{what}"
    );
    let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): {:?}",
            String::from_utf8_lossy(&r.body)
        )
    });
    assert!(v["error"].is_string(), "{what}: {v}");
}

#[test]
fn every_endpoint_refuses_no_unknown_and_wrong_side_tokens_and_takes_the_right_ones() {
    let s = access_site("", "");
    let srv = s.start();
    let sides: [(&[Endpoint], [&str; 2], &str); 2] = [
        (&INGEST_ENDPOINTS, [CTRL_A, CTRL_B], READER),
        (&SUBSCRIBE_ENDPOINTS, [READER, READER_2], CTRL_A),
    ];
    for (endpoints, right, wrong) in sides {
        for &e in endpoints {
            let what = |c: &str| format!("{e:?} with {c}");
            refused(&call(&srv, e, Cred::None).0, 401, None, &what("no token"));
            let r = call(&srv, e, Cred::Header(UNKNOWN)).0;
            refused(&r, 401, Some("invalid_token"), &what("an unknown token"));
            let r = call(&srv, e, Cred::Header(wrong)).0;
            refused(
                &r,
                403,
                Some("insufficient_scope"),
                &what("the other side's"),
            );
            // Plain and hashed entries alike.
            for t in right {
                let (r, _ws) = call(&srv, e, Cred::Header(t));
                assert_eq!(
                    r.status,
                    ok_status(e),
                    "{}: {}",
                    what("the right token"),
                    r.head
                );
            }
            // The URL argument is for the subscribe endpoints only.
            let r = call(&srv, e, Cred::Query(right[1])).0;
            if endpoints.contains(&Endpoint::Post) {
                refused(&r, 401, None, &what("an access_token argument"));
            } else {
                assert_eq!(
                    r.status,
                    ok_status(e),
                    "{}: {}",
                    what("access_token"),
                    r.head
                );
                let r = call(&srv, e, Cred::Query(UNKNOWN)).0;
                refused(
                    &r,
                    401,
                    Some("invalid_token"),
                    &what("an unknown access_token"),
                );
                // One method at a time (RFC 6750 §2).
                let r = call(&srv, e, Cred::Both(right[0])).0;
                refused(&r, 400, Some("invalid_request"), &what("two methods"));
            }
        }
    }
    // What was let in carries its sender's label; what was refused is not
    // recorded: two POSTs (ctrl-a, ctrl-b), then one WebSocket message.
    let (r, ws) = call(&srv, Endpoint::WsIngest, Cred::Header(CTRL_B));
    assert_eq!(r.status, 101);
    let mut ws = ws.unwrap();
    ws.send(Message::text("over the websocket")).unwrap();
    assert_eq!(crate::support::ws::next_text(&mut ws), "{\"id\":3}");
    let (r, _) = call(&srv, Endpoint::Packets, Cred::Header(READER));
    let page: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    let sources: Vec<&str> = page.iter().map(|p| p["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["ctrl-a", "ctrl-b", "ctrl-b"], "{page:?}");
    // A loopback-only vhost whose sides are protected is not warned about.
    assert!(!srv.log_text().contains("anyone who can reach"));
}

/// Reads a subscriber until it is closed; the close code.
fn until_closed(ws: &mut Client) -> Option<CloseCode> {
    loop {
        match crate::support::ws::read_message(ws) {
            Ok(Message::Close(f)) => return f.map(|f| f.code),
            Ok(_) => {}
            Err(e) => panic!("subscriber ended without a close frame: {e}"),
        }
    }
}

/// An event stream opened with `cred` (it must open).
fn events(srv: &Server, cred: Cred<'_>) -> BufReader<TcpStream> {
    let addr = srv.addr(7681);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\n",
        cred.path(&format!("{MOUNT}/events?since=0"))
    );
    if let Some(a) = cred.header() {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let r = read_response(&mut s, true);
    assert_eq!(r.status, 200, "{}", r.head);
    BufReader::new(s)
}

/// Reads an event stream (chunked) until it ends: its `data:` lines.
fn data_lines_until_end(r: &mut BufReader<TcpStream>) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) => return out,
            Ok(_) => {}
            Err(e) => panic!("event stream did not end: {e} (after {out:?})"),
        }
        if let Some(d) = line.trim_end().strip_prefix("data: ") {
            out.push(d.to_string());
        }
        // The chunked body's last chunk.
        if line == "0\r\n" {
            return out;
        }
    }
}

/// A controller posting with `token` until stopped; every status it got.
fn producer(
    srv: &Server,
    token: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u16>> {
    let addr = srv.addr(7681);
    std::thread::spawn(move || {
        let mut statuses = Vec::new();
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let body = format!("reading {i}");
            let (_s, r) = http(
                addr,
                "POST",
                MOUNT,
                Some(format!("Bearer {token}")),
                body.as_bytes(),
            );
            statuses.push(r.status);
            i += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        statuses
    })
}

#[test]
fn a_reload_and_a_file_edit_add_and_remove_tokens_while_clients_run() {
    let s = access_site("", "");
    let srv = s.start();
    let stop = Arc::new(AtomicBool::new(false));
    let prod = producer(&srv, CTRL_A, stop.clone());
    // Subscribers: a WebSocket with `reader`, an event stream with
    // `reader-2` in its URL (as a browser's EventSource sends it).
    let (r, ws) = call(&srv, Endpoint::WsSubscribe, Cred::Header(READER));
    assert_eq!(r.status, 101);
    let mut ws = ws.unwrap();
    let mut sse = events(&srv, Cred::Query(READER_2));
    let mut line = String::new();
    while !line.starts_with("data: ") {
        line.clear();
        sse.read_line(&mut line).unwrap();
    }
    assert_eq!(
        call(&srv, Endpoint::Post, Cred::Header(CTRL_C)).0.status,
        401
    );

    // The reload: `reader` removed, `reader-3` and `ctrl-c` added.
    replace(
        &s.path("subscribe.tokens"),
        &format!("reader-2 sha256:{READER_2_SHA}\nreader-3 {READER_3}\n"),
    );
    replace(
        &s.path("ingest.tokens"),
        &format!("{}ctrl-c {CTRL_C}\n", ingest_file()),
    );
    srv.reload();
    // New requests see the new files at once.
    refused(
        &call(&srv, Endpoint::Packets, Cred::Header(READER)).0,
        401,
        Some("invalid_token"),
        "a removed token",
    );
    assert_eq!(
        call(&srv, Endpoint::Packets, Cred::Header(READER_3))
            .0
            .status,
        200
    );
    assert_eq!(
        call(&srv, Endpoint::Post, Cred::Header(CTRL_C)).0.status,
        200
    );
    // The subscription made with the removed token is closed with 1008.
    assert_eq!(until_closed(&mut ws), Some(CloseCode::Policy));
    // The other one goes on receiving.
    let before = Instant::now();
    let mut fresh = 0;
    while fresh < 5 {
        line.clear();
        sse.read_line(&mut line).unwrap();
        if line.starts_with("data: ") {
            fresh += 1;
        }
        assert!(
            before.elapsed() < Duration::from_secs(20),
            "the stream stalled"
        );
    }

    // An edit without a reload: `reader-2` removed from the file. Its
    // stream ends (within the second the files are looked at, or so).
    replace(
        &s.path("subscribe.tokens"),
        &format!("reader-3 {READER_3}\n"),
    );
    let t0 = Instant::now();
    let data = data_lines_until_end(&mut sse);
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert!(
        data.last()
            .is_some_and(|d| d.contains("credential no longer valid")),
        "{data:?}"
    );
    refused(
        &call(&srv, Endpoint::Events, Cred::Query(READER_2)).0,
        401,
        Some("invalid_token"),
        "a token removed without a reload",
    );

    stop.store(true, Ordering::Relaxed);
    let statuses = prod.join().unwrap();
    assert!(statuses.len() > 10, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let log = srv.log_text();
    assert!(log.contains("re-read (1 tokens)"), "{log}");
    assert!(log.contains("whose credential is no longer valid"), "{log}");
}

#[test]
fn one_source_over_its_rate_gets_429_and_retry_after_and_the_others_go_on() {
    let s = access_site(
        r#""metrics-path": "/metrics""#,
        r#", "ingest-rate": "2", "ingest-burst": "3""#,
    );
    let srv = s.start();
    let post = |t: &str| call(&srv, Endpoint::Post, Cred::Header(t)).0;
    for _ in 0..3 {
        assert_eq!(post(CTRL_A).status, 200);
    }
    let r = post(CTRL_A);
    assert_eq!(r.status, 429, "{}", r.head);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("ingest-rate"), "{v}");
    // Another source is not affected.
    assert_eq!(post(CTRL_B).status, 200);
    // Its WebSocket messages past the burst are answered in their place.
    let (_, ws) = call(&srv, Endpoint::WsIngest, Cred::Header(CTRL_B));
    let mut ws = ws.unwrap();
    for i in 0..4 {
        ws.send(Message::text(format!("m{i}"))).unwrap();
    }
    let answers: Vec<Value> = (0..4)
        .map(|_| serde_json::from_str(&crate::support::ws::next_text(&mut ws)).unwrap())
        .collect();
    assert!(
        answers[0]["id"].is_u64() && answers[1]["id"].is_u64(),
        "{answers:?}"
    );
    for a in &answers[2..] {
        assert!(a["error"].is_string() && a["retry_after"].is_u64(), "{a}");
    }
    // After the wait, ctrl-a sends again.
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(post(CTRL_A).status, 200);
    let metrics = || {
        let (_s, r) = http(srv.addr(7681), "GET", "/metrics", None, b"");
        String::from_utf8_lossy(&r.body).to_string()
    };
    assert!(
        eventually(10, || metrics().lines().any(|l| {
            l == "comlink_packet_rate_limited_total{vhost=\"localhost\",source=\"ctrl-a\"} 1"
        })),
        "{}",
        metrics()
    );
    assert!(
        metrics()
            .contains("comlink_packet_rate_limited_total{vhost=\"localhost\",source=\"ctrl-b\"} 2"),
        "{}",
        metrics()
    );
}

#[test]
fn tokens_never_show_and_the_access_log_names_the_sender() {
    let s = access_site(r#""metrics-path": "/metrics""#, "");
    // The same vhost, with an access log.
    let conf = s.path("conf.d/packets");
    let text = std::fs::read_to_string(&conf).unwrap().replacen(
        r#""interface": "127.0.0.1","#,
        &format!(
            r#""interface": "127.0.0.1", "access-log": "{}","#,
            s.path("access.log").display()
        ),
        1,
    );
    std::fs::write(&conf, text).unwrap();
    let srv = s.start();
    assert_eq!(
        call(&srv, Endpoint::Post, Cred::Header(CTRL_A)).0.status,
        200
    );
    assert_eq!(
        call(&srv, Endpoint::Packets, Cred::Query(READER)).0.status,
        200
    );
    assert_eq!(
        call(&srv, Endpoint::WsSubscribe, Cred::Query(READER_2))
            .0
            .status,
        101
    );
    for cred in [
        Cred::Header(UNKNOWN),
        Cred::Query(UNKNOWN),
        Cred::Header(READER),
    ] {
        assert!(call(&srv, Endpoint::Post, cred).0.status >= 400);
        assert!(
            call(&srv, Endpoint::Events, cred).0.status >= 400
                || matches!(cred, Cred::Header(READER))
        );
    }
    let (stats, _) = call(&srv, Endpoint::Stats, Cred::Header(READER));
    let stats = String::from_utf8_lossy(&stats.body).to_string();
    assert!(stats.contains("\"sources\":{\"ctrl-a\":1}"), "{stats}");
    let metrics = || {
        let (_s, r) = http(srv.addr(7681), "GET", "/metrics", None, b"");
        String::from_utf8_lossy(&r.body).to_string()
    };
    let m = |l: &str| metrics().lines().any(|x| x.starts_with(l));
    assert!(
        eventually(10, || {
            m(
            "comlink_packet_source_packets_total{vhost=\"localhost\",source=\"ctrl-a\"} 1"
        ) && m(
            "comlink_packet_access_refused_total{vhost=\"localhost\",side=\"ingest\",reason=\"invalid\"} 1"
        ) && m(
            // access_token is not read on the ingest side.
            "comlink_packet_access_refused_total{vhost=\"localhost\",side=\"ingest\",reason=\"missing\"} 1"
        ) && m(
            "comlink_packet_access_refused_total{vhost=\"localhost\",side=\"ingest\",reason=\"forbidden\"} 1"
        ) && m(
            "comlink_packet_access_refused_total{vhost=\"localhost\",side=\"subscribe\",reason=\"invalid\"} 2"
        )
        }),
        "{}",
        metrics()
    );
    let log_path = s.path("access.log");
    let access_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        eventually(5, || access_log().lines().count() >= 9),
        "{}",
        access_log()
    );
    let access = access_log();
    let user = |l: &str| l.split(' ').nth(2).unwrap().to_string();
    let users: Vec<(String, String)> = access
        .lines()
        .map(|l| (user(l), l.split('"').nth(1).unwrap().to_string()))
        .collect();
    assert!(
        users.contains(&("ctrl-a".into(), format!("POST {MOUNT} HTTP/1.1"))),
        "{access}"
    );
    assert!(
        users.contains(&("reader".into(), format!("GET {MOUNT}/packets HTTP/1.1"))),
        "{access}"
    );
    assert!(
        users.contains(&(
            "reader-2".into(),
            "GET / (packet-subscribe) HTTP/1.1".into()
        )),
        "{access}"
    );
    assert!(users.iter().any(|(u, _)| u == "-"), "{access}");
    // Nowhere a token, nor the argument that carried one.
    let everything = [access, srv.log_text(), metrics(), stats];
    for text in &everything {
        for t in ALL_TOKENS {
            assert!(!text.contains(t), "a token in:\n{text}");
        }
        assert!(!text.contains("access_token"), "{text}");
    }
    // Refusals are logged, at a pace: the first now, the rest counted.
    let log = srv.log_text();
    assert_eq!(
        log.matches("vhost \"localhost\": refused ").count(),
        1,
        "{log}"
    );
}

#[test]
fn a_client_certificate_named_in_ingest_cert_names_needs_no_token() {
    let p = crate::ops_tls::pki();
    let s = Site::with_plugins(r#""init-ssl": "yes""#, |d| {
        install_builtins(d, &["lws_packet"])
    });
    for (name, text) in [
        ("ca.pem", &p.ca_pem),
        ("cert.pem", &p.server_cert),
        ("key.pem", &p.server_key),
        ("client.pem", &p.client_cert),
        ("client.key", &p.client_key),
    ] {
        std::fs::write(s.path(name), text).unwrap();
    }
    std::fs::write(s.path("names"), "# by certificate\nctrl-cert client\n").unwrap();
    std::fs::write(s.path("subscribe.tokens"), subscribe_file()).unwrap();
    let d = s.dir.path().display();
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "host-ssl-cert": "{d}/cert.pem", "host-ssl-key": "{d}/key.pem",
            "host-ssl-ca": "{d}/ca.pem", "client-cert-required": "1",
            "mounts": [{{"mountpoint": "{MOUNT}", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [
              {{"protocol-lws-packet": {{"status": "ok", "journal-dir": "{d}/journal",
                "ingest-cert-names": "{d}/names", "subscribe-tokens": "{d}/subscribe.tokens"}}}},
              {{"packet-subscribe": {{"status": "ok"}}}}]}}]}}"#
        ),
    );
    let srv = s.start();
    let port = srv.addr(7681).port();
    let curl = |path: &str, extra: &[&str]| {
        let resolve = format!("localhost:{port}:127.0.0.1");
        let url = format!("https://localhost:{port}{path}");
        let (ca, cert, key) = (s.path("ca.pem"), s.path("client.pem"), s.path("client.key"));
        let mut args = vec![
            "-sS",
            "-i",
            "--http1.1",
            "--max-time",
            "20",
            "--resolve",
            &resolve,
            "--cacert",
            ca.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(&url);
        let o = std::process::Command::new("curl")
            .args(&args)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    // The certificate alone lets the controller send.
    let posted = curl(MOUNT, &["--data-binary", "from the certificate"]);
    assert!(posted.starts_with("HTTP/1.1 200"), "{posted}");
    // It is an ingest identity: reading needs a subscribe token.
    let read = curl(&format!("{MOUNT}/packets?since=0"), &[]);
    assert!(read.starts_with("HTTP/1.1 403"), "{read}");
    let auth = format!("Authorization: Bearer {READER}");
    let read = curl(&format!("{MOUNT}/packets?since=0"), &["-H", &auth]);
    assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    let body = &read[read.find("\r\n\r\n").unwrap() + 4..];
    let page: Vec<Value> = serde_json::from_str(body).unwrap();
    assert_eq!(page[0]["source"], "ctrl-cert", "{page:?}");
    assert_eq!(page[0]["data"], "from the certificate");
}

#[test]
fn an_open_side_on_a_vhost_others_can_reach_is_warned_about_once() {
    let s = Site::with_plugins("", |p| install_builtins(p, &["lws_packet"]));
    let j = format!(r#""journal-dir": "{}""#, s.path("journal").display());
    // No interface: every interface.
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681,
            "mounts": [{{"mountpoint": "{MOUNT}", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [{{"protocol-lws-packet": {{"status": "ok", {j}}}}},
              {{"packet-subscribe": {{"status": "ok"}}}}]}}]}}"#
        ),
    );
    let srv = s.start();
    let warned = |what: &str| {
        let log = srv.log_text();
        log.matches(&format!(
            "anyone who can reach this vhost may {what} packets"
        ))
        .count()
    };
    assert!(
        eventually(10, || warned("send") == 1 && warned("read") == 1),
        "{}",
        srv.log_text()
    );
    srv.reload();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        (warned("send"), warned("read")),
        (1, 1),
        "{}",
        srv.log_text()
    );
}
