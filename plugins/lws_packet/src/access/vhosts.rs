//! The access state of every vhost, library-global: a reload initialises
//! the new configuration's protocol instances while the old ones still
//! serve their connections (`plugin-api/docs/reload.md`), and both must
//! see the same, newest rules, so that a token the new files no longer
//! hold ends the old connections too. Kept here, by vhost name:
//!
//! * each protocol entry's options as read ([`Entry`]: the files, with
//!   what identifies their version on disk, and the rate limit), replaced
//!   by the newest PROTOCOL_INIT, and re-read when a file changes (checked
//!   at most once a second);
//! * [`EPOCH`], moved on by every change, which tells the hubs to check
//!   their connections' grants again (they are woken for it);
//! * per vhost ([`VhostShared`]): the rate limit's buckets, the refusal
//!   counters and the pace of the refusal log lines.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::certs::CertNames;
use super::rate::{Buckets, Rate};
use super::tokens::TokenSet;
use super::{Refusal, Side, SideRules};

/// The ingest protocol's name (its entry is where the options belong).
pub const INGEST_PROTOCOL: &str = "protocol-lws-packet";
/// The WebSocket delivery protocol's name.
pub const SUBSCRIBE_PROTOCOL: &str = "packet-subscribe";

/// The options, per side: the token file and the certificate-names file.
const FILE_KEYS: [(Side, &str, &str); 2] = [
    (Side::Ingest, "ingest-tokens", "ingest-cert-names"),
    (Side::Subscribe, "subscribe-tokens", "subscribe-cert-names"),
];

/// How often the files are looked at for changes.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Refusals are logged at most this often per vhost (the others counted).
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Moved on by every change of any vhost's rules.
pub static EPOCH: AtomicU64 = AtomicU64::new(0);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What tells a file's versions apart: device, inode, size, change time.
type Stamp = (u64, u64, u64, i64, i64);

