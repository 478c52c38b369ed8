//! What the three scenarios share: the target, connecting (from a spread of
//! loopback source addresses), the fd limit, and /proc readings.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::stream::{self, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Options every scenario takes.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Common {
    /// WebSocket URL of the server (ws:// only).
    #[arg(long)]
    pub url: String,

    /// Spread the connections over the source addresses 127.0.0.1 ..
    /// 127.0.0.N (round robin), so that a per-peer-IP connection limit of
    /// the server is not what is measured. 1 = let the kernel pick.
    #[arg(long, default_value_t = 1)]
    pub spread: u8,

    /// Pid of the server: its CPU time (utime+stime from /proc/PID/stat) over
    /// the measured window, and for `idle` its VmRSS, are reported.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Connections opened at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
}

pub(crate) struct Target {
    pub addr: SocketAddr,
    pub url: String,
    pub spread: u8,
}

impl Target {
    pub(crate) fn new(c: &Common) -> Result<Self> {
        let uri: Uri = c
            .url
            .parse()
            .with_context(|| format!("bad url {}", c.url))?;
        if uri.scheme_str() != Some("ws") {
            bail!("only ws:// URLs are supported: {}", c.url);
        }
        let host = uri.host().context("url without host")?;
        let port = uri.port_u16().unwrap_or(80);
        let addr = (host.trim_matches(['[', ']']), port)
            .to_socket_addrs()?
            .next()
            .with_context(|| format!("{host} does not resolve"))?;
        if c.spread == 0 {
            bail!("--spread must be at least 1");
        }
        if c.spread > 1 && !matches!(addr.ip(), IpAddr::V4(ip) if ip.is_loopback()) {
            bail!("--spread needs an IPv4 loopback target, not {addr}");
        }
        Ok(Self {
            addr,
            url: c.url.clone(),
            spread: c.spread,
        })
    }

    /// Source address of connection `i` (None: kernel's choice).
    fn source(&self, i: usize) -> Option<Ipv4Addr> {
        (self.spread > 1).then(|| Ipv4Addr::new(127, 0, 0, 1 + (i % self.spread as usize) as u8))
    }

    /// One WebSocket connection asking for `protocol`; the server must
    /// accept it (tungstenite checks the answered subprotocol). With
    /// `extensions` (`Sec-WebSocket-Extensions`) offered, also says whether
    /// the server agreed to them (answered the header); tungstenite itself
    /// speaks no extension: with permessage-deflate agreed, read the socket
    /// raw (`wsraw`).
    pub(crate) async fn connect_with(
        &self,
        i: usize,
        protocol: &str,
        extensions: Option<&str>,
    ) -> Result<(Ws, bool)> {
        let sock = TcpSocket::new_v4()?;
        if let Some(ip) = self.source(i) {
            sock.bind(SocketAddr::new(ip.into(), 0))
                .with_context(|| format!("bind {ip}"))?;
        }
        let tcp = sock.connect(self.addr).await.context("tcp connect")?;
        tcp.set_nodelay(true)?;
        let mut req = self.url.as_str().into_client_request()?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocol)?);
        if let Some(e) = extensions {
            req.headers_mut()
                .insert("Sec-WebSocket-Extensions", HeaderValue::from_str(e)?);
        }
        // Small buffers: 10,000 idle clients must stay cheap here too.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0);
        let (ws, resp) = tokio_tungstenite::client_async_with_config(req, tcp, Some(config))
            .await
            .context("websocket handshake")?;
        let agreed = resp.headers().contains_key("Sec-WebSocket-Extensions");
        Ok((ws, agreed))
    }

    /// Opens `n` connections, `concurrency` at a time; returns them in
    /// order with the errors of the ones that failed.
    pub(crate) async fn connect_many(
        &self,
        n: usize,
        protocol: &str,
        concurrency: usize,
    ) -> (Vec<(usize, Ws)>, Vec<String>) {
        let (ok, errors) = self.connect_many_with(n, protocol, None, concurrency).await;
        (ok.into_iter().map(|(i, ws, _)| (i, ws)).collect(), errors)
    }

    /// Like [`Target::connect_many`], offering `extensions`; each connection
    /// comes with whether the server agreed to them.
    pub(crate) async fn connect_many_with(
        &self,
        n: usize,
        protocol: &str,
        extensions: Option<&str>,
        concurrency: usize,
    ) -> (Vec<(usize, Ws, bool)>, Vec<String>) {
        let mut ok = Vec::with_capacity(n);
        let mut errors = Vec::new();
        let mut results = stream::iter(0..n)
            .map(|i| async move {
                let r = tokio::time::timeout(
                    Duration::from_secs(20),
                    self.connect_with(i, protocol, extensions),
                )
                .await;
                (i, r)
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((i, r)) = results.next().await {
            match r {
                Ok(Ok((ws, agreed))) => ok.push((i, ws, agreed)),
                Ok(Err(e)) => errors.push(format!("client {i}: {e:#}")),
                Err(_) => errors.push(format!("client {i}: connect timed out")),
            }
        }
        ok.sort_by_key(|(i, _, _)| *i);
        (ok, errors)
    }
}

/// Prints the first few connection errors to stderr.
pub(crate) fn report_errors(errors: &[String]) {
    for e in errors.iter().take(5) {
        eprintln!("comlink-bench: {e}");
    }
    if errors.len() > 5 {
        eprintln!("comlink-bench: ... and {} more", errors.len() - 5);
    }
}

/// Nanoseconds since the first call (a process-wide monotonic clock).
pub(crate) fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Raises our soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
#[allow(unsafe_code)]
pub(crate) fn raise_nofile() -> Result<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        bail!("getrlimit: {}", std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

/// Clock ticks per second of /proc/PID/stat's times.
#[allow(unsafe_code)]
fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// CPU seconds (utime + stime, all threads) a process has used so far.
/// `pid` None = this process.
pub(crate) fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the ")" that ends comm: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / clk_tck())
}

/// VmRSS of a process in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_ascii_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU used by the server and by us between two points in time.
pub(crate) struct CpuWindow {
    server_pid: Option<u32>,
    server0: Option<f64>,
    self0: Option<f64>,
    t0: Instant,
}

impl CpuWindow {
    pub(crate) fn start(server_pid: Option<u32>) -> Self {
        Self {
            server_pid,
            server0: server_pid.and_then(|p| cpu_secs(Some(p))),
            self0: cpu_secs(None),
            t0: Instant::now(),
        }
    }

    /// " server_cpu_pct=.. gen_cpu_pct=.." (% of one core), for the result line.
    pub(crate) fn finish(&self) -> String {
        let wall = self.t0.elapsed().as_secs_f64();
        let pct = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if wall > 0.0 => format!("{:.1}", (b - a) * 100.0 / wall),
            _ => "-".to_owned(),
        };
        let server1 = self.server_pid.and_then(|p| cpu_secs(Some(p)));
        format!(
            " server_cpu_pct={} gen_cpu_pct={}",
            pct(self.server0, server1),
            pct(self.self0, cpu_secs(None))
        )
    }
}

/// Value at quantile `q` (0..=1) of sorted samples.
pub(crate) fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[idx])
}

pub(crate) fn ms(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_owned(), |v| format!("{:.3}", v as f64 / 1e6))
}
