//! The Redis Streams store (`backend: "redis://host:port/db"`): every
//! server that names the same Redis and `redis-key` shares one packet
//! stream and one id sequence, so servers behind a load balancer deliver
//! each other's packets.
//!
//! * Ids: each packet is `XADD <key> 0-* t <ts_ms> c <content type> d
//!   <body>`. Redis (7.0 or newer) gives `0-<n>` with `n` one past the
//!   stream's last id, atomically across all writers, so our id is `n`:
//!   positive, strictly increasing, never reused (Redis remembers the last
//!   id even when every entry is trimmed).
//! * Group commit: one batch of packets is one pipeline, one round trip.
//!   Durability is Redis's (`appendonly yes` + `appendfsync always` makes
//!   an `XADD` reply wait for the disk); opening warns when Redis is set up
//!   to be less durable than the `fsync` option asks.
//! * Delivery: packets appended anywhere are read back in id order by a
//!   follower (`XREAD BLOCK`), which is what makes them live here; catch-up
//!   reads are `XRANGE`.
//! * Retention: `retain-secs` by `XTRIM MINID` at the first packet young
//!   enough (found by binary search on ids); `retain-bytes` by
//!   `XTRIM MAXLEN` scaled from Redis's `MEMORY USAGE` of the stream (an
//!   estimate, as Redis gives it).
//!
//! * Idempotency keys: a packet with a key is appended by a small Lua
//!   script ([`DEDUP_SCRIPT`]) that, atomically, answers the id stored
//!   under `<redis-key>:idem:<key>` if there is one, and otherwise does the
//!   `XADD` (with the key in the entry, field `k`) and stores its id there
//!   with the dedup window as expiry (`SET ... PX`). Every server sharing
//!   the stream shares those keys, and they survive restarts as the stream
//!   does (Redis's AOF has the script's effects as one transaction).
//!
//! * Sources: a packet from an identified sender has its label in the
//!   entry, field `s`; entries written before sources existed have none.
//!
//! Errors never lose an acknowledged packet: a failed or unanswered `XADD`
//! is answered as not recorded (the packet may still be in the stream, and
//! is then delivered; a retrying controller without a key can cause a
//! duplicate, never a loss). Connections are reopened on the next use
//! after an error.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{Connection, Value};

use crate::config::Fsync;
use crate::log::{Chunk, Entry, Recovery};
use crate::record::Packet;
use crate::store::{Appender, Follower, Opened, Outcome, Store};

/// Appends a packet with an idempotency key unless the key is known:
/// `KEYS[1]` the stream, `KEYS[2]` the key's entry; `ARGV` timestamp,
/// content type, body, key, window (ms), source label (empty: none).
/// Answers `{id, replayed}`.
pub const DEDUP_SCRIPT: &str = "\
local prev = redis.call('GET', KEYS[2])
if prev then return {prev, 1} end
local id
if ARGV[6] == '' then
  id = redis.call('XADD', KEYS[1], '0-*', 't', ARGV[1], 'c', ARGV[2], 'd', ARGV[3], 'k', ARGV[4])
else
  id = redis.call('XADD', KEYS[1], '0-*', 't', ARGV[1], 'c', ARGV[2], 'd', ARGV[3], 'k', ARGV[4], 's', ARGV[6])
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[5])
return {id, 0}
";

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one command may take (a follower's `XREAD BLOCK` adds its wait).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Most entries asked for per `XRANGE`/`XREAD`.
const READ_COUNT: usize = 512;
/// Fewest entries asked for per `XRANGE`/`XREAD`.
const MIN_READ_COUNT: usize = 16;
/// Bytes one reply may bring at worst (entries x `max-packet-bytes`): the
/// number of entries asked for is cut to fit, down to [`MIN_READ_COUNT`].
const READ_BUDGET: usize = 64 << 20;

/// Entries per read, so that a reply of the largest packets stays near
/// [`READ_BUDGET`] while small packets still come many per round trip.
fn read_count(max_packet: usize) -> usize {
    (READ_BUDGET / max_packet.max(1)).clamp(MIN_READ_COUNT, READ_COUNT)
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("redis: {e}"))
}

/// One connection, opened when first needed and again after an error.
struct Link {
    client: redis::Client,
    conn: Option<Connection>,
    extra_wait: Duration,
}

impl Link {
    fn new(client: &redis::Client) -> Link {
        Link {
            client: client.clone(),
            conn: None,
            extra_wait: Duration::ZERO,
        }
    }