fn stamp(path: &PathBuf) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok((m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

/// A file named by an option, as last read.
#[derive(Debug, Clone)]
struct File<T> {
    option: &'static str,
    path: PathBuf,
    stamp: Option<Stamp>,
    value: Arc<T>,
}

impl<T> File<T> {
    fn read(
        option: &'static str,
        path: &str,
        parse: fn(&str, &str) -> Result<T, String>,
    ) -> Result<File<T>, String> {
        let path = PathBuf::from(path);
        let st = stamp(&path).map_err(|e| format!("{option} {}: {e}", path.display()))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{option} {}: {e}", path.display()))?;
        let value = parse(&text, &path.display().to_string())?;
        Ok(File {
            option,
            path,
            stamp: Some(st),
            value: Arc::new(value),
        })
    }

    /// The file again if it changed on disk: `Ok(None)` when it did not,
    /// `Err` (with the stamp to remember) when it changed but cannot be
    /// used (the old entries stay).
    fn changed(
        &self,
        parse: fn(&str, &str) -> Result<T, String>,
    ) -> Result<Option<File<T>>, (String, Option<Stamp>)> {
        let now = stamp(&self.path).ok();
        if now == self.stamp {
            return Ok(None);
        }
        let Some(st) = now else {
            return Err((
                format!(
                    "{} {}: gone; keeping its last entries",
                    self.option,
                    self.path.display()
                ),
                None,
            ));
        };
        match File::read(self.option, &self.path.display().to_string(), parse) {
            Ok(mut f) => {
                f.stamp = Some(st);
                Ok(Some(f))
            }
            Err(e) => Err((format!("{e}; keeping its last entries"), Some(st))),
        }
    }
}

/// One protocol entry's access options on one vhost, as read.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    tokens: [Option<File<TokenSet>>; 2],
    certs: [Option<File<CertNames>>; 2],
    rate: Option<Rate>,
}

fn index(side: Side) -> usize {
    match side {
        Side::Ingest => 0,
        Side::Subscribe => 1,
    }
}

impl Entry {
    /// Reads the access options of a protocol entry (`get` gives one) and
    /// the files they name. A file that cannot be read or has a bad line
    /// is an error: the side it protects must not open by mistake.
    pub fn from_options<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Entry, String> {
        let mut e = Entry::default();
        for (side, tokens, certs) in FILE_KEYS {
            if let Some(p) = get(tokens).filter(|p| !p.is_empty()) {
                e.tokens[index(side)] = Some(File::read(tokens, p, TokenSet::parse)?);
            }
            if let Some(p) = get(certs).filter(|p| !p.is_empty()) {
                e.certs[index(side)] = Some(File::read(certs, p, CertNames::parse)?);
            }
        }
        if let Some(r) = get("ingest-rate") {
            e.rate = Some(Rate::parse(r, get("ingest-burst"))?);
        } else if get("ingest-burst").is_some() {
            return Err("ingest-burst without ingest-rate".into());
        }
        Ok(e)
    }

    /// The rules this entry names for `side` (`None`: it names neither
    /// file of that side).
    pub fn side(&self, side: Side) -> Option<SideRules> {
        let i = index(side);
        let (t, c) = (&self.tokens[i], &self.certs[i]);
        (t.is_some() || c.is_some()).then(|| SideRules {
            tokens: t.as_ref().map(|f| f.value.clone()),
            certs: c.as_ref().map(|f| f.value.clone()),
        })
    }

    /// The files it names, for the log: `option path (N entries)`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..2 {
            if let Some(f) = &self.tokens[i] {
                out.push(format!(
                    "{} {} ({} tokens)",
                    f.option,
                    f.path.display(),
                    f.value.len()
                ));
            }
            if let Some(f) = &self.certs[i] {
                out.push(format!(
                    "{} {} ({} names)",
                    f.option,
                    f.path.display(),
                    f.value.len()
                ));
            }
        }
        out
    }

    /// This entry with the files that changed on disk read again, if any
    /// did; and the problems met (a file gone or broken keeps its entries).
    pub fn refreshed(&self) -> (Option<Entry>, Vec<String>) {
        let mut next = self.clone();
        let mut changed = false;
        let mut problems = Vec::new();
        for i in 0..2 {
            if let Some(f) = &self.tokens[i] {
                match f.changed(TokenSet::parse) {
                    Ok(None) => {}
                    Ok(Some(new)) => {
                        problems.push(format!(
                            "{} {}: re-read ({} tokens)",
                            new.option,
                            new.path.display(),
                            new.value.len()
                        ));
                        next.tokens[i] = Some(new);
                        changed = true;
                    }
                    Err((why, st)) => {
                        problems.push(why);
                        if let Some(t) = next.tokens[i].as_mut() {
                            t.stamp = st;
                        }
                        changed = true;
                    }
                }
            }
            if let Some(f) = &self.certs[i] {
                match f.changed(CertNames::parse) {
                    Ok(None) => {}
                    Ok(Some(new)) => {
                        problems.push(format!(
                            "{} {}: re-read ({} names)",
                            new.option,
                            new.path.display(),
                            new.value.len()
                        ));
                        next.certs[i] = Some(new);
                        changed = true;
                    }
                    Err((why, st)) => {
                        problems.push(why);
                        if let Some(c) = next.certs[i].as_mut() {
                            c.stamp = st;
                        }
                        changed = true;
                    }
                }
            }
        }
        (changed.then_some(next), problems)
    }
}

/// The access state of one protocol on one vhost (by name).
#[derive(Debug)]
pub struct Access {
    vhost: String,
    protocol: &'static str,
    entry: Mutex<Arc<Entry>>,
    /// The vhost (address) of the instance that configured it last.
    owner: AtomicUsize,
    checked: Mutex<Option<Instant>>,
    /// What the vhost's protocols share.
    pub shared: Arc<VhostShared>,
}

type Map<K, V> = Mutex<Option<HashMap<K, V>>>;

