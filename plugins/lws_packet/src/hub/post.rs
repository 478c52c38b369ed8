//! HTTP ingest: a `POST` to the mount is one packet, answered `{"id":N}`
//! once the journal has recorded it (the answer is made in
//! [`super::events`]).

use comlink_plugin_api::abi::WSI_TOKEN_HTTP_CONTENT_TYPE;
use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;
use packet_journal::metrics::Metrics;

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
        let post = Post {
            conn,
            content_type,
            body: Vec::new(),
            too_big: false,
            submitted: false,
            key,
        };
        self.conns.insert(token, Conn::Post(post));
    }

    /// A piece of a request body.
    pub fn http_body(&mut self, s: &Session, data: &[u8]) -> Action {
        if let Some(Conn::Post(p)) = self.conns.get_mut(&s.token) {
            if p.too_big || p.submitted {
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
                let body = std::mem::take(&mut p.body);
                let ct = p.content_type.clone();
                let key = p.key.clone().ok().flatten().map(|k| self.scoped(&k));
                self.client.append_keyed(token, ct, body, key);
            }
        }
        Action::Continue
    }
}
