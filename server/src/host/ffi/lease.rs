//! Loading a plugin from its own file, safely: a read lease on the file,
//! and moving the library's mappings into memory before anyone rewrites it.
//!
//! A library is mapped from its file. Rewriting that file in place (`cp`
//! over it, `O_TRUNC`) would change or remove the bytes under code that is
//! running: the process gets SIGBUS or runs a mix of two builds. So the
//! host holds a read lease (`F_SETLEASE`, `F_RDLCK`) on each plugin file
//! it maps: the kernel then makes whoever opens it for writing wait (up to
//! `fs.lease-break-time`, 45 s by default) and tells the host, with SIGIO.
//! The host copies the library's remaining file-backed mappings into
//! memory at the same addresses (code into an in-memory file mapped
//! executable at once, the rest anonymous), and lets the lease go; the
//! writer goes on, and the next reload loads the new file.
//!
//! Writable mappings (`.data`) are moved at load, before any of the
//! plugin's code but its initialisers has run: the kernel drops even a
//! private mapping's written pages when their file is truncated, and no
//! other thread may write to a mapping while it is being copied.

use std::ffi::c_void;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

/// Takes a read lease on `fd` (opened read-only). Fails where the kernel
/// refuses one: the file is open for writing somewhere, it belongs to
/// another user (without CAP_LEASE), or its filesystem has no leases.
pub(crate) fn take_read_lease(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    // SAFETY: F_SETLEASE takes an int argument and only changes the lease
    // state of the open file `fd`, which the borrow keeps open.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether someone is waiting to write the file `fd`'s lease is on: the
/// kernel then reports the lease it is being broken to (`F_UNLCK`).
pub(crate) fn lease_breaking(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETLEASE only reads the lease state of the open file `fd`.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETLEASE) };
    rc != libc::F_RDLCK
}

/// Lets the lease on `fd` go, and with it a writer waiting for it: `fd`
/// then names `/dev/null` instead (the number stays taken: glibc knows the
/// library by `/proc/self/fd/N`). `F_SETLEASE` with `F_UNLCK` would need
/// what taking the lease needed, the file's owner or CAP_LEASE, which a
/// server that dropped its privileges since no longer has; a lease goes
/// without any check when the last descriptor of its open file closes,
/// which `dup3` does here.
pub(crate) fn let_go(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    let null = std::fs::File::open("/dev/null")?;
    // SAFETY: dup3 makes `fd` (which the borrow keeps ours) another
    // descriptor of /dev/null, closing what it was in the same step;
    // nothing else of the process uses that open file.
    let rc = unsafe { libc::dup3(null.as_raw_fd(), fd.as_raw_fd(), libc::O_CLOEXEC) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A new in-memory file (`memfd_create`, close-on-exec) that may be mapped
/// executable: MFD_EXEC (Linux 6.3+) asks for that where
/// `vm.memfd_noexec` = 1 would seal it non-executable; older kernels
/// refuse the flag they do not know (EINVAL) and make it executable.
pub(crate) fn executable_memfd(name: &std::ffi::CStr) -> std::io::Result<std::fs::File> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let exec = MFdFlags::MFD_CLOEXEC | MFdFlags::from_bits_retain(libc::MFD_EXEC);
    let fd = match memfd_create(name, exec) {
        Err(nix::errno::Errno::EINVAL) => memfd_create(name, MFdFlags::MFD_CLOEXEC),
        r => r,
    }?;
    Ok(std::fs::File::from(fd))
}

/// Which of a file's mappings [`move_into_memory`] moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mappings {
    /// The writable ones (a library's `.data`).
    Writable,
    /// The readable ones that are not writable (code, constants, the
    /// relocated read-only data).
    ReadOnly,
}

/// One line of `/proc/self/maps`.
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
    read: bool,
    write: bool,
    exec: bool,
    dev: (u32, u32),
    ino: u64,
}

/// `/proc/self/maps`' fields: `start-end perms offset maj:min inode path`.
fn parse(line: &str) -> Option<Mapping> {
    let mut f = line.split_whitespace();
    let (start, end) = f.next()?.split_once('-')?;
    let perms = f.next()?.as_bytes();
    let _offset = f.next()?;
    let (maj, min) = f.next()?.split_once(':')?;
    let ino = f.next()?.parse().ok()?;
    Some(Mapping {
        start: usize::from_str_radix(start, 16).ok()?,
        end: usize::from_str_radix(end, 16).ok()?,
        read: perms.first() == Some(&b'r'),
        write: perms.get(1) == Some(&b'w'),
        exec: perms.get(2) == Some(&b'x'),
        dev: (
            u32::from_str_radix(maj, 16).ok()?,
            u32::from_str_radix(min, 16).ok()?,
        ),
        ino,
    })
}