/// By vhost name, then protocol (looked up on every request: no key is
/// allocated for it).
static ACCESS: Map<String, HashMap<&'static str, Arc<Access>>> = Mutex::new(None);
static SHARED: Map<String, Arc<VhostShared>> = Mutex::new(None);

/// Something changed: hubs check their connections again.
fn changed() {
    EPOCH.fetch_add(1, Ordering::AcqRel);
}

/// Installs `entry` as the options of `protocol` on vhost `vhost`, from
/// the instance on vhost address `owner` (a PROTOCOL_INIT); connections of
/// older instances see it at once.
pub fn configure(vhost: &str, protocol: &'static str, owner: usize, entry: Entry) -> Arc<Access> {
    let shared = {
        let mut m = lock(&SHARED);
        m.get_or_insert_with(HashMap::new)
            .entry(vhost.to_string())
            .or_insert_with(|| Arc::new(VhostShared::default()))
            .clone()
    };
    let mut m = lock(&ACCESS);
    let a = m
        .get_or_insert_with(HashMap::new)
        .entry(vhost.to_string())
        .or_default()
        .entry(protocol)
        .or_insert_with(|| {
            Arc::new(Access {
                vhost: vhost.to_string(),
                protocol,
                entry: Mutex::new(Arc::new(Entry::default())),
                owner: AtomicUsize::new(owner),
                checked: Mutex::new(None),
                shared,
            })
        })
        .clone();
    *lock(&a.entry) = Arc::new(entry);
    a.owner.store(owner, Ordering::Release);
    *lock(&a.checked) = Some(Instant::now());
    changed();
    a
}

/// The instance on vhost address `owner` is gone (PROTOCOL_DESTROY): its
/// options stop applying, unless a newer instance configured them since.
pub fn release(access: &Access, owner: usize) {
    if access.owner.load(Ordering::Acquire) != owner {
        return;
    }
    let mut m = lock(&ACCESS);
    if let Some(by_protocol) = m.as_mut().and_then(|m| m.get_mut(&access.vhost)) {
        by_protocol.remove(access.protocol);
    }
    changed();
}

fn lookup(vhost: &str, protocol: &'static str) -> Option<Arc<Access>> {
    lock(&ACCESS)
        .as_ref()
        .and_then(|m| m.get(vhost))
        .and_then(|p| p.get(protocol).cloned())
}

impl Access {
    /// The vhost's name.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    fn entry(&self) -> Arc<Entry> {
        lock(&self.entry).clone()
    }

    /// The other protocol's state on this vhost, if it is there.
    fn sibling(&self) -> Option<Arc<Access>> {
        let other = if self.protocol == INGEST_PROTOCOL {
            SUBSCRIBE_PROTOCOL
        } else {
            INGEST_PROTOCOL
        };
        lookup(&self.vhost, other)
    }

    /// The rules of `side` for this protocol: its own entry's when it
    /// names them, else the other protocol's entry's on the vhost (so a
    /// key may be in either entry), else open.
    pub fn rules(&self, side: Side) -> SideRules {
        self.entry()
            .side(side)
            .or_else(|| self.sibling().and_then(|s| s.entry().side(side)))
            .unwrap_or_default()
    }

    /// The ingest rate limit (the ingest protocol's entry's).
    pub fn rate(&self) -> Option<Rate> {
        if self.protocol == INGEST_PROTOCOL {
            self.entry().rate
        } else {
            self.sibling().and_then(|s| s.entry().rate)
        }
    }

    /// Reads its files again if they changed (looked at once a second at
    /// most); returns what to log.
    pub fn refresh(&self) -> Vec<String> {
        {
            let mut c = lock(&self.checked);
            let now = Instant::now();
            if c.is_some_and(|t| now.duration_since(t) < CHECK_EVERY) {
                return Vec::new();
            }
            *c = Some(now);
        }
        let (next, lines) = self.entry().refreshed();
        if let Some(next) = next {
            *lock(&self.entry) = Arc::new(next);
            changed();
        }
        lines
    }
}

