//! Letting go of the pages of code and read-only data that only starting
//! (or reloading) needed.
//!
//! Starting runs code an idle server never runs again: reading the
//! configuration, the command line, building the runtime, loading and
//! initialising plugins. Once touched, those pages stay in the process's
//! page tables (and its RSS) for its life. The kernel frees its own
//! start-up code once booted (`free_initmem`); the host does the nearest a
//! process can: a second after it is ready, it unmaps from its page tables
//! the pages of its executable's and its plugins' read-only mappings
//! (`MADV_DONTNEED`). They stay in the page cache, shared; whatever runs
//! next faults its pages back in from there, without reading the disk.
//! Each service thread likewise lets go of the stack below where it waits
//! ([`release_unused_stack`]), which start-up's deeper calls had touched.
//!
//! Only mappings that hold nothing but the file's own bytes are released:
//! private, not writable, and without a single anonymous page (a page the
//! process wrote, such as relocated read-only data, a debugger's
//! breakpoint, or a plugin library moved into memory, would be lost).
//! smaps' `Private_Dirty` does not tell: it also counts the page cache's
//! own dirty pages of a file written moments ago (a plugin just copied
//! into place), which are still the file's bytes.

/// Held while mappings are let go of, and while a plugin library is
/// unloaded: between reading smaps and `madvise`, a range unmapped by
/// `dlclose` could be mapped again as something else (heap, a stack),
/// whose data `MADV_DONTNEED` would throw away.
static MAPPINGS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Taken around anything that unmaps a library (`dlclose`).
pub(crate) fn mappings_change() -> std::sync::MutexGuard<'static, ()> {
    MAPPINGS.lock().unwrap_or_else(|e| e.into_inner())
}

/// One mapping of `/proc/self/smaps` that may be released.
#[derive(Debug, PartialEq, Eq)]
struct Candidate {
    start: usize,
    end: usize,
    rss_kib: u64,
    /// Its whole entry was read.
    complete: bool,
}

/// The mappings of `smaps` (the text of `/proc/self/smaps`) of one of
/// `files` (device, inode) that hold only the file's bytes.
fn candidates<L: AsRef<str>>(
    smaps: impl Iterator<Item = L>,
    files: &[(u64, u64)],
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut current: Option<(Candidate, bool)> = None;
    let finish = |c: Option<(Candidate, bool)>, out: &mut Vec<Candidate>| {
        if let Some((c, true)) = c {
            if c.complete {
                out.push(c);
            }
        }
    };
    for line in smaps {
        let mut f = line.as_ref().split_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((start, end)) = first.split_once('-') {
            // A mapping's header: `start-end perms offset maj:min inode path`.
            let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) else {
                continue;
            };
            finish(current.take(), &mut out);
            let perms = f.next().unwrap_or("").as_bytes();
            let _offset = f.next();
            let dev = f.next().and_then(|d| d.split_once(':')).and_then(|(a, b)| {
                Some((
                    u32::from_str_radix(a, 16).ok()?,
                    u32::from_str_radix(b, 16).ok()?,
                ))
            });
            let ino: Option<u64> = f.next().and_then(|i| i.parse().ok());
            let ours = match (dev, ino) {
                (Some(dev), Some(ino)) if ino != 0 => files
                    .iter()
                    .any(|&(d, i)| (libc::major(d), libc::minor(d)) == dev && i == ino),
                _ => false,
            };
            let wanted = ours
                && perms.first() == Some(&b'r')
                && perms.get(1) == Some(&b'-')
                && perms.get(3) == Some(&b'p');
            current = Some((
                Candidate {
                    start,
                    end,
                    rss_kib: 0,
                    complete: false,
                },
                wanted,
            ));
            continue;
        }
        let Some((c, wanted)) = current.as_mut() else {
            continue;
        };
        let kib: Option<u64> = f.next().and_then(|n| n.parse().ok());
        match (first, kib) {
            ("Rss:", Some(n)) => c.rss_kib = n,
            ("Anonymous:" | "Swap:" | "Locked:", Some(n)) if n > 0 => *wanted = false,
            ("Anonymous:" | "Swap:" | "Locked:", None) => *wanted = false,
            // each entry's last line: an entry cut short (a failed read)
            // is never released, whatever it went on to say
            ("VmFlags:", _) => c.complete = true,
            _ => {}
        }
    }
    finish(current.take(), &mut out);
    out
}

