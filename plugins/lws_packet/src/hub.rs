//! The per-vhost state of both protocols: every connection the protocol
//! has on this vhost (by token), its journal client, and the code that turns
//! journal results into writes.
//!
//! Nothing here blocks: appends and journal reads are queued to the
//! service's threads, whose results come back in the client's mailbox; the
//! service then calls `lws_cancel_service`, every protocol gets
//! `EVENT_WAIT_CANCELLED`, and [`Hub::event`] drains the mailbox and asks for
//! writeable callbacks on the connections that have something to send.
//!
//! With `count-threads` > 1 the hub is shared by every service thread (one
//! callback at a time), but a connection may only be touched from its own
//! thread. So each token remembers its thread, and a wake-up for a
//! connection of another thread is queued for that thread, which is woken
//! (`lws_cancel_service`) and does it in its own `EVENT_WAIT_CANCELLED`.

use std::collections::{HashMap, VecDeque};
use std::ffi::c_int;
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use comlink_plugin_api::abi::{self, LWS_CALLBACK_USER, WSI_TOKEN_HTTP_CONTENT_TYPE};
use comlink_plugin_api::protocol::{log, server_stopping};
use comlink_plugin_api::threads::{service_thread, ForThread};
use comlink_plugin_api::{Action, Connection, Vhost};
use packet_journal::feed::FETCH_BYTES;
use packet_journal::metrics::Metrics;
use packet_journal::{envelope, Client, Event, Feed, Service, Since, Step};

/// Our timer reason (`Vhost::schedule`).
pub const TICK_REASON: c_int = LWS_CALLBACK_USER + 0x5a;
/// A long-poll's deadline (scheduled for each one that waits).
pub const DEADLINE_REASON: c_int = LWS_CALLBACK_USER + 0x5b;
/// Our vhost event for a deferred metrics report.
const METRICS_REASON: c_int = LWS_CALLBACK_USER + 0x5c;
/// How often the tick runs while there are subscribers.
const TICK: Duration = Duration::from_secs(1);
/// SSE comment sent on an idle stream this often.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// WebSocket ingest: messages waiting for their acknowledgement before the
/// connection stops being read.
const INFLIGHT_MAX: usize = 1024;
/// Messages written in one WebSocket writeable callback while the socket
/// keeps taking them.
const WRITES_PER_CALLBACK: usize = 64;
/// Bytes of events gathered into one SSE write.
const SSE_CHUNK: usize = 64 << 10;
/// Default, and largest, `limit` of `GET <mount>/packets`.
const POLL_LIMIT: (usize, usize) = (100, 10_000);
/// Most bytes of envelopes in one `GET <mount>/packets` answer.
const POLL_BYTES: usize = 4 << 20;
/// Largest `wait` of `GET <mount>/packets`, seconds.
const POLL_MAX_WAIT: u64 = 300;

/// A connection's handle into its hub (the per-session data).
#[derive(Debug)]
pub struct Session {
    /// Its key in [`Hub`]'s connections.
    pub token: u64,
}

/// The request header that makes a POST idempotent.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The response header of an answer that repeats an earlier one.
pub const REPLAYED: (&str, &str) = ("idempotent-replayed", "true");

/// An `Idempotency-Key` value: 1 to 255 printable ASCII characters.
fn idempotency_key(v: &str) -> Result<String, String> {
    let v = v.trim();
    if (1..=255).contains(&v.len()) && v.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(v.to_string())
    } else {
        Err("Idempotency-Key: 1 to 255 printable ASCII characters".into())
    }
}

/// A POST being received.
struct Post {
    conn: Connection,
    content_type: String,
    body: Vec<u8>,
    too_big: bool,
    submitted: bool,
    /// Its `Idempotency-Key`, if it has one (or why it cannot be used).
    key: Result<Option<String>, String>,
}

