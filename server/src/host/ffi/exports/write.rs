//! Writing, WRITEABLE requests and flow control.

use super::*;

/// `lws_write`: one frame for a WebSocket. Refused (-1) outside a
/// connection, for HTTP write types, and for a second write before the
/// loop (or `lws_send_pipe_choked`) saw the first one out. A WebSocket
/// being refused in FILTER_PROTOCOL_CONNECTION may write its HTTP answer
/// (see `ws::upgrade`).
#[no_mangle]
pub extern "C" fn lws_write(p: *mut Lws, buf: *mut u8, len: usize, protocol: c_int) -> c_int {
    guard("lws_write", -1, || {
        let Some(w) = wsi("lws_write", p) else {
            return -1;
        };
        if w.role == Role::Vhost {
            tracing::error!(
                "lws_write: {:?} is not a connection that can be written",
                w.tag
            );
            return -1;
        }
        if w.could_have_pending.get() {
            tracing::error!(
                "Illegal back-to-back write of {len} detected on {:?} (one lws_write per WRITEABLE callback, or check lws_send_pipe_choked)",
                w.tag
            );
            return -1;
        }
        if buf.is_null() && len > 0 {
            return -1;
        }
        let data: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: the plugin passes `len` readable bytes at `buf`.
            unsafe { std::slice::from_raw_parts(buf, len) }
        };
        // Before its 101 a WebSocket is still an HTTP request: a refusal
        // is written as HTTP (only in FILTER_PROTOCOL_CONNECTION, where
        // `ws::upgrade` takes it; elsewhere the head is refused).
        let upgrading = w.role == Role::WebSocket && w.stream.get().is_none();
        if w.role == Role::Http || upgrading {
            return crate::host::ffi::http::write(w, data, protocol);
        }
        let base = protocol & 0x1f;
        let fin = protocol & LWS_WRITE_NO_FIN == 0;
        let mut tx = w.tx.borrow_mut();
        let mut enc = w.encoder.borrow_mut();
        let Some(enc) = enc.as_mut() else {
            return -1;
        };
        let res = match base {
            LWS_WRITE_TEXT => enc.data(&mut tx, OpCode::Text, fin, data),
            LWS_WRITE_BINARY => enc.data(&mut tx, OpCode::Binary, fin, data),
            LWS_WRITE_CONTINUATION => enc.data(&mut tx, OpCode::Continuation, fin, data),
            LWS_WRITE_PING => enc.control(&mut tx, OpCode::Ping, data),
            LWS_WRITE_PONG => enc.control(&mut tx, OpCode::Pong, data),
            other => {
                tracing::error!("lws_write: write type {other} is not valid on a WebSocket");
                return -1;
            }
        };
        if let Err(e) = res {
            tracing::error!("lws_write on {:?}: {e}", w.tag);
            return -1;
        }
        drop(tx);
        w.could_have_pending.set(true);
        if let Some(stream) = w.stream.get() {
            if w.flush_to(stream).is_err() {
                w.close_requested.set(true);
            }
        }
        w.wake.notify_one();
        c_int::try_from(len).unwrap_or(c_int::MAX)
    })
}

/// `lws_send_pipe_choked`: 1 while earlier output is still waiting for the
/// socket; 0 clears the "could have pending" state, allowing another write.
#[no_mangle]
pub extern "C" fn lws_send_pipe_choked(p: *mut Lws) -> c_int {
    guard("lws_send_pipe_choked", 1, || {
        let Some(w) = wsi("lws_send_pipe_choked", p) else {
            return 1;
        };
        if let Some(stream) = w.stream.get() {
            let _ = w.flush_to(stream);
        }
        if w.tx.borrow().is_empty() {
            w.could_have_pending.set(false);
            0
        } else {
            1
        }
    })
}

/// `lws_partial_buffered`: 1 while output is waiting for the socket.
#[no_mangle]
pub extern "C" fn lws_partial_buffered(p: *mut Lws) -> c_int {
    guard("lws_partial_buffered", 0, || {
        wsi("lws_partial_buffered", p).map_or(0, |w| c_int::from(!w.tx.borrow().is_empty()))
    })
}

