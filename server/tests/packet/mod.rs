//! The comlink packet service (`libprotocol_lws_packet.so`, issue 6):
//! ingest by POST and WebSocket, delivery by WebSocket, SSE and the JSON
//! endpoint, resume, crash recovery, a torn journal tail, a slow subscriber.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use tungstenite::Message;

use crate::support::plugins::install_builtins;
use crate::support::threads::spread;
use crate::support::ws::{connect, Client};
use crate::support::{read_response, Raw, Server, Site};

mod access;
mod chaos;
mod console;
mod fanout;
mod faults;
mod group_commit;
mod idempotency;
mod life;
mod redis;

const MOUNT: &str = "/formtest2";

/// A site with the seed's packet mount and both protocols on a temp
/// journal; `pvo` adds options to the ingest protocol's entry.
fn site(pvo: &str) -> (Site, PathBuf) {
    let s = Site::with_plugins("", |p| install_builtins(p, &["lws_packet"]));
    let journal = s.path("journal");
    let sep = if pvo.is_empty() { "" } else { "," };
    let j = format!(r#""journal-dir": "{}""#, journal.display());
    packet_vhost(&s, &format!("{j}{sep}{pvo}"), &j);
    (s, journal)
}

/// Writes the packet vhost into `s`: the seed's mount, the ingest protocol
/// with the options `ingest`, and `packet-subscribe` with `subscribe`.
/// Segments are 4 MiB unless `ingest` sizes them (or the retention does):
/// a fresh journal writes and syncs its segment and the spare in full, and
/// at the default 64 MiB that was most of the suite's disk writes.
fn packet_vhost(s: &Site, ingest: &str, subscribe: &str) {
    let sized = ingest.contains("\"segment-bytes\"") || ingest.contains("\"retain-bytes\"");
    let small = if sized {
        ""
    } else {
        r#", "segment-bytes": "4m""#
    };
    let ingest = format!("{ingest}{small}");
    let sep = if subscribe.is_empty() { "" } else { "," };
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "{MOUNT}", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [
              {{"protocol-lws-packet": {{"status": "ok", {ingest}}}}},
              {{"packet-subscribe": {{"status": "ok"{sep}{subscribe}}}}}]}}]}}"#
        ),
    );
}

/// A keep-alive HTTP/1.1 client on one socket.
struct Http {
    s: TcpStream,
    addr: SocketAddr,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.set_nodelay(true).unwrap();
        Http { s, addr }
    }

    fn post(&mut self, content_type: &str, body: &[u8]) -> Raw {
        self.post_with(&[("Content-Type", content_type)], body)
    }

    /// A POST with these headers (a `Host` among them replaces the default).
    fn post_with(&mut self, headers: &[(&str, &str)], body: &[u8]) -> Raw {
        let mut head = format!("POST {MOUNT} HTTP/1.1\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        self.s.write_all(head.as_bytes()).unwrap();
        self.s.write_all(body).unwrap();
        read_response(&mut self.s, false)
    }

    fn get(&mut self, path: &str) -> Raw {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.s.write_all(req.as_bytes()).unwrap();
        read_response(&mut self.s, false)
    }
}

