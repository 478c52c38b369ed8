//! The opening handshake (RFC 6455 §4.1), client side: the request a
//! client sends and the check of the server's answer. The server side is
//! [`crate::handshake`].

use base64::Engine as _;

use crate::handshake::accept_key;

/// What the client asks for.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// Request target (path and query), `/` when empty.
    pub path: &'a str,
    /// `Host:` value.
    pub host: &'a str,
    /// `Origin:` value, if any.
    pub origin: Option<&'a str>,
    /// `Sec-WebSocket-Protocol:` list (comma separated), if any.
    pub protocols: Option<&'a str>,
    /// The key: [`key_from`] of 16 random bytes.
    pub key: &'a str,
}

/// A `Sec-WebSocket-Key` from 16 random bytes.
pub fn key_from(nonce: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// The request head without its final blank line, so that more header
/// lines (a plugin's) can follow; end it with `\r\n`.
pub fn request_head(r: &Request<'_>) -> Vec<u8> {
    let path = if r.path.is_empty() { "/" } else { r.path };
    let mut h = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
        r.host, r.key
    );
    if let Some(o) = r.origin {
        h.push_str(&format!("Origin: {o}\r\n"));
    }
    if let Some(p) = r.protocols.filter(|p| !p.is_empty()) {
        h.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    h.into_bytes()
}

/// Why the server's answer is not an accepted upgrade.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The head is not a parseable HTTP/1.1 response head.
    #[error("bad response head")]
    BadHead,
    /// Not 101.
    #[error("HS: ws upgrade response not 101 (status {0})")]
    Status(u16),
    /// `Upgrade: websocket` / `Connection: upgrade` missing.
    #[error("HS: no upgrade to websocket in the response")]
    NoUpgrade,
    /// `Sec-WebSocket-Accept` missing or not the one for our key.
    #[error("HS: Accept hash wrong")]
    BadAccept,
    /// The server chose a subprotocol we did not ask for.
    #[error("HS: protocol \"{0}\" was not asked for")]
    Protocol(String),
}

/// The length of the response head in `buf` (through its blank line),
/// once it is all there.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Checks the server's answer `head` to a request with `key` that asked for
/// `protocols` (comma separated): the subprotocol it chose, if any.
pub fn check_response(
    head: &[u8],
    key: &str,
    protocols: Option<&str>,
) -> Result<Accepted, Refused> {
    let parsed = crate::head::parse(head).ok_or(Refused::BadHead)?;
    let status = parsed.status.as_u16();
    if status != 101 {
        return Err(Refused::Status(status));
    }
    let h = &parsed.headers;
    if !crate::handshake::upgrade_requested(h)
        || !crate::handshake::header_has_token(h, &http::header::CONNECTION, "upgrade")
    {
        return Err(Refused::NoUpgrade);
    }
    let accept = h
        .get(http::header::SEC_WEBSOCKET_ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if accept != Some(accept_key(key).as_str()) {
        return Err(Refused::BadAccept);
    }
    let chosen = h
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(c) = &chosen {
        let asked = protocols
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .any(|p| p == c);
        if !asked {
            return Err(Refused::Protocol(c.clone()));
        }
    }
    Ok(Accepted {
        protocol: chosen,
        headers: parsed.headers,
    })
}

/// An accepted upgrade.
#[derive(Debug)]
pub struct Accepted {
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The response's headers.
    pub headers: http::HeaderMap,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn answer(extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}\r\n"
        )
    }

    #[test]
    fn request_carries_key_protocols_and_origin() {
        let head = request_head(&Request {
            path: "/x?y=1",
            host: "example:80",
            origin: Some("http://o"),
            protocols: Some("a, b"),
            key: KEY,
        });
        let text = String::from_utf8(head).unwrap();
        assert!(text.starts_with("GET /x?y=1 HTTP/1.1\r\nHost: example:80\r\n"));
        assert!(text.contains("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert!(text.contains("Origin: http://o\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: a, b\r\n"));
        assert!(text.ends_with("\r\n") && !text.ends_with("\r\n\r\n"));
        assert_eq!(key_from([0; 16]).len(), 24);
    }

    #[test]
    fn the_rfc_example_is_accepted() {
        let a = answer(
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: b\r\n",
        );
        let ok = check_response(a.as_bytes(), KEY, Some("a, b")).unwrap();
        assert_eq!(ok.protocol.as_deref(), Some("b"));
        assert_eq!(head_len(a.as_bytes()), Some(a.len()));
    }

    #[test]
    fn wrong_answers_are_refused() {
        let good = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
        assert_eq!(
            check_response(
                answer("Sec-WebSocket-Accept: AAAA\r\n").as_bytes(),
                KEY,
                None
            )
            .unwrap_err(),
            Refused::BadAccept
        );
        assert_eq!(
            check_response(b"HTTP/1.1 403 Forbidden\r\n\r\n", KEY, None).unwrap_err(),
            Refused::Status(403)
        );
        let other = answer(&format!("{good}Sec-WebSocket-Protocol: c\r\n"));
        assert_eq!(
            check_response(other.as_bytes(), KEY, Some("a")).unwrap_err(),
            Refused::Protocol("c".into())
        );
        let no_upgrade = format!("HTTP/1.1 101 Switching Protocols\r\n{good}\r\n");
        assert_eq!(
            check_response(no_upgrade.as_bytes(), KEY, None).unwrap_err(),
            Refused::NoUpgrade
        );
    }
}
