//! The chaos test of issue 12: for a bounded, seeded while, controllers
//! POST keyed packets and now and then lose their answer and send again;
//! subscribers of every kind are killed at random and resume from the last
//! id they saw; the server is reloaded and its packet plugin replaced at
//! random. At the end every acknowledged packet reached every subscriber
//! exactly once and in order, no retried key made a second packet, and no
//! POST was answered other than 200 or 503.
//!
//! `CHAOS_SECS` (default 40) and `CHAOS_SEED` change the run; the seed is
//! printed, so a failure can be replayed.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::life::{replace_plugin, Workload};
use super::{Http, MOUNT};
use crate::support::read_response;

/// What the keyed producers did, beyond what the ledger holds.
#[derive(Default)]
struct Tally {
    posts: AtomicU64,
    lost: AtomicU64,
    replays: AtomicU64,
    unavailable: AtomicU64,
}

/// What a POST was answered.
struct Answer {
    status: u16,
    id: Option<u64>,
    replayed: bool,
    retry_after: u64,
}

/// One POST of `tag` with `Idempotency-Key: tag`; with `drop`, the
/// connection is closed before the answer is read (the answer is lost).
fn send(http: &mut Http, tag: &str, drop: bool) -> Result<Option<Answer>, String> {
    let req = format!(
        "POST {MOUNT} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nIdempotency-Key: {tag}\r\nContent-Length: {}\r\n\r\n{tag}",
        tag.len()
    );
    http.s
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    if drop {
        return Ok(None);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_response(&mut http.s, false)
    }))
    .map_err(|_| "connection ended without an answer".to_string())?;
    let id = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v["id"].as_u64());
    let replayed = r.header("idempotent-replayed").as_deref() == Some("true");
    let retry_after = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Some(Answer {
        status: r.status,
        id,
        replayed,
        retry_after,
    }))
}

/// A POST loop whose packets each carry a key (their tag); 15 % of the
/// time the answer is lost (the connection dropped, or the answer read and
/// the packet sent again) and the same key is retried until answered.
fn keyed_producer(w: &mut Workload, n: usize, seed: u64, tally: Arc<Tally>) {
    let (addr, stop, ledger) = (w.addr, w.stop.clone(), w.ledger.clone());
    w.producers.push(std::thread::spawn(move || {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut http = Http::new(addr);
        let mut seq = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let tag = format!("k{n}-{seq}");
            let mut got: Option<u64> = None;
            let mut again = 0;
            loop {
                tally.posts.fetch_add(1, Ordering::Relaxed);
                let lose = rng.u8(..100) < 15 && again < 3;
                let drop = lose && rng.bool();
                match send(&mut http, &tag, drop) {
                    Ok(None) => {
                        tally.lost.fetch_add(1, Ordering::Relaxed);
                        http = Http::new(addr);
                        again += 1;
                        continue;
                    }
                    Ok(Some(Answer {
                        status: 200,
                        id: Some(id),
                        replayed,
                        ..
                    })) => {
                        if let Some(first) = got {
                            if first != id || !replayed {
                                ledger.fail(format!(
                                    "{tag}: first {first}, retry {id} (replayed: {replayed})"
                                ));
                            }
                            tally.replays.fetch_add(1, Ordering::Relaxed);
                        }
                        got = Some(id);
                        if lose {
                            tally.lost.fetch_add(1, Ordering::Relaxed);
                            again += 1;
                            continue;
                        }
                        break;
                    }
                    Ok(Some(Answer {
                        status: 503,
                        retry_after,
                        ..
                    })) => {
                        tally.unavailable.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(retry_after.clamp(1, 2) * 100));
                    }
                    Ok(Some(Answer { status, .. })) => {
                        ledger.fail(format!("{tag}: answered {status}"));
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => {
                        ledger.fail(format!("{tag}: {e}"));
                        http = Http::new(addr);
                    }
                }
                if stop.load(Ordering::Relaxed) && got.is_none() {
                    // Never answered 200: never acknowledged, nothing owed.
                    return;
                }
            }
            if let Some(id) = got {
                ledger.acked.lock().unwrap().push((id, tag));
            }
            seq += 1;
        }
    }));
}

#[test]
fn chaos_keeps_every_acknowledged_packet_once_and_in_order() {
    let secs: u64 = std::env::var("CHAOS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00C0_FFEE);
    eprintln!("chaos: {secs} s, seed {seed} (CHAOS_SECS, CHAOS_SEED)");
    let (s, _) = super::site("");
    let srv = s.start();
    let mut w = Workload::new(srv.addr(7681));
    w.ws_subscriber("ws subscriber 1");
    w.ws_subscriber("ws subscriber 2");
    w.sse_subscriber("sse subscriber");
    w.poll_subscriber("long-poll subscriber");
    let tally = Arc::new(Tally::default());
    for n in 0..3 {
        keyed_producer(&mut w, n, seed.wrapping_add(n as u64 + 1), tally.clone());
    }
    w.ws_producer(1);

    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut reloads, mut swaps, mut kills) = (0u32, 0u32, 0u32);
    let mut last_swap = Instant::now();
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(rng.u64(150..700)));
        match rng.u8(..100) {
            0..45 => {
                srv.reload();
                reloads += 1;
            }
            45..55 if last_swap.elapsed() > Duration::from_secs(5) => {
                replace_plugin(&s.path("plugins"));
                srv.reload();
                swaps += 1;
                last_swap = Instant::now();
            }
            _ => {
                let k = rng.usize(..w.kills.len());
                w.kills[k].store(true, Ordering::Relaxed);
                kills += 1;
            }
        }
    }
    let restarts = *w.ledger.restarts.lock().unwrap();
    let n = w.finish();
    eprintln!(
        "chaos: {n} packets acknowledged; {} POSTs ({} answers lost and retried, {} replays, {} answered 503); {reloads} reloads, {swaps} plugin swaps, {kills} subscriber kills, {restarts} restarts asked by the server",
        tally.posts.load(Ordering::Relaxed),
        tally.lost.load(Ordering::Relaxed),
        tally.replays.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
    );
    assert!(n > 500, "only {n} packets acknowledged");
    assert!(
        tally.replays.load(Ordering::Relaxed) > 0,
        "no retry was replayed"
    );
    assert!(swaps > 0 && kills > 0 && reloads > 0);
}
