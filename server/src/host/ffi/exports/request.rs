//! The request that opened a connection: headers and url arguments
//! (read by [`RequestInfo`](crate::host::wsi::RequestInfo)'s methods).

use std::ffi::{c_char, c_int, c_uchar, CString};
use std::sync::OnceLock;

use comlink_plugin_api::abi::{token_header, Lws, TokenKind};

use crate::host::ffi::boundary::{bytes_or_cstr, export, out_buf, put_cstr, text, wsi, Fault};

/// `v`'s length as lws returns it.
fn len_of(v: &[u8]) -> c_int {
    c_int::try_from(v.len()).unwrap_or(c_int::MAX)
}

/// Copies `v` NUL-terminated into the plugin's `dest` of `len` bytes: its
/// length, or -1 when it does not fit.
///
/// # Safety
///
/// `dest` is null or writable for `len` bytes (lws's `char *, int` pair).
unsafe fn copy_to(v: &[u8], dest: *mut c_char, len: c_int) -> c_int {
    // SAFETY: passed on to the caller (same contract).
    match unsafe { out_buf(dest, len) } {
        Ok(buf) => {
            if put_cstr(buf, v) {
                len_of(v)
            } else {
                -1
            }
        }
        Err(_) => -1,
    }
}

export! {
    /// `lws_hdr_total_length`: length of the header (0 when absent).
    fn lws_hdr_total_length(p: *mut Lws, token: c_int) -> c_int {
        let w = wsi(&p)?;
        Ok(w.request
            .as_ref()
            .and_then(|r| r.token(token))
            .map_or(0, |v| len_of(&v)))
    } ?= 0
}

export! {
    /// `lws_hdr_copy`: copies the header NUL-terminated; its length, or -1
    /// when it does not fit (0 when absent).
    fn lws_hdr_copy(p: *mut Lws, dest: *mut c_char, len: c_int, token: c_int) -> c_int {
        let w = wsi(&p)?;
        let v = w.request.as_ref().and_then(|r| r.token(token)).unwrap_or_default();
        // SAFETY: lws contract: `dest` is writable for `len` bytes.
        Ok(unsafe { copy_to(&v, dest, len) })
    } ?= -1
}

export! {
    /// `lws_hdr_fragment_length`: length of one fragment (0 when absent).
    fn lws_hdr_fragment_length(p: *mut Lws, h: c_int, frag_idx: c_int) -> c_int {
        let w = wsi(&p)?;
        let v = w.request.as_ref().zip(usize::try_from(frag_idx).ok())
            .and_then(|(r, i)| r.fragment(h, i));
        Ok(v.map_or(0, |v| len_of(&v)))
    } ?= 0
}

export! {
    /// `lws_hdr_copy_fragment`: a NUL-terminated copy of one fragment; its
    /// length, or -1 when absent or too long for `len`.
    fn lws_hdr_copy_fragment(
        p: *mut Lws,
        dest: *mut c_char,
        len: c_int,
        h: c_int,
        frag_idx: c_int,
    ) -> c_int {
        let w = wsi(&p)?;
        let v = w.request.as_ref().zip(usize::try_from(frag_idx).ok())
            .and_then(|(r, i)| r.fragment(h, i));
        let Some(v) = v else {
            return Ok(-1);
        };
        // SAFETY: lws contract: `dest` is writable for `len` bytes.
        Ok(unsafe { copy_to(&v, dest, len) })
    } ?= -1
}

/// The value of the header without a token called `(name, nlen)`.
///
/// # Safety
///
/// `name` is null, `nlen` readable bytes, or a C string when `nlen` < 0.
unsafe fn custom(p: *mut Lws, name: *const c_char, nlen: c_int) -> Result<Option<Vec<u8>>, Fault> {
    let w = wsi(&p)?;
    // SAFETY: passed on to the caller (same contract).
    let raw = unsafe { bytes_or_cstr(name as *const u8, nlen) }?;
    let name = std::str::from_utf8(raw).ok();
    Ok(w.request.as_ref().zip(name).and_then(|(r, n)| r.named(n)))
}

export! {
    /// `lws_hdr_custom_length`: length of a header without a token (-1 if
    /// absent).
    fn lws_hdr_custom_length(p: *mut Lws, name: *const c_char, nlen: c_int) -> c_int {
        // SAFETY: lws contract: `name` holds `nlen` bytes.
        let v = unsafe { custom(p, name, nlen) }?;
        Ok(v.map_or(-1, |v| c_int::try_from(v.len()).unwrap_or(-1)))
    } ?= -1
}

export! {
    /// `lws_hdr_custom_copy`: a NUL-terminated copy of a header without a
    /// token; its length, or -1 when absent or too long for `len`.
    fn lws_hdr_custom_copy(
        p: *mut Lws,
        dst: *mut c_char,
        len: c_int,
        name: *const c_char,
        nlen: c_int,
    ) -> c_int {
        // SAFETY: lws contract: `name` holds `nlen` bytes.
        let Some(v) = unsafe { custom(p, name, nlen) }? else {
            return Ok(-1);
        };
        // SAFETY: lws contract: `dst` is writable for `len` bytes.
        Ok(unsafe { copy_to(&v, dst, len) })
    } ?= -1
}

/// `lws_get_urlarg_by_name_safe`'s work: the value's length, or -1.
///
/// # Safety
///
/// `name` is null or a C string; `buf` is null or writable for `len` bytes.
unsafe fn urlarg(
    p: *mut Lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> Result<c_int, Fault> {
    let w = wsi(&p)?;
    // SAFETY: passed on to the caller (same contract).
    let name = unsafe { text(name) };
    match w.request.as_ref().and_then(|r| r.urlarg(&name)) {
        // SAFETY: passed on to the caller (same contract).
        Some(v) => Ok(unsafe { copy_to(v.as_bytes(), buf, len) }),
        None => Ok(-1),
    }
}

export! {
    /// `lws_get_urlarg_by_name_safe`: length of the value copied, or -1.
    fn lws_get_urlarg_by_name_safe(
        p: *mut Lws,
        name: *const c_char,
        buf: *mut c_char,
        len: c_int,
    ) -> c_int {
        // SAFETY: lws contract: `name` is a C string, `buf` has `len` bytes.
        unsafe { urlarg(p, name, buf, len) }
    } ?= -1
}

export! {
    /// `lws_get_urlarg_by_name`: `buf` holding the value, or NULL.
    fn lws_get_urlarg_by_name(
        p: *mut Lws,
        name: *const c_char,
        buf: *mut c_char,
        len: c_int,
    ) -> *const c_char {
        // SAFETY: lws contract: `name` is a C string, `buf` has `len` bytes.
        let n = unsafe { urlarg(p, name, buf, len) }?;
        Ok(if n < 0 { std::ptr::null() } else { buf })
    } ?= std::ptr::null()
}

export! {
    /// `lws_token_to_string`: the header name of a token, with its ':'.
    fn lws_token_to_string(token: c_int) -> *const c_uchar {
        static NAMES: OnceLock<Vec<(c_int, CString)>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            comlink_plugin_api::abi::TOKENS
                .iter()
                .filter_map(|&(_, idx)| match token_header(idx) {
                    Some(TokenKind::Header(n)) => Some((idx, CString::new(format!("{n}:")).ok()?)),
                    _ => None,
                })
                .collect()
        });
        Ok(names
            .iter()
            .find(|(i, _)| *i == token)
            .map_or(std::ptr::null(), |(_, n)| n.as_ptr() as *const c_uchar))
    } ?= std::ptr::null()
}
