//! `soak`: legitimate traffic and slow attackers against one running
//! server for a bounded time (loopback only), for `scripts/soak`.
//!
//! ```text
//! soak --addr 127.0.0.1:PORT --server-pid PID --secs 60 \
//!      --ws 1000 --posters 16 --slowloris 200 --post-path /count
//! ```
//!
//! * `--ws` dumb-increment-protocol clients stay connected and count the
//!   numbers they receive.
//! * `--posters` keep-alive connections POST bodies of 16..2048 bytes in a
//!   loop (a new connection every 50 requests) and check each JSON answer
//!   (`"bytes":N`, from the http-count plugin or post-demo's echo).
//! * `--slowloris` attackers: half trickle a request head a few bytes a
//!   second, half a request body a byte a second; each one the server
//!   closes is replaced at once.
//! * The server's RSS (`/proc/PID/status`) is sampled every `--sample`
//!   seconds; a server that exits is a crash.
//!
//! Prints the samples and a summary, and a `result key=value ...` line.
//! Exits 1 if the server died.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Parser)]
#[command(
    name = "soak",
    about = "bounded soak of a running lwsws (loopback only)"
)]
struct Args {
    /// Server address (must be loopback).
    #[arg(long)]
    addr: SocketAddr,
    /// Server pid (RSS samples, crash detection).
    #[arg(long)]
    server_pid: u32,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// WebSocket clients (dumb-increment-protocol).
    #[arg(long, default_value_t = 1000)]
    ws: usize,
    /// Concurrent POST loops.
    #[arg(long, default_value_t = 16)]
    posters: usize,
    /// Slow attackers held open at any time.
    #[arg(long, default_value_t = 200)]
    slowloris: usize,
    /// Where POSTs go (answers `{"bytes":N,...}`).
    #[arg(long, default_value = "/count")]
    post_path: String,
    /// Seconds between RSS samples.
    #[arg(long, default_value_t = 5)]
    sample: u64,
}

