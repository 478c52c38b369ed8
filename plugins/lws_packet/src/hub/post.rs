//! HTTP ingest: a `POST` to the mount is one packet, answered `{"id":N}`
//! once the journal has recorded it (the answer is made in
//! [`super::events`]). A POST that may not come in, or is over the rate
//! limit, is read to its end (so the connection stays usable) and then
//! refused.

use comlink_plugin_api::abi::WSI_TOKEN_HTTP_CONTENT_TYPE;
use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;
use packet_journal::metrics::Metrics;

use crate::access::{Grant, Side};

use super::gate::{rate_reply, refusal_reply};
use super::keys::{idempotency_key, IDEMPOTENCY_KEY};
use super::reply::Reply;
use super::{Conn, Hub, Session};

/// A POST being received.
pub(super) struct Post {
    pub(super) conn: Connection,
    content_type: String,
    body: Vec<u8>,
    too_big: bool,
    submitted: bool,
    /// Its `Idempotency-Key`, if it has one (or why it cannot be used).
    key: Result<Option<String>, String>,
    /// Who sent it, or the answer when it may not come in.
    grant: Result<Grant, Reply>,
}

impl Post {
    /// A piece of the body: kept while the packet fits in `max` bytes. A
    /// larger body, or one that will be refused, is read to its end and
    /// dropped, so the answer can be given and the connection kept.
    fn piece(&mut self, data: &[u8], max: usize) {
        if self.too_big || self.submitted || self.grant.is_err() {
            return;
        }
        if self.body.len() + data.len() > max {
            self.too_big = true;
            self.body = Vec::new();
        } else {
            self.body.extend_from_slice(data);
        }
    }
}

impl Hub {
    /// `POST <mount>`: a packet arriving.
    pub(super) fn open_post(&mut self, token: u64, conn: Connection) {
        let content_type = conn
            .header(WSI_TOKEN_HTTP_CONTENT_TYPE)
            .unwrap_or_else(|| "application/octet-stream".into());
        // The host completes every POST body, as lws does: an
        // empty one with HTTP_BODY(NULL, 0), one without a length
        // when the client closes its sending side.
        let key = conn
            .custom_header(IDEMPOTENCY_KEY)
            .map(|v| idempotency_key(&v))
            .transpose();
        let grant = self
            .check(Side::Ingest, conn, "POST")
            .map_err(|why| refusal_reply(conn, Side::Ingest, why, &self.scope));
        let post = Post {
            conn,
            content_type,
            body: Vec::new(),
            too_big: false,
            submitted: false,
            key,
            grant,
        };
        self.conns.insert(token, Conn::Post(post));
    }

    /// A piece of a request body.
    pub fn http_body(&mut self, s: &Session, data: &[u8]) -> Action {
        let max = self.max_packet;
        if let Some(Conn::Post(p)) = self.conns.get_mut(&s.token) {
            p.piece(data, max);
        }
        Action::Continue
    }

    /// The request body is complete.
    pub fn http_body_complete(&mut self, s: &Session) -> Action {
        let token = s.token;
        if let Some(Conn::Post(p)) = self.conns.get_mut(&token) {
            if p.submitted {
                return Action::Continue;
            }
            p.submitted = true;
            let grant = match std::mem::replace(&mut p.grant, Ok(Grant::open())) {
                Ok(g) => g,
                Err(refusal) => {
                    self.reply(token, refusal);
                    return Action::Continue;
                }
            };
            if p.too_big {
                let conn = p.conn;
                Metrics::add(&self.metrics().refused, 1);
                let msg = format!("packet larger than max-packet-bytes ({})", self.max_packet);
                self.reply(token, Reply::json(conn, 413, envelope::error(&msg)));
            } else if let Err(why) = &p.key {
                let conn = p.conn;
                let r = Reply::json(conn, 400, envelope::error(why));
                Metrics::add(&self.metrics().refused, 1);
                self.reply(token, r);
            } else {
                let conn = p.conn;
                let body = std::mem::take(&mut p.body);
                let ct = p.content_type.clone();
                let key = p.key.clone().ok().flatten().map(|k| self.scoped(&k));
                if let Err(retry) = self.take_rate(&grant, conn, "POST") {
                    self.reply(token, rate_reply(conn, retry));
                    return Action::Continue;
                }
                let source = grant.label.as_deref().map(str::to_string);
                self.client.append_from(token, ct, body, key, source);
            }
        }
        Action::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(grant: Result<Grant, Reply>) -> Post {
        Post {
            conn: Connection::from_raw(std::ptr::null_mut()),
            content_type: "text/plain".into(),
            body: Vec::new(),
            too_big: false,
            submitted: false,
            key: Ok(None),
            grant,
        }
    }

    #[test]
    fn a_body_is_kept_while_it_fits_and_dropped_once_it_does_not() {
        let mut p = post(Ok(Grant::open()));
        p.piece(b"12345", 8);
        p.piece(b"678", 8);
        assert_eq!((p.body.as_slice(), p.too_big), (&b"12345678"[..], false));
        p.piece(b"9", 8);
        assert!(p.too_big && p.body.is_empty());
        // The rest is read and dropped.
        p.piece(b"more", 8);
        assert!(p.body.is_empty());
    }

    #[test]
    fn a_refused_post_keeps_nothing_of_its_body() {
        let refusal = Reply::json(Connection::from_raw(std::ptr::null_mut()), 401, "{}".into());
        let mut p = post(Err(refusal));
        p.piece(b"secret readings", 1000);
        assert!(p.body.is_empty() && !p.too_big);
    }
}
