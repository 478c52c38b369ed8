//! Access control at the door of every endpoint (see [`crate::access`]):
//! who a request is, the answer to one that may not come in (before its
//! body is taken, or before a WebSocket's 101), the ingest rate limit, and
//! open connections whose credential the files no longer hold.

use std::sync::atomic::Ordering;
use std::time::Instant;

use comlink_plugin_api::abi::{self, WSI_TOKEN_HTTP_AUTHORIZATION};
use comlink_plugin_api::protocol::{cancel_service, log};
use comlink_plugin_api::Connection;
use packet_journal::envelope;

use crate::access::credential::presented;
use crate::access::vhosts::{first_warning, is_loopback, EPOCH, INGEST_PROTOCOL};
use crate::access::{certs, decide, Grant, Refusal, Side, SideRules};

use super::reply::Reply;
use super::{Conn, Hub};

/// Why a revoked connection ends.
pub(super) const REVOKED: &str = "credential no longer valid";

/// The answer to a request that may not come in.
pub(super) fn refusal_reply(conn: Connection, side: Side, why: Refusal, realm: &str) -> Reply {
    let mut r = Reply::json(conn, why.status(), envelope::error(&why.message(side)));
    r.extra.push(("www-authenticate", why.challenge(realm)));
    r
}

/// The answer to a packet over the rate limit.
pub(super) fn rate_reply(conn: Connection, retry_after: u64) -> Reply {
    let mut r = Reply::json(
        conn,
        429,
        envelope::error("too many packets from this source (ingest-rate)"),
    );
    r.extra.push(("retry-after", retry_after.to_string()));
    r
}

/// Marks `c` revoked when the rules of its side no longer hold its
/// credential; whether it was (now).
fn revoke(c: &mut Conn, ingest: &SideRules, subscribe: &SideRules) -> bool {
    match c {
        Conn::Sub(s) if !s.revoked && !s.grant.still_valid(subscribe) => s.revoked = true,
        Conn::WsIn(w) if !w.revoked && !w.grant.still_valid(ingest) => w.revoked = true,
        _ => return false,
    }
    true
}

impl Hub {
    /// Which side this protocol's WebSockets are.
    fn ws_side(&self) -> Side {
        if self.name == INGEST_PROTOCOL {
            Side::Ingest
        } else {
            Side::Subscribe
        }
    }

    /// Who the client of `conn` is, for `side` (`what` names the request
    /// in the refusal log). The `access_token` URL argument counts on the
    /// subscribe side only. A client with a label is named in the access
    /// log.
    pub(super) fn check(
        &mut self,
        side: Side,
        conn: Connection,
        what: &str,
    ) -> Result<Grant, Refusal> {
        self.refresh_access();
        let rules = self.access.rules(side);
        if rules.is_open() {
            return Ok(Grant::open());
        }
        let other = self.access.rules(side.other());
        let authorization = conn.header(WSI_TOKEN_HTTP_AUTHORIZATION);
        let query = match side {
            Side::Subscribe => conn.url_arg("access_token"),
            Side::Ingest => None,
        };
        let names = if rules.certs.is_some() || other.certs.is_some() {
            conn.peer_certificate().and_then(|der| certs::names(&der))
        } else {
            None
        };
        let token = presented(authorization.as_deref(), query.as_deref());
        match decide(&rules, &other, &token, names.as_deref()) {
            Ok(g) => {
                if let Some(label) = &g.label {
                    conn.set_log_user(label);
                }
                Ok(g)
            }
            Err(why) => {
                let peer = conn.peer().unwrap_or_else(|| "?".into());
                let what = format!("{} {what} from {peer}", side.name());
                if let Some(line) = self.access.shared.refused(side, why, &what) {
                    self.log_access(abi::LLL_NOTICE, &line);
                }
                Err(why)
            }
        }
    }

    fn log_access(&self, level: std::ffi::c_int, line: &str) {
        log(
            level,
            &format!("{}: vhost \"{}\": {line}", self.name, self.access.vhost()),
        );
    }

    /// A WebSocket upgrade (FILTER_PROTOCOL_CONNECTION): refused before the
    /// 101 with our own answer (401 with `WWW-Authenticate`, 403, 400).
    pub fn accept(&mut self, conn: Connection) -> bool {
        let side = self.ws_side();
        let Err(why) = self.check(side, conn, "WebSocket upgrade") else {
            return true;
        };
        let r = refusal_reply(conn, side, why, &self.scope);
        let mut headers = vec![
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ];
        headers.extend(r.extra.iter().map(|(k, v)| (*k, v.as_str())));
        if conn
            .write_http_head(r.status, &headers, Some(r.body.len() as u64))
            .is_ok()
            && !conn.send_pipe_choked()
        {
            let _ = conn.write_http(r.body.as_bytes(), true);
        }
        false
    }

    /// Takes a packet from `source`'s allowance: `Err` with the seconds to
    /// wait when it is over `ingest-rate` (counted and logged at a pace).
    pub(super) fn take_rate(&self, grant: &Grant, conn: Connection, what: &str) -> Result<(), u64> {
        let Some(rate) = self.access.rate() else {
            return Ok(());
        };
        // On an open side the peer's address is the source.
        let source = match &grant.label {
            Some(l) => l.to_string(),
            None => conn.peer().unwrap_or_else(|| "?".into()),
        };
        let taken = self
            .access
            .shared
            .buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(&source, rate, Instant::now());
        if taken.is_err() {
            let what = format!("{what} from {source}");
            if let Some(line) = self.access.shared.limited(&source, &what) {
                self.log_access(abi::LLL_NOTICE, &line);
            }
        }
        taken
    }

