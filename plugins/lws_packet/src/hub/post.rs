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
        if let Some(Conn::Post(p)) = self.conns.get_mut(&s.token) {
            if p.too_big || p.submitted || p.grant.is_err() {
                return Action::Continue;
            }
            if p.body.len() + data.len() > self.max_packet {
                // Keep reading (and dropping) the body so the answer can
                // be given and the connection kept.
                p.too_big = true;
                p.body = Vec::new();
            } else {
                p.body.extend_from_slice(data);
            }
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
