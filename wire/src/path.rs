//! Turning the request target into a path we are willing to map onto disk.
//!
//! lws cleans `..` out of the URL before mapping it; we go further and refuse
//! anything that only an attack would send, so that no spelling of a path can
//! leave a mount's directory: dot segments (plain or percent-encoded),
//! encoded slashes, empty segments (`//`), NUL and other control bytes.

use percent_encoding::percent_decode_str;

/// Why a request path was refused (each maps to 403 Forbidden, or 400 for
/// bytes that are not a path at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `.` or `..` segment, plain or encoded.
    #[error("dot segment in path")]
    DotSegment,
    /// `%2f` (an encoded `/`) or `%5c` (an encoded `\`).
    #[error("encoded slash in path")]
    EncodedSlash,
    /// `//` inside the path.
    #[error("empty segment in path")]
    EmptySegment,
    /// NUL or another control byte.
    #[error("control byte in path")]
    ControlByte,
    /// Percent-decoding produced bytes that are not UTF-8.
    #[error("path is not UTF-8")]
    NotUtf8,
    /// The path does not start with `/`.
    #[error("path is not absolute")]
    NotAbsolute,
}

impl Refusal {
    /// The status the client gets.
    pub fn status(self) -> http::StatusCode {
        match self {
            Refusal::NotUtf8 | Refusal::NotAbsolute | Refusal::ControlByte => {
                http::StatusCode::BAD_REQUEST
            }
            _ => http::StatusCode::FORBIDDEN,
        }
    }
}

/// Decodes and checks a raw (still percent-encoded) URL path.
pub fn decode(raw: &str) -> Result<String, Refusal> {
    if !raw.starts_with('/') {
        return Err(Refusal::NotAbsolute);
    }
    // `%2f`, `%5c` in any case (checked without a lower-cased copy: this
    // runs on every request).
    if raw.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c')
            )
    }) {
        return Err(Refusal::EncodedSlash);
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Refusal::NotUtf8)?;
    if decoded.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(Refusal::ControlByte);
    }
    // Every segment but the first (before the leading '/') and the last
    // (after a trailing '/') must be non-empty and not a dot segment.
    let mut segments = decoded[1..].split('/').peekable();
    while let Some(seg) = segments.next() {
        match seg {
            "." | ".." => return Err(Refusal::DotSegment),
            "" if segments.peek().is_some() => return Err(Refusal::EmptySegment),
            _ => {}
        }
    }
    if decoded.contains('\\') && decoded.split(['/', '\\']).any(|s| s == "..") {
        return Err(Refusal::DotSegment);
    }
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_pass() {
        assert_eq!(decode("/").unwrap(), "/");
        assert_eq!(decode("/a/b.html").unwrap(), "/a/b.html");
        assert_eq!(decode("/dir/").unwrap(), "/dir/");
        assert_eq!(decode("/with%20space.txt").unwrap(), "/with space.txt");
        assert_eq!(decode("/..hidden").unwrap(), "/..hidden");
    }

    #[test]
    fn traversal_forms_are_refused() {
        for p in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/x",
            "/a/./b",
            "/a/..",
        ] {
            assert_eq!(decode(p), Err(Refusal::DotSegment), "{p}");
        }
        assert_eq!(decode("/..%2fetc"), Err(Refusal::EncodedSlash));
        assert_eq!(decode("/a%2Fb"), Err(Refusal::EncodedSlash));
        assert_eq!(decode("/..%5c..%5cx"), Err(Refusal::EncodedSlash));
        assert_eq!(decode("//etc/passwd"), Err(Refusal::EmptySegment));
        assert_eq!(decode("/a//b"), Err(Refusal::EmptySegment));
        assert_eq!(decode("/a%00.html"), Err(Refusal::ControlByte));
        assert_eq!(decode("/a%0a"), Err(Refusal::ControlByte));
        assert_eq!(decode("/%ff"), Err(Refusal::NotUtf8));
        assert_eq!(decode("a"), Err(Refusal::NotAbsolute));
        assert_eq!(decode("/..\\..\\x"), Err(Refusal::DotSegment));
    }
}
