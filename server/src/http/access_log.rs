//! Per-vhost access logs in the format lws writes (Apache combined):
//! `IP - USER [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD PATH PROTO" STATUS BYTES "REFERER" "UA"`.
//! USER is `-` (lws always writes `-`) unless the protocol that served the
//! request named the client (`comlink_access_log_user`, e.g. the label of
//! the token it presented); the path never has the query string, so
//! credentials passed there (`access_token`) are not logged.
//!
//! Service threads append lines to a shared in-memory batch; a writer thread
//! per log file writes the batch out every [`FLUSH_EVERY`] (sooner when it
//! grows past `WAKE_AT`). A request never waits for the disk and never
//! pays a system call or a thread wake-up for its line. The file is opened
//! with `O_APPEND` (mode 0600, as lws does), so `copytruncate` rotation is
//! safe.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::Duration;

/// How often the writer writes what has accumulated.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A batch this large wakes the writer early.
const WAKE_AT: usize = 64 * 1024;
/// A batch this large (writer stuck on a slow disk) drops new lines, counted.
const BATCH_MAX: usize = 8 * 1024 * 1024;
/// lws caps a path at 255 characters and a line at about 512 bytes.
const PATH_MAX_CHARS: usize = 255;
const FIELD_MAX_CHARS: usize = 200;

/// An open access log. Cloning shares the file and the writer.
#[derive(Clone, Debug)]
pub struct AccessLog {
    shared: Arc<Shared>,
    writer: Thread,
}

#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    dropped: u64,
}

#[derive(Debug)]
struct Shared {
    batch: Mutex<Batch>,
    path: PathBuf,
}

/// Who a plugin said the client of a response is: carried in the
/// response's extensions to the access log (never sent).
#[derive(Debug, Clone)]
pub struct LogUser(pub String);

/// What one line records.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The peer address (`unknown` when there is none).
    pub peer: Option<IpAddr>,
    /// Request method.
    pub method: &'a str,
    /// URL path, without the query string.
    pub path: &'a str,
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`.
    pub version: &'a str,
    /// Response status.
    pub status: u16,
    /// Response bytes.
    pub bytes: u64,
    /// `Referer` header.
    pub referer: Option<&'a str>,
    /// `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// Who the client is, as the protocol that served it said.
    pub user: Option<&'a str>,
}

impl AccessLog {
    /// Opens (creating, mode 0600) `path` for appending and starts its
    /// writer; with `owner`, the file is given to that uid/gid (0 = keep).
    pub fn open(path: &Path, owner: Option<(u32, u32)>) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        if let Some((uid, gid)) = owner {
            let uid = (uid != 0).then_some(uid);
            let gid = (gid != 0).then_some(gid);
            // Fails when we are not root any more; then the file is already ours.
            let _ = std::os::unix::fs::fchown(&file, uid, gid);
        }
        let shared = Arc::new(Shared {
            batch: Mutex::new(Batch::default()),
            path: path.to_path_buf(),
        });
        let s2 = shared.clone();
        let handle = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(file, s2))?;
        Ok(AccessLog {
            shared,
            writer: handle.thread().clone(),
        })
    }

    /// Adds one line to the batch; never blocks on the disk. The line is
    /// built in a per-thread buffer (no allocation per request), then
    /// copied into the batch under the lock.
    pub fn record(&self, e: &Entry<'_>) {
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return;
            };
            line.clear();
            TIME.with(|t| t.with_now(|time| write_line(&mut line, e, time)));
            let Ok(mut b) = self.shared.batch.lock() else {
                return;
            };
            if b.bytes.len() + line.len() > BATCH_MAX {
                b.dropped += 1;
                return;
            }
            b.bytes.extend_from_slice(&line);
            let wake = b.bytes.len() >= WAKE_AT;
            drop(b);
            if wake {
                self.writer.unpark();
            }
        });
    }
}

/// Bumped to make every writer reopen its file (SIGUSR1, SIGHUP), so
/// rotation by rename works as well as copytruncate.
static REOPEN: AtomicU64 = AtomicU64::new(0);

