//! The lws HTTP response calls: building a head in the plugin's buffer
//! (`lws_add_http_header_*`, `lws_finalize_http_header`) and the one-call
//! answers. The response itself is [`http_response`]'s; these functions
//! turn the plugin's cursor (`unsigned char **p`, `end`) into a checked
//! [`Cursor`] and its strings into Rust values.

use std::ffi::{c_char, c_int, c_uchar, c_uint};

use comlink_plugin_api::abi::{
    token_header, Lws, TokenKind, LWS_ILLEGAL_HTTP_CONTENT_LEN, LWS_WRITE_H2_STREAM_END,
    LWS_WRITE_HTTP_HEADERS,
};

use crate::host::ffi::boundary::{
    bytes_or_cstr, cstr, export, http_wsi, text, written, wsi, Cursor, Fault,
};
use crate::host::http_response::{self, header_line, redirect_head, status_line};

/// The plugin's cursor.
///
/// # Safety
///
/// lws's contract for `p` and `end`: see [`Cursor::new`].
unsafe fn cursor<'a>(p: *mut *mut c_uchar, end: *mut c_uchar) -> Result<Cursor<'a>, Fault> {
    // SAFETY: passed on to the caller (same contract).
    unsafe { Cursor::new(p, end) }
}

export! {
    /// `lws_add_http_header_status`: the status line.
    fn lws_add_http_header_status(
        _wsi: *mut Lws,
        code: c_uint,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        unsafe { cursor(p, end) }?.put(&status_line(code))?;
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_add_http_header_by_name`: `name` includes its ':' ("x-foo:").
    fn lws_add_http_header_by_name(
        _wsi: *mut Lws,
        name: *const c_uchar,
        value: *const c_uchar,
        length: c_int,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        // SAFETY: lws contract: `name` is a C string, `value` has `length`
        // bytes.
        let (name, value) = unsafe { (bytes_or_cstr(name, -1)?, bytes_or_cstr(value, length)?) };
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        unsafe { cursor(p, end) }?.put(&header_line(name, value))?;
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_add_http_header_by_token`.
    fn lws_add_http_header_by_token(
        _wsi: *mut Lws,
        token: c_int,
        value: *const c_uchar,
        length: c_int,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        let Some(TokenKind::Header(name)) = token_header(token) else {
            return Ok(1);
        };
        // SAFETY: lws contract: `value` has `length` bytes.
        let value = unsafe { bytes_or_cstr(value, length) }?;
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        unsafe { cursor(p, end) }?.put(&header_line(name.as_bytes(), value))?;
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_add_http_header_content_length`.
    fn lws_add_http_header_content_length(
        _wsi: *mut Lws,
        content_length: u64,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        let line = format!("content-length: {content_length}\r\n");
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        unsafe { cursor(p, end) }?.put(line.as_bytes())?;
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_finalize_http_header`: the blank line ending the head.
    fn lws_finalize_http_header(_wsi: *mut Lws, p: *mut *mut c_uchar, end: *mut c_uchar) -> c_int {
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        unsafe { cursor(p, end) }?.put(b"\r\n")?;
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_finalize_write_http_header`: finalizes the head that starts at
    /// `start` and writes it. `start` must not be after `*p` (lws would
    /// write garbage; here the call fails, nothing written).
    fn lws_finalize_write_http_header(
        w: *mut Lws,
        start: *mut c_uchar,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        let w = wsi(&w)?;
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        let mut c = unsafe { cursor(p, end) }?;
        // Checked before the blank line goes in, so a refusal changes nothing.
        // SAFETY: lws contract: the head starts at `start` in the same buffer.
        unsafe { written(start, c.at()) }?;
        c.put(b"\r\n")?;
        // SAFETY: as above; `start..*p` is the head just completed.
        let head = unsafe { written(start, c.at()) }?;
        w.write(head, LWS_WRITE_HTTP_HEADERS)?;
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_add_http_common_headers`: status, content-type and (unless
    /// `LWS_ILLEGAL_HTTP_CONTENT_LEN`) content-length.
    fn lws_add_http_common_headers(
        _wsi: *mut Lws,
        code: c_uint,
        content_type: *const c_char,
        content_len: u64,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        let mut c = unsafe { cursor(p, end) }?;
        c.put(&status_line(code))?;
        // SAFETY: lws contract: `content_type` is null or a C string.
        if let Some(ctype) = unsafe { cstr(content_type) } {
            c.put(&header_line(b"content-type", ctype.to_bytes()))?;
        }
        if content_len != LWS_ILLEGAL_HTTP_CONTENT_LEN {
            c.put(format!("content-length: {content_len}\r\n").as_bytes())?;
        }
        Ok(0)
    } ?= 1
}

export! {
    /// `lws_return_http_status`: a whole status answer (lws's small page).
    fn lws_return_http_status(p: *mut Lws, code: c_uint, html_body: *const c_char) -> c_int {
        let w = http_wsi(&p)?;
        // SAFETY: lws contract: `html_body` is null or a C string.
        let body = unsafe { text(html_body) };
        http_response::return_status(w, code, &body)?;
        Ok(0)
    } ?= -1
}

export! {
    /// `lws_http_redirect`: builds the redirect head at `*p` and writes it;
    /// the `lws_write` result.
    fn lws_http_redirect(
        w: *mut Lws,
        code: c_int,
        loc: *const c_uchar,
        len: c_int,
        p: *mut *mut c_uchar,
        end: *mut c_uchar,
    ) -> c_int {
        let w = wsi(&w)?;
        // SAFETY: lws contract: `loc` has `len` bytes.
        let head = redirect_head(code as c_uint, unsafe { bytes_or_cstr(loc, len) }?);
        // SAFETY: lws contract: `*p..end` is the plugin's head buffer.
        let mut c = unsafe { cursor(p, end) }?;
        // lws builds the head in the plugin's buffer; so do we, for the
        // plugin's sake (it may look), and write our copy of it.
        c.put(&head)?;
        let n = w
            .write(&head, LWS_WRITE_HTTP_HEADERS | LWS_WRITE_H2_STREAM_END)?;
        Ok(c_int::try_from(n).unwrap_or(c_int::MAX))
    } ?= -1
}

export! {
    /// `lws_http_transaction_completed`: the response is complete; the
    /// connection is kept for the next request (0).
    fn lws_http_transaction_completed(p: *mut Lws) -> c_int {
        let w = http_wsi(&p)?;
        http_response::transaction_completed(w)?;
        Ok(0)
    } ?= -1
}

export! {
    /// `lws_serve_http_file`: the file as the whole response; the protocol
    /// gets HTTP_FILE_COMPLETION at its end.
    fn lws_serve_http_file(
        p: *mut Lws,
        file: *const c_char,
        content_type: *const c_char,
        other_headers: *const c_char,
        other_headers_len: c_int,
    ) -> c_int {
        let w = http_wsi(&p)?;
        // SAFETY: lws contract: `file` and `content_type` are C strings (or
        // null), `other_headers` has `other_headers_len` bytes.
        let (path, ctype, other) = unsafe {
            (
                text(file),
                cstr(content_type).map(|c| c.to_string_lossy().into_owned()),
                bytes_or_cstr(other_headers as *const u8, other_headers_len.max(0))?,
            )
        };
        http_response::serve_file(w, &path, ctype.as_deref(), other)?;
        Ok(0)
    } ?= -1
}

export! {
    /// `lws_http_get_uri_and_method`.
    fn lws_http_get_uri_and_method(
        p: *mut Lws,
        puri_ptr: *mut *mut c_char,
        puri_len: *mut c_int,
    ) -> c_int {
        let Some(req) = wsi(&p)?.request.as_ref() else {
            return Ok(-1);
        };
        let Some(m) = http_response::method_number(&req.method) else {
            return Ok(-1);
        };
        // SAFETY: non-null out pointers of the plugin's.
        if let (Some(uri), Some(len)) = unsafe { (puri_ptr.as_mut(), puri_len.as_mut()) } {
            // The path stays owned by the wsi (lws: "owned by the host").
            *uri = req.path_c.as_ptr() as *mut c_char;
            *len = c_int::try_from(req.path_c.as_bytes().len()).unwrap_or(0);
        }
        Ok(m)
    } ?= -1
}
