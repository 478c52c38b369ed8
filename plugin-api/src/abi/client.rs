//! Client connections a plugin opens (`lws-client.h`): the connect info
//! and its `ssl_connection` bits.

use std::ffi::{c_char, c_int, c_void};

use super::{Lws, LwsContext, LwsVhost};

c_consts! {
    /// `enum lws_client_connect_ssl_connection_flags`.
    CLIENT_SSL_FLAGS: c_int {
        /// TLS.
        LCCSCF_USE_SSL = 1 << 0,
        /// Accept any server certificate.
        LCCSCF_ALLOW_SELFSIGNED = 1 << 1,
        /// Check the chain, not the name.
        LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK = 1 << 2,
        /// Not honoured (an expired certificate is refused).
        LCCSCF_ALLOW_EXPIRED = 1 << 3,
        /// Accept any server certificate.
        LCCSCF_ALLOW_INSECURE = 1 << 4,
        /// h2 only; ignored.
        LCCSCF_H2_QUIRK_NGHTTP2_END_STREAM = 1 << 5,
        /// h2 only; ignored.
        LCCSCF_H2_QUIRK_OVERFLOWS_TXCR = 1 << 6,
        /// h2 only; ignored.
        LCCSCF_H2_AUTH_BEARER = 1 << 7,
        /// h2 only; ignored.
        LCCSCF_H2_HEXIFY_AUTH_TOKEN = 1 << 8,
        /// h2 only; ignored.
        LCCSCF_H2_MANUAL_RXFLOW = 1 << 9,
        /// Ignored.
        LCCSCF_HTTP_MULTIPART_MIME = 1 << 10,
        /// Ignored.
        LCCSCF_HTTP_X_WWW_FORM_URLENCODED = 1 << 11,
        /// Redirects are never followed.
        LCCSCF_HTTP_NO_FOLLOW_REDIRECT = 1 << 12,
        /// Ignored.
        LCCSCF_PIPELINE = 1 << 16,
        /// Ignored.
        LCCSCF_MUXABLE_STREAM = 1 << 17,
        /// Ignored.
        LCCSCF_H2_PRIOR_KNOWLEDGE = 1 << 18,
        /// Ignored.
        LCCSCF_WAKE_SUSPEND__VALIDITY = 1 << 19,
        /// Ignored.
        LCCSCF_PRIORITIZE_READS = 1 << 20,
        /// Ignored.
        LCCSCF_SECSTREAM_CLIENT = 1 << 21,
        /// Ignored.
        LCCSCF_SECSTREAM_PROXY_LINK = 1 << 22,
        /// Ignored.
        LCCSCF_SECSTREAM_PROXY_ONWARD = 1 << 23,
        /// Ignored.
        LCCSCF_IP_LOW_LATENCY = 1 << 24,
        /// Ignored.
        LCCSCF_IP_HIGH_THROUGHPUT = 1 << 25,
        /// Ignored.
        LCCSCF_IP_HIGH_RELIABILITY = 1 << 26,
        /// Ignored.
        LCCSCF_IP_LOW_COST = 1 << 27,
        /// Ignored.
        LCCSCF_CONMON = 1 << 28,
        /// Ignored.
        LCCSCF_ACCEPT_TLS_DOWNGRADE_REDIRECTS = 1 << 29,
        /// Ignored.
        LCCSCF_CACHE_COOKIES = 1 << 30,
    }
}

/// `struct lws_client_connect_info` (lws v4.3 layout, built without fault
/// injection). Filled by the plugin; the host reads it during
/// `lws_client_connect_via_info` only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LwsClientConnectInfo {
    /// Ignored.
    pub context: *mut LwsContext,
    /// Host name or address to connect to.
    pub address: *const c_char,
    /// Port.
    pub port: c_int,
    /// `LCCSCF_*` bits.
    pub ssl_connection: c_int,
    /// Request target.
    pub path: *const c_char,
    /// `Host:` and the TLS server name.
    pub host: *const c_char,
    /// `Origin:`.
    pub origin: *const c_char,
    /// WebSocket subprotocols asked for.
    pub protocol: *const c_char,
    /// Ignored.
    pub ietf_version_or_minus_one: c_int,
    /// User data to use instead of allocated per-session data.
    pub userdata: *mut c_void,
    /// Ignored.
    pub client_exts: *const c_void,
    /// NULL for a WebSocket, else the HTTP method.
    pub method: *const c_char,
    /// Ignored.
    pub parent_wsi: *mut Lws,
    /// Ignored.
    pub uri_replace_from: *const c_char,
    /// Ignored.
    pub uri_replace_to: *const c_char,
    /// The vhost (NULL: the first).
    pub vhost: *mut LwsVhost,
    /// Where to store the new connection before its first callback.
    pub pwsi: *mut *mut Lws,
    /// Ignored.
    pub iface: *const c_char,
    /// The local protocol that gets the callbacks.
    pub local_protocol_name: *const c_char,
    /// Ignored.
    pub alpn: *const c_char,
    /// Ignored.
    pub seq: *mut c_void,
    /// `lws_get_opaque_user_data`.
    pub opaque_user_data: *mut c_void,
    /// Ignored.
    pub retry_and_idle_policy: *const c_void,
    /// Ignored.
    pub manual_initial_tx_credit: c_int,
    /// Ignored.
    pub sys_tls_client_cert: u8,
    /// Ignored.
    pub priority: u8,
    /// Ignored.
    pub mqtt_cp: *mut c_void,
    /// Ignored.
    pub fi_wsi_name: *const c_char,
    /// Ignored.
    pub keep_warm_secs: u16,
    /// Ignored.
    pub log_cx: *mut c_void,
    /// Room lws keeps for later fields.
    pub _unused: [*mut c_void; 4],
}