/// What the protocols of one vhost share.
#[derive(Debug, Default)]
pub struct VhostShared {
    /// The rate limit's buckets, by source.
    pub buckets: Mutex<Buckets>,
    /// Refusals by side and reason.
    refusals: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Packets refused by the rate limit, by source.
    limited: Mutex<BTreeMap<String, u64>>,
    throttle: Mutex<Throttle>,
}

#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    held: u64,
}

impl VhostShared {
    /// Counts a refusal; returns the line to log, if one is due (one per
    /// [`LOG_EVERY`], saying how many were not logged).
    pub fn refused(&self, side: Side, refusal: Refusal, what: &str) -> Option<String> {
        *lock(&self.refusals)
            .entry((side.name(), refusal.reason()))
            .or_default() += 1;
        self.pace(format!(
            "refused {what}: {} {}",
            refusal.status(),
            refusal.message(side)
        ))
    }

    /// Counts a packet refused by the rate limit; the line to log, if due.
    pub fn limited(&self, source: &str, what: &str) -> Option<String> {
        *lock(&self.limited).entry(source.to_string()).or_default() += 1;
        self.pace(format!("refused {what}: 429 over ingest-rate"))
    }

    fn pace(&self, line: String) -> Option<String> {
        let mut t = lock(&self.throttle);
        let now = Instant::now();
        if t.last.is_some_and(|l| now.duration_since(l) < LOG_EVERY) {
            t.held += 1;
            return None;
        }
        let held = std::mem::take(&mut t.held);
        t.last = Some(now);
        Some(if held > 0 {
            format!("{line} (and {held} more refusals not logged)")
        } else {
            line
        })
    }

    /// Refusals: (side, reason, count).
    pub fn refusals(&self) -> Vec<(&'static str, &'static str, u64)> {
        lock(&self.refusals)
            .iter()
            .map(|(&(s, r), &n)| (s, r, n))
            .collect()
    }

    /// Packets refused by the rate limit: (source, count).
    pub fn rate_limited(&self) -> Vec<(String, u64)> {
        lock(&self.limited)
            .iter()
            .map(|(k, &n)| (k.clone(), n))
            .collect()
    }
}

static WARNED: Mutex<Option<HashSet<(String, Side)>>> = Mutex::new(None);

/// Whether to warn that `side` of `vhost` is open (once per process).
pub fn first_warning(vhost: &str, side: Side) -> bool {
    lock(&WARNED)
        .get_or_insert_with(HashSet::new)
        .insert((vhost.to_string(), side))
}

