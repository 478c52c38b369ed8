//! lwsws's `listen-accept-*` vhost options: a vhost whose
//! `listen-accept-role` is `raw-skt`, with `apply-listen-accept` (or its
//! old name `onlyraw`) on, is not an HTTP vhost: each connection its
//! listener accepts goes straight to its `listen-accept-protocol` as a raw
//! socket (RAW_ADOPT, RAW_RX, ...; `host::raw`), the way a device gateway
//! takes its devices' connections. With `fallback-listen-accept` instead,
//! only a connection whose first bytes are not HTTP (a known method and a
//! space; on a TLS listener, not a TLS handshake) goes to the protocol,
//! as lws falls back when its HTTP parser meets an unknown method.

use std::os::fd::OwnedFd;

use crate::host::raw::{self, Kind};
use crate::http::site::Site;

/// The protocol accepted sockets of the listener's default vhost `vhost`
/// go to, if it is a raw vhost.
fn raw_protocol(site: &Site, vhost: usize) -> Option<&str> {
    let cfg = &site.host.vhosts.get(vhost)?.cfg;
    if !cfg.apply_listen_accept || cfg.listen_accept_role.as_deref() != Some("raw-skt") {
        return None;
    }
    cfg.listen_accept_protocol.as_deref()
}

/// The protocol non-HTTP connections of the listener's default vhost go
/// to, if it falls back to one.
fn fallback_protocol(site: &Site, vhosts: &[usize]) -> Option<String> {
    let cfg = &site.host.vhosts.get(*vhosts.first()?)?.cfg;
    if cfg.apply_listen_accept
        || !cfg.fallback_listen_accept
        || cfg.listen_accept_role.as_deref() != Some("raw-skt")
    {
        return None;
    }
    cfg.listen_accept_protocol.clone()
}

/// Whether the listener's default vhost falls back to a raw protocol (its
/// connections then go through [`sniff`]).
pub(crate) fn falls_back(site: &Site, vhosts: &[usize]) -> bool {
    fallback_protocol(site, vhosts).is_some()
}

/// HTTP methods: a connection starting otherwise is not HTTP.
const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PRI ",
];

/// Whether `head` (the first bytes) may still be, or is, an HTTP request
/// line: Some(true) HTTP, Some(false) not, None: too short to say.
fn looks_like_http(head: &[u8]) -> Option<bool> {
    let mut undecided = false;
    for m in METHODS {
        let n = head.len().min(m.len());
        if head[..n] == m[..n] {
            if n == m.len() {
                return Some(true);
            }
            undecided = true;
        }
    }
    (!undecided).then_some(false)
}

/// For a vhost that falls back: waits for the first bytes (without taking
/// them) and gives the connection back for HTTP (or TLS), or hands it to
/// the raw protocol (None).
pub(crate) async fn sniff(
    stream: tokio::net::TcpStream,
    vhosts: &[usize],
    site: &Site,
    tls: bool,
) -> Option<tokio::net::TcpStream> {
    let Some(protocol) = fallback_protocol(site, vhosts) else {
        return Some(stream);
    };
    let mut head = [0u8; 8];
    // A request line dripping in slower than this is taken as HTTP (whose
    // own timeouts then apply).
    let mut tries = 100;
    let is_http = loop {
        let n = stream.peek(&mut head).await.ok()?;
        if n == 0 {
            return None;
        }
        let verdict = if tls {
            Some(head[0] == 0x16)
        } else {
            looks_like_http(&head[..n])
        };
        match verdict {
            Some(v) => break v,
            None if tries == 0 => break true,
            // Wait for more of the request line.
            None => {
                tries -= 1;
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
    };
    if is_http {
        return Some(stream);
    }
    adopt(stream, vhosts.first().copied()?, &protocol, site);
    None
}

fn adopt(stream: tokio::net::TcpStream, vhost: usize, protocol: &str, site: &Site) {
    let fd = match stream.into_std() {
        Ok(s) => OwnedFd::from(s),
        Err(e) => {
            tracing::debug!("raw accept: {e}");
            return;
        }
    };
    if let Err(e) = raw::adopt(
        &site.host,
        vhost,
        Kind::Socket,
        fd,
        Some(protocol),
        std::ptr::null_mut(),
        &[],
    ) {
        tracing::warn!(
            "vhost \"{}\": an accepted connection for raw protocol \"{protocol}\" was closed: {e}",
            site.host.vhosts[vhost].cfg.name
        );
    }
}

/// Hands `stream` to the raw protocol when the listener's default vhost is
/// a raw one (None: taken, or refused and closed, with a log line);
/// otherwise gives it back for HTTP. A raw vhost on a TLS listener refuses
/// its connections: raw sockets here are plain TCP.
pub(crate) fn divert(
    stream: tokio::net::TcpStream,
    vhosts: &[usize],
    site: &Site,
    tls: bool,
) -> Option<tokio::net::TcpStream> {
    let &vhost = vhosts.first()?;
    let Some(protocol) = raw_protocol(site, vhost) else {
        return Some(stream);
    };
    if tls {
        tracing::warn!(
            "vhost \"{}\": raw (listen-accept-role raw-skt) over TLS is not supported; connection closed",
            site.host.vhosts[vhost].cfg.name
        );
        return None;
    }
    adopt(stream, vhost, protocol, site);
    None
}

#[cfg(test)]
mod tests {
    use super::looks_like_http;

    #[test]
    fn request_lines_and_other_bytes() {
        assert_eq!(looks_like_http(b"GET / HT"), Some(true));
        assert_eq!(looks_like_http(b"OPTIONS "), Some(true));
        assert_eq!(looks_like_http(b"PO"), None);
        assert_eq!(looks_like_http(b"POLL v1\n"), Some(false));
        assert_eq!(looks_like_http(b"\x16\x03\x01"), Some(false));
        assert_eq!(looks_like_http(b"hello\n"), Some(false));
    }
}
