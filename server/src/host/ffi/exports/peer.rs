//! Who the client of a connection is: the certificate it presented
//! (`lws_tls_peer_cert_info`), and the name a protocol gives it for the
//! access log (`comlink_access_log_user`, a Comlink extension).

use std::ffi::{c_char, c_int};

use comlink_plugin_api::abi::{
    Lws, LwsTlsCertInfoResults, LWS_TLS_CERT_INFO_DER_RAW, LWS_TLS_CERT_INFO_VERIFIED,
};

use crate::host::ffi::boundary::{export, text, wsi, Fault};

export! {
    /// `lws_tls_peer_cert_info`: what the client's certificate says. Only a
    /// certificate the vhost's `host-ssl-ca` verified is known, so
    /// `LWS_TLS_CERT_INFO_VERIFIED` is 1 whenever there is one;
    /// `LWS_TLS_CERT_INFO_DER_RAW` copies the certificate (DER) into
    /// `buf->ns.name` (`len` bytes there; too small: -1 with the size in
    /// `buf->ns.len`). Other kinds are not provided (-1): a protocol reads
    /// the names it needs from the DER. No certificate: -1 (and `ns.len` 0).
    fn lws_tls_peer_cert_info(
        p: *mut Lws,
        kind: c_int,
        buf: *mut LwsTlsCertInfoResults,
        len: usize,
    ) -> c_int {
        let w = wsi(&p)?;
        if buf.is_null() {
            return Err(Fault::Null("buf"));
        }
        let cert = w.request.as_ref().and_then(|r| r.peer_cert.clone());
        match kind {
            LWS_TLS_CERT_INFO_VERIFIED => {
                if cert.is_none() {
                    return Ok(-1);
                }
                // SAFETY: `buf` is the caller's union (checked non-null).
                unsafe { (*buf).verified = 1 };
                Ok(0)
            }
            LWS_TLS_CERT_INFO_DER_RAW => {
                let der = cert.as_deref().unwrap_or(&[]);
                let n = c_int::try_from(der.len()).unwrap_or(c_int::MAX);
                // SAFETY: `buf` is the caller's union (checked non-null);
                // `ns.name` is writable for `len` bytes (lws contract: the
                // caller sizes the room behind the union and passes it as
                // `len`), and at most `len` bytes are written.
                unsafe {
                    (*buf).ns.len = n;
                    if der.is_empty() || der.len() > len {
                        return Ok(-1);
                    }
                    let name = std::ptr::addr_of_mut!((*buf).ns.name) as *mut u8;
                    std::ptr::copy_nonoverlapping(der.as_ptr(), name, der.len());
                }
                Ok(0)
            }
            _ => Ok(-1),
        }
    } ?= -1
}

export! {
    /// `comlink_access_log_user`: the word the access log shows as the user
    /// of this request (or WebSocket upgrade), instead of `-`. Call it
    /// before the answer: by LWS_CALLBACK_HTTP on a `callback://` mount, in
    /// FILTER_PROTOCOL_CONNECTION for an upgrade. NULL clears it.
    fn comlink_access_log_user(p: *mut Lws, user: *const c_char) -> c_int {
        let req = wsi(&p)?
            .request
            .as_ref()
            .ok_or(Fault::Refused("not a request".into()))?;
        // SAFETY: lws contract: `user` is NULL or a C string.
        *req.log_user.borrow_mut() = (!user.is_null()).then(|| unsafe { text(user) });
        Ok(0)
    } ?= -1
}
