//! The vhost events: the service's wake-up (`EVENT_WAIT_CANCELLED`, after
//! the journal put results in the mailbox), our once-a-second tick and
//! long-poll deadlines, and what the journal's results do to connections.

use std::ffi::c_int;
use std::time::{Duration, Instant};

use comlink_plugin_api::abi::{self, LWS_CALLBACK_USER};
use comlink_plugin_api::protocol::{log, server_stopping};
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

impl Hub {
    pub(super) fn arm_tick(&mut self) {
        if !self.tick_armed {
            self.tick_armed = true;
            self.vhost.schedule(TICK_REASON, TICK);
        }
    }

    /// A vhost-level event: the service's wake-up, or our tick.
    pub fn event(&mut self, reason: c_int) {
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
            let ready: Vec<u64> = self
                .conns
                .iter()
                .filter(|(_, c)| matches!(c, Conn::Sub(s) if s.feed.has_work(committed)))
                .map(|(t, _)| *t)
                .collect();
            self.wake_all(ready);
        }
    }

    fn recorded(&mut self, token: u64, result: Result<u64, String>, replayed: bool) {
        let retry = self.svc().retry_after();
        match self.conns.get_mut(&token) {
            Some(Conn::Post(p)) => {
                let conn = p.conn;
                let reply = match result {
                    Ok(id) => {
                        let mut r = Reply::json(conn, 200, envelope::ack(id));
                        if replayed {
                            r.extra.push((REPLAYED.0, REPLAYED.1.into()));
                        }
                        r
                    }
                    Err(e) => refusal(conn, &e, retry),
                };
                self.conns.insert(token, Conn::Reply(reply));
                self.wake(token);
            }
            Some(Conn::WsIn(w)) => {
                w.answered(match result {
                    Ok(id) if replayed => format!("{{\"id\":{id},\"replayed\":true}}"),
                    Ok(id) => envelope::ack(id),
                    Err(e) => refusal_text(&e, retry),
                });
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
        if subs > 0 {
            self.arm_tick();
        }
    }
}
