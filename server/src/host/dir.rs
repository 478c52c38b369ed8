//! `lws_dir`: what a directory holds, as lws lists it (names in byte
//! order, `.` and `..` left out, names with `~` skipped: editor backups),
//! each with lws's object type; and the helpers lws offers as ready-made
//! `lws_dir` callbacks (the glob test of `lws_dir_glob_cb`, the removal of
//! `lws_dir_rm_rf_cb`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// lws's `lws_dir_obj_type_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum ObjType {
    /// `LDOT_UNKNOWN`.
    Unknown = 0,
    /// `LDOT_FILE`.
    File = 1,
    /// `LDOT_DIR`.
    Dir = 2,
    /// `LDOT_LINK`.
    Link = 3,
    /// `LDOT_FIFO`.
    Fifo = 4,
    /// `LDOTT_SOCKET` (lws's spelling).
    Socket = 5,
    /// `LDOT_CHAR`.
    Char = 6,
    /// `LDOT_BLOCK`.
    Block = 7,
}

/// The entries of `dir`, sorted by name bytes (`alphasort` in the C
/// locale), without `.`, `..` and names containing `~`.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<(OsString, ObjType)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name.as_bytes().contains(&b'~') {
            continue;
        }
        let t = match e.file_type() {
            Ok(t) if t.is_symlink() => ObjType::Link,
            Ok(t) if t.is_dir() => ObjType::Dir,
            Ok(t) if t.is_file() => ObjType::File,
            Ok(t) if t.is_fifo() => ObjType::Fifo,
            Ok(t) if t.is_socket() => ObjType::Socket,
            Ok(t) if t.is_char_device() => ObjType::Char,
            Ok(t) if t.is_block_device() => ObjType::Block,
            _ => ObjType::Unknown,
        };
        out.push((name, t));
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// lws's one-star glob: `name` matches `filter` when they agree byte by
/// byte up to a `*`, and what follows the `*` is the rest of the name
/// exactly (`*.txt`, `log-*.gz`). A filter without `*` never matches, as
/// in lws.
pub(crate) fn glob_matches(name: &[u8], filter: &[u8]) -> bool {
    let mut f = 0;
    for (i, &c) in name.iter().enumerate() {
        match filter.get(f) {
            Some(b'*') => {
                if name[i..] == filter[f + 1..] {
                    return true;
                }
            }
            Some(&fc) if fc == c => f += 1,
            _ => return false,
        }
    }
    false
}

/// Removes `path`: a directory (not a link to one) with everything in it,
/// anything else on its own. Errors are ignored, as lws's callback does.
pub(crate) fn remove_all(path: &Path, t: ObjType) {
    if t == ObjType::Dir {
        if let Ok(entries) = list(path) {
            for (name, t) in entries {
                remove_all(&path.join(name), t);
            }
        }
        let _ = std::fs::remove_dir(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_byte_order_without_backups() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b", "a", "B", "x~", ".hidden"] {
            std::fs::write(d.path().join(n), "").unwrap();
        }
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("a", d.path().join("ln")).unwrap();
        let got: Vec<(String, ObjType)> = list(d.path())
            .unwrap()
            .into_iter()
            .map(|(n, t)| (n.to_string_lossy().into_owned(), t))
            .collect();
        let want = [
            (".hidden", ObjType::File),
            ("B", ObjType::File),
            ("a", ObjType::File),
            ("b", ObjType::File),
            ("ln", ObjType::Link),
            ("sub", ObjType::Dir),
        ];
        assert_eq!(got, want.map(|(n, t)| (n.to_string(), t)).to_vec());
    }

    #[test]
    fn globs_as_lws() {
        assert!(glob_matches(b"a.txt", b"*.txt"));
        assert!(glob_matches(b"log-1.gz", b"log-*.gz"));
        assert!(!glob_matches(b"a.txt.bak", b"*.txt"));
        assert!(!glob_matches(b"a.txt", b"a.txt"));
        assert!(!glob_matches(b"b.txt", b"a*"));
    }

    #[test]
    fn removes_trees_but_not_through_links() {
        let d = tempfile::tempdir().unwrap();
        let keep = d.path().join("keep");
        std::fs::create_dir(&keep).unwrap();
        std::fs::write(keep.join("k"), "").unwrap();
        let gone = d.path().join("gone");
        std::fs::create_dir_all(gone.join("a/b")).unwrap();
        std::fs::write(gone.join("a/b/f"), "").unwrap();
        std::os::unix::fs::symlink(&keep, gone.join("link")).unwrap();
        remove_all(&gone, ObjType::Dir);
        assert!(!gone.exists());
        assert!(keep.join("k").exists());
    }
}
