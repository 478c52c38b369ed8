//! A normalising layer between the client socket and hyper's HTTP/1 parser.
//!
//! Small HTTP stacks in controllers send requests that are unambiguous but
//! not quite what a strict parser wants. hyper (with
//! `allow_multiple_spaces_in_request_line_delimiters`) already accepts bare
//! `LF` line endings, header names in any case, blanks around header values,
//! several spaces between request-line parts, absolute-form targets and
//! `Content-Length` with leading zeros. What it cannot be configured for is
//! done here, on the **request head only**; body bytes are never changed:
//!
//! * The request line is rewritten as `METHOD SP target SP version`: runs of
//!   spaces *or tabs* between the parts, and before or after them, are
//!   accepted (`GET\t/x HTTP/1.0 ` from a `sprintf`).
//! * Every head is re-emitted with `CRLF` line endings and `name: value`
//!   header lines (values trimmed of spaces and tabs), so what hyper parses
//!   is canonical whatever the client's line endings were.
//! * Empty lines before a request line (a stray `CRLF` after a body) are
//!   skipped.
//!
//! And it refuses, before hyper sees anything, what is ambiguous or hostile
//! (see [`Refusal`]): a request line over [`Limits::max_request_line`] (414),
//! a head over [`Limits::max_head`] or with more than
//! [`Limits::max_headers`] header lines (431), both `Content-Length` and
//! `Transfer-Encoding`, differing or invalid `Content-Length`s,
//! `Transfer-Encoding` whose last coding is not `chunked` or on HTTP/1.0,
//! obsolete line folding, header names that are not tokens (`Name : v`),
//! control bytes in the request line or in header values, and anything else
//! that does not parse as `METHOD SP target SP HTTP/1.x` (400). A refused
//! request is replaced by a stand-in head carrying [`REFUSED_HEADER`]; the
//! request service answers it with that status and `Connection: close`
//! (see [`refusal`]), so answers stay in order behind pipelined requests.
//! Everything the client sends after a refused head is read and discarded.
//!
//! To find where the next head of a keep-alive connection starts, the
//! layer follows body framing (`Content-Length` bytes, or chunked framing
//! parsed exactly as hyper parses it). After a request that may switch
//! protocols (`Upgrade:`, `CONNECT`) and after any chunk framing it does not
//! understand, it passes everything through untouched (hyper then decides;
//! for broken chunk framing it fails the body).
//!
//! **A POST, PUT or PATCH with neither `Content-Length` nor
//! `Transfer-Encoding`** has a body that ends when the client closes its
//! sending side, as lws reads it (lws takes such a body as "up to the
//! maximum size"; it then drops the connection at the client's close,
//! where this layer completes the body so the request is answered). hyper
//! would read no body at all, and the bytes would be taken for the next
//! request. So the head goes to hyper with `Transfer-Encoding: chunked`,
//! `Connection: close` and [`UNTIL_CLOSE_HEADER`] (the client's version:
//! an HTTP/1.0 head is passed as HTTP/1.1, since hyper refuses chunked
//! HTTP/1.0 requests), every byte that follows is passed as a chunk, and
//! the client's end of input as the last chunk. The request service takes
//! the marker and the added `Transfer-Encoding` off again and restores the
//! version (see [`until_close`]). A client that neither sends a length nor
//! closes is timed out like any stalled body.
//!
//! Two timing rules live here too, since only this layer knows which bytes
//! are body bytes:
//!
//! * **Minimum body rate.** While a body is being received, time spent
//!   waiting for the client is added up; each time it reaches
//!   [`Limits::body_window`] (`timeout-secs`), at least
//!   [`Limits::body_min_bytes`] (default [`DEFAULT_BODY_MIN_BYTES`], 1 KiB)
//!   must have arrived in that window, or the read fails with `TimedOut`
//!   and the connection is closed (a callback:// request then gets 408).
//!   Time during which the server is not reading (a plugin that paused the
//!   body) does not count. A body that completes within one window is never
//!   judged, however slowly it trickles.
//! * **Lingering close.** On shutdown the socket's write side is closed
//!   first and what the client still sends is read and discarded for up to
//!   [`LINGER`], so that an answer (a 431, say) is not destroyed by a TCP
//!   reset caused by unread request bytes.
//!
//! HTTP/2 requests never pass through this layer; [`h2`] applies the same
//! limits to them once decoded.

