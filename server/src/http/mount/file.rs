//! `file://` mounts: static files, with lws's caching headers, its ETag
//! form, conditional requests, single ranges and HEAD.
//!
//! Small files are kept in a per-service-thread cache (checked against the
//! file's length and mtime on every request), so the common case is one
//! `openat2`, one `fstat` and one `close`; large files are streamed in big chunks and never
//! read whole into memory. The same cache keeps, per file, the headers its
//! length and mtime determine (ETag, Last-Modified) and the Content-Type
//! its name got on its mount, so a repeated request formats none of them.

use std::cell::RefCell;
use std::fs::{File, Metadata};
use std::io::{Read, SeekFrom};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::header::{
    HeaderValue, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use nix::errno::Errno;
use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::config::Mount;
use crate::http::response::{self, full, status_page, Response};

/// Files up to this size are served from memory.
const CACHE_FILE_MAX: u64 = 256 * 1024;
/// Per-thread cap on cached bytes; past it the cache starts over.
const CACHE_TOTAL_MAX: usize = 32 * 1024 * 1024;
/// Per-thread cap on files known (with or without their bytes).
const CACHE_ENTRIES_MAX: usize = 4096;
/// Read size when streaming a large file.
const STREAM_CHUNK: usize = 256 * 1024;

/// A `file://` mount, ready to serve.
#[derive(Debug)]
pub struct FileMount {
    /// Tells this mount's Content-Types apart in the per-thread cache (an
    /// address could be reused by a mount of a later configuration).
    id: u64,
    root: PathBuf,
    /// The root, opened once (O_PATH), for `openat2`.
    root_dir: Option<OwnedFd>,
    canonical_root: Option<PathBuf>,
    default: String,
    cache_control: HeaderValue,
    /// `extra-mimetypes`: lower-cased suffix -> type; `*` is the catch-all.
    extra_mimetypes: Vec<(String, String)>,
}

impl FileMount {
    /// Prepares the mount (the root is resolved now if it exists, else per request).
    pub fn new(m: &Mount, root: &Path) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        FileMount {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            root: root.to_path_buf(),
            root_dir: open(
                root,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok(),
            canonical_root: std::fs::canonicalize(root).ok(),
            default: m.default.clone().unwrap_or_else(|| "index.html".into()),
            cache_control: cache_control(m),
            extra_mimetypes: m
                .extra_mimetypes
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        }
    }

    /// The content type for `name`: `extra-mimetypes` first, then the
    /// built-in table; `None` means "not served" (lws v4.3 answers 415 so
    /// that, say, `/etc/passwd` is never handed out by accident).
    /// `Some("")` means serve without a Content-Type.
    pub fn content_type(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        for (suffix, ty) in &self.extra_mimetypes {
            if suffix != "*" && lower.ends_with(suffix.as_str()) {
                return Some(ty.clone());
            }
        }
        let ext = Path::new(&lower).extension().and_then(|e| e.to_str());
        if let Some(ty) = ext.and_then(|e| mime_guess::from_ext(e).first_raw()) {
            return Some(ty.to_string());
        }
        self.extra_mimetypes
            .iter()
            .find(|(s, _)| s == "*")
            .map(|(_, ty)| ty.clone())
    }

    /// Serves `rest` (the decoded path after the mountpoint, no leading `/`).
    pub async fn serve(&self, method: &Method, headers: &HeaderMap, rest: &str) -> Response {
        if method != Method::GET && method != Method::HEAD {
            let mut resp = status_page(StatusCode::METHOD_NOT_ALLOWED);
            resp.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        let Some((file, meta, path)) = self.locate(rest) else {
            return status_page(StatusCode::NOT_FOUND);
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let len = meta.len();
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        let mtime_secs = mtime
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let known = self.known(&meta, name);
        let Some(ctype) = known.content_type else {
            return status_page(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        };
        let etag = known.etag.to_str().unwrap_or("");
        let last_modified = known.last_modified.to_str().unwrap_or("");

        if not_modified(headers, etag, mtime_secs) {
            let mut resp = http::Response::new(response::empty());
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            let h = resp.headers_mut();
            h.insert(ETAG, known.etag.clone());
            h.insert(CACHE_CONTROL, self.cache_control.clone());
            h.insert(LAST_MODIFIED, known.last_modified.clone());
            return resp;
        }

        let range = match wanted_range(headers, etag, last_modified, len) {
            Ok(r) => r,
            Err(()) => {
                let mut resp = status_page(StatusCode::RANGE_NOT_SATISFIABLE);
                resp.headers_mut()
                    .insert(CONTENT_RANGE, hv(&format!("bytes */{len}")));
                return resp;
            }
        };
        let (status, start, count) = match range {
            Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
            None => (StatusCode::OK, 0, len),
        };

        let body = if method == Method::HEAD {
            response::empty()
        } else {
            match self.body(file, &meta, start, count).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("{}: {e}", path.display());
                    return status_page(StatusCode::NOT_FOUND);
                }
            }
        };
        let mut resp = http::Response::new(body);
        // Room for the six headers below and the vhost's `Server:` without
        // the map growing (an empty map first grows to room for six).
        *resp.headers_mut() = HeaderMap::with_capacity(8);
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        if let Some(v) = ctype {
            h.insert(CONTENT_TYPE, v);
        }
        h.insert(CONTENT_LENGTH, HeaderValue::from(count));
        h.insert(ETAG, known.etag.clone());
        h.insert(LAST_MODIFIED, known.last_modified.clone());
        h.insert(CACHE_CONTROL, self.cache_control.clone());
        h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if status == StatusCode::PARTIAL_CONTENT {
            h.insert(
                CONTENT_RANGE,
                hv(&format!("bytes {start}-{}/{len}", start + count - 1)),
            );
        }
        resp
    }

    /// The headers `meta`'s length and mtime and `name` determine, from
    /// this thread's cache when the file has not changed since.
    fn known(&self, meta: &Metadata, name: &str) -> Known {
        let len = meta.len();
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let Cache { files, bytes } = &mut *c;
            let key = (meta.dev(), meta.ino());
            if files.len() >= CACHE_ENTRIES_MAX && !files.contains_key(&key) {
                files.clear();
                *bytes = 0;
            }
            let e = files
                .entry(key)
                .or_insert_with(|| CacheEntry::new(len, mtime));
            if e.len != len || e.mtime != mtime {
                *bytes -= e.bytes.as_ref().map_or(0, Bytes::len);
                *e = CacheEntry::new(len, mtime);
            }
            let content_type = match &e.content_type {
                Some((id, n, t)) if *id == self.id && **n == *name => t.clone(),
                _ => {
                    let t = self.content_type(name).map(|t| {
                        (!t.is_empty())
                            .then(|| HeaderValue::from_str(&t).ok())
                            .flatten()
                    });
                    e.content_type = Some((self.id, name.into(), t.clone()));
                    t
                }
            };
            Known {
                etag: e.etag.clone(),
                last_modified: e.last_modified.clone(),
                content_type,
            }
        })
    }

    /// Opens `rest` as a regular file inside the mount (a directory gets the
    /// `default` document), following symlinks only while they stay inside
    /// the mount's directory.
    fn locate(&self, rest: &str) -> Option<(File, Metadata, PathBuf)> {
        let mut rel = PathBuf::from(if rest.is_empty() { "." } else { rest });
        if rest.is_empty() || rest.ends_with('/') {
            rel.push(&self.default);
        }
        let (mut file, mut meta) = self.open_beneath(&rel)?;
        if meta.is_dir() {
            rel.push(&self.default);
            (file, meta) = self.open_beneath(&rel)?;
        }
        meta.is_file().then_some((file, meta, rel))
    }

    /// One `openat2(RESOLVE_BENEATH)` where the kernel has it: the kernel
    /// refuses any escape, and we pay no `realpath`. Absolute symlinks (which
    /// RESOLVE_BENEATH refuses outright) and kernels without openat2 take the
    /// slow path: resolve, then check the result is under the root.
    fn open_beneath(&self, rel: &Path) -> Option<(File, Metadata)> {
        if OPENAT2.load(Ordering::Relaxed) {
            if let Some(dir) = &self.root_dir {
                let how = OpenHow::new()
                    .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY)
                    .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
                match openat2(dir, rel, how) {
                    Ok(fd) => {
                        let file = File::from(fd);
                        let meta = file.metadata().ok()?;
                        return Some((file, meta));
                    }
                    Err(Errno::ENOENT) | Err(Errno::ENOTDIR) | Err(Errno::EACCES) => return None,
                    Err(Errno::ENOSYS) | Err(Errno::EPERM) => {
                        OPENAT2.store(false, Ordering::Relaxed);
                    }
                    Err(_) => {} // EXDEV, ELOOP...: decide on the slow path
                }
            }
        }
        let path = self.root.join(rel);
        let canonical = std::fs::canonicalize(&path).ok()?;
        let root = match &self.canonical_root {
            Some(r) => r.clone(),
            None => std::fs::canonicalize(&self.root).ok()?,
        };
        if !canonical.starts_with(&root) {
            tracing::warn!(
                "refusing {}: it resolves outside {}",
                path.display(),
                root.display()
            );
            return None;
        }
        let file = File::open(&canonical).ok()?;
        let meta = file.metadata().ok()?;
        Some((file, meta))
    }

    async fn body(
        &self,
        file: File,
        meta: &Metadata,
        start: u64,
        count: u64,
    ) -> std::io::Result<response::Body> {
        if meta.len() <= CACHE_FILE_MAX {
            let bytes = cached_read(file, meta)?;
            return Ok(full(bytes.slice(start as usize..(start + count) as usize)));
        }
        let mut file = tokio::fs::File::from_std(file);
        if start > 0 {
            file.seek(SeekFrom::Start(start)).await?;
        }
        let reader = file.take(count);
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, STREAM_CHUNK)
            .map_ok(http_body::Frame::data);
        Ok(StreamBody::new(stream).boxed_unsync())
    }
}

