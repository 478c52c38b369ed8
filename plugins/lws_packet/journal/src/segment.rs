//! One segment file: `<first id, 20 digits>.seg`, a 16-byte header
//! (`CLPKSEG1` + first id) then records back to back, in a file that was
//! zero-filled to its full size before it got its name.
//!
//! Zero-filling first is what makes group commit cheap: appends overwrite
//! blocks that already exist, so `fdatasync` flushes data only, never the
//! file size or extent metadata (on ext4 a growing file costs ~3 ms per sync,
//! an overwritten one ~0.15 ms; see the README). It also makes the end of
//! the data self-describing: eight zero bytes where a record would start.
//!
//! A record that is not intact inside the data (a flipped bit, a bad
//! sector) does not end the segment: the bytes after it are searched for
//! the next intact record (its checksum, and an id that fits), and the
//! stretch between is a [`Hole`] whose ids are reported as lost while
//! every record after it is still read. Only when nothing intact follows is
//! the bad record the end of the data (the torn tail a crash leaves).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::record::{self, Decoded, Packet};

/// File magic (format version 1).
pub const MAGIC: &[u8; 8] = b"CLPKSEG1";
/// Header bytes before the first record.
pub const HEADER: u64 = 16;
/// One index entry per this many bytes of records.
const INDEX_EVERY: u64 = 64 * 1024;
/// Bytes read at a time.
const READ_CHUNK: usize = 256 * 1024;

/// The file name of the segment starting at `first_id`.
pub fn file_name(first_id: u64) -> String {
    format!("{first_id:020}.seg")
}

/// The first id of a segment file name, if it is one.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a segment holds so far.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Offset just past the last record.
    pub end: u64,
    /// Id of the last record (0: none yet).
    pub last_id: u64,
    /// Timestamp of the last record.
    pub last_ts: i64,
    /// Records in it.
    pub records: u64,
    /// Sparse (id, offset) index, ascending.
    index: Vec<(u64, u64)>,
    /// Corrupt stretches inside the data, in offset order.
    holes: Vec<Hole>,
}

/// A corrupt stretch inside a segment's data, skipped when reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// Offset of the first byte that is not an intact record.
    pub at: u64,
    /// Offset of the next intact record (or the end of the data).
    pub resume: u64,
    /// First id lost.
    pub from: u64,
    /// Last id lost (below `from` when no id was lost: stray bytes).
    pub to: u64,
}

/// A corrupt stretch found, for the log and the figures.
#[derive(Debug, Clone)]
pub struct Corruption {
    /// The segment file.
    pub path: PathBuf,
    /// Where it starts.
    pub offset: u64,
    /// Why the bytes there are not a record.
    pub reason: &'static str,
    /// Ids lost, `from..=to` (none when `from > to`).
    pub from: u64,
    /// See `from`.
    pub to: u64,
}

impl Corruption {
    /// Ids lost.
    pub fn lost(&self) -> u64 {
        (self.to + 1).saturating_sub(self.from)
    }
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: bad record at offset {} ({}): ",
            self.path.display(),
            self.offset,
            self.reason
        )?;
        if self.from > self.to {
            write!(f, "no packet lost")
        } else if self.from == self.to {
            write!(f, "packet {} lost, the ones after it kept", self.from)
        } else {
            write!(
                f,
                "packets {}-{} lost, the ones after them kept",
                self.from, self.to
            )
        }
    }
}

/// Idempotency keys found while opening a segment: those of records at
/// least as new as `since_ms`, as (key, id, timestamp).
#[derive(Debug, Default)]
pub struct KeyScan {
    /// Oldest timestamp of interest (ms since the epoch).
    pub since_ms: i64,
    /// What was found, in id order.
    pub found: Vec<(Vec<u8>, u64, i64)>,
}

/// Where and why recovery cut a segment.
#[derive(Debug, Clone)]
pub struct Cut {
    /// Offset of the first byte that is not an intact record.
    pub offset: u64,
    /// Why it is not.
    pub reason: &'static str,
}

/// One segment file.
#[derive(Debug)]
pub struct Segment {
    /// Id of its first record (also in its name).
    pub first_id: u64,
    /// Its path.
    pub path: PathBuf,
    /// File size, fixed when it was prepared.
    pub capacity: u64,
    file: File,
    st: Mutex<State>,
    /// An fsync of this file failed: the kernel may have dropped the dirty
    /// pages it could not write and marked them clean, so a later fsync
    /// that succeeds proves nothing about them ("fsyncgate"). It is never
    /// retried; the journal reopens the file instead.
    sync_failed: AtomicBool,
    /// Corruption found while reading, not yet reported.
    news: Mutex<Vec<Corruption>>,
}

