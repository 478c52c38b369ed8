//! Idempotency keys: the `Idempotency-Key` header of a POST, the key line
//! of a keyed WebSocket message, and their scope (keys are per vhost).

use super::Hub;

/// The request header that makes a POST idempotent.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The response header of an answer that repeats an earlier one.
pub const REPLAYED: (&str, &str) = ("idempotent-replayed", "true");

/// An `Idempotency-Key` value: 1 to 255 printable ASCII characters.
pub(super) fn idempotency_key(v: &str) -> Result<String, String> {
    let v = v.trim();
    if (1..=255).contains(&v.len()) && v.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(v.to_string())
    } else {
        Err("Idempotency-Key: 1 to 255 printable ASCII characters".into())
    }
}

impl Hub {
    /// A client's key as recorded: scoped by this vhost.
    pub(super) fn scoped(&self, key: &str) -> Vec<u8> {
        scoped(&self.scope, key)
    }
}

/// A key as recorded: the vhost's name, a newline, the client's key (keys
/// are per vhost; vhosts may share a journal).
pub(super) fn scoped(scope: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(scope.len() + 1 + key.len());
    k.extend_from_slice(scope.as_bytes());
    k.push(b'\n');
    k.extend_from_slice(key.as_bytes());
    k
}

/// A keyed WebSocket message: its first line (up to `\n`) is the key, or
/// empty for none; the rest, up to `max` bytes, is the packet. Returns the
/// key and where the packet starts.
pub(super) fn split_key(msg: &[u8], max: usize) -> Result<(Option<&str>, usize), String> {
    let Some(nl) = msg.iter().take(257).position(|&b| b == b'\n') else {
        return Err(
            "keyed message: the key line (1 to 255 printable ASCII characters, \
                    or none) must end with \\n"
                .into(),
        );
    };
    if msg.len() - nl - 1 > max {
        return Err(format!("packet larger than max-packet-bytes ({max})"));
    }
    if nl == 0 {
        return Ok((None, 1));
    }
    let text = std::str::from_utf8(&msg[..nl]).unwrap_or("\u{0}");
    let key = idempotency_key(text)?;
    // The trimmed key is a slice of the line.
    let start = text.find(key.as_str()).unwrap_or(0);
    Ok((Some(&text[start..start + key.len()]), nl + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_1_to_255_printable_ascii_characters_trimmed() {
        assert_eq!(idempotency_key("k-0042").unwrap(), "k-0042");
        assert_eq!(
            idempotency_key("  with spaces inside \t").unwrap(),
            "with spaces inside"
        );
        assert_eq!(idempotency_key(&"x".repeat(255)).unwrap().len(), 255);
        for bad in ["", "   ", &"x".repeat(256), "tab\tinside", "é", "nul\0"] {
            assert!(idempotency_key(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn a_scoped_key_is_the_vhost_a_newline_and_the_key() {
        assert_eq!(scoped("localhost", "k-1"), b"localhost\nk-1");
        // Two vhosts' equal keys are different keys in a shared journal.
        assert_ne!(scoped("a", "k"), scoped("b", "k"));
    }

    #[test]
    fn a_key_line_gives_the_key_and_where_the_packet_starts() {
        let msg = b"k-0042\npayload";
        assert_eq!(split_key(msg, 100).unwrap(), (Some("k-0042"), 7));
        assert_eq!(&msg[7..], b"payload");
        // An empty first line: no key, the packet after the newline.
        assert_eq!(split_key(b"\nbody", 100).unwrap(), (None, 1));
        // The key is trimmed; the packet keeps its bytes, newlines too.
        assert_eq!(split_key(b"  k  \na\nb", 100).unwrap(), (Some("k"), 6));
        // An empty packet.
        assert_eq!(split_key(b"k\n", 100).unwrap(), (Some("k"), 2));
    }

    #[test]
    fn a_key_line_must_end_within_256_bytes() {
        let key = "x".repeat(255);
        let msg = format!("{key}\nbody");
        assert_eq!(split_key(msg.as_bytes(), 100).unwrap().1, 256);
        let long = format!("{}\nbody", "x".repeat(256));
        assert!(split_key(long.as_bytes(), 100).is_err());
        let err = split_key(b"no newline at all", 100).unwrap_err();
        assert!(err.contains("must end with \\n"), "{err}");
    }

    #[test]
    fn a_bad_key_or_a_packet_past_the_max_is_refused() {
        assert!(split_key(b"bad\x01key\nbody", 100).is_err());
        assert!(split_key(b"\xff\xfe\nbody", 100).is_err());
        assert_eq!(
            split_key(b"k\n12345", 4).unwrap_err(),
            "packet larger than max-packet-bytes (4)"
        );
        assert!(split_key(b"k\n1234", 4).is_ok());
    }
}
