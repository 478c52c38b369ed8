//! The C enums of plain values: write types, close codes, timeouts, log
//! levels, methods, upload states, certificate facts (each with a
//! `(name, value)` table).

use std::ffi::c_int;

c_consts! {
    /// `enum lws_write_protocol`: the last argument of `lws_write`, one kind
    /// optionally or-ed with flags.
    WRITE_PROTOCOLS: c_int {
        /// ws text message, or its first part.
        LWS_WRITE_TEXT = 0,
        /// ws binary message, or its first part.
        LWS_WRITE_BINARY = 1,
        /// Later part of a ws message.
        LWS_WRITE_CONTINUATION = 2,
        /// HTTP body bytes.
        LWS_WRITE_HTTP = 3,
        /// ws PING.
        LWS_WRITE_PING = 5,
        /// ws PONG.
        LWS_WRITE_PONG = 6,
        /// Last HTTP body bytes of the response.
        LWS_WRITE_HTTP_FINAL = 7,
        /// The HTTP response head.
        LWS_WRITE_HTTP_HEADERS = 8,
        /// More of the HTTP response head (h2).
        LWS_WRITE_HTTP_HEADERS_CONTINUATION = 9,
        /// lws main branch; unsupported.
        LWS_WRITE_QUIC_DATAGRAM = 10,
        /// Flag: lws-internal.
        LWS_WRITE_BUFLIST = 0x20,
        /// Flag: more parts of this ws message follow.
        LWS_WRITE_NO_FIN = 0x40,
        /// Flag: end the h2 stream.
        LWS_WRITE_H2_STREAM_END = 0x80,
        /// Flag (client side, same bit as `LWS_WRITE_H2_STREAM_END`).
        LWS_WRITE_CLIENT_IGNORE_XOR_MASK = 0x80,
    }
}

c_consts! {
    /// `enum lws_close_status`: ws close codes for `lws_close_reason`.
    CLOSE_STATUSES: c_int {
        /// Send a close frame without a status.
        LWS_CLOSE_STATUS_NOSTATUS = 0,
        /// Normal closure.
        LWS_CLOSE_STATUS_NORMAL = 1000,
        /// Going away.
        LWS_CLOSE_STATUS_GOINGAWAY = 1001,
        /// Protocol error.
        LWS_CLOSE_STATUS_PROTOCOL_ERR = 1002,
        /// Unacceptable data type.
        LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE = 1003,
        /// Reserved.
        LWS_CLOSE_STATUS_RESERVED = 1004,
        /// No status received (never sent).
        LWS_CLOSE_STATUS_NO_STATUS = 1005,
        /// Abnormal closure (never sent).
        LWS_CLOSE_STATUS_ABNORMAL_CLOSE = 1006,
        /// Invalid payload data.
        LWS_CLOSE_STATUS_INVALID_PAYLOAD = 1007,
        /// Policy violation.
        LWS_CLOSE_STATUS_POLICY_VIOLATION = 1008,
        /// Message too big.
        LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE = 1009,
        /// Extension required (client side).
        LWS_CLOSE_STATUS_EXTENSION_REQUIRED = 1010,
        /// Internal server error.
        LWS_CLOSE_STATUS_UNEXPECTED_CONDITION = 1011,
        /// TLS handshake failure (never sent).
        LWS_CLOSE_STATUS_TLS_FAILURE = 1015,
        /// lws-internal.
        LWS_CLOSE_STATUS_CLIENT_TRANSACTION_DONE = 2000,
        /// lws-internal.
        LWS_CLOSE_STATUS_NOSTATUS_CONTEXT_DESTROY = 9999,
    }
}

c_consts! {
    /// `enum pending_timeout`: the `reason` of `lws_set_timeout`.
    PENDING_TIMEOUTS: c_int {
        /// Cancels the connection's timeout.
        NO_PENDING_TIMEOUT = 0,
        PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE = 1,
        PENDING_TIMEOUT_AWAITING_CONNECT_RESPONSE = 2,
        PENDING_TIMEOUT_ESTABLISH_WITH_SERVER = 3,
        PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE = 4,
        PENDING_TIMEOUT_AWAITING_PING = 5,
        PENDING_TIMEOUT_CLOSE_ACK = 6,
        PENDING_TIMEOUT_UNUSED1 = 7,
        PENDING_TIMEOUT_SENT_CLIENT_HANDSHAKE = 8,
        PENDING_TIMEOUT_SSL_ACCEPT = 9,
        /// Waiting for request body content.
        PENDING_TIMEOUT_HTTP_CONTENT = 10,
        PENDING_TIMEOUT_AWAITING_CLIENT_HS_SEND = 11,
        PENDING_FLUSH_STORED_SEND_BEFORE_CLOSE = 12,
        PENDING_TIMEOUT_SHUTDOWN_FLUSH = 13,
        PENDING_TIMEOUT_CGI = 14,
        PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE = 15,
        PENDING_TIMEOUT_WS_PONG_CHECK_SEND_PING = 16,
        PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG = 17,
        PENDING_TIMEOUT_CLIENT_ISSUE_PAYLOAD = 18,
        PENDING_TIMEOUT_AWAITING_SOCKS_GREETING_REPLY = 19,
        PENDING_TIMEOUT_AWAITING_SOCKS_CONNECT_REPLY = 20,
        PENDING_TIMEOUT_AWAITING_SOCKS_AUTH_REPLY = 21,
        PENDING_TIMEOUT_KILLED_BY_SSL_INFO = 22,
        PENDING_TIMEOUT_KILLED_BY_PARENT = 23,
        PENDING_TIMEOUT_CLOSE_SEND = 24,
        PENDING_TIMEOUT_HOLDING_AH = 25,
        PENDING_TIMEOUT_UDP_IDLE = 26,
        PENDING_TIMEOUT_CLIENT_CONN_IDLE = 27,
        PENDING_TIMEOUT_LAGGING = 28,
        PENDING_TIMEOUT_THREADPOOL = 29,
        PENDING_TIMEOUT_THREADPOOL_TASK = 30,
        PENDING_TIMEOUT_KILLED_BY_PROXY_CLIENT_CLOSE = 31,
        /// A plugin's own timeout.
        PENDING_TIMEOUT_USER_OK = 32,
        /// lws main branch.
        PENDING_TIMEOUT_HTTP_RESPONSE = 33,
        /// Plugins add their own reason numbers to this.
        PENDING_TIMEOUT_USER_REASON_BASE = 1000,
    }
}

