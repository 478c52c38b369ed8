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
    let s = Site::with_plugins("", |plugins| install_builtins(plugins, &["lws_mirror"]));
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
        match ws.read() {
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
