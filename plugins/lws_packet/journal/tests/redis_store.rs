//! The Redis Streams store against a real `redis-server` (Debian's, which
//! `scripts/test-deps` installs), started per test on a free loopback port
//! with its data in a temp dir (`packet_journal::testing::Redis`).

use std::time::{Duration, Instant};

use packet_journal::config::Backend;
use packet_journal::log::Chunk;
use packet_journal::testing::{collect, free_port, ids, waker, Redis, Wakes};
use packet_journal::{Client, Event, Fsync, Service, Settings};

fn settings(redis: &Redis, key: &str) -> Settings {
    Settings {
        backend: Backend::Redis(redis.url()),
        redis_key: key.into(),
        ..Settings::default()
    }
}

/// Waits until `svc` has seen packets up to `id` as committed.
fn until_committed(svc: &Service, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while svc.committed() < id {
        assert!(
            Instant::now() < deadline,
            "committed {} never reached {id}",
            svc.committed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn fetch(c: &Client, pair: &Wakes, from: u64) -> Chunk {
    c.fetch(99, from, 64 << 20);
    match collect(c, pair, 1).pop() {
        Some(Event::Fetched {
            token: 99,
            result: Ok(chunk),
        }) => chunk,
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_services_share_one_stream_and_one_id_sequence() {
    let Some(redis) = Redis::start() else { return };
    let (na, pa) = waker();
    let (nb, pb) = waker();
    let a = Service::open(settings(&redis, "pk"), na).unwrap();
    let b = Service::open(settings(&redis, "pk"), nb).unwrap();
    let (ca, cb) = (a.client(), b.client());
    // Interleaved appends from both "servers".
    for i in 0..200u64 {
        let (c, who) = if i % 2 == 0 { (&ca, "a") } else { (&cb, "b") };
        c.append(i, "text/plain".into(), format!("{who}{i}").into_bytes());
    }
    let got_a = ids(&collect(&ca, &pa, 100));
    let got_b = ids(&collect(&cb, &pb, 100));
    assert_eq!((got_a.len(), got_b.len()), (100, 100));
    assert!(got_a.windows(2).all(|w| w[0] < w[1]), "{got_a:?}");
    assert!(got_b.windows(2).all(|w| w[0] < w[1]), "{got_b:?}");
    let mut all: Vec<u64> = got_a.iter().chain(&got_b).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=200).collect::<Vec<_>>(),
        "shared, gapless, unique"
    );
    // Each side sees every packet, its own and the other's, in id order.
    for (svc, c, pair) in [(&a, &ca, &pa), (&b, &cb, &pb)] {
        until_committed(svc, 200);
        let live = svc.tail(1, 1000, usize::MAX).unwrap();
        assert_eq!(
            live.iter().map(|p| p.id).collect::<Vec<_>>(),
            (1..=200).collect::<Vec<_>>()
        );
        let chunk = fetch(c, pair, 1);
        assert_eq!(chunk.gap, None);
        assert_eq!(chunk.packets.len(), 200);
        for p in &chunk.packets {
            let who = if got_a.contains(&p.id) { "a" } else { "b" };
            let body = String::from_utf8(p.data.clone()).unwrap();
            assert!(body.starts_with(who), "{} holds {body}", p.id);
            assert_eq!(p.content_type, "text/plain");
        }
    }
    // A service opened later (a restart) continues the sequence.
    drop((ca, cb, a, b));
    let (nc, pc) = waker();
    let c = Service::open(settings(&redis, "pk"), nc).unwrap();
    assert_eq!(c.recovery().next_id, 201);
    assert_eq!(c.recovery().records, 200);
    let cc = c.client();
    cc.append(0, String::new(), Vec::new());
    assert_eq!(ids(&collect(&cc, &pc, 1)), [201]);
}

#[test]
fn binary_and_empty_bodies_come_back_byte_exact() {
    let Some(redis) = Redis::start() else { return };
    let (n, p) = waker();
    let svc = Service::open(settings(&redis, "bin"), n).unwrap();
    let c = svc.client();
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        (0..=255u8).collect(),
        vec![0; 1 << 20],
        "é\r\n\0".as_bytes().to_vec(),
    ];
    for (i, b) in bodies.iter().enumerate() {
        c.append(i as u64, "application/octet-stream".into(), b.clone());
    }
    assert_eq!(ids(&collect(&c, &p, 4)), [1, 2, 3, 4]);
    until_committed(&svc, 4);
    let chunk = fetch(&c, &p, 1);
    let got: Vec<Vec<u8>> = chunk.packets.into_iter().map(|p| p.data).collect();
    assert_eq!(got, bodies);
}

#[test]
fn retention_trims_the_stream_and_readers_get_a_gap() {
    let Some(redis) = Redis::start() else { return };
    let (n, p) = waker();
    let mut s = settings(&redis, "old");
    s.fsync = Fsync::Never;
    let svc = Service::open(s.clone(), n).unwrap();
    let c = svc.client();
    for i in 0..50u64 {
        c.append(i, String::new(), vec![b'x'; 100]);
    }
    assert_eq!(collect(&c, &p, 50).len(), 50);
    std::thread::sleep(Duration::from_millis(3100));
    for i in 50..60u64 {
        c.append(i, String::new(), vec![b'y'; 100]);
    }
    assert_eq!(collect(&c, &p, 10).len(), 10);
    // Packets older than 3 s go; the ten new ones stay (retention runs
    // about once a second, well before they are 3 s old).
    s.retain_secs = Some(3);
    svc.update(&s);
    let deadline = Instant::now() + Duration::from_secs(20);
    while svc.first_id() != 51 {
        assert!(Instant::now() < deadline, "first id {}", svc.first_id());
        std::thread::sleep(Duration::from_millis(50));
    }
    let chunk = fetch(&c, &p, 1);
    assert_eq!(chunk.gap, Some((1, 50)));
    assert!(chunk.packets.is_empty());
    let chunk = fetch(&c, &p, 51);
    assert_eq!(chunk.packets.len(), 10);
    assert_eq!(chunk.packets[0].data, vec![b'y'; 100]);
}

#[test]
fn a_foreign_stream_or_an_unreachable_redis_is_refused_with_the_reason() {
    let Some(redis) = Redis::start() else { return };
    let mut con = std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    use std::io::{Read, Write};
    con.write_all(b"XADD foreign * k v\r\n").unwrap();
    let mut buf = [0u8; 64];
    let _ = con.read(&mut buf).unwrap();
    let (n, _) = waker();
    let e = Service::open(settings(&redis, "foreign"), n.clone()).unwrap_err();
    assert!(e.to_string().contains("not written by lwsws"), "{e}");
    let port = free_port();
    let mut s = settings(&redis, "pk");
    s.backend = Backend::Redis(format!("redis://127.0.0.1:{port}/"));
    let e = Service::open(s, n).unwrap_err();
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[test]
fn a_redis_restart_fails_appends_meanwhile_and_loses_nothing_acknowledged() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let (na, pa) = waker();
    let (nb, pb) = waker();
    let a = Service::open(settings(&redis, "crash"), na).unwrap();
    let b = Service::open(settings(&redis, "crash"), nb).unwrap();
    let (ca, cb) = (a.client(), b.client());
    for i in 0..20u64 {
        ca.append(i, String::new(), format!("before {i}").into_bytes());
    }
    assert_eq!(ids(&collect(&ca, &pa, 20)), (1..=20).collect::<Vec<_>>());
    until_committed(&b, 20);
    // Redis goes away: appends are answered as not recorded, never as ids.
    redis.kill();
    ca.append(99, String::new(), b"while down".to_vec());
    match collect(&ca, &pa, 1).pop() {
        Some(Event::Recorded {
            token: 99,
            result: Err(why),
            ..
        }) => assert!(why.contains("redis"), "{why}"),
        other => panic!("{other:?}"),
    }
    // It comes back (appendfsync always: everything acknowledged is there);
    // both services carry on without being reopened, ids continue, and the
    // other service's follower delivers the new packets.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let next = loop {
        ca.append(100, String::new(), b"after".to_vec());
        match collect(&ca, &pa, 1).pop() {
            Some(Event::Recorded { result: Ok(id), .. }) => break id,
            _ => assert!(Instant::now() < deadline, "appends never worked again"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(next > 20, "id {next} reused");
    until_committed(&b, next);
    let chunk = fetch(&cb, &pb, 1);
    let got: Vec<(u64, Vec<u8>)> = chunk.packets.into_iter().map(|p| (p.id, p.data)).collect();
    assert_eq!(got.len(), next as usize, "{got:?}");
    for (id, data) in &got[..20] {
        assert_eq!(data, format!("before {}", id - 1).as_bytes());
    }
    assert_eq!(got.last().unwrap(), &(next, b"after".to_vec()));
}

#[test]
fn a_key_is_deduplicated_across_servers_sharing_a_stream_and_across_restarts() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let (na, pa) = waker();
    let (nb, pb) = waker();
    let a = Service::open(settings(&redis, "idem"), na.clone()).unwrap();
    let b = Service::open(settings(&redis, "idem"), nb).unwrap();
    let (ca, cb) = (a.client(), b.client());
    let key = |k: &str| Some(k.as_bytes().to_vec());
    ca.append_keyed(1, "t".into(), b"first".to_vec(), key("k1"));
    let first = match collect(&ca, &pa, 1).pop() {
        Some(Event::Recorded {
            result: Ok(id),
            replayed: false,
            ..
        }) => id,
        other => panic!("{other:?}"),
    };
    // The retry lands on the other server: the same id, nothing stored.
    cb.append_keyed(2, "t".into(), b"retry".to_vec(), key("k1"));
    cb.append_keyed(3, "t".into(), b"other".to_vec(), key("k2"));
    let got: Vec<_> = collect(&cb, &pb, 2)
        .into_iter()
        .map(|e| match e {
            Event::Recorded {
                result: Ok(id),
                replayed,
                ..
            } => (id, replayed),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, [(first, true), (first + 1, false)]);
    until_committed(&a, first + 1);
    let chunk = fetch(&ca, &pa, 1);
    assert_eq!(
        chunk
            .packets
            .iter()
            .map(|p| p.data.clone())
            .collect::<Vec<_>>(),
        [b"first".to_vec(), b"other".to_vec()]
    );
    // Redis restarts (appendfsync always): the keys are still there.
    drop((ca, cb, a, b));
    redis.restart();
    let c = Service::open(settings(&redis, "idem"), na).unwrap();
    let cc = c.client();
    cc.append_keyed(4, "t".into(), b"late retry".to_vec(), key("k2"));
    match collect(&cc, &pa, 1).pop() {
        Some(Event::Recorded {
            result: Ok(id),
            replayed: true,
            ..
        }) => assert_eq!(id, first + 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_packets_source_travels_with_it_through_the_stream() {
    let Some(redis) = Redis::start() else { return };
    let (na, pa) = waker();
    let (nb, pb) = waker();
    let a = Service::open(settings(&redis, "src"), na).unwrap();
    let b = Service::open(settings(&redis, "src"), nb).unwrap();
    let ca = a.client();
    ca.append_from(
        1,
        "text/plain".into(),
        b"one".to_vec(),
        None,
        Some("ctrl-1".into()),
    );
    ca.append_from(
        2,
        "text/plain".into(),
        b"two".to_vec(),
        Some(b"vh\nk".to_vec()),
        Some("ctrl-2".into()),
    );
    ca.append(3, "text/plain".into(), b"three".to_vec());
    assert_eq!(ids(&collect(&ca, &pa, 3)), [1, 2, 3]);
    until_committed(&b, 3);
    // The other server reads the labels from the stream's entries.
    let got = fetch(&b.client(), &pb, 1);
    let sources: Vec<_> = got.packets.iter().map(|p| p.source.clone()).collect();
    assert_eq!(
        sources,
        [Some("ctrl-1".into()), Some("ctrl-2".into()), None]
    );
    assert!(got.packets[0].envelope().contains("\"source\":\"ctrl-1\""));
    // Counted by the server that recorded them.
    assert_eq!(
        a.snapshot().sources,
        [("ctrl-1".to_string(), 1), ("ctrl-2".to_string(), 1)]
    );
}
