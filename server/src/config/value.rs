//! lws value conversions, and the per-file context the section readers use
//! to convert values and report problems.
//!
//! lwsws reads every scalar as text: numbers may be JSON numbers or strings
//! (`"port": "7681"`), JSON `true`/`false` are seen as `"1"`/`"0"`.
//!
//! **Numbers are stricter than lwsws on purpose.** lwsws converts with
//! `atoi`, so `"12abc"` is 12 and `"abc"` is 0, silently. Here a numeric
//! key must hold a clean integer (surrounding spaces allowed); anything
//! else is an error naming the key and saying "expected a number", and a
//! value that does not fit (a negative number, a port above 65535) is an
//! "out of range" error.
//!
//! **Booleans** follow lws's `arg_to_bool`: true for a non-zero integer or
//! `on`/`yes`/`true` (any case); false for `0`, `off`/`no`/`false` and the
//! empty string. Any other text is false, with a warning (lwsws would take
//! text starting with a non-zero number as true; the warning says so).
//!
//! **`_lws_ddir_`**: in the vhost pass the first occurrence inside every
//! string value is replaced by the data dir (only one per string); keys and
//! global values are kept verbatim, as in lwsws.

use std::borrow::Cow;
use std::path::PathBuf;

use super::diag::{Diagnostic, Report};
use super::json::{Member, Node, Value};
use super::model::{Location, Setting};
use super::source::SourceFile;

/// The marker lwsws replaces by its install data dir.
pub(crate) const DDIR_MARKER: &str = "_lws_ddir_";

/// Replaces the first `_lws_ddir_` of `s` by `ddir`.
pub(crate) fn substitute_ddir(s: &str, ddir: &str) -> String {
    s.replacen(DDIR_MARKER, ddir, 1)
}

/// The text lwsws sees for a scalar; `None` for arrays, objects and null.
pub(crate) fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) | Value::Number(s) => Some(Cow::Borrowed(s)),
        Value::Bool(true) => Some(Cow::Borrowed("1")),
        Value::Bool(false) => Some(Cow::Borrowed("0")),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Why a text is not an acceptable integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntError {
    /// Not a clean integer.
    NotANumber,
    /// An integer, but negative or above the maximum.
    OutOfRange,
}

/// Parses a clean integer in `0..=max` (surrounding whitespace allowed).
pub(crate) fn parse_int(text: &str, max: u64) -> Result<u64, IntError> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IntError::NotANumber);
    }
    let value = digits
        .bytes()
        .try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(IntError::OutOfRange)?;
    if (negative && value != 0) || value > max {
        return Err(IntError::OutOfRange);
    }
    Ok(value)
}

/// How a text reads as a boolean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BoolText {
    /// A non-zero integer, `on`, `yes`, `true`.
    True,
    /// `0`, `off`, `no`, `false`, empty.
    False,
    /// Anything else: taken as false, with a warning.
    Unclear,
}

/// lws's `arg_to_bool`, with the unclear cases told apart.
pub(crate) fn parse_bool(text: &str) -> BoolText {
    let t = text.trim();
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return if unsigned.bytes().any(|b| b != b'0') {
            BoolText::True
        } else {
            BoolText::False
        };
    }
    if ["on", "yes", "true"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
    {
        BoolText::True
    } else if t.is_empty()
        || ["off", "no", "false"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
    {
        BoolText::False
    } else {
        BoolText::Unclear
    }
}

/// True if C's `atoi(text)` is non-zero (what lwsws would decide).
fn atoi_nonzero(text: &str) -> bool {
    let t = text.trim_start();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    t.bytes().take_while(u8::is_ascii_digit).any(|b| b != b'0')
}

/// Stores `value` into `slot` if there is one (a failed conversion keeps
/// the default; the problem is already reported).
pub(crate) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Like [`set`] for optional fields.
pub(crate) fn set_some<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

/// Conversion context for one file in one pass.
pub(crate) struct Cx<'a> {
    /// The file being read.
    pub file: &'a SourceFile,
    /// Where problems go.
    pub report: &'a mut Report,
    /// `Some(data dir)` in the vhost pass (`_lws_ddir_` substitution).
    pub ddir: Option<&'a str>,
}

