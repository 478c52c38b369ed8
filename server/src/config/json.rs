//! The lwsws JSON dialect, parsed into a tree with byte offsets.
//!
//! lwsws reads its config with LEJP (`lib/misc/lejp.c`): strict JSON plus
//! one extension, `#` outside a string starts a comment that runs to the end
//! of the line (inside a string `#` is literal). Trailing commas, `//` and
//! `/* */` comments, single-quoted strings and unquoted words are errors.
//! The top level must be an object.
//!
//! This is a small hand-written recursive-descent parser rather than
//! `jsonc-parser`: that crate (0.26) keeps duplicate properties and can
//! refuse comments and trailing commas, but it always accepts
//! single-quoted strings, it would need the `#` comments blanked out first,
//! and its error messages are its own; no crate parses LEJP's dialect, and
//! this one gives the exact messages and positions the loader reports.
//!
//! Duplicate keys are kept, in order (`plugin-dir` and `ssl-option-set` are
//! repeatable). Numbers are kept as written (they are only ever used as
//! text by lwsws). A few choices are stricter than LEJP, which matters only
//! for files lwsws would misread anyway: content after the top-level object
//! is an error (LEJP ignores it), as is an unterminated file (LEJP accepts
//! a truncated file silently). A leading UTF-8 byte-order mark is skipped.
//! Nesting is limited to [`MAX_DEPTH`] levels.

use super::source::line_col;

/// Deepest nesting of objects and arrays accepted.
pub(crate) const MAX_DEPTH: usize = 64;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// A string, escapes decoded.
    String(String),
    /// A number, as written.
    Number(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `[...]`.
    Array(Vec<Node>),
    /// `{...}`, members in file order, duplicates kept.
    Object(Vec<Member>),
}

impl Value {
    /// "a string", "an array", ... for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// A value and the byte offset of its first character.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub at: usize,
}

/// One `"key": value` of an object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub key: String,
    /// Byte offset of the key's opening quote.
    pub at: usize,
    pub value: Node,
}

/// A syntax error: where, and what was expected/found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub at: usize,
    pub message: String,
}

