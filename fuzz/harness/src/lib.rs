//! What each fuzz target runs on one input, with the properties it checks
//! (a failed check panics, which the fuzzer reports as a crash). Used by the
//! cargo-fuzz targets (`fuzz/fuzz_targets/`) and by the stable driver
//! (`fuzz-stable`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::BytesMut;
use comlink::config::{load_texts, LoadOptions};
use comlink_wire::deflate::{Deflater, Inflater, Params};
use comlink_wire::form::{FormParser, UploadState};
use comlink_wire::frame::DEFAULT_INFLATE_CHUNK;
use comlink_wire::frame::{Decoder, Event};
use comlink_wire::normalize::{Limits, Normalizer, UNTIL_CLOSE_HEADER};
use packet_journal::record::{self, Decoded};
use packet_journal::segment::{self, Segment};

/// A target: runs one input, panics on a failed check.
pub type Target = fn(&[u8]);

/// The targets, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("config", config),
    ("normalize", normalize),
    ("form", form),
    ("journal", journal),
    ("ws", ws),
    ("ws_deflate", ws_deflate),
    ("tokenize", tokenize),
];

/// Piece sizes taken from the first byte of `data` (1..=16).
fn piece_size(data: &[u8]) -> usize {
    usize::from(data.first().copied().unwrap_or(0) % 16) + 1
}

/// `comlink::config::load_texts`: the input, split at NUL bytes, is `conf`
/// and up to three `conf.d` files. It must never panic.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let names = ["conf", "conf.d/a", "conf.d/b", "conf.d/c"];
    let files: Vec<(&str, &str)> = names
        .iter()
        .zip(parts.by_ref())
        .map(|(n, t)| (*n, t))
        .collect();
    let _ = load_texts(&files, &LoadOptions::default());
}

