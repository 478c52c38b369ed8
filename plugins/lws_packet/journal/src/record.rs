//! One packet, and its framing on disk.
//!
//! A record is `len: u32 | crc: u32 | body`, little-endian, where `body` is
//! `id: u64 | ts_ms: i64 | content_type_len: u16 | content_type | data` and
//! `len` is the body's length. `crc` is CRC-32 (IEEE) over the `len` bytes
//! and the body, so a torn or overwritten record (wrong length, wrong bytes)
//! fails the check. Segment files are zero-filled before use, so eight zero
//! bytes where a record would start mark the end of the data.
//!
//! A packet sent with an idempotency key keeps it in its record: the top
//! bit of `content_type_len` ([`HAS_KEY`]) says that `key_len: u16 | key`
//! follows the content type, before the data. Content types are at most
//! [`MAX_CONTENT_TYPE`] bytes, so records written before keys existed
//! never have that bit set and read as they always did.
//!
//! A packet from an identified sender (the label of its ingest token or
//! client certificate) keeps that label the same way: the next bit,
//! [`HAS_SOURCE`], says that `source_len: u16 | source` follows (after the
//! key, if any). Records written before sources existed never have it.

use std::sync::OnceLock;

/// `len` + `crc`.
pub const PREFIX: usize = 8;
/// `id` + `ts_ms` + `content_type_len`.
pub const FIXED: usize = 18;
/// Longest content type kept (longer ones are cut).
pub const MAX_CONTENT_TYPE: usize = 1024;
/// Largest body a record may claim; anything larger is corruption.
pub const MAX_BODY: usize = 1 << 30;
/// The bit of `content_type_len` that says a key follows the content type.
pub const HAS_KEY: u16 = 0x8000;
/// Longest key kept (a vhost name and a client's key of up to 255 bytes).
pub const MAX_KEY: usize = 4096;
/// The bit of `content_type_len` that says a source label follows.
pub const HAS_SOURCE: u16 = 0x4000;
/// Longest source label kept (longer ones are cut).
pub const MAX_SOURCE: usize = 255;
/// The length bits of `content_type_len`.
const CT_LEN: u16 = !(HAS_KEY | HAS_SOURCE);

/// A recorded packet.
#[derive(Debug)]
pub struct Packet {
    /// Its id: positive, strictly increasing, never reused.
    pub id: u64,
    /// When it was recorded, milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    /// The content type it arrived with.
    pub content_type: String,
    /// The body, byte-exact.
    pub data: Vec<u8>,
    /// Who sent it: the label of its sender's ingest token or client
    /// certificate (none on a vhost open to anyone).
    pub source: Option<String>,
    /// The JSON envelope, built once however many subscribers send it.
    envelope: OnceLock<String>,
}

impl Packet {
    /// A packet.
    pub fn new(id: u64, ts_ms: i64, content_type: String, data: Vec<u8>) -> Packet {
        Packet {
            id,
            ts_ms,
            content_type,
            data,
            source: None,
            envelope: OnceLock::new(),
        }
    }

    /// The same packet, sent by `source`.
    pub fn with_source(mut self, source: Option<String>) -> Packet {
        self.source = source;
        self
    }

    /// The delivery envelope (see [`crate::envelope`]).
    pub fn envelope(&self) -> &str {
        self.envelope.get_or_init(|| crate::envelope::packet(self))
    }

    /// Bytes it takes in memory, roughly (for the live-tail budget).
    pub fn weight(&self) -> usize {
        64 + self.content_type.len() + self.data.len() + self.source.as_ref().map_or(0, String::len)
    }
}

/// Bytes a record with these fields takes on disk.
pub fn encoded_len(content_type: &[u8], data: &[u8]) -> usize {
    PREFIX + FIXED + content_type.len() + data.len()
}

/// Bytes a record with these fields and `key` takes on disk (content type
/// and key as [`encode_keyed`] cuts them).
pub fn encoded_len_keyed(content_type: &[u8], key: Option<&[u8]>, data: &[u8]) -> usize {
    encoded_len_with(content_type, key, None, data)
}

