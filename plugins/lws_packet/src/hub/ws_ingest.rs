//! WebSocket ingest (`protocol-lws-packet`): each message is a packet, each
//! answered in message order; with `?keyed=1` a message starts with its
//! idempotency key line. A client too far ahead of its answers is not read
//! until they catch up.

use std::collections::VecDeque;

use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;
use packet_journal::metrics::Metrics;

use crate::access::{Grant, Side};

use super::gate::REVOKED;
use super::keys::{scoped, split_key};
use super::reply::refusal_text;
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
    /// Who sends on it.
    pub(super) grant: Grant,
    /// Its credential is no longer valid: take no more messages, answer
    /// those taken, then close with 1008 (policy violation).
    pub(super) revoked: bool,
}

/// The connection URL's options: `?content-type=` (or `content_type`) for
/// every packet, and `?keyed=1`; `arg` gives a URL argument.
fn options(arg: impl Fn(&str) -> Option<String>) -> (Option<String>, bool) {
    let content_type = arg("content-type")
        .or_else(|| arg("content_type"))
        .filter(|v| !v.is_empty());
    let keyed = arg("keyed").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
    (content_type, keyed)
}

/// A message received whole.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    /// A packet to append; its answer's place is kept. `pause`: that many
    /// are waiting for their answers now that reading stops.
    Packet {
        content_type: String,
        body: Vec<u8>,
        key: Option<Vec<u8>>,
        pause: bool,
    },
    /// Refused (a bad key line), answered in its place; `ready`: that
    /// answer is the next to send.
    Refused { ready: bool },
}

impl WsIn {
    /// The message being received is complete (`max_packet`: the largest
    /// packet; keys are scoped by `scope`).
    fn complete(&mut self, max_packet: usize, scope: &str) -> Message {
        self.in_msg = false;
        let content_type = match (&self.content_type, self.binary) {
            (Some(ct), _) => ct.clone(),
            (None, true) => "application/octet-stream".to_string(),
            (None, false) => "text/plain; charset=utf-8".to_string(),
        };
        let mut body = std::mem::take(&mut self.msg);
        let mut key = None;
        if self.keyed {
            match split_key(&body, max_packet) {
                Ok((k, rest)) => {
                    key = k.map(|k| scoped(scope, k));
                    body = body[rest..].to_vec();
                }
                Err(why) => {
                    // Answered in its place among the others.
                    self.answers.push_back(Some(envelope::error(&why)));
                    return Message::Refused {
                        ready: self.answers.front().is_some_and(Option::is_some),
                    };
                }
            }
        }
        self.inflight += 1;
        self.answers.push_back(None);
        let pause = self.inflight >= INFLIGHT_MAX && !self.paused;
        if pause {
            self.paused = true;
        }
        Message::Packet {
            content_type,
            body,
            key,
            pause,
        }
    }

    /// The message just completed is answered at once with `text` in
    /// place of the journal (refused by the rate limit).
    fn refuse_last(&mut self, text: String) -> bool {
        if let Some(slot) = self.answers.back_mut() {
            *slot = Some(text);
            self.inflight = self.inflight.saturating_sub(1);
        }
        self.answers.front().is_some_and(Option::is_some)
    }

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
        if w.revoked {
            // On its own thread: no more messages.
            w.conn.set_receiving(false);
        }
        if w.paused && w.inflight <= INFLIGHT_MAX / 2 && !w.ending && !w.revoked {
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
        } else if w.revoked && w.inflight == 0 && w.answers.is_empty() {
            return w.conn.close_reason(1008, REVOKED.as_bytes());
        } else if w.ending && w.inflight == 0 && w.answers.is_empty() {
            return w.conn.close_reason(1012, b"service restart");
        }
        Action::Continue
    }
}

