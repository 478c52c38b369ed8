//! permessage-deflate (RFC 7692): offer negotiation and the raw-DEFLATE
//! compressor / decompressor pair used by the frame codec.
//!
//! The backend is `flate2` over zlib-rs, a complete zlib, so every window
//! size the RFC allows can be honoured:
//!
//! * `server_max_window_bits` 8..=15 is accepted and echoed. zlib cannot
//!   compress raw DEFLATE with an 8-bit window (it refuses, as every zlib
//!   since 1.2.9 does); as zlib-based servers do, we compress with 9 bits
//!   then. That is safe: zlib never looks further back than the window size
//!   minus 262 bytes (its `MAX_DIST`), 250 bytes with 9 bits, so a client
//!   inflating with a 256-byte window reads every back-reference.
//! * `client_max_window_bits` (with or without a value) is accepted and not
//!   echoed: our inflater has a 15-bit window, so it reads anything a client
//!   compresses with any window. We never ask the client to shrink its
//!   window.
//!
//! Wire rules (RFC 7692 §7.2): a compressed message is the raw DEFLATE stream
//! of the message with the trailing `00 00 ff ff` of a sync flush removed; the
//! receiver appends those four bytes back before inflating. Without
//! `*_no_context_takeover` the LZ77 window is kept from message to message.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::fmt;

/// The name of the extension in `Sec-WebSocket-Extensions`.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The bytes a sync flush ends with, stripped by the sender, re-appended by
/// the receiver (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Default compression level of [`Deflater::new`]: 1, as lws's
/// permessage-deflate uses. WebSocket messages are mostly small, where the
/// higher levels cost a third more CPU per message (12.4-13.3 µs against
/// 8.7-9.1 µs per echoed message in `scripts/bench-ws` echo-deflate) for
/// little gain.
pub const DEFAULT_LEVEL: u32 = 1;

/// The parameters agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// We (the server) reset our compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (we then reset
    /// our inflater too).
    pub client_no_context_takeover: bool,
    /// Largest LZ77 window of our compressor, in bits (8..=15), as agreed.
    pub server_max_window_bits: u8,
    /// Largest window the client may use, in bits (8..=15).
    pub client_max_window_bits: u8,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// Picks the first acceptable `permessage-deflate` offer of a client's
/// `Sec-WebSocket-Extensions` value (several header lines may be joined with
/// `", "`). Returns the agreed parameters and the value for the response's
/// `Sec-WebSocket-Extensions` header, or `None` when nothing is acceptable
/// (the connection then simply goes on without compression).
///
/// Malformed offers are declined, never an error: unknown parameters, a
/// parameter given twice, a value where none is allowed (or none where one
/// is required), window bits outside 8..=15.
pub fn negotiate(offer: &str) -> Option<(Params, String)> {
    for element in split_outside_quotes(offer, ',') {
        let mut parts = split_outside_quotes(element, ';').into_iter();
        let name = parts.next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
            continue;
        }
        if let Some(found) = accept_offer(parts) {
            return Some(found);
        }
    }
    None
}

fn accept_offer<'a>(params: impl Iterator<Item = &'a str>) -> Option<(Params, String)> {
    let mut p = Params::default();
    let mut seen_snct = false;
    let mut seen_cnct = false;
    let mut server_bits: Option<u8> = None;
    let mut seen_cmwb = false;
    for raw in params {
        let raw = raw.trim();
        if raw.is_empty() {
            // `permessage-deflate;` or `a;;b`: malformed.
            return None;
        }
        let (name, value) = match raw.split_once('=') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim())?)),
            None => (raw, None),
        };
        if name.eq_ignore_ascii_case("server_no_context_takeover") {
            if seen_snct || value.is_some() {
                return None;
            }
            seen_snct = true;
            p.server_no_context_takeover = true;
        } else if name.eq_ignore_ascii_case("client_no_context_takeover") {
            if seen_cnct || value.is_some() {
                return None;
            }
            seen_cnct = true;
            p.client_no_context_takeover = true;
        } else if name.eq_ignore_ascii_case("server_max_window_bits") {
            if server_bits.is_some() {
                return None;
            }
            server_bits = Some(window_bits(value?)?);
        } else if name.eq_ignore_ascii_case("client_max_window_bits") {
            if seen_cmwb {
                return None;
            }
            seen_cmwb = true;
            if let Some(v) = value {
                p.client_max_window_bits = window_bits(v)?;
            }
        } else {
            return None;
        }
    }
    let mut response = String::from(EXTENSION_NAME);
    if p.server_no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if p.client_no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    if let Some(bits) = server_bits {
        p.server_max_window_bits = bits;
        response.push_str(&format!("; server_max_window_bits={bits}"));
    }
    Some((p, response))
}

/// `8`..=`15`, digits only, no leading zero (RFC 7692 §7.1.2.1 ABNF).
fn window_bits(v: &str) -> Option<u8> {
    if v.is_empty() || v.len() > 2 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u8 = v.parse().ok()?;
    (8..=15).contains(&n).then_some(n)
}

