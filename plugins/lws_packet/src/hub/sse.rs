//! Server-Sent Events: `GET <mount>/events`, resuming after
//! `Last-Event-ID` or `?since=`, with a keepalive comment on an idle
//! stream.

use std::time::{Duration, Instant};

use comlink_plugin_api::{Action, Connection};
use packet_journal::feed::FETCH_BYTES;
use packet_journal::metrics::Metrics;
use packet_journal::{envelope, Client, Feed, Since, Step};

use crate::access::Side;

use super::gate::{refusal_reply, REVOKED};
use super::reply::Reply;
use super::subscribe::{Kind, Sub};
use super::Hub;

/// SSE comment sent on an idle stream this often.
pub(super) const KEEPALIVE: Duration = Duration::from_secs(15);
/// Bytes of events gathered into one SSE write.
const SSE_CHUNK: usize = 64 << 10;
/// The first bytes of a stream (a comment), which make its head go out.
const OPENING: &str = ": comlink packet stream\n\n";
/// What an idle stream sends every [`KEEPALIVE`].
const KEEPALIVE_COMMENT: &str = ": keepalive\n\n";

/// Where a stream starts: after `Last-Event-ID` (what `EventSource` sends
/// when it reconnects), which wins over the URL's `since`.
fn resume_point(last_event_id: Option<String>, since: Option<String>) -> Result<Since, String> {
    Since::parse(last_event_id.or(since).as_deref())
}

/// The last event of a stream that failed.
fn error_event(why: &str) -> String {
    format!("event: error\ndata: {}\n\n", envelope::error(why))
}

/// Appends to `out` the events `feed` has now, until it is about
/// [`SSE_CHUNK`] long: true when more are waiting. A packet's event has its
/// id; a gap message has none. A journal read the feed needs is asked
/// for (its result wakes the stream again).
fn fill(client: &Client, token: u64, feed: &mut Feed, out: &mut String) -> bool {
    let svc = client.service();
    loop {
        if out.len() >= SSE_CHUNK {
            return true;
        }
        match feed.step(svc) {
            Step::Packet(p) => {
                envelope::sse(Some(p.id), p.envelope(), out);
                Metrics::add(&svc.metrics().delivered, 1);
            }
            Step::Gap(a, b) => envelope::sse(None, &envelope::gap(a, b), out),
            Step::Fetch(from) => {
                client.fetch(token, from, FETCH_BYTES);
                return false;
            }
            Step::Wait => return false,
        }
    }
}

impl Hub {
    /// `GET <mount>/events`: an event stream.
    pub(super) fn open_events(&mut self, token: u64, conn: Connection) {
        let grant = match self.check(Side::Subscribe, conn, "GET /events") {
            Ok(g) => g,
            Err(why) => {
                let r = refusal_reply(conn, Side::Subscribe, why, &self.scope);
                return self.reply(token, r);
            }
        };
        match resume_point(conn.custom_header("Last-Event-ID"), conn.url_arg("since")) {
            Ok(since) => {
                let feed = Feed::new(self.svc(), since, conn.url_arg("filter"));
                let kind = Kind::Sse {
                    head_sent: false,
                    idle_since: Instant::now(),
                    keepalive: false,
                };
                self.add_sub(token, Sub::new(conn, feed, kind, grant));
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
    if sub.revoked && sub.failed.is_none() {
        sub.failed = Some(REVOKED.into());
    }
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
        out.push_str(OPENING);
        if sub.conn.send_pipe_choked() {
            sub.conn.request_writable();
            return Action::Continue;
        }
    }
    if let Some(why) = sub.failed.take() {
        out.push_str(&error_event(&why));
        if sub.conn.write_http(out.as_bytes(), true).is_err() {
            return Action::Close;
        }
        return sub.conn.transaction_completed();
    }
    let more = fill(client, token, &mut sub.feed, &mut out);
    if out.is_empty() && *keepalive {
        out.push_str(KEEPALIVE_COMMENT);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::testing::Journal;

    /// The events of a stream's text: (id line, data line) each.
    fn events(text: &str) -> Vec<(Option<u64>, String)> {
        assert!(text.ends_with("\n\n"), "{text:?}");
        text.trim_end_matches("\n\n")
            .split("\n\n")
            .map(|ev| {
                let mut id = None;
                let mut data = None;
                for line in ev.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(v.to_string());
                    } else {
                        panic!("not an event line: {line:?}");
                    }
                }
                (id, data.expect("a data line"))
            })
            .collect()
    }

    #[test]
    fn last_event_id_wins_over_since() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(resume_point(s("7"), s("3")), Ok(Since::After(7)));
        assert_eq!(resume_point(None, s("3")), Ok(Since::After(3)));
        assert_eq!(resume_point(None, s("0")), Ok(Since::Oldest));
        assert_eq!(resume_point(None, None), Ok(Since::New));
        assert!(resume_point(s("x"), s("3")).is_err());
    }

