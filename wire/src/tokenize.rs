//! `lws_tokenize`: splits text into tokens, numbers, quoted strings and
//! one-byte delimiters, one element per call, as lws's tokenizer does
//! (header values such as `a=1, b="x y"`, config lines, globs).
//!
//! [`Tokenizer`] holds the same state as lws's `struct lws_tokenize` (where
//! the text goes on, how much is left, the flags, where a comma-separated
//! list stands), so the host's C wrapper copies it in and out around each
//! [`Tokenizer::next`] and a plugin can inspect or reset it between calls.
//!
//! Rules (lws's): whitespace separates; `"` starts a quoted string that
//! runs to the next `"`; a byte that is not `[A-Za-z0-9_]` is a delimiter
//! of its own (with `F_RFC7230_DELIMS`, only the RFC 7230 delimiters
//! `(),/:;<=>?@[\]{}` are); a token made of digits only is an integer, with
//! one `.` a float; `name=` is reported as one element without the `=`
//! (`name:` too with `F_AGG_COLON`); a NUL ends the text; malformed UTF-8
//! is an error (the tokenizer stays on the NUL: every later call says
//! [`Elem::Ended`]). Bytes are compared as C's signed `char`, as lws compares
//! them, so the last byte of a multi-byte UTF-8 character counts as a
//! delimiter unless `F_RFC7230_DELIMS` is set: a quirk kept on purpose.

/// `-` is part of a token, not a delimiter.
pub const F_MINUS_NONTERM: u16 = 1 << 0;
/// `token:` is one element ([`Elem::TokenNameColon`]).
pub const F_AGG_COLON: u16 = 1 << 1;
/// The text is a comma-separated list: misplaced commas are errors.
pub const F_COMMA_SEP_LIST: u16 = 1 << 2;
/// Only RFC 7230's delimiters delimit.
pub const F_RFC7230_DELIMS: u16 = 1 << 3;
/// `.` is part of a token.
pub const F_DOT_NONTERM: u16 = 1 << 4;
/// No floats: `1.2` is `1`, `.`, `2`.
pub const F_NO_FLOATS: u16 = 1 << 5;
/// No numbers: digits are tokens.
pub const F_NO_INTEGERS: u16 = 1 << 6;
/// `#` to the end of the line is a comment.
pub const F_HASH_COMMENT: u16 = 1 << 7;
/// `/` is part of a token.
pub const F_SLASH_NONTERM: u16 = 1 << 8;
/// `*` is part of a token.
pub const F_ASTERISK_NONTERM: u16 = 1 << 9;
/// `=` is part of a token.
pub const F_EQUALS_NONTERM: u16 = 1 << 10;

/// What one call found: lws's `lws_tokenize_elem` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum Elem {
    /// Malformed or truncated UTF-8.
    ErrBrokenUtf8 = -5,
    /// The text ended inside `"..."`.
    ErrUntermString = -4,
    /// A number with two dots.
    ErrMalformedFloat = -3,
    /// A number before `=`.
    ErrNumOnLhs = -2,
    /// A comma out of place in a comma-separated list.
    ErrCommaList = -1,
    /// Nothing more.
    Ended = 0,
    /// A one-byte delimiter.
    Delimiter = 1,
    /// A token.
    Token = 2,
    /// A token of digits.
    Integer = 3,
    /// Digits with one `.`.
    Float = 4,
    /// `token =` (the `=` swallowed).
    TokenNameEquals = 5,
    /// `token :` (with [`F_AGG_COLON`]; the `:` swallowed).
    TokenNameColon = 6,
    /// The inside of `"..."`.
    QuotedString = 7,
}

/// Where a comma-separated list stands (lws's `delim` member).
pub const DT_NEED_FIRST_CONTENT: u8 = 0;
/// Content seen, a comma must come next.
pub const DT_NEED_DELIM: u8 = 1;
/// A comma seen, content must come next.
pub const DT_NEED_NEXT_CONTENT: u8 = 2;