/// A token or a quoted-string (RFC 6455 §9.1 allows both for values).
fn unquote(v: &str) -> Option<&str> {
    if let Some(rest) = v.strip_prefix('"') {
        let inner = rest.strip_suffix('"')?;
        if inner.contains(['"', '\\']) {
            return None;
        }
        Some(inner.trim())
    } else if v.contains('"') {
        None
    } else {
        Some(v)
    }
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Corrupt compressed data, or an internal compressor failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateError(pub String);

impl fmt::Display for DeflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deflate: {}", self.0)
    }
}

impl std::error::Error for DeflateError {}

/// Decompressor for the client's messages.
///
/// Its zlib state (about 40 KiB: zlib-rs keeps a 32 KiB window whatever the
/// window bits) is made at the first compressed message, not with the
/// connection, and [`Inflater::release`] frees it between messages when the
/// client resets its context anyway (`client_no_context_takeover`).
pub struct Inflater {
    inner: Option<Decompress>,
    reset_each_message: bool,
    /// Inside a message: between its first inflate and [`Inflater::end_message`].
    in_message: bool,
    /// Used since the last [`Inflater::take_active`].
    active: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("allocated", &self.inner.is_some())
            .field("reset_each_message", &self.reset_each_message)
            .field("in_message", &self.in_message)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// A raw-DEFLATE inflater; resets between messages when the client said
    /// `client_no_context_takeover`. Allocates nothing until used.
    pub fn new(params: &Params) -> Self {
        Inflater {
            inner: None,
            reset_each_message: params.client_no_context_takeover,
            in_message: false,
            active: false,
        }
    }

    /// The zlib state exists (it is made by the first inflate).
    pub fn is_allocated(&self) -> bool {
        self.inner.is_some()
    }

    /// There is a zlib state that [`Inflater::release`] may free (between
    /// messages): the client does not take its context over.
    pub fn can_release(&self) -> bool {
        self.reset_each_message && self.inner.is_some()
    }

    /// Frees the zlib state if nothing would be lost: between messages, and
    /// only when the client does not take its context over (otherwise the
    /// window is the history its next message refers to). Returns whether
    /// it freed anything.
    pub fn release(&mut self) -> bool {
        if self.can_release() && !self.in_message {
            self.inner = None;
            return true;
        }
        false
    }

    /// Whether it inflated anything since the last call.
    pub fn take_active(&mut self) -> bool {
        std::mem::take(&mut self.active)
    }

    /// Inflates from `input` into `output`; returns `(consumed, produced)`.
    /// Stops when the input is used up or the output is full. A DEFLATE block
    /// with BFINAL set ends a stream; anything after it starts a fresh one
    /// (RFC 7692 §7.2.3.3 allows senders to use BFINAL blocks).
    pub fn inflate(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DeflateError> {
        self.in_message = true;
        self.active = true;
        let inner = self.inner.get_or_insert_with(|| Decompress::new(false));
        let mut consumed = 0;
        let mut produced = 0;
        loop {
            let in0 = inner.total_in();
            let out0 = inner.total_out();
            let status = inner
                .decompress(
                    &input[consumed..],
                    &mut output[produced..],
                    FlushDecompress::Sync,
                )
                .map_err(|e| DeflateError(e.to_string()))?;
            let c = usize::try_from(inner.total_in() - in0).unwrap_or(usize::MAX);
            let p = usize::try_from(inner.total_out() - out0).unwrap_or(usize::MAX);
            consumed = consumed.saturating_add(c).min(input.len());
            produced = produced.saturating_add(p).min(output.len());
            if status == Status::StreamEnd {
                inner.reset(false);
                if consumed < input.len() && produced < output.len() {
                    continue;
                }
            }
            return Ok((consumed, produced));
        }
    }

    /// Inflates one whole compressed message payload (without the tail),
    /// refusing to produce more than `limit` bytes (`0` = no limit). Handy for
    /// tests and for hosts that buffer whole messages.
    pub fn inflate_message(
        &mut self,
        payload: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, DeflateError> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        for part in [payload, &TAIL[..]] {
            let mut pos = 0;
            loop {
                let (c, p) = self.inflate(&part[pos..], &mut buf)?;
                pos += c;
                out.extend_from_slice(&buf[..p]);
                if limit != 0 && out.len() > limit {
                    return Err(DeflateError("message too large".into()));
                }
                if p < buf.len() && pos >= part.len() {
                    break;
                }
                if c == 0 && p == 0 {
                    return Err(DeflateError("inflater made no progress".into()));
                }
            }
        }
        self.end_message();
        Ok(out)
    }

    /// Call at the end of every compressed message.
    pub fn end_message(&mut self) {
        self.in_message = false;
        if self.reset_each_message {
            if let Some(inner) = self.inner.as_mut() {
                inner.reset(false);
            }
        }
    }
}

/// The window zlib compresses with for an agreed `server_max_window_bits`:
/// the same, except 8, which raw DEFLATE in zlib cannot do; 9 bits never
/// reach back further than 250 bytes, inside an 8-bit window (module docs).
pub fn compress_window_bits(agreed: u8) -> u8 {
    agreed.clamp(9, 15)
}

/// Compressor for our messages.
///
/// Its zlib state (about 270 KiB with a 15-bit window) is made at the first
/// message, not with the connection, and [`Deflater::release`] frees it
/// between messages, which is always allowed: context takeover lets the
/// sender refer to earlier messages, it never obliges it to.
pub struct Deflater {
    inner: Option<Compress>,
    level: u32,
    window_bits: u8,
    reset_each_message: bool,
    /// Inside a message: a piece without `fin` went out.
    in_message: bool,
    /// Used since the last [`Deflater::take_active`].
    active: bool,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("allocated", &self.inner.is_some())
            .field("level", &self.level)
            .field("window_bits", &self.window_bits)
            .field("reset_each_message", &self.reset_each_message)
            .field("in_message", &self.in_message)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A raw-DEFLATE compressor at [`DEFAULT_LEVEL`]; resets between messages
    /// when `server_no_context_takeover` was agreed. Allocates nothing until
    /// used.
    pub fn new(params: &Params) -> Self {
        Self::with_level(params, DEFAULT_LEVEL)
    }

