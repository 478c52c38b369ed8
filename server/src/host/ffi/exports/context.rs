//! Context, vhost and protocol: what a plugin asks about where it runs.

use super::*;

/// `lws_get_context`.
#[no_mangle]
pub extern "C" fn lws_get_context(_wsi: *const Lws) -> *mut LwsContext {
    crate::host::context::context_ptr()
}

/// `lws_get_vhost`.
#[no_mangle]
pub extern "C" fn lws_get_vhost(p: *mut Lws) -> *mut LwsVhost {
    guard("lws_get_vhost", std::ptr::null_mut(), || {
        wsi("lws_get_vhost", p).map_or(std::ptr::null_mut(), |w| {
            w.vhost_handle() as *const VhostHandle as *mut LwsVhost
        })
    })
}

/// `lws_get_vhost_name`.
#[no_mangle]
pub extern "C" fn lws_get_vhost_name(v: *mut LwsVhost) -> *const c_char {
    guard("lws_get_vhost_name", std::ptr::null(), || {
        vh("lws_get_vhost_name", v).map_or(std::ptr::null(), |h| h.name.as_ptr())
    })
}

/// `lws_get_vhost_listen_port`.
#[no_mangle]
pub extern "C" fn lws_get_vhost_listen_port(v: *mut LwsVhost) -> c_int {
    guard("lws_get_vhost_listen_port", -1, || {
        vh("lws_get_vhost_listen_port", v).map_or(-1, |h| c_int::from(h.port))
    })
}

/// `lws_get_vhost_iface`: the vhost's `interface` as configured (an address
/// or an interface name), or NULL when it listens on every interface.
#[no_mangle]
pub extern "C" fn lws_get_vhost_iface(v: *mut LwsVhost) -> *const c_char {
    guard("lws_get_vhost_iface", std::ptr::null(), || {
        vh("lws_get_vhost_iface", v)
            .and_then(|h| h.iface.as_ref())
            .map_or(std::ptr::null(), |i| i.as_ptr())
    })
}

/// `lws_get_protocol`.
#[no_mangle]
pub extern "C" fn lws_get_protocol(p: *mut Lws) -> *const LwsProtocols {
    guard("lws_get_protocol", std::ptr::null(), || {
        wsi("lws_get_protocol", p)
            .and_then(|w| w.proto())
            .map_or(std::ptr::null(), |vp| vp.def.raw)
    })
}

/// `lws_protocol_get` (same as `lws_get_protocol`).
#[no_mangle]
pub extern "C" fn lws_protocol_get(p: *mut Lws) -> *const LwsProtocols {
    lws_get_protocol(p)
}

/// `lws_vhost_name_to_protocol`.
#[no_mangle]
pub extern "C" fn lws_vhost_name_to_protocol(
    v: *mut LwsVhost,
    name: *const c_char,
) -> *const LwsProtocols {
    guard("lws_vhost_name_to_protocol", std::ptr::null(), || {
        let Some(h) = vh("lws_vhost_name_to_protocol", v) else {
            return std::ptr::null();
        };
        let name = cstr_lossy(name);
        h.protocols
            .iter()
            .find(|p| p.def.name == name)
            .map_or(std::ptr::null(), |p| p.def.raw)
    })
}

/// `lws_protocol_vh_priv_zalloc`: zeroed per-vhost memory for the protocol
/// (the same block again if it was already allocated).
#[no_mangle]
pub extern "C" fn lws_protocol_vh_priv_zalloc(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    size: c_int,
) -> *mut c_void {
    guard("lws_protocol_vh_priv_zalloc", std::ptr::null_mut(), || {
        let Some(vp) = vh("lws_protocol_vh_priv_zalloc", v).and_then(|h| vproto(h, prot)) else {
            return std::ptr::null_mut();
        };
        let existing = vp.vh_priv.load(Ordering::Acquire);
        if !existing.is_null() {
            return existing;
        }
        let size = usize::try_from(size).unwrap_or(0).max(1);
        let p = call::zalloc(size);
        vp.vh_priv_size.store(size, Ordering::Release);
        vp.vh_priv.store(p, Ordering::Release);
        p
    })
}

/// `lws_protocol_vh_priv_get`.
#[no_mangle]
pub extern "C" fn lws_protocol_vh_priv_get(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
) -> *mut c_void {
    guard("lws_protocol_vh_priv_get", std::ptr::null_mut(), || {
        if v.is_null() {
            return std::ptr::null_mut();
        }
        vh("lws_protocol_vh_priv_get", v)
            .and_then(|h| vproto(h, prot))
            .map_or(std::ptr::null_mut(), |vp| {
                vp.vh_priv.load(Ordering::Acquire)
            })
    })
}

/// `lws_pvo_search`: the option called `name` in the list starting at `pvo`.
#[no_mangle]
pub extern "C" fn lws_pvo_search(
    pvo: *const LwsProtocolVhostOptions,
    name: *const c_char,
) -> *const LwsProtocolVhostOptions {
    guard("lws_pvo_search", std::ptr::null(), || {
        let want = cstr_lossy(name);
        let mut p = pvo;
        while !p.is_null() {
            // SAFETY: pvo lists are ours (`PvoList`, alive while the site is)
            // or plugin-built lists with the same layout; `next` ends in null.
            let node = unsafe { &*p };
            if cstr_lossy(node.name) == want {
                return p;
            }
            p = node.next;
        }
        std::ptr::null()
    })
}

