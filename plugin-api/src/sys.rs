//! The host functions a Rust plugin calls, declared as the C header declares
//! them. They are resolved when the host `dlopen`s the plugin (the `lwsws`
//! executable exports them), so a plugin cdylib links with them undefined.

use std::ffi::{c_char, c_int, c_void};

use crate::abi::{Lws, LwsContext, LwsProtocols, LwsVhost};

extern "C" {
    pub fn lws_get_context(wsi: *const Lws) -> *mut LwsContext;
    pub fn lws_get_vhost(wsi: *mut Lws) -> *mut LwsVhost;
    pub fn lws_get_protocol(wsi: *mut Lws) -> *const LwsProtocols;
    pub fn lws_get_vhost_name(vh: *mut LwsVhost) -> *const c_char;
    pub fn lws_get_vhost_iface(vh: *mut LwsVhost) -> *const c_char;
    pub fn lws_tls_peer_cert_info(
        wsi: *mut Lws,
        kind: c_int,
        buf: *mut crate::abi::LwsTlsCertInfoResults,
        len: usize,
    ) -> c_int;
    pub fn comlink_access_log_user(wsi: *mut Lws, user: *const c_char) -> c_int;
    pub fn lws_protocol_vh_priv_zalloc(
        vh: *mut LwsVhost,
        prot: *const LwsProtocols,
        size: c_int,
    ) -> *mut c_void;
    pub fn lws_protocol_vh_priv_get(vh: *mut LwsVhost, prot: *const LwsProtocols) -> *mut c_void;
    pub fn lws_write(wsi: *mut Lws, buf: *mut u8, len: usize, protocol: c_int) -> c_int;
    pub fn comlink_write_queued(
        wsis: *mut *mut Lws,
        count: usize,
        buf: *mut u8,
        len: usize,
        protocol: c_int,
        taken: *mut u8,
    ) -> c_int;
    pub fn lws_callback_on_writable(wsi: *mut Lws) -> c_int;
    pub fn lws_callback_on_writable_all_protocol_vhost(
        vh: *const LwsVhost,
        prot: *const LwsProtocols,
    ) -> c_int;
    pub fn lws_close_reason(wsi: *mut Lws, status: c_int, buf: *mut u8, len: usize);
    pub fn lws_is_final_fragment(wsi: *mut Lws) -> c_int;
    pub fn lws_is_first_fragment(wsi: *mut Lws) -> c_int;
    pub fn lws_frame_is_binary(wsi: *mut Lws) -> c_int;
    pub fn lws_remaining_packet_payload(wsi: *mut Lws) -> usize;
    pub fn lws_rx_flow_control(wsi: *mut Lws, enable: c_int) -> c_int;
    pub fn lws_send_pipe_choked(wsi: *mut Lws) -> c_int;
    pub fn lws_get_peer_simple(wsi: *mut Lws, name: *mut c_char, namelen: usize) -> *const c_char;
    pub fn lws_hdr_total_length(wsi: *mut Lws, h: c_int) -> c_int;
    pub fn lws_hdr_copy(wsi: *mut Lws, dest: *mut c_char, len: c_int, h: c_int) -> c_int;
    pub fn lws_hdr_custom_length(wsi: *mut Lws, name: *const c_char, nlen: c_int) -> c_int;
    pub fn lws_hdr_custom_copy(
        wsi: *mut Lws,
        dst: *mut c_char,
        len: c_int,
        name: *const c_char,
        nlen: c_int,
    ) -> c_int;
    pub fn lws_get_urlarg_by_name_safe(
        wsi: *mut Lws,
        name: *const c_char,
        buf: *mut c_char,
        len: c_int,
    ) -> c_int;
    pub fn lws_set_timer_usecs(wsi: *mut Lws, usecs: i64);
    pub fn lws_set_timeout(wsi: *mut Lws, reason: c_int, secs: c_int);
    pub fn lws_timed_callback_vh_protocol_us(
        vh: *mut LwsVhost,
        prot: *const LwsProtocols,
        reason: c_int,
        us: i64,
    ) -> c_int;
    pub fn lws_cancel_service(cx: *mut LwsContext);
    pub fn lws_context_is_being_destroyed(cx: *mut LwsContext) -> c_int;
    pub fn lws_get_library_version() -> *const c_char;
    pub fn lws_canonical_hostname(cx: *mut LwsContext) -> *const c_char;
    pub fn lws_wsi_tag(wsi: *mut Lws) -> *const c_char;
    pub fn comlink_log_line(level: c_int, line: *const c_char);
    pub fn comlink_metric_set(
        name: *const c_char,
        help: *const c_char,
        kind: *const c_char,
        labels: *const c_char,
        value: f64,
    ) -> c_int;
    pub fn comlink_health_set(
        vhost: *const c_char,
        part: *const c_char,
        ok: c_int,
        why: *const c_char,
    ) -> c_int;
    pub fn lws_http_transaction_completed(wsi: *mut Lws) -> c_int;
    pub fn lws_spa_create_via_info(
        wsi: *mut Lws,
        info: *const crate::abi::LwsSpaCreateInfo,
    ) -> *mut c_void;
    pub fn lws_spa_process(spa: *mut c_void, input: *const c_char, len: c_int) -> c_int;
    pub fn lws_spa_finalize(spa: *mut c_void) -> c_int;
    pub fn lws_spa_get_length(spa: *mut c_void, n: c_int) -> c_int;
    pub fn lws_spa_get_string(spa: *mut c_void, n: c_int) -> *const c_char;
    pub fn lws_spa_destroy(spa: *mut c_void) -> c_int;
    pub fn lws_json_dump_context(
        cx: *const LwsContext,
        buf: *mut c_char,
        len: c_int,
        hide_vhosts: c_int,
    ) -> c_int;
    pub fn lws_return_http_status(
        wsi: *mut Lws,
        code: std::ffi::c_uint,
        html: *const c_char,
    ) -> c_int;
    pub fn lws_http_get_uri_and_method(
        wsi: *mut Lws,
        puri: *mut *mut c_char,
        plen: *mut c_int,
    ) -> c_int;
}
