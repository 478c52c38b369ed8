//! `lws_write` as safe code: one write of a plugin, checked against lws's
//! rules (one write per WRITEABLE unless `lws_send_pipe_choked` said the
//! pipe is clear) and framed for its connection: a WebSocket frame, or the
//! head or body of an HTTP response ([`http_response`](crate::host::http_response)).
//! The exported `lws_write` only turns the plugin's buffer into a slice.

use std::ffi::{c_int, CString};

use comlink_plugin_api::abi::{
    LWS_WRITE_BINARY, LWS_WRITE_CONTINUATION, LWS_WRITE_NO_FIN, LWS_WRITE_PING, LWS_WRITE_PONG,
    LWS_WRITE_TEXT,
};
use comlink_wire::frame::{EncodeError, OpCode};

use crate::host::http_response;
use crate::host::wsi::{Role, Wsi};

/// Why a write was refused (lws_write returns -1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// A vhost stand-in has no connection.
    #[error("{0:?} is not a connection that can be written")]
    NotAConnection(CString),
    /// A second write before the first was seen out.
    #[error(
        "Illegal back-to-back write of {len} detected on {tag:?} (one lws_write per \
         WRITEABLE callback, or check lws_send_pipe_choked)"
    )]
    BackToBack {
        /// Bytes the refused write had.
        len: usize,
        /// The connection.
        tag: CString,
    },
    /// A write type the connection's role has no use for.
    #[error("write type {kind} is not valid on {role}")]
    Kind {
        /// The write type (without flags).
        kind: c_int,
        /// "a WebSocket" or "an HTTP transaction".
        role: &'static str,
    },
    /// The WebSocket session has not started (or has ended).
    #[error("{0:?}: no WebSocket session to write to")]
    NoSession(CString),
    /// The frame encoder refused (e.g. an oversized control frame).
    #[error("{tag:?}: {source}")]
    Frame {
        /// The connection.
        tag: CString,
        /// What the encoder said.
        source: EncodeError,
    },
    /// The HTTP response is past what the write wants to do.
    #[error("{tag:?}: {what}")]
    Http {
        /// The connection.
        tag: CString,
        /// What is wrong.
        what: String,
    },
}

impl Wsi {
    /// `lws_write`: `data` as write type `kind` (lws's `enum
    /// lws_write_protocol`, flags included). Returns the bytes accepted
    /// (all of them: what the socket cannot take yet waits in `tx`).
    pub(crate) fn write(&self, data: &[u8], kind: c_int) -> Result<usize, WriteError> {
        if self.role == Role::Vhost {
            return Err(WriteError::NotAConnection(self.tag.clone()));
        }
        if self.could_have_pending.get() {
            return Err(WriteError::BackToBack {
                len: data.len(),
                tag: self.tag.clone(),
            });
        }
        if matches!(self.role, Role::RawFile | Role::RawSocket) {
            let n = crate::host::raw::write(self, data, kind)?;
            self.could_have_pending.set(true);
            return Ok(n);
        }
        // Before its 101 a WebSocket is still an HTTP request: a refusal is
        // written as HTTP (only in FILTER_PROTOCOL_CONNECTION, where
        // `ws::upgrade` takes it; elsewhere the head is refused).
        let upgrading = self.role == Role::WebSocket && self.stream.get().is_none();
        if self.role == Role::HttpClient {
            // A request body (after `lws_client_http_body_pending`).
            if !self.client_body_write(data, kind) {
                return Err(WriteError::Kind {
                    kind: kind & 0x1f,
                    role: "a client HTTP connection",
                });
            }
        } else if self.role == Role::Http || upgrading {
            http_response::write(self, data, kind)?;
        } else {
            self.write_ws(data, kind)?;
        }
        self.could_have_pending.set(true);
        // A parked session whose write went out whole has nothing to do,
        // nor one in its WRITEABLE pass (which sends what it holds);
        // otherwise its task looks.
        let pass = self.parked.get() && self.in_pass.get();
        if !pass
            && (!self.parked.get() || self.close_requested.get() || !self.tx.borrow().is_empty())
        {
            self.wake.notify_one();
        }
        Ok(data.len())
    }

    /// One WebSocket frame (or message part), straight to the socket as
    /// far as it takes it.
    fn write_ws(&self, data: &[u8], kind: c_int) -> Result<(), WriteError> {
        let base = kind & 0x1f;
        let fin = kind & LWS_WRITE_NO_FIN == 0;
        {
            let mut tx = self.tx.borrow_mut();
            let mut enc = self.encoder.borrow_mut();
            let enc = enc
                .as_mut()
                .ok_or_else(|| WriteError::NoSession(self.tag.clone()))?;
            let res = match base {
                LWS_WRITE_TEXT => enc.data(&mut tx, OpCode::Text, fin, data),
                LWS_WRITE_BINARY => enc.data(&mut tx, OpCode::Binary, fin, data),
                LWS_WRITE_CONTINUATION => enc.data(&mut tx, OpCode::Continuation, fin, data),
                LWS_WRITE_PING => enc.control(&mut tx, OpCode::Ping, data),
                LWS_WRITE_PONG => enc.control(&mut tx, OpCode::Pong, data),
                other => {
                    return Err(WriteError::Kind {
                        kind: other,
                        role: "a WebSocket",
                    })
                }
            };
            res.map_err(|source| WriteError::Frame {
                tag: self.tag.clone(),
                source,
            })?;
        }
        // In the WRITEABLE pass, frames are held and sent together once
        // the slice's callbacks have run: a subscriber several packets
        // behind gets them in one send, not one each.
        if self.in_pass.get() && self.tx.borrow().len() < crate::host::writable::BATCH {
            self.held.set(true);
        } else {
            self.flush_or_close();
        }
        Ok(())
    }

    /// `lws_send_pipe_choked`: true while earlier output still waits for
    /// the socket; false clears "could have pending", allowing a write.
    pub(crate) fn pipe_choked(&self) -> bool {
        // Frames held for the pass's send are not waiting for the socket.
        if self.held.get() && self.tx.borrow().len() < crate::host::writable::BATCH {
            self.could_have_pending.set(false);
            return false;
        }
        if let Some(stream) = self.stream.get() {
            let _ = self.flush_to(stream);
        }
        if self.tx.borrow().is_empty() {
            self.could_have_pending.set(false);
            false
        } else {
            true
        }
    }
}
