//! The lws HTTP response functions: building a head in the plugin's buffer
//! (`lws_add_http_header_*`, `lws_finalize_http_header`), writing it and the
//! body (`lws_write` with the HTTP write types), and the one-call answers
//! (`lws_return_http_status`, `lws_http_redirect`, `lws_serve_http_file`).
//!
//! The head a plugin writes is parsed into the hyper response; `Server:`,
//! STS and configured headers are added by the server afterwards, so
//! `lws_add_http_header_status` writes only the status line.

use std::ffi::{c_char, c_int, c_uchar, c_uint, CStr, CString};
use std::sync::OnceLock;

use comlink_plugin_api::abi::{
    token_header, Lws, TokenKind, LWSAHH_CODE_MASK, LWSHUMETH_CONNECT, LWSHUMETH_DELETE,
    LWSHUMETH_GET, LWSHUMETH_HEAD, LWSHUMETH_OPTIONS, LWSHUMETH_PATCH, LWSHUMETH_POST,
    LWSHUMETH_PUT, LWS_ILLEGAL_HTTP_CONTENT_LEN, LWS_WRITE_H2_STREAM_END, LWS_WRITE_HTTP,
    LWS_WRITE_HTTP_FINAL, LWS_WRITE_HTTP_HEADERS, LWS_WRITE_HTTP_HEADERS_CONTINUATION,
};
use http::StatusCode;

use super::exports::{cstr_lossy, guard, wsi};
use crate::host::wsi::{Role, Wsi};
use comlink_wire::head::parse as parse_head;

/// Appends `bytes` at `*p` if they fit before `end`; 0, or 1 when they don't.
fn append(p: *mut *mut c_uchar, end: *mut c_uchar, bytes: &[u8]) -> c_int {
    if p.is_null() || end.is_null() {
        return 1;
    }
    // SAFETY: `p` is the plugin's cursor into its own buffer, which is
    // writable up to `end` (lws contract); we check the room first.
    unsafe {
        let at = *p;
        if at.is_null()
            || (end as usize) < (at as usize)
            || (end as usize - at as usize) < bytes.len()
        {
            return 1;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len());
        *p = at.add(bytes.len());
    }
    0
}

/// `len` bytes at `v` (or up to NUL when `len` < 0).
fn bytes_of<'a>(v: *const c_uchar, len: c_int) -> &'a [u8] {
    if v.is_null() {
        return &[];
    }
    match usize::try_from(len) {
        // SAFETY: the plugin passes `len` readable bytes at `v`.
        Ok(n) => unsafe { std::slice::from_raw_parts(v, n) },
        // SAFETY: a negative length means a NUL-terminated string.
        Err(_) => unsafe { CStr::from_ptr(v as *const c_char) }.to_bytes(),
    }
}

fn status_line(code: c_uint) -> Vec<u8> {
    let code = (code & LWSAHH_CODE_MASK) as u16;
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP/1.1 {code} {reason}\r\n").into_bytes()
}

/// `lws_add_http_header_status`: the status line.
#[no_mangle]
pub extern "C" fn lws_add_http_header_status(
    _wsi: *mut Lws,
    code: c_uint,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_add_http_header_status", 1, || {
        append(p, end, &status_line(code))
    })
}

/// `lws_add_http_header_by_name`: `name` includes its ':' ("x-foo:").
#[no_mangle]
pub extern "C" fn lws_add_http_header_by_name(
    _wsi: *mut Lws,
    name: *const c_uchar,
    value: *const c_uchar,
    length: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_add_http_header_by_name", 1, || {
        let name = bytes_of(name, -1);
        let mut line = name.to_vec();
        if !name.ends_with(b":") {
            line.push(b':');
        }
        line.push(b' ');
        line.extend_from_slice(bytes_of(value, length));
        line.extend_from_slice(b"\r\n");
        append(p, end, &line)
    })
}

/// `lws_add_http_header_by_token`.
#[no_mangle]
pub extern "C" fn lws_add_http_header_by_token(
    _wsi: *mut Lws,
    token: c_int,
    value: *const c_uchar,
    length: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_add_http_header_by_token", 1, || {
        let Some(TokenKind::Header(name)) = token_header(token) else {
            return 1;
        };
        let mut line = format!("{name}: ").into_bytes();
        line.extend_from_slice(bytes_of(value, length));
        line.extend_from_slice(b"\r\n");
        append(p, end, &line)
    })
}

