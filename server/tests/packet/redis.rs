//! The Redis Streams backend (`backend: "redis://..."`): two `lwsws`
//! processes on one real `redis-server` share one packet stream and one id
//! sequence, so a packet POSTed to one reaches subscribers on the other.

use serde_json::Value;

use super::{data_of, id_of, packet_vhost, packets, subscribe, ws_read, Http, Sse};
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
