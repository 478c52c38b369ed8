//! The segment log: a directory of [`Segment`]s, the one [`Writer`] that
//! appends to the newest, and reads by id for any thread.
//!
//! Ids are contiguous within a run and strictly increasing across runs: at
//! open, the next id is one past the last intact record, and never below
//! the newest segment's first id (its name), so even a journal whose records
//! were all dropped by retention does not hand out an old id again.
//!
//! A write or fsync that fails stops the writer ([`Writer::broken`]): an
//! fsync is never retried on a descriptor whose fsync failed (the kernel
//! may have dropped the data it could not write). [`Writer::reopen`] then
//! cuts everything after the last durable point through new descriptors,
//! recovers the directory as at start, and the writer goes on.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crate::dedup::Dedup;
use crate::faults::{self, Faults, Op};
use crate::record;
use crate::record::Packet;
use crate::segment::{self, Corruption, Cut, KeyScan, Segment, HEADER};
use crate::store::Outcome;

/// The spare segment being zero-filled ahead of need.
const SPARE: &str = "spare.tmp";
/// The lock file that keeps a second process out of the directory.
const LOCK: &str = "lock";

/// Packets read from the log.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Ids that will never be delivered (dropped by retention, or lost to
    /// corruption), reported before the packets.
    pub gap: Option<(u64, u64)>,
    /// Packets in id order.
    pub packets: Vec<Packet>,
}

/// What opening the log found.
#[derive(Debug, Default)]
pub struct Recovery {
    /// The id the next packet gets.
    pub next_id: u64,
    /// Intact records found.
    pub records: u64,
    /// Segment files.
    pub segments: usize,
    /// A bad tail cut from the newest segment (a crash mid-write).
    pub cut: Option<(PathBuf, Cut)>,
    /// Problems in older segments (their data ends early).
    pub warnings: Vec<String>,
    /// Corrupt records found inside the data (their ids are reported to
    /// subscribers as gaps; the records after them are kept).
    pub corruptions: Vec<Corruption>,
    /// Idempotency keys of the records within the dedup window, loaded
    /// into the writer's index.
    pub keys: usize,
}

/// How to open the log.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Collect the idempotency keys of records at least this new (ms since
    /// the epoch) into the writer's index; none: keep no index.
    pub keys_since_ms: Option<i64>,
    /// Test-only fault injection.
    pub faults: Option<Faults>,
}

/// The read side, shared by every thread.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    segs: RwLock<Vec<Arc<Segment>>>,
    /// Corruption found by reads in segments since dropped (retention or a
    /// reopen), not yet reported.
    news: Mutex<Vec<Corruption>>,
}

/// A point in the log: (first id of a segment, offset in it).
type Point = (u64, u64);

/// The write side: owned by one thread.
#[derive(Debug)]
pub struct Writer {
    log: Arc<Log>,
    active: Arc<Segment>,
    offset: u64,
    next_id: u64,
    segment_bytes: u64,
    spare: Option<JoinHandle<io::Result<()>>>,
    buf: Vec<u8>,
    broken: Option<String>,
    /// Everything up to here was synced.
    synced: Point,
    /// Everything up to here was written.
    written: Point,
    /// The furthest byte of the active segment a write may have touched.
    high_water: u64,
    /// Idempotency keys of the window (only with a window: see
    /// [`Options::keys_since_ms`]).
    dedup: Dedup,
    faults: Option<Faults>,
    _lock: File,
}

/// One packet to append.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Timestamp, ms since the epoch.
    pub ts_ms: i64,
    /// Content type.
    pub content_type: &'a [u8],
    /// Body.
    pub data: &'a [u8],
    /// Idempotency key (scoped by the caller, e.g. with the vhost).
    pub key: Option<&'a [u8]>,
    /// Who sent it (a token's or certificate's label).
    pub source: Option<&'a [u8]>,
}

