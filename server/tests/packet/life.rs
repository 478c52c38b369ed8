//! The packet service through the life of a server (issue 12): producers
//! (HTTP POST loops and WebSocket ingest) and subscribers of every kind
//! (WebSocket, SSE, long-poll, each resuming from the last id it saw) run
//! while the server reloads, has its plugin file replaced, or worse; at the
//! end every acknowledged packet reached every subscriber exactly once and
//! in order.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::Message;

use super::{Http, MOUNT};
use crate::support::read_response;
use crate::support::ws::try_connect;

/// What the clients saw.
#[derive(Default)]
pub(super) struct Ledger {
    /// Acknowledged packets: (id, the tag that is their body).
    pub acked: Mutex<Vec<(u64, String)>>,
    /// Anything a client should never have seen.
    pub failures: Mutex<Vec<String>>,
    /// WebSocket closes that asked the client to come back (1001, 1012).
    pub restarts: Mutex<u64>,
}

impl Ledger {
    pub(super) fn fail(&self, what: String) {
        let mut f = self.failures.lock().unwrap();
        if f.len() < 50 {
            f.push(what);
        }
    }
}

/// One subscriber's view: (id, tag) in the order received.
pub(super) type Seen = Arc<Mutex<Vec<(u64, String)>>>;

/// Producers and subscribers running against one server address.
pub(super) struct Workload {
    pub addr: SocketAddr,
    /// Producers stop first; subscribers once they have caught up.
    pub stop: Arc<AtomicBool>,
    sub_stop: Arc<AtomicBool>,
    pub ledger: Arc<Ledger>,
    pub producers: Vec<JoinHandle<()>>,
    pub subscribers: Vec<(String, Seen)>,
    /// One switch per subscriber: set, it drops its connection and resumes.
    pub kills: Vec<Arc<AtomicBool>>,
}

impl Workload {
    pub(super) fn new(addr: SocketAddr) -> Workload {
        Workload {
            addr,
            stop: Arc::new(AtomicBool::new(false)),
            sub_stop: Arc::new(AtomicBool::new(false)),
            ledger: Arc::new(Ledger::default()),
            producers: Vec::new(),
            subscribers: Vec::new(),
            kills: Vec::new(),
        }
    }

