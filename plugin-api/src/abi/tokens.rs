//! `enum lws_token_indexes`: the `WSI_TOKEN_*` constants, [`TOKENS`] and
//! [`token_header`], from one table.

use std::ffi::c_int;

/// What a `WSI_TOKEN_*` index reads from the request (and, for
/// `lws_add_http_header_by_token`, which header it writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A header, by its lower-case name without the colon (`"host"`).
    Header(&'static str),
    /// The request path, present only when the request method is this one
    /// (`"GET"` for `WSI_TOKEN_GET_URI`).
    MethodUri(&'static str),
    /// The query string: one fragment per `&`-separated argument, each
    /// `name=value`.
    UriArgs,
    /// Another pseudo token: an HTTP/2 pseudo-header (`":path"`) or an
    /// HTTP version mark (`"http/1.0"`); not a header of an HTTP/1 request.
    Pseudo(&'static str),
}

/// Declares the `WSI_TOKEN_*` constants, [`TOKENS`] and [`token_header`].
macro_rules! tokens {
    ($($c_name:ident = $val:literal => $kind:expr,)*) => {
        $(
            #[doc = concat!("`", stringify!($c_name), "` = ", stringify!($val),
                            ": ", stringify!($kind), ".")]
            pub const $c_name: c_int = $val;
        )*

        /// `enum lws_token_indexes` as `(C name, value)`, in order. Our
        /// header always has every optional lws token, so these numbers are
        /// ours (in lws they depend on the build); plugins compile against
        /// our header, so they agree with the host.
        pub const TOKENS: &[(&str, c_int)] = &[$((stringify!($c_name), $c_name),)*];

        /// What token index `idx` stands for; `None` for lws-internal slots,
        /// parser states and out-of-range values.
        pub const fn token_header(idx: c_int) -> Option<TokenKind> {
            match idx {
                $($val => $kind,)*
                _ => None,
            }
        }
    };
}