/// Whether a vhost's `interface` keeps it on this machine.
pub fn is_loopback(iface: Option<&str>) -> bool {
    match iface {
        None => false,
        Some(i) => {
            i == "lo"
                || i == "localhost"
                || i.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::tokens::hash;

    const T1: &str = "token-one-0000001";
    const T2: &str = "token-two-0000002";

    fn opts<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
    }

    #[test]
    fn an_entry_reads_the_files_its_options_name() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("ingest");
        std::fs::write(&t, format!("ctrl-1 {T1}\n")).unwrap();
        let c = dir.path().join("names");
        std::fs::write(&c, "reader Reader Cert\n").unwrap();
        let (t, c) = (t.to_str().unwrap(), c.to_str().unwrap());
        let e = Entry::from_options(opts(&[
            ("ingest-tokens", t),
            ("subscribe-cert-names", c),
            ("ingest-rate", "5"),
        ]))
        .unwrap();
        let ingest = e.side(Side::Ingest).unwrap();
        assert_eq!(ingest.tokens.unwrap().label_of(&hash(T1)), Some("ctrl-1"));
        assert!(ingest.certs.is_none());
        let sub = e.side(Side::Subscribe).unwrap();
        assert_eq!(sub.certs.unwrap().label_for("Reader Cert"), Some("reader"));
        assert_eq!(e.rate.unwrap().per_sec, 5.0);
        assert_eq!(e.describe().len(), 2);
        // No option: no rules of its own.
        let none = Entry::from_options(opts(&[])).unwrap();
        assert!(none.side(Side::Ingest).is_none() && none.side(Side::Subscribe).is_none());
    }

    #[test]
    fn a_missing_or_broken_file_is_an_error_and_never_opens_the_side() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let e =
            Entry::from_options(opts(&[("ingest-tokens", gone.to_str().unwrap())])).unwrap_err();
        assert!(e.starts_with("ingest-tokens "), "{e}");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "label-without-token\n").unwrap();
        let e =
            Entry::from_options(opts(&[("subscribe-tokens", bad.to_str().unwrap())])).unwrap_err();
        assert!(e.contains(":1:"), "{e}");
        assert!(Entry::from_options(opts(&[("ingest-burst", "3")])).is_err());
        assert!(Entry::from_options(opts(&[("ingest-rate", "x")])).is_err());
    }

    #[test]
    fn a_changed_file_is_read_again_and_a_broken_one_keeps_the_old_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokens");
        std::fs::write(&p, format!("a {T1}\n")).unwrap();
        let e = Entry::from_options(opts(&[("subscribe-tokens", p.to_str().unwrap())])).unwrap();
        assert!(e.refreshed().0.is_none(), "unchanged");
        // Replaced the way editors and secret managers do: a new file.
        let tmp = dir.path().join("tokens.new");
        std::fs::write(&tmp, format!("b {T2}\n")).unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        let (next, lines) = e.refreshed();
        let next = next.expect("changed");
        assert!(lines[0].contains("re-read (1 tokens)"), "{lines:?}");
        let set = next.side(Side::Subscribe).unwrap().tokens.unwrap();
        assert_eq!(set.label_of(&hash(T1)), None);
        assert_eq!(set.label_of(&hash(T2)), Some("b"));
        // Broken: the entries stay, said once.
        std::fs::write(&tmp, "broken\n").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        let (after, lines) = next.refreshed();
        let after = after.unwrap();
        assert!(lines[0].contains("keeping its last entries"), "{lines:?}");
        let set = after.side(Side::Subscribe).unwrap().tokens.unwrap();
        assert_eq!(set.label_of(&hash(T2)), Some("b"));
        assert!(after.refreshed().0.is_none(), "not said again");
        // Gone: the same.
        std::fs::remove_file(&p).unwrap();
        let (gone, lines) = after.refreshed();
        assert!(gone.is_some() && lines[0].contains("gone"), "{lines:?}");
    }

    #[test]
    fn refusals_are_counted_and_logged_at_a_pace() {
        let s = VhostShared::default();
        assert!(s.refused(Side::Ingest, Refusal::Invalid, "POST").is_some());
        for _ in 0..5 {
            assert!(s
                .refused(Side::Subscribe, Refusal::Missing, "GET")
                .is_none());
        }
        assert!(s.limited("ctrl-1", "POST").is_none());
        assert_eq!(
            s.refusals(),
            [("ingest", "invalid", 1), ("subscribe", "missing", 5)]
        );
        assert_eq!(s.rate_limited(), [("ctrl-1".to_string(), 1)]);
        // The next line, once due, says how many were held back.
        lock(&s.throttle).last = Some(Instant::now() - LOG_EVERY);
        let line = s.refused(Side::Ingest, Refusal::Missing, "POST").unwrap();
        assert!(line.ends_with("(and 6 more refusals not logged)"), "{line}");
    }

    #[test]
    fn loopback_interfaces() {
        for yes in ["127.0.0.1", "127.0.0.2", "::1", "lo", "localhost"] {
            assert!(is_loopback(Some(yes)), "{yes}");
        }
        for no in ["0.0.0.0", "10.0.0.1", "eth0", "::"] {
            assert!(!is_loopback(Some(no)), "{no}");
        }
        assert!(!is_loopback(None));
    }
}
