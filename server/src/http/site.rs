//! The running site: the configuration turned into what requests need
//! (parsed headers, file mounts, open access logs). Built once per
//! (re)load; requests read it through an `ArcSwap`, so a reload can swap it
//! while requests already in flight finish on the one they started with.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::StatusCode;

use crate::config::{Config, Location, Mount, Origin, Vhost};
use crate::host::ffi::pvo::PvoList;
use crate::host::site::HostSite;
use crate::http::access_log::AccessLog;
use crate::http::mount::file::FileMount;
use crate::http::response::ExtraHeaders;

/// Why the site could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An access log could not be opened.
    #[error("{at}: vhost \"{vhost}\": cannot open access-log {}", path.display())]
    AccessLog {
        /// The vhost.
        vhost: String,
        /// The log path.
        path: PathBuf,
        /// Where `access-log` was written.
        at: Location,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Everything requests need, for every vhost.
#[derive(Debug)]
pub struct Site {
    /// The plugin side: vhost handles, as plugins see them.
    pub host: Arc<HostSite>,
    /// Vhosts in configuration order (listeners refer to them by index).
    pub vhosts: Vec<VhostSite>,
    /// `Server:` header value, if `server-string` is set.
    pub server_header: Option<HeaderValue>,
    /// `reject-service-keywords`: User-Agent substring -> status.
    pub reject_keywords: Vec<(String, StatusCode)>,
    /// `ws-pingpong-secs`: ping WebSockets idle this long.
    pub ws_ping: Option<Duration>,
    /// `timeout-secs`.
    pub timeout: Duration,
    /// `ip-limit-wsi`: connections one peer IP may hold open (0 = no limit).
    pub ip_limit_wsi: u32,
    /// `metrics-path`.
    pub metrics_path: Option<String>,
    /// `health-path`.
    pub health_path: Option<String>,
}

/// One vhost, ready to serve.
#[derive(Debug)]
pub struct VhostSite {
    /// Its configuration.
    pub cfg: Vhost,
    /// Its mounts, parallel to `cfg.mounts`.
    pub mounts: Vec<MountSite>,
    /// `headers`.
    pub headers: ExtraHeaders,
    /// `access-log`.
    pub access_log: Option<AccessLog>,
    /// Its counters.
    pub stats: crate::runtime::counters::VhostStats,
}

/// One mount, ready to serve.
#[derive(Debug)]
pub struct MountSite {
    /// What it does.
    pub kind: MountKind,
    /// `headers` of the mount.
    pub headers: ExtraHeaders,
    /// `pmo` of the mount, as the C list plugins get in HTTP_PMO.
    pub pmo: PvoList,
}

/// What a mount does with a request.
#[derive(Debug)]
pub enum MountKind {
    /// Static files.
    File(FileMount),
    /// 301 to a URL.
    Redirect {
        /// Target URL.
        target: String,
        /// `append-path`.
        append_path: bool,
    },
    /// Handed to a plugin protocol (served once the plugin host lands).
    Callback(String),
    /// CGI script.
    Cgi(PathBuf),
    /// Reverse proxy.
    Proxy(String),
}

impl Site {
    /// Builds the site around `host` (the same configuration's plugin
    /// side), opening access logs.
    pub fn build(config: &Config, host: Arc<HostSite>) -> Result<Site, BuildError> {
        // Logs belong to the service user (as lws chowns them), so they can
        // be reopened after privileges are dropped.
        let owner = crate::listen::privs::wanted(&config.global)
            .ok()
            .map(|(u, g, _)| (u, g))
            .filter(|&(u, g)| u != 0 || g != 0);
        let mut vhosts = Vec::with_capacity(config.vhosts.len());
        for v in &config.vhosts {
            vhosts.push(VhostSite::build(v, owner)?);
        }
        let server_header = config
            .global
            .server_string
            .as_deref()
            .and_then(|s| HeaderValue::from_str(s).ok());
        let reject_keywords = config
            .global
            .reject_service_keywords
            .iter()
            .filter_map(|(k, v)| {
                let code = v.split_whitespace().next()?.parse::<u16>().ok()?;
                Some((k.clone(), StatusCode::from_u16(code).ok()?))
            })
            .collect();
        Ok(Site {
            host,
            vhosts,
            server_header,
            reject_keywords,
            ws_ping: config
                .global
                .ws_pingpong_secs
                .filter(|&s| s > 0)
                .map(|s| Duration::from_secs(u64::from(s))),
            timeout: Duration::from_secs(u64::from(config.global.timeout_secs.max(1))),
            ip_limit_wsi: config.global.ip_limit_wsi,
            metrics_path: config.global.metrics_path.clone(),
            health_path: config.global.health_path.clone(),
        })
    }
}

impl VhostSite {
    fn build(v: &Vhost, owner: Option<(u32, u32)>) -> Result<VhostSite, BuildError> {
        let access_log =
            match &v.access_log {
                Some(p) => Some(AccessLog::open(&p.value, owner).map_err(|source| {
                    BuildError::AccessLog {
                        vhost: v.name.clone(),
                        path: p.value.clone(),
                        at: p.at.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let what = format!("vhost \"{}\"", v.name);
        Ok(VhostSite {
            mounts: v
                .mounts
                .iter()
                .map(|m| MountSite::build(m, &what))
                .collect(),
            headers: ExtraHeaders::parse(&v.headers, &what),
            access_log,
            stats: Default::default(),
            cfg: v.clone(),
        })
    }
}

impl MountSite {
    fn build(m: &Mount, what: &str) -> MountSite {
        let kind = match &m.origin {
            Origin::File(dir) => MountKind::File(FileMount::new(m, dir)),
            Origin::RedirectHttp(u) | Origin::RedirectHttps(u) => MountKind::Redirect {
                target: u.clone(),
                append_path: m.append_path,
            },
            Origin::Callback(p) => MountKind::Callback(p.clone()),
            Origin::Cgi(s) => MountKind::Cgi(s.clone()),
            Origin::Http(u) | Origin::Https(u) => MountKind::Proxy(u.clone()),
            // Never matched (see `mount::find`); kept so indices line up.
            Origin::Gzip(u) => MountKind::Proxy(u.clone()),
        };
        let pmo: Vec<crate::config::Pvo> = m
            .pmo
            .iter()
            .map(|(k, v)| crate::config::Pvo {
                name: k.clone(),
                value: v.clone(),
                options: Vec::new(),
            })
            .collect();
        MountSite {
            kind,
            headers: ExtraHeaders::parse(&m.headers, &format!("{what} mount {}", m.mountpoint)),
            pmo: PvoList::new(&pmo),
        }
    }
}