/// What a normalizer ended with.
#[derive(Debug, PartialEq, Eq)]
struct NormOutcome {
    /// What hyper decodes (a body up to the close dechunked).
    out: Vec<u8>,
    /// The bytes as the normaliser wrote them.
    raw: Vec<u8>,
    in_body: bool,
    passthrough: bool,
    refused: Option<(u16, &'static str)>,
}

/// Feeds `input` in pieces of `piece` bytes, then the client's close.
fn normalize_in_pieces(input: &[u8], piece: usize) -> NormOutcome {
    let mut n = Normalizer::new(Limits::default());
    let mut out = BytesMut::new();
    for p in input.chunks(piece.max(1)) {
        n.feed(p, &mut out);
    }
    let in_body = n.in_body();
    n.eof(&mut out);
    NormOutcome {
        out: decoded(&out),
        raw: out.to_vec(),
        in_body,
        passthrough: n.is_passthrough(),
        refused: n.refused().map(|r| (r.status.as_u16(), r.reason)),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `out` with a body that ends at the close (framed into chunks as its
/// pieces came) replaced by its bytes: what hyper decodes, whatever the
/// split. Such a body is the last thing in the output; the marker's text
/// may also appear inside earlier body bytes, so the first place after
/// which the rest is exactly a chunk sequence is taken.
fn decoded(out: &[u8]) -> Vec<u8> {
    let marker = format!("\r\n{UNTIL_CLOSE_HEADER}: ");
    let mut from = 0;
    while let Some(m) = find(&out[from..], marker.as_bytes()).map(|m| from + m) {
        from = m + 1;
        let Some(end) = find(&out[m..], b"\r\n\r\n") else {
            break;
        };
        let body_start = m + end + 4;
        if let Some(body) = dechunk(&out[body_start..]) {
            let mut v = out[..body_start].to_vec();
            v.extend_from_slice(&body);
            return v;
        }
    }
    out.to_vec()
}

/// The bytes of `rest` if it is exactly a chunk sequence and its last chunk.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = find(rest, b"\r\n")?;
        let size = std::str::from_utf8(&rest[..eol]).ok()?;
        let n = usize::from_str_radix(size, 16).ok()?;
        rest = &rest[eol + 2..];
        if n == 0 {
            return (rest == b"\r\n").then_some(body);
        }
        body.extend_from_slice(rest.get(..n)?);
        if rest.get(n..n + 2)? != b"\r\n" {
            return None;
        }
        rest = &rest[n + 2..];
    }
}

/// The normalising layer (`comlink_wire::normalize::Normalizer`):
/// * what hyper decodes from the output does not depend on how the input
///   is split;
/// * a body after a head passes byte for byte, whatever it contains
///   (as a `Content-Length` body, as one chunk, and with no length up to
///   the close);
/// * it never panics.
pub fn normalize(data: &[u8]) {
    let input = data.get(1..).unwrap_or_default();
    let whole = normalize_in_pieces(input, usize::MAX);
    let split = normalize_in_pieces(input, piece_size(data));
    assert_eq!(whole, split, "output depends on how the input is split");
    let bytes = normalize_in_pieces(input, 1);
    assert_eq!(whole, bytes, "output depends on how the input is split");

    let head = format!("POST  /x HTTP/1.1\nContent-Length: {}\n\n", input.len());
    let mut req = head.into_bytes();
    req.extend_from_slice(input);
    let got = normalize_in_pieces(&req, piece_size(data));
    let canonical = format!(
        "POST /x HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        input.len()
    );
    // Framed by its length: the raw output is the request (the body may
    // hold text that looks like an until-close head and chunks, which
    // `decoded` would take for one).
    assert_eq!(&got.raw[..canonical.len()], canonical.as_bytes());
    assert_eq!(&got.raw[canonical.len()..], input, "a body was changed");

    let mut chunked = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let head_len = chunked.len();
    if !input.is_empty() {
        write!(chunked, "{:x}\r\n", input.len()).unwrap();
        chunked.extend_from_slice(input);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let body = chunked[head_len..].to_vec();
    chunked.extend_from_slice(b"GET  /next HTTP/1.1\n\n");
    let got = normalize_in_pieces(&chunked, piece_size(data));
    assert_eq!(
        &got.raw[head_len..head_len + body.len()],
        &body[..],
        "a chunked body was changed"
    );
    assert_eq!(
        &got.raw[head_len + body.len()..],
        b"GET /next HTTP/1.1\r\n\r\n",
        "the head after a chunked body was not found"
    );

    let mut until_close = b"POST /u HTTP/1.0\n\n".to_vec();
    until_close.extend_from_slice(input);
    let got = normalize_in_pieces(&until_close, piece_size(data));
    assert!(got.in_body, "no length: the body goes on until the close");
    assert!(
        got.out.ends_with(input),
        "a body up to the close was changed"
    );
    let head = &got.out[..got.out.len() - input.len()];
    assert!(head.starts_with(b"POST /u HTTP/1.1\r\n"), "{head:?}");
    assert!(head.ends_with(b"\r\n\r\n"), "{head:?}");
}

/// What a form parse ended with.
#[derive(Debug, PartialEq, Eq)]
struct FormOutcome {
    values: Vec<Option<Vec<u8>>>,
    files: Vec<(String, String, UploadState, Vec<u8>)>,
    process: Result<(), String>,
    finalize: Result<(), String>,
}

fn form_in_pieces(content_type: &str, max: usize, body: &[u8], piece: usize) -> FormOutcome {
    let params: Vec<String> = ["a", "b", "text", "file", "x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut p = match FormParser::new(Some(content_type), &params, max) {
        Ok(p) => p,
        Err(e) => {
            return FormOutcome {
                values: Vec::new(),
                files: Vec::new(),
                process: Err(e.to_string()),
                finalize: Ok(()),
            }
        }
    };
    let mut files: Vec<(String, String, UploadState, Vec<u8>)> = Vec::new();
    let mut on_file = |ev: comlink_wire::form::FileEvent<'_>| {
        match ev.state {
            UploadState::Content => assert!(!ev.data.is_empty(), "empty Content event"),
            UploadState::Open | UploadState::Close => {
                assert!(ev.data.is_empty(), "data on {:?}", ev.state)
            }
            UploadState::FinalContent => {}
        }
        // Pieces of one file are merged, so that splitting does not show.
        match files.last_mut() {
            Some(last)
                if ev.state == UploadState::Content
                    && last.2 == UploadState::Content
                    && last.0 == ev.field =>
            {
                last.3.extend_from_slice(ev.data)
            }
            Some(last)
                if ev.state == UploadState::FinalContent
                    && last.2 == UploadState::Content
                    && last.0 == ev.field =>
            {
                last.2 = UploadState::FinalContent;
                last.3.extend_from_slice(ev.data)
            }
            _ => files.push((
                ev.field.to_string(),
                ev.filename.to_string(),
                ev.state,
                ev.data.to_vec(),
            )),
        }
        true
    };
    let mut process = Ok(());
    for piece in body.chunks(piece.max(1)) {
        if let Err(e) = p.process(piece, &mut on_file) {
            process = Err(e.to_string());
            break;
        }
    }
    let finalize = p.finalize(&mut on_file).map_err(|e| e.to_string());
    let values = (0..params.len())
        .map(|i| p.get_bytes(i).map(<[u8]>::to_vec))
        .collect();
    FormOutcome {
        values,
        files,
        process,
        finalize,
    }
}

/// The form parser (`comlink_wire::form::FormParser`), urlencoded or
/// multipart by the first byte: stored values, file events and errors do
/// not depend on how the body is split; it never panics.
pub fn form(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let content_type = match sel % 4 {
        0 => "application/x-www-form-urlencoded",
        1 => "multipart/form-data; boundary=XyZ",
        2 => "multipart/form-data; boundary=\"a b\"",
        _ => "text/plain",
    };
    let max = usize::from(sel / 4) * 8;
    let whole = form_in_pieces(content_type, max, body, usize::MAX);
    let split = form_in_pieces(content_type, max, body, piece_size(body));
    assert_eq!(whole, split, "form result depends on how the body is split");
    let bytes = form_in_pieces(content_type, max, body, 1);
    assert_eq!(whole, bytes, "form result depends on how the body is split");
}

fn scratch_segment() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("comlink-fuzz-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(segment::file_name(1))
    })
}