impl Hub {
    /// A WebSocket ingest connection (`protocol-lws-packet`).
    pub fn open_ingest(&mut self, conn: Connection) -> Option<Session> {
        // As checked before the 101 (the files may have changed since).
        let grant = self.check(Side::Ingest, conn, "WebSocket").ok()?;
        let token = self.token();
        let (content_type, keyed) = options(|n| conn.url_arg(n));
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
                grant,
                revoked: false,
            }),
        );
        if self.stopping {
            conn.set_receiving(false);
            conn.request_writable();
        }
        // The tick looks at the access files while the connection lasts.
        self.arm_tick();
        Some(Session { token })
    }

    /// A piece of a WebSocket message (ingest; subscribers' are ignored).
    pub fn receive(&mut self, s: &Session, data: &[u8]) -> Action {
        let max_packet = self.max_packet;
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
        let max = if w.keyed {
            max_packet + 256
        } else {
            max_packet
        };
        if w.msg.len() + data.len() > max {
            Metrics::add(&self.client.service().metrics().refused, 1);
            return conn.close_reason(1009, b"packet larger than max-packet-bytes");
        }
        w.msg.extend_from_slice(data);
        if conn.is_final_fragment() {
            match w.complete(max_packet, &scope) {
                Message::Packet {
                    content_type,
                    body,
                    key,
                    pause,
                } => {
                    if pause {
                        conn.set_receiving(false);
                    }
                    let grant = w.grant.clone();
                    if let Err(retry) = self.take_rate(&grant, conn, "WebSocket message") {
                        let text =
                            refusal_text("too many packets from this source (ingest-rate)", retry);
                        if let Some(Conn::WsIn(w)) = self.conns.get_mut(&s.token) {
                            if w.refuse_last(text) {
                                conn.request_writable();
                            }
                        }
                        return Action::Continue;
                    }
                    let source = grant.label.as_deref().map(str::to_string);
                    self.client
                        .append_from(s.token, content_type, body, key, source);
                }
                Message::Refused { ready } => {
                    Metrics::add(&self.client.service().metrics().refused, 1);
                    if ready {
                        conn.request_writable();
                    }
                }
            }
        }
        Action::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws_in(keyed: bool, content_type: Option<&str>) -> WsIn {
        WsIn {
            conn: Connection::from_raw(std::ptr::null_mut()),
            content_type: content_type.map(str::to_string),
            keyed,
            msg: Vec::new(),
            in_msg: false,
            binary: false,
            inflight: 0,
            paused: false,
            answers: VecDeque::new(),
            ending: false,
            grant: Grant::open(),
            revoked: false,
        }
    }

    /// Receives `msg` whole.
    fn message(w: &mut WsIn, msg: &[u8], binary: bool) -> Message {
        w.in_msg = true;
        w.binary = binary;
        w.msg = msg.to_vec();
        w.complete(1000, "vh")
    }

    fn args<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_url_names_the_content_type_and_the_key_lines() {
        assert_eq!(options(args(&[])), (None, false));
        assert_eq!(
            options(args(&[
                ("content-type", "application/cbor"),
                ("keyed", "1")
            ])),
            (Some("application/cbor".into()), true)
        );
        assert_eq!(
            options(args(&[("content_type", "x/y"), ("keyed", "yes")])),
            (Some("x/y".into()), true)
        );
        assert!(options(args(&[("keyed", "true")])).1);
        assert!(!options(args(&[("keyed", "0")])).1);
        assert_eq!(options(args(&[("content-type", "")])).0, None);
    }

    #[test]
    fn a_message_is_a_packet_of_the_connections_content_type() {
        let mut w = ws_in(false, None);
        let Message::Packet {
            content_type,
            body,
            key,
            ..
        } = message(&mut w, b"a\nb", false)
        else {
            panic!("refused")
        };
        assert_eq!(content_type, "text/plain; charset=utf-8");
        // Without ?keyed=1 a first line is part of the packet.
        assert_eq!((body.as_slice(), key), (&b"a\nb"[..], None));
        let Message::Packet { content_type, .. } = message(&mut w, b"\0\xff", true) else {
            panic!("refused")
        };
        assert_eq!(content_type, "application/octet-stream");
        let mut w = ws_in(false, Some("application/json"));
        let Message::Packet { content_type, .. } = message(&mut w, b"{}", true) else {
            panic!("refused")
        };
        assert_eq!(content_type, "application/json");
        assert!(!w.in_msg);
    }

    #[test]
    fn a_keyed_message_loses_its_key_line_and_its_key_is_scoped() {
        let mut w = ws_in(true, None);
        let Message::Packet { body, key, .. } = message(&mut w, b"k-1\npayload", false) else {
            panic!("refused")
        };
        assert_eq!(body, b"payload");
        assert_eq!(key.as_deref(), Some(&b"vh\nk-1"[..]));
        let Message::Packet { body, key, .. } = message(&mut w, b"\nno key", false) else {
            panic!("refused")
        };
        assert_eq!((body.as_slice(), key), (&b"no key"[..], None));
    }

    #[test]
    fn answers_go_out_in_message_order_whoever_answers_first() {
        let mut w = ws_in(true, None);
        assert!(matches!(
            message(&mut w, b"k1\none", false),
            Message::Packet { .. }
        ));
        // A bad key line is answered at once, but after the first message.
        assert_eq!(
            message(&mut w, b"bad\x01\ntwo", false),
            Message::Refused { ready: false }
        );
        assert!(matches!(
            message(&mut w, b"k3\nthree", false),
            Message::Packet { .. }
        ));
        assert_eq!(w.inflight, 2);
        assert_eq!(w.next_answer(), None, "the first has no answer yet");
        w.answered("{\"id\":1}".into());
        assert_eq!(w.next_answer().as_deref(), Some("{\"id\":1}"));
        let refusal = w.next_answer().unwrap();
        assert!(refusal.starts_with("{\"error\":"), "{refusal}");
        assert_eq!(w.next_answer(), None, "the third is still waiting");
        w.answered("{\"id\":2}".into());
        assert_eq!(w.next_answer().as_deref(), Some("{\"id\":2}"));
        assert_eq!(w.next_answer(), None);
        assert!(w.answers.is_empty());
        assert_eq!(w.inflight, 0);
    }

    #[test]
    fn a_refusal_with_nothing_before_it_is_ready_at_once() {
        let mut w = ws_in(true, None);
        assert_eq!(
            message(&mut w, b"no newline", false),
            Message::Refused { ready: true }
        );
        assert!(w.next_answer().unwrap().contains("must end with"));
    }

    #[test]
    fn a_packet_over_the_rate_is_answered_in_its_own_place() {
        let mut w = ws_in(false, None);
        assert!(matches!(
            message(&mut w, b"a", false),
            Message::Packet { .. }
        ));
        assert!(matches!(
            message(&mut w, b"b", false),
            Message::Packet { .. }
        ));
        // The second is refused at once; the first still waits.
        assert!(!w.refuse_last("{\"error\":\"rate\"}".into()));
        assert_eq!(w.inflight, 1);
        assert_eq!(w.next_answer(), None);
        w.answered("{\"id\":1}".into());
        assert_eq!(w.next_answer().as_deref(), Some("{\"id\":1}"));
        assert_eq!(w.next_answer().as_deref(), Some("{\"error\":\"rate\"}"));
        // Alone, it is ready at once.
        assert!(matches!(
            message(&mut w, b"c", false),
            Message::Packet { .. }
        ));
        assert!(w.refuse_last("{\"error\":\"rate\"}".into()));
    }

    #[test]
    fn an_answer_nobody_waits_for_is_dropped() {
        let mut w = ws_in(false, None);
        w.answered("{\"id\":9}".into());
        assert_eq!((w.inflight, w.next_answer()), (0, None));
    }

    #[test]
    fn reading_pauses_once_when_inflight_reaches_the_limit() {
        let mut w = ws_in(false, None);
        let mut pauses = 0;
        for _ in 0..INFLIGHT_MAX + 10 {
            if let Message::Packet { pause: true, .. } = message(&mut w, b"x", false) {
                pauses += 1;
                assert_eq!(w.inflight, INFLIGHT_MAX);
            }
        }
        assert_eq!(pauses, 1);
        assert!(w.paused);
    }
}
