//! The clean-stop note: what lets a journal that was closed cleanly open
//! without reading its newest segment's empty tail and its spare (64 MiB
//! each by default, read at every start before; from a cold page cache,
//! after a reboot, that was most of a second).
//!
//! Reading that tail finds the stray bytes a crash can leave past the end
//! of the data (the kernel persisted a later page of an unsynced write and
//! not an earlier one). After a clean stop there can be none: the writer
//! synced everything it wrote and wrote nothing past its end. So when the
//! writer is dropped in that state it writes a note (`clean`, synced, then
//! renamed into place and the directory synced) naming the newest
//! segment, where its data ends, and the identity of both files (inode,
//! size, change and modification times). At the next open:
//!
//! * the note is read; a note that cannot be parsed, or whose files are
//!   not exactly as it describes them (anything wrote to or touched them
//!   since: their times moved), is ignored, unlinked at once, and the full
//!   scan runs as after a crash;
//! * a note that vouches for the newest segment stays where it is until
//!   the writer's first write: until then nothing was written to the
//!   segment it describes, so it is still true if this run ends (even by
//!   `kill -9`) before writing (unlinking it cost a third of a millisecond
//!   of every start);
//! * the unlink is made durable (the directory synced) before the writer
//!   writes anything, so a crash after new writes never finds an old note
//!   vouching for the new tail.
//!
//! After `kill -9`, a power cut or a failed write there is no note, and
//! the open reads everything as before.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The note's file name in the journal directory.
pub const CLEAN: &str = "clean";
const CLEAN_TMP: &str = "clean.tmp";
const MAGIC: &str = "comlink-journal-clean 1";

/// What identifies one file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    len: u64,
    ctime_ns: i128,
    mtime_ns: i128,
}

impl Stamp {
    /// The stamp of `path` now (`None`: it does not exist, or no stat).
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = fs::metadata(path).ok()?;
        Some(Stamp {
            ino: m.ino(),
            len: m.len(),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.len
    }

    fn write(&self, out: &mut String, name: &str) {
        out.push_str(&format!(
            "{name} {} {} {} {}\n",
            self.ino, self.len, self.ctime_ns, self.mtime_ns
        ));
    }

    fn parse(words: &[&str]) -> Option<Stamp> {
        match words {
            [ino, len, c, m] => Some(Stamp {
                ino: ino.parse().ok()?,
                len: len.parse().ok()?,
                ctime_ns: c.parse().ok()?,
                mtime_ns: m.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// The note: the newest segment (its first id, where its data ends, its
/// stamp) and the spare's stamp when a whole spare was left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
    /// First id of the newest segment.
    pub segment: u64,
    /// Offset just past its last record.
    pub end: u64,
    /// Its stamp.
    pub stamp: Stamp,
    /// The whole, synced spare's stamp.
    pub spare: Option<Stamp>,
}

impl Clean {
    fn encode(&self) -> String {
        let mut s = format!("{MAGIC}\nsegment {} {}\n", self.segment, self.end);
        self.stamp.write(&mut s, "stamp");
        if let Some(sp) = &self.spare {
            sp.write(&mut s, "spare");
        }
        s
    }

    fn decode(text: &str) -> Option<Clean> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let (mut segment, mut stamp, mut spare) = (None, None, None);
        for line in lines {
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            match words.split_first()? {
                (&"segment", [first, end]) => {
                    segment = Some((first.parse().ok()?, end.parse().ok()?));
                }
                (&"stamp", rest) => stamp = Some(Stamp::parse(rest)?),
                (&"spare", rest) => spare = Some(Stamp::parse(rest)?),
                _ => return None,
            }
        }
        let (segment, end) = segment?;
        Some(Clean {
            segment,
            end,
            stamp: stamp?,
            spare,
        })
    }

    /// Writes the note into `dir` durably: a synced temporary file renamed
    /// over the old note, then the directory synced.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let tmp = dir.join(CLEAN_TMP);
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(self.encode().as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dir.join(CLEAN))?;
        File::open(dir)?.sync_all()
    }

    /// Reads the note in `dir`, leaving it there. `Ok(None)`: there was
    /// none, or it could not be read as a note. The `bool` says whether a
    /// file was there, so it must be removed ([`Clean::remove`]) and the
    /// directory synced before the next write.
    pub fn read(dir: &Path) -> io::Result<(Option<Clean>, bool)> {
        let text = match fs::read(dir.join(CLEAN)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, false)),
            Err(e) => return Err(e),
        };
        Ok((
            std::str::from_utf8(&text).ok().and_then(Clean::decode),
            true,
        ))
    }

    /// Unlinks the note in `dir` (not yet durably: see the module's text),
    /// and a temporary one an interrupted stop left.
    pub fn remove(dir: &Path) -> io::Result<()> {
        match fs::remove_file(dir.join(CLEAN)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let _ = fs::remove_file(dir.join(CLEAN_TMP));
        Ok(())
    }

    /// Takes the note out of `dir`: [`Clean::read`], then [`Clean::remove`].
    #[cfg(test)]
    pub fn take(dir: &Path) -> io::Result<(Option<Clean>, bool)> {
        let (note, present) = Clean::read(dir)?;
        if present {
            Clean::remove(dir)?;
        }
        Ok((note, present))
    }

    /// Where the newest segment `first` at `path` ends, when the note
    /// vouches for it: it names that segment and its stamp is unchanged.
    pub fn end_of(&self, first: u64, path: &Path) -> Option<u64> {
        (self.segment == first && Stamp::of(path) == Some(self.stamp)).then_some(self.end)
    }

    /// Whether the note vouches for the spare at `path` as whole and
    /// synced (the same file, untouched since).
    pub fn vouches_for_spare(&self, path: &Path) -> bool {
        self.spare.is_some() && Stamp::of(path) == self.spare
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(dir: &Path) -> Clean {
        fs::write(dir.join("seg"), b"abc").unwrap();
        fs::write(dir.join("spare"), b"").unwrap();
        Clean {
            segment: 7,
            end: 3,
            stamp: Stamp::of(&dir.join("seg")).unwrap(),
            spare: Stamp::of(&dir.join("spare")),
        }
    }

    #[test]
    fn a_note_round_trips_and_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let c = note(dir.path());
        c.write(dir.path()).unwrap();
        let (got, unlinked) = Clean::take(dir.path()).unwrap();
        assert!(unlinked);
        let got = got.unwrap();
        assert_eq!(got, c);
        assert_eq!(got.end_of(7, &dir.path().join("seg")), Some(3));
        assert_eq!(got.end_of(8, &dir.path().join("seg")), None);
        assert!(got.vouches_for_spare(&dir.path().join("spare")));
        assert_eq!(Clean::take(dir.path()).unwrap(), (None, false));
    }

    #[test]
    fn a_file_written_after_the_note_is_not_vouched_for() {
        let dir = tempfile::tempdir().unwrap();
        let c = note(dir.path());
        // Same size, new content: the change time moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(dir.path().join("seg"), b"xyz").unwrap();
        fs::write(dir.path().join("spare"), b"").unwrap();
        assert_eq!(c.end_of(7, &dir.path().join("seg")), None);
        assert!(!c.vouches_for_spare(&dir.path().join("spare")));
    }

    #[test]
    fn a_garbled_note_is_ignored_and_still_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(CLEAN),
            b"comlink-journal-clean 1\nsegment x\n",
        )
        .unwrap();
        assert_eq!(Clean::take(dir.path()).unwrap(), (None, true));
        assert!(!dir.path().join(CLEAN).exists());
    }
}
