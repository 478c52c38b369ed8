//! Fault injection for tests (`test-fault-file`): with the option set, the
//! segment log reads that file before each write, fsync and new segment,
//! and fails the operation when the file names it:
//!
//! * `sync`: fsync fails with an I/O error,
//! * `write`: writes fail with an I/O error,
//! * `full`: making a new segment file fails with "no space left on
//!   device" (records go into segment files zero-filled beforehand, so on
//!   an ordinary filesystem that is where a full disk shows);
//! * `slow-sync`: each fsync takes [`SLOW_SYNC`] longer (a slow disk,
//!   whatever disk the test runs on).
//!
//! Removing the file (or the word) is the cause going away. Without the
//! option nothing is read.

use std::io;
use std::path::PathBuf;

/// What `slow-sync` adds to each fsync.
pub const SLOW_SYNC: std::time::Duration = std::time::Duration::from_millis(20);

/// Where the fault words are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    path: PathBuf,
}

/// An operation that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A write of records (or of zeros when cutting).
    Write,
    /// An fsync.
    Sync,
    /// Zero-filling a new segment file.
    Prepare,
}

impl Faults {
    /// Faults named in the file at `path`.
    pub fn new(path: PathBuf) -> Faults {
        Faults { path }
    }

    /// An error when the file names `op`'s fault.
    pub fn check(&self, op: Op) -> io::Result<()> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return Ok(());
        };
        for word in text.split_whitespace() {
            match (word, op) {
                ("sync", Op::Sync) => {
                    return Err(io::Error::other(
                        "Input/output error (injected fsync fault)",
                    ))
                }
                ("write", Op::Write) => {
                    return Err(io::Error::other(
                        "Input/output error (injected write fault)",
                    ))
                }
                ("slow-sync", Op::Sync) => std::thread::sleep(SLOW_SYNC),
                ("full", Op::Prepare) => {
                    return Err(io::Error::new(
                        io::ErrorKind::StorageFull,
                        "No space left on device (injected)",
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// [`Faults::check`] when there are faults to inject.
pub fn check(faults: Option<&Faults>, op: Op) -> io::Result<()> {
    faults.map_or(Ok(()), |f| f.check(op))
}

/// Whether `e` says the disk (or a quota) is full.
pub fn is_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}