    /// Runs `f` on the connection; any error drops the connection, so the
    /// next call starts on a fresh one (an answer might be half read).
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> io::Result<T> {
        if self.conn.is_none() {
            let c = self
                .client
                .get_connection_with_timeout(CONNECT_TIMEOUT)
                .map_err(err)?;
            c.set_read_timeout(Some(COMMAND_TIMEOUT + self.extra_wait))
                .map_err(err)?;
            c.set_write_timeout(Some(COMMAND_TIMEOUT)).map_err(err)?;
            self.conn = Some(c);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(err("not connected"));
        };
        match f(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.conn = None;
                Err(err(e))
            }
        }
    }
}

/// Our id from a stream id `0-<n>`.
fn parse_id(v: &Value) -> Option<u64> {
    let s = text(v)?;
    let n = s.strip_prefix("0-")?.parse().ok()?;
    (n > 0).then_some(n)
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

/// A field of a reply that is a map (RESP3) or a flat key/value array.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| text(k) == Some(name))
            .map(|(_, v)| v),
        Value::Array(a) => a
            .chunks_exact(2)
            .find(|kv| text(&kv[0]) == Some(name))
            .map(|kv| &kv[1]),
        _ => None,
    }
}

/// A stream entry `[id, [field, value, ...]]` as a packet.
fn entry(v: &Value) -> io::Result<Packet> {
    let Value::Array(pair) = v else {
        return Err(err("unexpected stream entry"));
    };
    let (Some(id), Some(fields)) = (pair.first(), pair.get(1)) else {
        return Err(err("unexpected stream entry"));
    };
    let id = parse_id(id).ok_or_else(|| {
        err(format!(
            "stream entry {:?} was not written by lwsws (ids are 0-<n>)",
            text(id).unwrap_or("?")
        ))
    })?;
    let ts = field(fields, "t").and_then(int).unwrap_or(0);
    let ct = field(fields, "c")
        .and_then(text)
        .unwrap_or_default()
        .to_string();
    let data = match field(fields, "d") {
        Some(Value::BulkString(b)) => b.clone(),
        Some(other) => text(other).unwrap_or_default().as_bytes().to_vec(),
        None => Vec::new(),
    };
    let source = field(fields, "s").and_then(text).map(str::to_string);
    Ok(Packet::new(id, ts, ct, data).with_source(source))
}

fn entries(v: &Value) -> io::Result<Vec<Packet>> {
    match v {
        Value::Array(a) => a.iter().map(entry).collect(),
        Value::Nil => Ok(Vec::new()),
        _ => Err(err("unexpected XRANGE reply")),
    }
}

/// A stream's (length, first id, last id ever given).
type StreamInfo = (u64, u64, u64);

/// What the server says about the stream, or `None` when the key does not
/// exist.
fn stream_info(c: &mut Connection, key: &str) -> redis::RedisResult<Option<StreamInfo>> {
    let exists: i64 = redis::cmd("EXISTS").arg(key).query(c)?;
    if exists == 0 {
        return Ok(None);
    }
    let info: Value = redis::cmd("XINFO").arg("STREAM").arg(key).query(c)?;
    let len = field(&info, "length").and_then(int).unwrap_or(0);
    let last = field(&info, "last-generated-id");
    let last_id = match last {
        Some(v) if text(v) == Some("0-0") => 0,
        Some(v) => parse_id(v).ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::Client,
                "stream was not written by lwsws",
                format!(
                    "its last id is {} (lwsws ids are 0-<n>); name another redis-key",
                    text(v).unwrap_or("?")
                ),
            ))
        })?,
        None => 0,
    };
    let first_id = match field(&info, "first-entry") {
        Some(Value::Array(e)) => e.first().and_then(parse_id).unwrap_or(last_id + 1),
        _ => last_id + 1,
    };
    Ok(Some((u64::try_from(len).unwrap_or(0), first_id, last_id)))
}

/// What both halves share: the oldest id and the size, refreshed by the
/// writer thread about once a second.
#[derive(Debug, Default)]
struct Figures {
    first_id: AtomicU64,
    bytes: AtomicU64,
}

/// The read side.
pub struct RedisStore {
    url: String,
    key: String,
    count: usize,
    link: Mutex<Link>,
    figures: Arc<Figures>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .field("key", &self.key)
            .finish()
    }
}

/// The write side.
pub struct RedisAppender {
    key: String,
    link: Link,
    figures: Arc<Figures>,
}

/// The follower: new packets, whoever appended them.
pub struct RedisFollower {
    key: String,
    count: usize,
    link: Link,
}

