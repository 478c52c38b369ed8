//! One segment file: `<first id, 20 digits>.seg`, a 16-byte header
//! (`CLPKSEG1` + first id) then records back to back, in a file that was
//! zero-filled to its full size before it got its name.
//!
//! Zero-filling first is what makes group commit cheap: appends overwrite
//! blocks that already exist, so `fdatasync` flushes data only, never the
//! file size or extent metadata (on ext4 a growing file costs ~3 ms per sync,
//! an overwritten one ~0.15 ms; see the README). It also makes the end of
//! the data self-describing: eight zero bytes where a record would start.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
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
}

impl<'a> Records<'a> {
    fn new(file: &'a File, from: u64, limit: u64) -> Records<'a> {
        Records {
            file,
            limit,
            buf: Vec::new(),
            buf_off: from,
            pos: 0,
        }
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
                    let want = (need.max(READ_CHUNK) as u64).min(room) as usize;
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

impl Segment {
    /// Writes a zero-filled file of `capacity` bytes at `path` and syncs it.
    pub fn prepare(path: &Path, capacity: u64) -> io::Result<()> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        zero(&f, 0, capacity)?;
        f.sync_all()
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
        })
    }

    /// Opens an existing segment and reads every record once (checksums
    /// included) to find its end. With `repair`, a bad record (the torn tail
    /// a crash leaves) and everything after it are zeroed, so it is never
    /// delivered and new records go where it was.
    pub fn open(path: &Path, first_id: u64, repair: bool) -> io::Result<(Segment, Option<Cut>)> {
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
        let mut recs = Records::new(&file, HEADER, capacity);
        loop {
            match recs.next()? {
                Step::Record {
                    id,
                    ts_ms,
                    off,
                    len,
                } => {
                    if id < first_id || id <= st.last_id {
                        cut = Some(Cut {
                            offset: off,
                            reason: "id out of order",
                        });
                        break;
                    }
                    st.note(id, ts_ms, off, len as u64);
                }
                Step::End => break,
                Step::Bad(off, reason) => {
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
            },
            cut,
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
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Reads packets with ids in `from..=upto`, stopping after `max_bytes`
    /// (at least one packet). A bad record ends the read with an error.
    pub fn read(
        &self,
        from: u64,
        upto: u64,
        max_bytes: usize,
        out: &mut Vec<Packet>,
    ) -> Result<(), ReadError> {
        let (start, end) = {
            let st = self.state();
            let i = st.index.partition_point(|&(id, _)| id <= from);
            let start = if i == 0 { HEADER } else { st.index[i - 1].1 };
            (start, st.end)
        };
        let mut recs = Records::new(&self.file, start, end);
        let mut bytes = 0;
        loop {
            match recs.next().map_err(ReadError::Io)? {
                Step::Record { id, len, .. } => {
                    if id > upto {
                        break;
                    }
                    if id >= from {
                        out.push(record::packet_at(recs.bytes(len)));
                        bytes += len;
                        if bytes >= max_bytes {
                            break;
                        }
                    }
                }
                Step::End => break,
                Step::Bad(off, why) => {
                    return Err(ReadError::Bad(format!(
                        "{}: bad record at offset {off}: {why}",
                        self.path.display()
                    )))
                }
            }
        }
        Ok(())
    }

    /// Puts back the state `before` a failed write and zeroes what the
    /// write may have left beyond it.
    pub fn undo(&self, before: State, written_to: u64) -> io::Result<()> {
        let from = before.end;
        *self.state() = before;
        zero(&self.file, from, written_to.min(self.capacity))?;
        self.file.sync_data()
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

/// Why a read failed.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be read.
    Io(io::Error),
    /// A record inside the data is not intact.
    Bad(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(first: u64, n: u64) -> (Vec<u8>, Vec<(u64, i64, u64)>) {
        let mut buf = Vec::new();
        let mut recs = Vec::new();
        for id in first..first + n {
            recs.push((id, id as i64, buf.len() as u64));
            record::encode(&mut buf, id, id as i64, b"t", format!("p{id}").as_bytes());
        }
        (buf, recs)
    }

    #[test]
    fn names_parse() {
        assert_eq!(parse_name(&file_name(42)), Some(42));
        assert_eq!(parse_name("42.seg"), None);
        assert_eq!(parse_name("spare.tmp"), None);
    }

    #[test]
    fn append_read_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let spare = dir.path().join("spare.tmp");
        Segment::prepare(&spare, 1 << 20).unwrap();
        let seg = Segment::activate(&spare, dir.path(), 5).unwrap();
        let (buf, recs) = entries(5, 3000);
        seg.append(HEADER, &buf, &recs).unwrap();
        seg.sync().unwrap();
        let mut out = Vec::new();
        seg.read(2000, 2004, usize::MAX, &mut out).unwrap();
        assert_eq!(
            out.iter().map(|p| p.id).collect::<Vec<_>>(),
            [2000, 2001, 2002, 2003, 2004]
        );
        assert_eq!(out[0].data, b"p2000");
        let mut one = Vec::new();
        seg.read(7, 3004, 1, &mut one).unwrap();
        assert_eq!(one.len(), 1);
        let end = seg.end();
        drop(seg);
        let (again, cut) = Segment::open(&dir.path().join(file_name(5)), 5, true).unwrap();
        assert!(cut.is_none());
        assert_eq!((again.end(), again.last_id()), (end, 3004));
    }

    #[test]
    fn a_torn_tail_is_cut_and_zeroed() {
        let dir = tempfile::tempdir().unwrap();
        let spare = dir.path().join("spare.tmp");
        Segment::prepare(&spare, 64 * 1024).unwrap();
        let seg = Segment::activate(&spare, dir.path(), 1).unwrap();
        let (buf, recs) = entries(1, 10);
        seg.append(HEADER, &buf, &recs).unwrap();
        let good_end = seg.end();
        // Half of an 11th record, as a crash inside write(2) leaves it.
        let (more, _) = entries(11, 1);
        seg.file
            .write_all_at(&more[..more.len() / 2], good_end)
            .unwrap();
        drop(seg);
        let path = dir.path().join(file_name(1));
        let (seg, cut) = Segment::open(&path, 1, true).unwrap();
        let cut = cut.expect("the torn record is found");
        assert_eq!(cut.offset, good_end);
        assert_eq!((seg.last_id(), seg.end()), (10, good_end));
        let mut rest = vec![1u8; 64];
        seg.file.read_exact_at(&mut rest, good_end).unwrap();
        assert!(rest.iter().all(|&b| b == 0), "the torn bytes are zeroed");
        drop(seg);
        let (_, cut) = Segment::open(&path, 1, true).unwrap();
        assert!(cut.is_none(), "once cut, the segment is clean");
    }
}