tokens! {
    WSI_TOKEN_GET_URI = 0 => Some(TokenKind::MethodUri("GET")),
    WSI_TOKEN_POST_URI = 1 => Some(TokenKind::MethodUri("POST")),
    WSI_TOKEN_OPTIONS_URI = 2 => Some(TokenKind::MethodUri("OPTIONS")),
    WSI_TOKEN_HOST = 3 => Some(TokenKind::Header("host")),
    WSI_TOKEN_CONNECTION = 4 => Some(TokenKind::Header("connection")),
    WSI_TOKEN_UPGRADE = 5 => Some(TokenKind::Header("upgrade")),
    WSI_TOKEN_ORIGIN = 6 => Some(TokenKind::Header("origin")),
    WSI_TOKEN_DRAFT = 7 => Some(TokenKind::Header("sec-websocket-draft")),
    WSI_TOKEN_CHALLENGE = 8 => None,
    WSI_TOKEN_EXTENSIONS = 9 => Some(TokenKind::Header("sec-websocket-extensions")),
    WSI_TOKEN_KEY1 = 10 => Some(TokenKind::Header("sec-websocket-key1")),
    WSI_TOKEN_KEY2 = 11 => Some(TokenKind::Header("sec-websocket-key2")),
    WSI_TOKEN_PROTOCOL = 12 => Some(TokenKind::Header("sec-websocket-protocol")),
    WSI_TOKEN_ACCEPT = 13 => Some(TokenKind::Header("sec-websocket-accept")),
    WSI_TOKEN_NONCE = 14 => Some(TokenKind::Header("sec-websocket-nonce")),
    WSI_TOKEN_HTTP = 15 => Some(TokenKind::Pseudo("http/1.1")),
    WSI_TOKEN_HTTP2_SETTINGS = 16 => Some(TokenKind::Header("http2-settings")),
    WSI_TOKEN_HTTP_ACCEPT = 17 => Some(TokenKind::Header("accept")),
    WSI_TOKEN_HTTP_AC_REQUEST_HEADERS = 18 => Some(TokenKind::Header("access-control-request-headers")),
    WSI_TOKEN_HTTP_IF_MODIFIED_SINCE = 19 => Some(TokenKind::Header("if-modified-since")),
    WSI_TOKEN_HTTP_IF_NONE_MATCH = 20 => Some(TokenKind::Header("if-none-match")),
    WSI_TOKEN_HTTP_ACCEPT_ENCODING = 21 => Some(TokenKind::Header("accept-encoding")),
    WSI_TOKEN_HTTP_ACCEPT_LANGUAGE = 22 => Some(TokenKind::Header("accept-language")),
    WSI_TOKEN_HTTP_PRAGMA = 23 => Some(TokenKind::Header("pragma")),
    WSI_TOKEN_HTTP_CACHE_CONTROL = 24 => Some(TokenKind::Header("cache-control")),
    WSI_TOKEN_HTTP_AUTHORIZATION = 25 => Some(TokenKind::Header("authorization")),
    WSI_TOKEN_HTTP_COOKIE = 26 => Some(TokenKind::Header("cookie")),
    WSI_TOKEN_HTTP_CONTENT_LENGTH = 27 => Some(TokenKind::Header("content-length")),
    WSI_TOKEN_HTTP_CONTENT_TYPE = 28 => Some(TokenKind::Header("content-type")),
    WSI_TOKEN_HTTP_DATE = 29 => Some(TokenKind::Header("date")),
    WSI_TOKEN_HTTP_RANGE = 30 => Some(TokenKind::Header("range")),
    WSI_TOKEN_HTTP_REFERER = 31 => Some(TokenKind::Header("referer")),
    WSI_TOKEN_KEY = 32 => Some(TokenKind::Header("sec-websocket-key")),
    WSI_TOKEN_VERSION = 33 => Some(TokenKind::Header("sec-websocket-version")),
    WSI_TOKEN_SWORIGIN = 34 => Some(TokenKind::Header("sec-websocket-origin")),
    WSI_TOKEN_HTTP_COLON_AUTHORITY = 35 => Some(TokenKind::Pseudo(":authority")),
    WSI_TOKEN_HTTP_COLON_METHOD = 36 => Some(TokenKind::Pseudo(":method")),
    WSI_TOKEN_HTTP_COLON_PATH = 37 => Some(TokenKind::Pseudo(":path")),
    WSI_TOKEN_HTTP_COLON_SCHEME = 38 => Some(TokenKind::Pseudo(":scheme")),
    WSI_TOKEN_HTTP_COLON_STATUS = 39 => Some(TokenKind::Pseudo(":status")),
    WSI_TOKEN_HTTP_ACCEPT_CHARSET = 40 => Some(TokenKind::Header("accept-charset")),
    WSI_TOKEN_HTTP_ACCEPT_RANGES = 41 => Some(TokenKind::Header("accept-ranges")),
    WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN = 42 => Some(TokenKind::Header("access-control-allow-origin")),
    WSI_TOKEN_HTTP_AGE = 43 => Some(TokenKind::Header("age")),
    WSI_TOKEN_HTTP_ALLOW = 44 => Some(TokenKind::Header("allow")),
    WSI_TOKEN_HTTP_CONTENT_DISPOSITION = 45 => Some(TokenKind::Header("content-disposition")),
    WSI_TOKEN_HTTP_CONTENT_ENCODING = 46 => Some(TokenKind::Header("content-encoding")),
    WSI_TOKEN_HTTP_CONTENT_LANGUAGE = 47 => Some(TokenKind::Header("content-language")),
    WSI_TOKEN_HTTP_CONTENT_LOCATION = 48 => Some(TokenKind::Header("content-location")),
    WSI_TOKEN_HTTP_CONTENT_RANGE = 49 => Some(TokenKind::Header("content-range")),
    WSI_TOKEN_HTTP_ETAG = 50 => Some(TokenKind::Header("etag")),
    WSI_TOKEN_HTTP_EXPECT = 51 => Some(TokenKind::Header("expect")),
    WSI_TOKEN_HTTP_EXPIRES = 52 => Some(TokenKind::Header("expires")),
    WSI_TOKEN_HTTP_FROM = 53 => Some(TokenKind::Header("from")),
    WSI_TOKEN_HTTP_IF_MATCH = 54 => Some(TokenKind::Header("if-match")),
    WSI_TOKEN_HTTP_IF_RANGE = 55 => Some(TokenKind::Header("if-range")),
    WSI_TOKEN_HTTP_IF_UNMODIFIED_SINCE = 56 => Some(TokenKind::Header("if-unmodified-since")),
    WSI_TOKEN_HTTP_LAST_MODIFIED = 57 => Some(TokenKind::Header("last-modified")),
    WSI_TOKEN_HTTP_LINK = 58 => Some(TokenKind::Header("link")),
    WSI_TOKEN_HTTP_LOCATION = 59 => Some(TokenKind::Header("location")),
    WSI_TOKEN_HTTP_MAX_FORWARDS = 60 => Some(TokenKind::Header("max-forwards")),
    WSI_TOKEN_HTTP_PROXY_AUTHENTICATE = 61 => Some(TokenKind::Header("proxy-authenticate")),
    WSI_TOKEN_HTTP_PROXY_AUTHORIZATION = 62 => Some(TokenKind::Header("proxy-authorization")),
    WSI_TOKEN_HTTP_REFRESH = 63 => Some(TokenKind::Header("refresh")),
    WSI_TOKEN_HTTP_RETRY_AFTER = 64 => Some(TokenKind::Header("retry-after")),
    WSI_TOKEN_HTTP_SERVER = 65 => Some(TokenKind::Header("server")),
    WSI_TOKEN_HTTP_SET_COOKIE = 66 => Some(TokenKind::Header("set-cookie")),
    WSI_TOKEN_HTTP_STRICT_TRANSPORT_SECURITY = 67 => Some(TokenKind::Header("strict-transport-security")),
    WSI_TOKEN_HTTP_TRANSFER_ENCODING = 68 => Some(TokenKind::Header("transfer-encoding")),
    WSI_TOKEN_HTTP_USER_AGENT = 69 => Some(TokenKind::Header("user-agent")),
    WSI_TOKEN_HTTP_VARY = 70 => Some(TokenKind::Header("vary")),
    WSI_TOKEN_HTTP_VIA = 71 => Some(TokenKind::Header("via")),
    WSI_TOKEN_HTTP_WWW_AUTHENTICATE = 72 => Some(TokenKind::Header("www-authenticate")),
    WSI_TOKEN_PATCH_URI = 73 => Some(TokenKind::MethodUri("PATCH")),
    WSI_TOKEN_PUT_URI = 74 => Some(TokenKind::MethodUri("PUT")),
    WSI_TOKEN_DELETE_URI = 75 => Some(TokenKind::MethodUri("DELETE")),
    WSI_TOKEN_HTTP_URI_ARGS = 76 => Some(TokenKind::UriArgs),
    WSI_TOKEN_PROXY = 77 => None,
    WSI_TOKEN_HTTP_X_REAL_IP = 78 => Some(TokenKind::Header("x-real-ip")),
    WSI_TOKEN_HTTP1_0 = 79 => Some(TokenKind::Pseudo("http/1.0")),
    WSI_TOKEN_X_FORWARDED_FOR = 80 => Some(TokenKind::Header("x-forwarded-for")),
    WSI_TOKEN_CONNECT = 81 => Some(TokenKind::MethodUri("CONNECT")),
    WSI_TOKEN_HEAD_URI = 82 => Some(TokenKind::MethodUri("HEAD")),
    WSI_TOKEN_TE = 83 => Some(TokenKind::Header("te")),
    WSI_TOKEN_REPLAY_NONCE = 84 => Some(TokenKind::Header("replay-nonce")),
    WSI_TOKEN_COLON_PROTOCOL = 85 => Some(TokenKind::Pseudo(":protocol")),
    WSI_TOKEN_X_AUTH_TOKEN = 86 => Some(TokenKind::Header("x-auth-token")),
    WSI_TOKEN_DSS_SIGNATURE = 87 => Some(TokenKind::Header("x-amzn-dss-signature")),
    _WSI_TOKEN_CLIENT_SENT_PROTOCOLS = 88 => None,
    _WSI_TOKEN_CLIENT_PEER_ADDRESS = 89 => None,
    _WSI_TOKEN_CLIENT_URI = 90 => None,
    _WSI_TOKEN_CLIENT_HOST = 91 => None,
    _WSI_TOKEN_CLIENT_ORIGIN = 92 => None,
    _WSI_TOKEN_CLIENT_METHOD = 93 => None,
    _WSI_TOKEN_CLIENT_IFACE = 94 => None,
    _WSI_TOKEN_CLIENT_LOCALPORT = 95 => None,
    _WSI_TOKEN_CLIENT_ALPN = 96 => None,
    WSI_TOKEN_COUNT = 97 => None,
    WSI_TOKEN_NAME_PART = 98 => None,
    WSI_TOKEN_UNKNOWN_VALUE_PART = 99 => None,
    WSI_TOKEN_SKIPPING = 100 => None,
    WSI_TOKEN_SKIPPING_SAW_CR = 101 => None,
    WSI_PARSING_COMPLETE = 102 => None,
    WSI_INIT_TOKEN_MUXURL = 103 => None,
}
