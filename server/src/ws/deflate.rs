//! permessage-deflate (RFC 7692): offer negotiation and the raw-DEFLATE
//! compressor / decompressor pair used by the frame codec.
//!
//! We run `flate2` with its default (pure Rust, miniz_oxide) backend, which
//! always compresses with a 32 KiB window (15 bits). Consequences:
//!
//! * `server_max_window_bits` below 15 cannot be honoured; an offer demanding
//!   it is declined (the next offer in the header is tried).
//! * `client_max_window_bits` (with or without a value) is accepted: our
//!   inflater has a 15-bit window, so it can read anything a client compresses
//!   with a smaller one. We never ask the client to shrink its window.
//!
//! Wire rules (RFC 7692 §7.2): a compressed message is the raw DEFLATE stream
//! of the message with the trailing `00 00 ff ff` of a sync flush removed; the
//! receiver appends those four bytes back before inflating. Without
//! `*_no_context_takeover` the LZ77 window is kept from message to message.

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::fmt;

/// The name of the extension in `Sec-WebSocket-Extensions`.
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The bytes a sync flush ends with, stripped by the sender, re-appended by
/// the receiver (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Default compression level of [`Deflater::new`] (zlib's default).
pub const DEFAULT_LEVEL: u32 = 6;

/// The parameters agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// We (the server) reset our compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (we then reset
    /// our inflater too).
    pub client_no_context_takeover: bool,
    /// LZ77 window of our compressor, in bits (always 15 here).
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
/// Malformed or unacceptable offers are declined, never an error: unknown
/// parameters, a parameter given twice, a value where none is allowed (or
/// none where one is required), window bits outside 8..=15, and
/// `server_max_window_bits` below 15 (which this build cannot honour).
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
            let bits = window_bits(value?)?;
            if bits < 15 {
                // We cannot compress with a smaller window: decline.
                return None;
            }
            server_bits = Some(bits);
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
pub struct Inflater {
    inner: Decompress,
    reset_each_message: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("reset_each_message", &self.reset_each_message)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// A raw-DEFLATE inflater; resets between messages when the client said
    /// `client_no_context_takeover`.
    pub fn new(params: &Params) -> Self {
        Inflater {
            inner: Decompress::new(false),
            reset_each_message: params.client_no_context_takeover,
        }
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
        let mut consumed = 0;
        let mut produced = 0;
        loop {
            let in0 = self.inner.total_in();
            let out0 = self.inner.total_out();
            let status = self
                .inner
                .decompress(
                    &input[consumed..],
                    &mut output[produced..],
                    FlushDecompress::Sync,
                )
                .map_err(|e| DeflateError(e.to_string()))?;
            let c = usize::try_from(self.inner.total_in() - in0).unwrap_or(usize::MAX);
            let p = usize::try_from(self.inner.total_out() - out0).unwrap_or(usize::MAX);
            consumed = consumed.saturating_add(c).min(input.len());
            produced = produced.saturating_add(p).min(output.len());
            if status == Status::StreamEnd {
                self.inner.reset(false);
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
        if self.reset_each_message {
            self.inner.reset(false);
        }
    }
}

/// Compressor for our messages.
pub struct Deflater {
    inner: Compress,
    reset_each_message: bool,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("reset_each_message", &self.reset_each_message)
            .finish_non_exhaustive()
    }
}

impl Deflater {
    /// A raw-DEFLATE compressor at [`DEFAULT_LEVEL`]; resets between messages
    /// when `server_no_context_takeover` was agreed.
    pub fn new(params: &Params) -> Self {
        Self::with_level(params, DEFAULT_LEVEL)
    }

    /// Like [`Deflater::new`] with a level 0..=9.
    pub fn with_level(params: &Params, level: u32) -> Self {
        Deflater {
            inner: Compress::new(Compression::new(level.min(9)), false),
            reset_each_message: params.server_no_context_takeover,
        }
    }

    /// Compresses one piece of a message and appends the result to `out`.
    /// Every piece is sync-flushed so it can go out at once as a frame. With
    /// `fin` (the last piece of the message) the trailing `00 00 ff ff` is
    /// removed and, without context takeover, the compressor is reset.
    pub fn compress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
    ) -> Result<(), DeflateError> {
        let mut buf: Vec<u8> = Vec::with_capacity(input.len() / 2 + 64);
        let mut pos = 0;
        loop {
            if buf.capacity() - buf.len() < 64 {
                buf.reserve(buf.capacity().max(256));
            }
            let in0 = self.inner.total_in();
            self.inner
                .compress_vec(&input[pos..], &mut buf, FlushCompress::Sync)
                .map_err(|e| DeflateError(e.to_string()))?;
            let c = usize::try_from(self.inner.total_in() - in0).unwrap_or(usize::MAX);
            pos = pos.saturating_add(c).min(input.len());
            if pos >= input.len() && buf.len() < buf.capacity() {
                break;
            }
        }
        if fin {
            if buf.ends_with(&TAIL) {
                buf.truncate(buf.len() - TAIL.len());
            }
            if self.reset_each_message {
                self.inner.reset();
            }
        }
        out.extend_from_slice(&buf);
        Ok(())
    }

