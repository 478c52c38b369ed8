//! The resolved configuration: what the rest of the server reads.
//!
//! Every value here is already converted (lws string-typed numbers and
//! booleans, `_lws_ddir_` substituted, defaults applied). Items that can be
//! wrong at run time keep the [`Location`] they came from, so a later error
//! (a port that cannot be bound, an access log that cannot be opened) can
//! still name `file:line`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a value was written: file, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The config file (as found under the config dir).
    pub file: Arc<Path>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// The whole configuration: `conf` plus every `conf.d` file.
#[derive(Clone, Debug)]
pub struct Config {
    /// Global settings (`"global": {...}` from any file).
    pub global: Global,
    /// Vhosts in creation order: `conf` first, then `conf.d` files sorted,
    /// in file order inside each file.
    pub vhosts: Vec<Vhost>,
    /// Every file that was read, in reading order.
    pub files: Vec<PathBuf>,
}

/// `"global": {...}`.
#[derive(Clone, Debug)]
pub struct Global {
    /// `uid`: 0 means do not change.
    pub uid: u32,
    /// `gid`: 0 means do not change.
    pub gid: u32,
    /// `username`: overrides `uid` once resolved.
    pub username: Option<Setting<String>>,
    /// `groupname`: overrides `gid` once resolved.
    pub groupname: Option<Setting<String>>,
    /// `count-threads` (default 1, at least 1).
    pub count_threads: u32,
    /// `count-async-threads` (accepted, unused).
    pub count_async_threads: u32,
    /// `init-ssl`: without it TLS keys on vhosts are ignored, as in lwsws.
    pub init_ssl: bool,
    /// `server-string`: value of the `Server:` header; none = no header.
    pub server_string: Option<String>,
    /// `plugin-dir` entries, in order (repeatable key).
    pub plugin_dirs: Vec<PathBuf>,
    /// `ws-pingpong-secs`: idle WebSockets get a PING after this many seconds.
    pub ws_pingpong_secs: Option<u32>,
    /// `timeout-secs` (default 15).
    pub timeout_secs: u32,
    /// `reject-service-keywords`: User-Agent substring -> `"<code> <text>"`.
    pub reject_service_keywords: Vec<(String, String)>,
    /// `default-alpn`.
    pub default_alpn: Option<String>,
    /// `ip-limit-ah` (0 = no limit).
    pub ip_limit_ah: u32,
    /// `ip-limit-wsi` (0 = no limit).
    pub ip_limit_wsi: u32,
    /// `rlimit-nofile`.
    pub rlimit_nofile: Option<u64>,
    /// `watch` (Comlink): watch conf.d and plugin dirs for changes (default on).
    pub watch: bool,
    /// `metrics-path` (Comlink): URL path serving Prometheus metrics on every
    /// vhost (off when unset).
    pub metrics_path: Option<String>,
    /// `health-path` (Comlink): URL path answering the health check on every
    /// vhost (off when unset).
    pub health_path: Option<String>,
    /// `stop-delay-secs` (Comlink): on SIGTERM, seconds of serving on with
    /// `health-path` answering 503 before the graceful stop (default 0).
    pub stop_delay_secs: u32,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            uid: 0,
            gid: 0,
            username: None,
            groupname: None,
            count_threads: 1,
            count_async_threads: 0,
            init_ssl: false,
            server_string: None,
            plugin_dirs: Vec::new(),
            ws_pingpong_secs: None,
            timeout_secs: 15,
            reject_service_keywords: Vec::new(),
            default_alpn: None,
            ip_limit_ah: 0,
            ip_limit_wsi: 0,
            rlimit_nofile: None,
            watch: true,
            metrics_path: None,
            health_path: None,
            stop_delay_secs: 0,
        }
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    /// The converted value.
    pub value: T,
    /// Where it was written.
    pub at: Location,
}