/// Parses one file. `Ok(None)` for a file holding only whitespace and
/// comments.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    if text.starts_with('\u{feff}') {
        p.pos = '\u{feff}'.len_utf8();
    }
    p.skip_ws();
    match p.peek() {
        None => return Ok(None),
        Some(b'{') => {}
        Some(_) => {
            return Err(p.error(format!(
                "expected '{{' at the start of the file, found {}",
                p.found()
            )))
        }
    }
    let node = p.object(1)?;
    p.skip_ws();
    if p.peek().is_some() {
        return Err(p.error(format!(
            "unexpected {} after the end of the top-level object",
            p.found()
        )));
    }
    Ok(Some(node))
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Always on a char boundary between tokens.
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError {
            at: self.pos,
            message,
        }
    }

    /// Describes what is at `pos`, for "found ..." messages.
    fn found(&self) -> String {
        let rest = self.text.get(self.pos..).unwrap_or("");
        let Some(c) = rest.chars().next() else {
            return "end of file".into();
        };
        if c.is_alphanumeric() || c == '_' {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .take(24)
                .collect();
            return format!("'{word}'");
        }
        if c.is_control() || c.is_whitespace() {
            return format!("character U+{:04X}", u32::from(c));
        }
        format!("'{c}'")
    }

    /// "'{' opened at line L, column C is not closed".
    fn unclosed(&self, what: char, opened: usize) -> SyntaxError {
        let (line, col) = line_col(self.text, opened);
        self.error(format!(
            "unexpected end of file: '{what}' opened at line {line}, column {col} is not closed"
        ))
    }

    /// Skips spaces, tabs, line ends and `#` comments.
    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let at = self.pos;
        let value = match self.peek() {
            Some(b'{') => return self.object(depth + 1),
            Some(b'[') => return self.array(depth + 1),
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b't') if self.literal("true") => Value::Bool(true),
            Some(b'f') if self.literal("false") => Value::Bool(false),
            Some(b'n') if self.literal("null") => Value::Null,
            Some(b'\'') => {
                return Err(
                    self.error("expected a value, found ''' (strings need double quotes)".into())
                )
            }
            Some(b'/') => {
                return Err(self
                    .error("expected a value, found '/' (only '#' comments are allowed)".into()))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                return Err(self.error(format!(
                    "expected a value, found {} (strings need double quotes)",
                    self.found()
                )))
            }
            _ => return Err(self.error(format!("expected a value, found {}", self.found()))),
        };
        Ok(Node { value, at })
    }

    /// Consumes `word` if it is next and ends at a delimiter.
    fn literal(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) == Some(word.as_bytes())
            && self.bytes.get(end).is_none_or(|&b| is_delimiter(b))
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node {
                value: Value::Object(members),
                at,
            });
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.unclosed('{', at)),
                Some(_) if members.is_empty() => {
                    return Err(self.error(format!(
                        "expected a string key or '}}', found {}",
                        self.found()
                    )))
                }
                Some(_) => {
                    return Err(self.error(format!(
                        "expected a string key after ',', found {}",
                        self.found()
                    )))
                }
            }
            let key_at = self.pos;
            let key = self.string()?;
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                None => return Err(self.unclosed('{', at)),
                Some(_) => {
                    return Err(self.error(format!(
                        "expected ':' after key \"{}\", found {}",
                        key.escape_debug(),
                        self.found()
                    )))
                }
            }
            self.skip_ws();
            if self.peek().is_none() {
                return Err(self.unclosed('{', at));
            }
            let value = self.value(depth)?;
            members.push(Member {
                key,
                at: key_at,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    let comma = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        return Err(SyntaxError {
                            at: comma,
                            message: "trailing comma before '}' (not allowed in JSON)".into(),
                        });
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node {
                        value: Value::Object(members),
                        at,
                    });
                }
                None => return Err(self.unclosed('{', at)),
                Some(_) => {
                    return Err(self.error(format!("expected ',' or '}}', found {}", self.found())))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node {
                value: Value::Array(items),
                at,
            });
        }
        loop {
            if self.peek().is_none() {
                return Err(self.unclosed('[', at));
            }
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    let comma = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        return Err(SyntaxError {
                            at: comma,
                            message: "trailing comma before ']' (not allowed in JSON)".into(),
                        });
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node {
                        value: Value::Array(items),
                        at,
                    });
                }
                None => return Err(self.unclosed('[', at)),
                Some(_) => {
                    return Err(self.error(format!("expected ',' or ']', found {}", self.found())))
                }
            }
        }
    }

    /// A string starting at the opening quote; returns it decoded.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1; // '"'
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err(SyntaxError {
                    at: start,
                    message: "unterminated string".into(),
                });
            };
            match b {
                b'"' => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[run..self.pos]);
                    out.push(self.escape()?);
                    run = self.pos;
                }
                b'\n' | b'\r' => {
                    return Err(SyntaxError {
                        at: start,
                        message: "unterminated string (a string cannot span lines)".into(),
                    })
                }
                b if b < 0x20 => {
                    return Err(self.error(format!(
                        "control character U+{b:04X} in a string (write it as an escape)"
                    )))
                }
                _ => self.pos += 1,
            }
        }
    }

    /// An escape starting at the backslash.
    fn escape(&mut self) -> Result<char, SyntaxError> {
        let at = self.pos;
        let c = match self.bytes.get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(),
            None => {
                return Err(SyntaxError {
                    at,
                    message: "unterminated string".into(),
                })
            }
            Some(_) => {
                let shown = self.text[at..].chars().take(2).collect::<String>();
                return Err(SyntaxError {
                    at,
                    message: format!("invalid escape '{}' in a string", shown.escape_debug()),
                });
            }
        };
        self.pos += 2;
        Ok(c)
    }

    /// `\uXXXX`, or a `\uD8xx\uDCxx` surrogate pair, at `pos`.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let at = self.pos;
        let bad = |message: &str| SyntaxError {
            at,
            message: message.into(),
        };
        let first = self.hex4(at + 2).ok_or_else(|| bad("invalid \\u escape"))?;
        self.pos = at + 6;
        let code = match first {
            0xD800..=0xDBFF => {
                let second = (self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u"))
                    .then(|| self.hex4(self.pos + 2))
                    .flatten()
                    .filter(|s| (0xDC00..=0xDFFF).contains(s))
                    .ok_or_else(|| bad("invalid \\u escape (unpaired surrogate)"))?;
                self.pos += 6;
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(bad("invalid \\u escape (unpaired surrogate)")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| bad("invalid \\u escape"))
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.bytes.get(at..at + 4)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            let v = char::from(d).to_digit(16)?;
            Some(acc * 16 + v)
        })
    }

    /// A number, returned as written. LEJP accepts leading zeros, so do we.
    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let mut ok = digits(self);
        if ok && self.peek() == Some(b'.') {
            self.pos += 1;
            ok = digits(self);
        }
        if ok && matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            ok = digits(self);
        }
        if ok && self.peek().is_none_or(is_delimiter) {
            return Ok(self.text[start..self.pos].to_string());
        }
        let token: String = self.text[start..]
            .chars()
            .take_while(|&c| !(c.is_ascii() && is_delimiter(c as u8)))
            .take(24)
            .collect();
        Err(SyntaxError {
            at: start,
            message: format!("invalid number '{token}'"),
        })
    }
}

