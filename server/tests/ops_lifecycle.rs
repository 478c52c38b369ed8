//! Start-up and stop: sd_notify readiness, graceful SIGTERM (WebSockets
//! closed with 1001, in-flight HTTP finished, exit 0).

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::support::ws::{connect, next_text};
use crate::support::{Server, Site};

fn site() -> Site {
    Site::dumb_increment("", "hi")
}

#[test]
fn sd_notify_ready_reloading_and_stopping() {
    let s = site();
    let sock_path = s.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut srv = Server::start_env(
        s.dir.path(),
        &[],
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    srv.reload();
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("RELOADING=1"));
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("READY=1"));
    assert_eq!(srv.signal_and_wait("TERM", 15), Some(0));
    let n = sock.recv(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
}

#[test]
fn sigterm_closes_websockets_with_1001_and_exits_0() {
    let s = site();
    let mut srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    next_text(&mut ws);
    let mut ws2 = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    next_text(&mut ws2);
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(srv.pid().to_string())
        .status();
    for ws in [&mut ws, &mut ws2] {
        let code = loop {
            match ws.read() {
                Ok(tungstenite::Message::Close(Some(f))) => break u16::from(f.code),
                Ok(_) => continue,
                Err(e) => panic!("no close frame before the end: {e}"),
            }
        };
        assert_eq!(code, 1001);
    }
    assert_eq!(srv.signal_and_wait("TERM", 15), Some(0));
    // The stderr reader thread may still be catching up with the exit.
    assert!(crate::support::eventually(5, || srv
        .log_text()
        .contains("stopping")));
}

#[test]
fn stopped_server_accepts_nothing_new() {
    let s = site();
    let mut srv = s.start();
    let addr = srv.addr(7681);
    assert_eq!(srv.signal_and_wait("INT", 15), Some(0));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "listener closed"
    );
}

#[test]
fn log_lines_carry_a_timestamp_unless_journald_adds_one() {
    let s = site();
    let plain = Server::start(s.dir.path(), &[]);
    let first = plain.log.lock().unwrap()[0].clone();
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            .unwrap()
            .is_match(&first),
        "{first}"
    );
    drop(plain);
    let journald = Server::start_env(s.dir.path(), &[], &[("JOURNAL_STREAM", "8:12345")]);
    let first = journald.log.lock().unwrap()[0].clone();
    assert!(
        regex::Regex::new(r"^\s*(INFO|WARN|ERROR|DEBUG) ")
            .unwrap()
            .is_match(&first),
        "{first}"
    );
}

/// The sizes of the process's anonymous read-write mappings of 64 MiB or
/// more, in MiB: mimalloc's arenas.
fn arena_mib(pid: u32) -> Vec<u64> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // address, perms, offset, dev, inode and no path: anonymous
            if f.len() != 5 || f[1] != "rw-p" {
                return None;
            }
            let (a, b) = f[0].split_once('-')?;
            let len = u64::from_str_radix(b, 16).ok()? - u64::from_str_radix(a, 16).ok()?;
            (len >= 64 << 20).then_some(len >> 20)
        })
        .collect()
}

#[test]
fn the_heap_reserves_address_space_in_small_steps() {
    // mimalloc's first arena: 64 MiB where its default is 1 GiB (whose
    // bitmaps cost an idle server ~150 KiB of RSS); the environment's
    // MIMALLOC_ARENA_RESERVE still decides, as for any mimalloc program.
    let s = site();
    let srv = s.start();
    assert_eq!(arena_mib(srv.pid()), vec![64], "{}", srv.log_text());
    let srv = Server::start_env(s.dir.path(), &[], &[("MIMALLOC_ARENA_RESERVE", "256MiB")]);
    assert_eq!(arena_mib(srv.pid()), vec![256], "{}", srv.log_text());
}
