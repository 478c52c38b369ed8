//! Small lws calls of no family: `lws_wsi_tsi`, and the Rust view of the
//! C-defined `lws_snprintf` (see `host/ffi/c/variadic.c`, which also
//! defines `_lws_log` for plugins built against lws's own headers).

use std::ffi::c_int;

use comlink_plugin_api::abi::Lws;

use crate::host::ffi::boundary::{export, wsi};

export! {
    /// `lws_wsi_tsi`: the service thread index of `wsi` (as `lws_get_tsi`).
    fn lws_wsi_tsi(p: *mut Lws) -> c_int {
        Ok(c_int::try_from(wsi(&p)?.tsi).unwrap_or(0))
    } ?= 0
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_char, c_int};

    extern "C" {
        fn lws_snprintf(str: *mut c_char, size: usize, format: *const c_char, ...) -> c_int;
    }

    /// What was stored, and the count returned: the stored characters, or
    /// `size` when cut short; 0 for a zero size.
    #[test]
    fn lws_snprintf_counts_what_it_stored() {
        let mut buf = [0x55 as c_char; 8];
        // SAFETY: an 8-byte buffer, a format taking one int.
        let n = unsafe { lws_snprintf(buf.as_mut_ptr(), 8, c"n=%d".as_ptr(), 42 as c_int) };
        assert_eq!(n, 4);
        assert_eq!(buf[4], 0);
        // SAFETY: as above; the output is cut at 7 characters and a NUL.
        let n =
            unsafe { lws_snprintf(buf.as_mut_ptr(), 8, c"%s".as_ptr(), c"0123456789".as_ptr()) };
        assert_eq!(n, 8);
        assert_eq!(buf[7], 0);
        assert_eq!(buf[6] as u8, b'6');
        // SAFETY: size 0: nothing is written.
        let n = unsafe { lws_snprintf(buf.as_mut_ptr(), 0, c"x".as_ptr()) };
        assert_eq!(n, 0);
    }
}