/// The packet journal reader (`packet_journal::record::decode`,
/// `segment::Segment::open` / `read`): records are walked without panics;
/// a segment holding the input opens, and once repaired reads cleanly.
pub fn journal(data: &[u8]) {
    // Records straight from the bytes.
    let mut off = 0;
    while off < data.len() {
        match record::decode(&data[off..]) {
            Decoded::Record { id, ts_ms, len } => {
                let p = record::packet_at(&data[off..]);
                assert_eq!((p.id, p.ts_ms), (id, ts_ms));
                assert!(len > 0);
                off += len;
            }
            _ => break,
        }
    }
    // A segment file with a valid header and the input after it.
    let path = scratch_segment();
    let mut file = segment::MAGIC.to_vec();
    file.extend_from_slice(&1u64.to_le_bytes());
    file.extend_from_slice(data);
    std::fs::write(path, &file).unwrap();
    let mut out = Vec::new();
    if let Ok((seg, _cut, _corrupt)) = Segment::open(path, 1, false, None) {
        let _ = seg.read(0, u64::MAX, 1 << 20, &mut out);
    }
    let (seg, _cut, _corrupt) = Segment::open(path, 1, true, None).expect("a repaired segment opens");
    out.clear();
    if let Err(e) = seg.read(0, u64::MAX, usize::MAX, &mut out) {
        panic!("a repaired segment does not read cleanly: {e:?}");
    }
    let mut last = 0;
    for p in &out {
        assert!(p.id > last, "ids out of order");
        last = p.id;
    }
}

