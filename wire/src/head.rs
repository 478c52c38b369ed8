//! The response head a plugin writes with `LWS_WRITE_HTTP_HEADERS`
//! (`HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n`), parsed.

use http::{HeaderMap, StatusCode};

/// A response head.
#[derive(Debug)]
pub struct Head {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
}

/// Parses a plugin-written response head (`HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n`).
pub fn parse(bytes: &[u8]) -> Option<Head> {
    // Lines split on `\r\n` (a lone `\r` or `\n` stays inside its line,
    // where the header value check refuses it).
    // UTF-8 throughout (so each part below converts without failing).
    std::str::from_utf8(bytes).ok()?;
    let mut lines = CrlfLines(bytes);
    let status_line = std::str::from_utf8(lines.next()?).ok()?;
    let mut it = status_line.split_whitespace();
    let proto = it.next()?;
    if !proto.starts_with("HTTP/") {
        return None;
    }
    let status = StatusCode::from_u16(it.next()?.parse().ok()?).ok()?;
    let mut headers = HeaderMap::with_capacity(8);
    for line in lines {
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = std::str::from_utf8(&line[..colon]).ok()?.trim();
        let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = std::str::from_utf8(&line[colon + 1..]).ok()?.trim();
        let value = http::HeaderValue::from_str(value).ok()?;
        headers.append(name, value);
    }
    Some(Head { status, headers })
}

/// The lines of a head, each without its `\r\n`; the last one is what
/// follows the last `\r\n`.
struct CrlfLines<'a>(&'a [u8]);

impl<'a> Iterator for CrlfLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let mut from = 0;
        while let Some(p) = self.0[from..].iter().position(|&b| b == b'\n') {
            let at = from + p;
            if at > 0 && self.0[at - 1] == b'\r' {
                let line = &self.0[..at - 1];
                self.0 = &self.0[at + 1..];
                return Some(line);
            }
            from = at + 1;
        }
        let line = self.0;
        self.0 = &[];
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::parse as parse_head;

    #[test]
    fn plugin_heads_parse() {
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-a:  b \r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(h.headers["content-type"], "text/html");
        assert_eq!(h.headers["x-a"], "b");
        assert_eq!(h.headers["content-length"], "5");
        assert!(parse_head(b"garbage\r\n\r\n").is_none());
        // Lines end at CRLF only: a lone LF or CR stays in its value, which
        // is then refused.
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nx-a: b\nc: d\r\n\r\n").is_none());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nx-a: b\rc\r\n\r\n").is_none());
        // No final empty line, or none at all after the status line.
        let h = parse_head(b"HTTP/1.1 404 Not Found\r\nx-a: b").unwrap();
        assert_eq!(h.status, 404);
        assert_eq!(h.headers["x-a"], "b");
        assert!(parse_head(b"HTTP/1.1 204 No Content")
            .unwrap()
            .headers
            .is_empty());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nx-\xff: b\r\n\r\n").is_none());
        assert!(parse_head(b"HTTP/1.1 abc OK\r\n\r\n").is_none());
    }
}
