//! RFC 6455 framing, server side: a streaming [`Decoder`] for client frames
//! and encoders for server frames.
//!
//! The decoder hands out message payload as it arrives, in pieces of at most
//! [`Limits::chunk`] bytes, the way libwebsockets delivers `RECEIVE`
//! callbacks: each [`Event::Data`] says whether it is the first and/or last
//! piece of its message and how many bytes of the current frame are still to
//! come (`lws_remaining_packet_payload`).

use crate::deflate::{Deflater, Inflater, TAIL};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;

/// Inflated bytes per event when [`Limits::chunk`] is 0 (inflated output must
/// be bounded somehow; raw payload is then not split at all).
pub const DEFAULT_INFLATE_CHUNK: usize = 64 * 1024;

/// Largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Frame opcodes (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    /// The opcode of a wire value; `None` for reserved values.
    pub fn from_u8(v: u8) -> Option<OpCode> {
        Some(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// Limits of a [`Decoder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes (inflated size for compressed messages);
    /// exceeding it fails with close code 1009. 0 = no limit.
    pub max_message: u64,
    /// Most payload bytes per [`Event::Data`] (the protocol's
    /// `rx_buffer_size`). 0 = don't split (compressed messages then use
    /// [`DEFAULT_INFLATE_CHUNK`]).
    pub chunk: usize,
}

/// What the decoder produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A piece of a text or binary message.
    Data {
        /// From the opcode of the message's first frame.
        binary: bool,
        /// The first piece of the message (`lws_is_first_fragment`).
        first: bool,
        /// The last piece of the message (`lws_is_final_fragment`).
        last: bool,
        /// Unmasked (and, for compressed messages, inflated) bytes. Empty only
        /// on the last piece of a message (e.g. an empty message or an empty
        /// final continuation frame).
        payload: Bytes,
        /// `lws_remaining_packet_payload`: payload bytes of the current frame
        /// still to come after this piece, as counted on the wire. For a
        /// compressed message that is the number of *compressed* bytes of the
        /// current frame not yet read from the input, so it is only an
        /// estimate of what is still to come: it can be 0 while more inflated
        /// pieces follow (they come from bytes already read). It is always 0
        /// on the last piece; `last` is what tells the message is complete.
        remaining: u64,
    },
    /// A ping (payload at most 125 bytes); answer with a pong.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame. `code` is `None` for an empty close payload.
    /// After this the decoder returns `Ok(None)` and consumes nothing more.
    Close { code: Option<u16>, reason: String },
}

/// A protocol violation: close the connection with this code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseError {
    /// RFC 6455 close code: 1002 protocol error, 1007 invalid payload,
    /// 1009 message too big.
    pub code: u16,
    /// Short human-readable reason (fits in a close frame).
    pub reason: &'static str,
}

impl CloseError {
    const fn protocol(reason: &'static str) -> CloseError {
        CloseError { code: 1002, reason }
    }
    const fn invalid(reason: &'static str) -> CloseError {
        CloseError { code: 1007, reason }
    }
    const fn too_big() -> CloseError {
        CloseError {
            code: 1009,
            reason: "message too big",
        }
    }
}

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "websocket close {}: {}", self.code, self.reason)
    }
}

impl std::error::Error for CloseError {}

/// Whether a close code may appear in a received close frame (RFC 6455
/// §7.4; 1012-1014 are IANA-registered, 3000-4999 are for libraries and
/// applications).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Incremental UTF-8 validator: keeps the incomplete tail of a code point.
#[derive(Debug, Default, Clone)]
struct Utf8 {
    buf: [u8; 4],
    len: usize,
}

