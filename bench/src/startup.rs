//! `startup`: time from starting a server to its first `200` on a page.
//!
//! Each run starts the command after `--` (its own process group, output
//! to /dev/null), then asks `GET <path>` on `--url`'s port as fast as it
//! can (a refused connection is retried at once, an answer other than 200
//! after a short pause) until a 200 arrives, notes the time since the
//! process was started, stops the server (SIGTERM to its group, then
//! SIGKILL) and waits for it to go before the next run. Prints one
//! `result scenario=startup ...` line with the median, min and max.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The page that must answer 200 (http:// only).
    #[arg(long)]
    url: String,
    /// Starts to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds a start may take before the run fails.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// The server's command line.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn target(url: &str) -> Result<(SocketAddr, String, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("only http:// URLs are supported: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("bad address in {url}"))?
        .next()
        .with_context(|| format!("no address for {url}"))?;
    Ok((addr, authority.to_owned(), path.to_owned()))
}

/// One `GET`: the status code, or `None` if nothing (or no status) came.
fn get(addr: &SocketAddr, host: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < 12 {
        match s.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.get(9..12)?.parse().ok()
}

fn stop(child: &mut Child) {
    // The server runs in its own process group (see `one_run`): signal the
    // group, so a wrapper (taskset, prlimit, env) and the server both go.
    let pgid = child.id();
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{pgid}")])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
    let _ = child.wait();
}

fn one_run(a: &Args, addr: &SocketAddr, host: &str, path: &str) -> Result<f64> {
    if get(addr, host, path).is_some() {
        bail!("something already answers on {addr}: stop it first");
    }
    let start = Instant::now();
    let mut child = Command::new(&a.command[0])
        .args(&a.command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", a.command[0]))?;
    let limit = Duration::from_secs_f64(a.timeout);
    let result = loop {
        match get(addr, host, path) {
            Some(200) => break Ok(start.elapsed().as_secs_f64() * 1000.0),
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
            None => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(anyhow::anyhow!(
                "the server exited during start-up ({status})"
            ));
        }
        if start.elapsed() > limit {
            break Err(anyhow::anyhow!("no 200 within {} s", a.timeout));
        }
    };
    stop(&mut child);
    result
}

pub(crate) fn run(a: Args) -> Result<()> {
    let (addr, host, path) = target(&a.url)?;
    let mut ms = Vec::with_capacity(a.runs);
    for i in 0..a.runs.max(1) {
        let t = one_run(&a, &addr, &host, &path)?;
        eprintln!("startup: run {} first 200 after {t:.1} ms", i + 1);
        ms.push(t);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "result scenario=startup runs={} median_ms={:.1} min_ms={:.1} max_ms={:.1}",
        ms.len(),
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1]
    );
    Ok(())
}
