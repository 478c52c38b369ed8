//! The JSON long-poll: `GET <mount>/packets?since=N&limit=M&wait=S`, a
//! page of envelopes, waiting up to `wait` seconds when there are none.

use std::time::{Duration, Instant};

use comlink_plugin_api::{Action, Connection};
use packet_journal::feed::FETCH_BYTES;
use packet_journal::metrics::Metrics;
use packet_journal::{envelope, Client, Feed, Since, Step};

use super::events::DEADLINE_REASON;
use super::reply::Reply;
use super::subscribe::{Kind, Sub};
use super::Hub;

/// Default, and largest, `limit` of `GET <mount>/packets`.
const POLL_LIMIT: (usize, usize) = (100, 10_000);
/// Most bytes of envelopes in one `GET <mount>/packets` answer.
const POLL_BYTES: usize = 4 << 20;
/// Largest `wait` of `GET <mount>/packets`, seconds.
const POLL_MAX_WAIT: u64 = 300;

impl Hub {
    /// `GET <mount>/packets`: a page of packets, perhaps after a wait.
    pub(super) fn open_packets(&mut self, token: u64, conn: Connection) {
        let arg = |n: &str| conn.url_arg(n).filter(|v| !v.is_empty());
        let since = Since::parse(Some(arg("since").as_deref().unwrap_or("0")));
        let limit = arg("limit").map(|v| v.parse::<usize>());
        let wait = arg("wait").map(|v| v.parse::<u64>());
        match (since, limit.transpose(), wait.transpose()) {
            (Ok(since), Ok(limit), Ok(wait)) => {
                let wait = wait.unwrap_or(0).min(POLL_MAX_WAIT);
                if wait > 0 {
                    // A long-poll produces nothing for up to `wait`.
                    conn.set_timeout(u32::try_from(wait + 15).unwrap_or(u32::MAX));
                    self.vhost
                        .schedule(DEADLINE_REASON, Duration::from_secs(wait));
                }
                let feed = Feed::new(self.svc(), since, conn.url_arg("filter"));
                let kind = Kind::Poll {
                    limit: limit.unwrap_or(POLL_LIMIT.0).clamp(1, POLL_LIMIT.1),
                    deadline: Instant::now() + Duration::from_secs(wait),
                    body: None,
                };
                self.add_sub(
                    token,
                    Sub {
                        conn,
                        feed,
                        kind,
                        failed: None,
                        ending: false,
                    },
                );
            }
            (Err(e), _, _) => self.reply(token, Reply::json(conn, 400, envelope::error(&e))),
            _ => self.reply(
                token,
                Reply::json(
                    conn,
                    400,
                    envelope::error("limit and wait are whole numbers"),
                ),
            ),
        }
    }
}

pub(super) fn poll_writeable(client: &Client, token: u64, sub: &mut Sub) -> Action {
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
    if sub.feed.is_fetching() {
        // A journal read is on its way; its result wakes this again.
        return Action::Continue;
    }
    let svc = client.service();
    let mut items: Vec<String> = Vec::new();
    let mut bytes = 0;
    // The feed keeps what it has not handed out; items already taken are
    // sent now, so a pending journal read only happens with none taken.
    while items.len() < *limit && bytes < POLL_BYTES {
        match sub.feed.step(svc) {
            Step::Packet(p) => {
                bytes += p.envelope().len();
                items.push(p.envelope().to_string());
                Metrics::add(&svc.metrics().delivered, 1);
            }
            Step::Gap(a, b) => items.push(envelope::gap(a, b)),
            Step::Fetch(from) => {
                client.fetch(token, from, FETCH_BYTES);
                if items.is_empty() {
                    return Action::Continue;
                }
                break;
            }
            Step::Wait => break,
        }
    }
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
