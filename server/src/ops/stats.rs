//! Server figures: per-vhost and per-thread counters, kept in atomics so
//! any thread may bump them without locks, and the JSON snapshot
//! `lws-server-status` sends (the shape of lws's `lws_json_dump_context`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{json, Value};

use crate::site::Site;

/// Counters of one vhost.
#[derive(Debug, Default)]
pub struct VhostStats {
    /// HTTP transactions answered.
    pub h1_trans: AtomicU64,
    /// WebSocket upgrades accepted.
    pub ws_upg: AtomicU64,
    /// Requests refused (4xx/5xx answered by the server itself).
    pub rejected: AtomicU64,
    /// Response body bytes sent (as far as known when answered).
    pub tx: AtomicU64,
    /// Responses by status class (index 0 = 1xx ... 4 = 5xx).
    pub by_class: [AtomicU64; 5],
}

/// Upper bounds (seconds) of the plugin callback latency histogram buckets.
pub const CALLBACK_BUCKETS: [f64; 10] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0,
];

/// How long one protocol's callbacks take (a Prometheus histogram).
#[derive(Debug, Default)]
pub struct CallbackTimes {
    /// Cumulative counts per bucket of [`CALLBACK_BUCKETS`] (then +Inf = `count`).
    pub buckets: [AtomicU64; 10],
    /// Total nanoseconds.
    pub sum_ns: AtomicU64,
    /// Callbacks.
    pub count: AtomicU64,
    /// Connections bound to the protocol now.
    pub open: AtomicU64,
}

impl CallbackTimes {
    /// Records one callback's duration.
    pub fn record(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in CALLBACK_BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counters of one service thread.
#[derive(Debug, Default)]
pub struct ThreadStats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

/// Most service threads counted separately.
pub const MAX_THREADS: usize = 64;

static THREADS: OnceLock<Vec<ThreadStats>> = OnceLock::new();
static START: OnceLock<Instant> = OnceLock::new();

/// Per-thread counters (index = tsi).
pub fn threads() -> &'static [ThreadStats] {
    THREADS.get_or_init(|| (0..MAX_THREADS).map(|_| ThreadStats::default()).collect())
}

/// Connections open on all service threads.
pub fn open_connections() -> u64 {
    threads()
        .iter()
        .map(|t| t.open.load(Ordering::Relaxed))
        .sum()
}

/// Marks the start time (call once at start-up).
pub fn start() {
    let _ = START.set(Instant::now());
    threads();
}

/// Seconds since start-up.
pub fn uptime_secs() -> u64 {
    START.get().map_or(0, |s| s.elapsed().as_secs())
}

fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
    ]
}

/// The server's state as JSON, in the shape of lws's context dump.
pub fn context_json(site: &Site, threads_in_use: usize, hide_vhosts: bool) -> Value {
    let l = loadavg();
    let ts = threads();
    let pt: Vec<Value> = ts[..threads_in_use.clamp(1, MAX_THREADS)]
        .iter()
        .map(|t| {
            json!({
                "fds_count": t.open.load(Ordering::Relaxed).to_string(),
                "accepted": t.accepted.load(Ordering::Relaxed).to_string(),
            })
        })
        .collect();
    let wsi_alive: u64 = ts.iter().map(|t| t.open.load(Ordering::Relaxed)).sum();
    let mut ctx = json!({
        "context_uptime": uptime_secs().to_string(),
        "wsi_alive": wsi_alive.to_string(),
        "pt": pt,
    });
    if !hide_vhosts {
        let vhosts: Vec<Value> = site
            .vhosts
            .iter()
            .map(|v| {
                let s = &v.stats;
                json!({
                    "name": v.cfg.name,
                    "port": v.cfg.port.to_string(),
                    "use_ssl": "0",
                    "sts": if v.cfg.sts { "1" } else { "0" },
                    "h1_trans": s.h1_trans.load(Ordering::Relaxed).to_string(),
                    "ws_upg": s.ws_upg.load(Ordering::Relaxed).to_string(),
                    "rejected": s.rejected.load(Ordering::Relaxed).to_string(),
                    "tx": s.tx.load(Ordering::Relaxed).to_string(),
                    "mounts": v.cfg.mounts.iter().map(|m| json!({
                        "mountpoint": m.mountpoint,
                        "origin": format!("{:?}", m.origin),
                    })).collect::<Vec<_>>(),
                    "ws-protocols": v.handle.protocols.iter().map(|p| p.def.name.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        ctx["vhosts"] = Value::Array(vhosts);
    }
    let mut plugins: Vec<String> = site
        .vhosts
        .iter()
        .flat_map(|v| {
            v.handle
                .protocols
                .iter()
                .map(|p| p.def.lib.path.display().to_string())
        })
        .collect();
    plugins.sort();
    plugins.dedup();
    json!({
        "version": concat!("lwsws-comlink ", env!("CARGO_PKG_VERSION")),
        "uptime": uptime_secs().to_string(),
        "l1": format!("{:.2}", l[0]),
        "l2": format!("{:.2}", l[1]),
        "l3": format!("{:.2}", l[2]),
        "plugins": plugins,
        "plugin_figures": crate::ops::metrics::plugin_values_json(),
        "reload": crate::ops::reload_status::json(),
        "contexts": [ctx],
    })
}