c_consts! {
    /// `LLL_*`: log level bits (the `level` of `lwsl_visible` and
    /// `comlink_log_line`).
    LOG_LEVELS: c_int {
        /// Errors.
        LLL_ERR = 1 << 0,
        /// Warnings.
        LLL_WARN = 1 << 1,
        /// Notices.
        LLL_NOTICE = 1 << 2,
        /// Information.
        LLL_INFO = 1 << 3,
        /// Debugging.
        LLL_DEBUG = 1 << 4,
        /// Parser debugging.
        LLL_PARSER = 1 << 5,
        /// Header debugging.
        LLL_HEADER = 1 << 6,
        /// Extension debugging.
        LLL_EXT = 1 << 7,
        /// Client debugging.
        LLL_CLIENT = 1 << 8,
        /// Latency measurements.
        LLL_LATENCY = 1 << 9,
        /// Application messages (`lwsl_user`).
        LLL_USER = 1 << 10,
        /// Thread debugging.
        LLL_THREAD = 1 << 11,
        /// Number of level bits (not a level).
        LLL_COUNT = 12,
        /// Flag: may contain personal data.
        LLLF_SECRECY_PII = 1 << 16,
        /// Flag: may contain bearer secrets.
        LLLF_SECRECY_BEARER = 1 << 17,
        /// Flag: log timestamps.
        LLLF_LOG_TIMESTAMP = 1 << 18,
        /// Flag: context-aware emitter.
        LLLF_LOG_CONTEXT_AWARE = 1 << 30,
    }
}

c_consts! {
    /// Methods returned by `lws_http_get_uri_and_method`.
    HTTP_METHODS: c_int {
        LWSHUMETH_GET = 0,
        LWSHUMETH_POST = 1,
        LWSHUMETH_OPTIONS = 2,
        LWSHUMETH_PUT = 3,
        LWSHUMETH_PATCH = 4,
        LWSHUMETH_DELETE = 5,
        LWSHUMETH_CONNECT = 6,
        LWSHUMETH_HEAD = 7,
        /// HTTP/2 request with only `:path`.
        LWSHUMETH_COLON_PATH = 8,
    }
}

c_consts! {
    /// `enum lws_spa_fileupload_states`: the `state` of a file upload
    /// callback.
    UPLOAD_STATES: c_int {
        /// A piece of the file.
        LWS_UFS_CONTENT = 0,
        /// The last piece of the file.
        LWS_UFS_FINAL_CONTENT = 1,
        /// A file field starts.
        LWS_UFS_OPEN = 2,
        /// The upload was abandoned.
        LWS_UFS_CLOSE = 3,
    }
}

c_consts! {
    /// `enum lws_tls_cert_info`: what `lws_tls_peer_cert_info` is asked
    /// for. The host provides `LWS_TLS_CERT_INFO_VERIFIED` and
    /// `LWS_TLS_CERT_INFO_DER_RAW`; the others answer -1.
    TLS_CERT_INFOS: c_int {
        /// Start of validity (`time`).
        LWS_TLS_CERT_INFO_VALIDITY_FROM = 0,
        /// End of validity (`time`).
        LWS_TLS_CERT_INFO_VALIDITY_TO = 1,
        /// Subject common name (`ns`).
        LWS_TLS_CERT_INFO_COMMON_NAME = 2,
        /// Issuer name (`ns`).
        LWS_TLS_CERT_INFO_ISSUER_NAME = 3,
        /// Key usage bits (`usage`).
        LWS_TLS_CERT_INFO_USAGE = 4,
        /// The peer's certificate was verified (`verified`).
        LWS_TLS_CERT_INFO_VERIFIED = 5,
        /// The public key, opaque (`ns`).
        LWS_TLS_CERT_INFO_OPAQUE_PUBLIC_KEY = 6,
        /// The certificate, DER (`ns`).
        LWS_TLS_CERT_INFO_DER_RAW = 7,
    }
}
