//! `comlink_write_queued` as safe code: one whole text or binary message
//! for many WebSocket connections, framed once and written, in one walk,
//! to each connection that waits for nothing, as `lws_write` from its own
//! WRITEABLE would have written it, without calling it back. A packet for
//! a thousand subscribers that each have every older one reaches them all
//! in one walk: a send each, no callback, no frame of its own. The
//! exported function only turns the plugin's arrays into slices.
//!
//! lws's rules still hold for every connection that takes it: its earlier
//! output was all on the socket, no message of its own was half written,
//! and what its socket does not take now waits there, with its WRITEABLE
//! (if it asked for one) only once that is out. One that does not wait for
//! nothing is left as it was: the caller asks for WRITEABLE as usual.

use std::ffi::c_int;
use std::io::ErrorKind;

use bytes::BytesMut;
use comlink_plugin_api::abi::{LWS_WRITE_BINARY, LWS_WRITE_TEXT};
use comlink_wire::frame::{encode_frame, OpCode};

use crate::host::ffi::call;
use crate::host::write::WriteError;
use crate::host::wsi::{Role, Wsi};

/// `comlink_write_queued`: `data` as one whole text or binary message
/// (`kind`) for each of the connections at `wsis`, written to each one
/// that waits for nothing ([`Wsi::write_whole`]); `taken[i]` says whether
/// `wsis[i]` took it (one that is not a live connection of this thread
/// does not). Returns how many took it. The walk brings the next
/// connections into the caches ahead.
pub(crate) fn write_many(
    wsis: &[usize],
    data: &[u8],
    kind: c_int,
    taken: &mut [u8],
) -> Result<usize, WriteError> {
    let op = match kind {
        LWS_WRITE_TEXT => OpCode::Text,
        LWS_WRITE_BINARY => OpCode::Binary,
        other => {
            return Err(WriteError::Kind {
                kind: other,
                role: "a queued WebSocket message (whole text or binary only)",
            })
        }
    };
    let mut frame = BytesMut::new();
    encode_frame(&mut frame, op, true, false, data);
    let mut n = 0;
    for (i, (&addr, t)) in wsis.iter().zip(taken.iter_mut()).enumerate() {
        if let Some(&after) = wsis.get(i + 2) {
            call::prefetch(after, std::mem::size_of::<Wsi>());
        }
        let ok = call::with_live(addr, |w| {
            w.write_whole(&frame, op, data).unwrap_or_else(|e| {
                // Nothing was written: its WRITEABLE writes it (or fails) as usual.
                tracing::warn!("comlink_write_queued: {e}");
                false
            })
        });
        *t = u8::from(ok == Some(true));
        n += usize::from(ok == Some(true));
    }
    Ok(n)
}

impl Wsi {
    /// One whole message (`op`, `data`; `frame` is it encoded as
    /// [`encode_frame`] does) written now, as this connection's own
    /// WRITEABLE would have, if it is an open WebSocket whose session is
    /// parked with nothing waiting (so nothing it wrote before is still to
    /// go, nor a message of its own half written) and not in a callback:
    /// false otherwise, with nothing written. A plain connection sends the
    /// shared frame itself; a compressed or client one its own frame. What
    /// the socket does not take waits in its buffer, and its task sends it
    /// when the socket drains (and calls WRITEABLE after, if asked for).
    pub(crate) fn write_whole(
        &self,
        frame: &[u8],
        op: OpCode,
        data: &[u8],
    ) -> Result<bool, WriteError> {
        let open = matches!(self.role, Role::WebSocket | Role::WsClient);
        let Some(stream) = self.stream.get().filter(|_| open) else {
            return Ok(false);
        };
        if !self.parked.get()
            || self.in_pass.get()
            || self.close_requested.get()
            || !self.tx.borrow().is_empty()
        {
            return Ok(false);
        }
        let plain = {
            let mut tx = self.tx.borrow_mut();
            let mut enc = self.encoder.borrow_mut();
            let Some(enc) = enc.as_mut() else {
                return Ok(false);
            };
            if enc.in_message() {
                return Ok(false);
            }
            let plain = enc.is_plain();
            if plain {
                // The shared frame, straight to the socket.
                match stream.try_write(frame) {
                    Ok(n) if n == frame.len() => return Ok(true),
                    Ok(n) => tx.extend_from_slice(&frame[n..]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => tx.extend_from_slice(frame),
                    Err(_) => self.close_requested.set(true),
                }
            } else {
                enc.data(&mut tx, op, true, data)
                    .map_err(|source| WriteError::Frame {
                        tag: self.tag.clone(),
                        source,
                    })?;
            }
            plain
        };
        if !plain {
            self.flush_or_close();
        }
        self.wake_if_task_has_work();
        Ok(true)
    }
}