/// A step of [`Records`].
enum Step {
    Record {
        id: u64,
        ts_ms: i64,
        off: u64,
        len: usize,
    },
    End,
    Bad(u64, &'static str),
}

/// Walks the records of a file from an offset up to a limit.
struct Records<'a> {
    file: &'a File,
    limit: u64,
    buf: Vec<u8>,
    buf_off: u64,
    pos: usize,
    /// The size of the first read, when not [`READ_CHUNK`].
    first_read: Option<usize>,
}

impl<'a> Records<'a> {
    fn new(file: &'a File, from: u64, limit: u64) -> Records<'a> {
        Records {
            file,
            limit,
            buf: Vec::new(),
            buf_off: from,
            pos: 0,
            first_read: None,
        }
    }

    /// The data is known to end at `end`: the first read takes the records
    /// up to there and the end marker after them, not a whole
    /// [`READ_CHUNK`] (a fresh segment's first 256 KiB of zeros, allocated,
    /// zeroed and read at every start).
    fn ending_at(mut self, end: Option<u64>) -> Records<'a> {
        self.first_read = end.map(|end| {
            let span = end.saturating_sub(self.buf_off) as usize + record::PREFIX;
            span.next_multiple_of(4096).min(READ_CHUNK)
        });
        self
    }

    /// Goes on from offset `off`.
    fn seek(&mut self, off: u64) {
        self.first_read = None;
        self.buf.clear();
        self.buf_off = off;
        self.pos = 0;
    }

    /// The bytes of the record `next` just returned.
    fn bytes(&self, len: usize) -> &[u8] {
        &self.buf[self.pos - len..self.pos]
    }

    fn next(&mut self) -> io::Result<Step> {
        loop {
            let off = self.buf_off + self.pos as u64;
            match record::decode(&self.buf[self.pos..]) {
                Decoded::Record { id, ts_ms, len } => {
                    self.pos += len;
                    return Ok(Step::Record {
                        id,
                        ts_ms,
                        off,
                        len,
                    });
                }
                Decoded::End => return Ok(Step::End),
                Decoded::Bad(why) => return Ok(Step::Bad(off, why)),
                Decoded::Need(need) => {
                    if off >= self.limit {
                        return Ok(Step::End);
                    }
                    let room = self.limit - off;
                    let chunk = self.first_read.take().unwrap_or(READ_CHUNK);
                    let want = (need.max(chunk) as u64).min(room) as usize;
                    self.buf.resize(want, 0);
                    self.file.read_exact_at(&mut self.buf, off)?;
                    self.buf_off = off;
                    self.pos = 0;
                    if (need as u64) > room {
                        // Not enough bytes left for what the record claims:
                        // the end if they are zeros, a torn record if not.
                        return Ok(if self.buf.iter().all(|&b| b == 0) {
                            Step::End
                        } else {
                            Step::Bad(off, "record runs past the end of the file")
                        });
                    }
                }
            }
        }
    }
}

fn zero(file: &File, from: u64, to: u64) -> io::Result<()> {
    let zeros = vec![0u8; 1 << 20];
    let mut off = from;
    while off < to {
        let n = (to - off).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], off)?;
        off += n as u64;
    }
    Ok(())
}

/// fsync of a directory, so a new or renamed entry in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Smallest record on disk.
const MIN_RECORD: u64 = (record::PREFIX + record::FIXED) as u64;

/// The next intact record in `from + 1..limit` whose id fits after
/// `after_id` (above it, and no further above than the bytes skipped could
/// have held records): its offset and id. Where the bad record's own
/// length points is tried first (a flipped bit in a body leaves it
/// intact), so a packet whose body happens to hold a record is not taken
/// for one; only then is every offset tried.
fn resync(file: &File, from: u64, limit: u64, after_id: u64) -> io::Result<Option<(u64, u64)>> {
    if limit <= from + MIN_RECORD {
        return Ok(None);
    }
    let mut buf = vec![0u8; (limit - from) as usize];
    file.read_exact_at(&mut buf, from)?;
    let min = MIN_RECORD as usize;
    let claimed = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default()) as usize;
    let next = record::PREFIX + claimed;
    if claimed >= record::FIXED && next + min <= buf.len() {
        if let Decoded::Record { id, .. } = record::decode(&buf[next..]) {
            if id > after_id && id <= after_id + 2 {
                return Ok(Some((from + next as u64, id)));
            }
        }
    }
    for o in 1..=buf.len() - min {
        let len = u32::from_le_bytes(buf[o..o + 4].try_into().unwrap_or_default()) as usize;
        if !(record::FIXED..=record::MAX_BODY).contains(&len)
            || o + record::PREFIX + len > buf.len()
        {
            continue;
        }
        let id = u64::from_le_bytes(buf[o + 8..o + 16].try_into().unwrap_or_default());
        let most = after_id + 2 + o as u64 / MIN_RECORD;
        if id <= after_id || id > most {
            continue;
        }
        if let Decoded::Record { id, .. } = record::decode(&buf[o..]) {
            return Ok(Some((from + o as u64, id)));
        }
    }
    Ok(None)
}

