//! Idempotent ingest (issue 12, section 2): a controller that lost its
//! answer sends the packet again with the same `Idempotency-Key` and gets
//! the original id; the packet is stored and delivered once, across
//! restarts and `kill -9` too.

use serde_json::Value;
use tungstenite::Message;

use super::{data_of, id_of, ids_of, packets, site, subscribe, ws_read, Http, MOUNT};
use crate::support::plugins::install_builtins;
use crate::support::ws::connect;
use crate::support::{Raw, Site};

/// A POST of `body` with `Idempotency-Key: key`.
fn post_key(http: &mut Http, key: &str, body: &[u8]) -> Raw {
    http.post_with(
        &[("Content-Type", "text/plain"), ("Idempotency-Key", key)],
        body,
    )
}

fn replayed(r: &Raw) -> bool {
    r.header("idempotent-replayed").as_deref() == Some("true")
}

fn stats(http: &mut Http) -> Value {
    let r = http.get(&format!("{MOUNT}/stats"));
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn a_retried_post_gets_the_original_id_and_is_stored_once() {
    let (s, _) = site("");
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let first = post_key(&mut http, "reading-0001", b"temperature 21.5");
    let id = id_of(&first);
    assert!(!replayed(&first));
    // The answer was lost; the controller sends it again.
    let again = post_key(&mut http, "reading-0001", b"temperature 21.5");
    assert_eq!(id_of(&again), id);
    assert!(replayed(&again), "{}", again.head);
    // A key reused with another body is still a replay (the body is not
    // compared: the key names the packet).
    let other_body = post_key(&mut http, "reading-0001", b"something else");
    assert_eq!((id_of(&other_body), replayed(&other_body)), (id, true));
    // Another key, or none, is another packet.
    let next = post_key(&mut http, "reading-0002", b"temperature 21.7");
    assert_eq!((id_of(&next), replayed(&next)), (id + 1, false));
    assert_eq!(id_of(&http.post("text/plain", b"no key")), id + 2);
    // Keys are 1-255 printable ASCII characters.
    for bad in ["", &"k".repeat(256), "caf\u{e9}", "tab\there"] {
        let r = post_key(&mut http, bad, b"x");
        assert_eq!(r.status, 400, "key {bad:?}: {}", r.head);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains("Idempotency-Key"),
            "{v}"
        );
    }
    let longest = "~".repeat(255);
    assert_eq!(id_of(&post_key(&mut http, &longest, b"long key")), id + 3);
    assert!(replayed(&post_key(&mut http, &longest, b"long key")));
    // Stored and delivered once each.
    let got = packets(&mut http, "?since=0");
    let bodies: Vec<Vec<u8>> = got.iter().map(data_of).collect();
    assert_eq!(
        bodies,
        [
            &b"temperature 21.5"[..],
            b"temperature 21.7",
            b"no key",
            b"long key"
        ]
    );
    let mut ws = subscribe(&srv, "?since=0");
    let ids = ids_of(&ws_read(&mut ws, 4));
    assert_eq!(ids, [id, id + 1, id + 2, id + 3]);
    assert_eq!(stats(&mut http)["replays"], 3);
}