impl Utf8 {
    fn feed(&mut self, mut data: &[u8]) -> bool {
        if self.len > 0 {
            let need: usize = match self.buf[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = need.saturating_sub(self.len).min(data.len());
            let end = (self.len + take).min(4);
            self.buf[self.len..end].copy_from_slice(&data[..end - self.len]);
            data = &data[end - self.len..];
            self.len = end;
            match std::str::from_utf8(&self.buf[..self.len]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_none() && data.is_empty() => return true,
                Err(_) => return false,
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => true,
            Err(e) => match e.error_len() {
                Some(_) => false,
                None => {
                    let rest = &data[e.valid_up_to()..];
                    if rest.len() > 3 {
                        return false;
                    }
                    self.buf[..rest.len()].copy_from_slice(rest);
                    self.len = rest.len();
                    true
                }
            },
        }
    }

    fn is_complete(&self) -> bool {
        self.len == 0
    }
}

/// XORs `buf` with the masking key, `offset` being the position of `buf[0]`
/// within the frame payload.
fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    if mask == [0; 4] {
        return;
    }
    let mut m = [0u8; 4];
    for (i, b) in m.iter_mut().enumerate() {
        *b = mask[(offset + i) & 3];
    }
    let m8 = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ m8).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i & 3];
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for a frame header.
    Header,
    /// Inside a data frame's payload.
    Data {
        remaining: u64,
        mask: [u8; 4],
        pos: usize,
        fin: bool,
    },
    /// A control frame whose header was read; waiting for its whole payload.
    Control {
        opcode: OpCode,
        len: usize,
        mask: [u8; 4],
    },
}

#[derive(Debug)]
struct Message {
    binary: bool,
    /// A Data event of this message was delivered.
    started: bool,
    /// Bytes counted against `max_message` (inflated ones when compressed).
    size: u64,
    /// For text messages.
    utf8: Option<Utf8>,
    /// For compressed messages.
    inflate: Option<InflateState>,
}

#[derive(Debug, Default)]
struct InflateState {
    /// Unmasked compressed bytes not yet taken by the inflater.
    pending: BytesMut,
    /// Inflated bytes not yet delivered (the first `filled` of the decoder's
    /// output buffer).
    filled: usize,
    /// The `00 00 ff ff` tail was appended after the final frame.
    tail_fed: bool,
    /// The inflater's last call filled its output: it may have more.
    more: bool,
}

enum Step {
    Event(Event),
    NeedMore,
    Again,
}

/// Streaming decoder of client frames. See the module docs.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    inflater: Option<Inflater>,
    state: State,
    msg: Option<Message>,
    /// Inflate output buffer: `cap + 1` bytes so that a full piece can be
    /// told apart from the last one.
    out: Vec<u8>,
    failed: Option<CloseError>,
    closed: bool,
    /// The peer is a server (we are the client): its frames must be
    /// unmasked.
    from_server: bool,
}

