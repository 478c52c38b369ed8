//! Load generator for `scripts/bench-packets`: WebSocket subscribers
//! (`packet-subscribe`) and HTTP POSTers against a running `lwsws` with the
//! packet plugin, printing one `key=value` line per run.
//!
//! ```text
//! packet-bench latency HOST:PORT MOUNT SUBSCRIBERS RATE SECONDS
//!     POSTs RATE packets/s (one keep-alive connection), each carrying its
//!     send time; every subscriber measures POST->delivery latency.
//! packet-bench fanout HOST:PORT MOUNT SUBSCRIBERS POSTERS SECONDS
//!     POSTERS connections POST as fast as they are answered; prints the
//!     deliveries/s the subscribers received.
//! packet-bench redis-fanout HOST:PORT SUBSCRIBERS PUBLISHERS SECONDS
//!     The same fan-out through a redis-server: SUBSCRIBERS connections
//!     SUBSCRIBEd to one channel, PUBLISHERS connections PUBLISHing
//!     128-byte messages to it as fast as they are answered; prints the
//!     messages/s the subscribers received (deliveries_per_s), as fanout.
//! packet-bench floor SOCKETS BYTES ROUNDS
//!     No server: the kernel's own cost of what a fan-out must do at least,
//!     one write() of BYTES to each of SOCKETS loopback TCP connections per
//!     packet (run it pinned where the server runs). No delivery to that
//!     many subscribers can finish sooner than SOCKETS x this on one core.
//! packet-bench ideal HOST:PORT
//!     A stand-in for the server that does the least a fan-out can (one
//!     write() of each packet to each subscriber, no journal), for
//!     `latency` to measure in the same run: what the client and the
//!     kernel's delivery to a reader cost, beside the floor (see ideal.rs).
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes of each POSTed body.
const BODY: usize = 128;

mod ideal;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// What the subscribers saw.
struct Seen {
    connected: AtomicU64,
    deliveries: AtomicU64,
    /// (subscriber, send time, latency) of each measured delivery.
    latencies: Mutex<Vec<(usize, u64, u64)>>,
}

/// The send time carried in an envelope's data (`"data":"t=NNN;..."`).
fn sent_at(text: &str) -> Option<u64> {
    let at = text.find("\"data\":\"t=")? + 10;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Connects a `packet-subscribe` client and completes the WebSocket
/// handshake by hand (three tries: a loaded server's accept queue may
/// overflow while a thousand connect at once). What follows is read as raw
/// frames: a general WebSocket client spent ~19 us of the load core per
/// message, enough to make the figures the client's.
async fn connect(addr: SocketAddr) -> Result<tokio::net::TcpStream, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut last = String::new();
    for _ in 0..3 {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(mut s) => {
                let _ = s.set_nodelay(true);
                let req = format!(
                    "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                     Sec-WebSocket-Protocol: packet-subscribe\r\n\r\n"
                );
                if let Err(e) = s.write_all(req.as_bytes()).await {
                    last = format!("handshake: {e}");
                    continue;
                }
                // The answer's head, byte by byte (nothing follows it until
                // the first packet).
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
                    match s.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                if head.starts_with(b"HTTP/1.1 101") && head.ends_with(b"\r\n\r\n") {
                    return Ok(s);
                }
                last = format!("handshake: {}", String::from_utf8_lossy(&head));
            }
            Err(e) => last = format!("connect: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}

/// Complete server frames at the front of `buf`: (opcode, payload range),
/// and the bytes they take. Server frames are unmasked.
fn frames(buf: &[u8]) -> (Vec<(u8, std::ops::Range<usize>)>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len() >= at + 2 {
        let op = buf[at] & 0x0f;
        let (len, hdr) = match buf[at + 1] & 0x7f {
            126 if buf.len() >= at + 4 => (
                usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]])),
                4,
            ),
            127 if buf.len() >= at + 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[at + 2..at + 10]);
                (
                    usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                    10,
                )
            }
            126 | 127 => break,
            n => (usize::from(n), 2),
        };
        let Some(end) = (at + hdr).checked_add(len).filter(|e| *e <= buf.len()) else {
            break;
        };
        out.push((op, at + hdr..end));
        at = end;
    }
    (out, at)
}