    /// Reads changed access files (once a second at most); wakes every
    /// protocol instance when the rules changed.
    pub(super) fn refresh_access(&mut self) {
        let before = EPOCH.load(Ordering::Acquire);
        for line in self.access.refresh() {
            self.log_access(abi::LLL_NOTICE, &line);
        }
        if EPOCH.load(Ordering::Acquire) != before {
            cancel_service();
        }
    }

    /// After the rules changed: connections whose credential they no
    /// longer hold end (WebSockets with 1008 once their answers are out,
    /// event streams with an error event, long polls with a 401).
    pub(super) fn recheck_grants(&mut self) {
        let epoch = EPOCH.load(Ordering::Acquire);
        if epoch == self.epoch {
            return;
        }
        self.epoch = epoch;
        let ingest = self.access.rules(Side::Ingest);
        let subscribe = self.access.rules(Side::Subscribe);
        let mut ended = Vec::new();
        for (t, c) in &mut self.conns {
            if revoke(c, &ingest, &subscribe) {
                ended.push(*t);
            }
        }
        if !ended.is_empty() {
            self.log_access(
                abi::LLL_NOTICE,
                &format!(
                    "ending {} connection(s) whose credential is no longer valid",
                    ended.len()
                ),
            );
        }
        self.wake_all(ended);
    }

    /// Once, after start: a side anyone may use, on a vhost others can
    /// reach, is worth a warning.
    pub(super) fn warn_if_open(&mut self) {
        if self.warned {
            return;
        }
        self.warned = true;
        if is_loopback(self.vhost.iface().as_deref()) {
            return;
        }
        let sides: &[Side] = if self.name == INGEST_PROTOCOL {
            &[Side::Ingest, Side::Subscribe]
        } else {
            &[Side::Subscribe]
        };
        for &side in sides {
            if self.access.rules(side).is_open() && first_warning(self.access.vhost(), side) {
                let (verb, key) = match side {
                    Side::Ingest => ("send", "ingest-tokens"),
                    Side::Subscribe => ("read", "subscribe-tokens"),
                };
                self.log_access(
                    abi::LLL_WARN,
                    &format!(
                        "anyone who can reach this vhost may {verb} packets: it has no {key} \
                         (or {}-cert-names) and does not listen on loopback only",
                        side.name()
                    ),
                );
            }
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
    fn a_refusal_says_why_and_how_to_authenticate() {
        let r = refusal_reply(nowhere(), Side::Ingest, Refusal::Invalid, "plant");
        assert_eq!(r.status, 401);
        assert_eq!(r.body, "{\"error\":\"unknown token\"}");
        assert_eq!(
            r.extra,
            [(
                "www-authenticate",
                "Bearer realm=\"plant\", error=\"invalid_token\"".to_string()
            )]
        );
        let r = refusal_reply(nowhere(), Side::Ingest, Refusal::WrongSide, "plant");
        assert_eq!(r.status, 403);
        let r = refusal_reply(nowhere(), Side::Subscribe, Refusal::Missing, "plant");
        assert_eq!(r.extra[0].1, "Bearer realm=\"plant\"");
    }

    #[test]
    fn connections_whose_credential_went_are_revoked_once() {
        use std::sync::Arc;

        use packet_journal::{Feed, Since};

        use crate::access::tokens::TokenSet;
        use crate::hub::subscribe::{Kind, Sub};
        use crate::hub::testing::Journal;

        let j = Journal::new(1 << 20);
        let rules = |text: &str| SideRules {
            tokens: Some(Arc::new(TokenSet::parse(text, "t").unwrap())),
            certs: None,
        };
        let before = rules(
            "reader reader-token-000001
other other-token-0000002
",
        );
        let decided = |t: &str| {
            let p = crate::access::credential::Presented::Token(t.into());
            decide(&before, &SideRules::default(), &p, None).unwrap()
        };
        let sub = |grant| {
            Conn::Sub(Sub::new(
                nowhere(),
                Feed::new(&j.svc, Since::New, None),
                Kind::Ws,
                grant,
            ))
        };
        let mut kept = sub(decided("other-token-0000002"));
        let mut gone = sub(decided("reader-token-000001"));
        let after = rules(
            "other other-token-0000002
",
        );
        let open = SideRules::default();
        assert!(!revoke(&mut kept, &open, &after));
        assert!(revoke(&mut gone, &open, &after));
        assert!(matches!(&gone, Conn::Sub(s) if s.revoked));
        // Once.
        assert!(!revoke(&mut gone, &open, &after));
        // A one-shot answer has no credential to lose.
        let mut reply = Conn::Reply(Reply::json(nowhere(), 200, "{}".into()));
        assert!(!revoke(&mut reply, &after, &after));
    }

    #[test]
    fn over_the_rate_is_a_429_with_retry_after() {
        let r = rate_reply(nowhere(), 3);
        assert_eq!(r.status, 429);
        assert_eq!(r.extra, [("retry-after", "3".to_string())]);
    }
}