#[derive(Default)]
struct Stats {
    ws_connected: AtomicU64,
    ws_failed: AtomicU64,
    ws_open: AtomicU64,
    ws_dropped: AtomicU64,
    ws_messages: AtomicU64,
    post_ok: AtomicU64,
    post_bad: AtomicU64,
    post_conns: AtomicU64,
    slow_opened: AtomicU64,
    slow_closed: AtomicU64,
    slow_closed_ms: AtomicU64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    // A zombie has exited.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

async fn ws_client(addr: SocketAddr, stats: Arc<Stats>, until: Instant) {
    let url = format!("ws://{addr}/");
    let req = match tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    ) {
        Ok(mut r) => {
            r.headers_mut().insert(
                "sec-websocket-protocol",
                "dumb-increment-protocol".parse().unwrap(),
            );
            r
        }
        Err(_) => return,
    };
    let Ok(Ok(tcp)) = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr)).await
    else {
        stats.ws_failed.fetch_add(1, Relaxed);
        return;
    };
    let ws = match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(req, tcp),
    )
    .await
    {
        Ok(Ok((ws, _))) => ws,
        _ => {
            stats.ws_failed.fetch_add(1, Relaxed);
            return;
        }
    };
    stats.ws_connected.fetch_add(1, Relaxed);
    stats.ws_open.fetch_add(1, Relaxed);
    let (_tx, mut rx) = ws.split();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.next()).await {
            Err(_) => break, // time is up, still connected
            Ok(Some(Ok(Message::Text(_)))) => {
                stats.ws_messages.fetch_add(1, Relaxed);
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => {
                stats.ws_dropped.fetch_add(1, Relaxed);
                stats.ws_open.fetch_sub(1, Relaxed);
                return;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    stats.ws_open.fetch_sub(1, Relaxed);
}

/// Reads one response with a Content-Length body off `s` (buffer `buf`
/// keeps what follows); returns (status, body).
async fn read_answer(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .context("status")?;
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .context("content-length")?;
            let start = end + 4;
            while buf.len() < start + len {
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    bail!("closed inside a body");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[start..start + len].to_vec();
            buf.drain(..start + len);
            return Ok((status, body));
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed before an answer");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn poster(
    addr: SocketAddr,
    path: String,
    seed: u64,
    stats: Arc<Stats>,
    lat: Arc<std::sync::Mutex<Vec<u32>>>,
    until: Instant,
) {
    let mut rng = seed | 1;
    let mut conn: Option<(TcpStream, Vec<u8>, u32)> = None;
    while Instant::now() < until {
        if conn.as_ref().is_none_or(|c| c.2 >= 50) {
            match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    stats.post_conns.fetch_add(1, Relaxed);
                    conn = Some((s, Vec::new(), 0));
                }
                _ => {
                    stats.post_bad.fetch_add(1, Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        let Some((s, buf, n)) = conn.as_mut() else {
            continue;
        };
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let size = 16 + (rng % 2033) as usize;
        let body = "k".repeat(size);
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {size}\r\n\r\n{body}"
        );
        let t0 = Instant::now();
        let res = tokio::time::timeout(Duration::from_secs(10), async {
            s.write_all(req.as_bytes()).await?;
            read_answer(s, buf).await
        })
        .await;
        *n += 1;
        match res {
            Ok(Ok((200, body)))
                if String::from_utf8_lossy(&body).contains(&format!("\"bytes\":{size}")) =>
            {
                stats.post_ok.fetch_add(1, Relaxed);
                let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                lat.lock().unwrap().push(us);
            }
            _ => {
                stats.post_bad.fetch_add(1, Relaxed);
                conn = None;
            }
        }
    }
}

/// One slot of attackers: opens a slow connection, keeps it trickling
/// until the server closes it, opens the next.
async fn slow_attacker(addr: SocketAddr, body: bool, stats: Arc<Stats>, until: Instant) {
    while Instant::now() < until {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        stats.slow_opened.fetch_add(1, Relaxed);
        let opened = Instant::now();
        let first: &[u8] = if body {
            b"POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n"
        } else {
            b"GET / HTTP/1.1\r\nHost: localhost\r\n"
        };
        if s.write_all(first).await.is_err() {
            continue;
        }
        let drip: &[u8] = if body { b"x" } else { b"X-Slow: y\r\n" };
        let mut closed = false;
        while Instant::now() < until {
            let mut b = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(700), s.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(_)) => {} // an answer (a 408): the close follows
                Err(_) => {
                    if s.write_all(drip).await.is_err() {
                        closed = true;
                        break;
                    }
                }
            }
        }
        if closed {
            stats.slow_closed.fetch_add(1, Relaxed);
            stats
                .slow_closed_ms
                .fetch_add(opened.elapsed().as_millis() as u64, Relaxed);
        }
    }
}

fn pct(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn main() -> Result<()> {
    let a = Args::parse();
    if !a.addr.ip().is_loopback() {
        bail!("soak only targets loopback addresses, not {}", a.addr);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(a))
}

async fn run(a: Args) -> Result<()> {
    let stats = Arc::new(Stats::default());
    let lat = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let until = start + Duration::from_secs(a.secs);
    let rss0 = rss_kib(a.server_pid).context("server pid has no /proc status")?;
    println!("rss t=0s kib={rss0}");
    let local = tokio::task::LocalSet::new();
    let mut tasks = Vec::new();
    local
        .run_until(async {
            // WebSockets first, in batches, so the listen queue keeps up.
            for i in 0..a.ws {
                tasks.push(tokio::task::spawn_local(ws_client(
                    a.addr,
                    stats.clone(),
                    until,
                )));
                if i % 100 == 99 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            for i in 0..a.slowloris {
                tasks.push(tokio::task::spawn_local(slow_attacker(
                    a.addr,
                    i % 2 == 1,
                    stats.clone(),
                    until,
                )));
            }
            for i in 0..a.posters {
                tasks.push(tokio::task::spawn_local(poster(
                    a.addr,
                    a.post_path.clone(),
                    0x9E37_79B9 + i as u64,
                    stats.clone(),
                    lat.clone(),
                    until,
                )));
            }
            let mut rss = vec![rss0];
            let mut crashed = false;
            let mut next = start + Duration::from_secs(a.sample);
            while Instant::now() < until {
                tokio::time::sleep_until(next.min(until).into()).await;
                next += Duration::from_secs(a.sample);
                if !alive(a.server_pid) {
                    crashed = true;
                    println!("server exited at t={}s", start.elapsed().as_secs());
                    break;
                }
                if let Some(k) = rss_kib(a.server_pid) {
                    rss.push(k);
                    println!(
                        "rss t={}s kib={k} ws_open={} post_ok={} post_bad={} slow_opened={} slow_closed={}",
                        start.elapsed().as_secs(),
                        stats.ws_open.load(Relaxed),
                        stats.post_ok.load(Relaxed),
                        stats.post_bad.load(Relaxed),
                        stats.slow_opened.load(Relaxed),
                        stats.slow_closed.load(Relaxed),
                    );
                }
            }
            let ws_open_at_end = stats.ws_open.load(Relaxed);
            for t in &tasks {
                t.abort();
            }
            let crashed = crashed || !alive(a.server_pid);
            let mut l = lat.lock().unwrap().clone();
            l.sort_unstable();
            let ok = stats.post_ok.load(Relaxed);
            let bad = stats.post_bad.load(Relaxed);
            let secs = start.elapsed().as_secs_f64();
            let msgs = stats.ws_messages.load(Relaxed);
            let connected = stats.ws_connected.load(Relaxed);
            let slow_closed = stats.slow_closed.load(Relaxed);
            let mean_close = if slow_closed > 0 {
                stats.slow_closed_ms.load(Relaxed) as f64 / slow_closed as f64 / 1000.0
            } else {
                f64::NAN
            };
            // RSS after the warm-up half vs the end: flat means no growth.
            let half = rss[rss.len() / 2];
            let last = *rss.last().unwrap_or(&rss0);
            let max = rss.iter().copied().max().unwrap_or(rss0);
            println!("== soak summary ({secs:.0} s, server pid {})", a.server_pid);
            println!("crashes: {}", if crashed { "SERVER EXITED" } else { "none" });
            println!(
                "rss KiB: start {rss0}, mid {half}, end {last}, max {max} (end - mid: {:+})",
                last as i64 - half as i64
            );
            println!(
                "websocket: {connected}/{} connected ({} failed), {ws_open_at_end} still open at the end, {} dropped, {msgs} messages ({:.1}/s per client)",
                a.ws,
                stats.ws_failed.load(Relaxed),
                stats.ws_dropped.load(Relaxed),
                msgs as f64 / secs / connected.max(1) as f64
            );
            println!(
                "post: {ok} ok, {bad} failed ({:.3}% success), {:.0} req/s, latency ms p50 {:.2} p99 {:.2} max {:.2}, {} connections",
                100.0 * ok as f64 / (ok + bad).max(1) as f64,
                ok as f64 / secs,
                pct(&l, 0.5),
                pct(&l, 0.99),
                pct(&l, 1.0),
                stats.post_conns.load(Relaxed)
            );
            println!(
                "slow attackers: {} opened, {slow_closed} closed by the server (mean {mean_close:.1} s after opening)",
                stats.slow_opened.load(Relaxed)
            );
            println!(
                "result secs={secs:.0} crashed={} rss_start_kib={rss0} rss_mid_kib={half} rss_end_kib={last} rss_max_kib={max} ws_connected={connected} ws_open_end={ws_open_at_end} ws_messages={msgs} post_ok={ok} post_failed={bad} post_p50_ms={:.2} post_p99_ms={:.2} slow_opened={} slow_closed={slow_closed}",
                u8::from(crashed),
                pct(&l, 0.5),
                pct(&l, 0.99),
                stats.slow_opened.load(Relaxed)
            );
            if crashed {
                std::process::exit(1);
            }
            Ok(())
        })
        .await
}
