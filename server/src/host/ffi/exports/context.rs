//! Context, vhost and protocol: what a plugin asks about where it runs.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::OnceLock;

use comlink_plugin_api::abi::{Lws, LwsContext, LwsProtocolVhostOptions, LwsProtocols, LwsVhost};

use crate::host::context::{self, CONTEXT};
use crate::host::ffi::boundary::{
    cstr, export, out_buf, put_cstr, text, vhost, vhost_protocol, wsi, Fault,
};
use crate::host::ffi::call::PluginMem;
use crate::host::vhost::VhostHandle;

export! {
    /// `lws_get_context`.
    fn lws_get_context(_wsi: *const Lws) -> *mut LwsContext {
        Ok(context::context_ptr())
    } ?= context::context_ptr()
}

export! {
    /// `lws_get_vhost`.
    fn lws_get_vhost(p: *mut Lws) -> *mut LwsVhost {
        Ok(wsi(&p)?.vhost_handle() as *const VhostHandle as *mut LwsVhost)
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_get_vhost_name`.
    fn lws_get_vhost_name(v: *mut LwsVhost) -> *const c_char {
        // The name lives as long as the site, as lws's lives with its vhost.
        Ok(vhost(&v)?.name.as_ptr())
    } ?= std::ptr::null()
}

export! {
    /// `lws_get_vhost_listen_port`.
    fn lws_get_vhost_listen_port(v: *mut LwsVhost) -> c_int {
        Ok(c_int::from(vhost(&v)?.port))
    } ?= -1
}

export! {
    /// `lws_get_vhost_iface`: the vhost's `interface` as configured (an
    /// address or an interface name), or NULL when it listens on every
    /// interface.
    fn lws_get_vhost_iface(v: *mut LwsVhost) -> *const c_char {
        // The name lives as long as the site, as lws's lives with its vhost.
        Ok(vhost(&v)?.iface.as_ref().map_or(std::ptr::null(), |i| i.as_ptr()))
    } ?= std::ptr::null()
}

export! {
    /// `lws_get_protocol`.
    fn lws_get_protocol(p: *mut Lws) -> *const LwsProtocols {
        Ok(wsi(&p)?.proto().map_or(std::ptr::null(), |vp| vp.def.raw))
    } ?= std::ptr::null()
}

export! {
    /// `lws_protocol_get` (same as `lws_get_protocol`).
    fn lws_protocol_get(p: *mut Lws) -> *const LwsProtocols {
        Ok(wsi(&p)?.proto().map_or(std::ptr::null(), |vp| vp.def.raw))
    } ?= std::ptr::null()
}

export! {
    /// `lws_vhost_name_to_protocol`.
    fn lws_vhost_name_to_protocol(v: *mut LwsVhost, name: *const c_char) -> *const LwsProtocols {
        let h = vhost(&v)?;
        // SAFETY: lws contract: `name` is a C string.
        let name = unsafe { text(name) };
        Ok(h.protocols
            .iter()
            .find(|p| p.def.name == name)
            .map_or(std::ptr::null(), |p| p.def.raw))
    } ?= std::ptr::null()
}

export! {
    /// `lws_protocol_vh_priv_zalloc`: zeroed per-vhost memory for the
    /// protocol (the same block again if it was already allocated).
    fn lws_protocol_vh_priv_zalloc(
        v: *mut LwsVhost,
        prot: *const LwsProtocols,
        size: c_int,
    ) -> *mut c_void {
        let h = vhost(&v)?;
        // SAFETY: lws contract: `prot` is the plugin's protocol table entry.
        let Some(vp) = (unsafe { vhost_protocol(&h, prot) }) else {
            return Ok(std::ptr::null_mut());
        };
        if let Some(mem) = vp.vh_priv.get() {
            return Ok(mem.as_ptr());
        }
        let Some(mem) = PluginMem::zeroed(usize::try_from(size).unwrap_or(0)) else {
            return Ok(std::ptr::null_mut());
        };
        // Another thread may have been first: then its block is the one.
        let _ = vp.vh_priv.set(mem);
        Ok(vp.vh_priv.get().map_or(std::ptr::null_mut(), PluginMem::as_ptr))
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_protocol_vh_priv_get`.
    fn lws_protocol_vh_priv_get(v: *mut LwsVhost, prot: *const LwsProtocols) -> *mut c_void {
        if v.is_null() {
            return Ok(std::ptr::null_mut());
        }
        let h = vhost(&v)?;
        // SAFETY: lws contract: `prot` is the plugin's protocol table entry.
        let vp = unsafe { vhost_protocol(&h, prot) };
        Ok(vp.and_then(|vp| vp.vh_priv.get()).map_or(std::ptr::null_mut(), PluginMem::as_ptr))
    } ?= std::ptr::null_mut()
}

/// The option called `name` in the list starting at `pvo`, or null.
///
/// # Safety
///
/// `pvo` is null or a `struct lws_protocol_vhost_options` list (ours, or
/// the plugin's own) whose `next` chain ends in null and whose names are
/// C strings; `name` is null or a C string.
pub(super) unsafe fn pvo_search(
    pvo: *const LwsProtocolVhostOptions,
    name: *const c_char,
) -> *const LwsProtocolVhostOptions {
    // SAFETY: passed on to the caller (same contract).
    let want = unsafe { cstr(name) }
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let mut p = pvo;
    // SAFETY: each non-null node of the list is readable (our contract).
    while let Some(node) = unsafe { p.as_ref() } {
        // SAFETY: node names are C strings (our contract).
        if unsafe { cstr(node.name) }
            .map(|c| c.to_bytes())
            .unwrap_or_default()
            == want
        {
            return p;
        }
        p = node.next;
    }
    std::ptr::null()
}

export! {
    /// `lws_pvo_search`: the option called `name` in the list starting at `pvo`.
    fn lws_pvo_search(
        pvo: *const LwsProtocolVhostOptions,
        name: *const c_char,
    ) -> *const LwsProtocolVhostOptions {
        // SAFETY: pvo lists are ours (`PvoList`, alive while the site is)
        // or plugin-built lists of the same layout; `name` is a C string.
        Ok(unsafe { pvo_search(pvo, name) })
    } ?= std::ptr::null()
}

export! {
    /// `lws_pvo_get_str`: 0 and `*result` set when found.
    fn lws_pvo_get_str(
        input: *mut c_void,
        name: *const c_char,
        result: *mut *const c_char,
    ) -> c_int {
        // SAFETY: as in `lws_pvo_search`; `input` is a pvo list.
        let p = unsafe { pvo_search(input as *const LwsProtocolVhostOptions, name) };
        // SAFETY: `p` is null or a node found above, readable.
        let (Some(node), false) = (unsafe { p.as_ref() }, result.is_null()) else {
            return Ok(1);
        };
        // SAFETY: `result` is the plugin's non-null out pointer.
        unsafe { *result = node.value };
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_get_count_threads`.
    fn lws_get_count_threads(_cx: *mut LwsContext) -> c_int {
        Ok(c_int::try_from(CONTEXT.count_threads()).unwrap_or(1))
    } ?= 1
}

export! {
    /// `lws_get_tsi`.
    fn lws_get_tsi(p: *mut Lws) -> c_int {
        Ok(c_int::try_from(wsi(&p)?.tsi).unwrap_or(0))
    } ?= 0
}

export! {
    /// `lws_wsi_user`: the per-session data.
    fn lws_wsi_user(p: *mut Lws) -> *mut c_void {
        Ok(wsi(&p)?.pss_ptr())
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_get_opaque_user_data`.
    fn lws_get_opaque_user_data(p: *const Lws) -> *mut c_void {
        Ok(wsi(&p)?.opaque.get())
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_set_opaque_user_data`.
    fn lws_set_opaque_user_data(p: *mut Lws, data: *mut c_void) {
        wsi(&p)?.opaque.set(data);
        Ok(())
    }
}

export! {
    /// `lws_is_ssl`: 1 when the connection came over TLS.
    fn lws_is_ssl(p: *mut Lws) -> c_int {
        Ok(wsi(&p)?.request.as_ref().map_or(0, |r| c_int::from(r.secure)))
    } ?= 0
}

export! {
    /// `lws_wsi_tag`.
    fn lws_wsi_tag(p: *mut Lws) -> *const c_char {
        Ok(wsi(&p)?.tag.as_ptr())
    } ?= c"?".as_ptr()
}

export! {
    /// `lws_get_peer_simple`: the peer's address as text, into `name`.
    fn lws_get_peer_simple(p: *mut Lws, name: *mut c_char, namelen: usize) -> *const c_char {
        let w = wsi(&p)?;
        let text = w.peer.map_or_else(
            || "unknown".to_string(),
            |a| a.ip().to_canonical().to_string(),
        );
        // SAFETY: lws contract: `name` is writable for `namelen` bytes.
        let buf = unsafe { out_buf(name, namelen) }?;
        Ok(if put_cstr(buf, text.as_bytes()) { name } else { std::ptr::null() })
    } ?= std::ptr::null()
}

export! {
    /// `lws_get_library_version`.
    fn lws_get_library_version() -> *const c_char {
        static V: OnceLock<CString> = OnceLock::new();
        Ok(V.get_or_init(|| {
            CString::new(format!("4.3.99-comlink-{}", env!("CARGO_PKG_VERSION")))
                .unwrap_or_default()
        })
        .as_ptr())
    } ?= c"4.3.99-comlink".as_ptr()
}

export! {
    /// `lws_canonical_hostname`.
    fn lws_canonical_hostname(_cx: *mut LwsContext) -> *const c_char {
        static H: OnceLock<CString> = OnceLock::new();
        Ok(H.get_or_init(|| {
            let name = nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into());
            CString::new(name).unwrap_or_default()
        })
        .as_ptr())
    } ?= c"localhost".as_ptr()
}

export! {
    /// `lws_cmdline_option_cx`: lwsws has no plugin command-line options.
    fn lws_cmdline_option_cx(_cx: *const LwsContext, _val: *const c_char) -> *const c_char {
        Ok(std::ptr::null())
    } ?= std::ptr::null()
}

export! {
    /// `lws_cancel_service`: the one lws call any thread may make; every
    /// service thread then sends EVENT_WAIT_CANCELLED to every protocol.
    fn lws_cancel_service(_cx: *mut LwsContext) {
        CONTEXT.cancel_service();
        Ok(())
    }
}

export! {
    /// `lws_context_is_being_destroyed`: nonzero once the server is
    /// stopping, and inside the callbacks of a plugin whose file a reload
    /// replaced (to the old version, a hand-over is the end of its context;
    /// see `host::handover`).
    fn lws_context_is_being_destroyed(_cx: *mut LwsContext) -> c_int {
        Ok(c_int::from(CONTEXT.is_stopping() || crate::host::handover::in_draining()))
    } ?= 0
}

export! {
    /// `lws_callback_http_dummy`: the default handler; nothing to do here.
    fn lws_callback_http_dummy(
        _wsi: *mut Lws,
        _reason: c_int,
        _user: *mut c_void,
        _in: *mut c_void,
        _len: usize,
    ) -> c_int {
        Ok(0)
    } ?= 0
}

export! {
    /// `lws_json_purify`: JSON-escapes `string` into `escaped` (`len` bytes).
    fn lws_json_purify(
        escaped: *mut c_char,
        string: *const c_char,
        len: c_int,
        in_used: *mut c_int,
    ) -> *const c_char {
        if escaped.is_null() || len <= 0 {
            return Ok(std::ptr::null());
        }
        // SAFETY: lws contract: `escaped` is writable for `len` bytes.
        let out = unsafe { out_buf(escaped, len) }?;
        // SAFETY: lws contract: `string` is a C string.
        let src = unsafe { cstr(string) }.map(|c| c.to_bytes()).unwrap_or_default();
        let (escaped_text, used) = context::json_escape(src, out.len() - 1);
        put_cstr(out, &escaped_text);
        // SAFETY: a non-null `in_used` is the plugin's out pointer.
        if let Some(n) = unsafe { in_used.as_mut() } {
            *n = c_int::try_from(used).unwrap_or(c_int::MAX);
        }
        Ok(escaped)
    } ?= std::ptr::null()
}

export! {
    /// `lws_json_dump_context`: the server's state as JSON (lws's shape)
    /// into `buf`; its length, truncated to fit (`len` bytes with the NUL).
    fn lws_json_dump_context(
        _cx: *const LwsContext,
        buf: *mut c_char,
        len: c_int,
        hide_vhosts: c_int,
    ) -> c_int {
        if len <= 0 {
            return Ok(0);
        }
        let text = CONTEXT.context_json(hide_vhosts != 0);
        // SAFETY: lws contract: `buf` is writable for `len` bytes.
        let out = unsafe { out_buf(buf, len) }?;
        let n = text.len().min(out.len() - 1);
        put_cstr(out, &text.as_bytes()[..n]);
        Ok(c_int::try_from(n).unwrap_or(0))
    } ?= 0
}

export! {
    /// `comlink_metric_set`: a plugin's figure for the metrics endpoint
    /// (Comlink's own call; `kind` "counter" or "gauge"). 0, or -1 if refused.
    fn comlink_metric_set(
        name: *const c_char,
        help: *const c_char,
        kind: *const c_char,
        labels: *const c_char,
        value: f64,
    ) -> c_int {
        // SAFETY: each argument is null or a C string (the header's contract).
        let [name, help, kind, labels] = [name, help, kind, labels].map(|s| unsafe { text(s) });
        let ok = crate::host::figures::set(&name, &help, &kind, &labels, value);
        Ok(if ok { 0 } else { -1 })
    } ?= -1
}

export! {
    /// `comlink_health_set`: a plugin's report for the health check (the
    /// global `health-path`, Comlink's own call). `ok` 0 makes the check
    /// answer 503 naming `vhost` (NULL or "": the whole server), `part` and
    /// `why`, until the same vhost and part report `ok` again. 0, or -1
    /// without a part.
    fn comlink_health_set(
        vhost: *const c_char,
        part: *const c_char,
        ok: c_int,
        why: *const c_char,
    ) -> c_int {
        // SAFETY: lws-style contract: each argument is NULL or a C string.
        let (vhost, part, why) = unsafe { (text(vhost), text(part), text(why)) };
        if part.is_empty() {
            return Err(Fault::Null("part"));
        }
        let why = if why.is_empty() { "not working" } else { why.as_str() };
        crate::host::health::set_problem(&vhost, &part, (ok == 0).then_some(why));
        Ok(0)
    } ?= -1
}