impl Cx<'_> {
    /// The location of byte `at` of the file.
    pub(crate) fn loc(&self, at: usize) -> Location {
        self.file.location(at)
    }

    /// Reports an error at byte `at`.
    pub(crate) fn error(&mut self, at: usize, message: impl Into<String>) {
        let d = Diagnostic::error(Some(self.loc(at)), message);
        self.report.push(self.file.index, at, d);
    }

    /// Reports a warning at byte `at`.
    pub(crate) fn warn(&mut self, at: usize, message: impl Into<String>) {
        let d = Diagnostic::warning(Some(self.loc(at)), message);
        self.report.push(self.file.index, at, d);
    }

    /// `unknown key "X" in SECTION (ignored)`.
    pub(crate) fn unknown_key(&mut self, section: &str, m: &Member) {
        self.warn(
            m.at,
            format!(
                "unknown key \"{}\" in {section} (ignored)",
                m.key.escape_debug()
            ),
        );
    }

    /// A key of lws HEAD that Comlink accepts and ignores.
    pub(crate) fn head_only(&mut self, section: &str, m: &Member) {
        self.warn(
            m.at,
            format!(
                "key \"{}\" in {section} is an lws HEAD extra that Comlink does not support (ignored)",
                m.key
            ),
        );
    }

    /// A scalar as text (`_lws_ddir_` substituted in the vhost pass).
    pub(crate) fn text(&mut self, key: &str, node: &Node) -> Option<String> {
        let Some(text) = scalar_text(&node.value) else {
            self.error(
                node.at,
                format!(
                    "\"{}\": expected a string or number, found {}",
                    key.escape_debug(),
                    node.value.kind()
                ),
            );
            return None;
        };
        Some(match self.ddir {
            Some(ddir) => substitute_ddir(&text, ddir),
            None => text.into_owned(),
        })
    }

    /// A scalar as text, with where it was written.
    pub(crate) fn text_setting(&mut self, key: &str, node: &Node) -> Option<Setting<String>> {
        let value = self.text(key, node)?;
        Some(Setting {
            value,
            at: self.loc(node.at),
        })
    }

    /// A non-empty path.
    pub(crate) fn path(&mut self, key: &str, node: &Node) -> Option<PathBuf> {
        let text = self.text(key, node)?;
        if text.is_empty() {
            self.error(node.at, format!("\"{key}\": empty path"));
            return None;
        }
        Some(PathBuf::from(text))
    }

    /// A non-empty path, with where it was written.
    pub(crate) fn path_setting(&mut self, key: &str, node: &Node) -> Option<Setting<PathBuf>> {
        let value = self.path(key, node)?;
        Some(Setting {
            value,
            at: self.loc(node.at),
        })
    }

    /// An integer in `0..=max` (see the module doc: stricter than `atoi`).
    pub(crate) fn int(&mut self, key: &str, node: &Node, max: u64) -> Option<u64> {
        let text = self.text(key, node)?;
        match parse_int(&text, max) {
            Ok(v) => Some(v),
            Err(IntError::NotANumber) => {
                let shown = match node.value {
                    Value::String(_) => format!("\"{}\"", text.escape_debug()),
                    _ => text,
                };
                self.error(
                    node.at,
                    format!("\"{key}\": expected a number, found {shown}"),
                );
                None
            }
            Err(IntError::OutOfRange) => {
                self.error(
                    node.at,
                    format!(
                        "\"{key}\": {} is out of range (0 to {max})",
                        text.trim().escape_debug()
                    ),
                );
                None
            }
        }
    }

    /// A `u16` (ports).
    pub(crate) fn u16(&mut self, key: &str, node: &Node) -> Option<u16> {
        self.int(key, node, u64::from(u16::MAX))
            .and_then(|v| u16::try_from(v).ok())
    }

    /// A `u32`.
    pub(crate) fn u32(&mut self, key: &str, node: &Node) -> Option<u32> {
        self.int(key, node, u64::from(u32::MAX))
            .and_then(|v| u32::try_from(v).ok())
    }

    /// A `u64`.
    pub(crate) fn u64(&mut self, key: &str, node: &Node) -> Option<u64> {
        self.int(key, node, u64::MAX)
    }

    /// A boolean, lws style (see the module doc).
    pub(crate) fn bool(&mut self, key: &str, node: &Node) -> Option<bool> {
        let text = self.text(key, node)?;
        match parse_bool(&text) {
            BoolText::True => Some(true),
            BoolText::False => Some(false),
            BoolText::Unclear => {
                let lws = if atoi_nonzero(&text) {
                    "; lwsws would take it as true"
                } else {
                    ""
                };
                self.warn(
                    node.at,
                    format!(
                        "\"{key}\": \"{}\" is not a boolean, taken as false \
                         (use on/off, yes/no, true/false or 1/0{lws})",
                        text.escape_debug()
                    ),
                );
                Some(false)
            }
        }
    }

    /// The members of an object value.
    pub(crate) fn object<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n [Member]> {
        match &node.value {
            Value::Object(members) => Some(members),
            v => {
                self.error(
                    node.at,
                    format!("\"{key}\": expected an object, found {}", v.kind()),
                );
                None
            }
        }
    }

    /// The items of an array value.
    pub(crate) fn array<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n [Node]> {
        match &node.value {
            Value::Array(items) => Some(items),
            v => {
                self.error(
                    node.at,
                    format!("\"{key}\": expected an array, found {}", v.kind()),
                );
                None
            }
        }
    }

    /// `[{ "Name": "value", ... }, ...]` as (name, value) pairs in order.
    pub(crate) fn pairs(&mut self, key: &str, node: &Node) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Some(items) = self.array(key, node) else {
            return out;
        };
        for item in items {
            let Value::Object(members) = &item.value else {
                self.error(
                    item.at,
                    format!(
                        "\"{key}\": expected an array of objects, found {} in it",
                        item.value.kind()
                    ),
                );
                continue;
            };
            out.extend(self.members_as_pairs(members));
        }
        out
    }

    /// `{ "name": "value", ... }` as (name, value) pairs in order.
    pub(crate) fn map(&mut self, key: &str, node: &Node) -> Vec<(String, String)> {
        match self.object(key, node) {
            Some(members) => self.members_as_pairs(members),
            None => Vec::new(),
        }
    }

    fn members_as_pairs(&mut self, members: &[Member]) -> Vec<(String, String)> {
        members
            .iter()
            .filter_map(|m| {
                let v = self.text(&m.key, &m.value)?;
                Some((m.key.clone(), v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn ints() {
        assert_eq!(parse_int("7681", 65535), Ok(7681));
        assert_eq!(parse_int("  7681 ", 65535), Ok(7681));
        assert_eq!(parse_int("+5", 65535), Ok(5));
        assert_eq!(parse_int("-0", 65535), Ok(0));
        assert_eq!(parse_int("007", 65535), Ok(7));
        assert_eq!(parse_int("65535", 65535), Ok(65535));
        assert_eq!(parse_int("65536", 65535), Err(IntError::OutOfRange));
        assert_eq!(parse_int("-1", 65535), Err(IntError::OutOfRange));
        assert_eq!(
            parse_int("99999999999999999999999", u64::MAX),
            Err(IntError::OutOfRange)
        );
        assert_eq!(parse_int("18446744073709551615", u64::MAX), Ok(u64::MAX));
        for bad in [
            "", " ", "12abc", "abc", "1.5", "1e3", "0x10", "--1", "+", "1 2",
        ] {
            assert_eq!(parse_int(bad, 65535), Err(IntError::NotANumber), "{bad:?}");
        }
    }

    #[test]
    fn bools() {
        for t in [
            "1", "-1", "42", " 7 ", "on", "ON", "Yes", "true", "TRUE", "007",
        ] {
            assert_eq!(parse_bool(t), BoolText::True, "{t:?}");
        }
        for t in ["0", "00", "-0", "off", "No", "FALSE", "", "  "] {
            assert_eq!(parse_bool(t), BoolText::False, "{t:?}");
        }
        for t in ["maybe", "1abc", "enabled", "y", "t"] {
            assert_eq!(parse_bool(t), BoolText::Unclear, "{t:?}");
        }
        assert!(atoi_nonzero("1abc"));
        assert!(!atoi_nonzero("abc"));
        assert!(!atoi_nonzero("0x1"));
    }

    #[test]
    fn scalars_and_ddir() {
        assert_eq!(scalar_text(&Value::Bool(true)).as_deref(), Some("1"));
        assert_eq!(scalar_text(&Value::Bool(false)).as_deref(), Some("0"));
        assert_eq!(
            scalar_text(&Value::Number("1.50".into())).as_deref(),
            Some("1.50")
        );
        assert_eq!(scalar_text(&Value::Null), None);
        assert_eq!(scalar_text(&Value::Array(vec![])), None);
        assert_eq!(
            substitute_ddir("file://_lws_ddir_/a/_lws_ddir_", "/usr/share"),
            "file:///usr/share/a/_lws_ddir_"
        );
        assert_eq!(substitute_ddir("plain", "/x"), "plain");
    }

    #[test]
    fn cx_messages() {
        let text = "{\"p\": \"12abc\", \"q\": [1], \"r\": 70000, \"s\": \"maybe\", \"t\": \"1x\", \"u\": 1.5}";
        let file = SourceFile::new(Arc::from(Path::new("f")), 0, text.to_string());
        let mut report = Report::default();
        let Some(Node {
            value: Value::Object(m),
            ..
        }) = super::super::json::parse(text).unwrap()
        else {
            panic!()
        };
        let mut cx = Cx {
            file: &file,
            report: &mut report,
            ddir: None,
        };
        assert_eq!(cx.u16("p", &m[0].value), None);
        assert_eq!(cx.u16("q", &m[1].value), None);
        assert_eq!(cx.u16("r", &m[2].value), None);
        assert_eq!(cx.bool("s", &m[3].value), Some(false));
        assert_eq!(cx.bool("t", &m[4].value), Some(false));
        assert_eq!(cx.u32("u", &m[5].value), None);
        let got: Vec<String> = report.into_sorted().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            got,
            [
                "f:1:7: error: \"p\": expected a number, found \"12abc\"",
                "f:1:21: error: \"q\": expected a string or number, found an array",
                "f:1:31: error: \"r\": 70000 is out of range (0 to 65535)",
                "f:1:43: warning: \"s\": \"maybe\" is not a boolean, taken as false (use on/off, yes/no, true/false or 1/0)",
                "f:1:57: warning: \"t\": \"1x\" is not a boolean, taken as false (use on/off, yes/no, true/false or 1/0; lwsws would take it as true)",
                "f:1:68: error: \"u\": expected a number, found 1.5",
            ]
        );
    }
}