use std::time::Duration;

use bytes::BytesMut;
use http::{HeaderMap, StatusCode};

/// Header of the stand-in head that replaces a refused request: its value
/// is `<status> <reason>`. One sent by a client is dropped.
pub const REFUSED_HEADER: &str = "x-comlink-refused";

/// Header added to a head whose body ends at the client's close: its value
/// is the version the client sent (`HTTP/1.0` or `HTTP/1.1`). One sent by a
/// client is dropped.
pub const UNTIL_CLOSE_HEADER: &str = "x-comlink-until-close";

// The two markers as header names, made once: every request is checked for
// both, and looking a `&str` up parses and lower-cases it each time.
const REFUSED_NAME: http::HeaderName = http::HeaderName::from_static(REFUSED_HEADER);
const UNTIL_CLOSE_NAME: http::HeaderName = http::HeaderName::from_static(UNTIL_CLOSE_HEADER);

/// Default [`Limits::max_request_line`].
pub const DEFAULT_MAX_REQUEST_LINE: usize = 8 * 1024;
/// Default [`Limits::max_head`].
pub const DEFAULT_MAX_HEAD: usize = 16 * 1024;
/// Default [`Limits::max_headers`].
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default [`Limits::body_min_bytes`].
pub const DEFAULT_BODY_MIN_BYTES: u64 = 1024;

/// Limits applied to every request of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (without its line ending): 414 beyond.
    pub max_request_line: usize,
    /// Longest head (request line, header lines, final empty line): 431 beyond.
    pub max_head: usize,
    /// Most header lines: 431 beyond.
    pub max_headers: usize,
    /// Window of the minimum body rate (`timeout-secs`).
    pub body_window: Duration,
    /// Bytes a body must bring per window of waiting.
    pub body_min_bytes: u64,
}

impl Limits {
    /// The default limits, with `timeout-secs` as the body-rate window.
    pub fn new(body_window: Duration) -> Limits {
        Limits {
            max_request_line: DEFAULT_MAX_REQUEST_LINE,
            max_head: DEFAULT_MAX_HEAD,
            max_headers: DEFAULT_MAX_HEADERS,
            body_window,
            body_min_bytes: DEFAULT_BODY_MIN_BYTES,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new(Duration::from_secs(15))
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The answer.
    pub status: StatusCode,
    /// Why (ASCII, goes into a header and the log).
    pub reason: &'static str,
}

impl Refusal {
    const fn bad(reason: &'static str) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            reason,
        }
    }
}

/// The refusal a stand-in head carries, if `headers` are those of one.
pub fn refusal(headers: &HeaderMap) -> Option<(StatusCode, String)> {
    let v = headers.get(REFUSED_NAME)?.to_str().ok()?;
    let (code, reason) = v.split_once(' ').unwrap_or((v, ""));
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    Some((status, reason.to_string()))
}

/// For a request whose body ends at the client's close (see the module
/// docs): takes off the marker, `Transfer-Encoding` and `Connection: close`
/// this layer added, and returns the version the client sent.
pub fn until_close(headers: &mut HeaderMap) -> Option<http::Version> {
    let v = headers.remove(UNTIL_CLOSE_NAME)?;
    headers.remove(http::header::TRANSFER_ENCODING);
    // The layer's `connection: close` came after the client's own lines.
    let mut connection: Vec<_> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .cloned()
        .collect();
    connection.pop();
    headers.remove(http::header::CONNECTION);
    for c in connection {
        headers.append(http::header::CONNECTION, c);
    }
    Some(if v.as_bytes() == b"HTTP/1.0" {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    })
}

/// Where the request stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a head.
    Head,
    /// Inside a body of known length: bytes left.
    Length(u64),
    /// Inside a chunked body.
    Chunked(Chunk),
    /// Inside a body that ends at the client's close: passed as chunks.
    UntilClose,
    /// Everything passes untouched from now on.
    Passthrough,
    /// A refusal was emitted: everything is dropped from now on.
    Refused,
}

