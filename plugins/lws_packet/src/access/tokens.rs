//! Token files (`ingest-tokens`, `subscribe-tokens`): one entry a line,
//! `<label> <token>` or `<label> sha256:<hex>`, `#` comments and blank
//! lines ignored. A token is kept only as its SHA-256, and a presented
//! token is compared with every entry in constant time, so neither the
//! file's secrets nor the timing of a refusal tell anything about them.

use sha2::{Digest, Sha256};

use super::label::check_label;

/// A token's SHA-256.
pub type TokenHash = [u8; 32];

/// Fewest characters of a token in clear (a shorter one is guessable).
pub const MIN_TOKEN: usize = 16;

/// The entries of a token file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSet {
    entries: Vec<(String, TokenHash)>,
}

/// The SHA-256 of `token`.
pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `a` and `b` are equal, looking at every byte whatever they hold.
fn same(a: &TokenHash, b: &TokenHash) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

impl TokenSet {
    /// Parses a token file's text (`file` names it in errors, which never
    /// quote a token).
    pub fn parse(text: &str, file: &str) -> Result<TokenSet, String> {
        let mut entries: Vec<(String, TokenHash)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", n + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(label), Some(secret), None) = (words.next(), words.next(), words.next())
            else {
                return Err(format!(
                    "{at}: an entry is `<label> <token>` or `<label> sha256:<hex>`"
                ));
            };
            check_label(label).map_err(|e| format!("{at}: {e}"))?;
            let digest = match secret.strip_prefix("sha256:") {
                Some(hex) => from_hex(hex)
                    .ok_or_else(|| format!("{at}: sha256: needs 64 hexadecimal digits"))?,
                None => {
                    if secret.len() < MIN_TOKEN {
                        return Err(format!(
                            "{at}: the token of {label:?} is too short (at least {MIN_TOKEN} characters)"
                        ));
                    }
                    if !secret.bytes().all(is_token_char) {
                        return Err(format!(
                            "{at}: the token of {label:?} has characters a Bearer token cannot have \
                             (letters, digits and -._~+/ then any =)"
                        ));
                    }
                    hash(secret)
                }
            };
            if let Some((other, _)) = entries.iter().find(|(_, d)| same(d, &digest)) {
                if other != label {
                    return Err(format!(
                        "{at}: the token of {label:?} is also {other:?}'s (one token, one label)"
                    ));
                }
                continue;
            }
            entries.push((label.to_string(), digest));
        }
        Ok(TokenSet { entries })
    }

    /// The label of the entry whose token hashes to `digest`. Every entry
    /// is compared, whichever matches.
    pub fn label_of(&self, digest: &TokenHash) -> Option<&str> {
        let mut found = None;
        for (label, d) in &self.entries {
            if same(d, digest) {
                found = Some(label.as_str());
            }
        }
        found
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries (every token is refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// RFC 6750's b64token characters (the `=` padding is checked loosely).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

fn from_hex(hex: &str) -> Option<TokenHash> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "tok-aaaaaaaaaaaaaaaa";
    const B: &str = "tok-bbbbbbbbbbbbbbbb";

    fn hex(d: &TokenHash) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn entries_are_labels_with_tokens_or_their_hashes() {
        let text = format!(
            "# controllers\n\nctrl-1 {A}\n  ctrl-2   sha256:{}  \n# end\n",
            hex(&hash(B)).to_uppercase()
        );
        let set = TokenSet::parse(&text, "t").unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.label_of(&hash(A)), Some("ctrl-1"));
        assert_eq!(set.label_of(&hash(B)), Some("ctrl-2"));
        assert_eq!(set.label_of(&hash("tok-cccccccccccccccc")), None);
        // The same token twice under one label is one entry; a label may
        // have several tokens (rotation).
        let set = TokenSet::parse(&format!("a {A}\na {A}\na {B}\n"), "t").unwrap();
        assert_eq!(set.len(), 2);
        assert!(TokenSet::parse("", "t").unwrap().is_empty());
    }

    #[test]
    fn a_bad_file_is_refused_with_its_line_and_never_its_token() {
        let cases = [
            ("one-word-only\n".to_string(), "t:1"),
            (format!("ok {A}\nlabel {A} extra\n"), "t:2"),
            (format!("bad\"label {A}\n"), "t:1"),
            ("x short\n".to_string(), "too short"),
            ("x sha256:abcd\n".to_string(), "64 hexadecimal"),
            (format!("x {A}é\n"), "characters"),
            (format!("x {A}\ny {A}\n"), "also \"x\"'s"),
        ];
        for (text, want) in cases {
            let e = TokenSet::parse(&text, "t").unwrap_err();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
            assert!(!e.contains(A), "{e:?} shows the token");
        }
    }

    #[test]
    fn hashes_are_sha256() {
        assert_eq!(
            hex(&hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same(&hash("x"), &hash("x")) && !same(&hash("x"), &hash("y")));
    }
}
