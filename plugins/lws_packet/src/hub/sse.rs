//! Server-Sent Events: `GET <mount>/events`, resuming after
//! `Last-Event-ID` or `?since=`, with a keepalive comment on an idle
//! stream.

use std::time::{Duration, Instant};

use comlink_plugin_api::{Action, Connection};
use packet_journal::feed::FETCH_BYTES;
use packet_journal::metrics::Metrics;
use packet_journal::{envelope, Client, Feed, Since, Step};

use super::reply::Reply;
use super::subscribe::{Kind, Sub};
use super::Hub;

/// SSE comment sent on an idle stream this often.
pub(super) const KEEPALIVE: Duration = Duration::from_secs(15);
/// Bytes of events gathered into one SSE write.
const SSE_CHUNK: usize = 64 << 10;

impl Hub {
    /// `GET <mount>/events`: an event stream.
    pub(super) fn open_events(&mut self, token: u64, conn: Connection) {
        let since = conn
            .custom_header("Last-Event-ID")
            .or_else(|| conn.url_arg("since"));
        match Since::parse(since.as_deref()) {
            Ok(since) => {
                let feed = Feed::new(self.svc(), since, conn.url_arg("filter"));
                let kind = Kind::Sse {
                    head_sent: false,
                    idle_since: Instant::now(),
                    keepalive: false,
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
            Err(e) => self.reply(token, Reply::json(conn, 400, envelope::error(&e))),
        }
    }
}

pub(super) fn sse_writeable(client: &Client, token: u64, sub: &mut Sub) -> Action {
    let Kind::Sse {
        head_sent,
        idle_since,
        keepalive,
    } = &mut sub.kind
    else {
        return Action::Continue;
    };
    let mut out = String::new();
    if !*head_sent {
        let headers = [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("x-accel-buffering", "no"),
        ];
        if sub.conn.write_http_head(200, &headers, None).is_err() {
            return Action::Close;
        }
        *head_sent = true;
        // A stream has no deadline; the first bytes make the head go out.
        sub.conn.set_timeout(0);
        out.push_str(": comlink packet stream\n\n");
        if sub.conn.send_pipe_choked() {
            sub.conn.request_writable();
            return Action::Continue;
        }
    }
    if let Some(why) = sub.failed.take() {
        out.push_str(&format!(
            "event: error\ndata: {}\n\n",
            envelope::error(&why)
        ));
        if sub.conn.write_http(out.as_bytes(), true).is_err() {
            return Action::Close;
        }
        return sub.conn.transaction_completed();
    }
    let svc = client.service();
    let mut more = false;
    loop {
        if out.len() >= SSE_CHUNK {
            more = true;
            break;
        }
        match sub.feed.step(svc) {
            Step::Packet(p) => {
                envelope::sse(Some(p.id), p.envelope(), &mut out);
                Metrics::add(&svc.metrics().delivered, 1);
            }
            Step::Gap(a, b) => envelope::sse(None, &envelope::gap(a, b), &mut out),
            Step::Fetch(from) => {
                client.fetch(token, from, FETCH_BYTES);
                break;
            }
            Step::Wait => break,
        }
    }
    if out.is_empty() && *keepalive {
        out.push_str(": keepalive\n\n");
    }
    *keepalive = false;
    if sub.ending && !more {
        if sub.conn.write_http(out.as_bytes(), true).is_err() {
            return Action::Close;
        }
        return sub.conn.transaction_completed();
    }
    if out.is_empty() {
        return Action::Continue;
    }
    *idle_since = Instant::now();
    if sub.conn.write_http(out.as_bytes(), false).is_err() {
        return Action::Close;
    }
    if more {
        sub.conn.request_writable();
    }
    Action::Continue
}