impl Decoder {
    /// A decoder with these limits and no extension.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            inflater: None,
            state: State::Header,
            msg: None,
            out: Vec::new(),
            failed: None,
            closed: false,
            from_server: false,
        }
    }

    /// A decoder of a server's frames, for a client connection: frames
    /// must be unmasked (RFC 6455 §5.1), a masked one is a protocol error.
    pub fn for_server_frames(limits: Limits) -> Decoder {
        Decoder {
            from_server: true,
            ..Decoder::new(limits)
        }
    }

    /// Enables permessage-deflate: messages whose first frame has RSV1 set
    /// are inflated.
    pub fn set_inflate(&mut self, inflater: Inflater) {
        self.inflater = Some(inflater);
    }

    /// Whether permessage-deflate is enabled.
    pub fn inflate_enabled(&self) -> bool {
        self.inflater.is_some()
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Changes the limits (takes effect from the next frame / piece).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// A data message was started and not finished.
    pub fn in_message(&self) -> bool {
        self.msg.is_some()
    }

    /// Memory kept for compressed messages that
    /// [`Decoder::release_inflate_memory`] would free: the buffer inflated
    /// bytes wait in, an inflater's state that the next message does not need.
    pub fn holds_inflate_memory(&self) -> bool {
        self.out.capacity() > 0 || self.inflater.as_ref().is_some_and(Inflater::can_release)
    }

    /// Whether it inflated anything since the last call.
    pub fn take_inflate_active(&mut self) -> bool {
        self.inflater.as_mut().is_some_and(Inflater::take_active)
    }

    /// Between messages, frees the inflate buffer and, when the client
    /// resets its context anyway, the inflater's state (see
    /// [`Inflater::release`]); both come back with the next compressed
    /// message.
    pub fn release_inflate_memory(&mut self) {
        if self.msg.is_some() {
            return;
        }
        self.out = Vec::new();
        if let Some(i) = self.inflater.as_mut() {
            i.release();
        }
    }

    /// A close frame was received.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Consumes bytes of `input` and returns the next event, or `Ok(None)`
    /// when more input is needed. Call it again until it returns `Ok(None)`.
    /// After an error every later call returns the same error; after a
    /// [`Event::Close`] every later call returns `Ok(None)`.
    pub fn feed(&mut self, input: &mut BytesMut) -> Result<Option<Event>, CloseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.closed {
            return Ok(None);
        }
        loop {
            let step = match self.state {
                State::Header => self.header(input),
                State::Control { .. } => self.control(input),
                State::Data { .. } => {
                    if self.msg.as_ref().is_some_and(|m| m.inflate.is_some()) {
                        self.data_inflate(input)
                    } else {
                        self.data_plain(input)
                    }
                }
            };
            match step {
                Ok(Step::Event(ev)) => {
                    if matches!(ev, Event::Close { .. }) {
                        self.closed = true;
                    }
                    return Ok(Some(ev));
                }
                Ok(Step::NeedMore) => return Ok(None),
                Ok(Step::Again) => continue,
                Err(e) => {
                    self.failed = Some(e);
                    self.msg = None;
                    return Err(e);
                }
            }
        }
    }

    fn header(&mut self, input: &mut BytesMut) -> Result<Step, CloseError> {
        if input.len() < 2 {
            return Ok(Step::NeedMore);
        }
        let (b0, b1) = (input[0], input[1]);
        let fin = b0 & 0x80 != 0;
        let rsv1 = b0 & 0x40 != 0;
        if b0 & 0x30 != 0 {
            return Err(CloseError::protocol("reserved bits set"));
        }
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(CloseError::protocol("unknown opcode"))?;
        let masked = b1 & 0x80 != 0;
        if self.from_server && masked {
            return Err(CloseError::protocol("masked server frame"));
        }
        if !self.from_server && !masked {
            return Err(CloseError::protocol("unmasked client frame"));
        }
        let len7 = b1 & 0x7F;
        match opcode {
            OpCode::Close | OpCode::Ping | OpCode::Pong => {
                if !fin {
                    return Err(CloseError::protocol("fragmented control frame"));
                }
                if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                    return Err(CloseError::protocol("control frame too long"));
                }
                if rsv1 {
                    return Err(CloseError::protocol("RSV1 set on a control frame"));
                }
            }
            OpCode::Continuation => {
                if self.msg.is_none() {
                    return Err(CloseError::protocol("continuation without a message"));
                }
                if rsv1 {
                    return Err(CloseError::protocol("RSV1 set on a continuation frame"));
                }
            }
            OpCode::Text | OpCode::Binary => {
                if self.msg.is_some() {
                    return Err(CloseError::protocol("new message inside a fragmented one"));
                }
                if rsv1 && self.inflater.is_none() {
                    return Err(CloseError::protocol("RSV1 set without an extension"));
                }
            }
        }
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let hlen = 2 + ext + if masked { 4 } else { 0 };
        if input.len() < hlen {
            return Ok(Step::NeedMore);
        }
        let len = match ext {
            2 => u64::from(u16::from_be_bytes([input[2], input[3]])),
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&input[2..10]);
                u64::from_be_bytes(b)
            }
            _ => u64::from(len7),
        };
        if len >> 63 != 0 {
            return Err(CloseError::protocol("64-bit length with the top bit set"));
        }
        let mut mask = [0u8; 4];
        if masked {
            mask.copy_from_slice(&input[2 + ext..hlen]);
        }
        if opcode.is_control() {
            input.advance(hlen);
            self.state = State::Control {
                opcode,
                len: usize::from(len7),
                mask,
            };
            return Ok(Step::Again);
        }
        let max = self.limits.max_message;
        if opcode != OpCode::Continuation {
            let binary = opcode == OpCode::Binary;
            self.msg = Some(Message {
                binary,
                started: false,
                size: 0,
                utf8: (!binary).then(Utf8::default),
                inflate: rsv1.then(InflateState::default),
            });
        }
        let Some(msg) = self.msg.as_mut() else {
            return Err(CloseError::protocol("continuation without a message"));
        };
        if msg.inflate.is_none() {
            let size = msg.size.saturating_add(len);
            if max != 0 && size > max {
                return Err(CloseError::too_big());
            }
            msg.size = size;
        }
        input.advance(hlen);
        self.state = State::Data {
            remaining: len,
            mask,
            pos: 0,
            fin,
        };
        Ok(Step::Again)
    }

    fn control(&mut self, input: &mut BytesMut) -> Result<Step, CloseError> {
        let State::Control { opcode, len, mask } = self.state else {
            return Ok(Step::Again);
        };
        if input.len() < len {
            return Ok(Step::NeedMore);
        }
        let mut payload = input.split_to(len);
        apply_mask(&mut payload, mask, 0);
        self.state = State::Header;
        let ev = match opcode {
            OpCode::Ping => Event::Ping(payload.freeze()),
            OpCode::Pong => Event::Pong(payload.freeze()),
            _ => parse_close(&payload)?,
        };
        Ok(Step::Event(ev))
    }

    fn data_plain(&mut self, input: &mut BytesMut) -> Result<Step, CloseError> {
        let State::Data {
            remaining,
            mask,
            pos,
            fin,
        } = &mut self.state
        else {
            return Ok(Step::Again);
        };
        let Some(msg) = self.msg.as_mut() else {
            self.state = State::Header;
            return Err(CloseError::protocol("data without a message"));
        };
        let fin = *fin;
        let piece = if *remaining == 0 {
            BytesMut::new()
        } else {
            if input.is_empty() {
                return Ok(Step::NeedMore);
            }
            let mut n = usize::try_from(*remaining)
                .unwrap_or(usize::MAX)
                .min(input.len());
            if self.limits.chunk != 0 {
                n = n.min(self.limits.chunk);
            }
            let mut piece = input.split_to(n);
            apply_mask(&mut piece, *mask, *pos);
            *pos = (*pos + n) & 3;
            *remaining -= n as u64;
            piece
        };
        let remaining = *remaining;
        if remaining == 0 {
            self.state = State::Header;
        }
        let last = fin && remaining == 0;
        if piece.is_empty() && !last {
            // Empty non-final frame: nothing to tell.
            return Ok(Step::Again);
        }
        if let Some(v) = msg.utf8.as_mut() {
            if !v.feed(&piece) || (last && !v.is_complete()) {
                return Err(CloseError::invalid("invalid UTF-8 in text message"));
            }
        }
        let ev = Event::Data {
            binary: msg.binary,
            first: !msg.started,
            last,
            payload: piece.freeze(),
            remaining,
        };
        msg.started = true;
        if last {
            self.msg = None;
        }
        Ok(Step::Event(ev))
    }

    fn data_inflate(&mut self, input: &mut BytesMut) -> Result<Step, CloseError> {
        let cap = if self.limits.chunk == 0 {
            DEFAULT_INFLATE_CHUNK
        } else {
            self.limits.chunk
        };
        if self.out.len() < cap + 1 {
            self.out.resize(cap + 1, 0);
        }
        let State::Data {
            remaining,
            mask,
            pos,
            fin,
        } = &mut self.state
        else {
            return Ok(Step::Again);
        };
        let (Some(msg), Some(inflater)) = (self.msg.as_mut(), self.inflater.as_mut()) else {
            return Err(CloseError::protocol("compressed data without an extension"));
        };
        let Some(st) = msg.inflate.as_mut() else {
            return Err(CloseError::protocol("compressed data without an extension"));
        };
        let max = self.limits.max_message;
        let out = &mut self.out;
        let mut frame_done = false;
        let (n, last) = loop {
            // Inflate what we have while there is room (`cap + 1` bytes, so
            // a full piece is told apart from the last one).
            // An inflater that filled its output may hold more (bits of
            // input it has taken, the rest of a match): it is asked again,
            // without input, before anything counts as the end.
            while st.filled <= cap && (!st.pending.is_empty() || st.more) {
                let space = cap + 1 - st.filled;
                let (c, p) = inflater
                    .inflate(&st.pending, &mut out[st.filled..=cap])
                    .map_err(|_| CloseError::invalid("corrupt compressed data"))?;
                st.more = p == space;
                if c == 0 && p == 0 && !st.pending.is_empty() {
                    return Err(CloseError::invalid("corrupt compressed data"));
                }
                st.pending.advance(c);
                st.filled += p;
                msg.size = msg.size.saturating_add(p as u64);
                if max != 0 && msg.size > max {
                    return Err(CloseError::too_big());
                }
            }
            if st.filled > cap {
                break (cap, false);
            }
            if *remaining > 0 {
                if input.is_empty() {
                    if st.filled == 0 {
                        return Ok(Step::NeedMore);
                    }
                    break (st.filled, false);
                }
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                let mut raw = input.split_to(n);
                apply_mask(&mut raw, *mask, *pos);
                *pos = (*pos + n) & 3;
                *remaining -= n as u64;
                st.pending = raw;
            } else if !*fin {
                frame_done = true;
                break (st.filled, false);
            } else if !st.tail_fed {
                st.pending = BytesMut::from(&TAIL[..]);
                st.tail_fed = true;
            } else {
                frame_done = true;
                break (st.filled, true);
            }
        };
        let remaining = *remaining;
        if frame_done {
            self.state = State::Header;
            if n == 0 && !last {
                return Ok(Step::Again);
            }
        }
        let piece = &out[..n];
        if let Some(v) = msg.utf8.as_mut() {
            if !v.feed(piece) || (last && !v.is_complete()) {
                return Err(CloseError::invalid("invalid UTF-8 in text message"));
            }
        }
        let ev = Event::Data {
            binary: msg.binary,
            first: !msg.started,
            last,
            payload: Bytes::copy_from_slice(piece),
            remaining,
        };
        out.copy_within(n..st.filled, 0);
        st.filled -= n;
        msg.started = true;
        if last {
            inflater.end_message();
            self.msg = None;
        }
        Ok(Step::Event(ev))
    }
}

