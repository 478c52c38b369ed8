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
            match c {
                Conn::Sub(s) => match &mut s.kind {
                    Kind::Sse { .. } | Kind::Ws => s.ending = true,
                    Kind::Poll { deadline, .. } => *deadline = now,
                },
                Conn::WsIn(w) => {
                    w.ending = true;
                    w.conn.set_receiving(false);
                }
                _ => continue,
            }
            ending.push(*t);
        }
        self.wake_all(ending);
    }
}
