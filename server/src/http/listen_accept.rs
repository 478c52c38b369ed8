//! lwsws's `listen-accept-*` vhost options: a vhost whose
//! `listen-accept-role` is `raw-skt`, with `apply-listen-accept` (or its
//! old name `onlyraw`) on, is not an HTTP vhost: each connection its
//! listener accepts goes straight to its `listen-accept-protocol` as a raw
//! socket (RAW_ADOPT, RAW_RX, ...; `host::raw`), the way a device gateway
//! takes its devices' connections.

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
    let fd = match stream.into_std() {
        Ok(s) => OwnedFd::from(s),
        Err(e) => {
            tracing::debug!("raw accept: {e}");
            return None;
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
    None
}
