//! Who the client of a connection is: the certificate it presented
//! (`lws_tls_peer_cert_info`), and the name a protocol gives it for the
//! access log (`comlink_access_log_user`, a Comlink extension).

use super::*;

/// `lws_tls_peer_cert_info`: what the client's certificate says. Only a
/// certificate the vhost's `host-ssl-ca` verified is known, so
/// `LWS_TLS_CERT_INFO_VERIFIED` is 1 whenever there is one;
/// `LWS_TLS_CERT_INFO_DER_RAW` copies the certificate (DER) into
/// `buf->ns.name` (`len` bytes there; too small: -1 with the size in
/// `buf->ns.len`). Other kinds are not provided (-1): a protocol reads the
/// names it needs from the DER. No certificate: -1 (and `ns.len` 0).
#[no_mangle]
pub extern "C" fn lws_tls_peer_cert_info(
    p: *mut Lws,
    kind: c_int,
    buf: *mut LwsTlsCertInfoResults,
    len: usize,
) -> c_int {
    guard("lws_tls_peer_cert_info", -1, || {
        let Some(w) = wsi("lws_tls_peer_cert_info", p) else {
            return -1;
        };
        if buf.is_null() {
            return -1;
        }
        let cert = w.request.as_ref().and_then(|r| r.peer_cert.clone());
        match kind {
            LWS_TLS_CERT_INFO_VERIFIED => {
                if cert.is_none() {
                    return -1;
                }
                // SAFETY: `buf` is the caller's union (checked non-null).
                unsafe { (*buf).verified = 1 };
                0
            }
            LWS_TLS_CERT_INFO_DER_RAW => {
                let der = cert.as_deref().unwrap_or(&[]);
                let n = c_int::try_from(der.len()).unwrap_or(c_int::MAX);
                // SAFETY: `buf` is the caller's union; `ns.name` is
                // writable for `len` bytes (lws contract: the caller sizes
                // the buffer behind the union and passes that room as
                // `len`), and we write at most `len`.
                unsafe {
                    (*buf).ns.len = n;
                    if der.is_empty() || der.len() > len {
                        return -1;
                    }
                    let name = std::ptr::addr_of_mut!((*buf).ns.name) as *mut u8;
                    std::ptr::copy_nonoverlapping(der.as_ptr(), name, der.len());
                }
                0
            }
            _ => -1,
        }
    })
}

/// `comlink_access_log_user`: the word the access log shows as the user of
/// this request (or WebSocket upgrade), instead of `-`. Call it before the
/// answer: by LWS_CALLBACK_HTTP on a `callback://` mount, in
/// FILTER_PROTOCOL_CONNECTION for an upgrade. NULL clears it.
#[no_mangle]
pub extern "C" fn comlink_access_log_user(p: *mut Lws, user: *const c_char) -> c_int {
    guard("comlink_access_log_user", -1, || {
        let Some(req) = wsi("comlink_access_log_user", p).and_then(|w| w.request.as_ref()) else {
            return -1;
        };
        *req.log_user.borrow_mut() = (!user.is_null()).then(|| cstr_lossy(user));
        0
    })
}