/// Chunked framing, state for state as hyper's decoder has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Start,
    Size(u64),
    SizeLws(u64),
    Extension(u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

/// The byte-stream part of the layer, without I/O: what goes in is what the
/// client sent, what comes out is what hyper parses. Splitting the input
/// differently never changes what hyper decodes from it (only a body that
/// ends at the close is framed into chunks as it arrives).
#[derive(Debug)]
pub struct Normalizer {
    limits: Limits,
    state: State,
    /// The head being read.
    head: Vec<u8>,
    /// Index of the first `\n` in `head`.
    first_lf: Option<usize>,
    refused: Option<Refusal>,
}

impl Normalizer {
    /// A normalizer at the start of a connection.
    pub fn new(limits: Limits) -> Normalizer {
        Normalizer {
            limits,
            state: State::Head,
            head: Vec::new(),
            first_lf: None,
            refused: None,
        }
    }

    /// Inside a request body.
    pub fn in_body(&self) -> bool {
        matches!(
            self.state,
            State::Length(_) | State::Chunked(_) | State::UntilClose
        )
    }

    /// Passing everything through (after an upgrade request).
    pub fn is_passthrough(&self) -> bool {
        self.state == State::Passthrough
    }

    /// The last refusal, once a request was refused (input is then dropped).
    pub fn refused(&self) -> Option<Refusal> {
        if self.state == State::Refused {
            self.refused
        } else {
            None
        }
    }

    /// Takes the longest prefix of `input` that goes to hyper unchanged
    /// (body or passthrough bytes) and returns its length. 0 when a head is
    /// due (or after a refusal).
    pub fn pass(&mut self, input: &[u8]) -> usize {
        match self.state {
            State::Head | State::Refused | State::UntilClose => 0,
            State::Passthrough => input.len(),
            State::Length(n) => {
                let k = usize::try_from(n).unwrap_or(usize::MAX).min(input.len());
                let left = n - k as u64;
                self.state = if left == 0 {
                    State::Head
                } else {
                    State::Length(left)
                };
                k
            }
            State::Chunked(c) => self.pass_chunked(c, input),
        }
    }

    fn pass_chunked(&mut self, mut c: Chunk, input: &[u8]) -> usize {
        let mut i = 0;
        while i < input.len() {
            if let Chunk::Data(n) = c {
                let k = usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - i);
                i += k;
                let left = n - k as u64;
                c = if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left)
                };
                continue;
            }
            let b = input[i];
            i += 1;
            let next = match (c, b) {
                (Chunk::Start, b) => hex(b).map(|d| Chunk::Size(u64::from(d))),
                (Chunk::Size(n), b) => match b {
                    b'\t' | b' ' => Some(Chunk::SizeLws(n)),
                    b';' => Some(Chunk::Extension(n)),
                    b'\r' => Some(Chunk::SizeLf(n)),
                    b => hex(b).and_then(|d| {
                        n.checked_mul(16)
                            .and_then(|n| n.checked_add(u64::from(d)))
                            .map(Chunk::Size)
                    }),
                },
                (Chunk::SizeLws(n), b) => match b {
                    b'\t' | b' ' => Some(Chunk::SizeLws(n)),
                    b';' => Some(Chunk::Extension(n)),
                    b'\r' => Some(Chunk::SizeLf(n)),
                    _ => None,
                },
                (Chunk::Extension(n), b) => match b {
                    b'\r' => Some(Chunk::SizeLf(n)),
                    b'\n' => None,
                    _ => Some(Chunk::Extension(n)),
                },
                (Chunk::SizeLf(n), b'\n') => {
                    Some(if n == 0 { Chunk::EndCr } else { Chunk::Data(n) })
                }
                (Chunk::DataCr, b'\r') => Some(Chunk::DataLf),
                (Chunk::DataLf, b'\n') => Some(Chunk::Start),
                (Chunk::Trailer, b'\r') => Some(Chunk::TrailerLf),
                (Chunk::Trailer, _) => Some(Chunk::Trailer),
                (Chunk::TrailerLf, b'\n') => Some(Chunk::EndCr),
                (Chunk::EndCr, b'\r') => Some(Chunk::EndLf),
                (Chunk::EndCr, _) => Some(Chunk::Trailer),
                (Chunk::EndLf, b'\n') => {
                    self.state = State::Head;
                    return i;
                }
                _ => None,
            };
            match next {
                Some(n) => c = n,
                None => {
                    // Framing hyper will refuse: let it see the bytes and fail the body.
                    self.state = State::Passthrough;
                    return input.len();
                }
            }
        }
        self.state = State::Chunked(c);
        i
    }

    /// Feeds what the client sent; appends to `out` what hyper should parse.
    pub fn feed(&mut self, mut input: &[u8], out: &mut BytesMut) {
        while !input.is_empty() {
            let k = self.pass(input);
            out.extend_from_slice(&input[..k]);
            input = &input[k..];
            match self.state {
                _ if input.is_empty() => break,
                State::Head => {
                    let used = self.head_step(input, out);
                    input = &input[used..];
                }
                State::Refused => break,
                State::UntilClose => {
                    out.extend_from_slice(format!("{:x}\r\n", input.len()).as_bytes());
                    out.extend_from_slice(input);
                    out.extend_from_slice(b"\r\n");
                    break;
                }
                _ => {}
            }
        }
    }

    /// The client closed its sending side. Inside a body that ends at the
    /// close, appends the last chunk to `out` and returns true (nothing can
    /// follow); otherwise the end of input is hyper's to see.
    pub fn eof(&mut self, out: &mut BytesMut) -> bool {
        if self.state != State::UntilClose {
            return false;
        }
        out.extend_from_slice(b"0\r\n\r\n");
        self.state = State::Passthrough;
        true
    }

    /// Takes head bytes from `input` (which is not empty); returns how many.
    fn head_step(&mut self, input: &[u8], out: &mut BytesMut) -> usize {
        if self.head.is_empty() {
            let blank = input
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                return blank;
            }
            // The usual case: the whole head came in one read. It is
            // handled where it lies, without copying it into `head` first
            // (what the slow path below would do with it is the same: a
            // head that ends within `max_head + 1` bytes is finished).
            if let Some(end) = head_end(input, 0) {
                if end <= self.limits.max_head + 1 {
                    self.finish_head(&input[..end], out);
                    return end;
                }
            }
        }
        let start = self.head.len();
        let room = (self.limits.max_head + 1).saturating_sub(start).max(1);
        let take = room.min(input.len());
        self.head.extend_from_slice(&input[..take]);
        if self.first_lf.is_none() {
            self.first_lf = input[..take]
                .iter()
                .position(|&b| b == b'\n')
                .map(|p| start + p);
        }
        if let Some(end) = head_end(&self.head, start.saturating_sub(2)) {
            self.head.truncate(end);
            let mut head = std::mem::take(&mut self.head);
            self.first_lf = None;
            self.finish_head(&head, out);
            // Keep the buffer for the next head (unless a refusal or a huge
            // head made it odd).
            if self.head.is_empty() && head.capacity() <= 2 * 1024 {
                head.clear();
                self.head = head;
            }
            return end - start;
        }
        let line_too_long = match self.first_lf {
            Some(p) => line_len(&self.head[..p]) > self.limits.max_request_line,
            None => self.head.len() > self.limits.max_request_line + 1,
        };
        if line_too_long {
            self.refuse(
                Refusal {
                    status: StatusCode::URI_TOO_LONG,
                    reason: "request line too long",
                },
                out,
            );
        } else if self.head.len() > self.limits.max_head {
            self.refuse(
                Refusal {
                    status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    reason: "request head too large",
                },
                out,
            );
        }
        take
    }

    fn refuse(&mut self, r: Refusal, out: &mut BytesMut) {
        self.head = Vec::new();
        self.first_lf = None;
        self.refused = Some(r);
        self.state = State::Refused;
        out.extend_from_slice(b"GET / HTTP/1.1\r\n");
        out.extend_from_slice(REFUSED_HEADER.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(r.status.as_str().as_bytes());
        out.extend_from_slice(b" ");
        out.extend_from_slice(r.reason.as_bytes());
        out.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
    }

    /// A complete head (ending with its empty line): emit it canonically,
    /// or a refusal, and set the body framing.
    fn finish_head(&mut self, head: &[u8], out: &mut BytesMut) {
        let mark = out.len();
        match self.emit_head(head, out) {
            Ok(state) => self.state = state,
            Err(r) => {
                out.truncate(mark);
                self.refuse(r, out);
            }
        }
    }

    /// Checks `head` and appends it to `out` canonically as it goes (the
    /// caller takes the bytes off again on a refusal); the state after it.
    fn emit_head(&self, head: &[u8], out: &mut BytesMut) -> Result<State, Refusal> {
        out.reserve(head.len() + 2);
        let mut lines = head.split(|&b| b == b'\n').map(|l| match l {
            [rest @ .., b'\r'] => rest,
            l => l,
        });
        let request_line = lines.next().unwrap_or_default();
        if request_line.len() > self.limits.max_request_line {
            return Err(Refusal {
                status: StatusCode::URI_TOO_LONG,
                reason: "request line too long",
            });
        }
        let mut parts = request_line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|p| !p.is_empty());
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::bad("malformed request line"));
        };
        if !all_tchars(method) {
            return Err(Refusal::bad("malformed method"));
        }
        // Not short-circuiting: the compiler makes it a vector loop.
        if target
            .iter()
            .fold(false, |bad, &b| bad | (b < 0x21) | (b == 0x7f))
        {
            return Err(Refusal::bad("control byte in the request target"));
        }
        let http11 = match version {
            b"HTTP/1.1" => true,
            b"HTTP/1.0" => false,
            _ => return Err(Refusal::bad("unsupported HTTP version")),
        };
        out.extend_from_slice(method);
        out.extend_from_slice(b" ");
        out.extend_from_slice(target);
        out.extend_from_slice(b" ");
        // Where the version goes: a body that ends at the close is passed
        // as HTTP/1.1 (same length), decided once every header is read.
        let version_at = out.len();
        out.extend_from_slice(version);
        out.extend_from_slice(b"\r\n");
        let mut count = 0;
        let mut content_length: Option<u64> = None;
        // Per Transfer-Encoding line, whether its last coding is `chunked`
        // (hyper judges each line so; the last line decides).
        let mut te_chunked: Option<bool> = None;
        let mut upgrade = false;
        for line in lines {
            if line.is_empty() {
                break;
            }
            if matches!(line[0], b' ' | b'\t') {
                return Err(Refusal::bad("obsolete line folding"));
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(Refusal::bad("header line without a colon"));
            };
            let name = &line[..colon];
            if name.is_empty() || !all_tchars(name) {
                return Err(Refusal::bad("malformed header name"));
            }
            let value = trim_blanks(&line[colon + 1..]);
            if value.iter().fold(false, |bad, &b| {
                bad | ((b < 0x20) & (b != b'\t')) | (b == 0x7f)
            }) {
                return Err(Refusal::bad("control byte in a header value"));
            }
            if name.eq_ignore_ascii_case(REFUSED_HEADER.as_bytes())
                || name.eq_ignore_ascii_case(UNTIL_CLOSE_HEADER.as_bytes())
            {
                continue;
            }
            count += 1;
            if count > self.limits.max_headers {
                return Err(Refusal {
                    status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    reason: "too many headers",
                });
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                for v in value.split(|&b| b == b',') {
                    let n = parse_decimal(trim_blanks(v))
                        .ok_or(Refusal::bad("invalid Content-Length"))?;
                    if content_length.is_some_and(|c| c != n) {
                        return Err(Refusal::bad("differing Content-Lengths"));
                    }
                    content_length = Some(n);
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                if !http11 {
                    return Err(Refusal::bad("Transfer-Encoding in an HTTP/1.0 request"));
                }
                let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
                te_chunked = Some(trim_blanks(last).eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case(b"upgrade") && http11 {
                upgrade = true;
            }
            if line.len() == colon + 2 + value.len() && line[colon + 1] == b' ' {
                // Already `name: value`.
                out.extend_from_slice(line);
            } else {
                out.extend_from_slice(name);
                out.extend_from_slice(b": ");
                out.extend_from_slice(value);
            }
            out.extend_from_slice(b"\r\n");
        }
        let framing = match (te_chunked, content_length) {
            (Some(_), Some(_)) => {
                return Err(Refusal::bad(
                    "both Content-Length and Transfer-Encoding (request smuggling)",
                ))
            }
            (Some(false), None) => {
                return Err(Refusal::bad("Transfer-Encoding does not end with chunked"))
            }
            (Some(true), None) => Framing::Chunked,
            (None, Some(n)) => Framing::Length(n),
            // lws reads these methods' bodies up to the maximum size.
            (None, None) if matches!(method, b"POST" | b"PUT" | b"PATCH") => Framing::UntilClose,
            (None, None) => Framing::None,
        };
        let switches = upgrade || method == b"CONNECT";
        if framing == Framing::UntilClose && !switches {
            out[version_at..version_at + version.len()].copy_from_slice(b"HTTP/1.1");
            out.extend_from_slice(b"transfer-encoding: chunked\r\nconnection: close\r\n");
            out.extend_from_slice(UNTIL_CLOSE_HEADER.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(version);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(match framing {
            // After a request that may switch protocols, nothing is a head
            // any more (its body, if any, passes too).
            _ if switches => State::Passthrough,
            Framing::None | Framing::Length(0) => State::Head,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunk::Start),
            Framing::UntilClose => State::UntilClose,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// No length given on a method that has a body: it ends at the close.
    UntilClose,
}

/// End (exclusive) of the head in `buf`: just after the first empty line
/// (`\n\n` or `\n\r\n`) whose `\n` is at or after `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        let p = i + buf[i..].iter().position(|&b| b == b'\n')?;
        match buf.get(p + 1) {
            Some(b'\n') => return Some(p + 2),
            Some(b'\r') if buf.get(p + 2) == Some(&b'\n') => return Some(p + 3),
            _ => i = p + 1,
        }
    }
    None
}

/// Length of a line without its `\r`.
fn line_len(line: &[u8]) -> usize {
    match line {
        [rest @ .., b'\r'] => rest.len(),
        l => l.len(),
    }
}

fn trim_blanks(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    &v[start..end]
}

/// Digits only (leading zeros allowed), no overflow.
fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 9110 `tchar`, by byte.
const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// Every byte is an RFC 9110 `tchar`.
fn all_tchars(s: &[u8]) -> bool {
    s.iter().fold(true, |ok, &b| ok & TCHAR[usize::from(b)])
}

pub mod h2;

#[cfg(test)]
mod tests;
