//! Writing, WRITEABLE requests and flow control; the writing itself is
//! [`Wsi::write`](crate::host::wsi::Wsi::write).

use std::ffi::{c_int, c_void};

use comlink_plugin_api::abi::{Lws, LwsContext, LwsProtocols, LwsVhost};

use crate::host::context::CONTEXT;
use crate::host::ffi::boundary::{bytes, bytes_mut, export, pointers, vhost, wsi, Fault};
use crate::host::ffi::call;
use crate::host::thread::{self, Command};
use crate::host::wsi::Role;

export! {
    /// `lws_write`: one frame for a WebSocket, head or body bytes for an
    /// HTTP transaction. The bytes are only read: the frame is built in the
    /// connection's own buffer, never in the `LWS_PRE` headroom. Refused
    /// (-1) outside a connection, for a write type the connection has no
    /// use for, and for a second write before the loop (or
    /// `lws_send_pipe_choked`) saw the first one out.
    fn lws_write(p: *mut Lws, buf: *mut u8, len: usize, protocol: c_int) -> c_int {
        let w = wsi(&p)?;
        // SAFETY: lws contract: `buf` holds `len` readable bytes.
        let data = unsafe { bytes(buf, len) }?;
        let n = w.write(data, protocol)?;
        Ok(c_int::try_from(n).unwrap_or(c_int::MAX))
    } ?= -1
}

export! {
    /// `comlink_write_queued` (a Comlink extension): one whole text or
    /// binary message for each of `count` WebSockets of this thread,
    /// encoded once; each that waits for nothing takes it (`taken[i]` = 1)
    /// and it is written to its socket without a WRITEABLE callback; the
    /// others are left as they were (`taken[i]` = 0: ask for WRITEABLE as
    /// usual). Returns how many took it, -1 when refused (another write
    /// type, a null array).
    fn comlink_write_queued(
        wsis: *mut *mut Lws,
        count: usize,
        buf: *mut u8,
        len: usize,
        protocol: c_int,
        taken: *mut u8,
    ) -> c_int {
        // SAFETY: the extension's contract: `wsis` holds `count` pointers
        // (only compared with the live set here, never read through
        // unchecked), `buf` `len` readable bytes, `taken` `count` writable
        // bytes of the caller's own.
        let (wsis, data, taken) = unsafe {
            (
                pointers(wsis as *const *mut Lws, count)?,
                bytes(buf, len)?,
                bytes_mut(taken, count)?,
            )
        };
        let addrs: Vec<usize> = wsis.iter().map(|p| *p as usize).collect();
        let n = crate::host::write_many::write_many(&addrs, data, protocol, taken)?;
        Ok(c_int::try_from(n).unwrap_or(c_int::MAX))
    } ?= -1
}

export! {
    /// `lws_send_pipe_choked`: 1 while earlier output is still waiting for
    /// the socket; 0 clears the "could have pending" state, allowing
    /// another write.
    fn lws_send_pipe_choked(p: *mut Lws) -> c_int {
        Ok(c_int::from(wsi(&p)?.pipe_choked()))
    } ?= 1
}

export! {
    /// `lws_partial_buffered`: 1 while output is waiting for the socket.
    fn lws_partial_buffered(p: *mut Lws) -> c_int {
        Ok(c_int::from(!wsi(&p)?.tx.borrow().is_empty()))
    } ?= 0
}

export! {
    /// `lws_callback_on_writable`.
    fn lws_callback_on_writable(p: *mut Lws) -> c_int {
        let w = wsi(&p)?;
        if w.role == Role::Vhost {
            return Ok(0);
        }
        w.request_writable();
        Ok(1)
    } ?= -1
}

/// Applies `cmd` here (when this is a service thread) and on every other
/// service thread.
fn everywhere(cmd: Command) {
    let here = thread::current_tsi();
    if here.is_some() {
        thread::fan_out_here(&cmd);
    }
    CONTEXT.post_all(here, &cmd);
}

export! {
    /// `lws_callback_on_writable_all_protocol`.
    fn lws_callback_on_writable_all_protocol(
        _cx: *const LwsContext,
        prot: *const LwsProtocols,
    ) -> c_int {
        everywhere(Command::WritableAll {
            proto: prot as usize,
            vhost: None,
        });
        Ok(0)
    } ?= -1
}

