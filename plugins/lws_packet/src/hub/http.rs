//! Requests on the mount: `POST` (ingest, [`super::post`]), `GET /events`
//! ([`super::sse`]), `GET /packets` ([`super::poll`]), `GET /stats`, and
//! `405` for anything else on the mount itself.

use comlink_plugin_api::{Action, Connection};
use packet_journal::envelope;

use crate::access::Side;

use super::gate::refusal_reply;
use super::poll::poll_writeable;
use super::reply::Reply;
use super::sse::sse_writeable;
use super::subscribe::Kind;
use super::{Conn, Hub, Session};

/// What a request on the mount asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `POST <mount>`: a packet.
    Post,
    /// `GET <mount>/events`: Server-Sent Events.
    Events,
    /// `GET <mount>/packets`: the JSON long-poll.
    Packets,
    /// `GET <mount>/stats`: the counters.
    Stats,
    /// `GET <mount>/console`: the packet console page.
    Console,
    /// Another method on the mount itself: 405.
    NotAllowed,
    /// Anything else: 404 (the host answers it).
    NotFound,
}

/// The route of `method` on `path` (what follows the mountpoint; a
/// trailing `/` is the same path).
fn route(method: &str, path: &str) -> Route {
    match (method, path.trim_end_matches('/')) {
        ("POST", "") => Route::Post,
        ("GET", "/events") => Route::Events,
        ("GET", "/packets") => Route::Packets,
        ("GET", "/stats") => Route::Stats,
        ("GET", "/console") => Route::Console,
        (_, "") => Route::NotAllowed,
        _ => Route::NotFound,
    }
}

/// The answer to another method than `POST` on the mount.
fn not_allowed(conn: Connection) -> Reply {
    let mut r = Reply::json(conn, 405, envelope::error("POST a packet here"));
    r.extra.push(("allow", "POST".into()));
    r
}

impl Hub {
    /// A request on the mount: `path` is what follows the mountpoint.
    pub fn open_http(&mut self, conn: Connection, path: &str) -> Option<Session> {
        let route = route(conn.method().unwrap_or(""), path);
        let token = self.token();
        match route {
            Route::Post => self.open_post(token, conn),
            Route::Events => self.open_events(token, conn),
            Route::Packets => self.open_packets(token, conn),
            Route::Stats => match self.check(Side::Subscribe, conn, "GET /stats") {
                Ok(_) => {
                    let s = self.svc().snapshot();
                    self.reply(token, Reply::json(conn, 200, s.to_json()));
                }
                Err(why) => {
                    let r = refusal_reply(conn, Side::Subscribe, why, &self.scope);
                    self.reply(token, r);
                }
            },
            Route::Console => {
                // The page holds no packets: what it shows comes from
                // `events`, which checks the subscribe side.
                let mut r = Reply::json(conn, 200, crate::console::PAGE.to_string());
                r.content_type = crate::console::CONTENT_TYPE;
                self.reply(token, r);
            }
            Route::NotAllowed => self.reply(token, not_allowed(conn)),
            Route::NotFound => {
                self.owners.remove(&token);
                return None;
            }
        }
        Some(Session { token })
    }

    /// An HTTP connection can take a write.
    pub fn http_writeable(&mut self, s: &Session) -> Action {
        let Hub {
            client,
            conns,
            scope,
            ..
        } = self;
        match conns.get_mut(&s.token) {
            Some(Conn::Reply(r)) => r.write(),
            Some(Conn::Sub(sub)) => match sub.kind {
                Kind::Sse { .. } => sse_writeable(client, s.token, sub),
                Kind::Poll { .. } => poll_writeable(client, s.token, sub, scope),
                Kind::Ws => Action::Continue,
            },
            _ => Action::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_routed_by_method_and_path() {
        assert_eq!(route("POST", ""), Route::Post);
        assert_eq!(route("POST", "/"), Route::Post);
        assert_eq!(route("GET", "/events"), Route::Events);
        assert_eq!(route("GET", "/events/"), Route::Events);
        assert_eq!(route("GET", "/packets"), Route::Packets);
        assert_eq!(route("GET", "/stats"), Route::Stats);
        assert_eq!(route("GET", "/console"), Route::Console);
        for m in ["GET", "PUT", "DELETE", "HEAD", ""] {
            assert_eq!(route(m, ""), Route::NotAllowed, "{m}");
        }
        assert_eq!(route("POST", "/events"), Route::NotFound);
        assert_eq!(route("GET", "/other"), Route::NotFound);
        assert_eq!(route("GET", "/events/x"), Route::NotFound);
    }

    #[test]
    fn another_method_on_the_mount_is_told_to_post() {
        let r = not_allowed(Connection::from_raw(std::ptr::null_mut()));
        assert_eq!(r.status, 405);
        assert_eq!(r.extra, [("allow", "POST".to_string())]);
        assert_eq!(r.body, "{\"error\":\"POST a packet here\"}");
    }
}
