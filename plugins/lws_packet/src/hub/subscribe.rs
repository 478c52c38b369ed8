//! Subscribers: what every kind (WebSocket, SSE, long-poll) shares, and
//! WebSocket delivery (`packet-subscribe`, `?since=N&filter=<prefix>`).

use std::time::Instant;

use comlink_plugin_api::abi;
use comlink_plugin_api::protocol::log;
use comlink_plugin_api::{Action, Connection};
use packet_journal::feed::FETCH_BYTES;
use packet_journal::metrics::Metrics;
use packet_journal::{envelope, Client, Feed, Since, Step};

use crate::access::{Grant, Side};

use super::gate::REVOKED;
use super::{Conn, Hub, Session, WRITES_PER_CALLBACK};

pub(super) enum Kind {
    Ws,
    Sse {
        head_sent: bool,
        idle_since: Instant,
        keepalive: bool,
    },
    Poll {
        limit: usize,
        deadline: Instant,
        body: Option<String>,
    },
}

/// A subscriber of any kind.
pub(super) struct Sub {
    pub(super) conn: Connection,
    pub(super) feed: Feed,
    pub(super) kind: Kind,
    pub(super) failed: Option<String>,
    /// The server is stopping: an event stream or long poll answers what
    /// it has and ends (clients resume elsewhere with `Last-Event-ID`).
    pub(super) ending: bool,
    /// Who reads.
    pub(super) grant: Grant,
    /// Its credential is no longer valid: it ends (WebSocket: 1008).
    pub(super) revoked: bool,
}

impl Sub {
    /// A new subscriber of `kind` on `conn`, reading `feed`.
    pub(super) fn new(conn: Connection, feed: Feed, kind: Kind, grant: Grant) -> Sub {
        Sub {
            conn,
            feed,
            kind,
            failed: None,
            ending: false,
            grant,
            revoked: false,
        }
    }
}

impl Hub {
    pub(super) fn add_sub(&mut self, token: u64, mut sub: Sub) -> Session {
        // Opened after the end was announced: it ends too.
        sub.ending |= self.stopping;
        Metrics::add(&self.metrics().subscribers, 1);
        sub.conn.request_writable();
        self.conns.insert(token, Conn::Sub(sub));
        self.arm_tick();
        Session { token }
    }

    /// A WebSocket subscriber (`packet-subscribe`).
    pub fn open_subscriber(&mut self, conn: Connection) -> Option<Session> {
        // As checked before the 101 (the files may have changed since).
        let grant = self.check(Side::Subscribe, conn, "WebSocket").ok()?;
        let since = match Since::parse(conn.url_arg("since").as_deref()) {
            Ok(s) => s,
            Err(e) => {
                log(abi::LLL_NOTICE, &format!("{}: refused: {e}", self.name));
                return None;
            }
        };
        let feed = Feed::new(self.svc(), since, conn.url_arg("filter"));
        let token = self.token();
        Some(self.add_sub(token, Sub::new(conn, feed, Kind::Ws, grant)))
    }
}

pub(super) fn ws_writeable(client: &Client, token: u64, sub: &mut Sub) -> Action {
    if sub.revoked {
        return sub.conn.close_reason(1008, REVOKED.as_bytes());
    }
    if let Some(why) = sub.failed.take() {
        return sub.conn.close_reason(1011, why.as_bytes());
    }
    if sub.ending {
        return sub.conn.close_reason(1012, b"service restart");
    }
    let svc = client.service();
    for _ in 0..WRITES_PER_CALLBACK {
        let text = match sub.feed.step(svc) {
            Step::Packet(p) => {
                let ok = sub.conn.write_text(p.envelope().as_bytes()).is_ok();
                Metrics::add(&svc.metrics().delivered, 1);
                ok
            }
            Step::Gap(a, b) => sub.conn.write_text(envelope::gap(a, b).as_bytes()).is_ok(),
            Step::Fetch(from) => {
                client.fetch(token, from, FETCH_BYTES);
                return Action::Continue;
            }
            Step::Wait => return Action::Continue,
        };
        if !text {
            return Action::Close;
        }
        if sub.conn.send_pipe_choked() {
            // WRITEABLE comes back once the socket has taken it all.
            sub.conn.request_writable();
            return Action::Continue;
        }
    }
    sub.conn.request_writable();
    Action::Continue
}