/// The tokenizer's state: `pos` and `len` are where the rest of the text
/// starts and how many bytes of it may be read (a NUL ends it sooner).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tokenizer {
    /// Offset of the next unread byte.
    pub pos: usize,
    /// Bytes left to read.
    pub len: usize,
    /// `F_*` flags.
    pub flags: u16,
    /// Comma-list state (`DT_*`).
    pub delim: u8,
}

/// The element found and where it is in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// What it is.
    pub elem: Elem,
    /// Offset of the token or delimiter (None when there is none).
    pub token: Option<usize>,
    /// Its length.
    pub token_len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Leading,
    Quoted,
    Token,
    PostTerminal,
}

/// One step of a strict UTF-8 check: 0 between characters, otherwise an
/// encoding of what the next byte must be (-1: invalid).
fn utf8_step(state: u8, c: u8) -> i32 {
    // state: high nibble = lowest allowed byte >> 4 ... encoded as
    // (lo, hi, remaining) packed: bits 0-1 remaining after this one,
    // bits 2-3 range selector.
    let (lo, hi, rem) = match state {
        0 => {
            return match c {
                0..=0x7f => 0,
                0xc2..=0xdf => pack(0x80, 0xbf, 1),
                0xe0 => pack(0xa0, 0xbf, 2),
                0xe1..=0xec | 0xee..=0xef => pack(0x80, 0xbf, 2),
                0xed => pack(0x80, 0x9f, 2),
                0xf0 => pack(0x90, 0xbf, 3),
                0xf1..=0xf3 => pack(0x80, 0xbf, 3),
                0xf4 => pack(0x80, 0x8f, 3),
                _ => -1,
            }
        }
        s => unpack(s),
    };
    if c < lo || c > hi {
        return -1;
    }
    if rem == 1 {
        0
    } else {
        pack(0x80, 0xbf, rem - 1)
    }
}

/// Packs a UTF-8 expectation into a nonzero byte: range kind in bits 2-3,
/// continuation bytes still due (1-3) in bits 0-1.
fn pack(lo: u8, hi: u8, rem: u8) -> i32 {
    let kind = match (lo, hi) {
        (0x80, 0xbf) => 0,
        (0xa0, 0xbf) => 1,
        (0x80, 0x9f) => 2,
        (0x90, 0xbf) => 3,
        _ => 4, // (0x80, 0x8f)
    };
    i32::from(0x80 | (kind << 4) | rem)
}

fn unpack(s: u8) -> (u8, u8, u8) {
    let (lo, hi) = match (s >> 4) & 7 {
        0 => (0x80, 0xbf),
        1 => (0xa0, 0xbf),
        2 => (0x80, 0x9f),
        3 => (0x90, 0xbf),
        _ => (0x80, 0x8f),
    };
    (lo, hi, s & 3)
}

const RFC7230_DELIMS: &[u8] = b"(),/:;<=>?@[\\]{}";

impl Tokenizer {
    /// lws_tokenize_init: the text from offset 0, no length limit but its
    /// NUL (lws sets 0x7fffffff; the caller bounds `len` to the text).
    pub fn new(len: usize, flags: u16) -> Tokenizer {
        Tokenizer {
            pos: 0,
            len,
            flags,
            delim: DT_NEED_FIRST_CONTENT,
        }
    }

