//! lws's libuv helpers (`libwebsockets/lws-libuv.h`): each service thread's
//! libuv loop, made on first use (`host::uv`).

use std::ffi::{c_int, c_void};

use comlink_plugin_api::abi::LwsContext;

use crate::host::ffi::boundary::{export, Fault};

export! {
    /// `lws_uv_getloop`: service thread `tsi`'s libuv loop (made, and run
    /// from that thread's event loop, on the first call); NULL when there
    /// is no such thread or libuv cannot be loaded.
    fn lws_uv_getloop(_context: *mut LwsContext, tsi: c_int) -> *mut c_void {
        let tsi = usize::try_from(tsi).map_err(|_| Fault::Refused(format!("tsi {tsi}")))?;
        Ok(crate::host::uv::loop_for(tsi).unwrap_or(std::ptr::null_mut()))
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_libuv_static_refcount_add`: lws counts a plugin's own handles
    /// to know when its loop may end; the host needs no such count (it
    /// closes what a plugin leaves behind itself), so this only counts.
    fn lws_libuv_static_refcount_add(_h: *mut c_void, _context: *mut LwsContext, _tsi: c_int) {
        crate::host::uv::count_static_handle(1);
        Ok(())
    }
}

export! {
    /// `lws_libuv_static_refcount_del`: the close callback that goes with
    /// `lws_libuv_static_refcount_add`.
    fn lws_libuv_static_refcount_del(_h: *mut c_void) {
        crate::host::uv::count_static_handle(-1);
        Ok(())
    }
}