/// Connects to `url`, checks the server and the stream `key`, and returns
/// the store's halves (reads sized for packets up to `max_packet` bytes).
/// Opening fails (naming why) when Redis cannot be reached, is older than
/// 7.0, or `key` holds a stream lwsws did not write.
pub fn open(url: &str, key: &str, fsync: Fsync, max_packet: usize) -> io::Result<Opened> {
    let client = redis::Client::open(url).map_err(|e| err(format!("{url}: {e}")))?;
    let mut link = Link::new(&client);
    let at = |e: io::Error| io::Error::other(format!("{url}: {e}"));
    let server: String = link
        .with(|c| redis::cmd("INFO").arg("server").query(c))
        .map_err(at)?;
    let version = server
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("0")
        .trim()
        .to_string();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 7 {
        return Err(at(err(format!(
            "server version {version}: 7.0 or newer is needed (XADD with 0-* ids)"
        ))));
    }
    let info = link.with(|c| stream_info(c, key)).map_err(at)?;
    let (len, first_id, last_id) = info.unwrap_or((0, 1, 0));
    let mut rec = Recovery {
        next_id: last_id + 1,
        records: len,
        ..Recovery::default()
    };
    if let Some(w) = durability_warning(&mut link, url, fsync) {
        rec.warnings.push(w);
    }
    let figures = Arc::new(Figures::default());
    figures.first_id.store(first_id, Ordering::Release);
    let mut follow = Link::new(&client);
    follow.extra_wait = Duration::from_secs(1);
    let count = read_count(max_packet);
    let store = RedisStore {
        url: url.to_string(),
        key: key.to_string(),
        count,
        link: Mutex::new(Link::new(&client)),
        figures: figures.clone(),
    };
    let mut appender = RedisAppender {
        key: key.to_string(),
        link,
        figures,
    };
    appender.refresh();
    Ok(Opened {
        store: Arc::new(store),
        appender: Box::new(appender),
        follower: Some(Box::new(RedisFollower {
            key: key.to_string(),
            count,
            link: follow,
        })),
        recovery: rec,
    })
}

/// A warning when Redis keeps packets less safely than `fsync` asks
/// (nothing when its settings cannot be read, e.g. `CONFIG` is disabled).
fn durability_warning(link: &mut Link, url: &str, fsync: Fsync) -> Option<String> {
    let get = |link: &mut Link, name: &str| -> Option<String> {
        let v: Vec<String> = link
            .with(|c| redis::cmd("CONFIG").arg("GET").arg(name).query(c))
            .ok()?;
        v.get(1).cloned()
    };
    let aof = get(link, "appendonly")?;
    let every = get(link, "appendfsync")?;
    let weak = match fsync {
        Fsync::Always => aof != "yes" || every != "always",
        Fsync::Interval(_) => aof != "yes" || every == "no",
        Fsync::Never => false,
    };
    weak.then(|| {
        format!(
            "{url}: Redis has appendonly {aof}, appendfsync {every}: acknowledged packets \
             are only as durable as that (fsync {fsync:?} asks for more)"
        )
    })
}

impl Store for RedisStore {
    fn describe(&self) -> String {
        format!("redis stream {} at {}", self.key, self.url)
    }

    fn first_id(&self) -> u64 {
        self.figures.first_id.load(Ordering::Acquire)
    }

    fn stored_bytes(&self) -> u64 {
        self.figures.bytes.load(Ordering::Relaxed)
    }

    fn segment_count(&self) -> usize {
        0
    }

    fn read(&self, from: u64, upto: u64, max_bytes: usize) -> io::Result<Chunk> {
        let mut chunk = Chunk::default();
        if from > upto {
            return Ok(chunk);
        }
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = from;
        let mut bytes = 0usize;
        while next <= upto && bytes < max_bytes.max(1) {
            let reply: Value = link.with(|c| {
                redis::cmd("XRANGE")
                    .arg(&self.key)
                    .arg(format!("0-{next}"))
                    .arg(format!("0-{upto}"))
                    .arg("COUNT")
                    .arg(self.count)
                    .query(c)
            })?;
            let got = entries(&reply)?;
            let Some(first) = got.first() else {
                // Ids up to `upto` were seen by the follower, so missing
                // ones were trimmed (or deleted).
                if chunk.packets.is_empty() {
                    chunk.gap = Some((next, upto));
                }
                break;
            };
            if first.id > next {
                if chunk.packets.is_empty() {
                    chunk.gap = Some((next, first.id - 1));
                }
                break;
            }
            let last_page = got.len() < self.count;
            for p in got {
                if bytes >= max_bytes.max(1) {
                    break;
                }
                // A hole inside the range (an entry deleted by hand): stop
                // before it; the next read reports it as a gap.
                if p.id != next {
                    return Ok(chunk);
                }
                bytes += p.data.len().max(1);
                next = p.id + 1;
                chunk.packets.push(p);
            }
            if last_page {
                break;
            }
        }
        Ok(chunk)
    }
}

