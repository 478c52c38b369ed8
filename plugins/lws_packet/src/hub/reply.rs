//! One-shot JSON answers: an acknowledgement, an error, the stats, a
//! refusal with `Retry-After`; and the WebSocket form of a refusal.

use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;

use super::{Conn, Hub};

/// A one-shot JSON answer (an acknowledgement, an error, stats).
pub(super) struct Reply {
    pub(super) conn: Connection,
    pub(super) status: u16,
    /// `application/json`, but for the console page.
    pub(super) content_type: &'static str,
    pub(super) body: String,
    pub(super) extra: Vec<(&'static str, String)>,
    head_sent: bool,
}

impl Reply {
    pub(super) fn json(conn: Connection, status: u16, body: String) -> Reply {
        Reply {
            conn,
            status,
            content_type: "application/json",
            body,
            extra: Vec::new(),
            head_sent: false,
        }
    }

    /// The head's headers: its type (JSON), never cached, then the extra ones.
    fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![
            ("content-type", self.content_type),
            ("cache-control", "no-store"),
        ];
        headers.extend(self.extra.iter().map(|(k, v)| (*k, v.as_str())));
        headers
    }

    pub(super) fn write(&mut self) -> Action {
        if !self.head_sent {
            let headers = self.headers();
            if self
                .conn
                .write_http_head(self.status, &headers, Some(self.body.len() as u64))
                .is_err()
            {
                return Action::Close;
            }
            self.head_sent = true;
            if self.conn.send_pipe_choked() {
                self.conn.request_writable();
                return Action::Continue;
            }
        }
        if self.conn.write_http(self.body.as_bytes(), true).is_err() {
            return Action::Close;
        }
        self.conn.transaction_completed()
    }
}

impl Hub {
    pub(super) fn reply(&mut self, token: u64, r: Reply) {
        r.conn.request_writable();
        self.conns.insert(token, Conn::Reply(r));
    }
}

/// A 503 answer: the journal's reason and when to retry.
pub(super) fn refusal(conn: Connection, why: &str, retry_after: u64) -> Reply {
    let mut r = Reply::json(conn, 503, envelope::error(why));
    r.extra.push(("retry-after", retry_after.to_string()));
    r
}

/// A WebSocket refusal: `{"error":"...","retry_after":N}`.
pub(super) fn refusal_text(why: &str, retry_after: u64) -> String {
    let mut out = String::from("{\"error\":");
    envelope::push_json_string(&mut out, why);
    out.push_str(&format!(",\"retry_after\":{retry_after}}}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> Connection {
        Connection::from_raw(std::ptr::null_mut())
    }

    #[test]
    fn a_json_reply_is_never_cached() {
        let r = Reply::json(nowhere(), 200, envelope::ack(7));
        assert_eq!((r.status, r.body.as_str()), (200, "{\"id\":7}"));
        assert_eq!(
            r.headers(),
            [
                ("content-type", "application/json"),
                ("cache-control", "no-store")
            ]
        );
        assert!(!r.head_sent);
    }

    #[test]
    fn a_refusal_is_a_503_with_retry_after_and_the_reason() {
        let r = refusal(nowhere(), "journal full: \"disk\"", 3);
        assert_eq!(r.status, 503);
        assert_eq!(r.body, "{\"error\":\"journal full: \\\"disk\\\"\"}");
        assert_eq!(r.headers()[2], ("retry-after", "3"));
    }

    #[test]
    fn a_websocket_refusal_carries_retry_after_in_its_json() {
        assert_eq!(
            refusal_text("stopped\nreopening", 10),
            "{\"error\":\"stopped\\nreopening\",\"retry_after\":10}"
        );
    }
}