export! {
    /// `lws_callback_on_writable_all_protocol_vhost`.
    fn lws_callback_on_writable_all_protocol_vhost(
        v: *const LwsVhost,
        prot: *const LwsProtocols,
    ) -> c_int {
        vhost(&v)?;
        everywhere(Command::WritableAll {
            proto: prot as usize,
            vhost: Some(v as usize),
        });
        Ok(0)
    } ?= -1
}

export! {
    /// `lws_callback_all_protocol`.
    fn lws_callback_all_protocol(
        _cx: *mut LwsContext,
        prot: *const LwsProtocols,
        reason: c_int,
    ) -> c_int {
        everywhere(Command::CallbackAll {
            proto: prot as usize,
            vhost: None,
            reason,
            arg: 0,
            len: 0,
        });
        Ok(0)
    } ?= -1
}

/// `lws_callback_all_protocol_vhost_args`'s work.
fn callback_all_vhost(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    argp: *mut c_void,
    len: usize,
) -> Result<c_int, Fault> {
    vhost(&v)?;
    everywhere(Command::CallbackAll {
        proto: prot as usize,
        vhost: Some(v as usize),
        reason,
        arg: argp as usize,
        len,
    });
    Ok(0)
}

export! {
    /// `lws_callback_all_protocol_vhost_args`.
    fn lws_callback_all_protocol_vhost_args(
        v: *mut LwsVhost,
        prot: *const LwsProtocols,
        reason: c_int,
        argp: *mut c_void,
        len: usize,
    ) -> c_int {
        callback_all_vhost(v, prot, reason, argp, len)
    } ?= -1
}

export! {
    /// `lws_callback_all_protocol_vhost`.
    fn lws_callback_all_protocol_vhost(
        v: *mut LwsVhost,
        prot: *const LwsProtocols,
        reason: c_int,
    ) -> c_int {
        callback_all_vhost(v, prot, reason, std::ptr::null_mut(), 0)
    } ?= -1
}

export! {
    /// `lws_rx_flow_control`: bit 0 of `enable` set = receive, clear = pause.
    fn lws_rx_flow_control(p: *mut Lws, enable: c_int) -> c_int {
        let w = wsi(&p)?;
        w.rx_paused.set(enable & 1 == 0);
        w.wake.notify_one();
        Ok(0)
    } ?= -1
}

export! {
    /// `lws_rx_flow_allow_all_protocol`: resume receiving on every
    /// connection of the protocol (this thread's).
    fn lws_rx_flow_allow_all_protocol(_cx: *const LwsContext, prot: *const LwsProtocols) {
        for addr in thread::live() {
            call::with_live(addr, |w| {
                if matches!(w.role, Role::WebSocket | Role::WsClient | Role::HttpClient)
                    && w.proto().is_some_and(|vp| std::ptr::eq(vp.def.raw, prot))
                {
                    w.rx_paused.set(false);
                    w.wake.notify_one();
                }
            });
        }
        Ok(())
    }
}

export! {
    /// `lws_is_first_fragment`.
    fn lws_is_first_fragment(p: *mut Lws) -> c_int {
        Ok(c_int::from(wsi(&p)?.rx.get().first))
    } ?= 0
}

export! {
    /// `lws_is_final_fragment`.
    fn lws_is_final_fragment(p: *mut Lws) -> c_int {
        Ok(c_int::from(wsi(&p)?.rx.get().last))
    } ?= 0
}

export! {
    /// `lws_frame_is_binary`.
    fn lws_frame_is_binary(p: *mut Lws) -> c_int {
        Ok(c_int::from(wsi(&p)?.rx.get().binary))
    } ?= 0
}

export! {
    /// `lws_remaining_packet_payload`.
    fn lws_remaining_packet_payload(p: *mut Lws) -> usize {
        Ok(usize::try_from(wsi(&p)?.rx.get().remaining).unwrap_or(usize::MAX))
    } ?= 0
}

export! {
    /// `lws_close_reason`: the code and payload of the close frame sent
    /// when the callback next returns non-zero.
    fn lws_close_reason(p: *mut Lws, status: c_int, buf: *mut u8, len: usize) {
        let w = wsi(&p)?;
        // SAFETY: lws contract: `buf` holds `len` readable bytes; we read at
        // most 123 of them (a close frame's room for a reason).
        let text = if buf.is_null() { &[][..] } else { unsafe { bytes(buf, len.min(123)) }? };
        *w.close_reason.borrow_mut() = Some((u16::try_from(status).unwrap_or(1000), text.to_vec()));
        Ok(())
    }
}
