//! Finding and reading the config files, and turning byte offsets into
//! `file:line:column` locations.
//!
//! Reading order is lwsws's: `<dir>/conf` (must exist), then every entry of
//! `<dir>/conf.d/` (optional) sorted by name. In `conf.d`, `.`/`..`, names
//! containing `~` (editor backups) and anything that is not a regular file
//! are skipped; symlinks are skipped too, as lwsws HEAD does
//! (`lws_dir_via_info` reports them as links, not files). Hidden files are
//! read. lwsws sorts with `alphasort` (locale collation); we sort by bytes,
//! which is the same in the C locale.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::Diagnostic;
use super::model::Location;

/// One config file as read from disk (or given to `load_texts`).
#[derive(Debug)]
pub(crate) struct Source {
    /// The path as found under the config dir.
    pub path: PathBuf,
    /// Its bytes, or why it could not be read.
    pub content: io::Result<Vec<u8>>,
}

/// What [`read_config_dir`] found.
#[derive(Debug)]
pub(crate) struct DirContents {
    /// `conf`, then the `conf.d` files in order.
    pub sources: Vec<Source>,
    /// Problems with `conf.d` itself (other than it being absent).
    pub warnings: Vec<Diagnostic>,
}

/// Reads `<dir>/conf` and the files of `<dir>/conf.d/`.
///
/// Only a missing or unreadable `conf` is an error here (lwsws: "Cannot
/// open"); an unreadable `conf.d` file is returned as a [`Source`] with an
/// error content so the loader reports it alongside every other problem.
pub(crate) fn read_config_dir(dir: &Path) -> Result<DirContents, super::Error> {
    let conf = dir.join("conf");
    let bytes = std::fs::read(&conf).map_err(|source| super::Error::Open {
        path: conf.clone(),
        source,
    })?;
    let mut sources = vec![Source {
        path: conf,
        content: Ok(bytes),
    }];
    let mut warnings = Vec::new();

    let conf_d = dir.join("conf.d");
    match conf_d_entries(&conf_d) {
        Ok(paths) => sources.extend(paths.into_iter().map(|path| Source {
            content: std::fs::read(&path),
            path,
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warnings.push(Diagnostic::warning(
            None,
            format!("cannot read directory {}: {e} (skipped)", conf_d.display()),
        )),
    }
    Ok(DirContents { sources, warnings })
}

/// The files of `conf.d` to read, sorted by name.
fn conf_d_entries(conf_d: &Path) -> io::Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(conf_d)? {
        let entry = entry?;
        let name = entry.file_name();
        if !wanted_name(name.as_bytes()) {
            continue;
        }
        // `file_type` does not follow symlinks: a link is not a file here.
        match entry.file_type() {
            Ok(t) if t.is_file() => names.push(name),
            _ => {}
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names.into_iter().map(|n| conf_d.join(n)).collect())
}

/// lwsws's name filter for `conf.d` entries.
fn wanted_name(name: &[u8]) -> bool {
    name != b"." && name != b".." && !name.contains(&b'~')
}

/// A decoded config file with its line index, for locations.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// The path, shared by every [`Location`] in this file.
    pub path: Arc<Path>,
    /// Position in reading order (sort key of diagnostics).
    pub index: usize,
    /// The text (for a non-UTF-8 file: its valid prefix).
    pub text: String,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub(crate) fn new(path: Arc<Path>, index: usize, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            index,
            text,
            line_starts,
        }
    }

    /// The location of byte `offset` (clamped to the text).
    pub(crate) fn location(&self, offset: usize) -> Location {
        let (line, column) = line_col_in(&self.text, &self.line_starts, offset);
        Location {
            file: self.path.clone(),
            line,
            column,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let line_start = text[..floor_boundary(text, offset)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text.as_bytes()[..line_start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    (to_u32(line), column(text, line_start, offset))
}

fn line_col_in(text: &str, line_starts: &[usize], offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let line = line_starts.partition_point(|&s| s <= offset).max(1);
    let line_start = line_starts.get(line - 1).copied().unwrap_or(0);
    (to_u32(line), column(text, line_start, offset))
}

fn column(text: &str, line_start: usize, offset: usize) -> u32 {
    let end = floor_boundary(text, offset);
    let chars = text.get(line_start..end).map_or(0, |s| s.chars().count());
    to_u32(chars + 1)
}

/// The largest char boundary of `text` not after `offset`.
fn floor_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn locations_count_characters() {
        let text = "{\n  \"é\": x\n\tz";
        let f = SourceFile::new(Arc::from(Path::new("f")), 0, text.to_string());
        let at_x = text.find('x').unwrap();
        let l = f.location(at_x);
        assert_eq!((l.line, l.column), (2, 8));
        assert_eq!(line_col(text, at_x), (2, 8));
        let at_z = text.find('z').unwrap();
        assert_eq!(line_col(text, at_z), (3, 2));
        assert_eq!(line_col(text, 0), (1, 1));
        // Past the end and inside a character do not panic.
        assert_eq!(line_col(text, 999), (3, 3));
        let in_e = text.find('é').unwrap() + 1;
        assert_eq!(line_col(text, in_e), (2, 4));
        let l = f.location(in_e);
        assert_eq!((l.line, l.column), (2, 4));
    }

    #[test]
    fn name_filter() {
        assert!(wanted_name(b"test-server"));
        assert!(wanted_name(b".hidden"));
        assert!(!wanted_name(b"."));
        assert!(!wanted_name(b".."));
        assert!(!wanted_name(b"vhost~"));
        assert!(!wanted_name(b"#x~y"));
    }

    #[test]
    fn reads_conf_then_sorted_conf_d() {
        let dir = scratch_dir("reads_conf_then_sorted_conf_d");
        fs::write(dir.join("conf"), "{}").unwrap();
        let d = dir.join("conf.d");
        fs::create_dir(&d).unwrap();
        for name in ["b", "a", ".hidden", "c~", "B"] {
            fs::write(d.join(name), name).unwrap();
        }
        fs::create_dir(d.join("subdir")).unwrap();
        std::os::unix::fs::symlink(d.join("a"), d.join("link")).unwrap();
        let got = read_config_dir(&dir).unwrap();
        assert!(got.warnings.is_empty());
        let names: Vec<_> = got
            .sources
            .iter()
            .map(|s| s.path.strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        let want: Vec<PathBuf> = ["conf", "conf.d/.hidden", "conf.d/B", "conf.d/a", "conf.d/b"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(names, want);
        assert_eq!(got.sources[4].content.as_ref().unwrap(), b"b");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_conf_is_an_open_error_missing_conf_d_is_fine() {
        let dir = scratch_dir("missing_conf");
        let err = read_config_dir(&dir).unwrap_err();
        assert!(err.to_string().starts_with("cannot open "), "{err}");
        assert!(err.to_string().contains("conf"), "{err}");
        fs::write(dir.join("conf"), "{}").unwrap();
        let got = read_config_dir(&dir).unwrap();
        assert_eq!(got.sources.len(), 1);
        assert!(got.warnings.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    pub(crate) fn scratch_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("comlink-config-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