/// Releases the resident pages of this process's mappings of `files`
/// (device, inode) that hold only the file's own bytes (see the module's
/// doc). Returns how many KiB were resident in them.
pub(crate) fn release_file_pages(files: &[(u64, u64)]) -> std::io::Result<u64> {
    let _no_unloading = mappings_change();
    use std::io::BufRead;
    // Line by line: the whole of smaps is ~100 KiB, which the heap would
    // keep for an idle server.
    let smaps = std::io::BufReader::new(std::fs::File::open("/proc/self/smaps")?);
    let mut released = 0;
    for c in candidates(smaps.lines().map_while(Result::ok), files) {
        if c.rss_kib == 0 {
            continue;
        }
        // SAFETY: [start, end) is one whole mapping of this process, read
        // from smaps just now: private, not writable, and with no
        // anonymous page, so every page in it is the file's own, unchanged.
        // MADV_DONTNEED on such a mapping only takes its pages out of the
        // page tables; the next access maps the same bytes again from the
        // page cache. No mapping changed since smaps was read: libraries
        // are unloaded under the lock held here, and moved into memory
        // under the loader's, which the caller holds.
        let r = unsafe {
            libc::madvise(
                c.start as *mut libc::c_void,
                c.end - c.start,
                libc::MADV_DONTNEED,
            )
        };
        if r == 0 {
            released += c.rss_kib;
        }
    }
    Ok(released)
}

/// Bytes of a thread's stack kept below the frame that releases the rest:
/// room for the calls it makes (`madvise`'s own frame) and the ABI's red
/// zone, with a wide margin.
const STACK_KEPT_BELOW: usize = 16 * 1024;