/// `lws_pvo_get_str`: 0 and `*result` set when found.
#[no_mangle]
pub extern "C" fn lws_pvo_get_str(
    input: *mut c_void,
    name: *const c_char,
    result: *mut *const c_char,
) -> c_int {
    guard("lws_pvo_get_str", 1, || {
        let p = lws_pvo_search(input as *const LwsProtocolVhostOptions, name);
        if p.is_null() || result.is_null() {
            return 1;
        }
        // SAFETY: `p` is a node found above; `result` is a non-null out pointer.
        unsafe { *result = (*p).value };
        0
    })
}

/// `lws_get_count_threads`.
#[no_mangle]
pub extern "C" fn lws_get_count_threads(_cx: *mut LwsContext) -> c_int {
    c_int::try_from(CONTEXT.count_threads()).unwrap_or(1)
}

/// `lws_get_tsi`.
#[no_mangle]
pub extern "C" fn lws_get_tsi(p: *mut Lws) -> c_int {
    guard("lws_get_tsi", 0, || {
        wsi("lws_get_tsi", p).map_or(0, |w| c_int::try_from(w.tsi).unwrap_or(0))
    })
}

/// `lws_wsi_user`: the per-session data.
#[no_mangle]
pub extern "C" fn lws_wsi_user(p: *mut Lws) -> *mut c_void {
    guard("lws_wsi_user", std::ptr::null_mut(), || {
        wsi("lws_wsi_user", p).map_or(std::ptr::null_mut(), |w| w.pss.get())
    })
}

/// `lws_get_opaque_user_data`.
#[no_mangle]
pub extern "C" fn lws_get_opaque_user_data(p: *const Lws) -> *mut c_void {
    guard("lws_get_opaque_user_data", std::ptr::null_mut(), || {
        wsi("lws_get_opaque_user_data", p).map_or(std::ptr::null_mut(), |w| w.opaque.get())
    })
}

/// `lws_set_opaque_user_data`.
#[no_mangle]
pub extern "C" fn lws_set_opaque_user_data(p: *mut Lws, data: *mut c_void) {
    guard("lws_set_opaque_user_data", (), || {
        if let Some(w) = wsi("lws_set_opaque_user_data", p) {
            w.opaque.set(data);
        }
    })
}

/// `lws_is_ssl`: 1 when the connection came over TLS.
#[no_mangle]
pub extern "C" fn lws_is_ssl(p: *mut Lws) -> c_int {
    guard("lws_is_ssl", 0, || {
        wsi("lws_is_ssl", p)
            .and_then(|w| w.request.as_ref())
            .map_or(0, |r| c_int::from(r.secure))
    })
}

/// `lws_wsi_tag`.
#[no_mangle]
pub extern "C" fn lws_wsi_tag(p: *mut Lws) -> *const c_char {
    guard("lws_wsi_tag", c"?".as_ptr(), || {
        wsi("lws_wsi_tag", p).map_or(c"?".as_ptr(), |w| w.tag.as_ptr())
    })
}

/// `lws_get_peer_simple`: the peer's address as text, into `name`.
#[no_mangle]
pub extern "C" fn lws_get_peer_simple(
    p: *mut Lws,
    name: *mut c_char,
    namelen: usize,
) -> *const c_char {
    guard("lws_get_peer_simple", std::ptr::null(), || {
        let Some(w) = wsi("lws_get_peer_simple", p) else {
            return std::ptr::null();
        };
        let text = w.peer.map_or_else(
            || "unknown".to_string(),
            |a| a.ip().to_canonical().to_string(),
        );
        if copy_out(text.as_bytes(), name, namelen) {
            name
        } else {
            std::ptr::null()
        }
    })
}

/// `lws_get_library_version`.
#[no_mangle]
pub extern "C" fn lws_get_library_version() -> *const c_char {
    static V: OnceLock<CString> = OnceLock::new();
    V.get_or_init(|| {
        CString::new(format!("4.3.99-comlink-{}", env!("CARGO_PKG_VERSION"))).unwrap_or_default()
    })
    .as_ptr()
}

/// `lws_canonical_hostname`.
#[no_mangle]
pub extern "C" fn lws_canonical_hostname(_cx: *mut LwsContext) -> *const c_char {
    static H: OnceLock<CString> = OnceLock::new();
    H.get_or_init(|| {
        let name = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        CString::new(name).unwrap_or_default()
    })
    .as_ptr()
}

/// `lws_cmdline_option_cx`: lwsws has no plugin command-line options.
#[no_mangle]
pub extern "C" fn lws_cmdline_option_cx(
    _cx: *const LwsContext,
    _val: *const c_char,
) -> *const c_char {
    std::ptr::null()
}