/// `lws_add_http_header_content_length`.
#[no_mangle]
pub extern "C" fn lws_add_http_header_content_length(
    _wsi: *mut Lws,
    content_length: u64,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_add_http_header_content_length", 1, || {
        append(
            p,
            end,
            format!("content-length: {content_length}\r\n").as_bytes(),
        )
    })
}

/// `lws_finalize_http_header`: the blank line ending the head.
#[no_mangle]
pub extern "C" fn lws_finalize_http_header(
    _wsi: *mut Lws,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_finalize_http_header", 1, || append(p, end, b"\r\n"))
}

/// `lws_finalize_write_http_header`: finalizes the head starting at `start`
/// and writes it.
#[no_mangle]
pub extern "C" fn lws_finalize_write_http_header(
    w: *mut Lws,
    start: *mut c_uchar,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_finalize_write_http_header", 1, || {
        if append(p, end, b"\r\n") != 0 || start.is_null() {
            return 1;
        }
        // SAFETY: `*p` is the plugin's cursor, just advanced by `append`.
        let len = unsafe { *p as usize } - start as usize;
        let n = super::exports::lws_write(w, start, len, LWS_WRITE_HTTP_HEADERS);
        c_int::from(n < 0)
    })
}

/// `lws_add_http_common_headers`: status, content-type and (unless
/// `LWS_ILLEGAL_HTTP_CONTENT_LEN`) content-length.
#[no_mangle]
pub extern "C" fn lws_add_http_common_headers(
    w: *mut Lws,
    code: c_uint,
    content_type: *const c_char,
    content_len: u64,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_add_http_common_headers", 1, || {
        if append(p, end, &status_line(code)) != 0 {
            return 1;
        }
        if !content_type.is_null() {
            let line = format!("content-type: {}\r\n", cstr_lossy(content_type));
            if append(p, end, line.as_bytes()) != 0 {
                return 1;
            }
        }
        if content_len != LWS_ILLEGAL_HTTP_CONTENT_LEN {
            return lws_add_http_header_content_length(w, content_len, p, end);
        }
        0
    })
}

/// The HTTP branch of `lws_write`.
pub fn write(w: &Wsi, data: &[u8], protocol: c_int) -> c_int {
    let base = protocol & 0x1f;
    let stream_end = protocol & LWS_WRITE_H2_STREAM_END != 0;
    let mut st = w.http.borrow_mut();
    match base {
        LWS_WRITE_HTTP_HEADERS | LWS_WRITE_HTTP_HEADERS_CONTINUATION => {
            if st.head.is_none() {
                tracing::error!("lws_write: {:?}: response head already sent", w.tag);
                return -1;
            }
            st.head_buf.extend_from_slice(data);
            if !st.head_buf.ends_with(b"\r\n\r\n") {
                return c_int::try_from(data.len()).unwrap_or(c_int::MAX);
            }
            let Some(head) = parse_head(&st.head_buf) else {
                tracing::error!(
                    "lws_write: {:?}: not a valid response head: {:?}",
                    w.tag,
                    String::from_utf8_lossy(&st.head_buf)
                );
                return -1;
            };
            st.head_buf.clear();
            if stream_end {
                st.finished = true;
            }
            if let Some(tx) = st.head.take() {
                let _ = tx.send(head);
            }
        }
        LWS_WRITE_HTTP | LWS_WRITE_HTTP_FINAL => {
            if st.finished {
                tracing::error!("lws_write: {:?}: the response is already complete", w.tag);
                return -1;
            }
            w.tx.borrow_mut().extend_from_slice(data);
            if base == LWS_WRITE_HTTP_FINAL || stream_end {
                st.finished = true;
            }
        }
        other => {
            tracing::error!("lws_write: write type {other} is not valid on an HTTP transaction");
            return -1;
        }
    }
    drop(st);
    w.could_have_pending.set(true);
    w.wake.notify_one();
    c_int::try_from(data.len()).unwrap_or(c_int::MAX)
}

