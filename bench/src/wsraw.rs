//! WebSocket with permessage-deflate on the client side, which tungstenite
//! does not speak: after tungstenite's handshake (with the offer) the socket
//! is read and written here. Messages are sent uncompressed (RFC 7692 lets
//! a client choose per message) and received compressed: the figures then
//! measure the server's compressor, which is the point, and this side only
//! inflates.

use anyhow::{bail, Result};
use flate2::{Decompress, FlushDecompress};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;

/// A browser's offer (Chrome's, Firefox's, lws's client without its
/// no-context-takeover).
pub(crate) const DEFLATE_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// What the server ends a compressed message without (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// A masked, unfragmented, uncompressed client text frame.
pub(crate) fn text_frame(payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x81);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    out
}

/// The reading side: frames off the socket, messages out, compressed ones
/// inflated with the window kept from message to message (the server was
/// not asked for `server_no_context_takeover`).
pub(crate) struct Reader {
    rd: OwnedReadHalf,
    buf: Vec<u8>,
    start: usize,
    inflater: Decompress,
    /// The message being gathered: compressed bytes (RSV1 on its first
    /// frame) or plain ones.
    msg: Vec<u8>,
    compressed: bool,
    out: Vec<u8>,
}

/// One frame's header, parsed from the buffer.
struct Header {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    len: usize,
    at: usize,
}

impl Reader {
    pub(crate) fn new(rd: OwnedReadHalf) -> Reader {
        Reader {
            rd,
            buf: Vec::with_capacity(16 * 1024),
            start: 0,
            inflater: Decompress::new(false),
            msg: Vec::new(),
            compressed: false,
            out: Vec::new(),
        }
    }

    fn header(&self) -> Option<Header> {
        let b = &self.buf[self.start..];
        if b.len() < 2 {
            return None;
        }
        let (len, at) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (usize::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&b[2..10]);
                (usize::try_from(u64::from_be_bytes(l)).ok()?, 10)
            }
            126 | 127 => return None,
            n => (usize::from(n), 2),
        };
        (b.len() >= at + len).then_some(Header {
            fin: b[0] & 0x80 != 0,
            rsv1: b[0] & 0x40 != 0,
            opcode: b[0] & 0x0f,
            len,
            at,
        })
    }

    /// The next text or binary message (inflated when it came compressed);
    /// `None` once the connection closed or broke.
    pub(crate) async fn next(&mut self) -> Option<Result<&[u8]>> {
        loop {
            while let Some(h) = self.header() {
                let p = self.start + h.at;
                self.start = p + h.len;
                match h.opcode {
                    0x8 => return None,
                    0x9 | 0xa => continue,
                    0x1 | 0x2 => {
                        self.msg.clear();
                        self.compressed = h.rsv1;
                    }
                    _ => {}
                }
                self.msg.extend_from_slice(&self.buf[p..p + h.len]);
                if !h.fin {
                    continue;
                }
                if !self.compressed {
                    return Some(Ok(&self.msg));
                }
                return Some(self.inflate());
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let len = self.buf.len();
            self.buf.resize(len + 16 * 1024, 0);
            match self.rd.read(&mut self.buf[len..]).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.truncate(len + n),
            }
        }
    }

    fn inflate(&mut self) -> Result<&[u8]> {
        self.msg.extend_from_slice(&TAIL);
        self.out.clear();
        self.out.reserve(self.msg.len() * 4 + 64);
        let mut pos = 0;
        loop {
            let before = self.inflater.total_in();
            if let Err(e) =
                self.inflater
                    .decompress_vec(&self.msg[pos..], &mut self.out, FlushDecompress::Sync)
            {
                bail!("the server's compressed message is corrupt: {e}");
            }
            pos += usize::try_from(self.inflater.total_in() - before)?;
            if pos == self.msg.len() && self.out.len() < self.out.capacity() {
                return Ok(&self.out);
            }
            self.out.reserve(self.out.capacity().max(4096));
        }
    }
}
