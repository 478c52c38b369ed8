//! The C plugin boundary in Rust: data only.
//!
//! Every item here mirrors something in `include/libwebsockets.h`, with the
//! same layout or value; `tests/header.rs` proves it by compiling the header.
//! lws names (`LWS_CALLBACK_*`, `WSI_TOKEN_*`, `pss`, `pvo`) stay at this
//! boundary; Rust code uses [`Reason`] and [`TokenKind`], translated here in
//! one table each.
//!
//! Pointers in these structs belong to whoever made the struct: plugin
//! tables ([`LwsProtocols`], [`LwsPluginProtocol`]) live in the plugin's
//! image and stay valid while it is loaded; [`LwsProtocolVhostOptions`] lists
//! and [`LwsProcessHtmlArgs`] are made by the host for the length of a call.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::marker::{PhantomData, PhantomPinned};

macro_rules! opaque {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque! {
    /// `struct lws`: one connection or HTTP transaction ("wsi"). The host
    /// decides what is behind the pointer; plugins only pass it back.
    Lws;
    /// `struct lws_context`: the server.
    LwsContext;
    /// `struct lws_vhost`: one virtual host.
    LwsVhost;
    /// `struct lws_ring`: a ring buffer made by `lws_ring_create()`.
    LwsRing;
    /// `struct lws_extension`: never provided; always NULL / 0 in tables.
    LwsExtension;
    /// `struct lws_spa`: a POST body parser made by `lws_spa_create()`.
    LwsSpa;
}

/// `lws_usec_t`: microseconds.
pub type LwsUsec = i64;

/// `lws_callback_function`: a protocol's callback. Arguments: the
/// connection, the reason (see [`Reason`]), the per-session data, and the
/// reason-specific `in` / `len`. Nonzero return closes the connection
/// (exceptions per reason).
pub type LwsCallbackFn =
    unsafe extern "C" fn(*mut Lws, c_int, *mut c_void, *mut c_void, usize) -> c_int;

/// Old plugin shape: `int init_protocol_<name>(struct lws_context *,
/// struct lws_plugin_capability *)`.
pub type LwsPluginInitFn = unsafe extern "C" fn(*mut LwsContext, *mut LwsPluginCapability) -> c_int;

/// Old plugin shape: `int destroy_protocol_<name>(struct lws_context *)`.
pub type LwsPluginDestroyFn = unsafe extern "C" fn(*mut LwsContext) -> c_int;

/// `sul_cb_t`: callback of a scheduled [`LwsSortedUsecList`].
pub type SulCb = unsafe extern "C" fn(*mut LwsSortedUsecList);

/// The `destroy_element` argument of `lws_ring_create()`.
pub type RingDestroyElementFn = unsafe extern "C" fn(*mut c_void);

/// `lws_spa_fileupload_cb`: `(data, field name, file name, buf, len, state)`
/// with `state` one of the `LWS_UFS_*` values; nonzero aborts the upload.
pub type LwsSpaFileUploadCb = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    *const c_char,
    *mut c_char,
    c_int,
    c_int,
) -> c_int;

/// `struct lws_protocols`: one protocol of a plugin. Append-only layout;
/// old plugins leave the tail zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsProtocols {
    /// Subprotocol / `callback://` / `ws-protocols` name (NUL-terminated).
    pub name: *const c_char,
    /// The callback; NULL only in a terminating entry.
    pub callback: Option<LwsCallbackFn>,
    /// Bytes of zeroed per-session data ("pss", the `user` argument).
    pub per_session_data_size: usize,
    /// Largest ws receive piece handed to one RECEIVE callback.
    pub rx_buffer_size: usize,
    /// The plugin's own; the host ignores it.
    pub id: c_uint,
    /// The plugin's own; the host ignores it.
    pub user: *mut c_void,
    /// Send chunk size; 0 means use `rx_buffer_size`.
    pub tx_packet_size: usize,
}

