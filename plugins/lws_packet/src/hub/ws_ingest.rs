//! WebSocket ingest (`protocol-lws-packet`): each message is a packet, each
//! answered in message order; with `?keyed=1` a message starts with its
//! idempotency key line. A client too far ahead of its answers is not read
//! until they catch up.

use std::collections::VecDeque;

use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;
use packet_journal::metrics::Metrics;

use super::keys::{scoped, split_key};
use super::{Conn, Hub, Session, WRITES_PER_CALLBACK};

/// WebSocket ingest: messages waiting for their acknowledgement before the
/// connection stops being read.
const INFLIGHT_MAX: usize = 1024;

/// A WebSocket ingest connection.
pub(super) struct WsIn {
    pub(super) conn: Connection,
    content_type: Option<String>,
    /// `?keyed=1`: each message starts with its idempotency key and `\n`.
    keyed: bool,
    msg: Vec<u8>,
    in_msg: bool,
    binary: bool,
    /// Messages waiting for the journal's answer.
    inflight: usize,
    paused: bool,
    /// Answers in message order: `None` while the journal has not
    /// answered, so an answer given at once (a bad key) keeps its place.
    answers: VecDeque<Option<String>>,
    /// This code is being replaced (a reload swapped the plugin file): take
    /// no more messages, answer those taken, then close with 1012.
    pub(super) ending: bool,
}

impl WsIn {
    /// The journal answered the oldest message waiting for it.
    pub(super) fn answered(&mut self, text: String) {
        self.inflight = self.inflight.saturating_sub(1);
        if let Some(slot) = self.answers.iter_mut().find(|a| a.is_none()) {
            *slot = Some(text);
        }
    }

    /// The next answer that can be sent.
    fn next_answer(&mut self) -> Option<String> {
        match self.answers.front() {
            Some(Some(_)) => self.answers.pop_front().flatten(),
            _ => None,
        }
    }

    /// The connection can take a write: the answers that are ready, in
    /// order; reading resumes once few enough are waiting.
    pub(super) fn writeable(&mut self) -> Action {
        let w = self;
        if w.paused && w.inflight <= INFLIGHT_MAX / 2 && !w.ending {
            w.paused = false;
            w.conn.set_receiving(true);
        }
        for _ in 0..WRITES_PER_CALLBACK {
            let Some(ack) = w.next_answer() else {
                break;
            };
            if w.conn.write_text(ack.as_bytes()).is_err() {
                return Action::Close;
            }
            if w.conn.send_pipe_choked() {
                break;
            }
        }
        if w.answers.front().is_some_and(Option::is_some) {
            w.conn.request_writable();
        } else if w.ending && w.inflight == 0 && w.answers.is_empty() {
            return w.conn.close_reason(1012, b"service restart");
        }
        Action::Continue
    }
}

impl Hub {
    /// A WebSocket ingest connection (`protocol-lws-packet`).
    pub fn open_ingest(&mut self, conn: Connection) -> Option<Session> {
        let token = self.token();
        let content_type = conn
            .url_arg("content-type")
            .or_else(|| conn.url_arg("content_type"))
            .filter(|v| !v.is_empty());
        let keyed = conn
            .url_arg("keyed")
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        self.conns.insert(
            token,
            Conn::WsIn(WsIn {
                conn,
                content_type,
                keyed,
                msg: Vec::new(),
                in_msg: false,
                binary: false,
                inflight: 0,
                paused: false,
                answers: VecDeque::new(),
                ending: self.stopping,
            }),
        );
        if self.stopping {
            conn.set_receiving(false);
            conn.request_writable();
        }
        Some(Session { token })
    }

    /// A piece of a WebSocket message (ingest; subscribers' are ignored).
    pub fn receive(&mut self, s: &Session, data: &[u8]) -> Action {
        let max = self.max_packet;
        let scope = self.scope.clone();
        let Some(Conn::WsIn(w)) = self.conns.get_mut(&s.token) else {
            return Action::Continue;
        };
        let conn = w.conn;
        if !w.in_msg {
            w.in_msg = true;
            w.binary = conn.is_binary();
            w.msg.clear();
        }
        // A keyed message may be longer by its key line.
        let max = if w.keyed { max + 256 } else { max };
        if w.msg.len() + data.len() > max {
            Metrics::add(&self.client.service().metrics().refused, 1);
            return conn.close_reason(1009, b"packet larger than max-packet-bytes");
        }
        w.msg.extend_from_slice(data);
        if conn.is_final_fragment() {
            w.in_msg = false;
            let ct = match (&w.content_type, w.binary) {
                (Some(ct), _) => ct.clone(),
                (None, true) => "application/octet-stream".to_string(),
                (None, false) => "text/plain; charset=utf-8".to_string(),
            };
            let mut body = std::mem::take(&mut w.msg);
            let mut key = None;
            if w.keyed {
                match split_key(&body, max - 256) {
                    Ok((k, rest)) => {
                        key = k.map(|k| scoped(&scope, k));
                        body = body[rest..].to_vec();
                    }
                    Err(why) => {
                        // Answered in its place among the others.
                        Metrics::add(&self.client.service().metrics().refused, 1);
                        w.answers.push_back(Some(envelope::error(&why)));
                        if w.answers.front().is_some_and(Option::is_some) {
                            conn.request_writable();
                        }
                        return Action::Continue;
                    }
                }
            }
            w.inflight += 1;
            w.answers.push_back(None);
            if w.inflight >= INFLIGHT_MAX && !w.paused {
                w.paused = true;
                conn.set_receiving(false);
            }
            self.client.append_keyed(s.token, ct, body, key);
        }
        Action::Continue
    }
}
