//! Structs of lws's helper families and of mounts, as plugins share them
//! with the host: `struct lws_tokenize`, `struct lws_dir_entry` and
//! `struct lws_http_mount` (lws v4.3 layout, grown at the end as lws v5
//! grew it).

use std::ffi::{c_char, c_int, c_uint};

use super::LwsProtocolVhostOptions;

/// `struct lws_tokenize`: a tokenizer's state, owned by the plugin.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsTokenize {
    /// Where the rest of the text starts.
    pub start: *const c_char,
    /// The element found by the last call (NULL if none).
    pub token: *const c_char,
    /// Bytes of text left.
    pub len: usize,
    /// Length of `token`.
    pub token_len: usize,
    /// `LWS_TOKENIZE_F_*`.
    pub flags: u16,
    /// Comma-list state.
    pub delim: u8,
    /// Free for the plugin (lws code keeps the last result here).
    pub e: i8,
}

/// `struct lws_dir_entry`: one entry `lws_dir` passes its callback.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsDirEntry {
    /// The entry's name (no directory part).
    pub name: *const c_char,
    /// `lws_dir_obj_type_t`.
    pub r#type: c_int,
}

/// `lws_dir_glob_t`: what `lws_dir_glob_cb` gets as `user`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsDirGlob {
    /// One-star pattern, e.g. `*.txt`.
    pub filter: *const c_char,
    /// Called with `user` and the path of each match.
    pub cb: Option<unsafe extern "C" fn(*mut std::ffi::c_void, *const c_char) -> c_int>,
    /// Passed to `cb`.
    pub user: *mut std::ffi::c_void,
}

/// `struct lws_http_mount`, as `lws_find_mount` returns it. Fields up to
/// `basic_auth_login_file` are lws v4.3's; the rest were added by lws
/// v4.4/v5 at the end. The host fills the ones it knows and zeroes the rest.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LwsHttpMount {
    /// Next mount of the vhost (NULL: the host does not chain them).
    pub mount_next: *const LwsHttpMount,
    /// e.g. `/formtest`.
    pub mountpoint: *const c_char,
    /// What is mounted (a dir, a URL, a protocol name).
    pub origin: *const c_char,
    /// `default`.
    pub def: *const c_char,
    /// `protocol`.
    pub protocol: *const c_char,
    /// `cgi-env`, and (lws v5) the `pmo` options: what `lws_pmo_search` reads.
    pub cgienv: *const LwsProtocolVhostOptions,
    /// `extra-mimetypes`.
    pub extra_mimetypes: *const LwsProtocolVhostOptions,
    /// `interpret`.
    pub interpret: *const LwsProtocolVhostOptions,
    /// `cgi-timeout` seconds.
    pub cgi_timeout: c_int,
    /// `cache-max-age` seconds.
    pub cache_max_age: c_int,
    /// `auth-mask`.
    pub auth_mask: c_uint,
    /// Bit fields: cache_reusable (bit 0), cache_revalidate (1),
    /// cache_intermediaries (2), and from lws v4.4 cache_no (3),
    /// exact_match (4), append_path (5), no_ws_upgrades (6).
    pub flags: u8,
    /// `enum lws_mount_protocols` (`LWSMPRO_*`).
    pub origin_protocol: u8,
    /// Length of `mountpoint`.
    pub mountpoint_len: u8,
    /// Padding.
    pub _pad: u8,
    /// `basic-auth` file.
    pub basic_auth_login_file: *const c_char,
    /// `cgi-chroot` (lws v4.4+).
    pub cgi_chroot_path: *const c_char,
    /// `cgi-chdir` (lws v4.4+).
    pub cgi_wd: *const c_char,
    /// `headers` (lws v4.4+).
    pub headers: *const LwsProtocolVhostOptions,
    /// `keepalive-timeout` (lws v4.4+).
    pub keepalive_timeout: c_uint,
    /// `interceptor-path` (lws v5, JOSE builds).
    pub interceptor_path: *const c_char,
    /// Largest body (lws v5); 0: the default.
    pub max_http_body_size: u64,
}

/// `LWSMPRO_HTTP`: reverse proxy.
pub const LWSMPRO_HTTP: u8 = 0;
/// `LWSMPRO_HTTPS`.
pub const LWSMPRO_HTTPS: u8 = 1;
/// `LWSMPRO_FILE`.
pub const LWSMPRO_FILE: u8 = 2;
/// `LWSMPRO_CGI`.
pub const LWSMPRO_CGI: u8 = 3;
/// `LWSMPRO_REDIR_HTTP`.
pub const LWSMPRO_REDIR_HTTP: u8 = 4;
/// `LWSMPRO_REDIR_HTTPS`.
pub const LWSMPRO_REDIR_HTTPS: u8 = 5;
/// `LWSMPRO_CALLBACK`.
pub const LWSMPRO_CALLBACK: u8 = 6;
/// `LWSMPRO_NO_MOUNT`.
pub const LWSMPRO_NO_MOUNT: u8 = 7;

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_are_lws_layouts() {
        assert_eq!(size_of::<LwsTokenize>(), 40);
        assert_eq!(offset_of!(LwsTokenize, flags), 32);
        assert_eq!(offset_of!(LwsTokenize, e), 35);
        assert_eq!(size_of::<LwsDirEntry>(), 16);
        assert_eq!(offset_of!(LwsHttpMount, cgienv), 40);
        assert_eq!(offset_of!(LwsHttpMount, flags), 76);
        assert_eq!(offset_of!(LwsHttpMount, mountpoint_len), 78);
        assert_eq!(offset_of!(LwsHttpMount, basic_auth_login_file), 80);
        assert_eq!(offset_of!(LwsHttpMount, keepalive_timeout), 112);
        assert_eq!(offset_of!(LwsHttpMount, max_http_body_size), 128);
    }
}