/// Whether `openat2` works here (cleared at the first ENOSYS/EPERM).
static OPENAT2: AtomicBool = AtomicBool::new(true);

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Cache-Control` as lws builds it from the mount's cache keys.
fn cache_control(m: &Mount) -> HeaderValue {
    let s = if m.cache_max_age > 0 && m.cache_reuse {
        format!(
            "{}{}, max-age={}",
            if m.cache_revalidate {
                "must-revalidate, "
            } else {
                ""
            },
            if m.cache_intermediaries {
                "public"
            } else {
                "private"
            },
            m.cache_max_age
        )
    } else if m.cache_no {
        "no-cache".to_string()
    } else {
        "no-store".to_string()
    };
    hv(&s)
}

/// `If-None-Match` (exact tag, quoted or not, or `*`) wins over `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &str, mtime_secs: u64) -> bool {
    if let Some(inm) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return inm.split(',').any(|t| {
            let t = t.trim().trim_start_matches("W/").trim_matches('"');
            t == etag || t == "*"
        });
    }
    if let Some(ims) = headers
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        let ims = ims
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return mtime_secs <= ims;
    }
    false
}

/// The one byte range asked for, inclusive, if it should be honoured.
/// `Err` = unsatisfiable (416). Several ranges, or a stale `If-Range`,
/// give the whole file.
fn wanted_range(
    headers: &HeaderMap,
    etag: &str,
    last_modified: &str,
    len: u64,
) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = headers.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(ir) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok()) {
        let ir = ir.trim().trim_matches('"');
        if ir != etag && ir != last_modified {
            return Ok(None);
        }
    }
    let Some(set) = spec.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if set.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = set.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 || len == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let Ok(s) = a.parse::<u64>() else {
            return Ok(None);
        };
        let e = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            match b.parse::<u64>() {
                Ok(e) if e >= s => e.min(len.saturating_sub(1)),
                _ => return Ok(None),
            }
        };
        if s >= len {
            return Err(());
        }
        (s, e)
    };
    Ok(Some(parsed))
}

