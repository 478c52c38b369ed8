//! The service's settings, from the per-vhost options (`ws-protocols` pvo).
//! Values may be strings, as lwsws configs often have them.

use std::path::PathBuf;
use std::time::Duration;

/// Default `journal-dir`.
pub const DEFAULT_DIR: &str = "/var/lib/lwsws/packets";
/// Default `max-packet-bytes`: 1 MiB.
pub const DEFAULT_MAX_PACKET: usize = 1 << 20;
/// Default segment size: 64 MiB.
pub const DEFAULT_SEGMENT: u64 = 64 << 20;
/// Smallest segment size.
pub const MIN_SEGMENT: u64 = 64 << 10;
/// Default `redis-key`: the stream the Redis backend uses.
pub const DEFAULT_REDIS_KEY: &str = "lwsws:packets";
/// Default live-tail budget: 16 MiB of packets kept in memory.
pub const DEFAULT_LIVE: usize = 16 << 20;
/// Default `dedup-window-secs`: an idempotency key is remembered an hour.
pub const DEFAULT_DEDUP_WINDOW: u64 = 3600;

/// When an appended packet is synced to disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// After every group commit (the default): acknowledged means durable.
    Always,
    /// At most this often; acknowledgements wait for the sync.
    Interval(Duration),
    /// Never explicitly: acknowledged once written to the OS (survives a
    /// crash of the server, not a power loss).
    Never,
}

/// Where the packets live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The embedded segment log in `journal-dir`.
    Segments,
    /// A Redis stream (`backend: "redis://..."`), shared by every server
    /// that names the same Redis and `redis-key`.
    Redis(String),
}

/// Everything the pvo configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `journal-dir`.
    pub dir: PathBuf,
    /// `max-packet-bytes`.
    pub max_packet_bytes: usize,
    /// `fsync`.
    pub fsync: Fsync,
    /// `retain-bytes` (none: unbounded).
    pub retain_bytes: Option<u64>,
    /// `retain-secs` (none: unbounded).
    pub retain_secs: Option<u64>,
    /// `segment-bytes` (default 64 MiB, or a quarter of `retain-bytes`).
    pub segment_bytes: u64,
    /// `live-buffer-bytes`: recent packets served from memory.
    pub live_bytes: usize,
    /// `backend`.
    pub backend: Backend,
    /// `redis-key`: the stream, with the Redis backend.
    pub redis_key: String,
    /// `dedup-window-secs`: how long an idempotency key is remembered
    /// (0: keys are ignored).
    pub dedup_window_secs: u64,
    /// `test-fault-file`: fault injection for tests (see [`crate::faults`]).
    pub fault_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            dir: PathBuf::from(DEFAULT_DIR),
            max_packet_bytes: DEFAULT_MAX_PACKET,
            fsync: Fsync::Always,
            retain_bytes: None,
            retain_secs: None,
            segment_bytes: DEFAULT_SEGMENT,
            live_bytes: DEFAULT_LIVE,
            backend: Backend::Segments,
            redis_key: DEFAULT_REDIS_KEY.into(),
            dedup_window_secs: DEFAULT_DEDUP_WINDOW,
            fault_file: None,
        }
    }
}

/// A size: digits with an optional `k`, `m` or `g` (binary) suffix.
pub fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    let v = v
        .strip_suffix("ib")
        .or_else(|| v.strip_suffix('b'))
        .unwrap_or(&v);
    let (num, mult) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 1u64 << 10),
        'm' => (&v[..v.len() - 1], 1 << 20),
        'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// `always`, `interval:<ms>` or `never`.
pub fn parse_fsync(v: &str) -> Option<Fsync> {
    let v = v.trim();
    match v {
        "always" => Some(Fsync::Always),
        "never" => Some(Fsync::Never),
        _ => {
            let ms: u64 = v.strip_prefix("interval:")?.trim().parse().ok()?;
            Some(Fsync::Interval(Duration::from_millis(ms.max(1))))
        }
    }
}

