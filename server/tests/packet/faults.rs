//! Faults never lose a packet or falsely acknowledge one (issue 12,
//! section 3): a full disk (a real tmpfs, as root), a failing fsync
//! (injected), power loss at every byte past the last fsync, and a flipped
//! bit in a sealed segment. (The Redis backend's faults are in `redis.rs`.)

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{data_end, data_of, id_of, packets, site, subscribe, ws_read, Http, MOUNT};
use crate::support::plugins::install_builtins;
use crate::support::ws::connect;
use crate::support::{Raw, Site};
use tungstenite::Message;

/// Whether this test can use what needs root (mounting). Without root it
/// prints `SKIPPED` and says no, except under `CI=true`: CI runs the tests
/// as root, so there a missing privilege is a failure.
fn root_or_skip(test: &str, why: &str) -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why} needs root, and CI runs the tests as root"
    );
    eprintln!("SKIPPED {test}: {why} needs root");
    false
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

fn stats(http: &mut Http) -> Value {
    let r = http.get(&format!("{MOUNT}/stats"));
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

/// Checks a refusal: 503, a JSON error, and a `Retry-After` in seconds.
fn refused(r: &Raw) -> (String, u64) {
    assert_eq!(
        r.status,
        503,
        "{} {}",
        r.head,
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let retry: u64 = r
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=30).contains(&retry), "Retry-After: {retry}");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    (v["error"].as_str().expect("an error").to_string(), retry)
}

/// POSTs `body` until it is acknowledged, waiting as `Retry-After` says
/// (`secs` at most); panics on any answer but 200 and 503.
fn post_until_taken(http: &mut Http, body: &[u8], secs: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let r = http.post("application/octet-stream", body);
        if r.status == 200 {
            return id_of(&r);
        }
        let (_, retry) = refused(&r);
        assert!(Instant::now() < deadline, "ingest never resumed");
        std::thread::sleep(Duration::from_secs(retry));
    }
}

fn metric_line(http: &mut Http, line: &str) -> bool {
    crate::support::eventually(10, || {
        let r = http.get("/metrics");
        String::from_utf8_lossy(&r.body).lines().any(|l| l == line)
    })
}

/// A site serving `www/` at `/`, the packet mount, the metrics endpoint,
/// `lws-server-status`, and the ingest protocol with the options `pvo`
/// gives for the site (`journal-dir` among them).
fn site_with_files(pvo: impl FnOnce(&Site) -> String) -> Site {
    let s = Site::with_plugins(r#""metrics-path": "/metrics""#, |p| {
        install_builtins(p, &["lws_packet", "lws_server_status"])
    });
    let pvo = pvo(&s);
    s.conf_d(
        "packets",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/", "origin": "file://{}"}},
                       {{"mountpoint": "{MOUNT}", "origin": "callback://protocol-lws-packet"}}],
            "ws-protocols": [
              {{"protocol-lws-packet": {{"status": "ok", {pvo}}}}},
              {{"packet-subscribe": {{"status": "ok"}}}},
              {{"lws-server-status": {{"status": "ok", "update-ms": "200"}}}}]}}]}}"#,
            s.path("www").display()
        ),
    );
    s.file("index.html", "still serving");
    s
}

