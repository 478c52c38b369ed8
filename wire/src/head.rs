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
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut it = status_line.split_whitespace();
    let proto = it.next()?;
    if !proto.starts_with("HTTP/") {
        return None;
    }
    let status = StatusCode::from_u16(it.next()?.parse().ok()?).ok()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        let value = http::HeaderValue::from_str(value.trim()).ok()?;
        headers.append(name, value);
    }
    Some(Head { status, headers })
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
        assert!(parse_head(b"HTTP/1.1 abc OK\r\n\r\n").is_none());
    }
}