/// A one-shot answer (an acknowledgement, an error, stats: JSON; the
/// console page).
struct Reply {
    conn: Connection,
    status: u16,
    content_type: &'static str,
    body: String,
    extra: Vec<(&'static str, String)>,
    head_sent: bool,
}

/// A WebSocket ingest connection.
struct WsIn {
    conn: Connection,
    content_type: Option<String>,
    /// `?keyed=1`: each message starts with its idempotency key and `\n`.
    keyed: bool,
    msg: Vec<u8>,
    in_msg: bool,
    binary: bool,
    /// Messages waiting for the journal's answer.
    inflight: usize,
    paused: bool,
    /// Answers in message order: `None` while the journal has not
    /// answered, so an answer given at once (a bad key) keeps its place.
    answers: VecDeque<Option<String>>,
    /// This code is being replaced (a reload swapped the plugin file): take
    /// no more messages, answer those taken, then close with 1012.
    ending: bool,
}

impl WsIn {
    /// The journal answered the oldest message waiting for it.
    fn answered(&mut self, text: String) {
        self.inflight = self.inflight.saturating_sub(1);
        if let Some(slot) = self.answers.iter_mut().find(|a| a.is_none()) {
            *slot = Some(text);
        }
    }

    /// The next answer that can be sent.
    fn next_answer(&mut self) -> Option<String> {
        match self.answers.front() {
            Some(Some(_)) => self.answers.pop_front().flatten(),
            _ => None,
        }
    }
}

enum Kind {
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
struct Sub {
    conn: Connection,
    feed: Feed,
    kind: Kind,
    failed: Option<String>,
    /// The server is stopping: an event stream or long poll answers what
    /// it has and ends (clients resume elsewhere with `Last-Event-ID`).
    ending: bool,
}

enum Conn {
    Post(Post),
    Reply(Reply),
    WsIn(WsIn),
    Sub(Sub),
}

impl Conn {
    fn conn(&self) -> Connection {
        match self {
            Conn::Post(p) => p.conn,
            Conn::Reply(r) => r.conn,
            Conn::WsIn(w) => w.conn,
            Conn::Sub(s) => s.conn,
        }
    }
}

/// The per-vhost state of one protocol.
pub struct Hub {
    client: Client,
    vhost: Vhost,
    /// The vhost's name: idempotency keys are per vhost.
    scope: String,
    name: &'static str,
    max_packet: usize,
    next_token: u64,
    conns: HashMap<u64, Conn>,
    last_committed: u64,
    tick_armed: bool,
    /// When the figures were last reported to the metrics endpoint.
    metrics_at: Option<Instant>,
    /// A deferred report is scheduled.
    metrics_armed: bool,
    /// The server's stop was seen (streams told to end).
    stopping: bool,
    /// The service thread of each connection (by token).
    owners: HashMap<u64, ThreadId>,
    /// Wake-ups waiting for their connection's own thread.
    pending: ForThread<u64>,
    /// The labels of the `comlink_packet_journal_error` series set to 1.
    error_series: Option<String>,
}

impl Reply {
    fn json(conn: Connection, status: u16, body: String) -> Reply {
        Reply {
            conn,
            status,
            content_type: "application/json",
            body,
            extra: Vec::new(),
            head_sent: false,
        }
    }

    fn write(&mut self) -> Action {
        if !self.head_sent {
            let mut headers = vec![
                ("content-type", self.content_type),
                ("cache-control", "no-store"),
            ];
            headers.extend(self.extra.iter().map(|(k, v)| (*k, v.as_str())));
            if self
                .conn
                .write_http_head(self.status, &headers, Some(self.body.len() as u64))
                .is_err()
            {
                return Action::Close;
            }
            self.head_sent = true;
            if self.conn.send_pipe_choked() {
                self.conn.request_writable();
                return Action::Continue;
            }
        }
        if self.conn.write_http(self.body.as_bytes(), true).is_err() {
            return Action::Close;
        }
        self.conn.transaction_completed()
    }
}

impl Hub {
    /// The hub of protocol `name` on `vhost`, using `svc`.
    pub fn new(vhost: Vhost, name: &'static str, svc: &Arc<Service>) -> Hub {
        let max_packet = svc.settings().max_packet_bytes;
        let mut hub = Hub {
            client: svc.client(),
            scope: vhost.name(),
            vhost,
            name,
            max_packet,
            next_token: 1,
            conns: HashMap::new(),
            last_committed: svc.committed(),
            tick_armed: false,
            metrics_at: None,
            metrics_armed: false,
            stopping: false,
            owners: HashMap::new(),
            pending: ForThread::default(),
            error_series: None,
        };
        // The figures are there from the start (what opening the journal
        // found among them), not only after the first packet.
        hub.report_metrics();
        hub
    }