/// `struct lws_plugin_capability`: filled by an old-shape plugin's `init_`
/// function. The host sets `api_magic` first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsPluginCapability {
    /// Set by the host to [`LWS_PLUGIN_API_MAGIC`].
    pub api_magic: c_uint,
    /// The plugin's protocol table.
    pub protocols: *const LwsProtocols,
    /// Entries in `protocols`.
    pub count_protocols: c_int,
    /// Extensions offered: ignored (must be NULL).
    pub extensions: *const LwsExtension,
    /// Must be 0.
    pub count_extensions: c_int,
}

/// `lws_plugin_header_t` as in lws v4.1 - v4.5 (magic 190 / 191) and in
/// our header (magic 180).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsPluginHeader {
    /// Human name, for logs and duplicate detection.
    pub name: *const c_char,
    /// `_class` in C: must be `"lws_protocol_plugin"`.
    pub class: *const c_char,
    /// Build hash of the headers the plugin was compiled with.
    pub lws_build_hash: *const c_char,
    /// One of [`ACCEPTED_STRUCT_MAGICS`].
    pub api_magic: c_uint,
}

/// `lws_plugin_header_t` of lws's main branch (magic 192): adds `priority`,
/// which falls in [`LwsPluginHeader`]'s tail padding, so both have the same
/// size and the same offsets for the shared fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsPluginHeader192 {
    /// As [`LwsPluginHeader::name`].
    pub name: *const c_char,
    /// As [`LwsPluginHeader::class`].
    pub class: *const c_char,
    /// As [`LwsPluginHeader::lws_build_hash`].
    pub lws_build_hash: *const c_char,
    /// [`MAGIC_WITH_PRIORITY`].
    pub api_magic: c_uint,
    /// Higher initialises first.
    pub priority: c_uint,
}

/// `lws_plugin_protocol_t`: the data symbol a new-shape plugin exports.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsPluginProtocol {
    /// Common plugin header.
    pub hdr: LwsPluginHeader,
    /// The protocol table.
    pub protocols: *const LwsProtocols,
    /// Must be NULL.
    pub extensions: *const LwsExtension,
    /// Entries in `protocols`.
    pub count_protocols: c_int,
    /// Must be 0.
    pub count_extensions: c_int,
}

/// `lws_plugin_protocol_t` with the magic-192 header.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsPluginProtocol192 {
    /// Common plugin header, with priority.
    pub hdr: LwsPluginHeader192,
    /// The protocol table.
    pub protocols: *const LwsProtocols,
    /// Must be NULL.
    pub extensions: *const LwsExtension,
    /// Entries in `protocols`.
    pub count_protocols: c_int,
    /// Must be 0.
    pub count_extensions: c_int,
}

/// `struct lws_protocol_vhost_options` ("pvo"): one `"key": "value"` of a
/// vhost's `ws-protocols` entry, in a singly linked list the host builds and
/// passes as `in` of `LWS_CALLBACK_PROTOCOL_INIT`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsProtocolVhostOptions {
    /// Next option, or NULL.
    pub next: *const LwsProtocolVhostOptions,
    /// Nested options (child list), or NULL.
    pub options: *const LwsProtocolVhostOptions,
    /// Key (NUL-terminated).
    pub name: *const c_char,
    /// Value, always a string (NUL-terminated).
    pub value: *const c_char,
}

/// `struct lws_dll2`: an embeddable list node.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsDll2 {
    /// Previous node.
    pub prev: *mut LwsDll2,
    /// Next node.
    pub next: *mut LwsDll2,
    /// The list holding this node; NULL when detached.
    pub owner: *mut LwsDll2Owner,
}

/// `struct lws_dll2_owner`: a list head with a count.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsDll2Owner {
    /// Last node.
    pub tail: *mut LwsDll2,
    /// First node.
    pub head: *mut LwsDll2,
    /// Number of nodes.
    pub count: u32,
}

