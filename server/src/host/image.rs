//! The part of a plugin file the dynamic loader maps.
//!
//! A plugin may be loaded from a private in-memory copy (see `loader`). Such a
//! copy is memory whether or not a page of it is ever mapped, and a release
//! build's file is mostly what the loader never reads: debug information,
//! the symbol and section tables. The workspace's seven built-in plugins
//! are 41 MB on disk and map about 5 MB. So only the file's head is copied:
//! everything up to the end of the furthest program header's bytes (the
//! segments `dlopen` maps, the dynamic table, the unwind tables), with the
//! section table's fields cleared in the copy, since the table itself is
//! left behind.
//!
//! Debuggers and `perf` cannot open an in-memory copy by its name anyway
//! (`/memfd:... (deleted)`); what is lost is symbol names in a backtrace
//! that a plugin's Rust code prints about itself.
//!
//! Four fields of the ELF header and two of each program header are read
//! here by hand: a parser crate would be a new dependency for thirty
//! lines. Anything that does not look like an ELF file this code knows is
//! copied whole, and `dlopen` says what is wrong with it.

/// Where the copy's head must be patched, and how long the copy is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extent {
    /// Bytes to copy from the start of the file.
    pub(crate) len: u64,
    /// The header with its section table fields (`e_shoff`, `e_shnum`,
    /// `e_shstrndx`) zeroed, to write over the copy's first bytes.
    pub(crate) header: Vec<u8>,
}

/// The page size copies are cut at when the system's is not known: the
/// largest a Linux target uses.
pub(crate) const LARGEST_PAGE: u64 = 64 * 1024;

/// How to read the header of one ELF class and byte order.
struct Layout {
    big_endian: bool,
    wide: bool,
}

impl Layout {
    fn uint(&self, b: &[u8], at: usize, size: usize) -> Option<u64> {
        let bytes = b.get(at..at + size)?;
        let mut v = 0u64;
        if self.big_endian {
            for &x in bytes {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in bytes.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        }
        Some(v)
    }

    /// An address-sized field at `at` (64-bit) or `at32` (32-bit).
    fn word(&self, b: &[u8], at: usize, at32: usize) -> Option<u64> {
        if self.wide {
            self.uint(b, at, 8)
        } else {
            self.uint(b, at32, 4)
        }
    }

    fn half(&self, b: &[u8], at: usize, at32: usize) -> Option<u64> {
        self.uint(b, if self.wide { at } else { at32 }, 2)
    }
}

/// The ELF header's size, by class.
fn header_len(wide: bool) -> usize {
    if wide {
        64
    } else {
        52
    }
}

/// Reads the ELF header at the start of `head`; `read_at(offset, len)`
/// reads the program headers. The copy is cut at a multiple of `page` (the
/// system's page size, what the loader maps by), so the page holding a
/// segment's last byte is whole; `file_len` caps it. `None`: copy the
/// whole file.
pub(crate) fn extent(
    head: &[u8],
    file_len: u64,
    page: u64,
    mut read_at: impl FnMut(u64, usize) -> std::io::Result<Vec<u8>>,
) -> Option<Extent> {
    if head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big_endian = match head.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let l = Layout { big_endian, wide };
    let hlen = header_len(wide);
    let header = head.get(..hlen)?;
    let phoff = l.word(header, 0x20, 0x1c)?;
    let phentsize = l.half(header, 0x36, 0x2a)?;
    let phnum = l.half(header, 0x38, 0x2c)?;
    // 0xffff: the real count is in the section table (not handled here).
    if phnum == 0 || phnum == 0xffff {
        return None;
    }
    let ph_min = if wide { 56 } else { 32 };
    if phentsize < ph_min {
        return None;
    }
    let table_len = phentsize.checked_mul(phnum)?;
    let mut end = phoff.checked_add(table_len)?.max(hlen as u64);
    let table = read_at(phoff, usize::try_from(table_len).ok()?).ok()?;
    for i in 0..phnum as usize {
        let ph = table.get(i * phentsize as usize..)?;
        let offset = l.word(ph, 8, 4)?;
        let filesz = l.word(ph, 32, 16)?;
        end = end.max(offset.checked_add(filesz)?);
    }
    if end > file_len {
        return None; // truncated file: let dlopen say so
    }
    let page = if page.is_power_of_two() {
        page
    } else {
        LARGEST_PAGE
    };
    let len = end.div_ceil(page).saturating_mul(page).min(file_len);
    let mut header = header.to_vec();
    // e_shoff, e_shnum, e_shstrndx
    let (shoff, shoff_len) = if wide { (0x28, 8) } else { (0x20, 4) };
    header[shoff..shoff + shoff_len].fill(0);
    let (shnum, shstrndx) = if wide { (0x3c, 0x3e) } else { (0x30, 0x32) };
    header[shnum..shnum + 2].fill(0);
    header[shstrndx..shstrndx + 2].fill(0);
    Some(Extent { len, header })
}

#[cfg(test)]
mod tests {
    use super::extent;

