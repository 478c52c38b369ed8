//! The segment log: a directory of [`Segment`]s, the one [`Writer`] that
//! appends to the newest, and reads by id for any thread.
//!
//! Ids are contiguous within a run and strictly increasing across runs: at
//! open, the next id is one past the last intact record, and never below
//! the newest segment's first id (its name), so even a journal whose records
//! were all dropped by retention does not hand out an old id again.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use crate::record::{self, Packet};
use crate::segment::{self, Cut, ReadError, Segment, HEADER};

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
}

/// The read side, shared by every thread.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    segs: RwLock<Vec<Arc<Segment>>>,
}

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
}

impl Log {
    /// Opens (creating) the log in `dir`, recovering after any crash.
    pub fn open(dir: &Path, segment_bytes: u64) -> io::Result<(Arc<Log>, Writer, Recovery)> {
        std::fs::create_dir_all(dir)?;
        let lock = File::create(dir.join(LOCK))?;
        if lock.try_lock().is_err() {
            return Err(io::Error::other(format!(
                "{}: journal is in use by another process",
                dir.display()
            )));
        }
        let _ = std::fs::remove_file(dir.join(SPARE));
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
            let (seg, cut) = Segment::open(&path, first, newest)?;
            rec.records += seg.snapshot().records;
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
        let active = segs
            .last()
            .cloned()
            .ok_or_else(|| io::Error::other("no segment"))?;
        let log = Arc::new(Log {
            dir: dir.to_path_buf(),
            segs: RwLock::new(segs),
        });
        let mut w = Writer {
            log: log.clone(),
            offset: active.end(),
            active,
            next_id,
            segment_bytes,
            spare: None,
            buf: Vec::new(),
            broken: None,
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
            match seg.read(from, upto, left.max(1), &mut chunk.packets) {
                Ok(()) => {}
                Err(ReadError::Io(e)) => return Err(e),
                Err(ReadError::Bad(_)) => {
                    // Corruption inside kept data: what follows in this
                    // segment is lost; say so with a gap rather than fail
                    // every reader forever.
                    if chunk.packets.is_empty() {
                        let to = segs.get(i + 1).map_or(upto, |n| n.first_id - 1).min(upto);
                        if to >= from {
                            chunk.gap = Some((from, to));
                        }
                    }
                    return Ok(chunk);
                }
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

    fn prepare_spare(&mut self) {
        let path = self.log.dir.join(SPARE);
        let size = self.segment_bytes;
        self.spare = Some(std::thread::spawn(move || Segment::prepare(&path, size)));
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
        self.prepare_spare();
        Ok(())
    }

    /// Writes `entries` (not synced). Returns the ids of those written, in
    /// order: all of them, or the first few and the error that stopped the
    /// rest. A failed write (not a failed roll) breaks the writer for good.
    pub fn append(&mut self, entries: &[Entry<'_>]) -> (Vec<u64>, Option<io::Error>) {
        let mut ids = Vec::with_capacity(entries.len());
        if let Some(why) = &self.broken {
            return (ids, Some(io::Error::other(why.clone())));
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut recs: Vec<(u64, i64, u64)> = Vec::with_capacity(entries.len());
        let mut batch_off = self.offset;
        let mut err = None;
        for e in entries {
            let ct = &e.content_type[..e.content_type.len().min(record::MAX_CONTENT_TYPE)];
            let n = record::encoded_len(ct, e.data) as u64;
            if batch_off + buf.len() as u64 + n > self.active.capacity {
                if let Err(e) = self.flush(batch_off, &buf, &recs) {
                    ids.truncate(ids.len() - recs.len());
                    err = Some(e);
                    break;
                }
                // The full segment is synced before its successor exists,
                // so a later sync of the new one covers everything.
                if let Err(e) = self.active.sync().and_then(|()| self.roll(n)) {
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
            record::encode(&mut buf, id, e.ts_ms, ct, e.data);
            ids.push(id);
        }
        if err.is_none() {
            if let Err(e) = self.flush(batch_off, &buf, &recs) {
                ids.truncate(ids.len() - recs.len());
                err = Some(e);
            }
        }
        self.buf = buf;
        (ids, err)
    }

    fn flush(&mut self, at: u64, buf: &[u8], recs: &[(u64, i64, u64)]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let before = self.active.snapshot();
        match self.active.append(at, buf, recs) {
            Ok(()) => {
                self.offset = at + buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let why = format!("journal write failed: {e}");
                let _ = self.active.undo(before, at + buf.len() as u64);
                self.broken = Some(why);
                Err(e)
            }
        }
    }

    /// Makes everything appended durable.
    pub fn sync(&mut self) -> io::Result<()> {
        let r = self.active.sync();
        if let Err(e) = &r {
            self.broken = Some(format!("journal sync failed: {e}"));
        }
        r
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
}

impl crate::store::Appender for Writer {
    fn append(&mut self, entries: &[Entry<'_>]) -> (Vec<u64>, Option<io::Error>) {
        Writer::append(self, entries)
    }
    fn sync(&mut self) -> io::Result<()> {
        Writer::sync(self)
    }
    fn retain(&mut self, max_bytes: Option<u64>, max_age_ms: Option<i64>, now_ms: i64) {
        Writer::retain(self, max_bytes, max_age_ms, now_ms);
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
            })
            .collect();
        let (ids, err) = w.append(&entries);
        assert!(err.is_none(), "{err:?}");
        w.sync().unwrap();
        ids
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
}