    /// Compresses a whole message (convenience over [`Deflater::compress`]).
    pub fn compress_message(&mut self, input: &[u8]) -> Result<Vec<u8>, DeflateError> {
        let mut out = BytesMut::new();
        self.compress(input, true, &mut out)?;
        Ok(out.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(s: &str) -> Option<String> {
        negotiate(s).map(|(_, r)| r)
    }

    #[test]
    fn browser_offers() {
        // Chrome
        let (p, r) = negotiate("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(r, "permessage-deflate");
        assert_eq!(p, Params::default());
        // Firefox
        assert_eq!(
            neg("permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        // Safari-ish spacing / case
        assert_eq!(
            neg("Permessage-Deflate;Client_Max_Window_Bits").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn libwebsockets_client_offer() {
        let (p, r) =
            negotiate("permessage-deflate; client_no_context_takeover; client_max_window_bits")
                .unwrap();
        assert!(p.client_no_context_takeover);
        assert!(!p.server_no_context_takeover);
        assert_eq!(r, "permessage-deflate; client_no_context_takeover");
    }

    #[test]
    fn server_params() {
        let (p, r) = negotiate(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=15; client_max_window_bits=10",
        )
        .unwrap();
        assert!(p.server_no_context_takeover);
        assert_eq!(p.server_max_window_bits, 15);
        assert_eq!(p.client_max_window_bits, 10);
        assert_eq!(
            r,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=15"
        );
        // quoted value
        let (p, _) = negotiate("permessage-deflate; client_max_window_bits=\"12\"").unwrap();
        assert_eq!(p.client_max_window_bits, 12);
    }

    #[test]
    fn first_acceptable_offer_wins() {
        let (p, r) = negotiate(
            "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_no_context_takeover",
        )
        .unwrap();
        assert!(p.server_no_context_takeover);
        assert_eq!(r, "permessage-deflate; server_no_context_takeover");
        // other extensions are skipped
        assert_eq!(
            neg("x-webkit-deflate-frame, permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        // first acceptable of two acceptable
        let (p, _) =
            negotiate("permessage-deflate; client_no_context_takeover, permessage-deflate")
                .unwrap();
        assert!(p.client_no_context_takeover);
    }

    #[test]
    fn malformed_offers_declined() {
        for bad in [
            "",
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=14",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=015",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits=",
            "permessage-deflate; client_max_window_bits=\"10",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
            "permessage-deflate; unknown_param",
            "permessage-deflate;",
            "permessage-deflate; ; client_max_window_bits",
        ] {
            assert_eq!(neg(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sync_flush_tail_and_round_trip() {
        let p = Params::default();
        let mut d = Deflater::new(&p);
        let mut i = Inflater::new(&p);
        let msg = b"Hello, hello, hello, hello!".repeat(10);
        let c = d.compress_message(&msg).unwrap();
        assert!(!c.ends_with(&TAIL));
        assert!(c.len() < msg.len());
        assert_eq!(i.inflate_message(&c, 0).unwrap(), msg);
        // context takeover: the second identical message is smaller
        let c2 = d.compress_message(&msg).unwrap();
        assert!(c2.len() < c.len(), "{} vs {}", c2.len(), c.len());
        assert_eq!(i.inflate_message(&c2, 0).unwrap(), msg);
        // empty message
        let e = d.compress_message(b"").unwrap();
        assert!(e.len() <= 1);
        assert_eq!(i.inflate_message(&e, 0).unwrap(), b"");
    }

    #[test]
    fn rfc7692_examples() {
        // §7.2.3.1: "Hello" compressed, no context takeover
        let mut i = Inflater::new(&Params::default());
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(i.inflate_message(&hello, 0).unwrap(), b"Hello");
        // §7.2.3.2: second "Hello" with context takeover
        assert_eq!(
            i.inflate_message(&[0xf2, 0x00, 0x11, 0x00, 0x00], 0)
                .unwrap(),
            b"Hello"
        );
        // §7.2.3.3: stored block
        let mut i = Inflater::new(&Params::default());
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(i.inflate_message(&stored, 0).unwrap(), b"Hello");
        // §7.2.3.4: BFINAL block, then a new message still decodes
        let mut i = Inflater::new(&Params::default());
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(i.inflate_message(&bfinal, 0).unwrap(), b"Hello");
        assert_eq!(i.inflate_message(&hello, 0).unwrap(), b"Hello");
    }

    #[test]
    fn no_context_takeover_resets() {
        let p = Params {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..Params::default()
        };
        let mut d = Deflater::new(&p);
        let msg = b"abcdefghijabcdefghij0123456789".repeat(5);
        let c1 = d.compress_message(&msg).unwrap();
        let c2 = d.compress_message(&msg).unwrap();
        assert_eq!(c1, c2);
        // a fresh inflater (no shared history) reads the second message
        let mut i = Inflater::new(&p);
        assert_eq!(i.inflate_message(&c2, 0).unwrap(), msg);
        assert_eq!(i.inflate_message(&c1, 0).unwrap(), msg);
    }

    #[test]
    fn corrupt_data_is_an_error() {
        let mut i = Inflater::new(&Params::default());
        assert!(i
            .inflate_message(&[0xff, 0xff, 0xff, 0xff, 0xff], 0)
            .is_err());
    }

    #[test]
    fn limit_stops_bombs() {
        let mut d = Deflater::new(&Params::default());
        let c = d.compress_message(&vec![0u8; 1 << 20]).unwrap();
        assert!(c.len() < 4096);
        let mut i = Inflater::new(&Params::default());
        assert!(i.inflate_message(&c, 1000).is_err());
    }
}
