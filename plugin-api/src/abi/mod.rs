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

/// `lws_plugin_header_t` of lws v5.0 (magic 192): adds `priority`,
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

/// The `ns` member of [`LwsTlsCertInfoResults`]: a length and bytes. The
/// 64 is only the declared size: the caller may pass a larger buffer
/// behind the union and say how much room `name` has.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsTlsCertInfoNs {
    /// Bytes of the answer (or needed, when the room was too small).
    pub len: c_int,
    /// The answer.
    pub name: [c_char; 64],
}

/// `union lws_tls_cert_info_results`: the answer of
/// `lws_tls_peer_cert_info()`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union LwsTlsCertInfoResults {
    /// `LWS_TLS_CERT_INFO_VERIFIED`.
    pub verified: c_uint,
    /// `LWS_TLS_CERT_INFO_VALIDITY_*` (`time_t`).
    pub time: i64,
    /// `LWS_TLS_CERT_INFO_USAGE`.
    pub usage: c_uint,
    /// Names and byte strings.
    pub ns: LwsTlsCertInfoNs,
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
/// (180), lws v4.1 (190), v4.2 - v4.5 (191), lws v5.0 (192, with `priority`).
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

mod client;
mod consts;
mod pool;
mod reasons;
mod tokens;

pub use self::client::*;
pub use self::consts::*;
pub use self::pool::*;
pub use self::reasons::*;
pub use self::tokens::*;

mod helpers;
pub use self::helpers::*;