    /// A little-endian ELF64 header with `phnum` program headers at 64.
    fn elf64(phdrs: &[(u64, u64)], file_len: usize) -> Vec<u8> {
        let mut f = vec![0u8; file_len];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x28..0x30].copy_from_slice(&(file_len as u64 - 640).to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&10u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&9u16.to_le_bytes());
        for (i, (off, size)) in phdrs.iter().enumerate() {
            let p = 64 + i * 56;
            f[p..p + 4].copy_from_slice(&1u32.to_le_bytes());
            f[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
            f[p + 32..p + 40].copy_from_slice(&size.to_le_bytes());
        }
        f
    }

    fn run_paged(f: &[u8], page: u64) -> Option<super::Extent> {
        extent(&f[..64], f.len() as u64, page, |at, len| {
            Ok(f[at as usize..at as usize + len].to_vec())
        })
    }

    fn run(f: &[u8]) -> Option<super::Extent> {
        run_paged(f, super::LARGEST_PAGE)
    }

    #[test]
    fn the_copy_ends_after_the_furthest_segment_rounded_to_a_page() {
        let f = elf64(&[(0, 0x1000), (0x21000, 0x2345)], 1 << 20);
        let e = run(&f).unwrap();
        assert_eq!(e.len, 0x30000);
        assert_eq!(run_paged(&f, 4096).unwrap().len, 0x24000);
        assert_eq!(run_paged(&f, 16384).unwrap().len, 0x24000);
        // not a page size: the largest one
        assert_eq!(run_paged(&f, 5000).unwrap().len, 0x30000);
        assert_eq!(run_paged(&f, 0).unwrap().len, 0x30000);
        // the section table fields are cleared, the rest kept
        assert_eq!(&e.header[0x28..0x30], &[0; 8]);
        assert_eq!(&e.header[0x3c..0x40], &[0; 4]);
        assert_eq!(&e.header[..0x28], &f[..0x28]);
        assert_eq!(&e.header[0x30..0x3c], &f[0x30..0x3c]);
    }

    #[test]
    fn a_small_file_is_copied_up_to_its_end() {
        let f = elf64(&[(0, 0x1800)], 0x2000);
        assert_eq!(run(&f).unwrap().len, 0x2000);
    }

    #[test]
    fn what_is_not_a_known_elf_file_is_copied_whole() {
        assert!(run(&[0u8; 4096]).is_none());
        let mut f = elf64(&[(0, 0x1000)], 0x4000);
        f[4] = 3; // no such class
        assert!(run(&f).is_none());
        // a segment past the end of the file
        assert!(run(&elf64(&[(0, 0x8000)], 0x4000)).is_none());
        // no program headers
        assert!(run(&elf64(&[], 0x4000)).is_none());
    }
}