#[test]
fn keys_hold_across_kill_9_and_a_restart() {
    let (s, _) = site("");
    let mut srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let ids: Vec<u64> = (0..20)
        .map(|i| id_of(&post_key(&mut http, &format!("k{i}"), b"before the crash")))
        .collect();
    let pid = nix::unistd::Pid::from_raw(srv.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(srv.wait_exit(10).is_some());
    drop((http, srv));
    let srv = s.start();
    assert!(
        srv.log_text().contains("20 idempotency keys"),
        "{}",
        srv.log_text()
    );
    let mut http = Http::new(srv.addr(7681));
    for (i, id) in ids.iter().enumerate() {
        let r = post_key(&mut http, &format!("k{i}"), b"retried after the crash");
        assert_eq!((id_of(&r), replayed(&r)), (*id, true), "k{i}");
    }
    let fresh = post_key(&mut http, "k20", b"new");
    assert_eq!((id_of(&fresh), replayed(&fresh)), (ids[19] + 1, false));
    assert_eq!(packets(&mut http, "?since=0&limit=1000").len(), 21);
}

#[test]
fn concurrent_retries_of_one_key_during_its_group_commit_store_it_once() {
    // Syncs at most every 200 ms: the retries arrive while the original
    // still waits for its commit.
    let (s, _) = site(r#""fsync": "interval:200""#);
    let srv = s.start();
    let addr = srv.addr(7681);
    for round in 0..5 {
        let key = format!("burst-{round}");
        let answers: Vec<(u64, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let key = key.clone();
                    scope.spawn(move || {
                        let mut http = Http::new(addr);
                        let r = post_key(&mut http, &key, key.as_bytes());
                        (id_of(&r), replayed(&r))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let id = answers[0].0;
        assert!(answers.iter().all(|a| a.0 == id), "{answers:?}");
        assert_eq!(
            answers.iter().filter(|a| !a.1).count(),
            1,
            "one original, the rest replays: {answers:?}"
        );
    }
    let mut http = Http::new(addr);
    let got = packets(&mut http, "?since=0");
    assert_eq!(got.len(), 5, "{got:?}");
}

#[test]
fn keys_are_per_vhost() {
    // Two vhosts on one port share one journal; a key means one packet on
    // each of them.
    let s = Site::with_plugins("", |p| install_builtins(p, &["lws_packet"]));
    let journal = s.path("journal");
    let vhost = |name: &str| {
        format!(
            r#"{{"name": "{name}", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "{MOUNT}", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [{{"protocol-lws-packet": {{"status": "ok", "journal-dir": "{}"}}}}]}}"#,
            journal.display()
        )
    };
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{}, {}]}}"#,
            vhost("localhost"),
            vhost("other.example")
        ),
    );
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let a = id_of(&post_key(&mut http, "same", b"on localhost"));
    let on_other = |http: &mut Http| {
        http.post_with(
            &[("Host", "other.example"), ("Idempotency-Key", "same")],
            b"on other",
        )
    };
    let b = on_other(&mut http);
    assert_eq!((id_of(&b), replayed(&b)), (a + 1, false));
    let b2 = on_other(&mut http);
    assert_eq!((id_of(&b2), replayed(&b2)), (a + 1, true));
    assert!(replayed(&post_key(&mut http, "same", b"on localhost")));
}

#[test]
fn websocket_messages_with_a_key_line_are_deduplicated_in_order() {
    let (s, _) = site(r#""max-packet-bytes": "1000""#);
    let srv = s.start();
    let mut ws = connect(srv.addr(7681), "/?keyed=1", &["protocol-lws-packet"]);
    let msgs: Vec<Message> = vec![
        Message::text("k1\nfirst"),
        Message::binary(b"k2\n\x00\xffbinary".to_vec()),
        Message::text("k1\nfirst, retried"),
        Message::text("\nno key"),
        // Bad key lines are answered with an error in their place.
        Message::text("no newline at all"),
        Message::text(format!("{}\nkey too long", "k".repeat(256))),
        Message::text(format!("k3\n{}", "x".repeat(1001))),
        Message::text("k2\nsecond retry"),
        Message::text("k3\nlast"),
    ];
    for m in msgs {
        ws.send(m).unwrap();
    }
    let acks = ws_read(&mut ws, 9);
    let show: Vec<String> = acks.iter().map(|v| v.to_string()).collect();
    let id = acks[0]["id"].as_u64().unwrap();
    assert_eq!(acks[1]["id"].as_u64(), Some(id + 1), "{show:?}");
    assert_eq!(acks[2], serde_json::json!({"id": id, "replayed": true}));
    assert_eq!(acks[3]["id"].as_u64(), Some(id + 2));
    for (i, why) in [
        (4, "key line"),
        (5, "Idempotency-Key"),
        (6, "max-packet-bytes"),
    ] {
        assert!(
            acks[i]["error"].as_str().unwrap_or("").contains(why),
            "{i}: {show:?}"
        );
    }
    assert_eq!(acks[7], serde_json::json!({"id": id + 1, "replayed": true}));
    assert_eq!(acks[8]["id"].as_u64(), Some(id + 3));
    let mut http = Http::new(srv.addr(7681));
    let got: Vec<Vec<u8>> = packets(&mut http, "?since=0").iter().map(data_of).collect();
    assert_eq!(
        got,
        [&b"first"[..], b"\x00\xffbinary", b"no key", b"last"],
        "the key line is not part of the packet"
    );
    // Without ?keyed=1 a message is all packet, newlines included.
    let mut plain = connect(srv.addr(7681), "/", &["protocol-lws-packet"]);
    plain.send(Message::text("k1\nnot a key")).unwrap();
    assert_eq!(ws_read(&mut plain, 1)[0]["id"].as_u64(), Some(id + 4));
}