/// One `vhosts[]` object.
#[derive(Clone, Debug)]
pub struct Vhost {
    /// `name` (default `"default"`), matched against `Host:` and SNI.
    pub name: String,
    /// `port`; 0 = no listener.
    pub port: u16,
    /// `interface`: a name (`lo`, `eth0`), an address, or a unix socket path.
    pub interface: Option<String>,
    /// `unix-socket`.
    pub unix_socket: bool,
    /// `unix-socket-perms` (`"user:group"`).
    pub unix_socket_perms: Option<String>,
    /// `sts`: add Strict-Transport-Security.
    pub sts: bool,
    /// TLS keys of this vhost.
    pub tls: Tls,
    /// `access-log` path.
    pub access_log: Option<Setting<PathBuf>>,
    /// `mounts`, in file order.
    pub mounts: Vec<Mount>,
    /// `ws-protocols`, in file order: each protocol enabled here and its options.
    pub ws_protocols: Vec<ProtocolOptions>,
    /// `keepalive_timeout` seconds (default 5).
    pub keepalive_timeout: u32,
    /// `headers`: extra response headers, in order.
    pub headers: Vec<(String, String)>,
    /// `error-document-404`: URL path.
    pub error_document_404: Option<String>,
    /// `noipv6`.
    pub noipv6: bool,
    /// `ipv6only`: Some(true) = v6 only, Some(false) = allow v4-mapped.
    pub ipv6only: Option<bool>,
    /// `strict-host-check`.
    pub strict_host_check: bool,
    /// `disable-no-protocol-ws-upgrades`.
    pub disable_no_protocol_ws_upgrades: bool,
    /// `h2-half-closed-long-poll`.
    pub h2_half_closed_long_poll: bool,
    /// `fo-listen-queue`.
    pub fo_listen_queue: u32,
    /// `listen-accept-role`.
    pub listen_accept_role: Option<String>,
    /// `listen-accept-protocol`.
    pub listen_accept_protocol: Option<String>,
    /// `apply-listen-accept` (alias `onlyraw`).
    pub apply_listen_accept: bool,
    /// `fallback-listen-accept`.
    pub fallback_listen_accept: bool,
    /// Where the vhost object starts.
    pub at: Location,
}

/// TLS settings of a vhost (server and client side).
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// `host-ssl-key`.
    pub key: Option<Setting<PathBuf>>,
    /// `host-ssl-cert`.
    pub cert: Option<Setting<PathBuf>>,
    /// `host-ssl-ca`.
    pub ca: Option<Setting<PathBuf>>,
    /// `ciphers`.
    pub ciphers: Option<String>,
    /// `tls13-ciphers`.
    pub tls13_ciphers: Option<String>,
    /// `ecdh-curve`.
    pub ecdh_curve: Option<String>,
    /// `ssl-option-set` (OR of every occurrence).
    pub ssl_option_set: u64,
    /// `ssl-option-clear` (OR of every occurrence).
    pub ssl_option_clear: u64,
    /// `client-cert-required`.
    pub client_cert_required: bool,
    /// `ignore-missing-cert`.
    pub ignore_missing_cert: bool,
    /// `alpn`.
    pub alpn: Option<String>,
    /// `allow-non-tls`.
    pub allow_non_tls: bool,
    /// `redirect-http`.
    pub redirect_http: bool,
    /// `allow-http-on-https`.
    pub allow_http_on_https: bool,
    /// `enable-client-ssl`.
    pub enable_client_ssl: bool,
    /// `client-ssl-key`.
    pub client_key: Option<PathBuf>,
    /// `client-ssl-cert`.
    pub client_cert: Option<PathBuf>,
    /// `client-ssl-ca`.
    pub client_ca: Option<PathBuf>,
    /// `client-ssl-ciphers`.
    pub client_ciphers: Option<String>,
    /// `client-tls13-ciphers`.
    pub client_tls13_ciphers: Option<String>,
    /// `client-ecdh-curve`.
    pub client_ecdh_curve: Option<String>,
    /// `ssl-client-option-set`.
    pub ssl_client_option_set: u64,
    /// `ssl-client-option-clear`.
    pub ssl_client_option_clear: u64,
}