/// Characters that may end a number or literal.
fn is_delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'#' | b',' | b'}' | b']')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(text: &str) -> Vec<Member> {
        match parse(text).unwrap().unwrap().value {
            Value::Object(m) => m,
            v => panic!("not an object: {v:?}"),
        }
    }

    fn err(text: &str) -> (u32, u32, String) {
        let e = parse(text).unwrap_err();
        let (l, c) = line_col(text, e.at);
        (l, c, e.message)
    }

    fn s(v: &Value) -> &str {
        match v {
            Value::String(s) | Value::Number(s) => s,
            v => panic!("not a string: {v:?}"),
        }
    }

    #[test]
    fn hash_comments_whole_line_and_after_value() {
        let text =
            "# head\n{\n  # whole line\n  \"a\": \"x#y\", # after\n  \"b\": 7# tight\n}\n# tail";
        let m = obj(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].key, "a");
        assert_eq!(s(&m[0].value.value), "x#y");
        assert_eq!(s(&m[1].value.value), "7");
        assert_eq!(line_col(text, m[1].at), (5, 3));
    }

    #[test]
    fn duplicate_keys_kept_in_order() {
        let m = obj(r#"{"plugin-dir": "/a", "x": 1, "plugin-dir": "/b"}"#);
        let keys: Vec<_> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["plugin-dir", "x", "plugin-dir"]);
        assert_eq!(s(&m[2].value.value), "/b");
    }

    #[test]
    fn values_of_every_kind() {
        let m = obj(
            r#"{"s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "n": -1.5e+3, "t": true, "f": false, "z": null, "a": [1, [], {}], "o": {"k": 007}}"#,
        );
        assert_eq!(s(&m[0].value.value), "a\"\\/\u{8}\u{c}\n\r\té\u{1F600}");
        assert_eq!(s(&m[1].value.value), "-1.5e+3");
        assert_eq!(m[2].value.value, Value::Bool(true));
        assert_eq!(m[3].value.value, Value::Bool(false));
        assert_eq!(m[4].value.value, Value::Null);
        assert!(matches!(&m[5].value.value, Value::Array(a) if a.len() == 3));
        assert!(matches!(&m[6].value.value, Value::Object(o) if s(&o[0].value.value) == "007"));
        assert_eq!(m[0].value.value.kind(), "a string");
    }

    #[test]
    fn empty_file_and_bom() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("  # only a comment\n\n").unwrap(), None);
        assert_eq!(obj("\u{feff}{}").len(), 0);
    }

    #[test]
    fn trailing_commas_are_errors() {
        assert_eq!(
            err("{\n  \"a\": 1,\n}"),
            (
                2,
                9,
                "trailing comma before '}' (not allowed in JSON)".into()
            )
        );
        assert_eq!(
            err("{\"a\": [1, 2, ]}"),
            (
                1,
                12,
                "trailing comma before ']' (not allowed in JSON)".into()
            )
        );
    }

    #[test]
    fn other_comment_styles_are_errors() {
        let (l, c, m) = err("{\n  // no\n  \"a\": 1\n}");
        assert_eq!((l, c), (2, 3));
        assert_eq!(m, "expected a string key or '}', found '/'");
        let (l, c, m) = err("{\"a\": /* no */ 1}");
        assert_eq!((l, c), (1, 7));
        assert!(m.contains("only '#' comments"), "{m}");
        let (_, _, m) = err("{\"a\": 'x'}");
        assert!(m.contains("double quotes"), "{m}");
    }

    #[test]
    fn syntax_error_messages_and_positions() {
        assert_eq!(
            err("{\n  \"a\": 1\n  \"b\": 2\n}"),
            (3, 3, "expected ',' or '}', found '\"'".into())
        );
        assert_eq!(
            err("{\"a\" 1}"),
            (1, 6, "expected ':' after key \"a\", found '1'".into())
        );
        assert_eq!(
            err("[1]"),
            (
                1,
                1,
                "expected '{' at the start of the file, found '['".into()
            )
        );
        assert_eq!(
            err("{} x"),
            (
                1,
                4,
                "unexpected 'x' after the end of the top-level object".into()
            )
        );
        assert_eq!(
            err("{\"a\": yes}"),
            (
                1,
                7,
                "expected a value, found 'yes' (strings need double quotes)".into()
            )
        );
        assert_eq!(
            err("{\"a\": 12abc}"),
            (1, 7, "invalid number '12abc'".into())
        );
        assert_eq!(err("{\"a\": 1.}"), (1, 7, "invalid number '1.'".into()));
        assert_eq!(err("{\"a\": -}"), (1, 7, "invalid number '-'".into()));
        assert_eq!(
            err("{\"a\": truex}"),
            (
                1,
                7,
                "expected a value, found 'truex' (strings need double quotes)".into()
            )
        );
        assert_eq!(
            err("{\"a\": [1 2]}"),
            (1, 10, "expected ',' or ']', found '2'".into())
        );
        assert_eq!(
            err("{\"a\": 1, 2}"),
            (1, 10, "expected a string key after ',', found '2'".into())
        );
        assert_eq!(
            err("{\"a\": \"x\\q\"}"),
            (1, 9, "invalid escape '\\\\q' in a string".into())
        );
        assert_eq!(
            err("{\"a\": \"\\ud800\"}"),
            (1, 8, "invalid \\u escape (unpaired surrogate)".into())
        );
        assert_eq!(
            err("{\"a\": \"\\u12g4\"}"),
            (1, 8, "invalid \\u escape".into())
        );
        assert_eq!(
            err("{\"a\": \"x\ty\"}"),
            (
                1,
                9,
                "control character U+0009 in a string (write it as an escape)".into()
            )
        );
        assert_eq!(
            err("{\"a\": \"x\n\"}"),
            (
                1,
                7,
                "unterminated string (a string cannot span lines)".into()
            )
        );
        assert_eq!(err("{\"a\": \"x"), (1, 7, "unterminated string".into()));
        assert_eq!(
            err("{\"a\": }"),
            (1, 7, "expected a value, found '}'".into())
        );
        assert_eq!(
            err("{\"a\": \u{1}}"),
            (1, 7, "expected a value, found character U+0001".into())
        );
    }

    #[test]
    fn truncated_files_name_the_unclosed_bracket() {
        let (l, c, m) = err("{\n \"vhosts\": [ {\n   \"name\": \"x\"");
        assert_eq!((l, c), (3, 15));
        assert_eq!(
            m,
            "unexpected end of file: '{' opened at line 2, column 14 is not closed"
        );
        let (_, _, m) = err("{\"a\": [");
        assert!(m.contains("'[' opened at line 1, column 7"), "{m}");
        let (_, _, m) = err("{\"a\"");
        assert!(m.contains("'{' opened at line 1, column 1"), "{m}");
        let (_, _, m) = err("{\"a\":");
        assert!(m.starts_with("unexpected end of file"), "{m}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let (_, _, m) = err(&deep);
        assert_eq!(m, format!("nesting deeper than {MAX_DEPTH} levels"));
        let ok = format!(
            "{{\"a\": {}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn offsets_point_at_tokens() {
        let text = "{\n  \"é\": \"v\",\n  \"k\": [ {\"x\": 1} ]\n}";
        let m = obj(text);
        assert_eq!(line_col(text, m[0].at), (2, 3));
        assert_eq!(line_col(text, m[0].value.at), (2, 8));
        let Value::Array(items) = &m[1].value.value else {
            panic!()
        };
        assert_eq!(line_col(text, items[0].at), (3, 10));
    }
}
