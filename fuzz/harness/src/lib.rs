//! What each fuzz target runs on one input, with the properties it checks
//! (a failed check panics, which the fuzzer reports as a crash). Used by the
//! cargo-fuzz targets (`fuzz/fuzz_targets/`) and by the stable driver
//! (`fuzz-stable`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::BytesMut;
use comlink::config::{load_texts, LoadOptions};
use comlink::http::form::{FormParser, UploadState};
use comlink::http::normalize::{Limits, Normalizer, UNTIL_CLOSE_HEADER};
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
    out: Vec<u8>,
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

/// The normalising layer (`comlink::http::normalize::Normalizer`):
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
    assert_eq!(&got.out[..canonical.len()], canonical.as_bytes());
    assert_eq!(&got.out[canonical.len()..], input, "a body was changed");

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
        &got.out[head_len..head_len + body.len()],
        &body[..],
        "a chunked body was changed"
    );
    assert_eq!(
        &got.out[head_len + body.len()..],
        b"GET /next HTTP/1.1\r\n\r\n",
        "the head after a chunked body was not found"
    );

    let mut until_close = b"POST /u HTTP/1.0\n\n".to_vec();
    until_close.extend_from_slice(input);
    let got = normalize_in_pieces(&until_close, piece_size(data));
    assert!(got.in_body, "no length: the body goes on until the close");
    assert!(got.out.ends_with(input), "a body up to the close was changed");
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
    let mut on_file = |ev: comlink::http::form::FileEvent<'_>| {
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

/// The form parser (`comlink::http::form::FormParser`), urlencoded or
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
    if let Ok((seg, _cut)) = Segment::open(path, 1, false) {
        let _ = seg.read(0, u64::MAX, 1 << 20, &mut out);
    }
    let (seg, _cut) = Segment::open(path, 1, true).expect("a repaired segment opens");
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
