//! Helpers for tests of the journal and of the packet plugin (feature
//! `testing`): a wake-up that tests can wait on, event collection, and a
//! real `redis-server` on a free loopback port.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::service::{Client, Event, Notify};

/// What [`waker`] counts wake-ups with.
pub type Wakes = Arc<(Mutex<u64>, Condvar)>;

/// A notify that counts wake-ups and lets a test wait for them.
pub fn waker() -> (Notify, Wakes) {
    let pair: Wakes = Arc::new((Mutex::new(0u64), Condvar::new()));
    let p2 = pair.clone();
    let notify: Notify = Arc::new(move || {
        *p2.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        p2.1.notify_all();
    });
    (notify, pair)
}

/// Events from `c` until `n` arrived (20 s at most).
pub fn collect(c: &Client, wakes: &Wakes, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while out.len() < n && Instant::now() < deadline {
        out.extend(c.take_events());
        let g = wakes.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = wakes.1.wait_timeout(g, Duration::from_millis(20));
    }
    out.extend(c.take_events());
    out
}

/// The ids of `Recorded` events; panics on anything else.
pub fn ids(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .map(|e| match e {
            Event::Recorded { result: Ok(id), .. } => *id,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// A real `redis-server` (Debian's; `scripts/test-deps` installs it) with
/// `appendfsync always`, its data in a temp dir, stopped on drop.
pub struct Redis {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// A fresh server, or `None` (after printing why, so the calling test
    /// can pass as skipped) when this machine has no `redis-server`.
    pub fn start() -> Option<Redis> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            // scripts/test-deps installs it: under CI a missing one is a failure.
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("no redis-server here, and CI=true (scripts/test-deps installs it)");
            }
            eprintln!("SKIPPED: no redis-server here (scripts/test-deps installs it)");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = spawn(port, dir.path());
        let r = Redis {
            child,
            port,
            _dir: dir,
        };
        r.wait_ready();
        Some(r)
    }

    /// Waits until it answers PING with PONG: after a restart it accepts
    /// connections while it still loads its append-only file, and answers
    /// everything with `-LOADING` until then.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.pongs() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pongs(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 64];
        s.write_all(b"PING\r\n").is_ok()
            && s.read(&mut buf)
                .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
    }

    /// Kills the server (as a crash would), leaving its data.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and data (after [`Redis::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(self.port, self._dir.path());
        self.wait_ready();
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, dir: &std::path::Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "yes"])
        .args(["--appendfsync", "always"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

/// A loopback port nothing listens on (just now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
