//! The vhost events: the service's wake-up (`EVENT_WAIT_CANCELLED`, after
//! the journal put results in the mailbox), our once-a-second tick and
//! long-poll deadlines, and what the journal's results do to connections.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use comlink_plugin_api::abi::{self, LWS_CALLBACK_USER};
use comlink_plugin_api::protocol::{log, server_stopping};
use comlink_plugin_api::Connection;
use packet_journal::{envelope, Event};

use super::figures::METRICS_REASON;
use super::keys::REPLAYED;
use super::reply::{refusal, refusal_text, Reply};
use super::sse::KEEPALIVE;
use super::subscribe::{Kind, Sub};
use super::{Conn, Hub};

/// Our timer reason (`Vhost::schedule`).
pub const TICK_REASON: c_int = LWS_CALLBACK_USER + 0x5a;
/// A long-poll's deadline (scheduled for each one that waits).
pub const DEADLINE_REASON: c_int = LWS_CALLBACK_USER + 0x5b;
/// How often the tick runs while there are subscribers.
const TICK: Duration = Duration::from_secs(1);

/// The answer to a POST the journal recorded (`replayed`: it had been
/// before, under the same key) or refused (`retry`: seconds).
fn post_answer(conn: Connection, result: Result<u64, String>, replayed: bool, retry: u64) -> Reply {
    match result {
        Ok(id) => {
            let mut r = Reply::json(conn, 200, envelope::ack(id));
            if replayed {
                r.extra.push((REPLAYED.0, REPLAYED.1.into()));
            }
            r
        }
        Err(e) => refusal(conn, &e, retry),
    }
}

/// The same for a WebSocket message: the text of its answer.
fn ws_answer(result: Result<u64, String>, replayed: bool, retry: u64) -> String {
    match result {
        Ok(id) if replayed => format!("{{\"id\":{id},\"replayed\":true}}"),
        Ok(id) => envelope::ack(id),
        Err(e) => refusal_text(&e, retry),
    }
}

impl Hub {
    pub(super) fn arm_tick(&mut self) {
        if !self.tick_armed {
            self.tick_armed = true;
            self.vhost.schedule(TICK_REASON, TICK);
        }
    }

    /// A vhost-level event: the service's wake-up, or our tick.
    pub fn event(&mut self, reason: c_int) {
        crate::health::check(self.vhost, self.svc(), reason);
        self.refresh_access();
        self.recheck_grants();
        self.warn_if_open();
        if !self.stopping && server_stopping() {
            self.stopping = true;
            self.end_streams();
        }
        if reason == METRICS_REASON {
            self.metrics_armed = false;
            self.metrics_at = None;
        }
        self.report_metrics();
        if reason == TICK_REASON {
            self.tick_armed = false;
            self.tick();
        }
        if reason == DEADLINE_REASON {
            let now = Instant::now();
            let due: Vec<u64> = self
                .conns
                .iter()
                .filter(|(_, c)| {
                    matches!(c, Conn::Sub(Sub { kind: Kind::Poll { deadline, .. }, .. }) if now >= *deadline)
                })
                .map(|(t, _)| *t)
                .collect();
            self.wake_all(due);
        }
        self.drain();
        self.run_pending();
    }

    /// Takes the journal's results and wakes the connections they concern,
    /// and the subscribers new packets concern.
    fn drain(&mut self) {
        for ev in self.client.take_events() {
            match ev {
                Event::Recorded {
                    token,
                    result,
                    replayed,
                } => self.recorded(token, result, replayed),
                Event::Fetched { token, result } => {
                    if let Some(Conn::Sub(s)) = self.conns.get_mut(&token) {
                        if let Err(e) = s.feed.fetched(result) {
                            log(abi::LLL_ERR, &format!("lws_packet: {e}"));
                            s.failed = Some(e);
                        }
                        self.wake(token);
                    }
                }
            }
        }
        let committed = self.svc().committed();
        if committed != self.last_committed {
            self.last_committed = committed;
            self.wake_ready(committed);
        }
    }

    fn recorded(&mut self, token: u64, result: Result<u64, String>, replayed: bool) {
        let retry = self.svc().retry_after();
        match self.conns.get_mut(&token) {
            Some(Conn::Post(p)) => {
                let reply = post_answer(p.conn, result, replayed, retry);
                self.conns.insert(token, Conn::Reply(reply));
                self.wake(token);
            }
            Some(Conn::WsIn(w)) => {
                w.answered(ws_answer(result, replayed, retry));
                // Reading resumes in its writeable callback (its thread).
                self.wake(token);
            }
            _ => {}
        }
    }

    /// Keepalives, long-poll deadlines and the lag figures, once a second
    /// while there are subscribers.
    fn tick(&mut self) {
        self.report_metrics();
        let now = Instant::now();
        let committed = self.svc().committed();
        let (mut subs, mut lag, mut behind) = (0u64, 0u64, 0u64);
        let mut due = Vec::new();
        for (t, c) in &mut self.conns {
            let Conn::Sub(s) = c else { continue };
            subs += 1;
            lag = lag.max(s.feed.lag(committed));
            behind += u64::from(s.feed.is_catching_up());
            match &mut s.kind {
                Kind::Sse {
                    idle_since,
                    keepalive,
                    ..
                } if now.duration_since(*idle_since) >= KEEPALIVE => {
                    *keepalive = true;
                    due.push(*t);
                }
                Kind::Poll { deadline, .. } if now >= *deadline => due.push(*t),
                _ => {}
            }
        }
        self.wake_all(due);
        self.client.report_lag(lag, behind);
        // WebSocket ingest too: the access files are looked at on the tick.
        if subs > 0 || self.conns.values().any(|c| matches!(c, Conn::WsIn(_))) {
            self.arm_tick();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> Connection {
        Connection::from_raw(std::ptr::null_mut())
    }

    #[test]
    fn a_recorded_post_is_answered_with_its_id() {
        let r = post_answer(nowhere(), Ok(42), false, 1);
        assert_eq!((r.status, r.body.as_str()), (200, "{\"id\":42}"));
        assert_eq!(r.extra, []);
        let r = post_answer(nowhere(), Ok(42), true, 1);
        assert_eq!(r.extra, [("idempotent-replayed", "true".to_string())]);
    }

    #[test]
    fn a_refused_post_is_a_503_with_retry_after() {
        let r = post_answer(nowhere(), Err("journal full".into()), false, 4);
        assert_eq!(
            (r.status, r.body.as_str()),
            (503, "{\"error\":\"journal full\"}")
        );
        assert_eq!(r.extra, [("retry-after", "4".to_string())]);
    }

    #[test]
    fn websocket_answers_say_id_replay_or_refusal() {
        assert_eq!(ws_answer(Ok(5), false, 1), "{\"id\":5}");
        assert_eq!(ws_answer(Ok(5), true, 1), "{\"id\":5,\"replayed\":true}");
        assert_eq!(
            ws_answer(Err("stopped".into()), false, 2),
            "{\"error\":\"stopped\",\"retry_after\":2}"
        );
    }

    #[test]
    fn our_event_reasons_are_user_reasons_of_their_own() {
        let reasons = [TICK_REASON, DEADLINE_REASON, METRICS_REASON];
        assert!(reasons.iter().all(|&r| r >= LWS_CALLBACK_USER));
        assert!(reasons[0] != reasons[1] && reasons[1] != reasons[2] && reasons[0] != reasons[2]);
    }
}