    fn svc(&self) -> &Arc<Service> {
        self.client.service()
    }

    fn metrics(&self) -> &Metrics {
        self.client.service().metrics()
    }

    /// A token for a connection opening now (so on its own thread).
    fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        self.owners.insert(t, service_thread());
        t
    }

    /// Asks for a writeable callback on `token`'s connection: at once on
    /// its own thread, else through that thread (see the module doc).
    fn wake(&mut self, token: u64) {
        let Some(c) = self.conns.get(&token) else {
            return;
        };
        match self.owners.get(&token) {
            Some(t) if *t != service_thread() => self.pending.push(*t, token),
            _ => c.conn().request_writable(),
        }
    }

    fn wake_all(&mut self, tokens: Vec<u64>) {
        for t in tokens {
            self.wake(t);
        }
    }

    /// Does this thread's queued wake-ups.
    fn run_pending(&mut self) {
        for t in self.pending.take_mine() {
            if let Some(c) = self.conns.get(&t) {
                c.conn().request_writable();
            }
        }
    }

    fn arm_tick(&mut self) {
        if !self.tick_armed {
            self.tick_armed = true;
            self.vhost.schedule(TICK_REASON, TICK);
        }
    }

    fn add_sub(&mut self, token: u64, mut sub: Sub) -> Session {
        // Opened after the end was announced: it ends too.
        sub.ending |= self.stopping;
        Metrics::add(&self.metrics().subscribers, 1);
        sub.conn.request_writable();
        self.conns.insert(token, Conn::Sub(sub));
        self.arm_tick();
        Session { token }
    }

    // -- events ----------------------------------------------------------

    /// Reports the service's figures to the server's metrics endpoint, at
    /// most once a second (called on every wake-up).
    fn report_metrics(&mut self) {
        let now = Instant::now();
        if self
            .metrics_at
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            // Report the latest figures a second from now instead.
            if !self.metrics_armed {
                self.metrics_armed = true;
                self.vhost.schedule(METRICS_REASON, Duration::from_secs(1));
            }
            return;
        }
        self.metrics_at = Some(now);
        let s = self.svc().snapshot();
        let labels = format!(
            "vhost=\"{}\"",
            self.vhost.name().replace('\\', "\\\\").replace('"', "\\\"")
        );
        let figures: [(&str, &str, bool, u64); 18] = [
            (
                "comlink_packets_in_total",
                "Packets recorded.",
                true,
                s.packets_in,
            ),
            (
                "comlink_packet_bytes_in_total",
                "Bytes of packet bodies recorded.",
                true,
                s.bytes_in,
            ),
            (
                "comlink_packet_commits_total",
                "Group commits.",
                true,
                s.commits,
            ),
            (
                "comlink_packet_syncs_total",
                "fdatasync calls of the journal.",
                true,
                s.syncs,
            ),
            (
                "comlink_packets_refused_total",
                "Packets refused.",
                true,
                s.refused,
            ),
            (
                "comlink_packets_delivered_total",
                "Envelopes sent to subscribers.",
                true,
                s.delivered,
            ),
            (
                "comlink_packet_journal_reads_total",
                "Journal reads for lagging subscribers.",
                true,
                s.journal_reads,
            ),
            (
                "comlink_packet_subscribers",
                "Live subscribers.",
                false,
                s.subscribers,
            ),
            (
                "comlink_packet_subscribers_catching_up",
                "Subscribers reading from the journal.",
                false,
                s.catching_up,
            ),
            (
                "comlink_packet_last_id",
                "Newest committed packet id.",
                false,
                s.last_id,
            ),
            (
                "comlink_packet_journal_bytes",
                "Bytes of journal segments.",
                false,
                s.journal_bytes,
            ),
            (
                "comlink_packet_subscriber_max_lag",
                "Largest subscriber lag, in packets.",
                false,
                s.max_lag,
            ),
            (
                "comlink_packet_replays_total",
                "Packets answered with an earlier packet's id (Idempotency-Key).",
                true,
                s.replays,
            ),
            (
                "comlink_packet_journal_up",
                "1 when the journal takes packets, 0 when it refuses them.",
                false,
                u64::from(s.journal_state == "ok"),
            ),
            (
                "comlink_packet_journal_failures_total",
                "Times the journal stopped after a failed write or fsync.",
                true,
                s.journal_failures,
            ),
            (
                "comlink_packet_journal_reopens_total",
                "Times the journal reopened after stopping.",
                true,
                s.journal_reopens,
            ),
            (
                "comlink_packet_corrupt_records_total",
                "Corrupt journal records found (checksum mismatch).",
                true,
                s.corruptions,
            ),
            (
                "comlink_packets_lost_total",
                "Packet ids lost to corrupt records.",
                true,
                s.lost_packets,
            ),
        ];
        for (name, help, counter, value) in figures {
            comlink_plugin_api::protocol::metric(name, help, counter, &labels, value as f64);
        }
        // Why it refuses, as a label (the series of a cleared reason
        // stays, at 0).
        let series = s.journal_error.as_ref().map(|why| {
            format!(
                "{labels},state=\"{}\",error=\"{}\"",
                s.journal_state,
                label_value(why)
            )
        });
        if series != self.error_series {
            let help = "1 while the journal refuses packets for this reason.";
            let name = "comlink_packet_journal_error";
            if let Some(old) = &self.error_series {
                comlink_plugin_api::protocol::metric(name, help, false, old, 0.0);
            }
            if let Some(new) = &series {
                comlink_plugin_api::protocol::metric(name, help, false, new, 1.0);
            }
            self.error_series = series;
        }
    }