/// `lws_sorted_usec_list_t` ("sul"): a timer a plugin embeds by value and
/// passes to `lws_sul_schedule()` / `lws_sul_cancel()`.
///
/// The host keys the timer on the struct's address and writes these fields:
/// `list.owner` non-NULL exactly while the timer is pending (so a plugin's
/// `lws_dll2_is_detached(&sul->list)` means "not scheduled"), `us` the due
/// time on the `lws_now_usecs()` clock, `cb` the callback. `list.prev`,
/// `list.next` and `latency_us` are unused by the host.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsSortedUsecList {
    /// Pending marker (`owner`), see above.
    pub list: LwsDll2,
    /// Due time, microseconds on the `lws_now_usecs()` clock.
    pub us: LwsUsec,
    /// Callback to run when due.
    pub cb: Option<SulCb>,
    /// Allowed lateness; ignored.
    pub latency_us: u32,
}

/// `struct lws_process_html_args`: `in` of `LWS_CALLBACK_CHECK_ACCESS_RIGHTS`,
/// `_PROCESS_HTML` and `_ADD_HEADERS`, made by the host.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsProcessHtmlArgs {
    /// The data (for CHECK_ACCESS_RIGHTS: the URI).
    pub p: *mut c_char,
    /// Length of the data at `p`.
    pub len: c_int,
    /// Room at `p` (for CHECK_ACCESS_RIGHTS: the mount's auth mask).
    pub max_len: c_int,
    /// `final` in C: last chunk / "the plugin handled it".
    pub final_: c_int,
    /// Produce chunked encoding.
    pub chunked: c_int,
}

/// `lws_spa_create_info_t`: argument of `lws_spa_create_via_info()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsSpaCreateInfo {
    /// Field names.
    pub param_names: *const *const c_char,
    /// Number of field names.
    pub count_params: c_int,
    /// Bytes for all field values together.
    pub max_storage: c_int,
    /// File upload sink, or NULL.
    pub opt_cb: Option<LwsSpaFileUploadCb>,
    /// First argument of `opt_cb`.
    pub opt_data: *mut c_void,
    /// 0: `param_names` is an array of `char *`; else the byte stride.
    pub param_names_stride: usize,
    /// `struct lwsac **`: unsupported, must be NULL.
    pub ac: *mut *mut c_void,
    /// Unused.
    pub ac_chunk_size: usize,
}

/// Bytes a plugin leaves writable in front of what it passes to `lws_write`.
pub const LWS_PRE: usize = 16;

/// The plugin API magic of our header, and what the host passes to old-shape
/// `init_` functions (what lws v2 - v4.0 plugins expect).
pub const LWS_PLUGIN_API_MAGIC: c_uint = 180;

/// Magics accepted in an exported `lws_plugin_protocol_t`: ours / lws v4.0
/// (180), lws v4.1 (190), v4.2 - v4.5 (191), lws main branch (192).
pub const ACCEPTED_STRUCT_MAGICS: [c_uint; 4] = [180, 190, 191, 192];

/// From this magic on, the plugin header has a `priority` field
/// ([`LwsPluginHeader192`]).
pub const MAGIC_WITH_PRIORITY: c_uint = 192;

/// `LWS_BUILD_HASH` of our header (a plugin may be built with another).
pub const LWS_BUILD_HASH: &CStr = c"comlink";

/// The only plugin class the host loads (`hdr._class`).
pub const LWS_PLUGIN_CLASS_PROTOCOL: &CStr = c"lws_protocol_plugin";

/// Longest log line (with its NUL) the header hands to `comlink_log_line`.
pub const COMLINK_LOG_LINE_MAX: usize = 1024;

/// `LWS_MAX_SMP` as the header states it: most service threads a plugin
/// should expect.
pub const LWS_MAX_SMP: c_int = 16;

/// Room a plugin typically reserves for a response head.
pub const LWS_RECOMMENDED_MIN_HEADER_SPACE: usize = 2048;