/// One subscriber: counts deliveries and, when `measure`, records each
/// envelope's POST->delivery latency, until its task is dropped.
async fn subscriber(
    addr: SocketAddr,
    k: usize,
    seen: Arc<Seen>,
    measure: bool,
    gate: Arc<tokio::sync::Semaphore>,
) {
    use tokio::io::AsyncReadExt;
    let s = {
        let _permit = gate.acquire().await;
        connect(addr).await
    };
    let mut s = match s {
        Ok(s) => s,
        Err(e) => {
            eprintln!("packet-bench: subscriber: {e}");
            return;
        }
    };
    seen.connected.fetch_add(1, Ordering::Relaxed);
    let mut buf = Vec::with_capacity(8192);
    loop {
        match s.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let now = now_us();
        let (got, used) = frames(&buf);
        for (op, range) in got {
            match op {
                1 | 2 => {
                    seen.deliveries.fetch_add(1, Ordering::Relaxed);
                    if measure {
                        let text = String::from_utf8_lossy(&buf[range]);
                        if let Some(t0) = sent_at(&text) {
                            seen.latencies
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((k, t0, now.saturating_sub(t0)));
                        }
                    }
                }
                8 => return,
                _ => {}
            }
        }
        buf.drain(..used);
    }
}

/// A keep-alive POSTer.
struct Poster {
    s: TcpStream,
    head: Vec<u8>,
    buf: Vec<u8>,
}

impl Poster {
    fn new(addr: SocketAddr, mount: &str) -> std::io::Result<Poster> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let head = format!(
            "POST {mount} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {BODY}\r\n\r\n"
        )
        .into_bytes();
        Ok(Poster {
            s,
            head,
            buf: Vec::new(),
        })
    }

    /// POSTs a body carrying the current time; true when answered 200.
    fn post(&mut self) -> bool {
        let mut req = self.head.clone();
        let mut body = format!("t={};", now_us()).into_bytes();
        body.resize(BODY, b'x');
        req.extend_from_slice(&body);
        if self.s.write_all(&req).is_err() {
            return false;
        }
        // The answer is small: read until its body (by content-length) is in.
        self.buf.clear();
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    return head.starts_with("http/1.1 200");
                }
            }
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn start_subscribers(
    addr: SocketAddr,
    n: usize,
    measure: bool,
) -> (Arc<Seen>, Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    spawn_subscribers(n, move |k, seen, gate| {
        subscriber(addr, k, seen, measure, gate)
    })
}

/// Starts `n` subscribers made by `make` and waits until they are
/// connected. All on one thread (one event loop, like a real client
/// process), so the figures are the server's and not a thousand client
/// threads' scheduling on the load core.
fn spawn_subscribers<F, Fut>(
    n: usize,
    make: F,
) -> (Arc<Seen>, Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>)
where
    F: Fn(usize, Arc<Seen>, Arc<tokio::sync::Semaphore>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let seen = Arc::new(Seen {
        connected: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (seen2, stop2) = (seen.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            let gate = Arc::new(tokio::sync::Semaphore::new(64));
            let mut set = tokio::task::JoinSet::new();
            for k in 0..n {
                set.spawn_local(make(k, seen2.clone(), gate.clone()));
            }
            while !stop2.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            set.shutdown().await;
        });
    });
    // Let every subscriber finish its handshake before packets flow.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (seen.connected.load(Ordering::Relaxed) as usize) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    (seen, stop, vec![thread])
}