/// What the cache knows of one file (by device and inode), valid while
/// its length and mtime are these.
struct CacheEntry {
    len: u64,
    mtime: SystemTime,
    /// lws's form: 8 hex digits of length, 8 of mtime, upper case, unquoted.
    etag: HeaderValue,
    last_modified: HeaderValue,
    /// The Content-Type answered for it (see [`Known`]), with the mount
    /// and the name it was worked out for (a hard link may have another).
    content_type: Option<(u64, Box<str>, Option<Option<HeaderValue>>)>,
    /// The contents, once read (small files only).
    bytes: Option<Bytes>,
}

impl CacheEntry {
    fn new(len: u64, mtime: SystemTime) -> CacheEntry {
        let secs = mtime
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        CacheEntry {
            len,
            mtime,
            etag: hv(&format!("{:08X}{:08X}", len as u32, secs as u32)),
            last_modified: hv(&httpdate::fmt_http_date(mtime)),
            content_type: None,
            bytes: None,
        }
    }
}

/// A file's headers for one response.
struct Known {
    etag: HeaderValue,
    last_modified: HeaderValue,
    /// `None`: not served (415); `Some(None)`: served without a
    /// Content-Type.
    content_type: Option<Option<HeaderValue>>,
}

/// Files known by (device, inode), and the total of their cached bytes.
#[derive(Default)]
struct Cache {
    files: FxHashMap<(u64, u64), CacheEntry>,
    bytes: usize,
}

