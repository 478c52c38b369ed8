//! The JSON long-poll: `GET <mount>/packets?since=N&limit=M&wait=S`, a
//! page of envelopes, waiting up to `wait` seconds when there are none.

use std::time::{Duration, Instant};

use comlink_plugin_api::{Action, Connection};
use packet_journal::feed::FETCH_BYTES;
use packet_journal::metrics::Metrics;
use packet_journal::{envelope, Client, Feed, Since, Step};

use super::events::DEADLINE_REASON;
use crate::access::{Refusal, Side};

use super::gate::refusal_reply;
use super::reply::Reply;
use super::subscribe::{Kind, Sub};
use super::Hub;

/// Default, and largest, `limit` of `GET <mount>/packets`.
const POLL_LIMIT: (usize, usize) = (100, 10_000);
/// Most bytes of envelopes in one `GET <mount>/packets` answer.
const POLL_BYTES: usize = 4 << 20;
/// Largest `wait` of `GET <mount>/packets`, seconds.
const POLL_MAX_WAIT: u64 = 300;

/// The query of `GET <mount>/packets`.
#[derive(Debug, PartialEq, Eq)]
struct Query {
    /// `since` (default `0`: the oldest retained).
    since: Since,
    /// `limit`, between 1 and the largest.
    limit: usize,
    /// `wait`, seconds, at most [`POLL_MAX_WAIT`].
    wait: u64,
}

impl Query {
    /// From the URL arguments (`arg` gives one; empty is absent).
    fn parse(arg: impl Fn(&str) -> Option<String>) -> Result<Query, String> {
        let arg = |n: &str| arg(n).filter(|v| !v.is_empty());
        let since = Since::parse(Some(arg("since").as_deref().unwrap_or("0")));
        let limit = arg("limit").map(|v| v.parse::<usize>());
        let wait = arg("wait").map(|v| v.parse::<u64>());
        match (since, limit.transpose(), wait.transpose()) {
            (Ok(since), Ok(limit), Ok(wait)) => Ok(Query {
                since,
                limit: limit.unwrap_or(POLL_LIMIT.0).clamp(1, POLL_LIMIT.1),
                wait: wait.unwrap_or(0).min(POLL_MAX_WAIT),
            }),
            (Err(e), _, _) => Err(e),
            _ => Err("limit and wait are whole numbers".into()),
        }
    }
}

/// The items of one answer (envelopes, gap messages): at most `limit`,
/// and about [`POLL_BYTES`]. `None` when a journal read is needed before
/// anything can be answered (asked for; its result wakes the poll again).
/// The feed keeps what it has not handed out; items already taken are
/// sent now, so a pending journal read only happens with none taken.
fn page(client: &Client, token: u64, feed: &mut Feed, limit: usize) -> Option<Vec<String>> {
    let svc = client.service();
    let mut items: Vec<String> = Vec::new();
    let mut bytes = 0;
    while items.len() < limit && bytes < POLL_BYTES {
        match feed.step(svc) {
            Step::Packet(p) => {
                bytes += p.envelope().len();
                items.push(p.envelope().to_string());
                Metrics::add(&svc.metrics().delivered, 1);
            }
            Step::Gap(a, b) => items.push(envelope::gap(a, b)),
            Step::Fetch(from) => {
                client.fetch(token, from, FETCH_BYTES);
                if items.is_empty() {
                    return None;
                }
                break;
            }
            Step::Wait => break,
        }
    }
    Some(items)
}

impl Hub {
    /// `GET <mount>/packets`: a page of packets, perhaps after a wait.
    pub(super) fn open_packets(&mut self, token: u64, conn: Connection) {
        let grant = match self.check(Side::Subscribe, conn, "GET /packets") {
            Ok(g) => g,
            Err(why) => {
                let r = refusal_reply(conn, Side::Subscribe, why, &self.scope);
                return self.reply(token, r);
            }
        };
        match Query::parse(|n| conn.url_arg(n)) {
            Ok(Query { since, limit, wait }) => {
                if wait > 0 {
                    // A long-poll produces nothing for up to `wait`.
                    conn.set_timeout(u32::try_from(wait + 15).unwrap_or(u32::MAX));
                    self.vhost
                        .schedule(DEADLINE_REASON, Duration::from_secs(wait));
                }
                let feed = Feed::new(self.svc(), since, conn.url_arg("filter"));
                let kind = Kind::Poll {
                    limit,
                    deadline: Instant::now() + Duration::from_secs(wait),
                    body: None,
                };
                self.add_sub(token, Sub::new(conn, feed, kind, grant));
            }
            Err(e) => self.reply(token, Reply::json(conn, 400, envelope::error(&e))),
        }
    }
}