/// Index of the first byte of `b` that is not zero. Whole 64-byte blocks
/// are OR-ed together first (the compiler does that with vector
/// instructions): a byte-at-a-time search over a fresh segment's 64 MiB of
/// zeros was most of the server's start-up time.
fn first_nonzero_byte(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    for block in b.chunks_exact(64) {
        if block.iter().fold(0u8, |acc, &x| acc | x) != 0 {
            break;
        }
        at += 64;
    }
    b[at..].iter().position(|&x| x != 0).map(|i| at + i)
}

/// Offset of the first byte in `from..to` that is not zero.
fn first_nonzero(file: &File, from: u64, to: u64) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut off = from;
    while off < to {
        let n = (to - off).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..n], off)?;
        if let Some(i) = first_nonzero_byte(&buf[..n]) {
            return Ok(Some(off + i as u64));
        }
        off += n as u64;
    }
    Ok(None)
}

impl Segment {
    /// Writes a zero-filled file of `capacity` bytes at `path` and syncs it.
    /// A file that could not be completed (a full disk) is removed, so it
    /// does not keep the space from everything else.
    pub fn prepare(path: &Path, capacity: u64) -> io::Result<()> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        let r = zero(&f, 0, capacity).and_then(|()| f.sync_all());
        if r.is_err() {
            drop(f);
            let _ = std::fs::remove_file(path);
        }
        r
    }

    /// Whether `path` is already what [`Segment::prepare`] makes: a file
    /// of `capacity` bytes, all zero (a spare the last run left). It is
    /// synced before the answer, so it is as durable as a prepared one.
    pub fn is_spare(path: &Path, capacity: u64) -> io::Result<bool> {
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if f.metadata()?.len() != capacity || first_nonzero(&f, 0, capacity)?.is_some() {
            return Ok(false);
        }
        f.sync_all()?;
        Ok(true)
    }

    /// Turns the prepared file `spare` into segment `first_id` in `dir`.
    pub fn activate(spare: &Path, dir: &Path, first_id: u64) -> io::Result<Segment> {
        let file = OpenOptions::new().read(true).write(true).open(spare)?;
        let mut hdr = [0u8; HEADER as usize];
        hdr[..8].copy_from_slice(MAGIC);
        hdr[8..].copy_from_slice(&first_id.to_le_bytes());
        file.write_all_at(&hdr, 0)?;
        file.sync_data()?;
        let path = dir.join(file_name(first_id));
        std::fs::rename(spare, &path)?;
        sync_dir(dir)?;
        let capacity = file.metadata()?.len();
        Ok(Segment {
            first_id,
            path,
            capacity,
            file,
            st: Mutex::new(State {
                end: HEADER,
                ..State::default()
            }),
            sync_failed: AtomicBool::new(false),
            news: Mutex::new(Vec::new()),
        })
    }

    /// Writes zeros over `from..to` of the segment file at `path` through a
    /// descriptor of its own, and syncs that: how a reopened journal cuts
    /// what was never made durable, without trusting a descriptor whose
    /// fsync failed.
    pub fn rewrite_zeros(path: &Path, from: u64, to: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        let to = to.min(f.metadata()?.len());
        if from < to {
            zero(&f, from, to)?;
        }
        f.sync_data()
    }

    /// Opens an existing segment and reads every record once (checksums
    /// included) to find its end, skipping corrupt stretches (see
    /// [`Hole`]); `keys` collects the idempotency keys of recent records.
    /// With `repair` (the newest segment), a bad tail with nothing intact
    /// after it (the torn tail a crash leaves), or stray bytes after the
    /// end of the data, are zeroed, so they are never delivered and new
    /// records go where they were. Returns the segment, that cut, and the
    /// corrupt stretches found.
    pub fn open(
        path: &Path,
        first_id: u64,
        repair: bool,
        keys: Option<&mut KeyScan>,
    ) -> io::Result<(Segment, Option<Cut>, Vec<Corruption>)> {
        Segment::open_known_end(path, first_id, repair, keys, None)
    }

    /// [`Segment::open`], told where the data ended when the journal was
    /// closed cleanly (see [`crate::clean`]): when the records end exactly
    /// there, the bytes after it were never written and are not read.
    pub fn open_known_end(
        path: &Path,
        first_id: u64,
        repair: bool,
        mut keys: Option<&mut KeyScan>,
        clean_end: Option<u64>,
    ) -> io::Result<(Segment, Option<Cut>, Vec<Corruption>)> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let capacity = file.metadata()?.len();
        let mut hdr = [0u8; HEADER as usize];
        if capacity < HEADER {
            return Err(io::Error::other(format!(
                "{}: too short for a segment",
                path.display()
            )));
        }
        file.read_exact_at(&mut hdr, 0)?;
        if &hdr[..8] != MAGIC || hdr[8..] != first_id.to_le_bytes() {
            return Err(io::Error::other(format!(
                "{}: not a packet journal segment (bad header)",
                path.display()
            )));
        }
        let mut st = State {
            end: HEADER,
            ..State::default()
        };
        let mut cut = None;
        let mut found = Vec::new();
        let mut recs = Records::new(&file, HEADER, capacity).ending_at(clean_end);
        loop {
            let (off, reason) = match recs.next()? {
                Step::Record {
                    id,
                    ts_ms,
                    off,
                    len,
                } => {
                    if id < first_id || id <= st.last_id {
                        (off, "id out of order")
                    } else {
                        if let Some(k) = keys.as_deref_mut().filter(|k| ts_ms >= k.since_ms) {
                            if let Some(key) = record::key_at(recs.bytes(len)) {
                                k.found.push((key.to_vec(), id, ts_ms));
                            }
                        }
                        st.note(id, ts_ms, off, len as u64);
                        continue;
                    }
                }
                Step::End => {
                    // The newest segment may hold stray bytes past its end
                    // (a crash can persist a later page and not an earlier
                    // one): they are looked at like a bad record.
                    let end = st.end;
                    let scan = repair && clean_end != Some(end);
                    match scan.then(|| first_nonzero(&file, end, capacity)) {
                        Some(Ok(Some(_))) => (end, "stray bytes after the end of the data"),
                        Some(Err(e)) => return Err(e),
                        _ => break,
                    }
                }
                Step::Bad(off, reason) => (off, reason),
            };
            let after = st.last_id.max(first_id - 1);
            match resync(&file, off, capacity, after)? {
                Some((next, next_id)) => {
                    let hole = Hole {
                        at: off,
                        resume: next,
                        from: after + 1,
                        to: next_id - 1,
                    };
                    found.push(Corruption {
                        path: path.to_path_buf(),
                        offset: off,
                        reason,
                        from: hole.from,
                        to: hole.to,
                    });
                    st.holes.push(hole);
                    recs.seek(next);
                }
                None => {
                    cut = Some(Cut {
                        offset: off,
                        reason,
                    });
                    break;
                }
            }
        }
        if let (Some(c), true) = (&cut, repair) {
            zero(&file, c.offset, capacity)?;
            file.sync_data()?;
        }
        Ok((
            Segment {
                first_id,
                path: path.to_path_buf(),
                capacity,
                file,
                st: Mutex::new(st),
                sync_failed: AtomicBool::new(false),
                news: Mutex::new(Vec::new()),
            },
            cut,
            found,
        ))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of what it holds now.
    pub fn snapshot(&self) -> State {
        self.state().clone()
    }

    /// Offset just past the last record.
    pub fn end(&self) -> u64 {
        self.state().end
    }

    /// Id of the last record (0: none).
    pub fn last_id(&self) -> u64 {
        self.state().last_id
    }

    /// Timestamp of the last record (`None`: no record).
    pub fn last_ts(&self) -> Option<i64> {
        let st = self.state();
        (st.last_id != 0).then_some(st.last_ts)
    }

    /// Writes `bytes` (whole records, described by `recs` as id, ts, offset
    /// within `bytes`) at `offset`. Not synced.
    pub fn append(&self, offset: u64, bytes: &[u8], recs: &[(u64, i64, u64)]) -> io::Result<()> {
        self.file.write_all_at(bytes, offset)?;
        let mut st = self.state();
        for (i, &(id, ts, rel)) in recs.iter().enumerate() {
            let next = recs.get(i + 1).map_or(bytes.len() as u64, |r| r.2);
            st.note(id, ts, offset + rel, next - rel);
        }
        Ok(())
    }

    /// Makes what was appended durable (data only: the size never changes).
    /// After one failure it fails at once, without calling fsync again.
    pub fn sync(&self) -> io::Result<()> {
        if self.sync_failed.load(Ordering::Acquire) {
            return Err(io::Error::other(
                "an fsync of this file failed before, and is not retried",
            ));
        }
        let r = self.file.sync_data();
        if r.is_err() {
            self.sync_failed.store(true, Ordering::Release);
        }
        r
    }

    /// Marks this descriptor's fsync as failed (fault injection fails it
    /// without calling fsync).
    pub fn poison(&self) {
        self.sync_failed.store(true, Ordering::Release);
    }

    /// Corruption found by reads since the last call.
    pub fn take_news(&self) -> Vec<Corruption> {
        std::mem::take(&mut *self.news.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The corrupt stretches known.
    pub fn holes(&self) -> Vec<Hole> {
        self.state().holes.clone()
    }

    /// Reads packets with ids in `from..=upto`, stopping after `max_bytes`
    /// (at least one packet). At a corrupt stretch whose ids are wanted it
    /// stops: after the packets read so far, or, with none, returning the
    /// lost ids (`Some((from, to))`) so the caller reports a gap. Corruption
    /// not seen before is searched past, remembered, and reported through
    /// [`Segment::take_news`].
    pub fn read(
        &self,
        from: u64,
        upto: u64,
        max_bytes: usize,
        out: &mut Vec<Packet>,
    ) -> io::Result<Option<(u64, u64)>> {
        let (start, start_id, end) = {
            let st = self.state();
            let i = st.index.partition_point(|&(id, _)| id <= from);
            match i {
                0 => (HEADER, self.first_id, st.end),
                _ => (st.index[i - 1].1, st.index[i - 1].0, st.end),
            }
        };
        let mut recs = Records::new(&self.file, start, end);
        let mut bytes = 0;
        let mut got = false;
        let mut prev = start_id - 1;
        loop {
            let (off, why) = match recs.next()? {
                Step::Record { id, len, .. } if id > prev => {
                    prev = id;
                    if id > upto {
                        break;
                    }
                    if id >= from {
                        out.push(record::packet_at(recs.bytes(len)));
                        got = true;
                        bytes += len;
                        if bytes >= max_bytes {
                            break;
                        }
                    }
                    continue;
                }
                Step::Record { off, .. } => (off, "id out of order"),
                Step::Bad(off, why) => (off, why),
                Step::End => break,
            };
            if prev >= upto {
                // Past everything asked for (bytes a reopen is cutting, or
                // being written): not ours to judge.
                break;
            }
            let hole = self.hole_at(off, why, prev, end)?;
            if hole.from <= hole.to && hole.to >= from {
                // Its ids are wanted: the packets before it first, then
                // (on the next read) the gap.
                if got || hole.from > upto {
                    return Ok(None);
                }
                return Ok(Some((hole.from.max(from), hole.to.min(upto))));
            }
            prev = prev.max(hole.to);
            recs.seek(hole.resume);
        }
        Ok(None)
    }

    /// The hole starting at `off`, known or found now (searching for the
    /// next intact record after `prev` up to `end`).
    fn hole_at(&self, off: u64, reason: &'static str, prev: u64, end: u64) -> io::Result<Hole> {
        if let Some(h) = self.state().holes.iter().find(|h| h.at == off) {
            return Ok(h.clone());
        }
        let (resume, to) = match resync(&self.file, off, end, prev)? {
            Some((next, next_id)) => (next, next_id - 1),
            None => (end, self.last_id()),
        };
        let hole = Hole {
            at: off,
            resume,
            from: prev + 1,
            to,
        };
        let mut st = self.state();
        if let Some(h) = st.holes.iter().find(|h| h.at == off) {
            return Ok(h.clone());
        }
        let i = st.holes.partition_point(|h| h.at < off);
        st.holes.insert(i, hole.clone());
        drop(st);
        self.news
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Corruption {
                path: self.path.clone(),
                offset: off,
                reason,
                from: hole.from,
                to: hole.to,
            });
        Ok(hole)
    }

    /// Puts back the state `before` a failed write. What the write may
    /// have left on disk is not touched through this descriptor: the
    /// journal stops, and cuts it when it reopens.
    pub fn undo(&self, before: State) {
        *self.state() = before;
    }
}

impl State {
    fn note(&mut self, id: u64, ts_ms: i64, off: u64, len: u64) {
        let last_indexed = self.index.last().map(|&(_, o)| o);
        if last_indexed.is_none_or(|o| off - o >= INDEX_EVERY) {
            self.index.push((id, off));
        }
        self.last_id = id;
        self.last_ts = ts_ms;
        self.records += 1;
        self.end = off + len;
    }
}

#[cfg(test)]
mod tests;