    /// The next element of `text` (`text[self.pos..]` is read, at most
    /// `self.len` bytes of it, up to a NUL or the end of `text`).
    pub fn next(&mut self, text: &[u8]) -> Found {
        let f = self.flags;
        let has = |b: u16| f & b != 0;
        // What is a delimiter despite being a token character (d_*), and
        // what is a token character despite not being one (s_*); 0: none.
        let (d_minus, s_minus) = if has(F_MINUS_NONTERM) {
            (0, b'-')
        } else {
            (b'-', 0)
        };
        let (d_dot, s_dot) = if has(F_DOT_NONTERM) {
            (0, b'.')
        } else {
            (b'.', 0)
        };
        let (d_star, s_star) = if has(F_ASTERISK_NONTERM) {
            (0, b'*')
        } else {
            (b'*', 0)
        };
        let (d_eq, s_eq) = if has(F_EQUALS_NONTERM) {
            (0, b'=')
        } else {
            (b'=', 0)
        };
        let mut state = State::Leading;
        let mut num: i8 = if has(F_NO_INTEGERS) { 0 } else { -1 };
        let mut flo = false;
        let mut skipping = false;
        let mut utf8: u8 = 0;
        let mut token: Option<usize> = None;
        let mut token_len = 0usize;
        let done = |elem, token, token_len| Found {
            elem,
            token,
            token_len,
        };

        let pending = loop {
            if self.len == 0 {
                break None;
            }
            // Past the end of the slice is a NUL.
            let c = text.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
            self.len -= 1;
            let u = utf8_step(utf8, c);
            if u < 0 {
                return done(Elem::ErrBrokenUtf8, token, token_len);
            }
            utf8 = u as u8;
            if c == 0 {
                // Stay on the NUL, so every later call ends here too (lws
                // steps past it and reads on: past the end of the text).
                self.pos -= 1;
                self.len += 1;
                break None;
            }
            if skipping {
                if c != b'\r' && c != b'\n' {
                    continue;
                }
                skipping = false;
            }
            if has(F_HASH_COMMENT) && state != State::Quoted && c == b'#' {
                skipping = true;
                continue;
            }
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                match state {
                    State::Leading | State::PostTerminal => continue,
                    State::Quoted => {
                        token_len += 1;
                        continue;
                    }
                    State::Token => {
                        state = State::PostTerminal;
                        continue;
                    }
                }
            }
            if c == b'"' {
                if state == State::Quoted {
                    return done(Elem::QuotedString, token, token_len);
                }
                if has(F_COMMA_SEP_LIST) {
                    if self.delim == DT_NEED_DELIM {
                        return done(Elem::ErrCommaList, token, token_len);
                    }
                    self.delim = DT_NEED_DELIM;
                }
                state = State::Quoted;
                token = Some(self.pos);
                token_len = 0;
                continue;
            }
            let in_token = matches!(state, State::Token | State::PostTerminal);
            if !has(F_EQUALS_NONTERM) && c == b'=' && in_token {
                if num == 1 {
                    return done(Elem::ErrNumOnLhs, token, token_len);
                }
                return done(Elem::TokenNameEquals, token, token_len);
            }
            if has(F_AGG_COLON) && c == b':' && in_token {
                return done(Elem::TokenNameColon, token, token_len);
            }
            if c == b'.' && !has(F_NO_FLOATS) && state == State::Token && num == 1 {
                if flo {
                    return done(Elem::ErrMalformedFloat, token, token_len);
                }
                flo = true;
                token_len += 1;
                continue;
            }
            // C's signed char: bytes >= 0x80 are below '0'.
            let word = c.is_ascii_alphanumeric() || c == b'_';
            let is_delim = utf8 == 0
                && ((has(F_RFC7230_DELIMS) && c > 32 && c < 0x80 && RFC7230_DELIMS.contains(&c))
                    || (!has(F_RFC7230_DELIMS)
                        && !word
                        && c != s_minus
                        && c != s_dot
                        && c != s_star
                        && c != s_eq)
                    || (c != 0 && (c == d_minus || c == d_dot || c == d_star || c == d_eq)))
                && !(has(F_SLASH_NONTERM) && c == b'/');
            if is_delim {
                match state {
                    State::Leading => {
                        if has(F_COMMA_SEP_LIST) {
                            if c != b',' || self.delim != DT_NEED_DELIM {
                                return done(Elem::ErrCommaList, token, token_len);
                            }
                            self.delim = DT_NEED_NEXT_CONTENT;
                        }
                        return done(Elem::Delimiter, Some(self.pos - 1), 1);
                    }
                    State::Quoted => {
                        token_len += 1;
                        continue;
                    }
                    State::Token | State::PostTerminal => {
                        // Reported on the next call.
                        self.pos -= 1;
                        self.len += 1;
                        break Some(());
                    }
                }
            }
            match state {
                State::Leading => {
                    if has(F_COMMA_SEP_LIST) {
                        if self.delim == DT_NEED_DELIM {
                            return done(Elem::ErrCommaList, token, token_len);
                        }
                        self.delim = DT_NEED_DELIM;
                    }
                    state = State::Token;
                    token = Some(self.pos - 1);
                    token_len = 1;
                }
                State::Quoted | State::Token => token_len += 1,
                State::PostTerminal => {
                    self.pos -= 1;
                    self.len += 1;
                    break Some(());
                }
            }
            if !has(F_NO_INTEGERS) {
                if !c.is_ascii_digit() {
                    num = 0;
                } else if num < 0 {
                    num = 1;
                }
            }
        };
        if pending.is_none() {
            if utf8 != 0 {
                return done(Elem::ErrBrokenUtf8, token, token_len);
            }
            if state == State::Quoted {
                return done(Elem::ErrUntermString, token, token_len);
            }
            if !matches!(state, State::Token | State::PostTerminal) {
                if has(F_COMMA_SEP_LIST) && self.delim == DT_NEED_NEXT_CONTENT {
                    return done(Elem::ErrCommaList, token, token_len);
                }
                return done(Elem::Ended, token, token_len);
            }
        }
        let elem = if num != 1 {
            Elem::Token
        } else if flo {
            Elem::Float
        } else {
            Elem::Integer
        };
        done(elem, token, token_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, flags: u16) -> Vec<(Elem, String)> {
        let mut t = Tokenizer::new(text.len(), flags);
        let mut out = Vec::new();
        loop {
            let f = t.next(text.as_bytes());
            let s = f
                .token
                .map(|o| String::from_utf8_lossy(&text.as_bytes()[o..o + f.token_len]).into_owned())
                .unwrap_or_default();
            out.push((f.elem, s));
            if (f.elem as i8) <= 0 {
                return out;
            }
        }
    }