/// What a WebSocket decoder made of a client byte stream: the complete
/// messages and control frames in order, and how it ended.
#[derive(Debug, PartialEq, Eq)]
enum WsItem {
    Message { binary: bool, data: Vec<u8> },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

/// The close code is kept, not its reason: with bad UTF-8 and corrupt data
/// in one message, which shows first depends on how much was inflated ahead,
/// and both are 1007.
#[derive(Debug, PartialEq, Eq)]
struct WsOutcome {
    items: Vec<WsItem>,
    error: Option<u16>,
}

/// A server decoder as a session sets it up: `chunk` is the protocol's rx
/// buffer, `max_message` its `max-message`, and permessage-deflate on or off.
fn ws_decoder(chunk: usize, max_message: u64, inflate: Option<&Params>) -> Decoder {
    let mut d = Decoder::new(comlink_wire::frame::Limits { max_message, chunk });
    if let Some(p) = inflate {
        d.set_inflate(Inflater::new(p));
    }
    d
}

/// Feeds `stream` to `d` in pieces whose sizes `split` picks, checking what
/// every event promises (the lws receive rules) and that the decoder's
/// buffers stay bounded; returns what it decoded.
fn ws_decode(d: &mut Decoder, stream: &[u8], split: &mut dyn FnMut() -> usize) -> WsOutcome {
    let limits = d.limits();
    let cap = match (limits.chunk, d.inflate_enabled()) {
        (0, true) => DEFAULT_INFLATE_CHUNK,
        (0, false) => usize::MAX,
        (c, _) => c,
    };
    let mut out = WsOutcome {
        items: Vec::new(),
        error: None,
    };
    let mut msg: Option<(bool, Vec<u8>)> = None;
    let mut buf = BytesMut::new();
    let mut pos = 0;
    let mut events = 0usize;
    let mut delivered = 0usize;
    loop {
        let n = split().max(1).min(stream.len() - pos);
        buf.extend_from_slice(&stream[pos..pos + n]);
        pos += n;
        loop {
            let before = buf.len();
            match d.feed(&mut buf) {
                Ok(Some(ev)) => {
                    events += 1;
                    match ev {
                        Event::Data {
                            binary,
                            first,
                            last,
                            payload,
                            remaining,
                        } => {
                            assert!(
                                payload.len() <= cap,
                                "piece of {} over {cap}",
                                payload.len()
                            );
                            assert_eq!(first, msg.is_none(), "first flag");
                            if last {
                                assert_eq!(remaining, 0, "remaining on the last piece");
                            } else {
                                assert!(!payload.is_empty(), "an empty piece that is not the last");
                            }
                            let m = msg.get_or_insert_with(|| (binary, Vec::new()));
                            assert_eq!(m.0, binary, "binary flag changed inside a message");
                            m.1.extend_from_slice(&payload);
                            delivered += payload.len();
                            // Only data pieces carry no input of their own,
                            // and only non-empty ones but the last.
                            assert!(
                                events <= stream.len() + delivered + 1,
                                "more events than input"
                            );
                            assert!(
                                limits.max_message == 0 || m.1.len() as u64 <= limits.max_message,
                                "a message of {} went past max_message {}",
                                m.1.len(),
                                limits.max_message
                            );
                            if last {
                                let (binary, data) = msg.take().unwrap_or_default();
                                if !binary {
                                    assert!(
                                        std::str::from_utf8(&data).is_ok(),
                                        "invalid UTF-8 passed"
                                    );
                                }
                                out.items.push(WsItem::Message { binary, data });
                            }
                        }
                        Event::Ping(p) => {
                            assert!(p.len() <= 125);
                            out.items.push(WsItem::Ping(p.to_vec()))
                        }
                        Event::Pong(p) => {
                            assert!(p.len() <= 125);
                            out.items.push(WsItem::Pong(p.to_vec()))
                        }
                        Event::Close { code, reason } => {
                            out.items.push(WsItem::Close(code, reason));
                            assert!(d.is_closed());
                            let left = buf.len();
                            assert_eq!(d.feed(&mut buf), Ok(None), "events after a close");
                            assert_eq!(buf.len(), left, "bytes taken after a close");
                            return out;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(matches!(e.code, 1002 | 1007 | 1009), "close code {e:?}");
                    assert_eq!(d.feed(&mut buf), Err(e), "a failed decoder goes on");
                    out.error = Some(e.code);
                    return out;
                }
            }
            assert!(buf.len() <= before, "the decoder grew the input");
        }
        if pos == stream.len() {
            return out;
        }
    }
}

/// The options byte of the `ws` targets: rx chunk, max message, deflate.
fn ws_options(opts: u8) -> (usize, u64, Option<Params>) {
    let chunk = [0usize, 1, 3, 16, 125, 1024, 4096, 65_536][usize::from(opts & 7)];
    let mut max_message = [64u64, 4096, 65_536, 1 << 20][usize::from(opts >> 3) & 3];
    if chunk < 16 {
        max_message = max_message.min(65_536);
    }
    let inflate = (opts & 0x20 != 0).then(|| Params {
        client_no_context_takeover: opts & 0x40 != 0,
        ..Params::default()
    });
    (chunk, max_message, inflate)
}

/// The WebSocket frame decoder and its inflater
/// (`comlink_wire::frame::Decoder` with `Inflater`) on any client bytes. First byte:
/// options (rx chunk, `max-message`, permessage-deflate and its context
/// mode); second: the seed of the split points; the rest is the stream:
/// * it never panics, and every event keeps the lws receive rules (pieces
///   within the rx chunk, first/last/binary bookkeeping, `remaining` 0 on
///   the last piece, valid UTF-8 in text, nothing past `max-message`);
/// * an error is a close code 1002/1007/1009 and stays; after a close
///   nothing more is taken;
/// * what it decodes (messages, control frames, the error) does not depend
///   on how the stream is split.
pub fn ws(data: &[u8]) {
    let [opts, seed, stream @ ..] = data else {
        return;
    };
    let (chunk, max_message, inflate) = ws_options(*opts);
    let decode = |split: &mut dyn FnMut() -> usize| {
        ws_decode(
            &mut ws_decoder(chunk, max_message, inflate.as_ref()),
            stream,
            split,
        )
    };
    let same = |a: &WsOutcome, b: &WsOutcome| {
        // A compressed message that is both too big and invalid (bad data,
        // bad UTF-8) may say either: which shows first depends on how much
        // was inflated ahead of what was delivered.
        let either = |e: Option<u16>| match e {
            Some(1007 | 1009) if inflate.is_some() => Some(1007),
            e => e,
        };
        assert_eq!(
            a.items, b.items,
            "decoding depends on how the stream is split"
        );
        assert_eq!(
            either(a.error),
            either(b.error),
            "decoding depends on how the stream is split: {:?} / {:?}",
            a.error,
            b.error
        );
    };
    let whole = decode(&mut || usize::MAX);
    let mut rng = fastrand::Rng::with_seed(u64::from(*seed));
    same(&whole, &decode(&mut || rng.usize(1..=64)));
    if stream.len() <= 4096 {
        same(&whole, &decode(&mut || 1));
    }
}

/// One masked client frame.
fn client_frame(out: &mut Vec<u8>, b0: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(b0);
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
}

/// permessage-deflate end to end (`comlink_wire::deflate::Deflater` ->
/// client frames -> `Decoder` + `Inflater`): messages made from the input
/// (short pieces repeated up to ~800 KB, text or binary), compressed with
/// every window (8-15 bits), level and context mode, as one frame, as the
/// compressed bytes cut into frames (Autobahn's way) or as separately
/// flushed fragments (lws's `LWS_WRITE_NO_FIN`), pings in between, fed in
/// random pieces, come back exactly, in order, with no error.
pub fn ws_deflate(data: &[u8]) {
    let [opts, seed, rest @ ..] = data else {
        return;
    };
    let bits = 8 + (opts & 7);
    let snct = opts & 8 != 0;
    let level = [0u32, 1, 6, 9][usize::from(opts >> 4) & 3];
    let chunk = [0usize, 16, 4096, 1000][usize::from(opts >> 6)];
    let p = Params {
        server_no_context_takeover: snct,
        server_max_window_bits: bits,
        ..Params::default()
    };
    let mut deflater = Deflater::with_level(&p, level);
    let mut rng = fastrand::Rng::with_seed(u64::from(*seed));
    let mask = [rng.u8(..), rng.u8(..), rng.u8(..), rng.u8(..)];
    // Messages: [header][length][content] records.
    let mut msgs: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut stream = Vec::new();
    let mut rest = rest;
    let mut total = 0usize;
    while let [h, n, tail @ ..] = rest {
        let n = usize::from(*n).min(tail.len());
        let (content, next) = tail.split_at(n);
        rest = next;
        let binary = h & 1 != 0;
        let repeat = [1usize, 2, 3, 16, 257, 4099][usize::from(h >> 1) % 6];
        let room = (1usize << 20).saturating_sub(total);
        let m: Vec<u8> = if binary {
            let mut m = content.repeat(repeat);
            m.truncate(room);
            m
        } else {
            let mut t = String::from_utf8_lossy(content).repeat(repeat);
            let mut end = t.len().min(room);
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            t.truncate(end);
            t.into_bytes()
        };
        total += m.len();
        let op = if binary { 0x2 } else { 0x1 };
        match (h >> 4) % 4 {
            0 | 1 => {
                // One frame, or the compressed bytes cut into frames.
                let mut z = Vec::new();
                deflater.compress(&m, true, &mut z).expect("compress");
                let size = if (h >> 4) % 4 == 0 {
                    usize::MAX
                } else {
                    rng.usize(1..=300)
                };
                let parts: Vec<&[u8]> = if z.is_empty() {
                    vec![&[]]
                } else {
                    z.chunks(size).collect()
                };
                for (i, part) in parts.iter().enumerate() {
                    let fin = if i + 1 == parts.len() { 0x80 } else { 0 };
                    let b0 = if i == 0 { op | 0x40 } else { 0 };
                    client_frame(&mut stream, fin | b0, part, mask);
                    if h & 0x80 != 0 && fin == 0 {
                        client_frame(&mut stream, 0x89, b"p", mask);
                    }
                }
            }
            _ => {
                // Fragments flushed one by one.
                let mut pos = 0;
                let mut first = true;
                loop {
                    let k = rng.usize(0..=(m.len() - pos));
                    let fin = pos + k == m.len() && (k > 0 || rng.bool() || m.is_empty());
                    let mut z = Vec::new();
                    deflater
                        .compress(&m[pos..pos + k], fin, &mut z)
                        .expect("compress");
                    pos += k;
                    let b0 = if first { op | 0x40 } else { 0 };
                    client_frame(&mut stream, b0 | if fin { 0x80 } else { 0 }, &z, mask);
                    first = false;
                    if fin {
                        break;
                    }
                    if h & 0x80 != 0 {
                        client_frame(&mut stream, 0x8a, b"q", mask);
                    }
                }
            }
        }
        msgs.push((binary, m));
    }
    let inflate = Params {
        client_no_context_takeover: snct,
        client_max_window_bits: bits,
        ..Params::default()
    };
    let mut d = ws_decoder(chunk, 0, Some(&inflate));
    let got = ws_decode(&mut d, &stream, &mut || rng.usize(1..=4096));
    assert_eq!(got.error, None, "a valid compressed stream failed");
    let got: Vec<(bool, Vec<u8>)> = got
        .items
        .into_iter()
        .filter_map(|i| match i {
            WsItem::Message { binary, data } => Some((binary, data)),
            _ => None,
        })
        .collect();
    assert!(
        got.len() == msgs.len(),
        "{} messages sent, {} decoded",
        msgs.len(),
        got.len()
    );
    for (k, (a, b)) in msgs.iter().zip(&got).enumerate() {
        assert!(
            a == b,
            "message {k} ({} bytes) came back as {} bytes",
            a.1.len(),
            b.1.len()
        );
    }
}

/// `lws_tokenize` (`comlink_wire::tokenize`): the first two bytes are the
/// flags, the rest the text. Every call moves on or ends the walk, every
/// element lies inside the text and after the previous one, and the walk
/// ends within one call per byte (plus the end).
pub fn tokenize(data: &[u8]) {
    use comlink_wire::tokenize::Tokenizer;

    let (flags, text) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) & 0x7ff, rest),
        _ => return,
    };
    let mut t = Tokenizer::new(text.len(), flags);
    let mut last_end = 0;
    for _ in 0..=text.len() + 1 {
        let before = t.pos;
        let f = t.next(text);
        assert!(t.pos <= text.len(), "read past the text");
        assert_eq!(t.pos + t.len, text.len(), "pos and len disagree");
        if let Some(at) = f.token {
            assert!(at + f.token_len <= text.len(), "element past the text");
            assert!(at >= last_end || f.elem as i8 <= 0, "element before the last");
            last_end = at + f.token_len;
        }
        if (f.elem as i8) <= 0 {
            return;
        }
        assert!(t.pos > before, "no progress");
    }
    panic!("no end after one call per byte");
}