fn http_wsi<'a>(name: &str, p: *mut Lws) -> Option<&'a Wsi> {
    let w = wsi(name, p)?;
    if w.role != Role::Http {
        tracing::error!("{name}: {:?} is not an HTTP transaction", w.tag);
        return None;
    }
    Some(w)
}

/// Sends a complete response at once (head + body) and finishes it.
fn answer(w: &Wsi, status: StatusCode, ctype: &str, body: &[u8]) -> c_int {
    answer_with(w, status, ctype, &[], body)
}

/// [`answer`] with `extra` headers.
fn answer_with(
    w: &Wsi,
    status: StatusCode,
    ctype: &str,
    extra: &[(http::HeaderName, http::HeaderValue)],
    body: &[u8],
) -> c_int {
    let mut st = w.http.borrow_mut();
    let Some(tx) = st.head.take() else {
        tracing::error!("{:?}: response head already sent", w.tag);
        return -1;
    };
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(ctype) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(body.len()),
    );
    for (name, value) in extra {
        headers.insert(name.clone(), value.clone());
    }
    let _ = tx.send(crate::host::wsi::Head { status, headers });
    w.tx.borrow_mut().extend_from_slice(body);
    st.finished = true;
    drop(st);
    w.wake.notify_one();
    0
}

/// `lws_return_http_status`: a whole status answer, lws's small page with
/// `html_body` after the code (truncated as lws does). A 404 on a vhost with
/// `error-document-404` is a 302 to that document instead, as in lws.
#[no_mangle]
pub extern "C" fn lws_return_http_status(
    p: *mut Lws,
    code: c_uint,
    html_body: *const c_char,
) -> c_int {
    guard("lws_return_http_status", -1, || {
        let Some(w) = http_wsi("lws_return_http_status", p) else {
            return -1;
        };
        let code = code & LWSAHH_CODE_MASK;
        let status = StatusCode::from_u16(code as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::NOT_FOUND {
            let doc = w.site.vhosts[w.vhost].cfg.error_document_404.as_deref();
            let path = w.request.as_ref().map(|r| r.path.as_str());
            if let Some(doc) = doc.filter(|d| Some(*d) != path) {
                if let Ok(loc) = http::HeaderValue::from_str(doc) {
                    return answer_with(
                        w,
                        StatusCode::FOUND,
                        "text/html",
                        &[(http::header::LOCATION, loc)],
                        b"",
                    );
                }
            }
        }
        let inner = if html_body.is_null() {
            String::new()
        } else {
            cstr_lossy(html_body)
        };
        let mut body = format!(
            "<html><head><meta charset=utf-8 http-equiv=\"Content-Language\" content=\"en\"/>\
             <link rel=\"stylesheet\" type=\"text/css\" href=\"/error.css\"/></head>\
             <body><h1>{code}</h1>{inner}</body></html>"
        )
        .into_bytes();
        body.truncate(LWS_STATUS_PAGE_MAX);
        answer(w, status, "text/html", &body)
    })
}

/// The most of a status page `lws_return_http_status` sends (its 510-byte
/// buffer, less the terminating NUL).
const LWS_STATUS_PAGE_MAX: usize = 509;

/// `lws_http_redirect`: builds the redirect head at `*p` and writes it.
#[no_mangle]
pub extern "C" fn lws_http_redirect(
    w: *mut Lws,
    code: c_int,
    loc: *const c_uchar,
    len: c_int,
    p: *mut *mut c_uchar,
    end: *mut c_uchar,
) -> c_int {
    guard("lws_http_redirect", -1, || {
        if p.is_null() {
            return -1;
        }
        // SAFETY: the plugin's cursor.
        let start = unsafe { *p };
        let mut head = status_line(code as c_uint);
        head.extend_from_slice(b"location: ");
        head.extend_from_slice(bytes_of(loc, len));
        head.extend_from_slice(b"\r\ncontent-type: text/html\r\ncontent-length: 0\r\n\r\n");
        if append(p, end, &head) != 0 {
            return -1;
        }
        super::exports::lws_write(
            w,
            start,
            head.len(),
            LWS_WRITE_HTTP_HEADERS | LWS_WRITE_H2_STREAM_END,
        )
    })
}

/// `lws_http_transaction_completed`: the response is complete; the
/// connection is kept for the next request (0).
#[no_mangle]
pub extern "C" fn lws_http_transaction_completed(p: *mut Lws) -> c_int {
    guard("lws_http_transaction_completed", -1, || {
        let Some(w) = http_wsi("lws_http_transaction_completed", p) else {
            return -1;
        };
        let mut st = w.http.borrow_mut();
        if st.head.is_some() {
            // Completed without a head: lws would have nothing to send.
            drop(st);
            return answer(w, StatusCode::OK, "text/html", b"");
        }
        st.finished = true;
        drop(st);
        w.wake.notify_one();
        0
    })
}

/// `lws_serve_http_file`: the file as the whole response; the protocol gets
/// HTTP_FILE_COMPLETION at its end.
#[no_mangle]
pub extern "C" fn lws_serve_http_file(
    p: *mut Lws,
    file: *const c_char,
    content_type: *const c_char,
    other_headers: *const c_char,
    other_headers_len: c_int,
) -> c_int {
    guard("lws_serve_http_file", -1, || {
        let Some(w) = http_wsi("lws_serve_http_file", p) else {
            return -1;
        };
        let path = cstr_lossy(file);
        let Ok(f) = std::fs::File::open(&path) else {
            return lws_return_http_status(p, 404, std::ptr::null());
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut st = w.http.borrow_mut();
        let Some(tx) = st.head.take() else {
            return -1;
        };
        let mut extra = b"HTTP/1.1 200 OK\r\n".to_vec();
        extra.extend_from_slice(bytes_of(
            other_headers as *const c_uchar,
            other_headers_len.max(0),
        ));
        extra.extend_from_slice(b"\r\n\r\n");
        let mut headers = parse_head(&extra).map(|h| h.headers).unwrap_or_default();
        if let Ok(v) = http::HeaderValue::from_str(&cstr_lossy(content_type)) {
            if !content_type.is_null() {
                headers.insert(http::header::CONTENT_TYPE, v);
            }
        }
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        let _ = tx.send(crate::host::wsi::Head {
            status: StatusCode::OK,
            headers,
        });
        st.file = Some((f, len));
        drop(st);
        w.wake.notify_one();
        0
    })
}

/// `lws_http_get_uri_and_method`.
#[no_mangle]
pub extern "C" fn lws_http_get_uri_and_method(
    p: *mut Lws,
    puri_ptr: *mut *mut c_char,
    puri_len: *mut c_int,
) -> c_int {
    guard("lws_http_get_uri_and_method", -1, || {
        let Some(req) = wsi("lws_http_get_uri_and_method", p).and_then(|w| w.request.as_ref())
        else {
            return -1;
        };
        let m = match req.method.as_str() {
            "GET" => LWSHUMETH_GET,
            "POST" => LWSHUMETH_POST,
            "OPTIONS" => LWSHUMETH_OPTIONS,
            "PUT" => LWSHUMETH_PUT,
            "PATCH" => LWSHUMETH_PATCH,
            "DELETE" => LWSHUMETH_DELETE,
            "CONNECT" => LWSHUMETH_CONNECT,
            "HEAD" => LWSHUMETH_HEAD,
            _ => return -1,
        };
        if !puri_ptr.is_null() && !puri_len.is_null() {
            // SAFETY: non-null out pointers from the plugin; the path stays
            // owned by the wsi (lws contract: "owned by the host").
            unsafe {
                *puri_ptr = req.path_c.as_ptr() as *mut c_char;
                *puri_len = c_int::try_from(req.path_c.as_bytes().len()).unwrap_or(0);
            }
        }
        m
    })
}

/// `lws_token_to_string`: the header name of a token, with its ':'.
#[no_mangle]
pub extern "C" fn lws_token_to_string(token: c_int) -> *const c_uchar {
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
    names
        .iter()
        .find(|(i, _)| *i == token)
        .map_or(std::ptr::null(), |(_, n)| n.as_ptr() as *const c_uchar)
}

fn custom_header(p: *mut Lws, name: *const c_char, nlen: c_int) -> Option<Vec<u8>> {
    let w = wsi("lws_hdr_custom", p)?;
    let raw = bytes_of(name as *const c_uchar, nlen);
    let name = std::str::from_utf8(raw).ok()?.trim_end_matches(':');
    let req = w.request.as_ref()?;
    let headers = req.headers.borrow();
    let vals: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
    (!vals.is_empty()).then(|| vals.join(&b","[..]))
}

/// `lws_hdr_custom_length`: length of a header without a token (-1 if absent).
#[no_mangle]
pub extern "C" fn lws_hdr_custom_length(p: *mut Lws, name: *const c_char, nlen: c_int) -> c_int {
    guard("lws_hdr_custom_length", -1, || {
        custom_header(p, name, nlen).map_or(-1, |v| c_int::try_from(v.len()).unwrap_or(-1))
    })
}

/// `lws_hdr_custom_copy`: a NUL-terminated copy of a header without a token.
#[no_mangle]
pub extern "C" fn lws_hdr_custom_copy(
    p: *mut Lws,
    dst: *mut c_char,
    len: c_int,
    name: *const c_char,
    nlen: c_int,
) -> c_int {
    guard("lws_hdr_custom_copy", -1, || {
        let Some(v) = custom_header(p, name, nlen) else {
            return -1;
        };
        let cap = usize::try_from(len).unwrap_or(0);
        if dst.is_null() || v.len() + 1 > cap {
            return -1;
        }
        // SAFETY: `dst` is writable for `len` bytes (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(v.as_ptr(), dst as *mut u8, v.len());
            *dst.add(v.len()) = 0;
        }
        c_int::try_from(v.len()).unwrap_or(-1)
    })
}

/// Fragment `idx` of token `h`: url arguments one by one (decoded), header
/// values one per occurrence.
fn fragment(p: *mut Lws, h: c_int, idx: c_int) -> Option<Vec<u8>> {
    let w = wsi("lws_hdr_fragment", p)?;
    let req = w.request.as_ref()?;
    let idx = usize::try_from(idx).ok()?;
    match token_header(h)? {
        TokenKind::UriArgs => {
            let q = req.query.as_deref()?;
            let part = q.split('&').nth(idx)?;
            Some(percent_encoding::percent_decode_str(&part.replace('+', " ")).collect::<Vec<u8>>())
        }
        TokenKind::Header(name) => req
            .headers
            .borrow()
            .get_all(name)
            .iter()
            .nth(idx)
            .map(|v| v.as_bytes().to_vec()),
        TokenKind::MethodUri(m) => {
            (idx == 0 && m == req.method).then(|| req.path.clone().into_bytes())
        }
        TokenKind::Pseudo(_) => None,
    }
}

/// `lws_hdr_fragment_length`: length of one fragment (0 when absent).
#[no_mangle]
pub extern "C" fn lws_hdr_fragment_length(p: *mut Lws, h: c_int, frag_idx: c_int) -> c_int {
    guard("lws_hdr_fragment_length", 0, || {
        fragment(p, h, frag_idx).map_or(0, |v| c_int::try_from(v.len()).unwrap_or(0))
    })
}

/// `lws_hdr_copy_fragment`: a NUL-terminated copy of one fragment; its
/// length, or -1 when absent or too long for `len`.
#[no_mangle]
pub extern "C" fn lws_hdr_copy_fragment(
    p: *mut Lws,
    dest: *mut c_char,
    len: c_int,
    h: c_int,
    frag_idx: c_int,
) -> c_int {
    guard("lws_hdr_copy_fragment", -1, || {
        let Some(v) = fragment(p, h, frag_idx) else {
            return -1;
        };
        let cap = usize::try_from(len).unwrap_or(0);
        if dest.is_null() || v.len() + 1 > cap {
            return -1;
        }
        // SAFETY: `dest` is writable for `len` bytes (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(v.as_ptr(), dest as *mut u8, v.len());
            *dest.add(v.len()) = 0;
        }
        c_int::try_from(v.len()).unwrap_or(-1)
    })
}