/// Bytes a record with these fields, `key` and `source` takes on disk (as
/// [`encode_with`] cuts them).
pub fn encoded_len_with(
    content_type: &[u8],
    key: Option<&[u8]>,
    source: Option<&[u8]>,
    data: &[u8],
) -> usize {
    let ct = content_type.len().min(MAX_CONTENT_TYPE);
    let key = key.map_or(0, |k| 2 + k.len().min(MAX_KEY));
    let source = source.map_or(0, |s| 2 + s.len().min(MAX_SOURCE));
    PREFIX + FIXED + ct + key + source + data.len()
}

/// Appends the record for a packet to `out`.
pub fn encode(out: &mut Vec<u8>, id: u64, ts_ms: i64, content_type: &[u8], data: &[u8]) {
    encode_keyed(out, id, ts_ms, content_type, None, data);
}

/// Appends the record for a packet with an optional idempotency key.
pub fn encode_keyed(
    out: &mut Vec<u8>,
    id: u64,
    ts_ms: i64,
    content_type: &[u8],
    key: Option<&[u8]>,
    data: &[u8],
) {
    encode_with(out, id, ts_ms, content_type, key, None, data);
}

/// Appends the record for a packet with an optional idempotency key and an
/// optional source label.
pub fn encode_with(
    out: &mut Vec<u8>,
    id: u64,
    ts_ms: i64,
    content_type: &[u8],
    key: Option<&[u8]>,
    source: Option<&[u8]>,
    data: &[u8],
) {
    let ct = &content_type[..content_type.len().min(MAX_CONTENT_TYPE)];
    let key = key.map(|k| &k[..k.len().min(MAX_KEY)]);
    let source = source.map(|s| &s[..s.len().min(MAX_SOURCE)]);
    let body_len = FIXED
        + ct.len()
        + key.map_or(0, |k| 2 + k.len())
        + source.map_or(0, |s| 2 + s.len())
        + data.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&ts_ms.to_le_bytes());
    let mut flags = 0;
    if key.is_some() {
        flags |= HAS_KEY;
    }
    if source.is_some() {
        flags |= HAS_SOURCE;
    }
    out.extend_from_slice(&(ct.len() as u16 | flags).to_le_bytes());
    out.extend_from_slice(ct);
    for field in [key, source].into_iter().flatten() {
        out.extend_from_slice(&(field.len() as u16).to_le_bytes());
        out.extend_from_slice(field);
    }
    out.extend_from_slice(data);
    let crc = checksum(&out[start..start + 4], &out[start + PREFIX..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn checksum(len: &[u8], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(body);
    h.finalize()
}

/// What the bytes at a record boundary hold.
#[derive(Debug)]
pub enum Decoded {
    /// A whole, intact record: its id, timestamp and length on disk
    /// ([`packet_at`] reads the rest).
    Record {
        /// Packet id.
        id: u64,
        /// Timestamp (ms).
        ts_ms: i64,
        /// Bytes on disk.
        len: usize,
    },
    /// Zeros: no record was ever written here (the end of the data).
    End,
    /// Not a record: torn, overwritten or corrupt (the reason).
    Bad(&'static str),
    /// More bytes are needed to tell (at least this many from the start).
    Need(usize),
}

/// Decodes the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded {
    if buf.len() < PREFIX {
        return Decoded::Need(PREFIX);
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(buf[4..8].try_into().unwrap_or_default());
    if len == 0 {
        return if crc == 0 {
            Decoded::End
        } else {
            Decoded::Bad("zero length with a checksum")
        };
    }
    if !(FIXED..=MAX_BODY).contains(&len) {
        return Decoded::Bad("impossible length");
    }
    if buf.len() < PREFIX + len {
        return Decoded::Need(PREFIX + len);
    }
    let body = &buf[PREFIX..PREFIX + len];
    if checksum(&buf[0..4], body) != crc {
        return Decoded::Bad("checksum mismatch");
    }
    let id = u64::from_le_bytes(body[0..8].try_into().unwrap_or_default());
    let ts_ms = i64::from_le_bytes(body[8..16].try_into().unwrap_or_default());
    if fields(body).is_none() || id == 0 {
        return Decoded::Bad("inconsistent fields");
    }
    Decoded::Record {
        id,
        ts_ms,
        len: PREFIX + len,
    }
}

/// Where the content type, the key and the source (if any) and the data
/// are in a record's `body`, or `None` when the lengths do not fit.
fn fields(body: &[u8]) -> Option<Fields> {
    let raw = u16::from_le_bytes(body.get(16..18)?.try_into().ok()?);
    let ct_end = FIXED + usize::from(raw & CT_LEN);
    if ct_end > body.len() {
        return None;
    }
    // A `u16` length and that many bytes at `at`, if `flag` is set.
    let field = |flag: u16, at: usize| -> Option<Option<std::ops::Range<usize>>> {
        if raw & flag == 0 {
            return Some(None);
        }
        let n = usize::from(u16::from_le_bytes(body.get(at..at + 2)?.try_into().ok()?));
        let start = at + 2;
        (start + n <= body.len()).then_some(Some(start..start + n))
    };
    let key = field(HAS_KEY, ct_end)?;
    let after_key = key.as_ref().map_or(ct_end, |k| k.end);
    let source = field(HAS_SOURCE, after_key)?;
    let data = source.as_ref().map_or(after_key, |s| s.end);
    Some(Fields {
        content_type: FIXED..ct_end,
        key,
        source,
        data,
    })
}

/// Byte ranges of a record body's variable fields.
struct Fields {
    content_type: std::ops::Range<usize>,
    key: Option<std::ops::Range<usize>>,
    source: Option<std::ops::Range<usize>>,
    data: usize,
}

fn body_of(buf: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default()) as usize;
    &buf[PREFIX..PREFIX + len]
}

/// The packet of the record at the start of `buf`, which [`decode`] found
/// intact.
pub fn packet_at(buf: &[u8]) -> Packet {
    let body = body_of(buf);
    let id = u64::from_le_bytes(body[0..8].try_into().unwrap_or_default());
    let ts_ms = i64::from_le_bytes(body[8..16].try_into().unwrap_or_default());
    let Some(f) = fields(body) else {
        return Packet::new(id, ts_ms, String::new(), Vec::new());
    };
    let content_type = String::from_utf8_lossy(&body[f.content_type]).into_owned();
    let source = f
        .source
        .map(|r| String::from_utf8_lossy(&body[r]).into_owned());
    Packet::new(id, ts_ms, content_type, body[f.data..].to_vec()).with_source(source)
}

/// The idempotency key of the record at the start of `buf` (which
/// [`decode`] found intact), if it has one.
pub fn key_at(buf: &[u8]) -> Option<&[u8]> {
    let body = body_of(buf);
    fields(body)?.key.map(|k| &body[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, 1234, b"text/plain", b"hello");
        encode(&mut buf, 8, 1235, b"", b"");
        let Decoded::Record { id, ts_ms, len: n } = decode(&buf) else {
            panic!("first record")
        };
        assert_eq!((id, ts_ms), (7, 1234));
        let p = packet_at(&buf);
        assert_eq!(
            (p.id, p.ts_ms, p.content_type.as_str()),
            (7, 1234, "text/plain")
        );
        assert_eq!(p.data, b"hello");
        assert_eq!(n, encoded_len(b"text/plain", b"hello"));
        let Decoded::Record { id, len: m, .. } = decode(&buf[n..]) else {
            panic!("second record")
        };
        let q = packet_at(&buf[n..]);
        assert_eq!((id, q.data.len(), m), (8, 0, PREFIX + FIXED));
    }

    #[test]
    fn keyed_records_round_trip_and_old_records_still_read() {
        let mut buf = Vec::new();
        encode_keyed(&mut buf, 9, 5, b"text/plain", Some(b"vh\nabc"), b"body");
        assert_eq!(
            buf.len(),
            encoded_len_keyed(b"text/plain", Some(b"vh\nabc"), b"body")
        );
        let Decoded::Record { id, len, .. } = decode(&buf) else {
            panic!("keyed record")
        };
        assert_eq!((id, len), (9, buf.len()));
        let p = packet_at(&buf);
        assert_eq!(
            (p.content_type.as_str(), p.data.as_slice()),
            ("text/plain", &b"body"[..])
        );
        assert_eq!(key_at(&buf), Some(&b"vh\nabc"[..]));
        // A record as written before keys existed (the bytes are spelled
        // out, not produced by today's encoder).
        let mut old = Vec::new();
        let body_len = FIXED + 3 + 2;
        old.extend_from_slice(&(body_len as u32).to_le_bytes());
        old.extend_from_slice(&[0; 4]);
        old.extend_from_slice(&7u64.to_le_bytes());
        old.extend_from_slice(&1234i64.to_le_bytes());
        old.extend_from_slice(&3u16.to_le_bytes());
        old.extend_from_slice(b"a/bhi");
        let crc = checksum(&old[0..4], &old[PREFIX..]);
        old[4..8].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(decode(&old), Decoded::Record { id: 7, .. }));
        let p = packet_at(&old);
        assert_eq!(
            (p.content_type.as_str(), p.data.as_slice()),
            ("a/b", &b"hi"[..])
        );
        assert_eq!(key_at(&old), None);
        // A key length past the body is corruption, not a record.
        let mut bad = Vec::new();
        encode_keyed(&mut bad, 3, 0, b"", Some(b"k"), b"");
        bad[PREFIX + FIXED] = 200;
        let crc = checksum(&bad[0..4], &bad[PREFIX..]);
        bad[4..8].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(decode(&bad), Decoded::Bad(_)));
    }

    #[test]
    fn sources_round_trip_with_and_without_a_key() {
        let mut buf = Vec::new();
        encode_with(&mut buf, 1, 5, b"a/b", None, Some(b"ctrl-0042"), b"one");
        let n = buf.len();
        assert_eq!(
            n,
            encoded_len_with(b"a/b", None, Some(b"ctrl-0042"), b"one")
        );
        encode_with(
            &mut buf,
            2,
            6,
            b"a/b",
            Some(b"vh\nk"),
            Some(b"ctrl-7"),
            b"two",
        );
        encode_keyed(&mut buf, 3, 7, b"a/b", Some(b"vh\nk2"), b"three");
        let p = packet_at(&buf);
        assert_eq!(p.source.as_deref(), Some("ctrl-0042"));
        assert_eq!((p.data.as_slice(), key_at(&buf)), (&b"one"[..], None));
        let Decoded::Record { len: m, .. } = decode(&buf[n..]) else {
            panic!("second record")
        };
        let q = packet_at(&buf[n..]);
        assert_eq!(q.source.as_deref(), Some("ctrl-7"));
        assert_eq!(q.data, b"two");
        assert_eq!(key_at(&buf[n..]), Some(&b"vh\nk"[..]));
        let r = packet_at(&buf[n + m..]);
        assert_eq!((r.source, r.data.as_slice()), (None, &b"three"[..]));
        // A label is cut at MAX_SOURCE bytes.
        let long = vec![b'x'; MAX_SOURCE + 10];
        let mut one = Vec::new();
        encode_with(&mut one, 4, 0, b"", None, Some(&long), b"");
        assert_eq!(packet_at(&one).source.unwrap().len(), MAX_SOURCE);
        // A source length past the body is corruption, not a record.
        let mut bad = Vec::new();
        encode_with(&mut bad, 3, 0, b"", None, Some(b"s"), b"");
        bad[PREFIX + FIXED] = 200;
        let crc = checksum(&bad[0..4], &bad[PREFIX..]);
        bad[4..8].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(decode(&bad), Decoded::Bad(_)));
    }

    #[test]
    fn torn_and_corrupt_records_are_told_apart_from_the_end() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, 0, b"a", b"0123456789");
        // Torn: the tail of the record is missing.
        assert!(matches!(decode(&buf[..buf.len() - 3]), Decoded::Need(_)));
        // Overwritten: one flipped byte.
        let mut bad = buf.clone();
        bad[PREFIX + FIXED + 3] ^= 0x40;
        assert!(matches!(decode(&bad), Decoded::Bad(_)));
        // Zeros are the end of the data; garbage is not.
        assert!(matches!(decode(&[0; 16]), Decoded::End));
        assert!(matches!(decode(&[0xff; 16]), Decoded::Bad(_)));
        assert!(matches!(decode(&[0, 0, 0, 0, 1, 0, 0, 0]), Decoded::Bad(_)));
    }
}