/// `lws_callback_on_writable`.
#[no_mangle]
pub extern "C" fn lws_callback_on_writable(p: *mut Lws) -> c_int {
    guard("lws_callback_on_writable", -1, || {
        let Some(w) = wsi("lws_callback_on_writable", p) else {
            return -1;
        };
        if w.role == Role::Vhost {
            return 0;
        }
        w.request_writable();
        1
    })
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

/// `lws_callback_on_writable_all_protocol`.
#[no_mangle]
pub extern "C" fn lws_callback_on_writable_all_protocol(
    _cx: *const LwsContext,
    prot: *const LwsProtocols,
) -> c_int {
    guard("lws_callback_on_writable_all_protocol", -1, || {
        everywhere(Command::WritableAll {
            proto: prot as usize,
            vhost: None,
        });
        0
    })
}

/// `lws_callback_on_writable_all_protocol_vhost`.
#[no_mangle]
pub extern "C" fn lws_callback_on_writable_all_protocol_vhost(
    v: *const LwsVhost,
    prot: *const LwsProtocols,
) -> c_int {
    guard("lws_callback_on_writable_all_protocol_vhost", -1, || {
        if vh("lws_callback_on_writable_all_protocol_vhost", v).is_none() {
            return -1;
        }
        everywhere(Command::WritableAll {
            proto: prot as usize,
            vhost: Some(v as usize),
        });
        0
    })
}

/// `lws_callback_all_protocol`.
#[no_mangle]
pub extern "C" fn lws_callback_all_protocol(
    _cx: *mut LwsContext,
    prot: *const LwsProtocols,
    reason: c_int,
) -> c_int {
    guard("lws_callback_all_protocol", -1, || {
        everywhere(Command::CallbackAll {
            proto: prot as usize,
            vhost: None,
            reason,
            arg: 0,
            len: 0,
        });
        0
    })
}

/// `lws_callback_all_protocol_vhost_args`.
#[no_mangle]
pub extern "C" fn lws_callback_all_protocol_vhost_args(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    argp: *mut c_void,
    len: usize,
) -> c_int {
    guard("lws_callback_all_protocol_vhost_args", -1, || {
        if vh("lws_callback_all_protocol_vhost_args", v).is_none() {
            return -1;
        }
        everywhere(Command::CallbackAll {
            proto: prot as usize,
            vhost: Some(v as usize),
            reason,
            arg: argp as usize,
            len,
        });
        0
    })
}

/// `lws_callback_all_protocol_vhost`.
#[no_mangle]
pub extern "C" fn lws_callback_all_protocol_vhost(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
) -> c_int {
    lws_callback_all_protocol_vhost_args(v, prot, reason, std::ptr::null_mut(), 0)
}

/// `lws_rx_flow_control`: bit 0 of `enable` set = receive, clear = pause.
#[no_mangle]
pub extern "C" fn lws_rx_flow_control(p: *mut Lws, enable: c_int) -> c_int {
    guard("lws_rx_flow_control", -1, || {
        let Some(w) = wsi("lws_rx_flow_control", p) else {
            return -1;
        };
        w.rx_paused.set(enable & 1 == 0);
        w.wake.notify_one();
        0
    })
}

/// `lws_rx_flow_allow_all_protocol`: resume receiving on every connection
/// of the protocol (this thread's).
#[no_mangle]
pub extern "C" fn lws_rx_flow_allow_all_protocol(
    _cx: *const LwsContext,
    prot: *const LwsProtocols,
) {
    guard("lws_rx_flow_allow_all_protocol", (), || {
        for addr in thread::live() {
            call::with_live(addr, |w| {
                if w.role == Role::WebSocket
                    && w.proto().is_some_and(|vp| std::ptr::eq(vp.def.raw, prot))
                {
                    w.rx_paused.set(false);
                    w.wake.notify_one();
                }
            });
        }
    })
}

/// `lws_is_first_fragment`.
#[no_mangle]
pub extern "C" fn lws_is_first_fragment(p: *mut Lws) -> c_int {
    guard("lws_is_first_fragment", 0, || {
        wsi("lws_is_first_fragment", p).map_or(0, |w| c_int::from(w.rx.get().first))
    })
}

/// `lws_is_final_fragment`.
#[no_mangle]
pub extern "C" fn lws_is_final_fragment(p: *mut Lws) -> c_int {
    guard("lws_is_final_fragment", 0, || {
        wsi("lws_is_final_fragment", p).map_or(0, |w| c_int::from(w.rx.get().last))
    })
}

/// `lws_frame_is_binary`.
#[no_mangle]
pub extern "C" fn lws_frame_is_binary(p: *mut Lws) -> c_int {
    guard("lws_frame_is_binary", 0, || {
        wsi("lws_frame_is_binary", p).map_or(0, |w| c_int::from(w.rx.get().binary))
    })
}

/// `lws_remaining_packet_payload`.
#[no_mangle]
pub extern "C" fn lws_remaining_packet_payload(p: *mut Lws) -> usize {
    guard("lws_remaining_packet_payload", 0, || {
        wsi("lws_remaining_packet_payload", p).map_or(0, |w| w.rx.get().remaining as usize)
    })
}

/// `lws_close_reason`: the code and payload of the close frame sent when
/// the callback next returns non-zero.
#[no_mangle]
pub extern "C" fn lws_close_reason(p: *mut Lws, status: c_int, buf: *mut u8, len: usize) {
    guard("lws_close_reason", (), || {
        let Some(w) = wsi("lws_close_reason", p) else {
            return;
        };
        let text = if buf.is_null() || len == 0 {
            Vec::new()
        } else {
            // SAFETY: the plugin passes `len` readable bytes at `buf`.
            unsafe { std::slice::from_raw_parts(buf, len.min(123)) }.to_vec()
        };
        *w.close_reason.borrow_mut() = Some((u16::try_from(status).unwrap_or(1000), text));
    })
}
