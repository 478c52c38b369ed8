//! POST body parsing for plugins: the safe core under libwebsockets'
//! `lws_spa_*` ("stateful post argument") API.
//!
//! A [`FormParser`] is fed the request body in pieces of any size, split
//! anywhere, and parses either `application/x-www-form-urlencoded` or
//! `multipart/form-data` (chosen by the Content-Type, as lws does). Field
//! values whose names the plugin asked for are kept, up to `max_storage`
//! bytes in all; file parts are streamed to a callback as they arrive and
//! never buffered. Memory is bounded: besides the stored values the parser
//! holds at most one part header block ([`MAX_PART_HEADER`]), one urlencoded
//! name ([`MAX_NAME_LEN`]) and nothing of the data itself (a partial boundary
//! match is remembered as a length, its bytes being those of the boundary).
//!
//! Behaviour follows lws 4.3's `lib/roles/http/server/lws-spa.c`:
//!
//! * Content-Type `multipart/form-data` or `multipart/related` selects
//!   multipart; anything else, including no Content-Type, is urlencoded.
//! * urlencoded: `+` is a space, `%xx` is decoded (a bad escape is an
//!   error), names are compared as sent (not decoded), unknown names are
//!   ignored, a name without `=` carries no value.
//! * A field sent with an empty value counts as absent (lws never stores a
//!   zero-length value, so `lws_spa_get_string` gives NULL).
//! * A repeated name: the first non-empty value is kept (lws keeps the first
//!   pointer). Later values still use storage, as in lws. lws adds their
//!   lengths into `lws_spa_get_length`, which then no longer matches the
//!   string; here the length is always the length of the kept value.
//! * Storage: each stored value costs its length plus one byte (lws's NUL).
//!   lws holds back one more byte, so the values must fit in
//!   `max_storage - 1`. More than that is an error
//!   ([`FormError::StorageExceeded`]), not a truncation. `max_storage == 0`
//!   means 512, lws's default.
//! * multipart: a part with a non-empty `filename` is a file. Its events are
//!   [`UploadState::Open`] (no data), any number of
//!   [`UploadState::Content`] (never empty), then one
//!   [`UploadState::FinalContent`] when its closing boundary arrives (it may
//!   be empty). `filename=""` (an empty file input) is an ordinary field, as
//!   in lws. Field values are kept as sent.
//! * [`UploadState::Close`] comes once, from [`FormParser::finalize`], for
//!   every body (lws calls it from `lws_spa_finalize`/`lws_spa_destroy`
//!   even for urlencoded bodies). After a complete multipart body its name
//!   and filename are empty; if the body stopped inside a part it names
//!   that part, and a file part then gets no FinalContent (lws's "upload
//!   abandoned"), a field part is not stored.
//! * After the closing boundary the rest (the epilogue) is ignored, as is
//!   anything fed after `finalize`. The preamble is ignored.
//!
//! Where this parser is stricter or more lenient than lws it says so on the
//! item concerned.

use std::mem;

/// Longest urlencoded field name accepted (lws: 31, an error beyond).
pub const MAX_NAME_LEN: usize = 256;
/// Longest multipart part header block, boundary line rest included.
pub const MAX_PART_HEADER: usize = 4096;
/// Longest multipart boundary accepted (RFC 2046 says 70; lws keeps 123).
pub const MAX_BOUNDARY_LEN: usize = 200;
/// Storage used when `max_storage` is 0, as in lws.
pub const DEFAULT_MAX_STORAGE: usize = 512;

/// Where a file upload is; the values are lws's `LWS_UFS_*`, so the ffi
/// layer may cast (`state as c_int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum UploadState {
    /// `LWS_UFS_OPEN`: a file part starts; `filename` is known, no data.
    Open = 2,
    /// `LWS_UFS_CONTENT`: a non-empty piece of the file.
    Content = 0,
    /// `LWS_UFS_FINAL_CONTENT`: the last piece (possibly empty); the file
    /// is complete.
    FinalContent = 1,
    /// `LWS_UFS_CLOSE`: the parser is finished (sent once, by `finalize`);
    /// names the multipart part the body stopped in, if any (for a file:
    /// an abandoned upload), else has empty names.
    Close = 3,
}

