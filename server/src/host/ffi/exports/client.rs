//! Connections a plugin opens: `lws_client_connect_via_info` reads the
//! plugin's connect info into a [`Target`] and calls
//! [`host::client::start`](crate::host::client::start).

use std::ffi::{c_char, c_int, c_uint};

use comlink_plugin_api::abi::{
    Lws, LwsClientConnectInfo, LCCSCF_ALLOW_INSECURE, LCCSCF_ALLOW_SELFSIGNED,
    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK, LCCSCF_USE_SSL,
};

use crate::host::client::{self, Ask, Target, TlsWanted};
use crate::host::ffi::boundary::{cstr, export, vhost, wsi, Fault};
use crate::host::wsi::Role;

/// A C string of the connect info, `None` for NULL.
///
/// # Safety
///
/// As [`cstr`].
unsafe fn opt(p: *const c_char) -> Option<String> {
    // SAFETY: passed on (same contract).
    unsafe { cstr(p) }.map(|c| c.to_string_lossy().into_owned())
}

export! {
    /// `lws_client_connect_via_info`: the new connection, or NULL when it
    /// cannot be started (no address, a bad vhost, no protocol to bind).
    fn lws_client_connect_via_info(i: *const LwsClientConnectInfo) -> *mut Lws {
        if i.is_null() {
            return Err(Fault::Null("ccinfo"));
        }
        // SAFETY: lws contract: `i` points at a filled connect info, read
        // only during this call.
        let info = unsafe { *i };
        // SAFETY: lws contract: every string member is NULL or a C string
        // valid during this call.
        let (address, path, host, origin, protocol, method, local) = unsafe {
            (
                opt(info.address).unwrap_or_default(),
                opt(info.path),
                opt(info.host),
                opt(info.origin),
                opt(info.protocol),
                opt(info.method),
                opt(info.local_protocol_name),
            )
        };
        let vh = if info.vhost.is_null() {
            None
        } else {
            let v = vhost(&info.vhost)?;
            let index = (*v).index;
            Some((v.site().clone(), index))
        };
        let flags = info.ssl_connection;
        let tls = (flags & LCCSCF_USE_SSL != 0).then_some(TlsWanted {
            any_cert: flags & (LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_INSECURE) != 0,
            skip_name: flags & LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK != 0,
        });
        let port = u16::try_from(info.port).unwrap_or(0);
        let target = Target {
            host: host.unwrap_or_else(|| address.clone()),
            address,
            port,
            tls,
            path: path.filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_owned()),
            origin,
            protocols: protocol.clone(),
            method,
        };
        let ask = Ask {
            vhost: vh,
            local: local.or(protocol),
            userdata: info.userdata,
            opaque: info.opaque_user_data,
        };
        let pwsi = info.pwsi;
        let made = client::start(ask, target, |w| {
            if !pwsi.is_null() {
                // SAFETY: lws contract: a non-NULL `pwsi` is where the
                // plugin wants the new connection stored, writable now.
                unsafe { *pwsi = w as *mut Lws };
            }
        });
        match made {
            Ok(w) => Ok(w as *mut Lws),
            Err(e) => {
                if !pwsi.is_null() {
                    // SAFETY: as above.
                    unsafe { *pwsi = std::ptr::null_mut() };
                }
                Err(Fault::Refused(e.to_string()))
            }
        }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_http_client_read`: hands the body bytes waiting to the
    /// protocol as RECEIVE_CLIENT_HTTP_READ callbacks of at most `*len`
    /// bytes. 0, or -1 when one of them asked to close.
    fn lws_http_client_read(p: *mut Lws, _buf: *mut *mut c_char, len: *mut c_int) -> c_int {
        let w = wsi(&p)?;
        if w.role != Role::HttpClient {
            return Err(Fault::Role(w.tag.clone(), "a client HTTP connection"));
        }
        // SAFETY: lws contract: `len` is NULL or the plugin's readable int.
        let max = unsafe { len.as_ref() }.copied().unwrap_or(0);
        let max = usize::try_from(max).unwrap_or(0).max(1);
        Ok(if w.client_read(max) { 0 } else { -1 })
    } ?= -1
}

export! {
    /// `lws_http_client_http_response`: the response's status, 0 before it.
    fn lws_http_client_http_response(p: *mut Lws) -> c_uint {
        Ok(c_uint::try_from(wsi(&p)?.client_status()).unwrap_or(0))
    } ?= 0
}

export! {
    /// `lws_client_http_body_pending`: nonzero = the request has a body,
    /// written with `lws_write` (`LWS_WRITE_HTTP`, the last part
    /// `LWS_WRITE_HTTP_FINAL`) in CLIENT_HTTP_WRITEABLE callbacks. Call it
    /// from CLIENT_APPEND_HANDSHAKE_HEADER, with `lws_callback_on_writable`.
    fn lws_client_http_body_pending(p: *mut Lws, something_left_to_send: c_int) {
        let w = wsi(&p)?;
        if let Some(c) = w.client.as_ref() {
            c.body_pending.set(something_left_to_send != 0);
        }
        Ok(())
    }
}