pub(super) fn poll_writeable(client: &Client, token: u64, sub: &mut Sub, realm: &str) -> Action {
    let Kind::Poll {
        limit,
        deadline,
        body,
    } = &mut sub.kind
    else {
        return Action::Continue;
    };
    if let Some(b) = body.take() {
        // The head went out in the last callback.
        if sub.conn.write_http(b.as_bytes(), true).is_err() {
            return Action::Close;
        }
        return sub.conn.transaction_completed();
    }
    if let Some(why) = sub.failed.take() {
        let mut r = Reply::json(sub.conn, 500, envelope::error(&why));
        return r.write();
    }
    if sub.revoked {
        // The head has not gone out yet: a refusal instead of a page.
        return refusal_reply(sub.conn, Side::Subscribe, Refusal::Invalid, realm).write();
    }
    if sub.feed.is_fetching() {
        // A journal read is on its way; its result wakes this again.
        return Action::Continue;
    }
    let Some(items) = page(client, token, &mut sub.feed, *limit) else {
        return Action::Continue;
    };
    if items.is_empty() && Instant::now() < *deadline {
        // Long-poll: new packets or the deadline wake it again.
        return Action::Continue;
    }
    let text = format!("[{}]", items.join(","));
    let headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
    ];
    if sub
        .conn
        .write_http_head(200, &headers, Some(text.len() as u64))
        .is_err()
    {
        return Action::Close;
    }
    if sub.conn.send_pipe_choked() {
        *body = Some(text);
        sub.conn.request_writable();
        return Action::Continue;
    }
    if sub.conn.write_http(text.as_bytes(), true).is_err() {
        return Action::Close;
    }
    sub.conn.transaction_completed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::testing::Journal;

    fn query(pairs: &[(&str, &str)]) -> Result<Query, String> {
        Query::parse(|n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    fn ids(items: &[String]) -> Vec<u64> {
        items
            .iter()
            .map(|i| {
                let rest = i.strip_prefix("{\"id\":").expect("an envelope");
                rest[..rest.find(',').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn the_query_has_defaults_and_limits() {
        assert_eq!(
            query(&[]),
            Ok(Query {
                since: Since::Oldest,
                limit: 100,
                wait: 0
            })
        );
        // Empty arguments are absent ones.
        assert_eq!(
            query(&[("since", ""), ("limit", ""), ("wait", "")]),
            query(&[])
        );
        let q = query(&[("since", "41"), ("limit", "7"), ("wait", "30")]).unwrap();
        assert_eq!((q.since, q.limit, q.wait), (Since::After(41), 7, 30));
        assert_eq!(query(&[("limit", "0")]).unwrap().limit, 1);
        assert_eq!(query(&[("limit", "99999")]).unwrap().limit, 10_000);
        assert_eq!(query(&[("wait", "3600")]).unwrap().wait, POLL_MAX_WAIT);
    }

    #[test]
    fn a_bad_query_says_what_is_wrong() {
        let whole = Err("limit and wait are whole numbers".to_string());
        assert_eq!(query(&[("limit", "ten")]), whole);
        assert_eq!(query(&[("wait", "-1")]), whole);
        assert_eq!(query(&[("limit", "1.5")]), whole);
        // A bad `since` is named first.
        let e = query(&[("since", "x"), ("limit", "ten")]).unwrap_err();
        assert!(e.starts_with("since:"), "{e}");
    }

    #[test]
    fn pages_hold_at_most_limit_and_follow_each_other() {
        let j = Journal::new(16 << 20);
        let packets: Vec<(&str, &[u8])> = (0..5).map(|_| ("text/plain", &b"p"[..])).collect();
        j.record(&packets);
        let mut feed = Feed::new(&j.svc, Since::Oldest, None);
        let mut pages = Vec::new();
        for _ in 0..4 {
            pages.push(ids(&page(&j.reader, 1, &mut feed, 2).unwrap()));
        }
        assert_eq!(pages, [vec![1, 2], vec![3, 4], vec![5], vec![]]);
    }

    #[test]
    fn a_page_stops_at_about_four_mebibytes() {
        let j = Journal::new(16 << 20);
        let body = vec![b'a'; 1_000_000];
        let packets: Vec<(&str, &[u8])> = (0..6).map(|_| ("text/plain", &body[..])).collect();
        j.record(&packets);
        let mut feed = Feed::new(&j.svc, Since::Oldest, None);
        let first = page(&j.reader, 1, &mut feed, 100).unwrap();
        let bytes: usize = first.iter().map(String::len).sum();
        let last = first.last().unwrap().len();
        assert!(bytes >= POLL_BYTES && bytes - last < POLL_BYTES, "{bytes}");
        let rest = page(&j.reader, 1, &mut feed, 100).unwrap();
        assert_eq!(first.len() + rest.len(), 6);
        assert_eq!(ids(&rest)[0], first.len() as u64 + 1);
    }

    #[test]
    fn a_page_waits_for_a_journal_read_only_when_it_has_nothing() {
        let j = Journal::new(4 << 10);
        let body = vec![b'z'; 1024];
        let packets: Vec<(&str, &[u8])> = (0..20).map(|_| ("text/plain", &body[..])).collect();
        j.record(&packets);
        let mut feed = Feed::new(&j.svc, Since::Oldest, None);
        assert_eq!(page(&j.reader, 1, &mut feed, 100), None);
        let mut got = Vec::new();
        while got.last() != Some(&20) {
            if feed.is_fetching() {
                j.fetched(&mut feed);
            }
            if let Some(items) = page(&j.reader, 1, &mut feed, 100) {
                assert!(!items.is_empty() || feed.is_fetching() || got.len() == 20);
                got.extend(ids(&items));
            }
        }
        assert_eq!(got, (1..=20).collect::<Vec<_>>());
    }
}
