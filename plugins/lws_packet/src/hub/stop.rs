//! Stopping and hand-over: when the server stops, or this plugin's file was
//! replaced and its new version waits for the journal, every stream ends
//! (see `plugin-api/docs/reload.md`).

use std::time::Instant;

use super::subscribe::Kind;
use super::{Conn, Hub};

impl Hub {
    /// The server is stopping, or this plugin's file was replaced and its
    /// new version waits for the journal: event streams and long polls
    /// answer now and end; WebSockets answer what they took and close with
    /// 1012 (service restart), and their clients resume on the new version.
    pub(super) fn end_streams(&mut self) {
        let now = Instant::now();
        let mut ending = Vec::new();
        for (t, c) in &mut self.conns {
            if !end(c, now) {
                continue;
            }
            if let Conn::WsIn(w) = c {
                w.conn.set_receiving(false);
            }
            ending.push(*t);
        }
        self.wake_all(ending);
    }
}

/// Marks `c` as ending (a long poll's deadline is `now`): whether it is a
/// connection that has to end (a one-shot answer or a POST does not).
fn end(c: &mut Conn, now: Instant) -> bool {
    match c {
        Conn::Sub(s) => match &mut s.kind {
            Kind::Sse { .. } | Kind::Ws => s.ending = true,
            Kind::Poll { deadline, .. } => *deadline = now,
        },
        Conn::WsIn(w) => w.ending = true,
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use packet_journal::{Feed, Since};

    use super::*;
    use crate::access::Grant;
    use crate::hub::reply::Reply;
    use crate::hub::subscribe::Sub;
    use crate::hub::testing::Journal;
    use comlink_plugin_api::Connection;

    fn sub(j: &Journal, kind: Kind) -> Conn {
        Conn::Sub(Sub::new(
            Connection::from_raw(std::ptr::null_mut()),
            Feed::new(&j.svc, Since::New, None),
            kind,
            Grant::open(),
        ))
    }

    #[test]
    fn streams_end_long_polls_answer_now_and_one_shot_answers_are_left_alone() {
        let j = Journal::new(1 << 20);
        let now = Instant::now();
        let mut ws = sub(&j, Kind::Ws);
        let mut sse = sub(
            &j,
            Kind::Sse {
                head_sent: true,
                idle_since: now,
                keepalive: false,
            },
        );
        let mut poll = sub(
            &j,
            Kind::Poll {
                limit: 10,
                deadline: now + Duration::from_secs(300),
                body: None,
            },
        );
        for c in [&mut ws, &mut sse, &mut poll] {
            assert!(end(c, now));
        }
        let (Conn::Sub(ws), Conn::Sub(sse), Conn::Sub(poll)) = (ws, sse, poll) else {
            unreachable!()
        };
        assert!(ws.ending && sse.ending);
        assert!(matches!(poll.kind, Kind::Poll { deadline, .. } if deadline == now));
        let mut reply = Conn::Reply(Reply::json(
            Connection::from_raw(std::ptr::null_mut()),
            200,
            "{}".into(),
        ));
        assert!(!end(&mut reply, now));
    }
}