/// Runs `n` threads, each with its own `make()` (one that cannot be made
/// does nothing), calling `step` until `until`; the count of steps that
/// returned true.
fn count_until<W, M, S>(n: usize, until: Instant, make: M, step: S) -> u64
where
    M: Fn() -> Option<W> + Clone + Send + 'static,
    S: Fn(&mut W) -> bool + Copy + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..n)
        .map(|_| {
            let (done, make) = (done.clone(), make.clone());
            std::thread::spawn(move || {
                let Some(mut w) = make() else {
                    return;
                };
                while Instant::now() < until {
                    if step(&mut w) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    done.load(Ordering::Relaxed)
}

/// Waits until `want` deliveries arrived (or `limit` passed).
fn wait_deliveries(seen: &Seen, want: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    while seen.deliveries.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn latency(addr: SocketAddr, mount: &str, subs: usize, rate: u64, secs: u64) -> Result<(), String> {
    let (seen, stop, threads) = start_subscribers(addr, subs, true);
    let mut p = Poster::new(addr, mount).map_err(|e| e.to_string())?;
    let total = rate * secs;
    let start = Instant::now();
    let cpu0 = process_cpu_ns();
    let waits0 = process_waits();
    let mut posted = 0u64;
    for i in 0..total {
        let at = start + Duration::from_micros(i * 1_000_000 / rate.max(1));
        if let Some(d) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        if p.post() {
            posted += 1;
        }
    }
    // How busy this process (the subscribers' reads, the POSTs) kept the
    // load core while packets flowed: near 100 %, the figures are partly
    // the client's own queueing.
    let busy = match (cpu0, process_cpu_ns()) {
        (Some(a), Some(b)) => format!(
            "{:.0}",
            b.saturating_sub(a) as f64 / 1e7 / start.elapsed().as_secs_f64()
        ),
        _ => "?".to_string(),
    };
    // How often this process's threads went to sleep, per packet: a
    // reader that keeps up with sends spaced out in time sleeps (and is
    // woken by the next send) between them; sends that come together find
    // it awake. The poster's own sleeps, about two per packet, are in it.
    let waits = match (waits0, process_waits()) {
        (Some(a), Some(b)) if posted > 0 => {
            format!("{:.1}", b.saturating_sub(a) as f64 / posted as f64)
        }
        _ => "?".to_string(),
    };
    let subs = seen.connected.load(Ordering::Relaxed) as usize;
    wait_deliveries(&seen, posted * subs as u64, Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let samples = seen
        .latencies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let d = decompose(&samples);
    let mut lat: Vec<u64> = samples.iter().map(|v| v.2).collect();
    lat.sort_unstable();
    println!(
        "latency subscribers={} rate={rate} packets={posted} deliveries={} p50_us={} p99_us={} max_us={} {d} client_busy_pct={busy} client_waits_per_packet={waits}",
        seen.connected.load(Ordering::Relaxed),
        seen.deliveries.load(Ordering::Relaxed),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0),
    );
    Ok(())
}

/// Where a packet's time went, from the deliveries `(subscriber, send
/// time, latency)`, as `key=value` pairs:
///
/// * `first_*`: each packet's first delivery (the POST, its record and
///   sync, the wake-up, and any wait behind an earlier packet's pass);
/// * `last_*`: its last delivery; `spread_*`: last minus first, the
///   fan-out's own length;
/// * `sub_p50_min_us`/`sub_p50_max_us`: the fastest and the slowest
///   subscriber's median (far apart when the same subscribers are served
///   last every time);
/// * `tail_repeat_pct`: of the 1 % of subscribers that got a packet last,
///   how many were also among the last 1 % for the packet before (about 1
///   when the order is fair, near 100 when it never changes).
fn decompose(samples: &[(usize, u64, u64)]) -> String {
    use std::collections::{HashMap, HashSet};
    let mut by_packet: HashMap<u64, Vec<(u64, usize)>> = HashMap::new();
    let mut by_sub: HashMap<usize, Vec<u64>> = HashMap::new();
    for &(k, t0, l) in samples {
        by_packet.entry(t0).or_default().push((l, k));
        by_sub.entry(k).or_default().push(l);
    }
    let mut packets: Vec<(u64, Vec<(u64, usize)>)> = by_packet.into_iter().collect();
    packets.sort_unstable_by_key(|p| p.0);
    let (mut first, mut last, mut spread) = (Vec::new(), Vec::new(), Vec::new());
    let (mut repeat, mut compared) = (0usize, 0usize);
    let mut tail_before: Option<HashSet<usize>> = None;
    for (_, got) in &mut packets {
        got.sort_unstable();
        let (a, b) = (got[0].0, got[got.len() - 1].0);
        first.push(a);
        last.push(b);
        spread.push(b - a);
        let n = got.len().div_ceil(100);
        let tail: HashSet<usize> = got[got.len() - n..].iter().map(|g| g.1).collect();
        if let Some(before) = &tail_before {
            if got.len() >= 100 {
                repeat += tail.intersection(before).count();
                compared += n;
            }
        }
        tail_before = Some(tail);
    }
    let mut medians: Vec<u64> = by_sub
        .into_values()
        .map(|mut v| {
            v.sort_unstable();
            percentile(&v, 0.5)
        })
        .collect();
    for v in [&mut first, &mut last, &mut spread, &mut medians] {
        v.sort_unstable();
    }
    let repeat = if compared > 0 {
        format!("{:.0}", repeat as f64 * 100.0 / compared as f64)
    } else {
        "?".to_string()
    };
    format!(
        "first_p50_us={} first_p99_us={} last_p50_us={} last_p99_us={} spread_p50_us={} spread_p99_us={} sub_p50_min_us={} sub_p50_max_us={} tail_repeat_pct={repeat}",
        percentile(&first, 0.5),
        percentile(&first, 0.99),
        percentile(&last, 0.5),
        percentile(&last, 0.99),
        percentile(&spread, 0.5),
        percentile(&spread, 0.99),
        medians.first().copied().unwrap_or(0),
        medians.last().copied().unwrap_or(0),
    )
}

/// The times this process's threads have waited (voluntary context
/// switches, all threads).
fn process_waits() -> Option<u64> {
    let mut total = 0;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let s = std::fs::read_to_string(t.ok()?.path().join("status")).ok()?;
        let line = s
            .lines()
            .find(|l| l.starts_with("voluntary_ctxt_switches:"))?;
        total += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Nanoseconds every thread of this process has run on a CPU.
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let path = t.ok()?.path().join("schedstat");
        let s = std::fs::read_to_string(path).ok()?;
        total += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn fanout(
    addr: SocketAddr,
    mount: &str,
    subs: usize,
    posters: usize,
    secs: u64,
) -> Result<(), String> {
    let (seen, stop, threads) = start_subscribers(addr, subs, false);
    let start = Instant::now();
    let mount = mount.to_string();
    let posted = count_until(
        posters,
        start + Duration::from_secs(secs),
        move || Poster::new(addr, &mount).ok(),
        Poster::post,
    );
    let subs = seen.connected.load(Ordering::Relaxed) as usize;
    wait_deliveries(&seen, posted * subs as u64, Duration::from_secs(60));
    let elapsed = start.elapsed().as_secs_f64();
    let got = seen.deliveries.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    println!(
        "fanout subscribers={} posters={posters} packets={posted} deliveries={got} seconds={elapsed:.2} deliveries_per_s={:.0} ingest_per_s={:.0}",
        seen.connected.load(Ordering::Relaxed),
        got as f64 / elapsed,
        posted as f64 / secs as f64
    );
    Ok(())
}

/// `floor`: time ROUNDS x SOCKETS writes of BYTES to loopback connections
/// nobody reads (what they receive fits in the socket buffers).
fn floor(sockets: usize, bytes: usize, rounds: usize) -> Result<(), String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    let mut pairs = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let c = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let (s, _) = l.accept().map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        pairs.push((s, c));
    }
    let msg = vec![b'x'; bytes];
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..rounds {
        for (s, _) in &mut pairs {
            s.write_all(&msg).map_err(|e| e.to_string())?;
        }
    }
    let writes = (sockets * rounds) as f64;
    let per_send = start.elapsed().as_secs_f64() * 1e6 / writes;
    // CPU time, unlike wall time, hardly moves when other work shares the
    // core (what remains is cache and frequency).
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => format!("{:.2}", b.saturating_sub(a) as f64 / 1e3 / writes),
        _ => "?".to_string(),
    };
    println!(
        "floor sockets={sockets} bytes={bytes} writes={} us_per_write={per_send:.2} ms_per_packet_to_all={:.2} cpu_us_per_write={cpu}",
        sockets * rounds,
        per_send * sockets as f64 / 1000.0
    );
    Ok(())
}

/// Nanoseconds the calling thread has run on a CPU (the scheduler's own
/// count), if the kernel says.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The channel `redis-fanout` publishes on.
const CHANNEL: &str = "packets";

/// One Redis subscriber: SUBSCRIBE, then counts the `message` pushes that
/// arrive until its task is dropped.
async fn redis_subscriber(addr: SocketAddr, seen: Arc<Seen>, gate: Arc<tokio::sync::Semaphore>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = {
        let _permit = gate.acquire().await;
        let mut last = String::new();
        let mut ok = None;
        for _ in 0..3 {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(mut s) => {
                    let cmd = format!(
                        "*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{CHANNEL}\r\n",
                        CHANNEL.len()
                    );
                    if let Err(e) = s.write_all(cmd.as_bytes()).await {
                        last = e.to_string();
                        continue;
                    }
                    // The confirmation: *3 $9 subscribe $N channel :1.
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b":1\r\n") && head.len() < 256 {
                        match s.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => break,
                        }
                    }
                    if head.ends_with(b":1\r\n") {
                        ok = Some(s);
                        break;
                    }
                    last = String::from_utf8_lossy(&head).into_owned();
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match ok {
            Some(s) => s,
            None => {
                eprintln!("packet-bench: redis subscriber: {last}");
                return;
            }
        }
    };
    let mut s = s;
    seen.connected.fetch_add(1, Ordering::Relaxed);
    // Each push starts with this; a published body of 'x's cannot hold it.
    const PUSH: &[u8] = b"$7\r\nmessage\r\n";
    let mut buf = Vec::with_capacity(8192);
    loop {
        match s.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let mut n = 0;
        let mut at = 0;
        while let Some(i) = find(&buf[at..], PUSH) {
            n += 1;
            at += i + PUSH.len();
        }
        if n > 0 {
            seen.deliveries.fetch_add(n, Ordering::Relaxed);
        }
        // Keep what may be the start of a push cut by this read.
        let keep = buf.len().saturating_sub(at).min(PUSH.len() - 1);
        buf.drain(..buf.len() - keep);
    }
}

/// A Redis publisher connection.
struct Publisher {
    s: TcpStream,
    cmd: Vec<u8>,
    buf: Vec<u8>,
}

impl Publisher {
    fn new(addr: SocketAddr) -> std::io::Result<Publisher> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let body = "x".repeat(BODY);
        let cmd = format!(
            "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{CHANNEL}\r\n${BODY}\r\n{body}\r\n",
            CHANNEL.len()
        )
        .into_bytes();
        Ok(Publisher {
            s,
            cmd,
            buf: Vec::new(),
        })
    }

    /// PUBLISHes one message; true when Redis answered with a count.
    fn publish(&mut self) -> bool {
        if self.s.write_all(&self.cmd).is_err() {
            return false;
        }
        self.buf.clear();
        let mut chunk = [0u8; 64];
        while !self.buf.ends_with(b"\r\n") {
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return false,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        self.buf.starts_with(b":")
    }
}

fn redis_fanout(addr: SocketAddr, subs: usize, publishers: usize, secs: u64) -> Result<(), String> {
    let (seen, stop, threads) = spawn_subscribers(subs, move |_, seen, gate| {
        redis_subscriber(addr, seen, gate)
    });
    let start = Instant::now();
    let published = count_until(
        publishers,
        start + Duration::from_secs(secs),
        move || Publisher::new(addr).ok(),
        Publisher::publish,
    );
    let connected = seen.connected.load(Ordering::Relaxed);
    wait_deliveries(&seen, published * connected, Duration::from_secs(60));
    let elapsed = start.elapsed().as_secs_f64();
    let got = seen.deliveries.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    println!(
        "redis-fanout subscribers={connected} publishers={publishers} messages={published} deliveries={got} seconds={elapsed:.2} deliveries_per_s={:.0} publish_per_s={:.0}",
        got as f64 / elapsed,
        published as f64 / secs as f64
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 5 && args[0] == "redis-fanout" {
        let parsed = (
            args[1].parse::<SocketAddr>(),
            args[2].parse::<usize>(),
            args[3].parse::<usize>(),
            args[4].parse::<u64>(),
        );
        let (Ok(addr), Ok(n), Ok(p), Ok(secs)) = parsed else {
            eprintln!("usage: packet-bench redis-fanout HOST:PORT SUBSCRIBERS PUBLISHERS SECONDS");
            return ExitCode::from(2);
        };
        return match redis_fanout(addr, n, p, secs) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("packet-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.len() == 2 && args[0] == "ideal" {
        return match ideal::serve(&args[1]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("packet-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.len() == 4 && args[0] == "floor" {
        let parsed = (args[1].parse(), args[2].parse(), args[3].parse());
        let (Ok(n), Ok(b), Ok(r)) = parsed else {
            eprintln!("usage: packet-bench floor SOCKETS BYTES ROUNDS");
            return ExitCode::from(2);
        };
        return match floor(n, b, r) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("packet-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let usage =
        "usage: packet-bench latency|fanout HOST:PORT MOUNT SUBSCRIBERS RATE|POSTERS SECONDS";
    if args.len() != 6 {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let (Ok(addr), Ok(subs), Ok(n), Ok(secs)) = (
        args[1].parse::<SocketAddr>(),
        args[3].parse::<usize>(),
        args[4].parse::<u64>(),
        args[5].parse::<u64>(),
    ) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let r = match args[0].as_str() {
        "latency" => latency(addr, &args[2], subs, n, secs),
        "fanout" => fanout(addr, &args[2], subs, n as usize, secs),
        _ => Err(usage.to_string()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("packet-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
