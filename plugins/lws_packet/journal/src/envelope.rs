//! What subscribers receive, as text: the JSON envelope of a packet, the gap
//! message, acknowledgements and errors, and the SSE framing.
//!
//! The envelope is
//! `{"id":N,"ts":"<RFC 3339 UTC>","content_type":"...","encoding":"utf8"|"base64","data":"..."}`:
//! the body as a JSON string when it is valid UTF-8, else base64 (standard
//! alphabet, padded). A packet from an identified sender also has
//! `"source":"<label>"` after its content type.

use base64::Engine;

use crate::record::Packet;

/// The envelope of `p`.
pub fn packet(p: &Packet) -> String {
    let mut out = String::with_capacity(96 + p.content_type.len() + p.data.len() * 4 / 3);
    out.push_str("{\"id\":");
    out.push_str(&p.id.to_string());
    out.push_str(",\"ts\":\"");
    out.push_str(&rfc3339(p.ts_ms));
    out.push_str("\",\"content_type\":");
    push_json_string(&mut out, &p.content_type);
    if let Some(source) = &p.source {
        out.push_str(",\"source\":");
        push_json_string(&mut out, source);
    }
    match std::str::from_utf8(&p.data) {
        Ok(text) => {
            out.push_str(",\"encoding\":\"utf8\",\"data\":");
            push_json_string(&mut out, text);
        }
        Err(_) => {
            out.push_str(",\"encoding\":\"base64\",\"data\":\"");
            base64::engine::general_purpose::STANDARD.encode_string(&p.data, &mut out);
            out.push('"');
        }
    }
    out.push('}');
    out
}

/// `{"gap":{"from":A,"to":B}}`: ids `from..=to` were dropped by retention
/// (or lost to corruption) and will never be delivered.
pub fn gap(from: u64, to: u64) -> String {
    format!("{{\"gap\":{{\"from\":{from},\"to\":{to}}}}}")
}

/// `{"id":N}`: the acknowledgement of a recorded packet.
pub fn ack(id: u64) -> String {
    format!("{{\"id\":{id}}}")
}

/// `{"error":"..."}`.
pub fn error(message: &str) -> String {
    let mut out = String::from("{\"error\":");
    push_json_string(&mut out, message);
    out.push('}');
    out
}

/// One Server-Sent Event: `id:` (when given) and the `data:` line.
pub fn sse(id: Option<u64>, data: &str, out: &mut String) {
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&id.to_string());
        out.push('\n');
    }
    // Our JSON never holds a raw newline, so one data line carries it.
    out.push_str("data: ");
    out.push_str(data);
    out.push_str("\n\n");
}

/// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ts_ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ts_ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Appends `s` as a JSON string literal.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // U+2028/2029 are valid JSON but break JavaScript eval and some
            // line-based readers; escaping them costs nothing.
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_goes_as_utf8_and_binary_as_base64() {
        let t = Packet::new(3, 0, "text/plain".into(), "héllo \"x\"\n\u{1}".into());
        assert_eq!(
            packet(&t),
            r#"{"id":3,"ts":"1970-01-01T00:00:00.000Z","content_type":"text/plain","encoding":"utf8","data":"héllo \"x\"\n\u0001"}"#
        );
        let b = Packet::new(
            4,
            1_700_000_000_123,
            "application/octet-stream".into(),
            vec![0xff, 0, 1],
        );
        assert_eq!(
            packet(&b),
            r#"{"id":4,"ts":"2023-11-14T22:13:20.123Z","content_type":"application/octet-stream","encoding":"base64","data":"/wAB"}"#
        );
        let e = Packet::new(5, 0, String::new(), Vec::new());
        assert!(packet(&e).ends_with(r#""encoding":"utf8","data":""}"#));
    }

    #[test]
    fn a_packet_from_a_known_sender_names_its_source() {
        let p = Packet::new(6, 0, "text/plain".into(), b"x".to_vec())
            .with_source(Some("ctrl-\"42\"".into()));
        assert_eq!(
            packet(&p),
            r#"{"id":6,"ts":"1970-01-01T00:00:00.000Z","content_type":"text/plain","source":"ctrl-\"42\"","encoding":"utf8","data":"x"}"#
        );
    }

    #[test]
    fn small_messages() {
        assert_eq!(gap(1, 9), r#"{"gap":{"from":1,"to":9}}"#);
        assert_eq!(ack(12), r#"{"id":12}"#);
        assert_eq!(error("a\"b"), r#"{"error":"a\"b"}"#);
        let mut s = String::new();
        sse(Some(2), "{}", &mut s);
        sse(None, "{\"gap\":1}", &mut s);
        assert_eq!(s, "id: 2\ndata: {}\n\ndata: {\"gap\":1}\n\n");
    }
}
