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