impl RedisAppender {
    /// The stream now: (length, first id, last id) or `None` when the key
    /// does not exist, and Redis's estimate of its memory use.
    fn read_figures(&mut self) -> io::Result<(Option<StreamInfo>, Option<u64>)> {
        let key = self.key.clone();
        let info = self.link.with(|c| stream_info(c, &key))?;
        let used = self.link.with(|c| {
            redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .query::<Option<u64>>(c)
        })?;
        Ok((info, used))
    }

    /// Publishes the stream's oldest id and size (for readers and figures).
    fn store_figures(&self, info: Option<StreamInfo>, used: Option<u64>) {
        let first = info.map_or(1, |(_, first, _)| first);
        self.figures.first_id.store(first, Ordering::Release);
        if let Some(n) = used {
            self.figures.bytes.store(n, Ordering::Relaxed);
        }
    }

    /// Re-reads and publishes the stream's oldest id and size.
    fn refresh(&mut self) {
        if let Ok((info, used)) = self.read_figures() {
            self.store_figures(info, used);
        }
    }

    /// The first id whose packet is at least as new as `cutoff_ms`, in
    /// `lo..=hi + 1` (binary search on ids: timestamps grow with ids, up to
    /// clock differences between servers).
    fn first_newer(&mut self, mut lo: u64, mut hi: u64, cutoff_ms: i64) -> io::Result<u64> {
        hi += 1;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let key = self.key.clone();
            let reply: Value = self.link.with(|c| {
                redis::cmd("XRANGE")
                    .arg(&key)
                    .arg(format!("0-{mid}"))
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .query(c)
            })?;
            match entries(&reply)?.first() {
                None => hi = mid,
                Some(p) if p.ts_ms >= cutoff_ms => hi = mid,
                Some(p) => lo = p.id + 1,
            }
        }
        Ok(lo)
    }

    /// Trims the stream described by `info` and `used` (as
    /// [`RedisAppender::read_figures`] gives them) to the retention limits;
    /// true when something was trimmed.
    fn trim(
        &mut self,
        info: Option<StreamInfo>,
        used: Option<u64>,
        max_bytes: Option<u64>,
        max_age_ms: Option<i64>,
        now_ms: i64,
    ) -> io::Result<bool> {
        let Some((len, first, last)) = info.filter(|(len, _, _)| *len > 0) else {
            return Ok(false);
        };
        let key = self.key.clone();
        let mut trimmed = 0;
        if let Some(age) = max_age_ms {
            let keep = self.first_newer(first, last, now_ms.saturating_sub(age))?;
            if keep > first {
                trimmed += self.link.with(|c| {
                    redis::cmd("XTRIM")
                        .arg(&key)
                        .arg("MINID")
                        .arg(format!("0-{keep}"))
                        .query::<u64>(c)
                })?;
            }
        }
        if let (Some(max), Some(used)) = (max_bytes, used) {
            // After an age trim, the estimate is of the longer stream:
            // scale what is left.
            let len = len - trimmed.min(len);
            if used > max && len > 0 {
                let keep = u64::try_from(u128::from(len) * u128::from(max) / u128::from(used))
                    .unwrap_or(len);
                trimmed += self.link.with(|c| {
                    redis::cmd("XTRIM")
                        .arg(&key)
                        .arg("MAXLEN")
                        .arg(keep)
                        .query::<u64>(c)
                })?;
            }
        }
        Ok(trimmed > 0)
    }
}