impl Settings {
    /// Settings from option lookups; an unusable value is an error naming
    /// the key.
    pub fn from_options<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Settings, String> {
        let mut s = Settings::default();
        let bad = |k: &str, v: &str| format!("pvo \"{k}\": cannot use \"{v}\"");
        if let Some(v) = get("journal-dir") {
            if v.trim().is_empty() {
                return Err(bad("journal-dir", v));
            }
            s.dir = PathBuf::from(v.trim());
        }
        if let Some(v) = get("max-packet-bytes") {
            s.max_packet_bytes = parse_size(v)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad("max-packet-bytes", v))?;
        }
        if let Some(v) = get("fsync") {
            s.fsync = parse_fsync(v).ok_or_else(|| bad("fsync", v))?;
        }
        if let Some(v) = get("retain-bytes") {
            s.retain_bytes = Some(parse_size(v).ok_or_else(|| bad("retain-bytes", v))?);
        }
        if let Some(v) = get("retain-secs") {
            s.retain_secs = Some(v.trim().parse().map_err(|_| bad("retain-secs", v))?);
        }
        s.segment_bytes = match get("segment-bytes") {
            Some(v) => parse_size(v).ok_or_else(|| bad("segment-bytes", v))?,
            None => s
                .retain_bytes
                .map_or(DEFAULT_SEGMENT, |r| (r / 4).min(DEFAULT_SEGMENT)),
        }
        .max(MIN_SEGMENT);
        if let Some(v) = get("live-buffer-bytes") {
            s.live_bytes = parse_size(v)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| bad("live-buffer-bytes", v))?;
        }
        if let Some(v) = get("backend") {
            let v = v.trim();
            s.backend = if v.is_empty() || v == "segments" || v == "file" {
                Backend::Segments
            } else if v.starts_with("redis://") || v.starts_with("redis+unix://") {
                Backend::Redis(v.to_string())
            } else if v.starts_with("rediss://") {
                return Err(format!(
                    "pvo \"backend\": \"{v}\": TLS to Redis is not built in; \
                     use redis:// on a trusted network or a local TLS tunnel"
                ));
            } else {
                return Err(bad("backend", v));
            };
        }
        if let Some(v) = get("redis-key") {
            if v.trim().is_empty() {
                return Err(bad("redis-key", v));
            }
            s.redis_key = v.trim().to_string();
        }
        if let Some(v) = get("dedup-window-secs") {
            s.dedup_window_secs = v.trim().parse().map_err(|_| bad("dedup-window-secs", v))?;
        }
        if let Some(v) = get("test-fault-file").filter(|v| !v.trim().is_empty()) {
            s.fault_file = Some(PathBuf::from(v.trim()));
        }
        Ok(s)
    }

    /// The dedup window in ms, or `None` when keys are ignored.
    pub fn dedup_window_ms(&self) -> Option<i64> {
        (self.dedup_window_secs > 0)
            .then(|| i64::try_from(self.dedup_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX))
    }

    /// What identifies the store: servers (and vhosts) naming the same one
    /// share a service.
    pub fn store_key(&self) -> String {
        match &self.backend {
            Backend::Segments => format!("dir:{}", self.dir.display()),
            Backend::Redis(url) => format!("redis:{url} {}", self.redis_key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&'static str, &'static str)]) -> Result<Settings, String> {
        Settings::from_options(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(from(&[]).unwrap(), Settings::default());
        let s = from(&[
            ("journal-dir", "/tmp/j"),
            ("max-packet-bytes", "64k"),
            ("fsync", "interval:5"),
            ("retain-bytes", "1MiB"),
            ("retain-secs", "3600"),
        ])
        .unwrap();
        assert_eq!(s.dir, PathBuf::from("/tmp/j"));
        assert_eq!(s.max_packet_bytes, 65536);
        assert_eq!(s.fsync, Fsync::Interval(Duration::from_millis(5)));
        assert_eq!((s.retain_bytes, s.retain_secs), (Some(1 << 20), Some(3600)));
        assert_eq!(s.segment_bytes, 256 << 10);
        assert_eq!(from(&[("fsync", "never")]).unwrap().fsync, Fsync::Never);
        assert_eq!(Settings::default().dedup_window_ms(), Some(3_600_000));
        let s = from(&[("dedup-window-secs", "0")]).unwrap();
        assert_eq!(s.dedup_window_ms(), None);
        assert!(from(&[("dedup-window-secs", "an hour")])
            .unwrap_err()
            .contains("dedup-window-secs"));
    }

    #[test]
    fn bad_values_name_their_key() {
        assert!(from(&[("fsync", "sometimes")])
            .unwrap_err()
            .contains("fsync"));
        assert!(from(&[("max-packet-bytes", "lots")])
            .unwrap_err()
            .contains("max-packet-bytes"));
        assert!(from(&[("backend", "ftp://x")])
            .unwrap_err()
            .contains("backend"));
        assert_eq!(
            from(&[("backend", "redis://127.0.0.1:6379")])
                .unwrap()
                .backend,
            Backend::Redis("redis://127.0.0.1:6379".into())
        );
        assert!(from(&[("backend", "rediss://h")])
            .unwrap_err()
            .contains("TLS"));
        assert!(from(&[("redis-key", " ")])
            .unwrap_err()
            .contains("redis-key"));
    }
}