/// Opens every segment of `dir` (repairing the newest) with new
/// descriptors; creates the first one in an empty directory.
fn recover(
    dir: &Path,
    segment_bytes: u64,
    mut keys: Option<&mut KeyScan>,
) -> io::Result<(Vec<Arc<Segment>>, Recovery)> {
    // A spare left by the last run is not removed here: freeing its 64 MiB
    // took tens of ms of the server's start-up, and the spare thread takes
    // it as it is or prepares it again (a segment file name never matches
    // it).
    let mut names: Vec<(u64, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if let Some(first) = e.file_name().to_str().and_then(segment::parse_name) {
            names.push((first, e.path()));
        }
    }
    names.sort();
    let mut rec = Recovery::default();
    let mut segs = Vec::new();
    let count = names.len();
    for (i, (first, path)) in names.into_iter().enumerate() {
        let newest = i + 1 == count;
        let (seg, cut, found) = Segment::open(&path, first, newest, keys.as_deref_mut())?;
        rec.records += seg.snapshot().records;
        rec.corruptions.extend(found);
        if let Some(c) = cut {
            if newest {
                rec.cut = Some((path.clone(), c));
            } else {
                rec.warnings.push(format!(
                    "{}: data ends early at offset {} ({}); later ids in it are lost",
                    path.display(),
                    c.offset,
                    c.reason
                ));
            }
        }
        segs.push(Arc::new(seg));
    }
    let last = segs.iter().map(|s| s.last_id()).max().unwrap_or(0);
    let newest_first = segs.last().map_or(1, |s| s.first_id);
    let next_id = (last + 1).max(newest_first).max(1);
    if segs.is_empty() {
        let spare = dir.join(SPARE);
        Segment::prepare(&spare, segment_bytes)?;
        segs.push(Arc::new(Segment::activate(&spare, dir, next_id)?));
    }
    rec.next_id = next_id;
    rec.segments = segs.len();
    Ok((segs, rec))
}

impl Log {
    /// Opens (creating) the log in `dir`, recovering after any crash.
    pub fn open(dir: &Path, segment_bytes: u64) -> io::Result<(Arc<Log>, Writer, Recovery)> {
        Log::open_with(dir, segment_bytes, &Options::default())
    }