/// One file upload event, for the callback given to
/// [`FormParser::process`] and [`FormParser::finalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEvent<'a> {
    /// The part's `name` (non-UTF-8 bytes replaced by U+FFFD).
    pub field: &'a str,
    /// The part's `filename`, as sent (may contain a path: do not trust it).
    pub filename: &'a str,
    /// File bytes; empty for Open and Close.
    pub data: &'a [u8],
    pub state: UploadState,
    /// The field values stored so far (fields that ended before this
    /// event), so the callback can read them as lws's may with
    /// `lws_spa_get_string` while the parser is busy calling it.
    pub values: Values<'a>,
}

/// The stored field values at one moment: what [`FormParser::get_bytes`]
/// would answer then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values<'a>(&'a [Option<Vec<u8>>]);

impl<'a> Values<'a> {
    /// The value of `params[index]`, `None` if absent (as `get_bytes`).
    pub fn get_bytes(&self, index: usize) -> Option<&'a [u8]> {
        self.0.get(index)?.as_deref()
    }

    /// How many fields there are (the `params` given to the parser).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No fields were asked for.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why parsing failed. Once a parser has failed it stays failed: further
/// `process` calls return the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// multipart Content-Type without a `boundary` parameter.
    #[error("multipart Content-Type has no boundary parameter")]
    MissingBoundary,
    /// The boundary parameter is empty, too long or has bad bytes.
    #[error("bad multipart boundary: {0}")]
    BadBoundary(&'static str),
    /// urlencoded field name longer than [`MAX_NAME_LEN`].
    #[error("urlencoded field name longer than {MAX_NAME_LEN} bytes")]
    NameTooLong,
    /// `%` not followed by two hex digits.
    #[error("bad %-escape in urlencoded body")]
    BadEscape,
    /// A part's header block is longer than [`MAX_PART_HEADER`].
    #[error("multipart part header longer than {MAX_PART_HEADER} bytes")]
    HeaderTooLong,
    /// The wanted field values do not fit in the storage.
    #[error("field values exceed the form storage of {max_storage} bytes")]
    StorageExceeded { max_storage: usize },
    /// The file callback returned false.
    #[error("file upload refused by the plugin")]
    Refused,
    /// The body ended early (from `finalize`); what was complete is kept.
    #[error("body ended early: {0}")]
    Truncated(&'static str),
}

/// The stateful POST body parser; see the module documentation.
pub struct FormParser {
    store: Store,
    kind: Kind,
    failed: Option<FormError>,
    finalized: bool,
    seen_data: bool,
}

impl std::fmt::Debug for FormParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormParser")
            .field("multipart", &matches!(self.kind, Kind::Multipart(_)))
            .field("params", &self.store.params)
            .field("failed", &self.failed)
            .field("finalized", &self.finalized)
            .finish_non_exhaustive()
    }
}

impl FormParser {
    /// `content_type` is the request's Content-Type header (multipart or
    /// not, and the boundary); `params` the field names wanted (compared
    /// exactly; `get_*` take indexes into it); `max_storage` the bytes for
    /// all stored values (0: 512).
    ///
    /// Errors only for multipart without a usable boundary (lws would go on
    /// and parse garbage).
    pub fn new(
        content_type: Option<&str>,
        params: &[String],
        max_storage: usize,
    ) -> Result<FormParser, FormError> {
        FormParser::with_params(content_type, params.to_vec(), max_storage)
    }

    /// [`FormParser::new`] taking the names it keeps (no copy of them).
    pub fn with_params(
        content_type: Option<&str>,
        params: Vec<String>,
        max_storage: usize,
    ) -> Result<FormParser, FormError> {
        let kind = match content_type.map(multipart_boundary).transpose()? {
            Some(Some(boundary)) => Kind::Multipart(Multipart::new(&boundary)),
            _ => Kind::Url(Url::default()),
        };
        let max_storage = if max_storage == 0 {
            DEFAULT_MAX_STORAGE
        } else {
            max_storage
        };
        Ok(FormParser {
            store: Store {
                values: vec![None; params.len()],
                params,
                max_storage,
                used: 0,
            },
            kind,
            failed: None,
            finalized: false,
            seen_data: false,
        })
    }

