//! Problems found in the configuration: [`Diagnostic`], and the collector
//! that keeps them in file order while the two passes run.

use std::fmt;

use super::model::Location;

/// How bad a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The configuration cannot be used.
    Error,
    /// Worth telling the user; the configuration still loads.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem: `FILE:LINE:COL: error: MESSAGE` (or `warning:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where, when the problem belongs to a place in a file.
    pub at: Option<Location>,
    /// What is wrong, without the location or severity.
    pub message: String,
}

impl Diagnostic {
    /// An error at `at`.
    pub fn error(at: Option<Location>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            at,
            message: message.into(),
        }
    }

    /// A warning at `at`.
    pub fn warning(at: Option<Location>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            at,
            message: message.into(),
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}: {}", self.severity, self.message),
            None => write!(f, "{}: {}", self.severity, self.message),
        }
    }
}

/// How many of `problems` are errors (used by `Error::Invalid`'s message).
pub fn count_errors(problems: &[Diagnostic]) -> usize {
    problems.iter().filter(|d| d.is_error()).count()
}

/// Collects diagnostics from both passes and hands them back in file order:
/// sorted by (file index, byte offset), stable, so problems found at the
/// same place keep the order they were found in. Problems that belong to
/// no file (`need at least one vhost`) come last.
#[derive(Debug, Default)]
pub(crate) struct Report {
    items: Vec<(usize, usize, Diagnostic)>,
}

impl Report {
    /// Adds `diag`, sorted as if found at byte `offset` of file number `file`.
    pub(crate) fn push(&mut self, file: usize, offset: usize, diag: Diagnostic) {
        self.items.push((file, offset, diag));
    }

    /// Adds a diagnostic that belongs to no file; it sorts after all others.
    pub(crate) fn push_last(&mut self, diag: Diagnostic) {
        self.items.push((usize::MAX, usize::MAX, diag));
    }

    /// True if any error was reported.
    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(|(_, _, d)| d.is_error())
    }

    /// Everything reported, in file order.
    pub(crate) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|&(file, offset, _)| (file, offset));
        self.items.into_iter().map(|(_, _, d)| d).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn loc(line: u32, column: u32) -> Location {
        Location {
            file: Arc::from(Path::new("/etc/lwsws/conf")),
            line,
            column,
        }
    }

    #[test]
    fn display_forms() {
        let e = Diagnostic::error(Some(loc(3, 7)), "trailing comma");
        assert_eq!(e.to_string(), "/etc/lwsws/conf:3:7: error: trailing comma");
        let w = Diagnostic::warning(Some(loc(1, 1)), "x");
        assert_eq!(w.to_string(), "/etc/lwsws/conf:1:1: warning: x");
        let n = Diagnostic::error(None, "need at least one vhost");
        assert_eq!(n.to_string(), "error: need at least one vhost");
        assert_eq!(count_errors(&[e, w, n]), 2);
    }

    #[test]
    fn report_sorts_by_file_then_offset_stably() {
        let mut r = Report::default();
        r.push_last(Diagnostic::error(None, "last"));
        r.push(1, 5, Diagnostic::warning(None, "b"));
        r.push(0, 9, Diagnostic::warning(None, "a"));
        r.push(1, 5, Diagnostic::error(None, "c"));
        r.push(1, 0, Diagnostic::warning(None, "first of file 1"));
        assert!(r.has_errors());
        let msgs: Vec<_> = r.into_sorted().into_iter().map(|d| d.message).collect();
        assert_eq!(msgs, ["a", "first of file 1", "b", "c", "last"]);
    }
}