/// `lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL)` cancels the timer;
/// also cancels in `lws_sul_schedule()`.
pub const LWS_SET_TIMER_USEC_CANCEL: LwsUsec = -1;

/// Microseconds per second.
pub const LWS_US_PER_SEC: LwsUsec = 1_000_000;

/// Microseconds per second (the other lws spelling).
pub const LWS_USEC_PER_SEC: LwsUsec = 1_000_000;

/// `lws_set_timeout()` seconds value: close from the event loop.
pub const LWS_TO_KILL_ASYNC: c_int = -1;

/// `lws_set_timeout()` seconds value: close at once.
pub const LWS_TO_KILL_SYNC: c_int = -2;

/// `lws_add_http_header_status()`: bits of `code` that are the status.
pub const LWSAHH_CODE_MASK: c_uint = (1 << 16) - 1;

/// `lws_add_http_header_status()` flag: no `server:` header.
pub const LWSAHH_FLAG_NO_SERVER_NAME: c_uint = 1 << 30;

/// `content_len` of `lws_add_http_common_headers()` meaning "unknown".
pub const LWS_ILLEGAL_HTTP_CONTENT_LEN: u64 = u64::MAX;

/// Declares C-named constants plus a `(name, value)` table of them.
macro_rules! c_consts {
    ($(#[$tmeta:meta])* $table:ident: $ty:ty {
        $($(#[$meta:meta])* $name:ident = $val:expr,)*
    }) => {
        $(
            #[doc = concat!("`", stringify!($name), "` = ", stringify!($val), ".")]
            $(#[$meta])*
            pub const $name: $ty = $val;
        )*
        $(#[$tmeta])*
        pub const $table: &[(&str, $ty)] = &[$((stringify!($name), $name),)*];
    };
}

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

/// Declares the `LWS_CALLBACK_*` constants and [`Reason`] from one table.
macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $c_name:ident => $variant:ident = $val:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($c_name), "` = ", stringify!($val),
                            ": see [`Reason::", stringify!($variant), "`].")]
            pub const $c_name: c_int = $val;
        )*

        /// A callback reason (`enum lws_callback_reasons`) under a Rust name.
        /// The discriminant is the C value.
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $variant = $val,)*
        }

        impl Reason {
            /// Every reason, in increasing C value.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The reason for a C value; `None` for values lws does not
            /// define (such as a plugin's own `LWS_CALLBACK_USER + n`).
            pub const fn from_raw(raw: c_int) -> Option<Reason> {
                match raw {
                    $($val => Some(Reason::$variant),)*
                    _ => None,
                }
            }

            /// The C value.
            pub const fn as_raw(self) -> c_int {
                self as c_int
            }

            /// The C name, e.g. `"LWS_CALLBACK_SERVER_WRITEABLE"`.
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(Reason::$variant => stringify!($c_name),)*
                }
            }
        }
    };
}

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

