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
            match crate::support::ws::read_message(ws) {
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

/// KiB resident in the read-only mappings of `pid` of a file whose path
/// contains `name` that hold only the file's bytes (no anonymous page):
/// what the server lets go of once started or reloaded.
fn resident_file_kib(pid: u32, name: &str) -> Option<u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let (mut total, mut found) = (0, false);
    let (mut ours, mut rss) = (false, 0);
    for line in smaps.lines().chain(std::iter::once("0-0 ---p 0 0:0 0")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first().is_some_and(|a| a.contains('-')) && f.len() >= 5 {
            ours = f.last().is_some_and(|p| p.contains(name)) && !f[1].contains('w');
            found |= ours;
            rss = 0;
        } else if ours && f.first() == Some(&"Rss:") {
            rss = f[1].parse().unwrap_or(0);
        } else if ours && f.first() == Some(&"Anonymous:") && f[1] == "0" {
            total += rss;
        }
    }
    found.then_some(total)
}

fn wait_released(pid: u32, name: &str, log: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let kib = resident_file_kib(pid, name);
        if kib == Some(0) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name}: {kib:?} KiB of its code and read-only data still resident\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn start_up_code_leaves_resident_memory_once_ready_and_after_a_reload() {
    // Once ready, the code only starting ran (here: the plugin's init) is
    // let go of; it comes back from the page cache when it runs again.
    let s = site();
    let srv = s.start();
    let plugin = "libprotocol_dumb_increment";
    wait_released(srv.pid(), plugin, || srv.log_text());
    let mut ws = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    next_text(&mut ws);
    assert!(resident_file_kib(srv.pid(), plugin).unwrap() > 0);
    let _ = ws.close(None);
    drop(ws);
    std::thread::sleep(Duration::from_millis(300));
    srv.reload();
    wait_released(srv.pid(), plugin, || srv.log_text());
    let mut ws = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    assert!(next_text(&mut ws).parse::<u64>().is_ok());
}

/// KiB of the `service-0` thread's stack resident more than `margin`
/// bytes below where it waits (its stack pointer while it is blocked in a
/// system call, from `/proc/PID/task/TID/syscall`), or None while it runs.
fn service_stack_kib_below_wait(pid: u32, margin: usize) -> Option<usize> {
    use std::os::unix::fs::FileExt;
    let task = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "service-0")
        })
        .expect("a service-0 thread");
    let syscall = std::fs::read_to_string(task.path().join("syscall")).unwrap();
    let f: Vec<&str> = syscall.split_whitespace().collect();
    if f.len() < 3 || f[0] == "running" {
        return None;
    }
    let sp = usize::from_str_radix(f[f.len() - 2].trim_start_matches("0x"), 16).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let (start, _) = maps
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        })
        .find(|&(a, b)| (a..b).contains(&sp))
        .expect("a mapping holding the thread's stack pointer");
    let end = sp.saturating_sub(margin).max(start);
    let pages = (end - start) / 4096;
    let mut entries = vec![0u8; pages * 8];
    let pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap")).unwrap();
    pagemap
        .read_exact_at(&mut entries, (start / 4096 * 8) as u64)
        .unwrap();
    let present = entries
        .chunks_exact(8)
        .filter(|e| u64::from_le_bytes((*e).try_into().unwrap()) >> 63 == 1)
        .count();
    Some(present * 4)
}

#[test]
fn a_service_thread_lets_go_of_the_stack_its_deeper_calls_touched() {
    // What the first connections ran before the release (a second after
    // ready) went deeper than the thread's idle loop; once released, none
    // of that stack is resident any more, until a call goes that deep again.
    let s = site();
    let srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["dumb-increment-protocol"]);
    next_text(&mut ws);
    let _ = ws.close(None);
    drop(ws);
    let (status, _, _) = crate::support::get(&srv.url("/"));
    assert_eq!(status, 200);
    let mut last = None;
    let released = crate::support::eventually(10, || {
        last = service_stack_kib_below_wait(srv.pid(), 64 * 1024);
        last == Some(0)
    });
    assert!(
        released,
        "{last:?} KiB of service-0's stack still resident more than 64 KiB below where it waits\n{}",
        srv.log_text()
    );
}
