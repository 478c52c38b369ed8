//! The request that opened a connection: headers and url arguments.

use super::*;

fn header_value(w: &Wsi, token: c_int) -> Option<Vec<u8>> {
    let req = w.request.as_ref()?;
    match token_header(token)? {
        TokenKind::Header(name) => {
            let headers = req.headers.borrow();
            let vals: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
            (!vals.is_empty()).then(|| vals.join(&b","[..]))
        }
        TokenKind::MethodUri(method) => {
            (method == req.method).then(|| req.path.clone().into_bytes())
        }
        TokenKind::UriArgs => req.query.clone().map(String::into_bytes),
        TokenKind::Pseudo(_) => None,
    }
}

/// `lws_hdr_total_length`: length of the header (0 when absent).
#[no_mangle]
pub extern "C" fn lws_hdr_total_length(p: *mut Lws, token: c_int) -> c_int {
    guard("lws_hdr_total_length", 0, || {
        wsi("lws_hdr_total_length", p)
            .and_then(|w| header_value(w, token))
            .map_or(0, |v| c_int::try_from(v.len()).unwrap_or(c_int::MAX))
    })
}

/// `lws_hdr_copy`: copies the header NUL-terminated; its length, or -1
/// when it does not fit (0 when absent).
#[no_mangle]
pub extern "C" fn lws_hdr_copy(p: *mut Lws, dest: *mut c_char, len: c_int, token: c_int) -> c_int {
    guard("lws_hdr_copy", -1, || {
        let Some(w) = wsi("lws_hdr_copy", p) else {
            return -1;
        };
        let cap = usize::try_from(len).unwrap_or(0);
        let v = header_value(w, token).unwrap_or_default();
        if !copy_out(&v, dest, cap) {
            return -1;
        }
        c_int::try_from(v.len()).unwrap_or(-1)
    })
}

/// The value of url argument `name` (`name` may end with '=').
fn urlarg(w: &Wsi, name: &str) -> Option<String> {
    let q = w.request.as_ref()?.query.as_deref()?;
    let key = name.strip_suffix('=').unwrap_or(name);
    for part in q.split('&') {
        let decoded = percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        let (k, v) = decoded.split_once('=').unwrap_or((decoded.as_str(), ""));
        if k == key {
            return Some(v.to_string());
        }
    }
    None
}

/// `lws_get_urlarg_by_name_safe`: length of the value copied, or -1.
#[no_mangle]
pub extern "C" fn lws_get_urlarg_by_name_safe(
    p: *mut Lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> c_int {
    guard("lws_get_urlarg_by_name_safe", -1, || {
        let Some(w) = wsi("lws_get_urlarg_by_name_safe", p) else {
            return -1;
        };
        match urlarg(w, &cstr_lossy(name)) {
            Some(v) if copy_out(v.as_bytes(), buf, usize::try_from(len).unwrap_or(0)) => {
                c_int::try_from(v.len()).unwrap_or(-1)
            }
            _ => -1,
        }
    })
}

/// `lws_get_urlarg_by_name`: `buf` holding the value, or NULL.
#[no_mangle]
pub extern "C" fn lws_get_urlarg_by_name(
    p: *mut Lws,
    name: *const c_char,
    buf: *mut c_char,
    len: c_int,
) -> *const c_char {
    if lws_get_urlarg_by_name_safe(p, name, buf, len) < 0 {
        std::ptr::null()
    } else {
        buf
    }
}