reasons! {
    /// WebSocket handshake done; `len` bit 0 set means ws over HTTP/2.
    LWS_CALLBACK_ESTABLISHED => Established = 0,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_CONNECTION_ERROR => ClientConnectionError = 1,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH => ClientFilterPreEstablish = 2,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_ESTABLISHED => ClientEstablished = 3,
    /// WebSocket connection gone; the pss is still valid during the call.
    LWS_CALLBACK_CLOSED => Closed = 4,
    /// HTTP connection closed while bound to this protocol.
    LWS_CALLBACK_CLOSED_HTTP => ClosedHttp = 5,
    /// `in`/`len`: a piece of a received ws message.
    LWS_CALLBACK_RECEIVE => Receive = 6,
    /// `in`/`len`: payload of a received PONG.
    LWS_CALLBACK_RECEIVE_PONG => ReceivePong = 7,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_RECEIVE => ClientReceive = 8,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_RECEIVE_PONG => ClientReceivePong = 9,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_WRITEABLE => ClientWriteable = 10,
    /// The ws connection may send (one `lws_write`).
    LWS_CALLBACK_SERVER_WRITEABLE => ServerWriteable = 11,
    /// Request head parsed; `in`/`len`: the path after the mount point.
    LWS_CALLBACK_HTTP => Http = 12,
    /// `in`/`len`: a piece of the request body.
    LWS_CALLBACK_HTTP_BODY => HttpBody = 13,
    /// The whole request body has arrived.
    LWS_CALLBACK_HTTP_BODY_COMPLETION => HttpBodyCompletion = 14,
    /// `lws_serve_http_file` finished.
    LWS_CALLBACK_HTTP_FILE_COMPLETION => HttpFileCompletion = 15,
    /// The HTTP transaction may send (one `lws_write`).
    LWS_CALLBACK_HTTP_WRITEABLE => HttpWriteable = 16,
    /// New TCP connection (`protocols[0]` only); `in`: the fd.
    LWS_CALLBACK_FILTER_NETWORK_CONNECTION => FilterNetworkConnection = 17,
    /// Before dispatching a request; `in`: the URI; nonzero refuses.
    LWS_CALLBACK_FILTER_HTTP_CONNECTION => FilterHttpConnection = 18,
    /// A connection object exists (`protocols[0]` only).
    LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED => ServerNewClientInstantiated = 19,
    /// ws protocol chosen, before the 101; nonzero refuses.
    LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION => FilterProtocolConnection = 20,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS => OpensslLoadExtraClientVerifyCerts = 21,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS => OpensslLoadExtraServerVerifyCerts = 22,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION => OpensslPerformClientCertVerification = 23,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER => ClientAppendHandshakeHeader = 24,
    /// `in`: an offered ws extension name; nonzero refuses it.
    LWS_CALLBACK_CONFIRM_EXTENSION_OKAY => ConfirmExtensionOkay = 25,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED => ClientConfirmExtensionSupported = 26,
    /// Once per vhost and protocol at start; `in`: the pvo list (may be NULL).
    LWS_CALLBACK_PROTOCOL_INIT => ProtocolInit = 27,
    /// Once per vhost and protocol at shutdown (if init succeeded).
    LWS_CALLBACK_PROTOCOL_DESTROY => ProtocolDestroy = 28,
    /// Earliest event of a connection (`protocols[0]` only).
    LWS_CALLBACK_WSI_CREATE => WsiCreate = 29,
    /// Latest event of a connection (`protocols[0]` only).
    LWS_CALLBACK_WSI_DESTROY => WsiDestroy = 30,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_GET_THREAD_ID => GetThreadId = 31,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_ADD_POLL_FD => AddPollFd = 32,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_DEL_POLL_FD => DelPollFd = 33,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_CHANGE_MODE_POLL_FD => ChangeModePollFd = 34,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_LOCK_POLL => LockPoll = 35,
    /// External poll-loop integration; never sent by the host.
    LWS_CALLBACK_UNLOCK_POLL => UnlockPoll = 36,
    /// TLS hook (lws <= 4.0 only).
    LWS_CALLBACK_OPENSSL_CONTEXT_REQUIRES_PRIVATE_KEY => OpensslContextRequiresPrivateKey = 37,
    /// Peer sent CLOSE; `in`/`len`: status (network order) and reason.
    LWS_CALLBACK_WS_PEER_INITIATED_CLOSE => WsPeerInitiatedClose = 38,
    /// lws-internal or rarely used.
    LWS_CALLBACK_WS_EXT_DEFAULTS => WsExtDefaults = 39,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI => Cgi = 40,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_TERMINATED => CgiTerminated = 41,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_STDIN_DATA => CgiStdinData = 42,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_STDIN_COMPLETED => CgiStdinCompleted = 43,
    /// Client side; never sent by the host.
    LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP => EstablishedClientHttp = 44,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLOSED_CLIENT_HTTP => ClosedClientHttp = 45,
    /// Client side; never sent by the host.
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP => ReceiveClientHttp = 46,
    /// Client side; never sent by the host.
    LWS_CALLBACK_COMPLETED_CLIENT_HTTP => CompletedClientHttp = 47,
    /// Client side; never sent by the host.
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ => ReceiveClientHttpRead = 48,
    /// Transaction or upgrade bound to this protocol; pss freshly zeroed.
    LWS_CALLBACK_HTTP_BIND_PROTOCOL => HttpBindProtocol = 49,
    /// Unbinding from this protocol; free what the pss owns.
    LWS_CALLBACK_HTTP_DROP_PROTOCOL => HttpDropProtocol = 50,
    /// callback mounts: `in` is `LwsProcessHtmlArgs`; nonzero gives 401.
    LWS_CALLBACK_CHECK_ACCESS_RIGHTS => CheckAccessRights = 51,
    /// `interpret` mounts: `in` is `LwsProcessHtmlArgs` to rewrite.
    LWS_CALLBACK_PROCESS_HTML => ProcessHtml = 52,
    /// Add headers to a file response: `in` is `LwsProcessHtmlArgs`.
    LWS_CALLBACK_ADD_HEADERS => AddHeaders = 53,
    /// lws-internal or rarely used.
    LWS_CALLBACK_SESSION_INFO => SessionInfo = 54,
    /// lws-internal or rarely used.
    LWS_CALLBACK_GS_EVENT => GsEvent = 55,
    /// `in`: the mount's pmo list, before `Http`.
    LWS_CALLBACK_HTTP_PMO => HttpPmo = 56,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_WRITEABLE => ClientHttpWriteable = 57,
    /// TLS hook.
    LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION => OpensslPerformServerCertVerification = 58,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_RX => RawRx = 59,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_CLOSE => RawClose = 60,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_WRITEABLE => RawWriteable = 61,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_ADOPT => RawAdopt = 62,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_ADOPT_FILE => RawAdoptFile = 63,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_RX_FILE => RawRxFile = 64,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_WRITEABLE_FILE => RawWriteableFile = 65,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_CLOSE_FILE => RawCloseFile = 66,
    /// TLS hook.
    LWS_CALLBACK_SSL_INFO => SslInfo = 67,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CHILD_CLOSING => ChildClosing = 69,
    /// CGI plumbing (handled by `protocols[0]`).
    LWS_CALLBACK_CGI_PROCESS_ATTACH => CgiProcessAttach = 70,
    /// To every protocol after `lws_cancel_service`.
    LWS_CALLBACK_EVENT_WAIT_CANCELLED => EventWaitCancelled = 71,
    /// Certificate lifetime / ACME.
    LWS_CALLBACK_VHOST_CERT_AGING => VhostCertAging = 72,
    /// `lws_set_timer_usecs` expired (one-shot).
    LWS_CALLBACK_TIMER => Timer = 73,
    /// Certificate lifetime / ACME.
    LWS_CALLBACK_VHOST_CERT_UPDATE => VhostCertUpdate = 74,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_CLOSED => ClientClosed = 75,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_DROP_PROTOCOL => ClientHttpDropProtocol = 76,
    /// ws role bound to this protocol.
    LWS_CALLBACK_WS_SERVER_BIND_PROTOCOL => WsServerBindProtocol = 77,
    /// ws role unbinding from this protocol.
    LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL => WsServerDropProtocol = 78,
    /// Client side; never sent by the host.
    LWS_CALLBACK_WS_CLIENT_BIND_PROTOCOL => WsClientBindProtocol = 79,
    /// Client side; never sent by the host.
    LWS_CALLBACK_WS_CLIENT_DROP_PROTOCOL => WsClientDropProtocol = 80,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_SKT_BIND_PROTOCOL => RawSktBindProtocol = 81,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_SKT_DROP_PROTOCOL => RawSktDropProtocol = 82,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_FILE_BIND_PROTOCOL => RawFileBindProtocol = 83,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_FILE_DROP_PROTOCOL => RawFileDropProtocol = 84,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_BIND_PROTOCOL => ClientHttpBindProtocol = 85,
    /// `protocols[0]`: `in` is "websocket" or "h2c"; <0 refuse, >0 replied, 0 allow.
    LWS_CALLBACK_HTTP_CONFIRM_UPGRADE => HttpConfirmUpgrade = 86,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_RX => RawProxyCliRx = 89,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_RX => RawProxySrvRx = 90,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_CLOSE => RawProxyCliClose = 91,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_CLOSE => RawProxySrvClose = 92,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_WRITEABLE => RawProxyCliWriteable = 93,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_WRITEABLE => RawProxySrvWriteable = 94,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_ADOPT => RawProxyCliAdopt = 95,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_ADOPT => RawProxySrvAdopt = 96,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_BIND_PROTOCOL => RawProxyCliBindProtocol = 97,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_BIND_PROTOCOL => RawProxySrvBindProtocol = 98,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_CLI_DROP_PROTOCOL => RawProxyCliDropProtocol = 99,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_PROXY_SRV_DROP_PROTOCOL => RawProxySrvDropProtocol = 100,
    /// Raw sockets / files / proxy; never sent by the host.
    LWS_CALLBACK_RAW_CONNECTED => RawConnected = 101,
    /// `in`: "user:pass"; NONZERO ACCEPTS.
    LWS_CALLBACK_VERIFY_BASIC_AUTHORIZATION => VerifyBasicAuthorization = 102,
    /// Manual tx credit query.
    LWS_CALLBACK_WSI_TX_CREDIT_GET => WsiTxCreditGet = 103,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_HTTP_REDIRECT => ClientHttpRedirect = 104,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CONNECTING => Connecting = 105,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_NEW_CLIENT_INSTANTIATED => MqttNewClientInstantiated = 200,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_IDLE => MqttIdle = 201,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_ESTABLISHED => MqttClientEstablished = 202,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_SUBSCRIBED => MqttSubscribed = 203,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_WRITEABLE => MqttClientWriteable = 204,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_RX => MqttClientRx = 205,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_UNSUBSCRIBED => MqttUnsubscribed = 206,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_DROP_PROTOCOL => MqttDropProtocol = 207,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_CLIENT_CLOSED => MqttClientClosed = 208,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_ACK => MqttAck = 209,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_RESEND => MqttResend = 210,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_UNSUBSCRIBE_TIMEOUT => MqttUnsubscribeTimeout = 211,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_SHADOW_TIMEOUT => MqttShadowTimeout = 212,
    /// MQTT client; never sent by the host.
    LWS_CALLBACK_MQTT_QOS2_RX_COMPLETE => MqttQos2RxComplete = 213,
    /// lws main branch only.
    LWS_CALLBACK_HTTP_INTERCEPTOR_CHECK => HttpInterceptorCheck = 214,
    /// lws main branch: ask the protocol for its pss size.
    LWS_CALLBACK_GET_PSS_SIZE => GetPssSize = 215,
    /// lws-internal or rarely used.
    LWS_CALLBACK_DHT_VERB_DISPATCH => DhtVerbDispatch = 216,
    /// lws-internal or rarely used.
    LWS_CALLBACK_QT_SERVER_RECEIVE => QtServerReceive = 217,
    /// lws-internal or rarely used.
    LWS_CALLBACK_QT_CLIENT_RECEIVE => QtClientReceive = 218,
    /// Client side; never sent by the host.
    LWS_CALLBACK_CLIENT_ESTABLISHED_EARLY => ClientEstablishedEarly = 219,
    /// First value free for a plugin's own reasons.
    LWS_CALLBACK_USER => User = 1000,
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
