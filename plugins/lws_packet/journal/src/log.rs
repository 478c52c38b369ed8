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

use crate::clean::{Clean, Stamp};
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

/// Where the last stop's note (see [`crate::clean`]) is in its removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// None is left, or its unlink is durable.
    Settled,
    /// Unlinked at open, the directory not yet synced.
    Unlinked,
    /// Still there: it vouched for the newest segment, and nothing has
    /// been written since, so it stays true until the first write.
    Kept,
}

/// The spare segment of [`Writer::prepare_spare`].
#[derive(Debug)]
enum Spare {
    /// Whole already (the last stop's note vouches for it).
    Whole,
    /// Being checked or zero-filled by a thread of its own.
    Preparing(JoinHandle<io::Result<()>>),
}

impl Spare {
    /// Waits for it: whether the spare is whole and synced.
    fn finish(self) -> bool {
        match self {
            Spare::Whole => true,
            Spare::Preparing(h) => matches!(h.join(), Ok(Ok(()))),
        }
    }
}

/// The write side: owned by one thread.
#[derive(Debug)]
pub struct Writer {
    log: Arc<Log>,
    active: Arc<Segment>,
    offset: u64,
    next_id: u64,
    segment_bytes: u64,
    spare: Option<Spare>,
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
    /// The last stop's note, until it is gone durably: that is done
    /// before anything is written (see [`crate::clean`]).
    note: Note,
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
/// descriptors; creates the first one in an empty directory. The `bool`:
/// `clean` vouched for the newest segment (so nothing was repaired).
fn recover(
    dir: &Path,
    segment_bytes: u64,
    mut keys: Option<&mut KeyScan>,
    clean: Option<&Clean>,
) -> io::Result<(Vec<Arc<Segment>>, Recovery, bool)> {
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
    let mut vouched = false;
    let count = names.len();
    for (i, (first, path)) in names.into_iter().enumerate() {
        let newest = i + 1 == count;
        let clean_end = clean
            .filter(|_| newest)
            .and_then(|c| c.end_of(first, &path));
        vouched |= clean_end.is_some();
        let (seg, cut, found) =
            Segment::open_known_end(&path, first, newest, keys.as_deref_mut(), clean_end)?;
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
    Ok((segs, rec, vouched))
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
        // Read before the segments are opened. It only ever describes the
        // directory as one stop left it: one that vouched for the newest
        // segment stays until the first write (nothing was repaired, and
        // until then nothing is written); any other goes now.
        let (clean, note_present) = Clean::read(dir)?;
        let (segs, mut rec, vouched) = recover(dir, segment_bytes, scan.as_mut(), clean.as_ref())?;
        let note = match (note_present, vouched) {
            (false, _) => Note::Settled,
            (true, true) => Note::Kept,
            (true, false) => {
                Clean::remove(dir)?;
                Note::Unlinked
            }
        };
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
            note,
            _lock: lock,
        };
        let spare_whole = clean
            .as_ref()
            .is_some_and(|c| c.vouches_for_spare(&dir.join(SPARE)));
        w.prepare_spare(spare_whole);
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

    /// Readies the spare segment in a thread of its own. `whole`: a
    /// clean stop's note vouches for the last run's spare, so it is not
    /// read again.
    fn prepare_spare(&mut self, whole: bool) {
        let path = self.log.dir.join(SPARE);
        let size = self.segment_bytes;
        // Vouched for and the right size: nothing to do, and no thread to
        // start for it (a tenth of a millisecond of the server's start-up).
        if whole
            && faults::check(self.faults.as_ref(), Op::Prepare).is_ok()
            && std::fs::metadata(&path).is_ok_and(|m| m.len() == size)
        {
            self.spare = Some(Spare::Whole);
            return;
        }
        let faults = self.faults.clone();
        self.spare = Some(Spare::Preparing(std::thread::spawn(move || {
            faults::check(faults.as_ref(), Op::Prepare)?;
            if whole && std::fs::metadata(&path).is_ok_and(|m| m.len() == size) {
                return Ok(());
            }
            // The last run's spare, whole: reading it costs far less than
            // writing and syncing 64 MiB again while the server starts.
            if Segment::is_spare(&path, size).unwrap_or(false) {
                return Ok(());
            }
            Segment::prepare(&path, size)
        })));
    }

    /// Seals the active segment (already synced) and starts a new one at
    /// `next_id` big enough for `need` bytes of records.
    fn roll(&mut self, need: u64) -> io::Result<()> {
        self.settle_note()?;
        let spare = self.log.dir.join(SPARE);
        let size = self.segment_bytes.max(HEADER + need);
        let ready = self.spare.take().is_some_and(Spare::finish) && size == self.segment_bytes;
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
        self.prepare_spare(false);
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
        if let Err(e) = self.settle_note() {
            self.broken = Some(format!("journal write failed: {e}"));
            return Err(e);
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
        if let Some(s) = self.spare.take() {
            let _ = s.finish();
        }
        self.settle_note()?;
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
        let (segs, rec, _) = recover(&self.log.dir, self.segment_bytes, None, None)?;
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
        self.prepare_spare(false);
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

impl Writer {
    /// Removes the last stop's note durably, once, before the first write
    /// of this run.
    fn settle_note(&mut self) -> io::Result<()> {
        if self.note == Note::Kept {
            Clean::remove(&self.log.dir)?;
            self.note = Note::Unlinked;
        }
        if self.note == Note::Unlinked {
            segment::sync_dir(&self.log.dir)?;
            self.note = Note::Settled;
        }
        Ok(())
    }

    /// The note a clean stop leaves, when this is one: nothing broken,
    /// everything written synced, nothing written past the end of the
    /// data. `spare_whole`: the spare thread finished it.
    fn clean_note(&mut self, spare_whole: bool) -> Option<Clean> {
        if self.broken.is_some() || self.high_water != self.offset {
            return None;
        }
        if self.synced != self.written {
            self.sync().ok()?;
        }
        let spare = spare_whole
            .then(|| Stamp::of(&self.log.dir.join(SPARE)))
            .flatten()
            .filter(|s| s.size() == self.segment_bytes);
        Some(Clean {
            segment: self.active.first_id,
            end: self.offset,
            stamp: Stamp::of(&self.active.path)?,
            spare,
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let spare_whole = self.spare.take().is_some_and(Spare::finish);
        if let Some(note) = self.clean_note(spare_whole) {
            // Without it the next open reads everything, as after a crash:
            // slower, never wrong.
            let _ = note.write(&self.log.dir);
        }
    }
}

#[cfg(test)]
mod tests;
