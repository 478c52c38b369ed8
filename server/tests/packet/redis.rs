//! The Redis Streams backend (`backend: "redis://..."`): two `lwsws`
//! processes on one real `redis-server` share one packet stream and one id
//! sequence, so a packet POSTed to one reaches subscribers on the other.

use std::time::Duration;

use serde_json::Value;

use super::{data_of, id_of, packet_vhost, packets, subscribe, ws_read, Http, Sse, MOUNT};
use crate::support::plugins::install_builtins;
use crate::support::redis::{free_port, Redis};
use crate::support::Site;

/// A site whose ingest protocol keeps packets in `url`'s stream `key`; the
/// subscribe protocol names no store, so it uses the ingest protocol's.
fn redis_site(url: &str, key: &str) -> Site {
    let s = Site::with_plugins("", |p| install_builtins(p, &["lws_packet"]));
    packet_vhost(
        &s,
        &format!(r#""backend": "{url}", "redis-key": "{key}""#),
        "",
    );
    s
}

#[test]
fn a_packet_posted_to_one_server_reaches_subscribers_on_the_other() {
    let Some(redis) = Redis::start() else { return };
    let (sa, sb) = (
        redis_site(&redis.url(), "site"),
        redis_site(&redis.url(), "site"),
    );
    let (mut a, b) = (sa.start(), sb.start());
    assert!(
        a.log_text().contains("redis stream site at"),
        "{}",
        a.log_text()
    );
    let mut on_b = subscribe(&b, "");
    let mut sse_a = Sse::open(&a, "", None);
    let (mut ha, mut hb) = (Http::new(a.addr(7681)), Http::new(b.addr(7681)));
    let mut sent = Vec::new();
    for i in 0..40u64 {
        let body = format!("packet {i} via {}", if i % 2 == 0 { "a" } else { "b" });
        let http = if i % 2 == 0 { &mut ha } else { &mut hb };
        let id = id_of(&http.post("text/plain", body.as_bytes()));
        sent.push((id, body.into_bytes()));
    }
    assert_eq!(
        sent.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>(),
        "one id sequence across both servers"
    );
    let check = |how: &str, got: Vec<Value>| {
        assert_eq!(got.len(), sent.len(), "{how}");
        for (v, (id, body)) in got.iter().zip(&sent) {
            assert_eq!(v["id"].as_u64(), Some(*id), "{how}");
            assert_eq!(&data_of(v), body, "{how} #{id}");
        }
    };
    check("websocket on b", ws_read(&mut on_b, sent.len()));
    check(
        "sse on a",
        sse_a.read(sent.len()).into_iter().map(|(_, v)| v).collect(),
    );
    check("json on b", packets(&mut hb, "?since=0&limit=100"));
    let mut from_start = subscribe(&a, "?since=0");
    check(
        "websocket since=0 on a",
        ws_read(&mut from_start, sent.len()),
    );
    // A restarted server continues the shared sequence.
    drop((ha, from_start, sse_a));
    a.signal_and_wait("TERM", 20);
    let a = sa.start();
    let mut ha = Http::new(a.addr(7681));
    assert_eq!(id_of(&ha.post("text/plain", b"after restart")), 41);
    let v = ws_read(&mut on_b, 1);
    assert_eq!(
        (v[0]["id"].as_u64(), data_of(&v[0])),
        (Some(41), b"after restart".to_vec())
    );
}

#[test]
fn an_unreachable_redis_refuses_the_protocol_and_the_server_serves_the_rest() {
    let port = free_port();
    let s = redis_site(&format!("redis://127.0.0.1:{port}/"), "k");
    s.file("www/index.html", "still here");
    let srv = s.start();
    let log = srv.log_text();
    assert!(
        log.contains("protocol-lws-packet") && log.contains(&format!("127.0.0.1:{port}")),
        "{log}"
    );
    let mut http = Http::new(srv.addr(7681));
    assert_eq!(http.get("/").status, 404);
}

#[test]
fn a_retry_sent_to_the_other_server_gets_the_original_id() {
    let Some(redis) = Redis::start() else { return };
    let (sa, sb) = (
        redis_site(&redis.url(), "idem"),
        redis_site(&redis.url(), "idem"),
    );
    let (a, b) = (sa.start(), sb.start());
    let (mut ha, mut hb) = (Http::new(a.addr(7681)), Http::new(b.addr(7681)));
    let post = |h: &mut Http, key: &str, body: &[u8]| {
        let r = h.post_with(&[("Idempotency-Key", key)], body);
        let replayed = r.header("idempotent-replayed").is_some();
        (id_of(&r), replayed)
    };
    let (id, _) = post(&mut ha, "reading-1", b"from the controller");
    // The answer was lost; the load balancer sends the retry to b.
    assert_eq!(
        post(&mut hb, "reading-1", b"from the controller"),
        (id, true)
    );
    assert_eq!(post(&mut hb, "reading-2", b"next"), (id + 1, false));
    assert_eq!(post(&mut ha, "reading-2", b"next"), (id + 1, true));
    let got = packets(&mut ha, "?since=0");
    assert_eq!(
        got.iter().map(data_of).collect::<Vec<_>>(),
        [b"from the controller".to_vec(), b"next".to_vec()]
    );
}

/// One controller: POSTs its packets in order, each with its own key,
/// retrying a refused one as `Retry-After` says until it is taken. Returns
/// (id, body) of each, and how many refusals it saw; panics on any answer
/// but 200 and 503-with-Retry-After.
fn controller(addr: std::net::SocketAddr, c: usize, n: usize) -> (Vec<(u64, Vec<u8>)>, usize) {
    let mut acked = Vec::new();
    let mut refusals = 0;
    let mut http = Http::new(addr);
    for i in 0..n {
        let body = format!("controller {c} packet {i}").into_bytes();
        let key = format!("c{c}-p{i}");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let r = http.post_with(&[("Idempotency-Key", &key)], &body);
            if r.status == 200 {
                acked.push((id_of(&r), body));
                break;
            }
            assert_eq!(
                r.status,
                503,
                "{} {}",
                r.head,
                String::from_utf8_lossy(&r.body)
            );
            let retry: u64 = r
                .header("retry-after")
                .expect("Retry-After on a 503")
                .parse()
                .unwrap();
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert!(v["error"].as_str().is_some(), "{v}");
            refusals += 1;
            assert!(std::time::Instant::now() < deadline, "never taken: {v}");
            std::thread::sleep(Duration::from_secs(retry.min(2)));
        }
    }
    (acked, refusals)
}