/// Fills the filesystem holding `path` with a file of zeros there.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 1 << 20];
    loop {
        if let Err(e) = f.write_all(&chunk) {
            assert_eq!(e.raw_os_error(), Some(nix::libc::ENOSPC), "{e}");
            break;
        }
    }
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_refuses_with_503_and_retry_after_and_ingest_resumes_by_itself() {
    const TEST: &str = "a_full_disk_refuses_with_503_and_retry_after_and_ingest_resumes_by_itself";
    if !root_or_skip(TEST, "mounting a small tmpfs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Room for three of the default 64 MiB segments and a little more: the
    // journal takes two at start (the active one and its prepared
    // successor), the rest of the disk is filled by someone else, and when
    // that is deleted there is room for the third.
    let fs = match Tmpfs::mount(&tmp.path().join("fs"), "224m") {
        Ok(fs) => fs,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{TEST}: mount tmpfs: {why}"
            );
            eprintln!("SKIPPED {TEST}: cannot mount a tmpfs here: {why}");
            return;
        }
    };
    let journal = fs.0.join("journal");
    let s = site_with_files(|_| format!(r#""journal-dir": "{}""#, journal.display()));
    let srv = s.start();
    // The next segment is prepared ahead; let it finish, then fill the
    // rest of the disk.
    let spare = journal.join("spare.tmp");
    assert!(crate::support::eventually(20, || {
        std::fs::metadata(&spare).is_ok_and(|m| m.len() == 64 << 20)
    }));
    std::thread::sleep(Duration::from_millis(300));
    fill(&fs.0.join("filler"));

    let mut http = Http::new(srv.addr(7681));
    let mut live = subscribe(&srv, "");
    // 1 MB packets until the journal has no room: the active segment fills,
    // the prepared one is taken, and no further one can be made.
    let body = |i: usize| vec![(i % 251) as u8; 1_000_000];
    let mut acked: Vec<(u64, usize)> = Vec::new();
    let why = loop {
        assert!(acked.len() < 200, "the disk never filled");
        let r = http.post("application/octet-stream", &body(acked.len()));
        if r.status == 200 {
            acked.push((id_of(&r), acked.len()));
            continue;
        }
        break refused(&r).0;
    };
    assert!(why.contains("No space left"), "{why}");
    assert!(acked.len() >= 64, "{} acknowledged", acked.len());
    // Full: every POST is refused at once, never acknowledged; everything
    // else is served.
    for _ in 0..3 {
        refused(&http.post("text/plain", b"while full"));
    }
    let st = stats(&mut http);
    assert_eq!(st["journal_state"], "full", "{st}");
    assert!(
        st["journal_error"].as_str().unwrap().contains("No space"),
        "{st}"
    );
    let page = http.get("/index.html");
    assert_eq!(
        (page.status, page.body.as_slice()),
        (200, &b"still serving"[..])
    );
    assert!(metric_line(
        &mut http,
        "comlink_packet_journal_up{vhost=\"localhost\"} 0"
    ));
    assert!(
        srv.log_text().contains("refusing packets: journal full"),
        "{}",
        srv.log_text()
    );
    // Space comes back: ingest resumes by itself, ids continue.
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    let last = acked.last().unwrap().0;
    let next = post_until_taken(&mut http, &body(acked.len()), 30);
    assert_eq!(next, last + 1, "a refused packet used no id");
    acked.push((next, acked.len()));
    assert_eq!(stats(&mut http)["journal_state"], "ok");
    assert!(metric_line(
        &mut http,
        "comlink_packet_journal_up{vhost=\"localhost\"} 1"
    ));
    // Every acknowledged packet reached the live subscriber, once, intact.
    let got = ws_read(&mut live, acked.len());
    for (v, (id, i)) in got.iter().zip(&acked) {
        assert_eq!(v["id"].as_u64(), Some(*id));
        assert_eq!(data_of(v), body(*i), "packet {id}");
    }
    drop((live, http, srv));
}

#[test]
fn a_failed_fsync_stops_ingest_until_the_journal_reopens_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let fault = tmp.path().join("fault");
    let s = site_with_files(|s| {
        format!(
            r#""journal-dir": "{}", "test-fault-file": "{}", "segment-bytes": "4m""#,
            s.path("journal").display(),
            fault.display()
        )
    });
    let srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let mut live = subscribe(&srv, "");
    let mut acked: Vec<(u64, Vec<u8>)> = Vec::new();
    for i in 0..5 {
        let b = format!("before {i}").into_bytes();
        acked.push((id_of(&http.post("text/plain", &b)), b));
    }
    // The disk starts failing fsync: the packet being committed is not
    // acknowledged, and neither is anything after it.
    std::fs::write(&fault, "sync").unwrap();
    let (why, _) = refused(&http.post_with(
        &[("Content-Type", "text/plain"), ("Idempotency-Key", "k")],
        b"not durable",
    ));
    assert!(why.contains("sync failed"), "{why}");
    for _ in 0..3 {
        let (why, _) = refused(&http.post("text/plain", b"refused"));
        assert!(why.contains("sync failed"), "{why}");
    }
    let st = stats(&mut http);
    assert_eq!(
        (
            st["journal_state"].as_str(),
            st["journal_failures"].as_u64()
        ),
        (Some("stopped"), Some(1)),
        "{st}"
    );
    assert!(
        st["journal_error"]
            .as_str()
            .unwrap()
            .contains("injected fsync fault"),
        "{st}"
    );
    assert!(metric_line(
        &mut http,
        "comlink_packet_journal_up{vhost=\"localhost\"} 0"
    ));
    let metrics = String::from_utf8_lossy(&http.get("/metrics").body).to_string();
    assert!(
        metrics.contains("comlink_packet_journal_error{vhost=\"localhost\",state=\"stopped\",error=\"journal sync failed"),
        "{metrics}"
    );
    assert_eq!(http.get("/index.html").status, 200, "the rest is served");
    // lws-server-status shows the state and the reason among the figures.
    let mut status = connect(srv.addr(7681), "/", &["lws-server-status"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "no journal error in server-status"
        );
        let Ok(Message::Text(t)) = crate::support::ws::read_message(&mut status) else {
            continue;
        };
        let m: Value = serde_json::from_str(t.as_str()).unwrap();
        let shown = m["i"]["plugin_figures"].as_array().is_some_and(|fs| {
            fs.iter().any(|f| {
                f["name"] == "comlink_packet_journal_error"
                    && f["value"] == 1.0
                    && f["labels"].as_str().is_some_and(|l| {
                        l.contains("state=\"stopped\"") && l.contains("sync failed")
                    })
            })
        });
        if shown {
            break;
        }
    }
    drop(status);
    assert!(crate::support::eventually(10, || srv
        .log_text()
        .contains("stopped taking packets: journal sync failed")));
    // While the cause lasts, reopening fails (and says so).
    assert!(crate::support::eventually(10, || srv
        .log_text()
        .contains("reopening failed")));
    refused(&http.post("text/plain", b"still refused"));
    // The cause goes away: the journal reopens by itself.
    std::fs::remove_file(&fault).unwrap();
    assert!(
        crate::support::eventually(20, || stats(&mut http)["journal_state"] == "ok"),
        "{}",
        srv.log_text()
    );
    assert!(srv.log_text().contains("reopened"), "{}", srv.log_text());
    assert_eq!(stats(&mut http)["journal_reopens"], 1);
    // The packet whose fsync failed was never acknowledged, and is not
    // there: its key means a new packet, and its id is given again.
    let r = http.post_with(
        &[("Content-Type", "text/plain"), ("Idempotency-Key", "k")],
        b"durable now",
    );
    assert_eq!(r.header("idempotent-replayed"), None);
    acked.push((id_of(&r), b"durable now".to_vec()));
    assert_eq!(acked[5].0, acked[4].0 + 1);
    let b = b"after".to_vec();
    acked.push((post_until_taken(&mut http, &b, 10), b));
    assert!(metric_line(
        &mut http,
        "comlink_packet_journal_up{vhost=\"localhost\"} 1"
    ));
    let got = ws_read(&mut live, acked.len());
    for (v, (id, b)) in got.iter().zip(&acked) {
        assert_eq!((v["id"].as_u64(), data_of(v)), (Some(*id), b.clone()));
    }
    let all = packets(&mut http, "?since=0");
    assert_eq!(all.len(), acked.len(), "nothing else was stored");
}