impl Appender for RedisAppender {
    fn append(
        &mut self,
        batch: &[Entry<'_>],
        dedup_window_ms: Option<i64>,
    ) -> (Vec<Outcome>, Option<io::Error>) {
        let mut out = Vec::with_capacity(batch.len());
        if batch.is_empty() {
            return (out, None);
        }
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for e in batch {
            match (e.key, dedup_window_ms) {
                (Some(key), Some(window)) => {
                    let mut entry = format!("{}:idem:", self.key).into_bytes();
                    entry.extend_from_slice(key);
                    pipe.cmd("EVAL")
                        .arg(DEDUP_SCRIPT)
                        .arg(2)
                        .arg(&self.key)
                        .arg(entry)
                        .arg(e.ts_ms)
                        .arg(e.content_type)
                        .arg(e.data)
                        .arg(key)
                        .arg(window.max(1))
                        .arg(e.source.unwrap_or_default());
                }
                _ => {
                    pipe.cmd("XADD")
                        .arg(&self.key)
                        .arg("0-*")
                        .arg("t")
                        .arg(e.ts_ms)
                        .arg("c")
                        .arg(e.content_type)
                        .arg("d")
                        .arg(e.data);
                    if let Some(source) = e.source {
                        pipe.arg("s").arg(source);
                    }
                }
            }
        }
        let replies: Vec<Value> = match self.link.with(|c| pipe.query(c)) {
            Ok(r) => r,
            Err(e) => return (out, Some(e)),
        };
        for r in &replies {
            let outcome = match r {
                Value::Array(pair) => match (pair.first().and_then(parse_id), pair.get(1)) {
                    (Some(id), Some(Value::Int(1))) => Some(Outcome::Replay(id)),
                    (Some(id), Some(_)) => Some(Outcome::New(id)),
                    _ => None,
                },
                other => parse_id(other).map(Outcome::New),
            };
            match outcome {
                Some(o) => out.push(o),
                None => {
                    let why = match r {
                        Value::ServerError(e) => format!("XADD: {e:?}"),
                        other => format!("XADD answered {other:?}"),
                    };
                    return (out, Some(err(why)));
                }
            }
        }
        (out, None)
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn syncs(&self) -> bool {
        false
    }

    fn live_on_append(&self) -> bool {
        false
    }

    fn retain(&mut self, max_bytes: Option<u64>, max_age_ms: Option<i64>, now_ms: i64) {
        let Ok((info, used)) = self.read_figures() else {
            return;
        };
        // A failed trim is retried on the next round; the packets stay,
        // which loses nothing.
        let trimmed = (max_bytes.is_some() || max_age_ms.is_some())
            && self
                .trim(info, used, max_bytes, max_age_ms, now_ms)
                .unwrap_or(false);
        if trimmed {
            self.refresh();
        } else {
            self.store_figures(info, used);
        }
    }
}

impl Follower for RedisFollower {
    fn next(&mut self, after: u64, wait: Duration) -> io::Result<Vec<Packet>> {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let key = self.key.clone();
        let reply: Value = self.link.with(|c| {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(self.count)
                .arg("BLOCK")
                .arg(ms)
                .arg("STREAMS")
                .arg(&key)
                .arg(format!("0-{after}"))
                .query(c)
        })?;
        // [[key, [entries]]] (RESP2) or {key: [entries]} (RESP3); nil on
        // a timeout.
        let list = match &reply {
            Value::Nil => return Ok(Vec::new()),
            Value::Array(streams) => streams.first().and_then(|s| match s {
                Value::Array(kv) => kv.get(1),
                _ => None,
            }),
            Value::Map(m) => m.first().map(|(_, v)| v),
            _ => None,
        };
        match list {
            Some(l) => entries(l),
            None => Err(err("unexpected XREAD reply")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn reads_are_sized_by_the_largest_packet() {
        assert_eq!(read_count(128), READ_COUNT);
        assert_eq!(read_count(1 << 20), 64);
        assert_eq!(read_count(64 << 20), MIN_READ_COUNT);
        assert_eq!(read_count(0), READ_COUNT);
    }

    #[test]
    fn ids_are_the_sequence_of_zero_ms_stream_ids() {
        assert_eq!(parse_id(&bulk("0-1")), Some(1));
        assert_eq!(parse_id(&bulk("0-18446744073709551615")), Some(u64::MAX));
        assert_eq!(parse_id(&bulk("0-0")), None);
        assert_eq!(parse_id(&bulk("1700000000000-0")), None);
        assert_eq!(parse_id(&Value::Nil), None);
    }

    #[test]
    fn entries_decode_from_resp2_and_resp3_shapes() {
        let flat = Value::Array(vec![
            bulk("0-7"),
            Value::Array(vec![
                bulk("t"),
                bulk("1234"),
                bulk("c"),
                bulk("application/octet-stream"),
                bulk("d"),
                Value::BulkString(vec![0, 255, 1]),
            ]),
        ]);
        let p = entry(&flat).unwrap();
        assert_eq!((p.id, p.ts_ms), (7, 1234));
        assert_eq!(p.content_type, "application/octet-stream");
        assert_eq!(p.data, [0, 255, 1]);
        let map = Value::Array(vec![
            bulk("0-8"),
            Value::Map(vec![(bulk("d"), bulk("")), (bulk("t"), Value::Int(5))]),
        ]);
        let p = entry(&map).unwrap();
        assert_eq!((p.id, p.ts_ms, p.data.len()), (8, 5, 0));
        assert!(entry(&Value::Array(vec![bulk("99-1"), Value::Array(vec![])])).is_err());
    }
}
