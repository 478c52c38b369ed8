//! lws-mirror-protocol under a closed loop that keeps its ring full: every
//! client keeps several of its own messages on their way and sends a new
//! one whenever one of its own comes back. With more messages wanting in
//! than the ring holds, flow control pauses and resumes reading over and
//! over; a mirror that always resumes the same members first serves those
//! forever and starves the rest. Every client here goes on sending until
//! all of them have had their count back, so a starved client never
//! reaches it (the generous deadline fails the test only then; nothing
//! here is timed).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::Message;

use crate::support::plugins::install_builtins;
use crate::support::ws::{connect, Client};
use crate::support::Site;

const MIRROR: &str = "lws-mirror-protocol";
/// Clients of the one instance.
const CLIENTS: usize = 50;
/// Own messages each keeps on their way (50 x 8 against a 31-message ring).
const IN_FLIGHT: usize = 8;
/// Own messages each must get back.
const WANT: usize = 40;
/// Only a starved client takes anywhere near this long.
const DEADLINE: Duration = Duration::from_secs(90);

fn site() -> Site {
    // The life test reloads by SIGHUP itself: a reload the watcher starts
    // on its own after the plugin swap could come between two clients'
    // connects and put them on different configurations (whose mirrors
    // do not share messages, as with lwsws).
    let s = Site::with_plugins(r#""watch": "off""#, |plugins| {
        install_builtins(plugins, &["lws_mirror"])
    });
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{{"{MIRROR}": {{"status": "ok"}}}}]}}]}}"#
        ),
    );
    s
}

/// One client of the closed loop: sends `IN_FLIGHT` messages, then one
/// more for each own message that comes back, until `stop`; counts its own
/// messages back in `back`.
fn client(mut ws: Client, id: usize, back: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let prefix = format!("c{id} ");
    let mut seq = 0usize;
    for _ in 0..IN_FLIGHT {
        ws.send(Message::text(format!("{prefix}{seq}"))).unwrap();
        seq += 1;
    }
    while !stop.load(Ordering::Relaxed) {
        match crate::support::ws::read_message(&mut ws) {
            Ok(Message::Text(t)) if t.as_str().starts_with(&prefix) => {
                back.fetch_add(1, Ordering::Relaxed);
                if ws.send(Message::text(format!("{prefix}{seq}"))).is_err() {
                    return;
                }
                seq += 1;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
    let _ = ws.close(None);
}

fn join_all(addr: SocketAddr) -> Vec<Client> {
    (0..CLIENTS)
        .map(|_| connect(addr, "/", &[MIRROR]))
        .collect()
}

#[test]
fn mirror_serves_every_client_of_a_closed_loop_that_keeps_its_ring_full() {
    let srv = site().start();
    let conns = join_all(srv.addr(7681));
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Vec<Arc<AtomicUsize>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let threads: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(id, ws)| {
            let (back, stop) = (counts[id].clone(), stop.clone());
            std::thread::spawn(move || client(ws, id, back, stop))
        })
        .collect();

    let start = Instant::now();
    let all_served = || counts.iter().all(|c| c.load(Ordering::Relaxed) >= WANT);
    while !all_served() && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let starved: Vec<usize> = (0..CLIENTS).filter(|&i| seen[i] < WANT).collect();
    assert!(
        starved.is_empty(),
        "clients {starved:?} got fewer than {WANT} of their own messages back \
         while the others kept sending; own messages back per client: {seen:?}"
    );
}

/// Each of `group` gets `text` that `from` (one of them) sends: the
/// members of one mirror instance.
fn mirrors(from: usize, group: &mut [Client], text: &str) {
    group[from].send(Message::text(text)).unwrap();
    for ws in group.iter_mut() {
        assert_eq!(crate::support::ws::next_text(ws), text);
    }
}

/// Replaces the mirror plugin's file with a copy of itself (a new inode:
/// the next reload loads it as a new version).
fn replace_mirror(plugins: &std::path::Path) {
    let target = std::fs::read_dir(plugins)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("lws_mirror"))
        .unwrap();
    let tmp = plugins.join(".mirror.new");
    std::fs::copy(&target, &tmp).unwrap();
    std::fs::rename(&tmp, &target).unwrap();
}

/// The mirror through a server's life: clients joined before a SIGHUP go
/// on mirroring each other after it, clients joining after it mirror each
/// other; the same across a plugin swap; and after `kill -9` a restarted
/// server mirrors again (its ring is memory only: nothing is promised to
/// survive the kill).
#[test]
fn mirror_keeps_mirroring_across_sighup_a_plugin_swap_and_kill_9() {
    let s = site();
    let mut srv = s.start();
    let addr = srv.addr(7681);
    let mut first: Vec<Client> = (0..3).map(|_| connect(addr, "/", &[MIRROR])).collect();
    mirrors(0, &mut first, "before the reload");

    srv.reload();
    mirrors(1, &mut first, "old clients after the reload");
    let mut second: Vec<Client> = (0..2).map(|_| connect(addr, "/", &[MIRROR])).collect();
    mirrors(0, &mut second, "new clients after the reload");

    replace_mirror(&s.path("plugins"));
    srv.reload();
    let mut third: Vec<Client> = (0..2).map(|_| connect(addr, "/", &[MIRROR])).collect();
    mirrors(1, &mut third, "new clients after the swap");

    srv.signal_and_wait("KILL", 10);
    drop((first, second, third));
    let srv = s.start();
    let addr = srv.addr(7681);
    let mut fourth: Vec<Client> = (0..2).map(|_| connect(addr, "/", &[MIRROR])).collect();
    mirrors(0, &mut fourth, "after kill -9 and a restart");
}