/// The offsets of the records of a segment file.
fn record_offsets(seg: &Path) -> Vec<u64> {
    let bytes = std::fs::read(seg).unwrap();
    let mut offs = Vec::new();
    let mut off = 16usize;
    while off + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        offs.push(off as u64);
        off += 8 + len;
    }
    offs
}

fn segments(journal: &Path) -> Vec<PathBuf> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segs.sort();
    segs
}

fn flip_bit(path: &Path, at: u64) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x08], at).unwrap();
}

/// The first id of a segment, from its name.
fn first_id(seg: &Path) -> u64 {
    seg.file_stem().unwrap().to_str().unwrap().parse().unwrap()
}

/// Reads `n` messages from a subscriber as ids and gaps, checking bodies.
fn ids_and_gaps(
    ws: &mut crate::support::ws::Client,
    n: usize,
    body: impl Fn(u64) -> Vec<u8>,
) -> Vec<String> {
    ws_read(ws, n)
        .into_iter()
        .map(|v| match v.get("gap") {
            Some(g) => format!("gap {}-{}", g["from"], g["to"]),
            None => {
                let id = v["id"].as_u64().unwrap();
                assert_eq!(data_of(&v), body(id), "packet {id}");
                id.to_string()
            }
        })
        .collect()
}

#[test]
fn a_flipped_bit_in_a_sealed_segment_is_reported_as_a_gap_and_the_rest_delivered() {
    let s = site_with_files(|s| {
        format!(
            r#""journal-dir": "{}", "segment-bytes": "64k""#,
            s.path("journal").display()
        )
    });
    let journal = s.path("journal");
    let body = |id: u64| format!("{id:0>300}").into_bytes();
    let mut srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    for i in 1..=600 {
        assert_eq!(id_of(&http.post("text/plain", &body(i))), i);
    }
    drop(http);
    assert_eq!(srv.signal_and_wait("TERM", 20), Some(0));
    let segs = segments(&journal);
    assert!(segs.len() >= 3, "{segs:?}");
    // One bit of the 5th record of the second (sealed) segment.
    let lost = first_id(&segs[1]) + 4;
    flip_bit(&segs[1], record_offsets(&segs[1])[4] + 100);

    let srv = s.start();
    let log = srv.log_text();
    assert!(
        log.contains("bad record at offset") && log.contains(&format!("packet {lost} lost")),
        "{log}"
    );
    let mut http = Http::new(srv.addr(7681));
    let st = stats(&mut http);
    assert_eq!(
        (st["corruptions"].as_u64(), st["lost_packets"].as_u64()),
        (Some(1), Some(1)),
        "{st}"
    );
    assert!(metric_line(
        &mut http,
        "comlink_packet_corrupt_records_total{vhost=\"localhost\"} 1"
    ));
    let want = |gaps: &[u64]| -> Vec<String> {
        (1..=600u64)
            .map(|id| {
                if gaps.contains(&id) {
                    format!("gap {id}-{id}")
                } else {
                    id.to_string()
                }
            })
            .collect()
    };
    let mut ws = subscribe(&srv, "?since=0");
    assert_eq!(ids_and_gaps(&mut ws, 600, body), want(&[lost]));
    // The JSON endpoint reports it as well (a page of its own; the next
    // page starts after it).
    let page = packets(&mut http, &format!("?since={}", lost - 1));
    assert_eq!(
        page[0]["gap"],
        serde_json::json!({"from": lost, "to": lost})
    );
    let page = packets(&mut http, &format!("?since={lost}"));
    assert_eq!(page[0]["id"].as_u64(), Some(lost + 1));

    // A bit flips in the first segment while the server runs: the next
    // read from the journal finds it, reports it and goes on.
    let lost2 = first_id(&segs[0]) + 2;
    flip_bit(&segs[0], record_offsets(&segs[0])[2] + 50);
    let mut ws = subscribe(&srv, "?since=0");
    assert_eq!(ids_and_gaps(&mut ws, 600, body), want(&[lost2, lost]));
    assert!(crate::support::eventually(10, || srv
        .log_text()
        .contains(&format!("packet {lost2} lost"))));
    assert_eq!(stats(&mut http)["corruptions"], 2);
    // Ingest goes on after the last packet.
    assert_eq!(id_of(&http.post("text/plain", b"next")), 601);
}