    /// A vhost-level event: the service's wake-up, or our tick.
    pub fn event(&mut self, reason: c_int) {
        crate::health::check(self.vhost, self.svc(), reason);
        if !self.stopping && server_stopping() {
            self.stopping = true;
            self.end_streams();
        }
        if reason == METRICS_REASON {
            self.metrics_armed = false;
            self.metrics_at = None;
        }
        self.report_metrics();
        if reason == TICK_REASON {
            self.tick_armed = false;
            self.tick();
        }
        if reason == DEADLINE_REASON {
            let now = Instant::now();
            let due: Vec<u64> = self
                .conns
                .iter()
                .filter(|(_, c)| {
                    matches!(c, Conn::Sub(Sub { kind: Kind::Poll { deadline, .. }, .. }) if now >= *deadline)
                })
                .map(|(t, _)| *t)
                .collect();
            self.wake_all(due);
        }
        self.drain();
        self.run_pending();
    }

    /// Takes the journal's results and wakes the connections they concern,
    /// and the subscribers new packets concern.
    fn drain(&mut self) {
        for ev in self.client.take_events() {
            match ev {
                Event::Recorded {
                    token,
                    result,
                    replayed,
                } => self.recorded(token, result, replayed),
                Event::Fetched { token, result } => {
                    if let Some(Conn::Sub(s)) = self.conns.get_mut(&token) {
                        if let Err(e) = s.feed.fetched(result) {
                            log(abi::LLL_ERR, &format!("lws_packet: {e}"));
                            s.failed = Some(e);
                        }
                        self.wake(token);
                    }
                }
            }
        }
        let committed = self.svc().committed();
        if committed != self.last_committed {
            self.last_committed = committed;
            let ready: Vec<u64> = self
                .conns
                .iter()
                .filter(|(_, c)| matches!(c, Conn::Sub(s) if s.feed.has_work(committed)))
                .map(|(t, _)| *t)
                .collect();
            self.wake_all(ready);
        }
    }

    fn recorded(&mut self, token: u64, result: Result<u64, String>, replayed: bool) {
        let retry = self.svc().retry_after();
        match self.conns.get_mut(&token) {
            Some(Conn::Post(p)) => {
                let conn = p.conn;
                let reply = match result {
                    Ok(id) => {
                        let mut r = Reply::json(conn, 200, envelope::ack(id));
                        if replayed {
                            r.extra.push((REPLAYED.0, REPLAYED.1.into()));
                        }
                        r
                    }
                    Err(e) => refusal(conn, &e, retry),
                };
                self.conns.insert(token, Conn::Reply(reply));
                self.wake(token);
            }
            Some(Conn::WsIn(w)) => {
                w.answered(match result {
                    Ok(id) if replayed => format!("{{\"id\":{id},\"replayed\":true}}"),
                    Ok(id) => envelope::ack(id),
                    Err(e) => refusal_text(&e, retry),
                });
                // Reading resumes in its writeable callback (its thread).
                self.wake(token);
            }
            _ => {}
        }
    }