    /// Feeds the next piece of the body. File data goes to `on_file` as it
    /// arrives; `on_file` returning false fails the parse
    /// ([`FormError::Refused`]). Pieces after `finalize` are ignored.
    pub fn process(
        &mut self,
        piece: &[u8],
        on_file: &mut dyn FnMut(FileEvent<'_>) -> bool,
    ) -> Result<(), FormError> {
        if self.finalized {
            return Ok(());
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if piece.is_empty() {
            return Ok(());
        }
        self.seen_data = true;
        let result = match &mut self.kind {
            Kind::Url(u) => u.process(&mut self.store, piece),
            Kind::Multipart(m) => m.process(&mut self.store, piece, on_file),
        };
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// The body is complete: stores the last urlencoded value and sends
    /// [`UploadState::Close`]. Errors if the body stopped early (a multipart
    /// body without its closing boundary, a cut-off `%` escape), if the
    /// parser had failed before, or if `on_file` refuses the Close. lws's
    /// `lws_spa_finalize` returns 0 regardless. Only the first call does
    /// anything; later calls return `Ok`.
    pub fn finalize(
        &mut self,
        on_file: &mut dyn FnMut(FileEvent<'_>) -> bool,
    ) -> Result<(), FormError> {
        if self.finalized {
            return Ok(());
        }
        self.finalized = true;
        let (result, field, filename) = match &mut self.kind {
            Kind::Url(u) => {
                let r = match self.failed.clone() {
                    Some(e) => Err(e),
                    None => u.finish(&mut self.store),
                };
                (r, String::new(), String::new())
            }
            Kind::Multipart(m) => {
                let r = match self.failed.clone() {
                    Some(e) => Err(e),
                    None if m.state == MpState::Done || !self.seen_data => Ok(()),
                    None => Err(FormError::Truncated(
                        "multipart body has no closing boundary",
                    )),
                };
                let part = mem::take(&mut m.part);
                (r, part.name, part.filename)
            }
        };
        let accepted = on_file(FileEvent {
            field: &field,
            filename: &filename,
            data: &[],
            state: UploadState::Close,
            values: Values(&self.store.values),
        });
        result?;
        if accepted {
            Ok(())
        } else {
            Err(FormError::Refused)
        }
    }

    /// The value of `params[index]` as a string: `None` if the field was
    /// absent (or empty), or its value is not UTF-8 (see `get_bytes`).
    pub fn get_string(&self, index: usize) -> Option<&str> {
        self.get_bytes(index)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The value's length in bytes; 0 if absent.
    pub fn get_length(&self, index: usize) -> usize {
        self.get_bytes(index).map_or(0, <[u8]>::len)
    }

    /// The value of `params[index]` (urlencoded: decoded; multipart: as
    /// sent), `None` if absent. It may contain NUL bytes (`%00`).
    pub fn get_bytes(&self, index: usize) -> Option<&[u8]> {
        self.store.values.get(index)?.as_deref()
    }

    /// Bytes held besides the stored values: the partial name or header
    /// line, and a partial boundary match.
    #[cfg(test)]
    fn buffered(&self) -> usize {
        match &self.kind {
            Kind::Url(u) => u.name.len(),
            Kind::Multipart(m) => m.line.len() + m.matched,
        }
    }

    /// Storage consumed so far (lws's accounting: value length + 1 each).
    #[cfg(test)]
    fn storage_used(&self) -> usize {
        self.store.used
    }
}

enum Kind {
    Url(Url),
    Multipart(Multipart),
}

/// The wanted names and the values kept for them.
struct Store {
    params: Vec<String>,
    values: Vec<Option<Vec<u8>>>,
    max_storage: usize,
    /// Sum over stored values of length + 1.
    used: usize,
}

/// A value being received.
#[derive(Default)]
struct Field {
    /// Index in `params`, if the name is wanted.
    index: Option<usize>,
    len: usize,
    /// The bytes, if this value will be kept (first non-empty one).
    buf: Option<Vec<u8>>,
}

impl Store {
    fn begin(&self, name: &[u8]) -> Field {
        let index = self.params.iter().position(|p| p.as_bytes() == name);
        let keep = index.is_some_and(|i| self.values[i].is_none());
        Field {
            index,
            len: 0,
            buf: keep.then(Vec::new),
        }
    }

    fn append(&self, field: &mut Field, data: &[u8]) -> Result<(), FormError> {
        if field.index.is_none() || data.is_empty() {
            return Ok(());
        }
        let len = field.len + data.len();
        // lws: the value and its NUL must end before the last storage byte.
        if self.used + len + 1 > self.max_storage - 1 {
            return Err(FormError::StorageExceeded {
                max_storage: self.max_storage,
            });
        }
        field.len = len;
        if let Some(buf) = &mut field.buf {
            buf.extend_from_slice(data);
        }
        Ok(())
    }

    /// Like [`Store::append`] for `added` bytes already pushed to the
    /// field's buffer (taken off again when they do not fit).
    fn grow(&self, field: &mut Field, added: usize) -> Result<(), FormError> {
        if field.index.is_none() {
            return Ok(());
        }
        let len = field.len + added;
        if self.used + len + 1 > self.max_storage - 1 {
            if let Some(buf) = &mut field.buf {
                buf.truncate(buf.len() - added);
            }
            return Err(FormError::StorageExceeded {
                max_storage: self.max_storage,
            });
        }
        field.len = len;
        Ok(())
    }

    fn finish(&mut self, field: Field) {
        let Some(index) = field.index else { return };
        if field.len == 0 {
            return;
        }
        self.used += field.len + 1;
        if self.values[index].is_none() {
            self.values[index] = field.buf;
        }
    }
}

// ---------------------------------------------------------------------------
// urlencoded

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum UrlState {
    #[default]
    Name,
    Value,
    Pct1,
    Pct2(u8),
}

#[derive(Default)]
struct Url {
    state: UrlState,
    name: Vec<u8>,
    field: Field,
    /// A value run decoded by [`decode_run`] (kept for its capacity).
    decoded: Vec<u8>,
}

impl Url {
    fn process(&mut self, store: &mut Store, piece: &[u8]) -> Result<(), FormError> {
        let mut i = 0;
        while i < piece.len() {
            let rest = &piece[i..];
            match self.state {
                UrlState::Name => {
                    let stop = rest.iter().position(|&b| b == b'=' || b == b'&');
                    let part = &rest[..stop.unwrap_or(rest.len())];
                    if self.name.len() + part.len() > MAX_NAME_LEN {
                        return Err(FormError::NameTooLong);
                    }
                    self.name.extend_from_slice(part);
                    i += part.len();
                    if let Some(p) = stop {
                        i += 1;
                        if rest[p] == b'=' {
                            self.field = store.begin(&self.name);
                            self.state = UrlState::Value;
                        }
                        // `name&`: a name without a value, ignored.
                        self.name.clear();
                    }
                }
                UrlState::Value => {
                    // The value up to `&` in one go; storage is checked once
                    // for the run (the total only grows, so the outcome is
                    // the same as byte by byte).
                    let used = match &mut self.field.buf {
                        // A value kept: decoded straight into its buffer.
                        Some(buf) => {
                            // One allocation for the run (decoded, it is
                            // never longer; more than the storage fails).
                            buf.reserve(rest.len().min(store.max_storage));
                            let before = buf.len();
                            let used = decode_run(rest, buf);
                            let added = buf.len() - before;
                            if added > 0 {
                                store.grow(&mut self.field, added)?;
                            }
                            used
                        }
                        None => {
                            self.decoded.clear();
                            let used = decode_run(rest, &mut self.decoded);
                            store.append(&mut self.field, &self.decoded)?;
                            used
                        }
                    };
                    if used > 0 {
                        i += used;
                        continue;
                    }
                    // `&`, or a `%` whose escape is bad or goes on in the
                    // next piece: a byte at a time.
                    i += 1;
                    if rest[0] == b'%' {
                        self.state = UrlState::Pct1;
                    } else {
                        store.finish(mem::take(&mut self.field));
                        self.state = UrlState::Name;
                    }
                }
                UrlState::Pct1 => {
                    let hi = hex(rest[0]).ok_or(FormError::BadEscape)?;
                    self.state = UrlState::Pct2(hi);
                    i += 1;
                }
                UrlState::Pct2(hi) => {
                    let lo = hex(rest[0]).ok_or(FormError::BadEscape)?;
                    store.append(&mut self.field, &[(hi << 4) | lo])?;
                    self.state = UrlState::Value;
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// End of body: keep the last value. A trailing name without `=` is
    /// dropped; a value cut inside `%xx` is dropped and an error (lws drops
    /// it silently).
    fn finish(&mut self, store: &mut Store) -> Result<(), FormError> {
        let field = mem::take(&mut self.field);
        match self.state {
            UrlState::Value => store.finish(field),
            UrlState::Pct1 | UrlState::Pct2(_) => {
                return Err(FormError::Truncated("body ends inside a %-escape"))
            }
            UrlState::Name => {}
        }
        self.name.clear();
        Ok(())
    }
}

/// Decodes the start of a value (`+` as a space, `%xx` escapes) into
/// `out`, up to a `&`, the end of `input`, or a `%` not followed by two hex
/// digits within `input`; returns how many bytes of `input` it used.
fn decode_run(input: &[u8], out: &mut Vec<u8>) -> usize {
    // Decoded into a block on the stack, a byte at a time, and appended a
    // block at a time: words between `+`s and escapes are a few bytes
    // long, and a copy per run cost more than the decoding.
    let mut block = [0u8; 256];
    let mut k = 0;
    let mut j = 0;
    while let Some(&b) = input.get(j) {
        if k == block.len() {
            out.extend_from_slice(&block);
            k = 0;
        }
        match b {
            b'&' => break,
            b'+' => {
                block[k] = b' ';
                j += 1;
            }
            b'%' => {
                let digit = |k: usize| input.get(k).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (digit(j + 1), digit(j + 2)) else {
                    break;
                };
                block[k] = (hi << 4) | lo;
                j += 3;
            }
            b => {
                block[k] = b;
                j += 1;
            }
        }
        k += 1;
    }
    out.extend_from_slice(&block[..k]);
    j
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// multipart

/// `Some(boundary)` if `content_type` is multipart (`multipart/form-data` or
/// `multipart/related`, any case, as lws), `None` for anything else.
fn multipart_boundary(content_type: &str) -> Result<Option<Vec<u8>>, FormError> {
    let (media, mut rest) = content_type.split_once(';').unwrap_or((content_type, ""));
    let media = media.trim();
    if !media.eq_ignore_ascii_case("multipart/form-data")
        && !media.eq_ignore_ascii_case("multipart/related")
    {
        return Ok(None);
    }
    let mut boundary = None;
    // `; name=value` or `; name="quoted \" value"` parameters.
    while !rest.is_empty() {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        let end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        rest = &rest[end..];
        let Some(after_eq) = rest.strip_prefix('=') else {
            continue;
        };
        let after_eq = after_eq.trim_start_matches([' ', '\t']);
        let mut value = Vec::new();
        if let Some(quoted) = after_eq.strip_prefix('"') {
            let bytes = quoted.as_bytes();
            let mut j = 0;
            while j < bytes.len() && bytes[j] != b'"' {
                if bytes[j] == b'\\' && j + 1 < bytes.len() {
                    j += 1;
                }
                value.push(bytes[j]);
                j += 1;
            }
            rest = quoted.get(j + 1..).unwrap_or("");
        } else {
            let end = after_eq.find(';').unwrap_or(after_eq.len());
            value.extend_from_slice(after_eq[..end].trim().as_bytes());
            rest = &after_eq[end..];
        }
        if name.eq_ignore_ascii_case("boundary") && boundary.is_none() {
            boundary = Some(value);
        }
    }
    let boundary = boundary.ok_or(FormError::MissingBoundary)?;
    if boundary.is_empty() {
        return Err(FormError::BadBoundary("empty"));
    }
    if boundary.len() > MAX_BOUNDARY_LEN {
        return Err(FormError::BadBoundary("too long"));
    }
    if !boundary.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return Err(FormError::BadBoundary("not printable ASCII"));
    }
    Ok(Some(boundary))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MpState {
    /// Before the first boundary: ignored.
    Preamble,
    /// Just after a boundary: `--` ends the body, else the line's rest is
    /// ignored (transport padding; lws ignores anything there).
    AfterDelim,
    /// After a boundary and one `-`.
    Dash,
    /// Skipping to the end of the boundary line.
    SkipLine,
    /// Reading part header lines.
    Headers,
    /// Part data, up to the next boundary.
    Body,
    /// After the closing boundary: the epilogue, ignored.
    Done,
}

/// The current part.
#[derive(Default)]
struct Part {
    raw_name: Vec<u8>,
    name: String,
    filename: String,
    is_file: bool,
    /// The value, for a field part in its body.
    field: Option<Field>,
}

struct Multipart {
    /// `\r\n--boundary`. Its only CR is the first byte (the boundary is
    /// printable ASCII), so after a mismatch a match can only restart at
    /// the mismatching byte, if that is a CR.
    delim: Vec<u8>,
    /// How much of `delim` the latest bytes match: those bytes are held
    /// back (they may be the boundary) and are `delim[..matched]`.
    matched: usize,
    state: MpState,
    /// Header bytes of the current part so far.
    header_bytes: usize,
    /// The header line being read, without its LF.
    line: Vec<u8>,
    part: Part,
}

impl Multipart {
    fn new(boundary: &[u8]) -> Multipart {
        let mut delim = b"\r\n--".to_vec();
        delim.extend_from_slice(boundary);
        Multipart {
            delim,
            // The body may start with the boundary itself: act as if a
            // CRLF came first (lws does the same).
            matched: 2,
            state: MpState::Preamble,
            header_bytes: 0,
            line: Vec::new(),
            part: Part::default(),
        }
    }

    fn process(
        &mut self,
        store: &mut Store,
        piece: &[u8],
        on_file: &mut dyn FnMut(FileEvent<'_>) -> bool,
    ) -> Result<(), FormError> {
        let mut i = 0;
        while i < piece.len() {
            match self.state {
                MpState::Preamble | MpState::Body => {
                    i = self.scan(store, piece, i, on_file)?;
                }
                MpState::AfterDelim | MpState::Dash => {
                    let b = piece[i];
                    i += 1;
                    self.count_header(1)?;
                    self.state = match (self.state, b) {
                        (MpState::AfterDelim, b'-') => MpState::Dash,
                        (MpState::Dash, b'-') => MpState::Done,
                        (_, b'\n') => MpState::Headers,
                        _ => MpState::SkipLine,
                    };
                }
                MpState::SkipLine | MpState::Headers => {
                    let rest = &piece[i..];
                    let eol = rest.iter().position(|&b| b == b'\n');
                    let n = eol.map_or(rest.len(), |p| p + 1);
                    self.count_header(n)?;
                    i += n;
                    if self.state == MpState::SkipLine {
                        if eol.is_some() {
                            self.state = MpState::Headers;
                        }
                        continue;
                    }
                    self.line
                        .extend_from_slice(&rest[..eol.unwrap_or(rest.len())]);
                    if eol.is_some() {
                        self.header_line(store, on_file)?;
                    }
                }
                MpState::Done => i = piece.len(),
            }
        }
        Ok(())
    }

    fn count_header(&mut self, n: usize) -> Result<(), FormError> {
        self.header_bytes += n;
        if self.header_bytes > MAX_PART_HEADER {
            return Err(FormError::HeaderTooLong);
        }
        Ok(())
    }

    /// A complete header line is in `self.line`.
    fn header_line(
        &mut self,
        store: &mut Store,
        on_file: &mut dyn FnMut(FileEvent<'_>) -> bool,
    ) -> Result<(), FormError> {
        let mut line = mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            // End of the headers: the part's data follows.
            self.state = MpState::Body;
            self.matched = 0;
            let part = &mut self.part;
            if part.filename.is_empty() {
                part.field = Some(store.begin(&part.raw_name));
            } else {
                part.is_file = true;
                let open = FileEvent {
                    field: &part.name,
                    filename: &part.filename,
                    data: &[],
                    state: UploadState::Open,
                    values: Values(&store.values),
                };
                if !on_file(open) {
                    return Err(FormError::Refused);
                }
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            // Header names in any case; only Content-Disposition matters
            // (lws also reads Content-Type but does nothing with it).
            if line[..colon]
                .trim_ascii()
                .eq_ignore_ascii_case(b"content-disposition")
            {
                let (name, filename) = parse_disposition(&line[colon + 1..]);
                if let Some(name) = name {
                    self.part.name = String::from_utf8_lossy(name).into_owned();
                    self.part.raw_name = name.to_vec();
                }
                if let Some(filename) = filename {
                    self.part.filename = String::from_utf8_lossy(filename).into_owned();
                }
            }
        }
        line.clear();
        self.line = line;
        Ok(())
    }

    /// Preamble or part data from `piece[start..]`, up to and including the
    /// next boundary. Returns where it stopped.
    fn scan(
        &mut self,
        store: &mut Store,
        piece: &[u8],
        start: usize,
        on_file: &mut dyn FnMut(FileEvent<'_>) -> bool,
    ) -> Result<usize, FormError> {
        let delim = &self.delim;
        let carry = self.matched;
        let mut k = carry;
        let mut j = start;
        let mut found = false;
        while j < piece.len() {
            if k == 0 {
                // delim starts with CR: skip quickly to the next one.
                match piece[j..].iter().position(|&b| b == b'\r') {
                    Some(off) => {
                        j += off + 1;
                        k = 1;
                    }
                    None => {
                        j = piece.len();
                        break;
                    }
                }
            } else {
                let b = piece[j];
                k = if delim[k] == b {
                    k + 1
                } else {
                    usize::from(b == b'\r')
                };
                j += 1;
            }
            if k == delim.len() {
                found = true;
                break;
            }
        }
        // The last k bytes seen are held back (or are the boundary); what
        // came before is data: the released part of the carried match, then
        // the piece.
        let n = j - start;
        let (from_carry, from_piece) = if k <= n {
            (&delim[..carry], &piece[start..j - k])
        } else {
            (&delim[..carry - (k - n)], &piece[start..start])
        };
        if self.state == MpState::Body {
            let part = &mut self.part;
            emit(part, store, on_file, from_carry, UploadState::Content)?;
            if found {
                if part.is_file {
                    emit(part, store, on_file, from_piece, UploadState::FinalContent)?;
                } else if let Some(mut field) = part.field.take() {
                    store.append(&mut field, from_piece)?;
                    store.finish(field);
                }
            } else {
                emit(part, store, on_file, from_piece, UploadState::Content)?;
            }
        }
        if found {
            self.matched = 0;
            self.state = MpState::AfterDelim;
            self.header_bytes = 0;
            self.part = Part::default();
        } else {
            self.matched = k;
        }
        Ok(j)
    }
}

/// Part data to the file callback or the field value.
fn emit(
    part: &mut Part,
    store: &Store,
    on_file: &mut dyn FnMut(FileEvent<'_>) -> bool,
    data: &[u8],
    state: UploadState,
) -> Result<(), FormError> {
    if part.is_file {
        if data.is_empty() && state == UploadState::Content {
            return Ok(());
        }
        let event = FileEvent {
            field: &part.name,
            filename: &part.filename,
            data,
            state,
            values: Values(&store.values),
        };
        if !on_file(event) {
            return Err(FormError::Refused);
        }
    } else if let Some(field) = &mut part.field {
        store.append(field, data)?;
    }
    Ok(())
}

/// `name` and `filename` from a Content-Disposition value such as
/// ` form-data; name="x"; filename="f.txt"`. Parameter names in any case;
/// values quoted (taken literally up to the next `"`, as browsers send them
/// and lws reads them) or bare. `filename*` is not understood (nor by lws).
fn parse_disposition(value: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let (mut name, mut filename) = (None, None);
    // Skip the disposition type (`form-data`).
    let Some(semi) = value.iter().position(|&b| b == b';') else {
        return (name, filename);
    };
    let mut rest = &value[semi..];
    loop {
        rest = trim_start(rest);
        match rest.first() {
            None => break,
            Some(b';') => {
                rest = &rest[1..];
                continue;
            }
            Some(_) => {}
        }
        let end = rest
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest.len());
        let pname = rest[..end].trim_ascii();
        if rest.get(end) != Some(&b'=') {
            rest = &rest[end..];
            continue;
        }
        rest = trim_start(&rest[end + 1..]);
        let pvalue;
        if rest.first() == Some(&b'"') {
            let quoted = &rest[1..];
            match quoted.iter().position(|&b| b == b'"') {
                Some(close) => {
                    pvalue = &quoted[..close];
                    rest = &quoted[close + 1..];
                }
                None => {
                    pvalue = quoted;
                    rest = &[];
                }
            }
        } else {
            let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
            pvalue = rest[..end].trim_ascii();
            rest = &rest[end..];
        }
        if pname.eq_ignore_ascii_case(b"name") {
            name = Some(pvalue);
        } else if pname.eq_ignore_ascii_case(b"filename") {
            filename = Some(pvalue);
        }
    }
    (name, filename)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    &s[n..]
}

#[cfg(test)]
#[path = "form/tests.rs"]
mod tests;