#[test]
fn power_loss_at_every_byte_past_the_last_fsync_loses_no_acknowledged_packet() {
    let (s, journal) = site(r#""segment-bytes": "64k""#);
    let mut srv = s.start();
    let mut http = Http::new(srv.addr(7681));
    let mut acked = HashMap::new();
    for i in 0..5 {
        let body = format!("acknowledged {i}").into_bytes();
        let key = format!("k{i}");
        let r = http.post_with(&[("Idempotency-Key", &key)], &body);
        acked.insert(id_of(&r), body);
    }
    let newest = *acked.keys().max().unwrap();
    drop(http);
    let pid = nix::unistd::Pid::from_raw(srv.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(srv.wait_exit(10).is_some());
    drop(srv);
    // With fsync "always", everything up to here was synced before it was
    // acknowledged. What the power cut interrupted: two more records being
    // written (as the journal encodes them, keys scoped by the vhost).
    let (seg, end) = data_end(&journal);
    let mut inflight = Vec::new();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let in_flight_body = |id: u64| format!("in flight {id}").into_bytes();
    for id in newest + 1..=newest + 2 {
        packet_journal::record::encode_keyed(
            &mut inflight,
            id,
            now_ms,
            b"t",
            Some(format!("localhost\nk{}", id - 1).as_bytes()),
            &in_flight_body(id),
        );
    }
    let pristine = std::fs::read(&seg).unwrap();
    let mut rng = fastrand::Rng::with_seed(12);
    let mut runs = 0;
    for k in 0..=inflight.len() {
        // What the disk may hold after the cut: the first k bytes and then
        // the zeros the segment was prepared with; the file cut short
        // there; or (at some offsets) garbage from a torn sector.
        let mut variants = vec!["zeros", "truncated"];
        if k % 9 == 0 {
            variants.push("garbage");
        }
        for variant in variants {
            runs += 1;
            for old in segments(&journal) {
                std::fs::remove_file(old).unwrap();
            }
            let mut bytes = pristine.clone();
            let at = end as usize;
            bytes[at..at + k].copy_from_slice(&inflight[..k]);
            match variant {
                "truncated" => bytes.truncate(at + k),
                "garbage" => {
                    for b in &mut bytes[at + k..at + k + 40] {
                        *b = rng.u8(..);
                    }
                }
                _ => {}
            }
            std::fs::write(&seg, &bytes).unwrap();
            let what = format!("cut at +{k} ({variant})");
            let srv = s.start();
            let mut http = Http::new(srv.addr(7681));
            let got = packets(&mut http, "?since=0");
            let mut seen = Vec::new();
            for v in &got {
                assert!(v.get("gap").is_none(), "{what}: {v}");
                let id = v["id"].as_u64().unwrap();
                let want = acked
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| in_flight_body(id));
                assert_eq!(data_of(v), want, "{what}: packet {id} intact");
                seen.push(id);
            }
            // Every acknowledged id exactly once, in order; after them only
            // whole records that were in flight.
            let mut want: Vec<u64> = acked.keys().copied().collect();
            want.sort_unstable();
            assert_eq!(&seen[..want.len()], &want[..], "{what}");
            let extra = &seen[want.len()..];
            assert!(extra.len() <= 2, "{what}: {seen:?}");
            assert!(
                extra
                    .iter()
                    .enumerate()
                    .all(|(i, id)| *id == newest + 1 + i as u64),
                "{what}: {seen:?}"
            );
            let last = *seen.last().unwrap();
            // Ids continue after the last one delivered; a retry of a
            // packet that was in flight is answered with its id when it
            // survived, and stored when it did not.
            let r = http.post_with(&[("Idempotency-Key", "k5")], &in_flight_body(newest + 1));
            if extra.is_empty() {
                assert_eq!(
                    (id_of(&r), r.header("idempotent-replayed")),
                    (last + 1, None),
                    "{what}"
                );
            } else {
                assert_eq!(
                    (id_of(&r), r.header("idempotent-replayed").as_deref()),
                    (newest + 1, Some("true")),
                    "{what}"
                );
            }
            let next = id_of(&http.post("text/plain", b"next"));
            assert!(
                next > last && next <= last + 2,
                "{what}: {next} after {last}"
            );
            drop((http, srv));
        }
    }
    eprintln!("power loss: {runs} restarts, every one kept every acknowledged packet");
}
