//! Group commit through the real server (issue 17): clients that each
//! wait for their answer before posting again share each fsync, and an
//! answer still means the packet is on disk (`kill -9` right after the
//! answers loses none of them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{all_acked_delivered, id_of, poster, site, Acked, Http, MOUNT};

/// (packets_in, syncs) from the stats endpoint.
fn counts(http: &mut Http) -> (u64, u64) {
    let r = http.get(&format!("{MOUNT}/stats"));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    (
        v["packets_in"].as_u64().unwrap(),
        v["syncs"].as_u64().unwrap(),
    )
}

#[test]
fn posters_waiting_for_their_answers_share_each_fsync_and_kill_9_loses_none() {
    // Every fsync takes 20 ms longer, as on a slow disk, whatever disk the
    // test runs on.
    let tmp = tempfile::tempdir().unwrap();
    let fault = tmp.path().join("fault");
    std::fs::write(&fault, "slow-sync").unwrap();
    let (s, _) = site(&format!(r#""test-fault-file": "{}""#, fault.display()));
    let mut srv = s.start();
    let addr = srv.addr(7681);
    const CLIENTS: usize = 8;
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || poster(addr, c, acked, stop, Duration::from_secs(20)))
        })
        .collect();
    let acks = |n: usize| crate::support::eventually(60, || acked.lock().unwrap().len() >= n);
    let mut http = Http::new(addr);
    assert!(acks(100), "100 packets acknowledged");
    let (p0, s0) = counts(&mut http);
    assert!(acks(500), "500 packets acknowledged");
    let (p1, s1) = counts(&mut http);
    // Each sync waits for the clients the last one answered: about all 8
    // share it. Syncing at once with whatever is queued splits them into
    // two groups that take turns (about 4 per sync).
    let per_sync = (p1 - p0) as f64 / (s1 - s0).max(1) as f64;
    eprintln!(
        "{} packets in {} syncs ({per_sync:.1} per sync)",
        p1 - p0,
        s1 - s0
    );
    assert!(
        per_sync >= 6.0,
        "{} packets in {} syncs ({per_sync:.1} per sync, {CLIENTS} clients)",
        p1 - p0,
        s1 - s0
    );
    // SIGKILL while the clients are still posting, right after answers.
    let pid = nix::unistd::Pid::from_raw(srv.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(srv.wait_exit(10).is_some(), "the server died");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    drop((http, srv));

    std::fs::remove_file(&fault).unwrap();
    let srv = s.start();
    let newest = all_acked_delivered(&srv, &acked);
    let mut http = Http::new(srv.addr(7681));
    let next = id_of(&http.post("text/plain", b"after the crash"));
    assert!(next > newest, "ids continue: {next} after {newest}");
}