    /// The server is stopping, or this plugin's file was replaced and its
    /// new version waits for the journal: event streams and long polls
    /// answer now and end; WebSockets answer what they took and close with
    /// 1012 (service restart), and their clients resume on the new version.
    fn end_streams(&mut self) {
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

    /// Keepalives, long-poll deadlines and the lag figures, once a second
    /// while there are subscribers.
    fn tick(&mut self) {
        self.report_metrics();
        let now = Instant::now();
        let committed = self.svc().committed();
        let (mut subs, mut lag, mut behind) = (0u64, 0u64, 0u64);
        let mut due = Vec::new();
        for (t, c) in &mut self.conns {
            let Conn::Sub(s) = c else { continue };
            subs += 1;
            lag = lag.max(s.feed.lag(committed));
            behind += u64::from(s.feed.is_catching_up());
            match &mut s.kind {
                Kind::Sse {
                    idle_since,
                    keepalive,
                    ..
                } if now.duration_since(*idle_since) >= KEEPALIVE => {
                    *keepalive = true;
                    due.push(*t);
                }
                Kind::Poll { deadline, .. } if now >= *deadline => due.push(*t),
                _ => {}
            }
        }
        self.wake_all(due);
        self.client.report_lag(lag, behind);
        if subs > 0 {
            self.arm_tick();
        }
    }

    // -- HTTP ------------------------------------------------------------

    /// A request on the mount: `path` is what follows the mountpoint.
    pub fn open_http(&mut self, conn: Connection, path: &str) -> Option<Session> {
        let method = conn.method().unwrap_or("");
        let path = path.trim_end_matches('/');
        let token = self.token();
        match (method, path) {
            ("POST", "") => {
                let content_type = conn
                    .header(WSI_TOKEN_HTTP_CONTENT_TYPE)
                    .unwrap_or_else(|| "application/octet-stream".into());
                // The host completes every POST body, as lws does: an
                // empty one with HTTP_BODY(NULL, 0), one without a length
                // when the client closes its sending side.
                let key = conn
                    .custom_header(IDEMPOTENCY_KEY)
                    .map(|v| idempotency_key(&v))
                    .transpose();
                let post = Post {
                    conn,
                    content_type,
                    body: Vec::new(),
                    too_big: false,
                    submitted: false,
                    key,
                };
                self.conns.insert(token, Conn::Post(post));
            }
            ("GET", "/events") => {
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
                        return Some(self.add_sub(
                            token,
                            Sub {
                                conn,
                                feed,
                                kind,
                                failed: None,
                                ending: false,
                            },
                        ));
                    }
                    Err(e) => self.reply(token, Reply::json(conn, 400, envelope::error(&e))),
                }
            }
            ("GET", "/packets") => {
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
                        return Some(self.add_sub(
                            token,
                            Sub {
                                conn,
                                feed,
                                kind,
                                failed: None,
                                ending: false,
                            },
                        ));
                    }
                    (Err(e), _, _) => {
                        self.reply(token, Reply::json(conn, 400, envelope::error(&e)))
                    }
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
            ("GET", "/stats") => {
                let s = self.svc().snapshot();
                self.reply(token, Reply::json(conn, 200, s.to_json()));
            }
            ("GET", "/console") => {
                let mut r = Reply::json(conn, 200, crate::console::PAGE.to_string());
                r.content_type = crate::console::CONTENT_TYPE;
                self.reply(token, r);
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

    fn reply(&mut self, token: u64, r: Reply) {
        r.conn.request_writable();
        self.conns.insert(token, Conn::Reply(r));
    }

    /// A piece of a request body.
    pub fn http_body(&mut self, s: &Session, data: &[u8]) -> Action {
        if let Some(Conn::Post(p)) = self.conns.get_mut(&s.token) {
            if p.too_big || p.submitted {
                return Action::Continue;
            }
            if p.body.len() + data.len() > self.max_packet {
                // Keep reading (and dropping) the body so the answer can
                // be given and the connection kept.
                p.too_big = true;
                p.body = Vec::new();
            } else {
                p.body.extend_from_slice(data);
            }
        }
        Action::Continue
    }

    /// The request body is complete.
    pub fn http_body_complete(&mut self, s: &Session) -> Action {
        let token = s.token;
        if let Some(Conn::Post(p)) = self.conns.get_mut(&token) {
            if p.submitted {
                return Action::Continue;
            }
            p.submitted = true;
            if p.too_big {
                let conn = p.conn;
                Metrics::add(&self.metrics().refused, 1);
                let msg = format!("packet larger than max-packet-bytes ({})", self.max_packet);
                self.reply(token, Reply::json(conn, 413, envelope::error(&msg)));
            } else if let Err(why) = &p.key {
                let conn = p.conn;
                let r = Reply::json(conn, 400, envelope::error(why));
                Metrics::add(&self.metrics().refused, 1);
                self.reply(token, r);
            } else {
                let body = std::mem::take(&mut p.body);
                let ct = p.content_type.clone();
                let key = p.key.clone().ok().flatten().map(|k| self.scoped(&k));
                self.client.append_keyed(token, ct, body, key);
            }
        }
        Action::Continue
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

    // -- WebSocket ---------------------------------------------------------

    /// A WebSocket ingest connection (`protocol-lws-packet`).
    pub fn open_ingest(&mut self, conn: Connection) -> Option<Session> {
        let token = self.token();
        let content_type = conn
            .url_arg("content-type")
            .or_else(|| conn.url_arg("content_type"))
            .filter(|v| !v.is_empty());
        let keyed = conn
            .url_arg("keyed")
            .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        self.conns.insert(
            token,
            Conn::WsIn(WsIn {
                conn,
                content_type,
                keyed,
                msg: Vec::new(),
                in_msg: false,
                binary: false,
                inflight: 0,
                paused: false,
                answers: VecDeque::new(),
                ending: self.stopping,
            }),
        );
        if self.stopping {
            conn.set_receiving(false);
            conn.request_writable();
        }
        Some(Session { token })
    }

    /// A WebSocket subscriber (`packet-subscribe`).
    pub fn open_subscriber(&mut self, conn: Connection) -> Option<Session> {
        let since = match Since::parse(conn.url_arg("since").as_deref()) {
            Ok(s) => s,
            Err(e) => {
                log(abi::LLL_NOTICE, &format!("{}: refused: {e}", self.name));
                return None;
            }
        };
        let feed = Feed::new(self.svc(), since, conn.url_arg("filter"));
        let token = self.token();
        Some(self.add_sub(
            token,
            Sub {
                conn,
                feed,
                kind: Kind::Ws,
                failed: None,
                ending: false,
            },
        ))
    }

    /// A piece of a WebSocket message (ingest; subscribers' are ignored).
    pub fn receive(&mut self, s: &Session, data: &[u8]) -> Action {
        let max = self.max_packet;
        let scope = self.scope.clone();
        let Some(Conn::WsIn(w)) = self.conns.get_mut(&s.token) else {
            return Action::Continue;
        };
        let conn = w.conn;
        if !w.in_msg {
            w.in_msg = true;
            w.binary = conn.is_binary();
            w.msg.clear();
        }
        // A keyed message may be longer by its key line.
        let max = if w.keyed { max + 256 } else { max };
        if w.msg.len() + data.len() > max {
            Metrics::add(&self.client.service().metrics().refused, 1);
            return conn.close_reason(1009, b"packet larger than max-packet-bytes");
        }
        w.msg.extend_from_slice(data);
        if conn.is_final_fragment() {
            w.in_msg = false;
            let ct = match (&w.content_type, w.binary) {
                (Some(ct), _) => ct.clone(),
                (None, true) => "application/octet-stream".to_string(),
                (None, false) => "text/plain; charset=utf-8".to_string(),
            };
            let mut body = std::mem::take(&mut w.msg);
            let mut key = None;
            if w.keyed {
                match split_key(&body, max - 256) {
                    Ok((k, rest)) => {
                        key = k.map(|k| scoped(&scope, k));
                        body = body[rest..].to_vec();
                    }
                    Err(why) => {
                        // Answered in its place among the others.
                        Metrics::add(&self.client.service().metrics().refused, 1);
                        w.answers.push_back(Some(envelope::error(&why)));
                        if w.answers.front().is_some_and(Option::is_some) {
                            conn.request_writable();
                        }
                        return Action::Continue;
                    }
                }
            }
            w.inflight += 1;
            w.answers.push_back(None);
            if w.inflight >= INFLIGHT_MAX && !w.paused {
                w.paused = true;
                conn.set_receiving(false);
            }
            self.client.append_keyed(s.token, ct, body, key);
        }
        Action::Continue
    }

    /// A client's key as recorded: scoped by this vhost.
    fn scoped(&self, key: &str) -> Vec<u8> {
        scoped(&self.scope, key)
    }

    /// A WebSocket connection can take a write.
    pub fn writeable(&mut self, s: &Session) -> Action {
        let Hub { client, conns, .. } = self;
        match conns.get_mut(&s.token) {
            Some(Conn::WsIn(w)) => {
                if w.paused && w.inflight <= INFLIGHT_MAX / 2 && !w.ending {
                    w.paused = false;
                    w.conn.set_receiving(true);
                }
                for _ in 0..WRITES_PER_CALLBACK {
                    let Some(ack) = w.next_answer() else {
                        break;
                    };
                    if w.conn.write_text(ack.as_bytes()).is_err() {
                        return Action::Close;
                    }
                    if w.conn.send_pipe_choked() {
                        break;
                    }
                }
                if w.answers.front().is_some_and(Option::is_some) {
                    w.conn.request_writable();
                } else if w.ending && w.inflight == 0 && w.answers.is_empty() {
                    return w.conn.close_reason(1012, b"service restart");
                }
                Action::Continue
            }
            Some(Conn::Sub(sub)) => ws_writeable(client, s.token, sub),
            _ => Action::Continue,
        }
    }

    /// The connection is gone (or its HTTP transaction is done).
    pub fn closed(&mut self, s: Session) {
        self.owners.remove(&s.token);
        if let Some(Conn::Sub(_)) = self.conns.remove(&s.token) {
            Metrics::sub(&self.metrics().subscribers, 1);
        }
    }
}

fn ws_writeable(client: &Client, token: u64, sub: &mut Sub) -> Action {
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

fn sse_writeable(client: &Client, token: u64, sub: &mut Sub) -> Action {
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

fn poll_writeable(client: &Client, token: u64, sub: &mut Sub) -> Action {
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

/// A key as recorded: the vhost's name, a newline, the client's key (keys
/// are per vhost; vhosts may share a journal).
fn scoped(scope: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(scope.len() + 1 + key.len());
    k.extend_from_slice(scope.as_bytes());
    k.push(b'\n');
    k.extend_from_slice(key.as_bytes());
    k
}

/// A keyed WebSocket message: its first line (up to `\n`) is the key, or
/// empty for none; the rest, up to `max` bytes, is the packet. Returns the
/// key and where the packet starts.
fn split_key(msg: &[u8], max: usize) -> Result<(Option<&str>, usize), String> {
    let Some(nl) = msg.iter().take(257).position(|&b| b == b'\n') else {
        return Err(
            "keyed message: the key line (1 to 255 printable ASCII characters, \
                    or none) must end with \\n"
                .into(),
        );
    };
    if msg.len() - nl - 1 > max {
        return Err(format!("packet larger than max-packet-bytes ({max})"));
    }
    if nl == 0 {
        return Ok((None, 1));
    }
    let text = std::str::from_utf8(&msg[..nl]).unwrap_or("\u{0}");
    let key = idempotency_key(text)?;
    // The trimmed key is a slice of the line.
    let start = text.find(key.as_str()).unwrap_or(0);
    Ok((Some(&text[start..start + key.len()]), nl + 1))
}

/// A 503 answer: the journal's reason and when to retry.
fn refusal(conn: Connection, why: &str, retry_after: u64) -> Reply {
    let mut r = Reply::json(conn, 503, envelope::error(why));
    r.extra.push(("retry-after", retry_after.to_string()));
    r
}

/// A WebSocket refusal: `{"error":"...","retry_after":N}`.
fn refusal_text(why: &str, retry_after: u64) -> String {
    let mut out = String::from("{\"error\":");
    envelope::push_json_string(&mut out, why);
    out.push_str(&format!(",\"retry_after\":{retry_after}}}"));
    out
}

/// `v` as a Prometheus label value (the host refuses braces and newlines
/// in labels).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('{', "(")
        .replace('}', ")")
}