    /// [`Log::open`] with an idempotency index and fault injection.
    pub fn open_with(
        dir: &Path,
        segment_bytes: u64,
        opts: &Options,
    ) -> io::Result<(Arc<Log>, Writer, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let lock = File::create(dir.join(LOCK))?;
        if lock.try_lock().is_err() {
            return Err(io::Error::other(format!(
                "{}: journal is in use by another process",
                dir.display()
            )));
        }
        let mut scan = opts.keys_since_ms.map(|since_ms| KeyScan {
            since_ms,
            found: Vec::new(),
        });
        let (segs, mut rec) = recover(dir, segment_bytes, scan.as_mut())?;
        let mut dedup = Dedup::default();
        if let Some(scan) = scan {
            for (k, id, ts) in &scan.found {
                dedup.insert(k, *id, *ts);
            }
            rec.keys = scan.found.len();
        }
        let active = segs
            .last()
            .cloned()
            .ok_or_else(|| io::Error::other("no segment"))?;
        let log = Arc::new(Log {
            dir: dir.to_path_buf(),
            segs: RwLock::new(segs),
            news: Mutex::new(Vec::new()),
        });
        let end = active.end();
        let here = (active.first_id, end);
        let mut w = Writer {
            log: log.clone(),
            offset: end,
            active,
            next_id: rec.next_id,
            segment_bytes,
            spare: None,
            buf: Vec::new(),
            broken: None,
            synced: here,
            written: here,
            high_water: end,
            dedup,
            faults: opts.faults.clone(),
            _lock: lock,
        };
        w.prepare_spare();
        Ok((log, w, rec))
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.segs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The oldest id still kept (or the next id when none is).
    pub fn first_id(&self) -> u64 {
        let segs = self.segs.read().unwrap_or_else(|e| e.into_inner());
        segs.first().map_or(1, |s| s.first_id)
    }

    /// Bytes on disk (segments are full-size from their creation).
    pub fn disk_bytes(&self) -> u64 {
        let segs = self.segs.read().unwrap_or_else(|e| e.into_inner());
        segs.iter().map(|s| s.capacity).sum()
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segs.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Corrupt records reads found since the last call.
    pub fn take_corruptions(&self) -> Vec<Corruption> {
        let mut out = std::mem::take(&mut *self.news.lock().unwrap_or_else(|e| e.into_inner()));
        for s in self.segments() {
            out.extend(s.take_news());
        }
        out
    }

    /// Replaces the segments (a reopen), keeping what the old ones found.
    fn replace(&self, segs: Vec<Arc<Segment>>) {
        let old = std::mem::replace(
            &mut *self.segs.write().unwrap_or_else(|e| e.into_inner()),
            segs,
        );
        let mut news = self.news.lock().unwrap_or_else(|e| e.into_inner());
        for s in old {
            news.extend(s.take_news());
        }
    }

    /// Packets with ids in `from..=upto`, about `max_bytes` of them (at
    /// least one). A gap (ids that no longer exist) comes back alone.
    pub fn read(&self, from: u64, upto: u64, max_bytes: usize) -> io::Result<Chunk> {
        let mut chunk = Chunk::default();
        if from > upto {
            return Ok(chunk);
        }
        let segs = self.segments();
        let Some(first) = segs.first() else {
            return Ok(chunk);
        };
        if from < first.first_id {
            chunk.gap = Some((from, (first.first_id - 1).min(upto)));
            return Ok(chunk);
        }
        let mut i = segs.partition_point(|s| s.first_id <= from) - 1;
        let mut from = from;
        loop {
            let seg = &segs[i];
            let left = max_bytes.saturating_sub(chunk.packets.iter().map(|p| p.data.len()).sum());
            if let Some(gap) = seg.read(from, upto, left.max(1), &mut chunk.packets)? {
                // Corrupt records inside kept data: their ids are a gap,
                // and the next read goes on after them.
                chunk.gap = Some(gap);
                return Ok(chunk);
            }
            if let Some(last) = chunk.packets.last() {
                let got: usize = chunk.packets.iter().map(|p| p.data.len()).sum();
                if last.id >= upto || got >= max_bytes {
                    return Ok(chunk);
                }
                from = last.id + 1;
            }
            i += 1;
            let Some(next) = segs.get(i) else {
                return Ok(chunk);
            };
            if from < next.first_id {
                // Ids between two segments that no segment holds.
                if chunk.packets.is_empty() {
                    let to = (next.first_id - 1).min(upto);
                    if to >= from {
                        chunk.gap = Some((from, to));
                    }
                }
                return Ok(chunk);
            }
        }
    }
}

impl Writer {
    /// The id the next packet gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Why the writer stopped accepting packets, if it did.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Idempotency keys held.
    pub fn keys(&self) -> usize {
        self.dedup.len()
    }

    fn prepare_spare(&mut self) {
        let path = self.log.dir.join(SPARE);
        let size = self.segment_bytes;
        let faults = self.faults.clone();
        self.spare = Some(std::thread::spawn(move || {
            faults::check(faults.as_ref(), Op::Prepare)?;
            // The last run's spare, whole: reading it costs far less than
            // writing and syncing 64 MiB again while the server starts.
            if Segment::is_spare(&path, size).unwrap_or(false) {
                return Ok(());
            }
            Segment::prepare(&path, size)
        }));
    }

    /// Seals the active segment (already synced) and starts a new one at
    /// `next_id` big enough for `need` bytes of records.
    fn roll(&mut self, need: u64) -> io::Result<()> {
        let spare = self.log.dir.join(SPARE);
        let size = self.segment_bytes.max(HEADER + need);
        let ready = match self.spare.take().map(|h| h.join()) {
            Some(Ok(Ok(()))) => size == self.segment_bytes,
            _ => false,
        };
        if !ready {
            faults::check(self.faults.as_ref(), Op::Prepare)?;
            Segment::prepare(&spare, size)?;
        }
        let seg = Arc::new(Segment::activate(&spare, &self.log.dir, self.next_id)?);
        self.log
            .segs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(seg.clone());
        self.active = seg;
        self.offset = HEADER;
        self.high_water = HEADER;
        self.written = (self.active.first_id, HEADER);
        self.synced = self.written;
        self.prepare_spare();
        Ok(())
    }

    /// Writes `entries` (not synced). Returns what became of them, in
    /// order: all of them, or the first few and the error that stopped the
    /// rest. With a `dedup_window_ms`, an entry whose key was recorded in
    /// that window (or earlier in this batch) is a replay of that packet.
    /// A failed write or fsync (not a failed roll: no space for a new
    /// segment) stops the writer until [`Writer::reopen`].
    pub fn append(
        &mut self,
        entries: &[Entry<'_>],
        dedup_window_ms: Option<i64>,
    ) -> (Vec<Outcome>, Option<io::Error>) {
        let mut out = Vec::with_capacity(entries.len());
        if let Some(why) = &self.broken {
            return (out, Some(io::Error::other(why.clone())));
        }
        let since = dedup_window_ms.and_then(|w| {
            let now = entries.first()?.ts_ms;
            Some(now.saturating_sub(w))
        });
        if let Some(since) = since {
            self.dedup.expire(since);
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut recs: Vec<(u64, i64, u64)> = Vec::with_capacity(entries.len());
        // Keys of the records in `buf` (forgotten if its write fails), and
        // where its outcomes start in `out`.
        let mut buf_keys: Vec<(&[u8], u64)> = Vec::new();
        let mut buf_start = 0;
        let mut batch_off = self.offset;
        let mut err = None;
        for e in entries {
            let key = e.key.filter(|_| since.is_some());
            if let (Some(k), Some(since)) = (key, since) {
                if let Some(id) = self.dedup.get(k, since) {
                    out.push(Outcome::Replay(id));
                    continue;
                }
            }
            let ct = &e.content_type[..e.content_type.len().min(record::MAX_CONTENT_TYPE)];
            let n = record::encoded_len_with(ct, key, e.source, e.data) as u64;
            if batch_off + buf.len() as u64 + n > self.active.capacity {
                if let Err(e) = self.flush(batch_off, &buf, &recs) {
                    self.forget(&mut out, buf_start, &buf_keys);
                    err = Some(e);
                    break;
                }
                buf_keys.clear();
                buf_start = out.len();
                // The full segment is synced before its successor exists,
                // so a later sync of the new one covers everything.
                if let Err(e) = self.sync() {
                    err = Some(e);
                    break;
                }
                if let Err(e) = self.roll(n) {
                    buf.clear();
                    recs.clear();
                    err = Some(e);
                    break;
                }
                buf.clear();
                recs.clear();
                batch_off = self.offset;
            }
            let id = self.next_id;
            self.next_id += 1;
            recs.push((id, e.ts_ms, buf.len() as u64));
            record::encode_with(&mut buf, id, e.ts_ms, ct, key, e.source, e.data);
            if let Some(k) = key {
                self.dedup.insert(k, id, e.ts_ms);
                buf_keys.push((k, id));
            }
            out.push(Outcome::New(id));
        }
        if err.is_none() {
            if let Err(e) = self.flush(batch_off, &buf, &recs) {
                self.forget(&mut out, buf_start, &buf_keys);
                err = Some(e);
            }
        }
        self.buf = buf;
        (out, err)
    }

    /// Takes back the outcomes from `start` on, whose write failed.
    fn forget(&mut self, out: &mut Vec<Outcome>, start: usize, keys: &[(&[u8], u64)]) {
        out.truncate(start);
        for (k, id) in keys {
            self.dedup.remove(k, *id);
        }
    }

    fn flush(&mut self, at: u64, buf: &[u8], recs: &[(u64, i64, u64)]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let before = self.active.snapshot();
        self.high_water = self.high_water.max(at + buf.len() as u64);
        let r = faults::check(self.faults.as_ref(), Op::Write)
            .and_then(|()| self.active.append(at, buf, recs));
        match r {
            Ok(()) => {
                self.offset = at + buf.len() as u64;
                self.written = (self.active.first_id, self.offset);
                Ok(())
            }
            Err(e) => {
                self.active.undo(before);
                self.broken = Some(format!("journal write failed: {e}"));
                Err(e)
            }
        }
    }

    /// Makes everything appended durable. A failure stops the writer, and
    /// the fsync is not tried again on this descriptor.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(why) = &self.broken {
            return Err(io::Error::other(why.clone()));
        }
        let r = match faults::check(self.faults.as_ref(), Op::Sync) {
            Ok(()) => self.active.sync(),
            Err(e) => {
                self.active.poison();
                Err(e)
            }
        };
        match &r {
            Ok(()) => self.synced = (self.active.first_id, self.offset),
            Err(e) => self.broken = Some(format!("journal sync failed: {e}")),
        }
        r
    }

    /// Opens the log again after a failed write or fsync: everything after
    /// the last synced point (with `keep_written`, the last written one)
    /// is overwritten with zeros through new descriptors and synced, then
    /// the directory is recovered as at start, with new descriptors. The
    /// writer takes packets again when this succeeds.
    pub fn reopen(&mut self, keep_written: bool) -> io::Result<Recovery> {
        if let Some(h) = self.spare.take() {
            let _ = h.join();
        }
        let (cut_first, cut_off) = if keep_written {
            self.written
        } else {
            self.synced
        };
        for seg in self.log.segments() {
            if seg.first_id < cut_first {
                continue;
            }
            let from = if seg.first_id == cut_first {
                cut_off
            } else {
                HEADER
            };
            let mut to = seg.end();
            if Arc::ptr_eq(&seg, &self.active) {
                to = to.max(self.high_water);
            }
            if to > from {
                faults::check(self.faults.as_ref(), Op::Write)?;
                faults::check(self.faults.as_ref(), Op::Sync)?;
                Segment::rewrite_zeros(&seg.path, from, to)?;
            }
        }
        let (segs, rec) = recover(&self.log.dir, self.segment_bytes, None)?;
        let active = segs
            .last()
            .cloned()
            .ok_or_else(|| io::Error::other("no segment"))?;
        self.log.replace(segs);
        let end = active.end();
        self.active = active;
        self.offset = end;
        self.high_water = end;
        self.next_id = rec.next_id;
        self.written = (self.active.first_id, end);
        self.synced = self.written;
        self.dedup.forget_above(rec.next_id - 1);
        self.broken = None;
        self.prepare_spare();
        Ok(rec)
    }

    /// Deletes the oldest segments (never the active one) while the log is
    /// over `max_bytes` or their newest packet is older than `max_age_ms`.
    /// Returns the id ranges dropped.
    pub fn retain(
        &mut self,
        max_bytes: Option<u64>,
        max_age_ms: Option<i64>,
        now_ms: i64,
    ) -> Vec<(u64, u64)> {
        let mut dropped = Vec::new();
        loop {
            let victim = {
                let segs = self.log.segs.read().unwrap_or_else(|e| e.into_inner());
                if segs.len() < 2 {
                    break;
                }
                let total: u64 = segs.iter().map(|s| s.capacity).sum();
                let oldest = &segs[0];
                let too_big = max_bytes.is_some_and(|m| total > m);
                let too_old =
                    max_age_ms.is_some_and(|a| oldest.last_ts().is_none_or(|t| t < now_ms - a));
                if !(too_big || too_old) {
                    break;
                }
                oldest.clone()
            };
            self.log
                .segs
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|s| !Arc::ptr_eq(s, &victim));
            let _ = std::fs::remove_file(&victim.path);
            dropped.push((victim.first_id, victim.last_id().max(victim.first_id)));
        }
        if !dropped.is_empty() {
            let _ = segment::sync_dir(&self.log.dir);
        }
        dropped
    }
}

impl crate::store::Store for Log {
    fn describe(&self) -> String {
        format!("journal {}", self.dir.display())
    }
    fn first_id(&self) -> u64 {
        Log::first_id(self)
    }
    fn stored_bytes(&self) -> u64 {
        self.disk_bytes()
    }
    fn segment_count(&self) -> usize {
        Log::segment_count(self)
    }
    fn read(&self, from: u64, upto: u64, max_bytes: usize) -> io::Result<Chunk> {
        Log::read(self, from, upto, max_bytes)
    }
    fn take_corruptions(&self) -> Vec<Corruption> {
        Log::take_corruptions(self)
    }
}

impl crate::store::Appender for Writer {
    fn append(
        &mut self,
        entries: &[Entry<'_>],
        dedup_window_ms: Option<i64>,
    ) -> (Vec<Outcome>, Option<io::Error>) {
        Writer::append(self, entries, dedup_window_ms)
    }
    fn sync(&mut self) -> io::Result<()> {
        Writer::sync(self)
    }
    fn broken(&self) -> Option<String> {
        self.broken.clone()
    }
    fn reopen(&mut self, keep_written: bool) -> io::Result<Recovery> {
        Writer::reopen(self, keep_written)
    }
    fn retain(&mut self, max_bytes: Option<u64>, max_age_ms: Option<i64>, now_ms: i64) {
        if self.broken.is_none() {
            Writer::retain(self, max_bytes, max_age_ms, now_ms);
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(h) = self.spare.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(w: &mut Writer, n: usize, size: usize) -> Vec<u64> {
        let data = vec![b'x'; size];
        let entries: Vec<Entry<'_>> = (0..n)
            .map(|i| Entry {
                ts_ms: i as i64,
                content_type: b"text/plain",
                data: &data,
                key: None,
                source: None,
            })
            .collect();
        let (out, err) = w.append(&entries, None);
        assert!(err.is_none(), "{err:?}");
        w.sync().unwrap();
        out.into_iter().map(Outcome::id).collect()
    }

    #[test]
    fn a_whole_spare_is_kept_across_a_restart_and_a_dirty_one_prepared_again() {
        let dir = tempfile::tempdir().unwrap();
        let spare = dir.path().join(SPARE);
        let (log, w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        drop((log, w)); // waits for the spare
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&spare)
            .unwrap();
        f.set_modified(old).unwrap();
        drop(f);
        let (log, w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        drop((log, w));
        let m = std::fs::metadata(&spare).unwrap();
        assert_eq!(m.len(), 64 * 1024);
        assert_eq!(
            m.modified().unwrap(),
            old,
            "the whole spare was not rewritten"
        );

        // One byte that is not zero: it is prepared again.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&spare)
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, b"x", 4000).unwrap();
        drop(f);
        let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        drop(log);
        if let Some(h) = w.spare.take() {
            h.join().unwrap().unwrap();
        }
        drop(w);
        assert!(std::fs::read(&spare).unwrap().iter().all(|&b| b == 0));
        assert_eq!(std::fs::metadata(&spare).unwrap().len(), 64 * 1024);
        // and the journal rolls into it
        let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        let ids = put(&mut w, 300, 300);
        assert_eq!(ids.len(), 300);
        assert!(log.segment_count() > 1);
    }

    #[test]
    fn ids_continue_across_reopen_and_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
        assert_eq!(rec.next_id, 1);
        let ids = put(&mut w, 500, 300);
        assert_eq!(ids, (1..=500).collect::<Vec<_>>());
        assert!(
            log.segment_count() > 2,
            "300-byte packets roll 64 KiB segments"
        );
        let c = log.read(1, 500, usize::MAX).unwrap();
        assert_eq!(c.packets.len(), 500);
        assert!(c
            .packets
            .iter()
            .enumerate()
            .all(|(i, p)| p.id == i as u64 + 1));
        drop((log, w));
        let (log, mut w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
        assert_eq!((rec.next_id, rec.records), (501, 500));
        assert_eq!(put(&mut w, 1, 10), [501]);
        let c = log.read(499, 600, usize::MAX).unwrap();
        assert_eq!(
            c.packets.iter().map(|p| p.id).collect::<Vec<_>>(),
            [499, 500, 501]
        );
    }

    #[test]
    fn a_second_process_is_kept_out() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Log::open(dir.path(), 64 * 1024).unwrap();
        let second = Log::open(dir.path(), 64 * 1024);
        assert!(second.is_err());
    }

    #[test]
    fn retention_drops_old_segments_reports_gaps_and_never_reuses_ids() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        put(&mut w, 2000, 100);
        let dropped = w.retain(Some(3 * 64 * 1024), None, 0);
        assert!(!dropped.is_empty());
        let first = log.first_id();
        assert!(first > 1);
        let c = log.read(1, 2000, usize::MAX).unwrap();
        assert_eq!(c.gap, Some((1, first - 1)));
        assert!(c.packets.is_empty());
        let c = log.read(first, 2000, usize::MAX).unwrap();
        assert_eq!(c.packets.first().map(|p| p.id), Some(first));
        // Everything dropped but the (empty) active segment: ids still go on.
        let dropped = w.retain(Some(0), None, 0);
        assert!(!dropped.is_empty());
        drop((log, w));
        let (_, w, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
        assert!(
            rec.next_id >= 2001,
            "next id {} after retention",
            rec.next_id
        );
        assert_eq!(w.next_id(), rec.next_id);
    }

    #[test]
    fn reads_are_bounded_in_bytes_and_by_upto() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut w, _) = Log::open(dir.path(), 1 << 20).unwrap();
        put(&mut w, 100, 1000);
        let c = log.read(10, 100, 5000).unwrap();
        assert!((5..=7).contains(&c.packets.len()), "{}", c.packets.len());
        let c = log.read(10, 12, usize::MAX).unwrap();
        assert_eq!(c.packets.len(), 3);
        assert!(log.read(101, 100, 10).unwrap().packets.is_empty());
    }

