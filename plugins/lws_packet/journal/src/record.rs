//! One packet, and its framing on disk.
//!
//! A record is `len: u32 | crc: u32 | body`, little-endian, where `body` is
//! `id: u64 | ts_ms: i64 | content_type_len: u16 | content_type | data` and
//! `len` is the body's length. `crc` is CRC-32 (IEEE) over the `len` bytes
//! and the body, so a torn or overwritten record (wrong length, wrong bytes)
//! fails the check. Segment files are zero-filled before use, so eight zero
//! bytes where a record would start mark the end of the data.

use std::sync::OnceLock;

/// `len` + `crc`.
pub const PREFIX: usize = 8;
/// `id` + `ts_ms` + `content_type_len`.
pub const FIXED: usize = 18;
/// Longest content type kept (longer ones are cut).
pub const MAX_CONTENT_TYPE: usize = 1024;
/// Largest body a record may claim; anything larger is corruption.
pub const MAX_BODY: usize = 1 << 30;

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
            envelope: OnceLock::new(),
        }
    }

    /// The delivery envelope (see [`crate::envelope`]).
    pub fn envelope(&self) -> &str {
        self.envelope.get_or_init(|| crate::envelope::packet(self))
    }

    /// Bytes it takes in memory, roughly (for the live-tail budget).
    pub fn weight(&self) -> usize {
        64 + self.content_type.len() + self.data.len()
    }
}

/// Bytes a record with these fields takes on disk.
pub fn encoded_len(content_type: &[u8], data: &[u8]) -> usize {
    PREFIX + FIXED + content_type.len() + data.len()
}

/// Appends the record for a packet to `out`.
pub fn encode(out: &mut Vec<u8>, id: u64, ts_ms: i64, content_type: &[u8], data: &[u8]) {
    let ct = &content_type[..content_type.len().min(MAX_CONTENT_TYPE)];
    let body_len = FIXED + ct.len() + data.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&ts_ms.to_le_bytes());
    out.extend_from_slice(&(ct.len() as u16).to_le_bytes());
    out.extend_from_slice(ct);
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
    let ct_len = u16::from_le_bytes(body[16..18].try_into().unwrap_or_default()) as usize;
    if FIXED + ct_len > len || id == 0 {
        return Decoded::Bad("inconsistent fields");
    }
    Decoded::Record {
        id,
        ts_ms,
        len: PREFIX + len,
    }
}

/// The packet of the record at the start of `buf`, which [`decode`] found
/// intact.
pub fn packet_at(buf: &[u8]) -> Packet {
    let len = u32::from_le_bytes(buf[0..4].try_into().unwrap_or_default()) as usize;
    let body = &buf[PREFIX..PREFIX + len];
    let id = u64::from_le_bytes(body[0..8].try_into().unwrap_or_default());
    let ts_ms = i64::from_le_bytes(body[8..16].try_into().unwrap_or_default());
    let ct_len = u16::from_le_bytes(body[16..18].try_into().unwrap_or_default()) as usize;
    let content_type = String::from_utf8_lossy(&body[FIXED..FIXED + ct_len]).into_owned();
    Packet::new(id, ts_ms, content_type, body[FIXED + ct_len..].to_vec())
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