    #[test]
    fn the_stream_opens_and_idles_with_comments_and_fails_with_an_error_event() {
        assert!(OPENING.starts_with(':') && OPENING.ends_with("\n\n"));
        assert!(KEEPALIVE_COMMENT.starts_with(':') && KEEPALIVE_COMMENT.ends_with("\n\n"));
        assert_eq!(
            error_event("journal: \"bad\""),
            "event: error\ndata: {\"error\":\"journal: \\\"bad\\\"\"}\n\n"
        );
    }

    #[test]
    fn each_packet_is_an_event_with_its_id_and_envelope() {
        let j = Journal::new(16 << 20);
        j.record(&[
            ("text/plain", b"one"),
            ("application/octet-stream", b"\xff\x00"),
            ("text/plain", b"line\nbreak"),
        ]);
        let mut feed = Feed::new(&j.svc, Since::Oldest, None);
        let mut out = String::new();
        assert!(!fill(&j.reader, 1, &mut feed, &mut out));
        let evs = events(&out);
        assert_eq!(
            evs.iter().map(|e| e.0).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        assert!(evs[0].1.starts_with("{\"id\":1,"), "{}", evs[0].1);
        assert!(evs[0].1.contains("\"data\":\"one\""));
        assert!(evs[1].1.contains("\"encoding\":\"base64\""));
        // A newline in a body stays inside the JSON string: one data line.
        assert!(evs[2].1.contains("line\\nbreak"));
        assert_eq!(j.svc.metrics().counters().delivered, 3);
        // Nothing more: nothing written.
        let mut more = String::new();
        assert!(!fill(&j.reader, 1, &mut feed, &mut more));
        assert!(more.is_empty());
    }

    #[test]
    fn a_filter_keeps_matching_content_types_only() {
        let j = Journal::new(16 << 20);
        j.record(&[
            ("text/plain", b"a"),
            ("application/json", b"{}"),
            ("application/json; charset=utf-8", b"[]"),
        ]);
        let mut feed = Feed::new(&j.svc, Since::After(1), Some("application/json".into()));
        let mut out = String::new();
        fill(&j.reader, 1, &mut feed, &mut out);
        let ids: Vec<_> = events(&out).iter().map(|e| e.0).collect();
        assert_eq!(ids, [Some(2), Some(3)]);
    }

    #[test]
    fn a_write_is_about_one_chunk_and_the_next_goes_on_from_there() {
        let j = Journal::new(16 << 20);
        let body = vec![b'x'; 1000];
        let packets: Vec<(&str, &[u8])> = (0..100).map(|_| ("text/plain", &body[..])).collect();
        j.record(&packets);
        let mut feed = Feed::new(&j.svc, Since::Oldest, None);
        let mut first = String::new();
        assert!(fill(&j.reader, 1, &mut feed, &mut first), "more waiting");
        assert!(first.len() >= SSE_CHUNK && first.len() < SSE_CHUNK + 2000);
        let mut second = String::new();
        assert!(!fill(&j.reader, 1, &mut feed, &mut second));
        let ids: Vec<u64> = events(&first)
            .into_iter()
            .chain(events(&second))
            .map(|e| e.0.unwrap())
            .collect();
        assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    }

    #[test]
    fn a_stream_behind_the_live_tail_waits_for_its_journal_read() {
        // 4 KiB of live tail: the first of 20 packets of 1 KiB are only
        // in the journal.
        let j = Journal::new(4 << 10);
        let body = vec![b'y'; 1024];
        let packets: Vec<(&str, &[u8])> = (0..20).map(|_| ("text/plain", &body[..])).collect();
        j.record(&packets);
        let mut feed = Feed::new(&j.svc, Since::Oldest, None);
        let mut out = String::new();
        assert!(!fill(&j.reader, 1, &mut feed, &mut out));
        assert!(out.is_empty() && feed.is_fetching());
        let mut ids = Vec::new();
        while ids.last() != Some(&20) {
            if feed.is_fetching() {
                j.fetched(&mut feed);
            }
            let mut out = String::new();
            fill(&j.reader, 1, &mut feed, &mut out);
            if !out.is_empty() {
                ids.extend(events(&out).into_iter().map(|e| e.0.unwrap()));
            }
        }
        assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    }
}