    /// An HTTP producer: POSTs `tag` bodies on one kept-alive connection;
    /// anything but `200 {"id":N}` is a failure.
    pub(super) fn http_producer(&mut self, n: usize) {
        let (addr, stop, ledger) = (self.addr, self.stop.clone(), self.ledger.clone());
        self.producers.push(std::thread::spawn(move || {
            let mut http = Http::new(addr);
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let tag = format!("h{n}-{seq}");
                match post(&mut http, &tag) {
                    Ok(id) => ledger.acked.lock().unwrap().push((id, tag)),
                    Err(e) => {
                        ledger.fail(format!("POST {tag}: {e}"));
                        std::thread::sleep(Duration::from_millis(20));
                        http = Http::new(addr);
                    }
                }
                seq += 1;
            }
        }));
    }

    /// A WebSocket producer: one message, then its `{"id":N}`; on a close
    /// asking it to come back it reconnects and sends what was not
    /// acknowledged again.
    pub(super) fn ws_producer(&mut self, n: usize) {
        let (addr, stop, ledger) = (self.addr, self.stop.clone(), self.ledger.clone());
        self.producers.push(std::thread::spawn(move || {
            let mut seq = 0u64;
            'conn: while !stop.load(Ordering::Relaxed) {
                let mut ws = match try_connect(addr, "/", &["protocol-lws-packet"]) {
                    Ok(ws) => ws,
                    Err(e) => {
                        ledger.fail(format!("ws ingest connect: {e}"));
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    let tag = format!("w{n}-{seq}");
                    if ws.send(Message::text(tag.clone())).is_err() {
                        continue 'conn;
                    }
                    loop {
                        match crate::support::ws::read_message(&mut ws) {
                            Ok(Message::Text(t)) => {
                                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                                match v["id"].as_u64() {
                                    Some(id) => ledger.acked.lock().unwrap().push((id, tag)),
                                    None => ledger.fail(format!("ws ingest {tag}: {v}")),
                                }
                                break;
                            }
                            Ok(Message::Close(c)) => {
                                note_close(&ledger, "ws ingest", c);
                                continue 'conn;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                ledger.fail(format!("ws ingest {tag}: {e}"));
                                continue 'conn;
                            }
                        }
                    }
                    seq += 1;
                }
            }
        }));
    }

    /// A WebSocket subscriber from the first packet, resuming with
    /// `?since=<last id>` after a close that asks it to.
    pub(super) fn ws_subscriber(&mut self, name: &str) -> Seen {
        let seen = self.seen(name);
        let kill = self.kill_switch();
        let (addr, stop, ledger, out) = (
            self.addr,
            self.sub_stop.clone(),
            self.ledger.clone(),
            seen.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let since = last(&out);
                let mut ws =
                    match try_connect(addr, &format!("/?since={since}"), &["packet-subscribe"]) {
                        Ok(ws) => ws,
                        Err(e) => {
                            ledger.fail(format!("subscribe: {e}"));
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                    };
                ws.get_mut()
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                while !stop.load(Ordering::Relaxed) {
                    if kill.swap(false, Ordering::Relaxed) {
                        // Killed: the connection is dropped without a close.
                        break;
                    }
                    match crate::support::ws::read_message(&mut ws) {
                        Ok(Message::Text(t)) => record(&ledger, &out, t.as_str()),
                        Ok(Message::Close(c)) => {
                            note_close(&ledger, "subscriber", c);
                            break;
                        }
                        Ok(_) => {}
                        Err(tungstenite::Error::Io(e))
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(e) => {
                            ledger.fail(format!("subscriber: {e}"));
                            break;
                        }
                    }
                }
            }
        });
        seen
    }

    /// A Server-Sent Events subscriber, resuming with `Last-Event-ID` when
    /// its stream ends.
    pub(super) fn sse_subscriber(&mut self, name: &str) -> Seen {
        let seen = self.seen(name);
        let kill = self.kill_switch();
        let (addr, stop, ledger, out) = (
            self.addr,
            self.sub_stop.clone(),
            self.ledger.clone(),
            seen.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let since = last(&out);
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let req = format!(
                    "GET {MOUNT}/events?since=0 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {since}\r\n\r\n"
                );
                s.write_all(req.as_bytes()).unwrap();
                let mut lines = BufReader::new(s).lines();
                let mut status = None;
                for line in lines.by_ref() {
                    let Ok(line) = line else { break };
                    if status.is_none() {
                        status = line.split_whitespace().nth(1).map(str::to_string);
                    }
                    if line.is_empty() {
                        break;
                    }
                }
                if status.as_deref() != Some("200") {
                    ledger.fail(format!("event stream answered {status:?}"));
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                // Chunk-size lines and `id:` lines are skipped: `data:` has the id.
                for line in lines.by_ref() {
                    let Ok(line) = line else { break };
                    if let Some(d) = line.strip_prefix("data: ") {
                        record(&ledger, &out, d);
                    }
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if kill.swap(false, Ordering::Relaxed) {
                        break;
                    }
                }
                *ledger.restarts.lock().unwrap() += 1;
            }
        });
        seen
    }

    /// A long-poll subscriber: `GET <mount>/packets?since=<last>&wait=1`.
    pub(super) fn poll_subscriber(&mut self, name: &str) -> Seen {
        let seen = self.seen(name);
        let (addr, stop, ledger, out) = (
            self.addr,
            self.sub_stop.clone(),
            self.ledger.clone(),
            seen.clone(),
        );
        std::thread::spawn(move || {
            let mut http = Http::new(addr);
            while !stop.load(Ordering::Relaxed) {
                let since = last(&out);
                let path = format!("{MOUNT}/packets?since={since}&wait=1&limit=500");
                let Ok(r) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| http.get(&path)))
                else {
                    // The server is gone: the test is over, or it failed anyway.
                    return;
                };
                if r.status != 200 {
                    ledger.fail(format!("long poll answered {}", r.status));
                    continue;
                }
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                for p in v.as_array().unwrap() {
                    record(&ledger, &out, &p.to_string());
                }
            }
        });
        seen
    }

    fn kill_switch(&mut self) -> Arc<AtomicBool> {
        let k = Arc::new(AtomicBool::new(false));
        self.kills.push(k.clone());
        k
    }

    fn seen(&mut self, name: &str) -> Seen {
        let s: Seen = Arc::default();
        self.subscribers.push((name.to_string(), s.clone()));
        s
    }

    /// Stops the producers, waits for every subscriber to reach the last
    /// acknowledged id, and checks the promise. Returns the number of
    /// packets acknowledged.
    pub(super) fn finish(mut self) -> usize {
        self.stop_producers();
        let acked = self.ledger.acked.lock().unwrap().clone();
        let max = acked.iter().map(|a| a.0).max().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        for (name, seen) in &self.subscribers {
            while last(seen) < max && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(
                last(seen) >= max,
                "{name} reached only {} of {max}; stats {}; subscribers at {:?}; clients saw: {:#?}",
                last(seen),
                String::from_utf8_lossy(&Http::new(self.addr).get(&format!("{MOUNT}/stats")).body),
                self.subscribers
                    .iter()
                    .map(|(n, s)| (n.clone(), last(s)))
                    .collect::<Vec<_>>(),
                self.ledger.failures.lock().unwrap()
            );
        }
        self.sub_stop.store(true, Ordering::Relaxed);
        let failures = self.ledger.failures.lock().unwrap().clone();
        assert!(failures.is_empty(), "clients saw: {failures:#?}");
        check(&acked, &self.subscribers);
        acked.len()
    }

    fn stop_producers(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for p in self.producers.drain(..) {
            p.join().unwrap();
        }
    }
}

