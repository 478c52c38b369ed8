//! The opening handshake (RFC 6455 §4.2), server side.

use base64::Engine as _;
use http::header::{
    HeaderName, HeaderValue, InvalidHeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{HeaderMap, Method, Version};

/// The GUID appended to the client's key (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version we speak; send it in `Sec-WebSocket-Version`
/// with a 426 when [`version_supported`] is false.
pub const VERSION: &str = "13";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(sec_websocket_key: &str) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(sec_websocket_key.trim().as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.digest().bytes())
}

/// Comma-separated, trimmed, non-empty elements of every line of a header.
fn elements<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty())
}

/// Whether any line of header `name` has `token` (ASCII case-insensitive)
/// among its comma-separated elements.
pub fn header_has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    elements(headers, name).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// `Upgrade: websocket` is present (the client wants a WebSocket, whether or
/// not the rest of the request is acceptable).
pub fn upgrade_requested(headers: &HeaderMap) -> bool {
    header_has_token(headers, &UPGRADE, "websocket")
}

/// `Sec-WebSocket-Version: 13`.
pub fn version_supported(headers: &HeaderMap) -> bool {
    header_has_token(headers, &SEC_WEBSOCKET_VERSION, VERSION)
}

/// The client's `Sec-WebSocket-Key`, trimmed, if present and non-empty.
pub fn key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// A valid WebSocket opening request: `GET`, HTTP/1.1, `Connection`
/// containing the token `upgrade` (e.g. `keep-alive, Upgrade`), `Upgrade`
/// containing `websocket`, `Sec-WebSocket-Version: 13` and a key. All
/// comparisons are case-insensitive and tolerate several header lines.
pub fn is_upgrade_request(headers: &HeaderMap, method: &Method, version: Version) -> bool {
    *method == Method::GET
        && version == Version::HTTP_11
        && header_has_token(headers, &CONNECTION, "upgrade")
        && upgrade_requested(headers)
        && version_supported(headers)
        && key(headers).is_some()
}

/// The subprotocols of `Sec-WebSocket-Protocol`, in the client's order:
/// split on commas with any spacing, over all header lines, empties dropped.
pub fn requested_protocols(headers: &HeaderMap) -> Vec<String> {
    elements(headers, &SEC_WEBSOCKET_PROTOCOL)
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

/// All `Sec-WebSocket-Extensions` lines joined with `", "`, for
/// [`crate::deflate::negotiate`]. `None` when absent.
pub fn extensions_offer(headers: &HeaderMap) -> Option<String> {
    let parts: Vec<&str> = headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Headers of the `101 Switching Protocols` response: `Upgrade`,
/// `Connection`, `Sec-WebSocket-Accept` and, when given, the chosen
/// subprotocol and the extensions response value.
pub fn response_headers(
    key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
) -> Result<HeaderMap, InvalidHeaderValue> {
    let mut h = HeaderMap::new();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept_key(key))?,
    );
    if let Some(p) = protocol {
        h.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(p)?);
    }
    if let Some(e) = extensions {
        h.insert(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_str(e)?);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    fn browser() -> Vec<(&'static str, &'static str)> {
        vec![
            ("host", "example.com"),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
    }

    #[test]
    fn rfc_accept_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn upgrade_detection() {
        let h = map(&browser());
        assert!(is_upgrade_request(&h, &Method::GET, Version::HTTP_11));
        assert!(!is_upgrade_request(&h, &Method::POST, Version::HTTP_11));
        assert!(!is_upgrade_request(&h, &Method::GET, Version::HTTP_10));
        assert!(!is_upgrade_request(&h, &Method::GET, Version::HTTP_2));

        // Firefox: "keep-alive, Upgrade"; odd case everywhere
        let mut v = browser();
        v[1] = ("connection", "keep-alive, Upgrade");
        v[2] = ("upgrade", "WebSocket");
        assert!(is_upgrade_request(&map(&v), &Method::GET, Version::HTTP_11));
        v[1] = ("connection", "keep-alive,UPGRADE ");
        assert!(is_upgrade_request(&map(&v), &Method::GET, Version::HTTP_11));

        // Connection on two lines
        let mut v = browser();
        v[1] = ("connection", "keep-alive");
        v.push(("connection", "upgrade"));
        assert!(is_upgrade_request(&map(&v), &Method::GET, Version::HTTP_11));

        // token must match whole, not as a substring
        let mut v = browser();
        v[1] = ("connection", "upgraded");
        assert!(!is_upgrade_request(
            &map(&v),
            &Method::GET,
            Version::HTTP_11
        ));

        for drop in [
            "connection",
            "upgrade",
            "sec-websocket-version",
            "sec-websocket-key",
        ] {
            let v: Vec<_> = browser().into_iter().filter(|(k, _)| *k != drop).collect();
            assert!(
                !is_upgrade_request(&map(&v), &Method::GET, Version::HTTP_11),
                "{drop}"
            );
        }
        let mut v = browser();
        v[3] = ("sec-websocket-version", "8");
        let h = map(&v);
        assert!(!is_upgrade_request(&h, &Method::GET, Version::HTTP_11));
        assert!(upgrade_requested(&h));
        assert!(!version_supported(&h));
        let mut v = browser();
        v[4] = ("sec-websocket-key", "  ");
        assert!(!is_upgrade_request(
            &map(&v),
            &Method::GET,
            Version::HTTP_11
        ));
    }

    #[test]
    fn protocols() {
        let h = map(&[
            (
                "sec-websocket-protocol",
                "lws-mirror-protocol,  dumb-increment-protocol ,,",
            ),
            ("sec-websocket-protocol", " chat"),
        ]);
        assert_eq!(
            requested_protocols(&h),
            vec!["lws-mirror-protocol", "dumb-increment-protocol", "chat"]
        );
        assert!(requested_protocols(&HeaderMap::new()).is_empty());
        assert!(requested_protocols(&map(&[("sec-websocket-protocol", " , ")])).is_empty());
    }

    #[test]
    fn extensions_and_response() {
        let h = map(&[
            ("sec-websocket-extensions", "x-webkit-deflate-frame"),
            (
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits",
            ),
        ]);
        let offer = extensions_offer(&h).unwrap();
        assert_eq!(
            offer,
            "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"
        );
        let (_, resp) = crate::deflate::negotiate(&offer).unwrap();
        let r = response_headers("dGhlIHNhbXBsZSBub25jZQ==", Some("chat"), Some(&resp)).unwrap();
        assert_eq!(r[SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(r[SEC_WEBSOCKET_PROTOCOL], "chat");
        assert_eq!(r[SEC_WEBSOCKET_EXTENSIONS], "permessage-deflate");
        assert_eq!(r[UPGRADE], "websocket");
        assert!(extensions_offer(&HeaderMap::new()).is_none());
    }
}