/// Replaces each of this process's `which` mappings of the file (`dev`,
/// `ino`) with memory holding the same bytes, at the same address and with
/// the same protection: code an in-memory file, the rest anonymous memory.
/// Returns how many were moved. Mappings that cannot be read (the gaps a
/// loader reserves) are left: nothing reads them.
///
/// The bytes are read through the old mapping, so the file must still hold
/// them (the lease guarantees it). Each replacement is one `mmap` or
/// `mremap`: a thread running code there sees the old page or the new one,
/// the same bytes either way. A writable mapping must not be written
/// meanwhile.
pub(crate) fn move_into_memory(dev: u64, ino: u64, which: Mappings) -> std::io::Result<usize> {
    let want = (libc::major(dev), libc::minor(dev));
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let targets: Vec<Mapping> = maps
        .lines()
        .filter_map(parse)
        .filter(|m| m.dev == want && m.ino == ino && m.read)
        .filter(|m| m.write == (which == Mappings::Writable))
        .collect();
    for m in &targets {
        move_one(m)?;
    }
    Ok(targets.len())
}

/// Moves the writable mappings of the library `dlopen` just loaded by the
/// name `name` into memory, as [`move_into_memory`] with
/// [`Mappings::Writable`] does, but found from the library's program
/// headers instead of `/proc/self/maps` (whose reading, some 100 us at
/// start-up, was most of a plugin's load). Falls back to the maps of the
/// file (`dev`, `ino`) when no loaded object has that name.
pub(crate) fn move_writable_of(name: &Path, dev: u64, ino: u64) -> std::io::Result<usize> {
    let Some(targets) = writable_of(name) else {
        return move_into_memory(dev, ino, Mappings::Writable);
    };
    for m in &targets {
        move_one(m)?;
    }
    Ok(targets.len())
}

/// A loaded object's segments, as `dl_iterate_phdr` gives them: its load
/// address and `(type, flags, vaddr, filesz, memsz)` of each header.
type Segments = (usize, Vec<(u32, u32, usize, usize, usize)>);

/// A program header of this target's ELF class.
#[cfg(target_pointer_width = "64")]
type Phdr = libc::Elf64_Phdr;
#[cfg(target_pointer_width = "32")]
type Phdr = libc::Elf32_Phdr;

/// Calls `f` with the name (empty for the executable), load address and
/// program headers of each loaded object, as `dl_iterate_phdr` lists
/// them, until it returns true.
fn each_object<F: FnMut(&std::ffi::CStr, usize, &[Phdr]) -> bool>(mut f: F) {
    unsafe extern "C" fn visit<F: FnMut(&std::ffi::CStr, usize, &[Phdr]) -> bool>(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut c_void,
    ) -> libc::c_int {
        // SAFETY: `data` is the `F` passed below, alive for the whole
        // iteration; `info` is the loader's description of one object,
        // valid during this call, its `dlpi_phdr` pointing at
        // `dlpi_phnum` headers and its name (when not null) a C string.
        unsafe {
            let f = &mut *(data as *mut F);
            let info = &*info;
            let name = if info.dlpi_name.is_null() {
                c""
            } else {
                std::ffi::CStr::from_ptr(info.dlpi_name)
            };
            let headers = if info.dlpi_phdr.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum))
            };
            libc::c_int::from(f(name, info.dlpi_addr as usize, headers))
        }
    }
    // SAFETY: `visit::<F>` only reads what the loader hands it and calls
    // the `F` it is given, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit::<F>), &mut f as *mut F as *mut c_void) };
}

/// The segments of the loaded object named `name` (its `dlopen` path).
fn segments_of(name: &std::ffi::CStr) -> Option<Segments> {
    let mut found = None;
    each_object(|n, base, headers| {
        if n != name {
            return false;
        }
        let segments = headers
            .iter()
            .map(|h| {
                (
                    h.p_type,
                    h.p_flags,
                    h.p_vaddr as usize,
                    h.p_filesz as usize,
                    h.p_memsz as usize,
                )
            })
            .collect();
        found = Some((base, segments));
        true
    });
    found
}

/// The file-backed pages of the object named `name` that are writable now:
/// each writable `PT_LOAD` from its first page to the end of its file part
/// (the loader maps the rest, `.bss`, anonymous), less what
/// `PT_GNU_RELRO` made read-only after relocation (whole pages only, as
/// the loader protects it). None when no loaded object has that name.
fn writable_of(name: &Path) -> Option<Vec<Mapping>> {
    let cname = std::ffi::CString::new(name.as_os_str().as_encoded_bytes()).ok()?;
    let (base, headers) = segments_of(&cname)?;
    Some(writable_ranges(base, &headers, page_size()))
}