/// Every acknowledged id once, with its own tag, and every subscriber saw
/// ids 1.. without a gap, a repeat or a packet out of order.
pub(super) fn check(acked: &[(u64, String)], subscribers: &[(String, Seen)]) {
    let mut by_id = std::collections::HashMap::new();
    let mut tags = std::collections::HashSet::new();
    for (id, tag) in acked {
        assert!(
            by_id.insert(*id, tag.clone()).is_none(),
            "id {id} acknowledged twice"
        );
        assert!(tags.insert(tag.clone()), "{tag} acknowledged twice");
    }
    for (name, seen) in subscribers {
        let seen = seen.lock().unwrap();
        let mut once = std::collections::HashSet::new();
        for (i, (id, tag)) in seen.iter().enumerate() {
            assert_eq!(*id, i as u64 + 1, "{name}: packet {i} has id {id}");
            assert!(
                once.insert(tag),
                "{name}: {tag} delivered twice (a duplicate packet)"
            );
            if let Some(t) = by_id.get(id) {
                assert_eq!(t, tag, "{name}: id {id}");
            }
        }
    }
}

fn post(http: &mut Http, tag: &str) -> Result<u64, String> {
    let head = format!(
        "POST {MOUNT} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        tag.len()
    );
    http.s
        .write_all(head.as_bytes())
        .and_then(|_| http.s.write_all(tag.as_bytes()))
        .map_err(|e| e.to_string())?;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_response(&mut http.s, false)
    }))
    .map_err(|_| "connection ended without an answer".to_string())?;
    if r.status != 200 {
        return Err(format!("{} {}", r.status, String::from_utf8_lossy(&r.body)));
    }
    let v: Value = serde_json::from_slice(&r.body).map_err(|e| e.to_string())?;
    v["id"].as_u64().ok_or_else(|| format!("no id in {v}"))
}

pub(super) fn last(seen: &Seen) -> u64 {
    seen.lock().unwrap().last().map_or(0, |s| s.0)
}

/// Records one envelope; a gap or an error message is a failure.
pub(super) fn record(ledger: &Ledger, out: &Seen, text: &str) {
    let v: Value = serde_json::from_str(text).unwrap();
    match (v["id"].as_u64(), v["data"].as_str()) {
        (Some(id), Some(data)) => out.lock().unwrap().push((id, data.to_string())),
        _ => ledger.fail(format!("subscriber got {v}")),
    }
}

fn note_close(ledger: &Ledger, who: &str, c: Option<tungstenite::protocol::CloseFrame>) {
    match c.map(|c| c.code) {
        Some(CloseCode::Restart) | Some(CloseCode::Away) => *ledger.restarts.lock().unwrap() += 1,
        other => ledger.fail(format!("{who} closed with {other:?}")),
    }
}

/// Replaces `dir/libprotocol_lws_packet.so` the way `install` does: a new
/// file renamed over the old name.
pub(super) fn replace_plugin(dir: &Path) {
    let target = dir.join("libprotocol_lws_packet.so");
    let tmp = dir.join(".libprotocol_lws_packet.so.new");
    let mut bytes = Vec::new();
    std::fs::File::open(&target)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, &target).unwrap();
}