/// `lws_cancel_service`: the one lws call any thread may make; every
/// service thread then sends EVENT_WAIT_CANCELLED to every protocol.
#[no_mangle]
pub extern "C" fn lws_cancel_service(_cx: *mut LwsContext) {
    guard("lws_cancel_service", (), || CONTEXT.cancel_service())
}

/// `lws_context_is_being_destroyed`: nonzero once the server is stopping,
/// and inside the callbacks of a plugin whose file a reload replaced (to
/// the old version, a hand-over is the end of its context; see
/// `host::handover`).
#[no_mangle]
pub extern "C" fn lws_context_is_being_destroyed(_cx: *mut LwsContext) -> c_int {
    guard("lws_context_is_being_destroyed", 0, || {
        c_int::from(CONTEXT.is_stopping() || crate::host::handover::in_draining())
    })
}

/// `lws_callback_http_dummy`: the default handler; nothing to do here.
#[no_mangle]
pub extern "C" fn lws_callback_http_dummy(
    _wsi: *mut Lws,
    _reason: c_int,
    _user: *mut c_void,
    _in: *mut c_void,
    _len: usize,
) -> c_int {
    0
}

/// `lws_json_purify`: JSON-escapes `string` into `escaped` (`len` bytes).
#[no_mangle]
pub extern "C" fn lws_json_purify(
    escaped: *mut c_char,
    string: *const c_char,
    len: c_int,
    in_used: *mut c_int,
) -> *const c_char {
    guard("lws_json_purify", std::ptr::null(), || {
        let cap = usize::try_from(len).unwrap_or(0);
        if escaped.is_null() || cap == 0 {
            return std::ptr::null();
        }
        let src = if string.is_null() {
            Vec::new()
        } else {
            // SAFETY: `string` is a NUL-terminated C string (lws contract).
            unsafe { CStr::from_ptr(string) }.to_bytes().to_vec()
        };
        let mut out = Vec::with_capacity(cap);
        let mut used = 0;
        for &b in &src {
            let piece: Vec<u8> = match b {
                b'"' => b"\\\"".to_vec(),
                b'\\' => b"\\\\".to_vec(),
                b'\n' => b"\\n".to_vec(),
                b'\r' => b"\\r".to_vec(),
                b'\t' => b"\\t".to_vec(),
                b if b < 0x20 => format!("\\u{b:04x}").into_bytes(),
                b => vec![b],
            };
            if out.len() + piece.len() + 1 > cap {
                break;
            }
            out.extend_from_slice(&piece);
            used += 1;
        }
        copy_out(&out, escaped, cap);
        if !in_used.is_null() {
            // SAFETY: a non-null out pointer from the caller.
            unsafe { *in_used = c_int::try_from(used).unwrap_or(c_int::MAX) };
        }
        escaped
    })
}

/// `lws_json_dump_context`: the server's state as JSON (lws's shape) into
/// `buf`; its length, truncated to fit (`len` bytes with the NUL).
#[no_mangle]
pub extern "C" fn lws_json_dump_context(
    _cx: *const LwsContext,
    buf: *mut c_char,
    len: c_int,
    hide_vhosts: c_int,
) -> c_int {
    guard("lws_json_dump_context", 0, || {
        let text = CONTEXT.context_json(hide_vhosts != 0);
        let cap = usize::try_from(len).unwrap_or(0);
        if cap == 0 {
            return 0;
        }
        let n = text.len().min(cap - 1);
        copy_out(&text.as_bytes()[..n], buf, cap);
        c_int::try_from(n).unwrap_or(0)
    })
}

/// `comlink_metric_set`: a plugin's figure for the metrics endpoint
/// (Comlink's own call; `kind` "counter" or "gauge"). 0, or -1 if refused.
#[no_mangle]
pub extern "C" fn comlink_metric_set(
    name: *const c_char,
    help: *const c_char,
    kind: *const c_char,
    labels: *const c_char,
    value: f64,
) -> c_int {
    guard("comlink_metric_set", -1, || {
        let ok = crate::host::figures::set(
            &cstr_lossy(name),
            &cstr_lossy(help),
            &cstr_lossy(kind),
            &cstr_lossy(labels),
            value,
        );
        if ok {
            0
        } else {
            -1
        }
    })
}

/// `comlink_health_set`: a plugin's report for the health check (the
/// global `health-path`, Comlink's own call). `ok` 0 makes the check answer
/// 503 naming `vhost` (NULL or "": the whole server), `part` and `why`,
/// until the same vhost and part report `ok` again. 0, or -1 without a part.
#[no_mangle]
pub extern "C" fn comlink_health_set(
    vhost: *const c_char,
    part: *const c_char,
    ok: c_int,
    why: *const c_char,
) -> c_int {
    guard("comlink_health_set", -1, || {
        let part = cstr_lossy(part);
        if part.is_empty() {
            return -1;
        }
        let why = cstr_lossy(why);
        let why = if why.is_empty() {
            "not working"
        } else {
            why.as_str()
        };
        crate::host::health::set_problem(&cstr_lossy(vhost), &part, (ok == 0).then_some(why));
        0
    })
}