/// Every access log reopens its file by path before its next write.
pub fn reopen_all() {
    REOPEN.fetch_add(1, Ordering::Relaxed);
}

fn writer(mut file: File, shared: Arc<Shared>) {
    let mut out = Vec::new();
    let mut seen = REOPEN.load(Ordering::Relaxed);
    loop {
        std::thread::park_timeout(FLUSH_EVERY);
        let now = REOPEN.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            match OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&shared.path)
            {
                Ok(f) => file = f,
                Err(e) => tracing::error!("access-log {}: reopen: {e}", shared.path.display()),
            }
        }
        let (dropped, last) = {
            let Ok(mut b) = shared.batch.lock() else {
                return;
            };
            std::mem::swap(&mut out, &mut b.bytes);
            (
                std::mem::take(&mut b.dropped),
                Arc::strong_count(&shared) == 1,
            )
        };
        if dropped > 0 {
            tracing::warn!(
                "{}: writer behind, {dropped} line(s) dropped",
                shared.path.display()
            );
        }
        if !out.is_empty() {
            if let Err(e) = file.write_all(&out) {
                tracing::error!("access-log {}: {e}", shared.path.display());
            }
            out.clear();
        }
        if last {
            return;
        }
    }
}

/// The formatted local time, recomputed when the second changes (one
/// clock read per line; the time zone is looked up once a second).
struct TimeCache {
    secs: std::cell::Cell<u64>,
    text: std::cell::RefCell<String>,
}

thread_local! {
    static TIME: TimeCache = const {
        TimeCache {
            secs: std::cell::Cell::new(u64::MAX),
            text: std::cell::RefCell::new(String::new()),
        }
    };
    /// The line being built (kept, so a line costs no allocation).
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl TimeCache {
    fn with_now<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if secs != self.secs.get() {
            self.secs.set(secs);
            *self.text.borrow_mut() = chrono::Local::now()
                .format("%d/%b/%Y:%H:%M:%S %z")
                .to_string();
        }
        f(&self.text.borrow())
    }
}