    /// Like [`Deflater::new`] with a level 0..=9.
    pub fn with_level(params: &Params, level: u32) -> Self {
        Deflater {
            inner: None,
            level: level.min(9),
            window_bits: compress_window_bits(params.server_max_window_bits),
            reset_each_message: params.server_no_context_takeover,
            in_message: false,
            active: false,
        }
    }

    /// The zlib state exists (it is made by the first message).
    pub fn is_allocated(&self) -> bool {
        self.inner.is_some()
    }

    /// Frees the zlib state between messages (not inside a fragmented one);
    /// the next message starts a fresh one. Returns whether it freed anything.
    pub fn release(&mut self) -> bool {
        if !self.in_message && self.inner.is_some() {
            self.inner = None;
            return true;
        }
        false
    }

    /// Whether it compressed anything since the last call.
    pub fn take_active(&mut self) -> bool {
        std::mem::take(&mut self.active)
    }

    /// Compresses one piece of a message and appends the result to `out`.
    /// Every piece is sync-flushed so it can go out at once as a frame. With
    /// `fin` (the last piece of the message) the trailing `00 00 ff ff` is
    /// removed and, without context takeover, the compressor is reset.
    ///
    /// The flush is complete only when the backend has consumed all input,
    /// written the flush's empty stored block (`00 00 ff ff`) and still had
    /// room left: a backend may hold back up to a match length of input and
    /// the end of a block even when it did not fill the output, so "all input
    /// taken and room left" alone is not enough (with miniz_oxide that cut
    /// 64 KiB messages short). A call that neither takes input nor writes
    /// output means the flush has nothing more to say (zlib's answer to an
    /// empty piece after a flush).
    pub fn compress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        let (level, bits) = (self.level, self.window_bits);
        let inner = self.inner.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        self.active = true;
        self.in_message = !fin;
        let start = out.len();
        // Enough for most pieces in one call; incompressible data needs a
        // little more than its size, and the loop grows the buffer for that.
        out.reserve(input.len() / 2 + 64);
        let mut pos = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve((out.len() - start).max(input.len() - pos).max(256));
            }
            let in0 = inner.total_in();
            let out0 = inner.total_out();
            inner
                .compress_vec(&input[pos..], out, FlushCompress::Sync)
                .map_err(|e| DeflateError(e.to_string()))?;
            let consumed = usize::try_from(inner.total_in() - in0).unwrap_or(usize::MAX);
            let produced = inner.total_out() - out0;
            pos = pos.saturating_add(consumed).min(input.len());
            let room_left = out.len() < out.capacity();
            let stalled = consumed == 0 && produced == 0;
            if pos == input.len() && room_left && (out[start..].ends_with(&TAIL) || stalled) {
                break;
            }
            if stalled && room_left {
                return Err(DeflateError("compressor made no progress".into()));
            }
        }
        if fin {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else if out.len() == start {
                // Nothing was pending (zlib writes nothing for a flush right
                // after a flush): the message still needs what the receiver's
                // `00 00 ff ff` completes, the first byte of an empty stored
                // block (RFC 7692 §7.2.3.6). Without it the receiver would
                // read the tail as the start of a block and wait for more.
                out.push(0);
            } else {
                return Err(DeflateError("sync flush ended without its tail".into()));
            }
            if self.reset_each_message {
                inner.reset();
            }
        }
        Ok(())
    }

    /// Compresses a whole message (convenience over [`Deflater::compress`]).
    pub fn compress_message(&mut self, input: &[u8]) -> Result<Vec<u8>, DeflateError> {
        let mut out = Vec::new();
        self.compress(input, true, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