/// The id of a `{"id":N}` answer; panics on anything else.
fn id_of(r: &Raw) -> u64 {
    assert_eq!(
        r.status,
        200,
        "{} {}",
        r.head,
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{v}");
    v["id"].as_u64().expect("a positive id")
}

/// The body of an envelope, decoded.
fn data_of(v: &Value) -> Vec<u8> {
    let data = v["data"].as_str().expect("data");
    match v["encoding"].as_str() {
        Some("utf8") => data.as_bytes().to_vec(),
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap(),
        other => panic!("encoding {other:?} in {v}"),
    }
}

/// Reads WebSocket text messages until `n` envelopes (gaps included) came.
fn ws_read(ws: &mut Client, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        match crate::support::ws::read_message(ws).expect("subscriber read") {
            Message::Text(t) => out.push(serde_json::from_str(t.as_str()).unwrap()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn subscribe(srv: &Server, query: &str) -> Client {
    connect(srv.addr(7681), &format!("/{query}"), &["packet-subscribe"])
}

/// A Server-Sent Events reader (ureq decodes the chunked body).
struct Sse {
    lines: std::io::Lines<BufReader<Box<dyn Read + Send>>>,
}

impl Sse {
    fn open(srv: &Server, query: &str, last_event_id: Option<u64>) -> Sse {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut req = agent.get(srv.url(&format!("{MOUNT}/events{query}")));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req.call().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let reader: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
        Sse {
            lines: BufReader::new(reader).lines(),
        }
    }

    /// The next `n` events as (id line, parsed data).
    fn read(&mut self, n: usize) -> Vec<(Option<u64>, Value)> {
        let mut out = Vec::new();
        let mut id = None;
        while out.len() < n {
            let line = self.lines.next().expect("event stream ended").unwrap();
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.parse().unwrap());
            } else if let Some(v) = line.strip_prefix("data: ") {
                out.push((id.take(), serde_json::from_str(v).unwrap()));
            }
        }
        out
    }
}

/// `GET <mount>/packets?...` as parsed JSON.
fn packets(http: &mut Http, query: &str) -> Vec<Value> {
    let r = http.get(&format!("{MOUNT}/packets{query}"));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice::<Value>(&r.body)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The packets of the proof: JSON, text, binary, empty and max-size bodies.
fn bodies(n: usize, max: usize) -> Vec<(&'static str, Vec<u8>)> {
    (0..n)
        .map(|i| match i % 5 {
            0 => (
                "application/json",
                format!("{{\"n\":{i},\"s\":\"é\\\"\"}}").into_bytes(),
            ),
            1 => (
                "text/plain",
                format!("line {i}\nwith\ttabs\r\n and \u{2028}").into_bytes(),
            ),
            2 => (
                "application/octet-stream",
                (0..(i % 300) + 1)
                    .map(|b| (b * 7 + i) as u8 | 0x80)
                    .collect(),
            ),
            3 => ("text/plain", Vec::new()),
            _ => ("application/octet-stream", vec![(i % 251) as u8; max]),
        })
        .collect()
}

#[test]
fn post_answers_an_id_for_every_kind_of_body_and_413_past_the_max() {
    let (s, _) = site(r#""max-packet-bytes": "65536""#);
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let mut last = 0;
    for (ct, body) in bodies(10, 65536) {
        let id = id_of(&http.post(ct, &body));
        assert!(id > last, "ids strictly increase: {id} after {last}");
        last = id;
    }
    // One byte over: 413 with a JSON error, and the same connection goes on.
    let r = http.post("application/octet-stream", &vec![1u8; 65537]);
    assert_eq!(r.status, 413);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("max-packet-bytes"),
        "{v}"
    );
    assert_eq!(id_of(&http.post("text/plain", b"after")), last + 1);
    // Chunked and empty POSTs are packets too.
    let mut raw = TcpStream::connect(srv.addr(7681)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(
        format!(
            "POST {MOUNT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(id_of(&read_response(&mut raw, false)), last + 2);
    raw.write_all(
        format!("POST {MOUNT} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(id_of(&read_response(&mut raw, false)), last + 3);
    let got = packets(&mut http, &format!("?since={}", last + 1));
    assert_eq!(data_of(&got[0]), b"abcde");
    assert_eq!(data_of(&got[1]), b"");
    // Other methods on the mount, and unknown paths.
    assert_eq!(http.get(MOUNT).status, 405);
    assert_eq!(http.get(&format!("{MOUNT}/nope")).status, 404);
}

#[test]
fn a_post_without_a_length_is_the_body_up_to_the_clients_close() {
    let (s, _) = site(r#""max-packet-bytes": "65536""#);
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let before = id_of(&http.post("text/plain", b"before"));
    // What a small controller stack sends: no Content-Length, the body in
    // pieces, then it closes its sending side and reads the answer.
    let body: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 256) as u8).collect();
    for (version, want_status_line) in [("HTTP/1.1", "HTTP/1.1 200"), ("HTTP/1.0", "HTTP/1.0 200")]
    {
        let mut raw = TcpStream::connect(srv.addr(7681)).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        raw.write_all(
            format!("POST {MOUNT} {version}\r\nContent-Type: application/x-blob\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        for piece in body.chunks(9_000) {
            raw.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        raw.shutdown(std::net::Shutdown::Write).unwrap();
        let r = read_response(&mut raw, false);
        assert!(r.head.starts_with(want_status_line), "{}", r.head);
        id_of(&r);
    }
    // Nothing sent before the close: an empty packet.
    let mut raw = TcpStream::connect(srv.addr(7681)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(format!("POST {MOUNT} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    raw.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(id_of(&read_response(&mut raw, false)), before + 3);
    let got = packets(&mut http, &format!("?since={before}"));
    assert_eq!(got.len(), 3);
    assert_eq!(data_of(&got[0]), body, "byte-exact, every piece");
    assert_eq!(data_of(&got[1]), body);
    assert_eq!(got[0]["content_type"], "application/x-blob");
    assert_eq!(data_of(&got[2]), b"");
    // Past max-packet-bytes: 413, as with a length.
    let mut raw = TcpStream::connect(srv.addr(7681)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(format!("POST {MOUNT} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    raw.write_all(&vec![0u8; 70_000]).unwrap();
    raw.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_response(&mut raw, false).status, 413);
}

#[test]
fn websocket_ingest_is_acknowledged_in_order() {
    let (s, _) = site("");
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let first = id_of(&http.post("text/plain", b"first")) + 1;
    let mut ws = connect(srv.addr(7681), "/", &["protocol-lws-packet"]);
    let n = 1000;
    for i in 0..n {
        let m = if i % 2 == 0 {
            Message::text(format!("text {i}"))
        } else {
            Message::binary(vec![i as u8, 0xff, 0])
        };
        ws.send(m).unwrap();
    }
    let acks = ws_read(&mut ws, n);
    let ids = ids_of(&acks);
    assert_eq!(ids, (first..first + n as u64).collect::<Vec<_>>());
    let got = packets(&mut http, &format!("?since={}&limit=2", first - 1));
    assert_eq!(got[0]["content_type"], "text/plain; charset=utf-8");
    assert_eq!(data_of(&got[0]), b"text 0");
    assert_eq!(got[1]["content_type"], "application/octet-stream");
    assert_eq!(got[1]["encoding"], "base64");
    assert_eq!(data_of(&got[1]), [1, 0xff, 0]);
}

#[test]
fn a_thousand_packets_read_back_byte_exact_by_websocket_sse_and_json() {
    let max = 16 * 1024;
    let (s, _) = site(&format!(r#""max-packet-bytes": "{max}""#));
    let srv = s.start();
    // A live subscriber from before the first packet, and an SSE stream.
    let mut live = subscribe(&srv, "");
    let mut sse = Sse::open(&srv, "", None);
    let sent = bodies(1000, max);
    let mut ids = Vec::new();
    let mut http = Http::new(srv.addr(7681));
    let mut ws_in = connect(
        srv.addr(7681),
        "/?content-type=application/x-ws",
        &["protocol-lws-packet"],
    );
    for (i, (ct, body)) in sent.iter().enumerate() {
        if i % 4 == 3 {
            // Every fourth by WebSocket ingest (binary, so bytes stay exact).
            ws_in.send(Message::binary(body.clone())).unwrap();
            ids.push(ws_read(&mut ws_in, 1)[0]["id"].as_u64().unwrap());
        } else {
            ids.push(id_of(&http.post(ct, body)));
        }
    }
    let check = |how: &str, got: &[Value]| {
        assert_eq!(got.len(), sent.len(), "{how}");
        for (i, v) in got.iter().enumerate() {
            assert_eq!(v["id"].as_u64(), Some(ids[i]), "{how} #{i}");
            assert_eq!(data_of(v), sent[i].1, "{how} #{i} bytes");
            let ct = if i % 4 == 3 {
                "application/x-ws"
            } else {
                sent[i].0
            };
            assert_eq!(v["content_type"], ct, "{how} #{i}");
            let ts = v["ts"].as_str().unwrap();
            assert!(ts.ends_with('Z') && ts.len() == 24, "{how}: ts {ts}");
            let utf8 = std::str::from_utf8(&sent[i].1).is_ok();
            assert_eq!(v["encoding"], if utf8 { "utf8" } else { "base64" });
        }
    };
    check("live websocket", &ws_read(&mut live, sent.len()));
    let mut from_start = subscribe(&srv, "?since=0");
    check("websocket since=0", &ws_read(&mut from_start, sent.len()));
    let events = sse.read(sent.len());
    assert!(events
        .iter()
        .zip(&ids)
        .all(|((id, _), want)| *id == Some(*want)));
    check(
        "sse",
        &events.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    );
    let mut paged = Vec::new();
    let mut since = 0;
    while paged.len() < sent.len() {
        let page = packets(&mut http, &format!("?since={since}&limit=170"));
        assert!(!page.is_empty() && page.len() <= 170);
        since = page.last().unwrap()["id"].as_u64().unwrap();
        paged.extend(page);
    }
    check("json endpoint", &paged);
}

#[test]
fn resume_at_every_boundary_by_websocket_sse_and_json() {
    let (s, _) = site("");
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let mut ids: Vec<u64> = (0..6)
        .map(|i| id_of(&http.post("text/plain", format!("p{i}").as_bytes())))
        .collect();
    let last = *ids.last().unwrap();
    for k in 0..=last {
        let want: Vec<u64> = ids.iter().copied().filter(|&i| i > k).collect();
        let pk = packets(&mut http, &format!("?since={k}"));
        assert_eq!(ids_of(&pk), want, "json since={k}");
        // WebSocket and SSE: the rest, then a new packet arrives live.
        let mut ws = subscribe(&srv, &format!("?since={k}"));
        let mut sse = Sse::open(&srv, "?since=999", Some(k));
        let got = ws_read(&mut ws, want.len());
        assert_eq!(ids_of(&got), want, "ws since={k}");
        let got = sse.read(want.len());
        assert_eq!(
            got.iter().map(|e| e.0.unwrap()).collect::<Vec<_>>(),
            want,
            "sse Last-Event-ID {k}"
        );
        let new = id_of(&http.post("text/plain", b"live"));
        assert_eq!(ws_read(&mut ws, 1)[0]["id"].as_u64(), Some(new));
        assert_eq!(sse.read(1)[0].0, Some(new));
        // Later boundaries see this packet too.
        ids.push(new);
    }
    // since past the newest: nothing until a new packet.
    let newest = id_of(&http.post("text/plain", b"x"));
    let mut ws = subscribe(&srv, &format!("?since={newest}"));
    let next = id_of(&http.post("text/plain", b"y"));
    assert_eq!(ws_read(&mut ws, 1)[0]["id"].as_u64(), Some(next));
    // No since: only new packets.
    let mut ws = subscribe(&srv, "");
    let next = id_of(&http.post("text/plain", b"z"));
    assert_eq!(ws_read(&mut ws, 1)[0]["id"].as_u64(), Some(next));
    // A filter on the content type.
    let mut ws = subscribe(&srv, &format!("?since={next}&filter=application/"));
    id_of(&http.post("text/plain", b"skipped"));
    let j = id_of(&http.post("application/json", b"{}"));
    assert_eq!(ws_read(&mut ws, 1)[0]["id"].as_u64(), Some(j));
}

#[test]
fn long_poll_waits_for_the_next_packet_or_answers_empty() {
    let (s, _) = site("");
    let srv = s.start();
    let addr = srv.addr(7681);
    let mut http = Http::new(addr);
    let id = id_of(&http.post("text/plain", b"one"));
    let poll = std::thread::spawn(move || {
        let mut h = Http::new(addr);
        packets(&mut h, &format!("?since={id}&wait=20"))
    });
    std::thread::sleep(Duration::from_millis(300));
    let next = id_of(&http.post("text/plain", b"two"));
    let got = poll.join().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"].as_u64(), Some(next));
    assert_eq!(data_of(&got[0]), b"two");
    // Nothing new within the wait: an empty array, on a kept connection.
    assert!(packets(&mut http, &format!("?since={next}&wait=1")).is_empty());
    assert!(packets(&mut http, &format!("?since={next}")).is_empty());
    let r = http.get(&format!("{MOUNT}/packets?since=abc"));
    assert_eq!(r.status, 400);
}

#[test]
fn with_two_service_threads_every_subscriber_gets_every_packet() {
    let s = Site::with_plugins(r#""count-threads": "2", "metrics-path": "/metrics""#, |p| {
        install_builtins(p, &["lws_packet"])
    });
    let j = format!(r#""journal-dir": "{}""#, s.path("journal").display());
    packet_vhost(&s, &j, "");
    let srv = s.start();
    let addr = srv.addr(7681);
    // Subscribers and producers on both threads.
    let mut subs = spread(&srv, 4, 2, || subscribe(&srv, ""));
    let mut posters = spread(&srv, 4, 2, || Http::new(addr));
    let mut ws_in = connect(addr, "/", &["protocol-lws-packet"]);
    let mut sent = Vec::new();
    for i in 0..200usize {
        let body = format!("packet {i}");
        let id = if i % 5 == 4 {
            ws_in.send(Message::text(body.clone())).unwrap();
            ws_read(&mut ws_in, 1)[0]["id"].as_u64().unwrap()
        } else {
            let n = posters.len();
            id_of(&posters[i % n].post("text/plain", body.as_bytes()))
        };
        sent.push((id, body.into_bytes()));
    }
    for (k, sub) in subs.iter_mut().enumerate() {
        let got = ws_read(sub, sent.len());
        for (v, (id, body)) in got.iter().zip(&sent) {
            assert_eq!(v["id"].as_u64(), Some(*id), "subscriber {k}");
            assert_eq!(&data_of(v), body, "subscriber {k}");
        }
    }
}

#[test]
fn a_stop_ends_event_streams_and_long_polls_cleanly() {
    let (s, _) = site("");
    let mut srv = s.start();
    let addr = srv.addr(7681);
    let mut http = Http::new(addr);
    let id = id_of(&http.post("text/plain", b"before stop"));
    let mut sse = Sse::open(&srv, "?since=0", None);
    assert_eq!(sse.read(1)[0].0, Some(id));
    let poll = std::thread::spawn(move || {
        let mut h = Http::new(addr);
        packets(&mut h, &format!("?since={id}&wait=60"))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.signal_and_wait("TERM", 30), Some(0));
    // Both answered and ended (a final chunk, not a cut connection), so
    // clients resume elsewhere from what they got.
    assert!(poll.join().unwrap().is_empty());
    for line in sse.lines {
        line.expect("the event stream ends cleanly");
    }
}

/// Answers collected by the posting clients: (id, body).
pub(super) type Acked = Arc<Mutex<Vec<(u64, Vec<u8>)>>>;

/// One client posting packets one at a time, each after the answer to the
/// last, until `stop` (or the server dies: a lost answer is no ack).
pub(super) fn poster(
    addr: SocketAddr,
    c: usize,
    acked: Acked,
    stop: Arc<AtomicBool>,
    read_timeout: Duration,
) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return;
    };
    s.set_read_timeout(Some(read_timeout)).unwrap();
    s.set_nodelay(true).unwrap();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let body = format!("client {c} packet {n}").into_bytes();
        let head = format!(
            "POST {MOUNT} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if s.write_all(head.as_bytes()).is_err() || s.write_all(&body).is_err() {
            return;
        }
        let mut buf = Vec::new();
        let mut b = [0u8; 1];
        while !buf.ends_with(b"}") {
            match s.read(&mut b) {
                Ok(1) => buf.push(b[0]),
                _ => return,
            }
        }
        let text = String::from_utf8_lossy(&buf);
        let Some(json) = text.rsplit("\r\n\r\n").next() else {
            return;
        };
        let v: Value = serde_json::from_str(json).unwrap();
        acked
            .lock()
            .unwrap()
            .push((v["id"].as_u64().unwrap(), body));
        n += 1;
    }
}

/// After a crash: reads the journal from the start up to the newest
/// acknowledged id (unacknowledged packets that reached the disk may be
/// there too), each packet once and in order, checks every acknowledged
/// one came back intact, and returns that newest id.
fn all_acked_delivered(srv: &Server, acked: &[(u64, Vec<u8>)]) -> u64 {
    let newest = *acked.iter().map(|(id, _)| id).max().unwrap();
    let mut ws = subscribe(srv, "?since=0");
    let mut delivered = std::collections::HashMap::new();
    let mut prev = 0;
    while prev < newest {
        let v = ws_read(&mut ws, 1).remove(0);
        let id = v["id"].as_u64().unwrap();
        assert!(id > prev, "in order, no duplicates: {id} after {prev}");
        delivered.insert(id, data_of(&v));
        prev = id;
    }
    for (id, body) in acked {
        assert_eq!(
            delivered.get(id),
            Some(body),
            "acknowledged id {id} delivered intact"
        );
    }
    newest
}

/// The ids of packets as read back.
fn ids_of(got: &[Value]) -> Vec<u64> {
    got.iter().map(|v| v["id"].as_u64().unwrap()).collect()
}

#[test]
fn kill_9_mid_ingest_loses_no_acknowledged_packet_and_ids_continue() {
    let (s, _) = site("");
    let mut srv = s.start();
    let addr = srv.addr(7681);
    let acked: Acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let acked = acked.clone();
        let stop = stop.clone();
        clients.push(std::thread::spawn(move || {
            poster(addr, c, acked, stop, Duration::from_secs(5))
        }));
    }
    let enough = crate::support::eventually(30, || acked.lock().unwrap().len() >= 2000);
    assert!(enough, "2000 packets acknowledged before the kill");
    // SIGKILL while the clients are still posting.
    let pid = nix::unistd::Pid::from_raw(srv.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(srv.wait_exit(10).is_some(), "the server died");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    drop(srv);

    let srv = s.start();
    let newest = all_acked_delivered(&srv, &acked);
    let mut http = Http::new(srv.addr(7681));
    let stats = http.get(&format!("{MOUNT}/stats"));
    let last = serde_json::from_slice::<Value>(&stats.body).unwrap()["last_id"]
        .as_u64()
        .unwrap();
    let next = id_of(&http.post("text/plain", b"after the crash"));
    assert!(
        next > last && last >= newest,
        "ids continue: {next} after {last}"
    );
}

/// The newest segment of a journal, and the offset just past its records.
fn data_end(journal: &Path) -> (PathBuf, u64) {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segs.sort();
    let seg = segs.pop().expect("a segment");
    let bytes = std::fs::read(&seg).unwrap();
    let mut off = 16usize;
    loop {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        if len == 0 {
            return (seg, off as u64);
        }
        off += 8 + len;
    }
}

#[test]
fn a_torn_last_record_is_cut_and_never_delivered() {
    let (s, journal) = site("");
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let ids: Vec<u64> = (0..5)
        .map(|i| id_of(&http.post("text/plain", format!("kept {i}").as_bytes())))
        .collect();
    drop(http);
    drop(srv);
    // Killed (SIGKILL), then what a crash inside write(2) leaves: the first part of a record.
    let (seg, end) = data_end(&journal);
    let mut torn = Vec::new();
    torn.extend_from_slice(&200u32.to_le_bytes());
    torn.extend_from_slice(&0xdead_beefu32.to_le_bytes());
    torn.extend_from_slice(&(ids[4] + 1).to_le_bytes());
    torn.extend_from_slice(b"text/plain torn recor");
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &torn, end).unwrap();
    drop(f);

    let srv = s.start();
    assert!(
        srv.log_text().contains("cut a torn tail"),
        "{}",
        srv.log_text()
    );
    let mut http = Http::new(srv.addr(7681));
    let got = packets(&mut http, "?since=0");
    assert_eq!(ids_of(&got), ids);
    let next = id_of(&http.post("text/plain", b"next"));
    assert_eq!(next, ids[4] + 1);
    let got = packets(&mut http, &format!("?since={}", ids[4]));
    assert_eq!(got.len(), 1);
    assert_eq!(data_of(&got[0]), b"next");
}

/// Starts the site, posts three packets ("kept 0".."kept 2"), stops the
/// server with SIGTERM: their ids and the clean-stop note it left.
fn three_kept_then_stopped(s: &Site, journal: &Path) -> (Vec<u64>, String) {
    let mut srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let ids: Vec<u64> = (0..3)
        .map(|i| id_of(&http.post("text/plain", format!("kept {i}").as_bytes())))
        .collect();
    drop(http);
    assert!(
        srv.signal_and_wait("TERM", 10).is_some(),
        "lwsws did not stop"
    );
    let note = std::fs::read_to_string(journal.join("clean")).expect("a clean-stop note");
    (ids, note)
}

#[test]
fn a_graceful_stop_leaves_a_clean_note_that_vouches_for_nothing_written_after_it() {
    // Small segments: the second start reads the whole tail.
    let (s, journal) = site(r#""segment-bytes": "1m""#);
    // SIGTERM drops the journal's writer: it leaves its clean-stop note, so
    // the next start skips reading the empty tail (start-up time).
    let (ids, note) = three_kept_then_stopped(&s, &journal);
    let (seg, end) = data_end(&journal);
    assert!(note.contains(&format!("segment 1 {end}\n")), "{note}");

    // Bytes that reach the segment after the stop (nothing of ours writes
    // them; a crash of a later run would leave such) are still found: the
    // note no longer matches the file.
    std::thread::sleep(Duration::from_millis(20));
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"stray bytes", end + 9000).unwrap();
    drop(f);
    let srv = s.start();
    srv.wait_log("stray bytes after the end of the data", 10);
    assert!(!journal.join("clean").exists(), "a start takes the note");
    let mut http = Http::new(srv.addr(7681));
    let got = packets(&mut http, "?since=0");
    assert_eq!(ids_of(&got), ids);
    assert_eq!(id_of(&http.post("text/plain", b"next")), ids[2] + 1);
}

#[test]
fn a_start_killed_before_its_first_write_keeps_the_note_and_loses_nothing() {
    let (s, journal) = site("");
    let (ids, note) = three_kept_then_stopped(&s, &journal);

    // A start that serves reads, then dies by kill -9 before anything was
    // written: the note stays (it still describes the journal exactly).
    let mut srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    assert_eq!(ids_of(&packets(&mut http, "?since=0")), ids);
    let kept = std::fs::read_to_string(journal.join("clean")).ok();
    assert_eq!(
        kept.as_ref(),
        Some(&note),
        "the note stays until the first write"
    );
    drop(http);
    let pid = nix::unistd::Pid::from_raw(srv.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(srv.wait_exit(10).is_some());
    drop(srv);

    // The next start trusts it, and the first write takes it first.
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    assert_eq!(ids_of(&packets(&mut http, "?since=0")), ids);
    assert_eq!(id_of(&http.post("text/plain", b"next")), ids[2] + 1);
    assert!(
        !journal.join("clean").exists(),
        "the first write takes the note"
    );
    let got = packets(&mut http, &format!("?since={}", ids[2]));
    assert_eq!(data_of(&got[0]), b"next");
}

#[test]
fn a_subscriber_that_stops_reading_blocks_nothing_and_then_catches_up() {
    // A small live tail, so the stalled subscriber must catch up from disk.
    let (s, _) = site(r#""live-buffer-bytes": "1m""#);
    let srv = s.start();
    let addr = srv.addr(7681);
    let total = 50_000usize;
    let body = vec![b'p'; 1024];
    let mut stalled = subscribe(&srv, "");
    let mut reader = subscribe(&srv, "");
    let start_rss = srv.rss_kib();
    let max_rss = Arc::new(Mutex::new(start_rss));
    let done = Arc::new(AtomicBool::new(false));
    let pid = srv.pid();
    let sampler = {
        let (max_rss, done) = (max_rss.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    if let Some(kib) = st
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    {
                        let mut m = max_rss.lock().unwrap();
                        *m = (*m).max(kib);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // The reading subscriber keeps up while the stalled one does not read.
    let reading = std::thread::spawn(move || {
        let mut last = 0;
        for v in ws_read(&mut reader, total) {
            let id = v["id"].as_u64().unwrap();
            assert!(last == 0 || id == last + 1, "{id} after {last}");
            last = id;
        }
        last
    });
    let t0 = Instant::now();
    let producers: Vec<_> = (0..4)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut ws = connect(addr, "/", &["protocol-lws-packet"]);
                let n = total / 4;
                let mut acked = 0;
                for i in 0..n {
                    ws.send(Message::binary(body.clone())).unwrap();
                    if i % 256 == 255 {
                        acked += ws_read(&mut ws, 256).len();
                    }
                }
                acked += ws_read(&mut ws, n - acked).len();
                acked
            })
        })
        .collect();
    let ingested: usize = producers.into_iter().map(|p| p.join().unwrap()).sum();
    assert_eq!(ingested, total);
    let ingest_time = t0.elapsed();
    let last = reading.join().unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let grew = max_rss.lock().unwrap().saturating_sub(start_rss);
    eprintln!(
        "slow subscriber: {total} x 1 KiB ingested in {ingest_time:?}; server RSS {start_rss} KiB, +{grew} KiB at most"
    );
    // ~50 MiB of packets (and ~70 MiB of envelopes) went by the stalled
    // subscriber: buffering them for it would show here.
    assert!(grew < 40 * 1024, "server RSS grew by {grew} KiB");
    // Now it reads: everything, in order, no gaps.
    let got = ws_read(&mut stalled, total);
    let first = got[0]["id"].as_u64().unwrap();
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["id"].as_u64(), Some(first + i as u64));
    }
    assert_eq!(first + total as u64 - 1, last);
    assert_eq!(data_of(&got[total - 1]), body);
}

/// The packet figures reach the server's Prometheus endpoint.
#[test]
fn packet_figures_are_in_the_metrics() {
    let (s, _journal) = site("");
    // The same site, with the metrics endpoint on.
    std::fs::write(
        s.path("conf"),
        format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\", \"metrics-path\": \"/metrics\"}}}}",
            s.path("plugins").display()
        ),
    )
    .unwrap();
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    for i in 0..5 {
        assert_eq!(
            http.post("text/plain", format!("packet {i}").as_bytes())
                .status,
            200
        );
    }
    let line = "comlink_packets_in_total{vhost=\"localhost\"} 5";
    assert!(
        crate::support::eventually(10, || {
            let r = http.get("/metrics");
            String::from_utf8_lossy(&r.body).lines().any(|l| l == line)
        }),
        "{}",
        String::from_utf8_lossy(&http.get("/metrics").body)
    );
    let text = String::from_utf8_lossy(&http.get("/metrics").body).to_string();
    assert!(
        text.contains("# TYPE comlink_packets_in_total counter"),
        "{text}"
    );
    assert!(
        text.contains("comlink_packet_last_id{vhost=\"localhost\"} 5"),
        "{text}"
    );
}