#[test]
fn redis_killed_mid_ingest_is_refused_with_retry_after_and_nothing_acknowledged_is_lost() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let s = redis_site(&redis.url(), "crash");
    let srv = s.start();
    let addr = srv.addr(7681);
    let clients: Vec<_> = (0..4)
        .map(|c| std::thread::spawn(move || controller(addr, c, 300)))
        .collect();
    // Redis dies mid-ingest (SIGKILL), and comes back 2 s later with what
    // its append-only file holds (appendfsync always).
    std::thread::sleep(Duration::from_millis(300));
    redis.kill();
    std::thread::sleep(Duration::from_secs(2));
    redis.restart();
    let mut acked = Vec::new();
    let mut refusals = 0;
    for c in clients {
        let (a, r) = c.join().unwrap();
        acked.extend(a);
        refusals += r;
    }
    assert!(refusals > 0, "Redis was down while the controllers posted");
    assert!(
        srv.log_text().contains("refusing packets"),
        "{}",
        srv.log_text()
    );
    // Every acknowledged packet is in the stream once, under its id, and
    // nothing else is (each retry carried its key). The stream is Redis's:
    // a packet becomes visible here once this server's follower has read
    // it back, which after the outage can come a moment after its
    // acknowledgement (the follower retries on its own backoff). So pages
    // are long polls, read until the newest acknowledged id has been seen
    // (or 20 s have passed: then the counts below say what is missing).
    let newest = acked.iter().map(|a| a.0).max().unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut http = Http::new(addr);
    let mut stream = Vec::new();
    let mut since = 0;
    while since < newest && std::time::Instant::now() < deadline {
        let page = packets(&mut http, &format!("?since={since}&limit=1000&wait=1"));
        if let Some(last) = page.last() {
            since = last["id"].as_u64().unwrap();
        }
        stream.extend(page);
    }
    let delivered: std::collections::HashMap<u64, Vec<u8>> = stream
        .iter()
        .map(|v| (v["id"].as_u64().unwrap(), data_of(v)))
        .collect();
    assert_eq!(delivered.len(), stream.len(), "no id twice");
    assert_eq!(stream.len(), acked.len(), "no duplicate packets");
    for (id, body) in &acked {
        assert_eq!(delivered.get(id), Some(body), "acknowledged id {id}");
    }
    // Ids went on from where they were.
    let mut ids: Vec<u64> = acked.iter().map(|a| a.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=1200).collect::<Vec<_>>());
    let st: Value = serde_json::from_slice(&http.get(&format!("{MOUNT}/stats")).body).unwrap();
    assert_eq!(st["journal_state"], "ok", "{st}");
}
