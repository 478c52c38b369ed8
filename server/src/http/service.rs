//! The request service: vhost, path checks, mount dispatch, the headers every
//! response of the vhost carries, and the access-log line.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderValue, REFERER, SERVER, STRICT_TRANSPORT_SECURITY, USER_AGENT};
use http::{Request, StatusCode, Version};
use http_body::Body as _;

use crate::http::access_log::{Entry, LogUser};
use crate::http::mount::callback::{self, Closed};
use crate::http::mount::{self, cgi, redirect};
use crate::http::response::{self, status_page, Response};
use crate::http::site::{MountKind, Site, VhostSite};
use crate::http::vhost;
use comlink_wire::handshake;
use comlink_wire::path;

/// What the service knows about the connection a request came on.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    /// The peer.
    pub peer: SocketAddr,
    /// Vhosts served on this socket (first = default).
    pub vhosts: Arc<[usize]>,
    /// The connection is TLS.
    pub secure: bool,
    /// Plain HTTP on a TLS port with `redirect-http`: answer every request
    /// with a 301 to https.
    pub redirect_to_https: bool,
    /// Its `ip-limit-wsi` slot (held as long as the connection lives).
    pub peer_slot: Option<Arc<crate::http::peers::Slot>>,
    /// The client's verified certificate (DER), on TLS with client
    /// certificates.
    pub peer_cert: Option<Arc<[u8]>>,
}

/// What the access log needs of a request (taken before the request is
/// handed on): shared handles on the request's bytes, no copies.
struct LogFields {
    method: http::Method,
    uri: http::Uri,
    version: &'static str,
    referer: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
}

impl LogFields {
    fn of<B>(req: &Request<B>) -> LogFields {
        LogFields {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: version_str(req.version()),
            referer: req.headers().get(REFERER).cloned(),
            user_agent: req.headers().get(USER_AGENT).cloned(),
        }
    }
}

/// Answers one request. `Err` means the protocol that owned it ended the
/// connection: hyper closes it without an answer.
pub(crate) async fn handle<B>(
    site: Arc<Site>,
    conn: &ConnInfo,
    mut req: Request<B>,
) -> Result<Response, Closed>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    // A body that ends at the client's close reached hyper re-framed as
    // chunks (see `normalize`): the request is what the client sent again,
    // and an HTTP/1.0 client gets an HTTP/1.0 answer.
    if req.version() == Version::HTTP_2 {
        // Only the HTTP/1 normaliser sets the marker; never a client.
        req.headers_mut()
            .remove(crate::http::normalize::UNTIL_CLOSE_HEADER);
    } else if let Some(version) = crate::http::normalize::until_close(req.headers_mut()) {
        *req.version_mut() = version;
        let mut resp = answer(site, conn, req).await?;
        *resp.version_mut() = version;
        return Ok(resp);
    }
    answer(site, conn, req).await
}

async fn answer<B>(site: Arc<Site>, conn: &ConnInfo, req: Request<B>) -> Result<Response, Closed>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    if let Some((status, why)) = crate::http::normalize::refusal(req.headers()) {
        tracing::info!("{}: refused a request: {status}: {why}", conn.peer);
        let mut resp = with_server(&site, status_page(status));
        resp.headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(resp);
    }
    if req.version() == http::Version::HTTP_2 {
        let limits = crate::http::normalize::Limits::default();
        if let Some(r) = crate::http::normalize::h2::refusal(&req, &limits) {
            tracing::info!(
                "{}: refused an HTTP/2 request: {}: {}",
                conn.peer,
                r.status,
                r.reason
            );
            return Ok(with_server(&site, status_page(r.status)));
        }
    }
    // Health checks are answered on every vhost, also on the plain port of
    // a vhost that redirects to HTTPS (load balancers want a 200 there).
    if site.health_path.as_deref() == Some(req.uri().path()) {
        return Ok(with_server(
            &site,
            crate::http::health::answer(&site, req.method()),
        ));
    }
    let host = vhost::requested_host(&req);
    let vi = vhost::select(&site, &conn.vhosts, host.as_deref());
    let vh = &site.vhosts[vi];
    if conn.redirect_to_https {
        let authority = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(&vh.cfg.name)
            .to_string();
        let target = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        return Ok(with_server(
            &site,
            response::redirect(
                StatusCode::MOVED_PERMANENTLY,
                &format!("https://{authority}{target}"),
            ),
        ));
    }

    if handshake::is_upgrade_request(req.headers(), req.method(), req.version()) {
        if !crate::host::handover::wait_ready(&site.host.vhosts[vi]).await {
            return Ok(with_server(&site, handover_busy()));
        }
        return Ok(upgrade(&site, vi, conn, req));
    }
    if site.metrics_path.as_deref() == Some(req.uri().path()) {
        return Ok(with_server(&site, crate::http::metrics::answer(&site)));
    }

    let log_fields = vh.access_log.as_ref().map(|_| LogFields::of(&req));
    let mut mount_index = None;
    let mut resp = route(&site, vi, conn, req, &mut mount_index).await?;

    decorate(&site, vh, mount_index, &mut resp);
    let bytes = resp.body().size_hint().exact().unwrap_or(0);
    vh.stats
        .h1_trans
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    vh.stats
        .tx
        .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    if resp.status().as_u16() >= 400 {
        vh.stats
            .rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let class = usize::from(resp.status().as_u16() / 100).clamp(1, 5) - 1;
    vh.stats.by_class[class].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let (Some(log), Some(f)) = (&vh.access_log, log_fields) {
        log.record(&Entry {
            peer: Some(conn.peer.ip()),
            method: f.method.as_str(),
            path: f.uri.path(),
            version: f.version,
            status: resp.status().as_u16(),
            bytes,
            referer: f.referer.as_ref().and_then(|v| v.to_str().ok()),
            user_agent: f.user_agent.as_ref().and_then(|v| v.to_str().ok()),
            user: resp.extensions().get::<LogUser>().map(|u| u.0.as_str()),
        });
    }
    Ok(resp)
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
    let (mut resp, proto) = crate::http::upgrade::answer(&site.host, vi, conn, &decoded, req);
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        vh.stats
            .ws_upg
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    } else {
        vh.stats
            .rejected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
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
            user: resp.extensions().get::<LogUser>().map(|u| u.0.as_str()),
        });
    }
    resp
}