thread_local! {
    // Per service thread: no locks, and each thread's working set stays hot.
    // Keyed by (device, inode): the file already opened is the one served.
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

fn cached_read(mut file: File, meta: &Metadata) -> std::io::Result<Bytes> {
    let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
    let key = (meta.dev(), meta.ino());
    let hit = CACHE.with(|c| {
        c.borrow()
            .files
            .get(&key)
            .filter(|e| e.len == meta.len() && e.mtime == mtime)
            .and_then(|e| e.bytes.clone())
    });
    if let Some(b) = hit {
        return Ok(b);
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut buf)?;
    let bytes = Bytes::from(buf);
    if bytes.len() as u64 != meta.len() {
        // Changed while we read it: serve what we read, do not cache.
        return Ok(bytes);
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.bytes + bytes.len() > CACHE_TOTAL_MAX {
            c.files.clear();
            c.bytes = 0;
        }
        let Cache {
            files,
            bytes: total,
        } = &mut *c;
        let e = files
            .entry(key)
            .or_insert_with(|| CacheEntry::new(meta.len(), mtime));
        if e.len != meta.len() || e.mtime != mtime {
            *total -= e.bytes.as_ref().map_or(0, Bytes::len);
            *e = CacheEntry::new(meta.len(), mtime);
        }
        *total += bytes.len();
        if let Some(old) = e.bytes.replace(bytes.clone()) {
            *total -= old.len();
        }
    });
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;
    use crate::http::mount::tests::mount;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cache_control_follows_lws() {
        let mut m = mount("/", Origin::File("/x".into()));
        assert_eq!(cache_control(&m), "no-store");
        m.cache_no = true;
        assert_eq!(cache_control(&m), "no-cache");
        m.cache_max_age = 60;
        m.cache_reuse = true;
        assert_eq!(cache_control(&m), "private, max-age=60");
        m.cache_revalidate = true;
        m.cache_intermediaries = true;
        assert_eq!(cache_control(&m), "must-revalidate, public, max-age=60");
    }

    #[test]
    fn ranges() {
        let r = |s: &str| wanted_range(&headers(&[("range", s)]), "E", "L", 100);
        assert_eq!(r("bytes=0-9"), Ok(Some((0, 9))));
        assert_eq!(r("bytes=90-"), Ok(Some((90, 99))));
        assert_eq!(r("bytes=-10"), Ok(Some((90, 99))));
        assert_eq!(r("bytes=95-200"), Ok(Some((95, 99))));
        assert_eq!(r("bytes=100-"), Err(()));
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("items=0-1"), Ok(None));
        let stale = headers(&[("range", "bytes=0-1"), ("if-range", "OTHER")]);
        assert_eq!(wanted_range(&stale, "E", "L", 100), Ok(None));
    }

    #[test]
    fn conditional() {
        assert!(not_modified(
            &headers(&[("if-none-match", "ABC")]),
            "ABC",
            5
        ));
        assert!(not_modified(
            &headers(&[("if-none-match", "\"ABC\"")]),
            "ABC",
            5
        ));
        assert!(!not_modified(&headers(&[("if-none-match", "X")]), "ABC", 5));
        let ims = httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(1000));
        assert!(not_modified(
            &headers(&[("if-modified-since", &ims)]),
            "E",
            1000
        ));
        assert!(!not_modified(
            &headers(&[("if-modified-since", &ims)]),
            "E",
            1001
        ));
    }

    #[test]
    fn mime_types() {
        let mut m = mount("/", Origin::File("/x".into()));
        let fm = FileMount::new(&m, Path::new("/x"));
        assert_eq!(fm.content_type("a.html").as_deref(), Some("text/html"));
        assert_eq!(fm.content_type("A.CSS").as_deref(), Some("text/css"));
        assert_eq!(fm.content_type("passwd"), None);
        m.extra_mimetypes = vec![(".zz".into(), "app/zz".into()), ("*".into(), "".into())];
        let fm = FileMount::new(&m, Path::new("/x"));
        assert_eq!(fm.content_type("x.ZZ").as_deref(), Some("app/zz"));
        assert_eq!(fm.content_type("passwd").as_deref(), Some(""));
    }
}