    #[test]
    fn a_packet_bigger_than_a_segment_gets_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        put(&mut w, 1, 10);
        put(&mut w, 1, 200 * 1024);
        put(&mut w, 1, 10);
        let c = log.read(1, 3, usize::MAX).unwrap();
        assert_eq!(
            c.packets.iter().map(|p| p.data.len()).collect::<Vec<_>>(),
            [10, 200 * 1024, 10]
        );
    }

    fn keyed<'a>(key: &'a [u8], data: &'a [u8], ts_ms: i64) -> Entry<'a> {
        Entry {
            ts_ms,
            content_type: b"t",
            data,
            key: Some(key),
            source: None,
        }
    }

    #[test]
    fn keys_replay_within_a_batch_across_reopen_and_only_in_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            keys_since_ms: Some(0),
            faults: None,
        };
        let (log, mut w, _) = Log::open_with(dir.path(), 64 * 1024, &opts).unwrap();
        let (out, err) = w.append(
            &[
                keyed(b"a", b"1", 1000),
                keyed(b"b", b"2", 1000),
                keyed(b"a", b"3", 1000),
            ],
            Some(10_000),
        );
        assert!(err.is_none());
        assert_eq!(out, [Outcome::New(1), Outcome::New(2), Outcome::Replay(1)]);
        w.sync().unwrap();
        assert_eq!(log.read(1, 10, usize::MAX).unwrap().packets.len(), 2);
        drop((log, w));
        // The keys are in the records: a restart still knows them, as long
        // as they are within the window (since 500 ms here).
        let opts = Options {
            keys_since_ms: Some(500),
            faults: None,
        };
        let (_, mut w, rec) = Log::open_with(dir.path(), 64 * 1024, &opts).unwrap();
        assert_eq!(rec.keys, 2);
        let (out, _) = w.append(&[keyed(b"b", b"again", 5000)], Some(10_000));
        assert_eq!(out, [Outcome::Replay(2)]);
        // Past the window, the same key is a new packet.
        let (out, _) = w.append(&[keyed(b"b", b"later", 20_000)], Some(10_000));
        assert_eq!(out, [Outcome::New(3)]);
        // Without a window, keys are not looked at.
        let (out, _) = w.append(&[keyed(b"b", b"off", 20_001)], None);
        assert_eq!(out, [Outcome::New(4)]);
        assert_eq!(w.keys(), 1);
    }

    #[test]
    fn a_failed_fsync_stops_the_writer_and_reopen_cuts_what_was_not_synced() {
        let dir = tempfile::tempdir().unwrap();
        let fault = dir.path().join("fault");
        let opts = Options {
            keys_since_ms: Some(0),
            faults: Some(Faults::new(fault.clone())),
        };
        let jdir = dir.path().join("j");
        let (log, mut w, _) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
        assert_eq!(put(&mut w, 3, 10), [1, 2, 3]);
        std::fs::write(&fault, "sync").unwrap();
        let (out, err) = w.append(&[keyed(b"k", b"lost", 1)], Some(1000));
        assert_eq!((out, err.is_none()), (vec![Outcome::New(4)], true));
        assert!(w.sync().is_err());
        assert!(
            w.broken().unwrap().contains("sync failed"),
            "{:?}",
            w.broken()
        );
        // Stopped: nothing is taken, and the fsync is not tried again.
        let (out, err) = w.append(&[keyed(b"x", b"refused", 1)], Some(1000));
        assert!(out.is_empty() && err.is_some());
        assert!(w.sync().is_err());
        // While the cause lasts, reopening fails and changes nothing.
        assert!(w.reopen(false).is_err());
        assert!(w.broken().is_some());
        std::fs::remove_file(&fault).unwrap();
        let rec = w.reopen(false).unwrap();
        assert_eq!((rec.next_id, w.broken()), (4, None));
        // Record 4 was never synced: cut (zeroed on disk, not delivered),
        // its key forgotten, its id given again.
        assert_eq!(log.read(1, 10, usize::MAX).unwrap().packets.len(), 3);
        let (out, _) = w.append(&[keyed(b"k", b"retried", 2)], Some(1000));
        assert_eq!(out, [Outcome::New(4)]);
        w.sync().unwrap();
        drop((log, w));
        let (log, _, rec) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
        assert_eq!((rec.next_id, rec.cut.is_none()), (5, true));
        let c = log.read(1, 10, usize::MAX).unwrap();
        assert_eq!(
            c.packets.last().map(|p| p.data.clone()),
            Some(b"retried".to_vec())
        );
    }

    #[test]
    fn the_never_policy_keeps_what_was_written_when_it_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let fault = dir.path().join("fault");
        let opts = Options {
            keys_since_ms: None,
            faults: Some(Faults::new(fault.clone())),
        };
        let jdir = dir.path().join("j");
        let (log, mut w, _) = Log::open_with(&jdir, 64 * 1024, &opts).unwrap();
        put(&mut w, 2, 10);
        // Written (acknowledged under `never`), then a write fails.
        let (out, _) = w.append(&[keyed(b"a", b"kept", 1)], None);
        assert_eq!(out, [Outcome::New(3)]);
        std::fs::write(&fault, "write").unwrap();
        let (out, err) = w.append(&[keyed(b"b", b"failed", 1)], None);
        assert!(out.is_empty() && err.is_some() && w.broken().is_some());
        std::fs::remove_file(&fault).unwrap();
        let rec = w.reopen(true).unwrap();
        assert_eq!(rec.next_id, 4);
        assert_eq!(log.read(1, 10, usize::MAX).unwrap().packets.len(), 3);
    }

    #[test]
    fn no_room_for_a_new_segment_refuses_without_stopping() {
        let dir = tempfile::tempdir().unwrap();
        let fault = dir.path().join("fault");
        let opts = Options {
            keys_since_ms: None,
            faults: Some(Faults::new(fault.clone())),
        };
        let (log, mut w, _) = Log::open_with(&dir.path().join("j"), 64 * 1024, &opts).unwrap();
        std::fs::write(&fault, "full").unwrap();
        // The first segment fills; the next cannot be made.
        let data = vec![b'x'; 1000];
        let mut ok = 0;
        let err = loop {
            let (out, err) = w.append(&[keyed(b"", &data, 0)], None);
            ok += out.len();
            if let Some(e) = err {
                break e;
            }
        };
        assert!(crate::faults::is_full(&err), "{err}");
        assert!(w.broken().is_none(), "a full disk does not stop the writer");
        // (The background thread may have made a spare segment before the
        // fault was set: then the disk is "full" one segment later.)
        let segments = log.segment_count();
        w.sync().unwrap();
        std::fs::remove_file(&fault).unwrap();
        let (out, err) = w.append(&[keyed(b"", &data, 0)], None);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(out, [Outcome::New(ok as u64 + 1)]);
        assert_eq!(log.segment_count(), segments + 1);
    }

    #[test]
    fn a_corrupt_record_in_a_sealed_segment_is_a_gap_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let (log, mut w, _) = Log::open(dir.path(), 64 * 1024).unwrap();
        put(&mut w, 600, 300);
        assert!(log.segment_count() >= 3);
        let second = log.segments()[1].clone();
        drop((log, w));
        // A bit of the second segment's 5th record flips.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&second.path)
            .unwrap();
        let rec_len = record::encoded_len(b"text/plain", &[0; 300]) as u64;
        let at = HEADER + 4 * rec_len + 100;
        let mut b = [0u8];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, at).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &[b[0] ^ 0x10], at).unwrap();
        drop(f);
        let (log, _, rec) = Log::open(dir.path(), 64 * 1024).unwrap();
        let lost = second.first_id + 4;
        assert_eq!(rec.corruptions.len(), 1);
        assert_eq!(
            (rec.corruptions[0].from, rec.corruptions[0].to),
            (lost, lost)
        );
        let mut got = Vec::new();
        let mut gaps = Vec::new();
        let mut from = 1;
        while from <= 600 {
            let c = log.read(from, 600, 64 * 1024).unwrap();
            if let Some((a, b)) = c.gap {
                gaps.push((a, b));
                from = b + 1;
            }
            for p in c.packets {
                got.push(p.id);
                from = p.id + 1;
            }
        }
        assert_eq!(gaps, [(lost, lost)]);
        assert_eq!(got.len(), 599);
        assert!(!got.contains(&lost));
    }

    #[test]
    fn power_loss_at_every_byte_past_the_synced_end_keeps_every_acknowledged_packet() {
        let base = tempfile::tempdir().unwrap();
        let opts = Options {
            keys_since_ms: Some(0),
            faults: None,
        };
        let (log, mut w, _) = Log::open_with(base.path(), 64 * 1024, &opts).unwrap();
        let bodies: Vec<Vec<u8>> = (0..5).map(|i| format!("acked {i}").into_bytes()).collect();
        for b in &bodies {
            let (out, _) = w.append(&[keyed(b"", b, 7)], None);
            assert_eq!(out.len(), 1);
        }
        w.sync().unwrap();
        let seg = log.segments()[0].path.clone();
        let end = log.segments()[0].end();
        drop((log, w));
        // What was being written when the power went: three more records,
        // never synced, so never acknowledged.
        let mut inflight = Vec::new();
        for id in 6..=8u64 {
            let body = format!("in flight {id}");
            let key = format!("key{id}");
            record::encode_keyed(
                &mut inflight,
                id,
                8,
                b"t",
                Some(key.as_bytes()),
                body.as_bytes(),
            );
        }
        let pristine = std::fs::read(&seg).unwrap();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for k in 0..=inflight.len() {
            for garbage in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let mut bytes = pristine.clone();
                let at = end as usize;
                bytes[at..at + k].copy_from_slice(&inflight[..k]);
                if garbage {
                    for b in &mut bytes[at + k..at + k + 37] {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        *b = rng as u8;
                    }
                }
                std::fs::write(dir.path().join(seg.file_name().unwrap()), &bytes).unwrap();
                let (log, mut w, rec) = Log::open_with(dir.path(), 64 * 1024, &opts).unwrap();
                let c = log.read(1, u64::MAX, usize::MAX).unwrap();
                let what = format!("cut at +{k}, garbage {garbage}");
                assert_eq!(c.gap, None, "{what}");
                let got: Vec<(u64, Vec<u8>)> =
                    c.packets.into_iter().map(|p| (p.id, p.data)).collect();
                // Every acknowledged packet, once, intact.
                for (i, b) in bodies.iter().enumerate() {
                    assert_eq!(got[i], (i as u64 + 1, b.clone()), "{what}");
                }
                // After them only whole in-flight records, in order.
                for (j, (id, data)) in got[5..].iter().enumerate() {
                    assert_eq!(*id, 6 + j as u64, "{what}");
                    assert_eq!(data, format!("in flight {id}").as_bytes(), "{what}");
                }
                let last = got.last().unwrap().0;
                assert_eq!(rec.next_id, last + 1, "{what}");
                // Ids continue; a whole in-flight record's key is known.
                let (out, _) = w.append(&[keyed(b"fresh", b"next", 9)], Some(1000));
                assert_eq!(out, [Outcome::New(last + 1)], "{what}");
                let (out, _) = w.append(&[keyed(b"key6", b"retry", 9)], Some(1000));
                let want = if last >= 6 {
                    Outcome::Replay(6)
                } else {
                    Outcome::New(last + 2)
                };
                assert_eq!(out, [want], "{what}");
            }
        }
    }
}
