//! Requests on the mount: `POST` (ingest, [`super::post`]), `GET /events`
//! ([`super::sse`]), `GET /packets` ([`super::poll`]), `GET /stats`, and
//! `405` for anything else on the mount itself.

use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;

use super::poll::poll_writeable;
use super::reply::Reply;
use super::sse::sse_writeable;
use super::subscribe::Kind;
use super::{Conn, Hub, Session};

impl Hub {
    /// A request on the mount: `path` is what follows the mountpoint.
    pub fn open_http(&mut self, conn: Connection, path: &str) -> Option<Session> {
        let method = conn.method().unwrap_or("");
        let path = path.trim_end_matches('/');
        let token = self.token();
        match (method, path) {
            ("POST", "") => self.open_post(token, conn),
            ("GET", "/events") => self.open_events(token, conn),
            ("GET", "/packets") => self.open_packets(token, conn),
            ("GET", "/stats") => {
                let s = self.svc().snapshot();
                self.reply(token, Reply::json(conn, 200, s.to_json()));
            }
            (_, "") => {
                let mut r = Reply::json(conn, 405, envelope::error("POST a packet here"));
                r.extra.push(("allow", "POST".into()));
                self.reply(token, r);
            }
            _ => {
                self.owners.remove(&token);
                return None;
            }
        }
        Some(Session { token })
    }

    /// An HTTP connection can take a write.
    pub fn http_writeable(&mut self, s: &Session) -> Action {
        let Hub { client, conns, .. } = self;
        match conns.get_mut(&s.token) {
            Some(Conn::Reply(r)) => r.write(),
            Some(Conn::Sub(sub)) => match sub.kind {
                Kind::Sse { .. } => sse_writeable(client, s.token, sub),
                Kind::Poll { .. } => poll_writeable(client, s.token, sub),
                Kind::Ws => Action::Continue,
            },
            _ => Action::Continue,
        }
    }
}
