//! Per-vhost access logs in the format lws writes (Apache combined):
//! `IP - - [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD PATH PROTO" STATUS BYTES "REFERER" "UA"`.
//!
//! Lines are handed to a writer thread over a bounded channel, so a slow
//! disk never stalls a service thread; the file is opened with `O_APPEND`
//! (mode 0600, as lws does), so `copytruncate` rotation is safe.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// Lines waiting for the writer before new ones are dropped (and counted).
const QUEUE_LINES: usize = 64 * 1024;
/// lws caps a path at 255 characters and a line at about 512 bytes.
const PATH_MAX_CHARS: usize = 255;
const FIELD_MAX_CHARS: usize = 200;

/// An open access log. Cloning shares the file and the writer.
#[derive(Clone, Debug)]
pub struct AccessLog {
    tx: SyncSender<String>,
    dropped: Arc<AtomicU64>,
    path: Arc<PathBuf>,
}

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
}

impl AccessLog {
    /// Opens (creating, mode 0600) `path` for appending and starts its writer.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let name = format!("access-log {}", path.display());
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(file, rx, name))?;
        Ok(AccessLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            path: Arc::new(path.to_path_buf()),
        })
    }

    /// Queues one line; never blocks. A full queue drops the line and counts it.
    pub fn record(&self, e: &Entry<'_>) {
        let line = format_line(e, &chrono::Local::now());
        if let Err(TrySendError::Full(_)) = self.tx.try_send(line) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    "{}: writer behind, {n} line(s) dropped so far",
                    self.path.display()
                );
            }
        }
    }
}

fn writer(file: File, rx: Receiver<String>, name: String) {
    let mut out = io::BufWriter::with_capacity(64 * 1024, file);
    while let Ok(line) = rx.recv() {
        let mut res = out.write_all(line.as_bytes());
        // Drain whatever else is queued, then write it out in one go.
        while res.is_ok() {
            match rx.try_recv() {
                Ok(l) => res = out.write_all(l.as_bytes()),
                Err(_) => break,
            }
        }
        if let Err(e) = res.and_then(|_| out.flush()) {
            tracing::error!("{name}: {e}");
        }
    }
}

/// lws replaces `"` in quoted fields with `'` and keeps lines short.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// Formats one line (with its newline) at time `now`.
pub fn format_line<Tz: chrono::TimeZone>(e: &Entry<'_>, now: &chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let peer = match e.peer {
        Some(IpAddr::V6(v6)) => v6.to_canonical().to_string(),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    };
    format!(
        "{peer} - - [{}] \"{} {} {}\" {} {} \"{}\" \"{}\"\n",
        now.format("%d/%b/%Y:%H:%M:%S %z"),
        clean(e.method, 16),
        clean(e.path, PATH_MAX_CHARS),
        e.version,
        e.status,
        e.bytes,
        clean(e.referer.unwrap_or(""), FIELD_MAX_CHARS),
        clean(e.user_agent.unwrap_or(""), FIELD_MAX_CHARS),
    )
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
        };
        assert_eq!(
            format_line(&e, &t),
            "127.0.0.1 - - [24/Nov/2026:09:05:07 +0100] \"GET /index.html HTTP/1.1\" 200 1234 \"http://x/\" \"curl 'x'\"\n"
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
        };
        assert_eq!(
            format_line(&e, &t),
            "unknown - - [02/Jan/2026:03:04:05 +0000] \"HEAD / HTTP/1.0\" 404 0 \"\" \"\"\n"
        );
    }
}