/// Lets go of the pages of this thread's stack below the caller's frame:
/// the frames that deeper calls (start-up's, a reload's) left there, which
/// nothing reads again; a deeper call later gets fresh zeroed pages. Only
/// on a thread of its own (a service thread); the main thread's stack is
/// left as it is. Returns the range of the stack let go of.
pub(crate) fn release_unused_stack() -> std::io::Result<std::ops::Range<usize>> {
    // SAFETY: getpid and gettid only read the caller's ids.
    let (pid, tid) = unsafe { (libc::getpid(), libc::gettid()) };
    if pid == tid {
        return Ok(0..0);
    }
    let mut low: *mut libc::c_void = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read
    // and destroyed once; `low` and `size` are valid places to write.
    let r = unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        let r = libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr());
        if r == 0 {
            let got = libc::pthread_attr_getstack(attr.as_ptr(), &mut low, &mut size);
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            got
        } else {
            r
        }
    };
    if r != 0 {
        return Err(std::io::Error::from_raw_os_error(r));
    }
    let page = super::load::page_size()
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(4096);
    let here = std::hint::black_box(&r) as *const i32 as usize;
    let (low, high) = (low as usize, low as usize + size);
    if !(low..high).contains(&here) {
        // not on its stack (a signal's alternate stack): nothing to tell
        return Ok(0..0);
    }
    let from = low.next_multiple_of(page);
    let to = (here - STACK_KEPT_BELOW.min(here - low)) / page * page;
    if to <= from {
        return Ok(0..0);
    }
    // SAFETY: [from, to) is inside this thread's own stack (from
    // pthread_attr_getstack: mapped, read-write, private, above its guard
    // page) and ends STACK_KEPT_BELOW under a local of this frame: below
    // the stack pointer, where only dead frames are (a signal handler's
    // frames there are gone before this code goes on). MADV_DONTNEED on
    // private anonymous memory gives zeroed pages to the next access,
    // which for a stack is the next call that deep, writing its frame.
    let r = unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(from..to)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes and sums 64 KiB of this frame, `depth` frames deep.
    #[inline(never)]
    fn deep(depth: u32) -> u64 {
        let mut frame = [0u8; 64 * 1024];
        for (i, b) in frame.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let frame = std::hint::black_box(frame);
        let below = if depth > 1 { deep(depth - 1) } else { 0 };
        frame.iter().map(|&b| u64::from(b)).sum::<u64>() + below
    }

    /// KiB of `range` resident (mincore).
    fn resident_kib(range: &std::ops::Range<usize>) -> usize {
        let mut v = vec![0u8; range.len() / 4096];
        // SAFETY: `range` is page-aligned, mapped (a thread's own stack,
        // which the caller runs on) and `v` has a byte for each page.
        let r = unsafe {
            libc::mincore(
                range.start as *mut libc::c_void,
                range.len(),
                v.as_mut_ptr(),
            )
        };
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
        v.iter().filter(|&&b| b & 1 == 1).count() * 4
    }

    #[test]
    fn a_thread_lets_go_of_the_stack_below_its_frame_and_can_go_deep_again() {
        let t = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let first = deep(8);
                let released = release_unused_stack().unwrap();
                assert_eq!(resident_kib(&released), 0);
                // the calls' 512 KiB of frames are in what it lets go of
                assert_eq!(deep(8), first);
                assert!(
                    resident_kib(&released) >= 448,
                    "{}",
                    resident_kib(&released)
                );
                assert_eq!(resident_kib(&release_unused_stack().unwrap()), 0);
            })
            .unwrap();
        t.join().unwrap();
    }

    const SMAPS: &str = "\
55d0c0000000-55d0c0010000 r--p 00000000 08:01 1234 /usr/sbin/lwsws
Size:                 64 kB
Rss:                  40 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
Swap:                  0 kB
Locked:                0 kB
VmFlags: rd mr mw me
55d0c0010000-55d0c0020000 r-xp 00010000 08:01 1234 /usr/sbin/lwsws
Rss:                  64 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
55d0c0020000-55d0c0024000 r--p 00020000 08:01 1234 /usr/sbin/lwsws
Rss:                  16 kB
Private_Dirty:        16 kB
Anonymous:            16 kB
55d0c0030000-55d0c0032000 r--p 00030000 08:01 1234 /usr/sbin/lwsws
Rss:                   8 kB
Locked:                8 kB
55d0c0024000-55d0c0025000 rw-p 00024000 08:01 1234 /usr/sbin/lwsws
Rss:                   4 kB
Anonymous:             4 kB
55d0c0040000-55d0c0050000 r-xp 00040000 08:01 1234 /usr/sbin/lwsws
Rss:                  64 kB
7f0000000000-7f0000010000 r-xp 00000000 08:01 99 /usr/lib/libc.so.6
Rss:                  64 kB
Anonymous:             0 kB
7f0000100000-7f0000110000 r-xp 00000000 08:01 77 /plugins/libprotocol_x.so
Rss:                  12 kB
Anonymous:             4 kB
7f0000200000-7f0000210000 rw-p 00000000 00:00 0
Rss:                  64 kB
Anonymous:            64 kB
";

    fn dev(maj: u32, min: u32) -> u64 {
        libc::makedev(maj, min)
    }

    #[test]
    fn only_unwritten_read_only_mappings_of_the_files_are_released() {
        let c = candidates(SMAPS.lines(), &[(dev(8, 1), 1234), (dev(8, 1), 77)]);
        assert_eq!(
            c,
            vec![
                Candidate {
                    start: 0x55d0c0000000,
                    end: 0x55d0c0010000,
                    rss_kib: 40,
                    complete: true
                },
                Candidate {
                    start: 0x55d0c0010000,
                    end: 0x55d0c0020000,
                    rss_kib: 64,
                    complete: true
                },
            ]
        );
    }

    #[test]
    fn another_device_is_another_file() {
        assert!(candidates(SMAPS.lines(), &[(dev(8, 2), 1234)]).is_empty());
    }

    #[test]
    fn the_pages_come_back_with_the_same_bytes() {
        use std::os::unix::fs::MetadataExt;
        let exe = std::fs::metadata("/proc/self/exe").unwrap();
        let before = exe_text_checksum();
        let released = release_file_pages(&[(exe.dev(), exe.ino())]).unwrap();
        assert!(released > 0, "nothing of the test binary was resident");
        assert_eq!(exe_text_checksum(), before);
    }

    /// A checksum of this function's own code, read through its mapping.
    fn exe_text_checksum() -> u64 {
        let f = exe_text_checksum as *const u8;
        // SAFETY: reads 256 bytes of this function's code, which is
        // mapped readable (r-x) and longer than that with the test harness
        // around it in the same mapping.
        let code = unsafe { std::slice::from_raw_parts(f, 256) };
        code.iter()
            .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    }
}