    fn e(v: &[(Elem, &str)]) -> Vec<(Elem, String)> {
        v.iter().map(|(e, s)| (*e, s.to_string())).collect()
    }

    #[test]
    fn words_numbers_and_delimiters() {
        use Elem::*;
        assert_eq!(
            all("  hello world 123 4.5 a-b", 0),
            e(&[
                (Token, "hello"),
                (Token, "world"),
                (Integer, "123"),
                (Float, "4.5"),
                (Token, "a"),
                (Delimiter, "-"),
                (Token, "b"),
                (Ended, ""),
            ])
        );
        assert_eq!(
            all("a-b.c", F_MINUS_NONTERM | F_DOT_NONTERM),
            e(&[(Token, "a-b.c"), (Ended, "")])
        );
        assert_eq!(all("1.2.3", 0)[0].0, ErrMalformedFloat);
        assert_eq!(
            all("1.2", F_NO_FLOATS),
            e(&[
                (Integer, "1"),
                (Delimiter, "."),
                (Integer, "2"),
                (Ended, "")
            ])
        );
        assert_eq!(all("12", F_NO_INTEGERS), e(&[(Token, "12"), (Ended, "")]));
    }

    #[test]
    fn names_quotes_and_comments() {
        use Elem::*;
        assert_eq!(
            all("q = \"x, y\" ; r=2 # gone\nz", F_HASH_COMMENT),
            e(&[
                (TokenNameEquals, "q"),
                (QuotedString, "x, y"),
                (Delimiter, ";"),
                (TokenNameEquals, "r"),
                (Integer, "2"),
                (Token, "z"),
                (Ended, ""),
            ])
        );
        assert_eq!(all("3=x", 0)[0].0, ErrNumOnLhs);
        assert_eq!(all("\"open", 0)[0].0, ErrUntermString);
        assert_eq!(
            all("k: v", F_AGG_COLON),
            e(&[(TokenNameColon, "k"), (Token, "v"), (Ended, "")])
        );
        assert_eq!(
            all("k: v", 0),
            e(&[(Token, "k"), (Delimiter, ":"), (Token, "v"), (Ended, "")])
        );
    }

