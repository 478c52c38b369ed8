//! `lws_tokenize_*`, over [`comlink_wire::tokenize`]: the plugin's
//! `struct lws_tokenize` is copied in, one step runs in safe code, and the
//! new position and the element found are copied back.

use std::ffi::{c_char, c_int};

use comlink_plugin_api::abi::LwsTokenize;
use comlink_wire::tokenize::{Tokenizer, DT_NEED_FIRST_CONTENT};

use crate::host::ffi::boundary::{bytes, export, out_buf, Fault};

export! {
    /// `lws_tokenize_init`: tokenize the C string `start` with `flags`.
    fn lws_tokenize_init(ts: *mut LwsTokenize, start: *const c_char, flags: c_int) {
        // SAFETY: lws contract: `ts` is the plugin's writable struct.
        let ts = unsafe { ts.as_mut() }.ok_or(Fault::Null("ts"))?;
        ts.start = start;
        ts.len = 0x7fff_ffff;
        ts.flags = flags as u16;
        ts.delim = DT_NEED_FIRST_CONTENT;
        Ok(())
    }
}

export! {
    /// `lws_tokenize`: the next element (`LWS_TOKZE_*`), with `token` and
    /// `token_len` set to where it is.
    fn lws_tokenize(ts: *mut LwsTokenize) -> c_int {
        // SAFETY: lws contract: `ts` is the plugin's writable struct.
        let ts = unsafe { ts.as_mut() }.ok_or(Fault::Null("ts"))?;
        ts.token = std::ptr::null();
        ts.token_len = 0;
        if ts.start.is_null() {
            return Ok(0);
        }
        // How much text there is: up to `len` bytes, or to its NUL.
        let mut n = 0;
        // SAFETY: lws contract: `start` has `len` readable bytes or is
        // NUL-terminated before them; reading stops at the NUL.
        while n < ts.len && unsafe { *ts.start.add(n) } != 0 {
            n += 1;
        }
        // SAFETY: the `n` bytes just read.
        let text = unsafe { bytes(ts.start as *const u8, n) }?;
        let mut t = Tokenizer {
            pos: 0,
            len: ts.len,
            flags: ts.flags,
            delim: ts.delim,
        };
        let found = t.next(text);
        // Every offset is within the text or at its end (the NUL).
        let base = ts.start;
        ts.start = base.wrapping_add(t.pos);
        ts.len = t.len;
        ts.delim = t.delim;
        if let Some(off) = found.token {
            ts.token = base.wrapping_add(off);
            ts.token_len = found.token_len;
        }
        Ok(c_int::from(found.elem as i8))
    } ?= -1
}

export! {
    /// `lws_tokenize_cstr`: the last element as a C string in `str` (`max`
    /// bytes). 0, or 1 when it does not fit.
    fn lws_tokenize_cstr(ts: *mut LwsTokenize, str: *mut c_char, max: usize) -> c_int {
        // SAFETY: lws contract: `ts` is the plugin's struct.
        let ts = unsafe { ts.as_ref() }.ok_or(Fault::Null("ts"))?;
        if ts.token_len + 1 >= max {
            return Ok(1);
        }
        // SAFETY: lws contract: `str` has `max` writable bytes.
        let out = unsafe { out_buf(str, max) }?;
        // SAFETY: `token` points at `token_len` bytes of the text (set by
        // lws_tokenize).
        let token = unsafe { bytes(ts.token as *const u8, ts.token_len) }?;
        out[..token.len()].copy_from_slice(token);
        out[token.len()] = 0;
        Ok(0)
    } ?= 1
}
