//! `lws_find_mount` and lws v5's per-mount options (`lws_pmo_search`,
//! `lws_pmo_get_str`) over the vhost's [`MountTable`](crate::host::ffi::mount::MountTable).

use std::ffi::{c_char, c_int};

use comlink_plugin_api::abi::{Lws, LwsHttpMount, LwsProtocolVhostOptions};

use crate::host::ffi::boundary::{bytes_or_cstr, export, wsi, Fault};
use crate::host::vhost;

/// Checks that `m` is a mount of a live site.
fn live_mount(m: *const LwsHttpMount) -> Result<&'static LwsHttpMount, Fault> {
    if m.is_null() {
        return Err(Fault::Null("mount"));
    }
    let owned = vhost::live_sites()
        .iter()
        .any(|s| s.vhosts.iter().any(|v| v.mounts.owns(m)));
    if !owned {
        return Err(Fault::Refused(format!(
            "{m:p} is not a mount lws_find_mount returned"
        )));
    }
    // SAFETY: a mount of a live site's table: boxed, never written, alive
    // as long as the site, which outlives any call a plugin of it makes.
    Ok(unsafe { &*m })
}

export! {
    /// `lws_find_mount`: the mount of this connection's vhost serving the
    /// `uri_len` bytes at `uri_ptr` (negative: up to the NUL), or NULL.
    fn lws_find_mount(p: *mut Lws, uri_ptr: *const c_char, uri_len: c_int) -> *const LwsHttpMount {
        let w = wsi(&p)?;
        // SAFETY: lws contract: `uri_len` readable bytes at `uri_ptr`.
        let uri = unsafe { bytes_or_cstr(uri_ptr as *const u8, uri_len) }?;
        Ok(w.vhost_handle().mounts.find(uri).unwrap_or(std::ptr::null()))
    } ?= std::ptr::null()
}

export! {
    /// `lws_pmo_search`: the `pmo` option called `name` of `mount`, or NULL.
    fn lws_pmo_search(
        mount: *const LwsHttpMount,
        name: *const c_char,
    ) -> *const LwsProtocolVhostOptions {
        if mount.is_null() {
            return Ok(std::ptr::null());
        }
        let m = live_mount(mount)?;
        // SAFETY: the mount's list is ours (a `PvoList` of its table);
        // `name` is a C string (lws contract).
        Ok(unsafe { super::context::pvo_search(m.cgienv, name) })
    } ?= std::ptr::null()
}

export! {
    /// `lws_pmo_get_str`: 0 and `*result` set to the value of the `pmo`
    /// option `name` of `mount`; 1 when there is none.
    fn lws_pmo_get_str(
        mount: *const LwsHttpMount,
        name: *const c_char,
        result: *mut *const c_char,
    ) -> c_int {
        if mount.is_null() {
            return Ok(1);
        }
        let m = live_mount(mount)?;
        // SAFETY: as in `lws_pmo_search`.
        let p = unsafe { super::context::pvo_search(m.cgienv, name) };
        // SAFETY: `p` is null or a node of the mount's list.
        let (Some(node), false) = (unsafe { p.as_ref() }, result.is_null()) else {
            return Ok(1);
        };
        // SAFETY: `result` is the plugin's non-null out pointer.
        unsafe { *result = node.value };
        Ok(0)
    } ?= 1
}