/// One `ws-protocols` entry: a protocol enabled on the vhost, with its
/// per-vhost options (pvo), in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolOptions {
    /// The protocol name (the key of the entry).
    pub name: String,
    /// `"k": "v"` pairs, values as text (numbers and booleans as written).
    /// Nested objects become a `Pvo` with `options`.
    pub options: Vec<Pvo>,
    /// Where the entry was written.
    pub at: Location,
}

/// A per-vhost option: name, text value, optional nested options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pvo {
    /// Option name.
    pub name: String,
    /// Option value as text (`true` -> "1", `false` -> "0", numbers as written).
    pub value: String,
    /// Nested options when the value was an object (value is then empty).
    pub options: Vec<Pvo>,
}

/// Where a mount sends requests, from the prefix of its `origin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `http://...`: reverse proxy.
    Http(String),
    /// `https://...`: reverse proxy over TLS.
    Https(String),
    /// `file://DIR`: static files under DIR.
    File(PathBuf),
    /// `cgi://SCRIPT`: run SCRIPT per request.
    Cgi(PathBuf),
    /// `>http://...`: 301 redirect; holds the full target URL (`http://...`).
    RedirectHttp(String),
    /// `>https://...`: 301 redirect; holds the full target URL (`https://...`).
    RedirectHttps(String),
    /// `callback://PROTOCOL`: handed to a plugin protocol.
    Callback(String),
    /// `gzip://...`: historic; behaves as no mount.
    Gzip(String),
}

/// One `mounts[]` entry.
#[derive(Clone, Debug)]
pub struct Mount {
    /// `mountpoint`, e.g. `/` or `/formtest`.
    pub mountpoint: String,
    /// `origin`, by kind.
    pub origin: Origin,
    /// `default` (for file and cgi mounts; lws default `index.html`).
    pub default: Option<String>,
    /// `cache-max-age` seconds.
    pub cache_max_age: u32,
    /// `cache-reuse`.
    pub cache_reuse: bool,
    /// `cache-revalidate`.
    pub cache_revalidate: bool,
    /// `cache-intermediaries`.
    pub cache_intermediaries: bool,
    /// `cache-no`.
    pub cache_no: bool,
    /// `extra-mimetypes`: `.ext` (or `*`) -> type, in file order.
    pub extra_mimetypes: Vec<(String, String)>,
    /// `interpret`: `.suffix` -> protocol.
    pub interpret: Vec<(String, String)>,
    /// `cgi-env`: extra CGI variables.
    pub cgi_env: Vec<(String, String)>,
    /// `cgi-timeout` seconds (default 5).
    pub cgi_timeout: u32,
    /// `cgi-chroot`.
    pub cgi_chroot: Option<PathBuf>,
    /// `cgi-chdir`.
    pub cgi_chdir: Option<PathBuf>,
    /// `pmo`: per-mount options for callback mounts.
    pub pmo: Vec<(String, String)>,
    /// `basic-auth`: credentials file.
    pub basic_auth: Option<PathBuf>,
    /// `auth-mask`.
    pub auth_mask: u32,
    /// `headers`: extra response headers of this mount.
    pub headers: Vec<(String, String)>,
    /// `keepalive-timeout` (0 = the vhost's).
    pub keepalive_timeout: u32,
    /// `exact-match`.
    pub exact_match: bool,
    /// `append-path` (redirect mounts).
    pub append_path: bool,
    /// `no-ws-upgrades`.
    pub no_ws_upgrades: bool,
    /// `interceptor-path`.
    pub interceptor_path: Option<String>,
    /// `protocol` (parsed, ignored, as in lws).
    pub protocol: Option<String>,
    /// Where the mount object starts.
    pub at: Location,
}
