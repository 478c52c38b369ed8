//! The request service: vhost, path checks, mount dispatch, the headers every
//! response of the vhost carries, and the access-log line.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderValue, REFERER, SERVER, STRICT_TRANSPORT_SECURITY, USER_AGENT};
use http::{Request, StatusCode, Version};
use http_body::Body as _;

use crate::http::mount::{self, redirect};
use crate::http::response::{self, status_page, Response};
use crate::http::{path, vhost};
use crate::ops::access_log::Entry;
use crate::site::{MountKind, Site, VhostSite};
use crate::ws::{self, handshake};

/// What the service knows about the connection a request came on.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// The peer.
    pub peer: SocketAddr,
    /// Vhosts served on this socket (first = default).
    pub vhosts: Arc<[usize]>,
}

/// Answers one request.
pub async fn handle<B: Send + 'static>(
    site: Arc<Site>,
    conn: &ConnInfo,
    req: Request<B>,
) -> Response {
    let host = vhost::requested_host(&req);
    let vi = vhost::select(&site, &conn.vhosts, host.as_deref());
    let vh = &site.vhosts[vi];

    if handshake::is_upgrade_request(req.headers(), req.method(), req.version()) {
        return upgrade(&site, vi, conn, req);
    }

    let mut mount_index = None;
    let mut resp = route(&site, vh, &req, &mut mount_index).await;

    decorate(&site, vh, mount_index, &mut resp);
    if let Some(log) = &vh.access_log {
        let hdr = |n| {
            req.headers()
                .get(n)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        log.record(&Entry {
            peer: Some(conn.peer.ip()),
            method: req.method().as_str(),
            path: req.uri().path(),
            version: version_str(req.version()),
            status: resp.status().as_u16(),
            bytes: resp.body().size_hint().exact().unwrap_or(0),
            referer: hdr(REFERER),
            user_agent: hdr(USER_AGENT),
        });
    }
    resp
}

/// A WebSocket upgrade: the URL path selects nothing (as in lws), the
/// subprotocol selects the plugin.
fn upgrade<B: Send + 'static>(
    site: &Arc<Site>,
    vi: usize,
    conn: &ConnInfo,
    req: Request<B>,
) -> Response {
    let vh = &site.vhosts[vi];
    let decoded = match path::decode(req.uri().path()) {
        Ok(p) => p,
        Err(refusal) => return status_page(refusal.status()),
    };
    let method = req.method().to_string();
    let raw_path = req.uri().path().to_string();
    let version = version_str(req.version());
    let hdr = |n| {
        req.headers()
            .get(n)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let (referer, ua) = (hdr(REFERER), hdr(USER_AGENT));
    let (mut resp, proto) = ws::upgrade::answer(site, vi, conn, &decoded, req);
    decorate(site, vh, None, &mut resp);
    if let Some(log) = &vh.access_log {
        let path = match &proto {
            Some(p) => format!("{raw_path} ({p})"),
            None => raw_path,
        };
        log.record(&Entry {
            peer: Some(conn.peer.ip()),
            method: &method,
            path: &path,
            version,
            status: resp.status().as_u16(),
            bytes: 0,
            referer: referer.as_deref(),
            user_agent: ua.as_deref(),
        });
    }
    resp
}

async fn route<B>(
    site: &Site,
    vh: &VhostSite,
    req: &Request<B>,
    mount_index: &mut Option<usize>,
) -> Response {
    if let Some(ua) = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        if let Some((_, code)) = site
            .reject_keywords
            .iter()
            .find(|(k, _)| ua.contains(k.as_str()))
        {
            return status_page(*code);
        }
    }
    let decoded = match path::decode(req.uri().path()) {
        Ok(p) => p,
        Err(refusal) => {
            tracing::info!(
                "refused {:?} from vhost \"{}\": {refusal}",
                req.uri().path(),
                vh.cfg.name
            );
            return status_page(refusal.status());
        }
    };
    let Some(mi) = mount::find(&vh.cfg.mounts, &decoded) else {
        return not_found(vh, &decoded);
    };
    *mount_index = Some(mi);
    let m = &vh.cfg.mounts[mi];
    let rest = mount::rest(m, &decoded);
    let kind = &vh.mounts[mi].kind;

    // Mountpoints are directories: `/app` on a file mount is sent to `/app/`.
    let is_dir_mount = matches!(kind, MountKind::File(_) | MountKind::Proxy(_));
    if is_dir_mount && decoded == mount::trimmed(&m.mountpoint) && decoded != "/" && !m.exact_match
    {
        let mut loc = format!("{}/", decoded);
        if let Some(h) = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
        {
            loc = format!("http://{h}{loc}");
        }
        return response::redirect(StatusCode::MOVED_PERMANENTLY, &loc);
    }

    match kind {
        MountKind::File(fm) => {
            let mut resp = fm.serve(req.method(), req.headers(), rest).await;
            if resp.status() == StatusCode::NOT_FOUND {
                return not_found(vh, &decoded);
            }
            if vh.cfg.error_document_404.as_deref() == Some(decoded.as_str())
                && resp.status() == StatusCode::OK
            {
                *resp.status_mut() = StatusCode::NOT_FOUND;
            }
            resp
        }
        MountKind::Redirect {
            target,
            append_path,
        } => redirect::answer(target, *append_path, rest, req.uri().query()),
        MountKind::Callback(protocol) => {
            tracing::warn!(
                "{}: callback://{protocol}: no plugin provides protocol \"{protocol}\"",
                m.at
            );
            status_page(StatusCode::NOT_FOUND)
        }
        MountKind::Cgi(script) => {
            tracing::warn!(
                "{}: cgi://{}: CGI is not supported yet",
                m.at,
                script.display()
            );
            status_page(StatusCode::NOT_IMPLEMENTED)
        }
        MountKind::Proxy(url) => {
            tracing::warn!("{}: proxy to {url}: proxy mounts are not supported", m.at);
            status_page(StatusCode::NOT_IMPLEMENTED)
        }
    }
}

/// 404, or lws's redirect to the vhost's `error-document-404`.
fn not_found(vh: &VhostSite, decoded: &str) -> Response {
    match vh.cfg.error_document_404.as_deref() {
        Some(doc) if doc != decoded => response::redirect(StatusCode::FOUND, doc),
        _ => status_page(StatusCode::NOT_FOUND),
    }
}

/// Headers on every response: `Server`, STS, vhost headers, then mount
/// headers (which win over same-named vhost ones).
fn decorate(site: &Site, vh: &VhostSite, mount_index: Option<usize>, resp: &mut Response) {
    let h = resp.headers_mut();
    if let Some(s) = &site.server_header {
        h.insert(SERVER, s.clone());
    }
    if vh.cfg.sts {
        h.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=15768000 ; includeSubDomains"),
        );
    }
    if !vh.headers.is_empty() {
        vh.headers.apply(h);
    }
    if let Some(mi) = mount_index {
        let mh = &vh.mounts[mi].headers;
        if !mh.is_empty() {
            mh.apply(h);
        }
    }
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_09 => "HTTP/0.9",
        _ => "HTTP/1.1",
    }
}