fn parse_close(payload: &[u8]) -> Result<Event, CloseError> {
    match payload.len() {
        0 => Ok(Event::Close {
            code: None,
            reason: String::new(),
        }),
        1 => Err(CloseError::protocol("close payload of 1 byte")),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if !is_valid_close_code(code) {
                return Err(CloseError::protocol("invalid close code"));
            }
            let reason = std::str::from_utf8(&payload[2..])
                .map_err(|_| CloseError::invalid("invalid UTF-8 in close reason"))?;
            Ok(Event::Close {
                code: Some(code),
                reason: reason.to_owned(),
            })
        }
    }
}

/// Appends one unmasked (server) frame.
pub fn encode_frame(out: &mut BytesMut, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
    let b0 = (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode.as_u8();
    out.reserve(payload.len() + 10);
    out.put_u8(b0);
    let len = payload.len();
    if len < 126 {
        out.put_u8(len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        out.put_u8(126);
        out.put_u16(l);
    } else {
        out.put_u8(127);
        out.put_u64(len as u64);
    }
    out.put_slice(payload);
}

/// Appends one frame masked with `mask` (a client's frame, RFC 6455 §5.3).
pub fn encode_frame_masked(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    payload: &[u8],
    mask: [u8; 4],
) {
    let b0 = (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode.as_u8();
    out.reserve(payload.len() + 14);
    out.put_u8(b0);
    let len = payload.len();
    if len < 126 {
        out.put_u8(0x80 | len as u8);
    } else if let Ok(l) = u16::try_from(len) {
        out.put_u8(0x80 | 126);
        out.put_u16(l);
    } else {
        out.put_u8(0x80 | 127);
        out.put_u64(len as u64);
    }
    out.put_slice(&mask);
    let start = out.len();
    out.put_slice(payload);
    apply_mask(&mut out[start..], mask, 0);
}

/// Appends an unmasked frame, or a masked one when `mask` is given.
fn put_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    match mask {
        Some(m) => encode_frame_masked(out, opcode, fin, rsv1, payload, m),
        None => encode_frame(out, opcode, fin, rsv1, payload),
    }
}

/// The payload of a close frame: nothing for codes that must not go on
/// the wire (1005, 1006, 1015), else the code and the reason cut to fit
/// in 123 bytes at a character boundary.
fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    if matches!(code, 1005 | 1006 | 1015) {
        return Vec::new();
    }
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut p = Vec::with_capacity(2 + end);
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(&reason.as_bytes()[..end]);
    p
}

/// Appends a close frame. Codes that must not go on the wire (1005, 1006,
/// 1015) give an empty close payload; the reason is cut to fit in 123 bytes
/// at a character boundary.
pub fn encode_close(out: &mut BytesMut, code: u16, reason: &str) {
    encode_frame(
        out,
        OpCode::Close,
        true,
        false,
        &close_payload(code, reason),
    );
}

/// Misuse of the message [`Encoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A continuation without an open fragmented message.
    NoMessage,
    /// Text/Binary while a fragmented message is still open.
    MessageOpen,
    /// A control opcode given to [`Encoder::data`] or a data opcode to
    /// [`Encoder::control`].
    WrongOpCode(OpCode),
    /// Control payload over 125 bytes.
    ControlTooLong,
    /// The compressor failed.
    Deflate(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NoMessage => write!(f, "continuation without an open message"),
            EncodeError::MessageOpen => write!(f, "new message while a fragmented one is open"),
            EncodeError::WrongOpCode(op) => write!(f, "opcode {op:?} not allowed here"),
            EncodeError::ControlTooLong => write!(f, "control payload over 125 bytes"),
            EncodeError::Deflate(e) => write!(f, "deflate: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Message-level encoder of server frames (or, with
/// [`Encoder::set_client_masking`], client frames): tracks fragmented
/// messages (`LWS_WRITE_NO_FIN` / `LWS_WRITE_CONTINUATION`) and, with
/// permessage-deflate, compresses them (RSV1 on the first frame only).
#[derive(Debug, Default)]
pub struct Encoder {
    deflater: Option<Deflater>,
    /// `Some(compressed)` while a fragmented message is open.
    open: Option<bool>,
    /// Masking keys for a client's frames.
    masker: Option<Masker>,
}

/// A client's masking keys: a new key per frame from a SplitMix64
/// sequence the caller seeds with random bits. The keys only need to be
/// unpredictable to whoever chooses the payload (RFC 6455 §10.3); here
/// that is the plugin itself, not a script in a browser.
#[derive(Debug, Clone)]
struct Masker(u64);

impl Masker {
    fn next(&mut self) -> [u8; 4] {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let k = (z as u32).to_ne_bytes();
        // A zero key would leave the payload in clear: never use it.
        if k == [0; 4] {
            [1, 0, 0, 0]
        } else {
            k
        }
    }
}

/// Compressed payloads above this size do not keep their buffer in
/// [`DEFLATE_OUT`] after use.
const DEFLATE_OUT_KEEP: usize = 256 * 1024;

thread_local! {
    /// Where a compressed payload waits for its frame header: one buffer per
    /// thread, so that connections (most of them idle) hold none.
    static DEFLATE_OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Encoder {
    /// An encoder without compression.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Masks every frame from now on, as a client must; `seed` should be
    /// random bits.
    pub fn set_client_masking(&mut self, seed: u64) {
        self.masker = Some(Masker(seed));
    }

    /// Appends a close frame (see [`encode_close`]; `None` = no status).
    pub fn close(&mut self, out: &mut BytesMut, code: Option<u16>, reason: &str) {
        let payload = code.map_or_else(Vec::new, |c| close_payload(c, reason));
        let mask = self.masker.as_mut().map(Masker::next);
        put_frame(out, OpCode::Close, true, false, &payload, mask);
    }

    /// Enables permessage-deflate for messages started from now on.
    pub fn set_deflate(&mut self, deflater: Deflater) {
        self.deflater = Some(deflater);
    }

    /// Whether permessage-deflate is enabled.
    pub fn deflate_enabled(&self) -> bool {
        self.deflater.is_some()
    }

    /// Its frames are [`encode_frame`]'s, unmasked and uncompressed (so a
    /// frame encoded once is the same on this connection).
    pub fn is_plain(&self) -> bool {
        self.deflater.is_none() && self.masker.is_none()
    }

    /// A fragmented message is open (its last frame not yet sent).
    pub fn in_message(&self) -> bool {
        self.open.is_some()
    }

    /// The compressor's state exists.
    pub fn holds_deflate_memory(&self) -> bool {
        self.deflater.as_ref().is_some_and(Deflater::is_allocated)
    }

    /// Whether it compressed anything since the last call.
    pub fn take_deflate_active(&mut self) -> bool {
        self.deflater.as_mut().is_some_and(Deflater::take_active)
    }

    /// Between messages, frees the compressor's state (see
    /// [`Deflater::release`]); the next message makes a new one.
    pub fn release_deflate_memory(&mut self) {
        if self.open.is_none() {
            if let Some(d) = self.deflater.as_mut() {
                d.release();
            }
        }
    }

    /// Appends one frame of a data message. `opcode` is Text or Binary to
    /// start a message, Continuation to go on with an open one; `fin` ends
    /// the message.
    pub fn data(
        &mut self,
        out: &mut BytesMut,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
    ) -> Result<(), EncodeError> {
        let compressed = match opcode {
            OpCode::Text | OpCode::Binary => {
                if self.open.is_some() {
                    return Err(EncodeError::MessageOpen);
                }
                self.deflater.is_some()
            }
            OpCode::Continuation => self.open.ok_or(EncodeError::NoMessage)?,
            other => return Err(EncodeError::WrongOpCode(other)),
        };
        let first = opcode != OpCode::Continuation;
        let mask = self.masker.as_mut().map(Masker::next);
        match (compressed, self.deflater.as_mut()) {
            (true, Some(d)) => DEFLATE_OUT.with(|cell| {
                // Never re-entered; a fresh buffer if it ever were.
                let mut local = Vec::new();
                let mut shared = cell.try_borrow_mut();
                let buf = match shared.as_mut() {
                    Ok(b) => &mut **b,
                    Err(_) => &mut local,
                };
                buf.clear();
                let res = d.compress(payload, fin, buf);
                if res.is_ok() {
                    put_frame(out, opcode, fin, first, buf, mask);
                }
                if buf.capacity() > DEFLATE_OUT_KEEP {
                    *buf = Vec::new();
                }
                res.map_err(|e| EncodeError::Deflate(e.0))
            })?,
            _ => put_frame(out, opcode, fin, false, payload, mask),
        }
        self.open = if fin { None } else { Some(compressed) };
        Ok(())
    }

    /// Appends a Ping, Pong or Close frame (never compressed; may be sent in
    /// the middle of a fragmented message).
    pub fn control(
        &mut self,
        out: &mut BytesMut,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), EncodeError> {
        if !opcode.is_control() {
            return Err(EncodeError::WrongOpCode(opcode));
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(EncodeError::ControlTooLong);
        }
        let mask = self.masker.as_mut().map(Masker::next);
        put_frame(out, opcode, true, false, payload, mask);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
