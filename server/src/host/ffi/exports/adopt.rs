//! `lws_adopt_*` and `lws_get_socket_fd`, over [`host::raw`](crate::host::raw).

use std::ffi::{c_char, c_int, c_void};
use std::os::fd::{FromRawFd, OwnedFd};

use comlink_plugin_api::abi::{
    Lws, LwsAdoptDesc, LwsSockFileFd, LwsVhost, LWS_ADOPT_ALLOW_SSL, LWS_ADOPT_FLAG_RAW_PROXY,
    LWS_ADOPT_FLAG_UDP, LWS_ADOPT_HTTP, LWS_ADOPT_SOCKET,
};

use crate::host::ffi::boundary::{bytes, cstr, export, vhost, wsi, Fault, Vhost};
use crate::host::raw::{self, AdoptError, Kind};

impl From<AdoptError> for Fault {
    fn from(e: AdoptError) -> Fault {
        Fault::Refused(e.to_string())
    }
}

/// Takes ownership of a descriptor the plugin handed over.
///
/// # Safety
///
/// `fd` is an open descriptor the caller gives up (lws's adoption contract:
/// from here on the host closes it, on success and on failure).
unsafe fn own(fd: c_int) -> Result<OwnedFd, Fault> {
    if fd < 0 {
        return Err(Fault::Refused(format!("{fd} is not a descriptor")));
    }
    // SAFETY: an open descriptor the plugin gave up (our contract).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The adoption itself, once the arguments are Rust values. `fd` is closed
/// (dropped) whatever happens unless a wsi took it.
fn adopt(
    vh: &Vhost,
    flags: c_int,
    fd: OwnedFd,
    protocol: Option<&str>,
    opaque: *mut c_void,
    first: &[u8],
) -> Result<*mut Lws, Fault> {
    if flags & (LWS_ADOPT_FLAG_UDP | LWS_ADOPT_FLAG_RAW_PROXY) != 0 {
        return Err(AdoptError::Unsupported("adopting a UDP socket or a raw proxy").into());
    }
    let (kind, protocol) = if flags & LWS_ADOPT_SOCKET == 0 {
        (Kind::File, protocol)
    } else if flags & LWS_ADOPT_HTTP == 0 {
        (Kind::Socket, protocol)
    } else {
        // As if the vhost's listener accepted it: raw only on a vhost whose
        // accepted sockets go to a raw protocol.
        let cfg = &vh.cfg;
        let raw_vhost =
            cfg.apply_listen_accept && cfg.listen_accept_role.as_deref() == Some("raw-skt");
        if !raw_vhost {
            return Err(AdoptError::Unsupported(
                "adopting a socket for HTTP service (only a vhost with \
                 \"listen-accept-role\": \"raw-skt\" and \"apply-listen-accept\" takes one)",
            )
            .into());
        }
        (Kind::Socket, cfg.listen_accept_protocol.as_deref())
    };
    if flags & LWS_ADOPT_ALLOW_SSL != 0 && kind == Kind::Socket && flags & LWS_ADOPT_HTTP == 0 {
        tracing::debug!("raw socket adopted without TLS (LWS_ADOPT_ALLOW_SSL is not supported)");
    }
    let index = std::ops::Deref::deref(vh).index;
    let w = raw::adopt(vh.site(), index, kind, fd, protocol, opaque, first)?;
    Ok(w as *mut Lws)
}

/// [`adopt`] from the C arguments.
///
/// # Safety
///
/// `fd` as for [`own`]; `prot` null or a C string; `first` (`len` bytes)
/// readable or null.
unsafe fn adopt_c(
    v: *mut LwsVhost,
    flags: c_int,
    fd: c_int,
    prot: *const c_char,
    opaque: *mut c_void,
    first: *const u8,
    len: usize,
) -> Result<*mut Lws, Fault> {
    // SAFETY: passed on from the caller (same contract).
    let fd = unsafe { own(fd) }?;
    let vh = vhost(&v)?;
    // SAFETY: as above.
    let name = unsafe { cstr(prot) }.map(|c| c.to_string_lossy().into_owned());
    // SAFETY: as above.
    let first = unsafe { bytes(first, len) }?;
    adopt(&vh, flags, fd, name.as_deref(), opaque, first)
}

export! {
    /// `lws_adopt_descriptor_vhost`.
    fn lws_adopt_descriptor_vhost(
        v: *mut LwsVhost,
        flags: c_int,
        fd: LwsSockFileFd,
        prot: *const c_char,
        _parent: *mut Lws,
    ) -> *mut Lws {
        // SAFETY: both members of the union are the same `int`.
        let fd = unsafe { fd.sockfd };
        // SAFETY: lws contract: `fd` is the plugin's to give, `prot` NULL or
        // a C string.
        unsafe { adopt_c(v, flags, fd, prot, std::ptr::null_mut(), std::ptr::null(), 0) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_adopt_descriptor_vhost_via_info`.
    fn lws_adopt_descriptor_vhost_via_info(info: *const LwsAdoptDesc) -> *mut Lws {
        // SAFETY: lws contract: `info` is null or a readable adopt_desc.
        let i = unsafe { info.as_ref() }.ok_or(Fault::Null("info"))?;
        // SAFETY: both members of the union are the same `int`.
        let fd = unsafe { i.fd.sockfd };
        // SAFETY: lws contract, as for lws_adopt_descriptor_vhost.
        unsafe { adopt_c(i.vh, i.type_, fd, i.vh_prot_name, i.opaque, std::ptr::null(), 0) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_adopt_socket_vhost`.
    fn lws_adopt_socket_vhost(v: *mut LwsVhost, fd: c_int) -> *mut Lws {
        let flags = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL;
        // SAFETY: lws contract: `fd` is the plugin's accepted socket to give.
        unsafe { adopt_c(v, flags, fd, std::ptr::null(), std::ptr::null_mut(), std::ptr::null(), 0) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_adopt_socket_vhost_readbuf`.
    fn lws_adopt_socket_vhost_readbuf(
        v: *mut LwsVhost,
        fd: c_int,
        readbuf: *const c_char,
        len: usize,
    ) -> *mut Lws {
        let flags = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL;
        // SAFETY: lws contract: `fd` is the plugin's to give, `readbuf`
        // holds `len` readable bytes.
        unsafe { adopt_c(v, flags, fd, std::ptr::null(), std::ptr::null_mut(), readbuf as *const u8, len) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_get_socket_fd`: the descriptor under a raw wsi or a
    /// connection; -1 for none.
    fn lws_get_socket_fd(p: *mut Lws) -> c_int {
        Ok(raw::fd_of(wsi(&p)?).unwrap_or(-1))
    } ?= -1
}