/// The reload storm of issue 12 against a running workload: 20 SIGHUPs, a
/// watched `conf.d` edit, and the plugin file replaced twice.
fn reload_storm(s: &crate::support::Site, srv: &crate::support::Server, rewrite_conf: impl Fn()) {
    let reloads = |t: &str| t.matches("configuration reloaded").count();
    for i in 0..20 {
        srv.reload();
        std::thread::sleep(Duration::from_millis(40));
        if i == 5 {
            let before = reloads(&srv.log_text());
            rewrite_conf();
            assert!(
                crate::support::eventually(10, || reloads(&srv.log_text()) > before),
                "the conf.d edit was not reloaded:\n{}",
                srv.log_text()
            );
        }
        if i == 8 || i == 14 {
            replace_plugin(&s.path("plugins"));
            srv.reload();
        }
    }
}

/// Subscribers of every kind and producers of both kinds, started before
/// the storm.
fn workload(addr: SocketAddr) -> Workload {
    let mut w = Workload::new(addr);
    w.ws_subscriber("ws subscriber 1");
    w.ws_subscriber("ws subscriber 2");
    w.sse_subscriber("sse subscriber");
    w.poll_subscriber("long-poll subscriber");
    w.http_producer(1);
    w.http_producer(2);
    w.ws_producer(1);
    std::thread::sleep(Duration::from_millis(300));
    w
}

/// After the storm: a new subscriber is served by the new generation, from
/// the first packet on.
fn fresh_subscriber_reads_all(srv: &crate::support::Server, n: usize) {
    let mut ws = crate::support::ws::connect(srv.addr(7681), "/?since=0", &["packet-subscribe"]);
    let got = super::ws_read(&mut ws, n);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v["id"].as_u64(), Some(i as u64 + 1));
    }
}

#[test]
fn reloads_and_plugin_swaps_are_invisible_to_packet_clients() {
    let (s, _) = super::site("");
    let srv = s.start();
    let w = workload(srv.addr(7681));
    let journal = s.path("journal");
    reload_storm(&s, &srv, || {
        super::packet_vhost(
            &s,
            &format!(r#""journal-dir": "{}""#, journal.display()),
            "",
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let restarts = *w.ledger.restarts.lock().unwrap();
    let n = w.finish();
    let log = srv.log_text();
    assert!(n > 200, "only {n} packets acknowledged");
    assert!(!log.contains("in use"), "{log}");
    assert!(
        log.matches("changed on disk").count() >= 2,
        "the swaps were not seen:\n{log}"
    );
    fresh_subscriber_reads_all(&srv, n);
    eprintln!(
        "{n} packets acknowledged through 20 reloads and 2 swaps; {restarts} WebSocket restarts"
    );
}

#[test]
fn reloads_and_plugin_swaps_are_invisible_with_the_redis_backend() {
    let Some(redis) = crate::support::redis::Redis::start() else {
        return;
    };
    let s = crate::support::Site::with_plugins("", |p| {
        crate::support::plugins::install_builtins(p, &["lws_packet"])
    });
    let store = format!(r#""backend": "{}", "redis-key": "life""#, redis.url());
    super::packet_vhost(&s, &store, "");
    let srv = s.start();
    let w = workload(srv.addr(7681));
    reload_storm(&s, &srv, || super::packet_vhost(&s, &store, ""));
    std::thread::sleep(Duration::from_millis(300));
    let n = w.finish();
    assert!(n > 100, "only {n} packets acknowledged");
    fresh_subscriber_reads_all(&srv, n);
}

#[test]
fn a_stalled_subscriber_does_not_keep_a_swapped_plugin_from_its_journal() {
    let (s, _) = super::site("");
    let srv = s.start();
    let addr = srv.addr(7681);
    // A subscriber that never reads: its socket fills, and its old-version
    // connection never becomes writeable to be closed by the plugin.
    let (stalled, r) =
        crate::support::ws::raw_handshake(addr, &[("Sec-WebSocket-Protocol", "packet-subscribe")]);
    assert_eq!(r.status, 101);
    let mut http = Http::new(addr);
    let big = vec![b'x'; 60_000];
    for _ in 0..200 {
        super::id_of(&http.post("application/octet-stream", &big));
    }
    replace_plugin(&s.path("plugins"));
    srv.reload();
    // The new version has the journal: a POST is answered (a request left
    // waiting for the hand-over past its 5 s would get 503, and `id_of`
    // would fail), and ids go on.
    let id = super::id_of(&Http::new(addr).post("text/plain", b"after the swap"));
    assert_eq!(id, 201);
    let log = srv.log_text();
    assert!(log.contains("could not start beside the old one"), "{log}");
    drop(stalled);
}