/// lws replaces `"` in quoted fields with `'` and keeps lines short.
fn push_clean(out: &mut Vec<u8>, s: &str, max: usize) {
    // The common case, short printable ASCII without quotes, is copied as is.
    // (Checked without stopping early: the compiler makes it a vector loop.)
    if s.len() <= max
        && s.bytes()
            .fold(true, |ok, b| ok & (0x20..0x7f).contains(&b) & (b != b'"'))
    {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let mut tmp = [0u8; 4];
    for c in s.chars().take(max) {
        let c = match c {
            '"' => '\'',
            c if c.is_control() => '?',
            c => c,
        };
        out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    }
}

/// The user field: one word of printable ASCII (others become `?`),
/// `-` when there is none.
fn push_user(out: &mut Vec<u8>, u: Option<&str>) {
    match u.filter(|u| !u.is_empty()) {
        None => out.push(b'-'),
        Some(u) => out.extend(u.chars().take(FIELD_MAX_CHARS).map(|c| {
            if c.is_ascii_graphic() && c != '"' {
                c as u8
            } else {
                b'?'
            }
        })),
    }
}

/// Formats one line (with its newline) at time `now`.
pub fn format_line<Tz: chrono::TimeZone>(e: &Entry<'_>, now: &chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let mut out = Vec::new();
    write_line(&mut out, e, &now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends one line (with its newline) with an already formatted time.
fn write_line(out: &mut Vec<u8>, e: &Entry<'_>, time: &str) {
    // Writes into a Vec cannot fail.
    let peer = match e.peer {
        Some(IpAddr::V6(v6)) => Some(v6.to_canonical()),
        other => other,
    };
    let _ = match peer {
        Some(IpAddr::V4(v4)) => {
            // Dotted quad by hand: `Display` for an address goes through
            // padding support and costs more than the rest of the line.
            let mut n = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(n.format(octet).as_bytes());
            }
            Ok(())
        }
        Some(ip) => write!(out, "{ip}"),
        None => out.write_all(b"unknown"),
    };
    out.extend_from_slice(b" - ");
    push_user(out, e.user);
    out.extend_from_slice(b" [");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"] \"");
    push_clean(out, e.method, 16);
    out.push(b' ');
    push_clean(out, e.path, PATH_MAX_CHARS);
    out.push(b' ');
    out.extend_from_slice(e.version.as_bytes());
    out.extend_from_slice(b"\" ");
    let mut n = itoa::Buffer::new();
    out.extend_from_slice(n.format(e.status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(n.format(e.bytes).as_bytes());
    out.extend_from_slice(b" \"");
    push_clean(out, e.referer.unwrap_or(""), FIELD_MAX_CHARS);
    out.extend_from_slice(b"\" \"");
    push_clean(out, e.user_agent.unwrap_or(""), FIELD_MAX_CHARS);
    out.extend_from_slice(b"\"\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn line_is_apache_combined_like_lws() {
        let t = chrono::FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 24, 9, 5, 7)
            .unwrap();
        let e = Entry {
            peer: Some("::ffff:127.0.0.1".parse().unwrap()),
            method: "GET",
            path: "/index.html",
            version: "HTTP/1.1",
            status: 200,
            bytes: 1234,
            referer: Some("http://x/"),
            user_agent: Some("curl \"x\""),
            user: None,
        };
        assert_eq!(
            format_line(&e, &t),
            "127.0.0.1 - - [24/Nov/2026:09:05:07 +0100] \"GET /index.html HTTP/1.1\" 200 1234 \"http://x/\" \"curl 'x'\"\n"
        );
    }

    #[test]
    fn the_user_field_is_the_protocols_word_for_the_client() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let mut e = Entry {
            peer: Some("10.0.0.7".parse().unwrap()),
            method: "POST",
            path: "/formtest2",
            version: "HTTP/1.1",
            status: 200,
            bytes: 8,
            referer: None,
            user_agent: None,
            user: Some("ctrl-0042"),
        };
        assert_eq!(
            format_line(&e, &t),
            "10.0.0.7 - ctrl-0042 [02/Jan/2026:03:04:05 +0000] \"POST /formtest2 HTTP/1.1\" 200 8 \"\" \"\"\n"
        );
        // One word, whatever the protocol passed.
        e.user = Some("a b\"c\n");
        assert!(format_line(&e, &t).starts_with("10.0.0.7 - a?b?c? ["));
        e.user = Some("");
        assert!(format_line(&e, &t).starts_with("10.0.0.7 - - ["));
    }

    #[test]
    fn fields_are_cut_by_characters_and_cleaned_past_the_plain_ascii_case() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let long = "/".to_string() + &"é".repeat(300);
        let e = Entry {
            peer: Some("2001:db8::1".parse().unwrap()),
            method: "GET",
            path: &long,
            version: "HTTP/1.1",
            status: 200,
            bytes: 0,
            referer: Some("a\tb"),
            user_agent: Some("x\"y"),
            user: None,
        };
        let line = format_line(&e, &t);
        let want_path = "/".to_string() + &"é".repeat(PATH_MAX_CHARS - 1);
        assert_eq!(
            line,
            format!(
                "2001:db8::1 - - [02/Jan/2026:03:04:05 +0000] \"GET {want_path} HTTP/1.1\" 200 0 \"a?b\" \"x'y\"\n"
            )
        );
    }

    #[test]
    fn missing_fields_are_empty_quotes_and_unknown_peer() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let e = Entry {
            peer: None,
            method: "HEAD",
            path: "/",
            version: "HTTP/1.0",
            status: 404,
            bytes: 0,
            referer: None,
            user_agent: None,
            user: None,
        };
        assert_eq!(
            format_line(&e, &t),
            "unknown - - [02/Jan/2026:03:04:05 +0000] \"HEAD / HTTP/1.0\" 404 0 \"\" \"\"\n"
        );
    }
}