/// [`writable_of`]'s arithmetic, on an object loaded at `base` with
/// `headers`, on pages of `page` bytes.
fn writable_ranges(
    base: usize,
    headers: &[(u32, u32, usize, usize, usize)],
    page: usize,
) -> Vec<Mapping> {
    let down = |a: usize| a & !(page - 1);
    let up = |a: usize| (a + page - 1) & !(page - 1);
    let relro = headers
        .iter()
        .find(|h| h.0 == libc::PT_GNU_RELRO)
        .map(|&(_, _, vaddr, _, memsz)| (down(base + vaddr), down(base + vaddr + memsz)));
    let mut out = Vec::new();
    for &(kind, flags, vaddr, filesz, _) in headers {
        if kind != libc::PT_LOAD || flags & libc::PF_W == 0 || filesz == 0 {
            continue;
        }
        let (start, end) = (down(base + vaddr), up(base + vaddr + filesz));
        let mut parts = vec![(start, end)];
        if let Some((rs, re)) = relro.filter(|(rs, re)| rs < re) {
            parts = vec![(start, end.min(rs)), (start.max(re), end)];
        }
        for (s, e) in parts.into_iter().filter(|(s, e)| s < e) {
            out.push(Mapping {
                start: s,
                end: e,
                read: true,
                write: true,
                exec: flags & libc::PF_X != 0,
                dev: (0, 0),
                ino: 0,
            });
        }
    }
    out
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

fn move_one(m: &Mapping) -> std::io::Result<()> {
    if m.exec {
        // Code goes through an in-memory file mapped executable at once:
        // an anonymous copy would have to be made executable afterwards,
        // which MemoryDenyWriteExecute= (and prctl's MDWE) refuses.
        move_through_memfd(m).or_else(|e| move_anonymous(m).map_err(|_| e))
    } else {
        move_anonymous(m)
    }
}

fn prot_of(m: &Mapping) -> libc::c_int {
    libc::PROT_READ
        | if m.write { libc::PROT_WRITE } else { 0 }
        | if m.exec { libc::PROT_EXEC } else { 0 }
}

/// `m`'s bytes into a new in-memory file, mapped over `m` (one `mmap` with
/// MAP_FIXED replaces the old mapping in the same step).
fn move_through_memfd(m: &Mapping) -> std::io::Result<()> {
    use std::io::Write;
    let len = m.end - m.start;
    let mut file = executable_memfd(c"lwsws-plugin-code")?;
    // SAFETY: `m.start..m.end` is a readable mapping of this process (read
    // from /proc/self/maps just now, and the library that owns it is kept
    // loaded by the caller).
    let bytes = unsafe { std::slice::from_raw_parts(m.start as *const u8, len) };
    file.write_all(bytes)?;
    // SAFETY: maps the file just written, which holds the same bytes, over
    // `m.start..m.end` with the same protection; MAP_FIXED replaces the old
    // mapping in the same step, so every pointer into it stays valid.
    let at = unsafe {
        libc::mmap(
            m.start as *mut c_void,
            len,
            prot_of(m),
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            file.as_raw_fd(),
            0,
        )
    };
    if at == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `m`'s bytes into new anonymous memory, moved over `m` (`mremap` with
/// MREMAP_FIXED replaces the old mapping in the same step).
fn move_anonymous(m: &Mapping) -> std::io::Result<()> {
    let len = m.end - m.start;
    let err = std::io::Error::last_os_error;
    // SAFETY: a fresh private anonymous mapping of `len` bytes, placed
    // where the kernel likes; nothing else refers to it yet.
    let new = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if new == libc::MAP_FAILED {
        return Err(err());
    }
    // SAFETY: `m.start..m.end` is a readable mapping of this process (as in
    // `move_through_memfd`); `new` is `len` writable bytes of our own; the
    // two do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(m.start as *const u8, new.cast::<u8>(), len) };
    // SAFETY: `new` is the mapping made above, of `len` bytes.
    if unsafe { libc::mprotect(new, len, prot_of(m)) } != 0 {
        let e = err();
        // SAFETY: as above; it is unmapped once, here.
        unsafe { libc::munmap(new, len) };
        return Err(e);
    }
    // SAFETY: moves our mapping `new` over `m.start..m.end`, which it
    // replaces atomically (MREMAP_FIXED unmaps what was there in the same
    // step) with the same bytes and protection, so every pointer into it
    // stays valid.
    let moved = unsafe {
        libc::mremap(
            new,
            len,
            len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            m.start as *mut c_void,
        )
    };
    if moved == libc::MAP_FAILED {
        let e = err();
        // SAFETY: as above.
        unsafe { libc::munmap(new, len) };
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_are_read() {
        let m =
            parse("7f10fb866000-7f10fb8a5000 r-xp 0000f000 fe:00 5308424    /x/libp.so").unwrap();
        assert_eq!(
            m,
            Mapping {
                start: 0x7f10fb866000,
                end: 0x7f10fb8a5000,
                read: true,
                write: false,
                exec: true,
                dev: (0xfe, 0),
                ino: 5308424,
            }
        );
        assert!(parse("garbage").is_none());
    }

    /// The names of this process's loaded objects (those with one).
    fn loaded_names() -> Vec<std::ffi::CString> {
        let mut names = Vec::new();
        each_object(|name, _, _| {
            if !name.is_empty() {
                names.push(name.to_owned());
            }
            false
        });
        names
    }

    #[test]
    fn the_writable_pages_from_program_headers_are_those_the_kernel_maps() {
        use std::os::unix::fs::MetadataExt;
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mut checked = 0;
        for name in loaded_names() {
            let path = Path::new(
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name.to_bytes()),
            );
            let Ok(meta) = std::fs::metadata(path) else {
                continue; // the vdso, and names that are not files
            };
            let dev = (libc::major(meta.dev()), libc::minor(meta.dev()));
            let mapped: Vec<(usize, usize)> = maps
                .lines()
                .filter_map(parse)
                .filter(|m| m.dev == dev && m.ino == meta.ino() && m.write)
                .map(|m| (m.start, m.end))
                .collect();
            let found: Vec<(usize, usize)> = writable_of(path)
                .unwrap()
                .iter()
                .map(|m| (m.start, m.end))
                .collect();
            assert_eq!(found, mapped, "{}", path.display());
            checked += 1;
        }
        // libc and libgcc_s at least
        assert!(checked >= 2, "{checked}");
    }

    #[test]
    fn relro_is_taken_out_of_a_writable_segment_in_whole_pages() {
        let page = 4096;
        let w = |flags| (libc::PT_LOAD, flags, 0x1100, 0x3000, 0x5000);
        // writable segment 0x1000..0x5000 (file part to 0x4100), RELRO up
        // to 0x2800: its first page is protected, 0x2000.. stays writable
        let relro = (libc::PT_GNU_RELRO, libc::PF_R, 0x1100, 0, 0x1700);
        let got = writable_ranges(0x10000, &[w(libc::PF_R | libc::PF_W), relro], page);
        let spans: Vec<_> = got.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(spans, vec![(0x12000, 0x15000)]);
        // without RELRO the whole file part; read-only segments never
        let got = writable_ranges(0x10000, &[w(libc::PF_R | libc::PF_W), w(libc::PF_R)], page);
        let spans: Vec<_> = got.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(spans, vec![(0x11000, 0x15000)]);
    }

    #[test]
    fn a_mapping_moves_into_memory_with_its_bytes() {
        moves(libc::PROT_READ);
    }

    #[test]
    fn a_code_mapping_moves_into_memory_with_its_bytes() {
        moves(libc::PROT_READ | libc::PROT_EXEC);
    }

    fn moves(prot: libc::c_int) {
        use std::io::Write;
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let page = 4096 * 4;
        let bytes: Vec<u8> = (0..page).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let meta = file.metadata().unwrap();
        // SAFETY: a private mapping of the test's own file, never written.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                prot,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(at, libc::MAP_FAILED);
        let n = move_into_memory(meta.dev(), meta.ino(), Mappings::ReadOnly).unwrap();
        assert_eq!(n, 1);
        // The file is gone and truncated: the bytes are still there.
        std::fs::write(&path, b"").unwrap();
        drop(file);
        // SAFETY: `at` is still `page` readable bytes (now in memory).
        let now = unsafe { std::slice::from_raw_parts(at.cast::<u8>(), page) };
        assert_eq!(now, &bytes[..]);
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let dev = (libc::major(meta.dev()), libc::minor(meta.dev()));
        let mut left = maps.lines().filter_map(parse);
        assert!(!left.any(|m| m.ino == meta.ino() && m.dev == dev));
        if prot & libc::PROT_EXEC != 0 {
            // never made executable after the fact (MemoryDenyWriteExecute)
            assert!(maps.contains("/memfd:lwsws-plugin-code"), "{maps}");
        }
        // SAFETY: unmapping the test's own mapping.
        unsafe { libc::munmap(at, page) };
    }
}