    #[test]
    fn comma_lists() {
        use Elem::*;
        let f = F_COMMA_SEP_LIST;
        assert_eq!(
            all("a, b ,c", f),
            e(&[
                (Token, "a"),
                (Delimiter, ","),
                (Token, "b"),
                (Delimiter, ","),
                (Token, "c"),
                (Ended, ""),
            ])
        );
        assert_eq!(all(",a", f)[0].0, ErrCommaList);
        assert_eq!(all("a,,b", f)[2].0, ErrCommaList);
        assert_eq!(all("a,", f)[2].0, ErrCommaList);
        assert_eq!(all("a b", f)[1].0, ErrCommaList);
    }

    #[test]
    fn rfc7230_slash_and_utf8() {
        use Elem::*;
        assert_eq!(
            all("text/html; q=0.9", F_RFC7230_DELIMS),
            e(&[
                (Token, "text"),
                (Delimiter, "/"),
                (Token, "html"),
                (Delimiter, ";"),
                (TokenNameEquals, "q"),
                (Float, "0.9"),
                (Ended, ""),
            ])
        );
        assert_eq!(
            all("/a/b", F_SLASH_NONTERM),
            e(&[(Token, "/a/b"), (Ended, "")])
        );
        // A NUL ends the text even when len says more.
        let mut t = Tokenizer::new(100, 0);
        assert_eq!(t.next(b"ab\0cd").elem, Token);
        assert_eq!(t.next(b"ab\0cd").elem, Ended);
        assert_eq!(
            all("a\u{e9}", F_RFC7230_DELIMS),
            e(&[(Token, "a\u{e9}"), (Ended, "")])
        );
        assert_eq!(
            all("\"x\u{e9}\"", 0),
            e(&[(QuotedString, "x\u{e9}"), (Ended, "")])
        );
        let bad = [b'a', 0xc3];
        assert_eq!(Tokenizer::new(2, 0).next(&bad).elem, ErrBrokenUtf8);
        let bad = [0xc0, 0x80];
        assert_eq!(Tokenizer::new(2, 0).next(&bad).elem, ErrBrokenUtf8);
        let bad = [0xed, 0xa0, 0x80];
        assert_eq!(Tokenizer::new(3, 0).next(&bad).elem, ErrBrokenUtf8);
    }

    /// Random text of the bytes that matter (and some others), with random
    /// flags: every walk ends, moves on with each element, and keeps each
    /// element inside the text, after the one before.
    #[test]
    fn random_walks_end_inside_the_text() {
        let mut rng = crate::test_rng::Rng::new(18);
        let alphabet = b"ab1.2=,;: \t\"#/*-_\n\0\xc3\xa9\xff";
        for _ in 0..20_000 {
            let len = rng.below(24);
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.chance(90) {
                        rng.pick(alphabet)
                    } else {
                        rng.byte()
                    }
                })
                .collect();
            let flags = (rng.next() & 0x7ff) as u16;
            let mut t = Tokenizer::new(text.len(), flags);
            let mut last_end = 0;
            let mut ended = false;
            for _ in 0..=text.len() + 1 {
                let before = t.pos;
                let f = t.next(&text);
                assert!(t.pos <= text.len() && t.pos + t.len == text.len());
                if let Some(at) = f.token {
                    assert!(at + f.token_len <= text.len(), "{text:?} {flags:#x}");
                    assert!(at >= last_end, "{text:?} {flags:#x}");
                    last_end = at + f.token_len;
                }
                if (f.elem as i8) <= 0 {
                    ended = true;
                    break;
                }
                assert!(t.pos > before, "{text:?} {flags:#x}");
            }
            assert!(ended, "{text:?} {flags:#x}");
        }
    }
}