async fn route<B>(
    site: &Arc<Site>,
    vi: usize,
    conn: &ConnInfo,
    req: Request<B>,
    mount_index: &mut Option<usize>,
) -> Result<Response, Closed>
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let vh = &site.vhosts[vi];
    if let Some(ua) = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()) {
        if let Some((_, code)) = site
            .reject_keywords
            .iter()
            .find(|(k, _)| ua.contains(k.as_str()))
        {
            return Ok(status_page(*code));
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
            return Ok(status_page(refusal.status()));
        }
    };
    let Some(mi) = mount::find(&vh.cfg.mounts, &decoded) else {
        return Ok(not_found(vh, &decoded));
    };
    *mount_index = Some(mi);
    let m = &vh.cfg.mounts[mi];
    let rest = mount::rest(m, &decoded);
    let ms = &vh.mounts[mi];

    // Mountpoints are directories: `/app` on a file mount is sent to `/app/`.
    let is_dir_mount = matches!(ms.kind, MountKind::File(_) | MountKind::Proxy(_));
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
        return Ok(response::redirect(StatusCode::MOVED_PERMANENTLY, &loc));
    }

    Ok(match &ms.kind {
        MountKind::File(fm) => {
            let mut resp = fm.serve(req.method(), req.headers(), rest).await;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(not_found(vh, &decoded));
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
            let handle = &site.host.vhosts[vi];
            let Some(pi) = handle.find(protocol) else {
                tracing::warn!(
                    "{}: callback://{protocol}: protocol \"{protocol}\" is not enabled on vhost \"{}\" (is it in its ws-protocols, and is its plugin loaded?)",
                    m.at,
                    vh.cfg.name
                );
                return Ok(status_page(StatusCode::NOT_FOUND));
            };
            if !crate::host::handover::wait_ready(handle).await {
                return Ok(handover_busy());
            }
            // lws hands the plugin the path after the mountpoint, '/' kept.
            let after = &decoded[mount::trimmed(&m.mountpoint).len().min(decoded.len())..];
            let after = if mount::trimmed(&m.mountpoint) == "/" {
                decoded.as_str()
            } else {
                after
            };
            let target = callback::Target {
                site,
                vhost: vi,
                protocol: pi,
                pmo: &ms.pmo,
                auth_mask: m.auth_mask,
                path: &decoded,
                rest: after,
                timeout: site.timeout,
            };
            return callback::serve(target, conn, req).await;
        }
        MountKind::Cgi(script) => {
            let mp = mount::trimmed(&m.mountpoint);
            let path_info = if mp == "/" {
                decoded.as_str()
            } else {
                &decoded[mp.len().min(decoded.len())..]
            };
            if m.cgi_chroot.is_some() {
                tracing::warn!("{}: cgi-chroot is not supported; running without it", m.at);
            }
            let c = cgi::Cgi {
                script,
                script_name: mp,
                path_info,
                env: &m.cgi_env,
                timeout: std::time::Duration::from_secs(u64::from(m.cgi_timeout.max(1))),
                chdir: m.cgi_chdir.as_ref(),
                peer: conn.peer,
                server: (&vh.cfg.name, vh.cfg.port),
            };
            cgi::serve(c, req).await
        }
        MountKind::Proxy(url) => {
            tracing::warn!("{}: proxy to {url}: proxy mounts are not supported", m.at);
            status_page(StatusCode::NOT_IMPLEMENTED)
        }
    })
}

/// A protocol still waiting for its plugin's hand-over after
/// `handover::WAIT`: try again shortly.
fn handover_busy() -> Response {
    let mut resp = status_page(StatusCode::SERVICE_UNAVAILABLE);
    resp.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// 404, or lws's redirect to the vhost's `error-document-404`.
fn not_found(vh: &VhostSite, decoded: &str) -> Response {
    match vh.cfg.error_document_404.as_deref() {
        Some(doc) if doc != decoded => response::redirect(StatusCode::FOUND, doc),
        _ => status_page(StatusCode::NOT_FOUND),
    }
}

/// Adds the `Server:` header (`server-string`) to an answer given before a
/// vhost's own headers apply: refusals, redirects to HTTPS, metrics.
fn with_server(site: &Site, mut resp: Response) -> Response {
    if let Some(s) = &site.server_header {
        resp.headers_mut().insert(SERVER, s.clone());
    }
    resp
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
