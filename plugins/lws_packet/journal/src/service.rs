//! The running journal: a writer thread (appends, group commit, retention)
//! and a reader thread (journal reads for subscribers catching up), both
//! off the event loop. Results go back to the event loop through per-client
//! mailboxes and one wake-up call (the plugin passes `lws_cancel_service`).
//!
//! Group commit: the writer takes everything queued, writes it with one
//! `write`, syncs once, and acknowledges the lot. Packets that arrive while
//! a sync runs wait in the queue and share the next one, so the number of
//! syncs per second stays bounded by the disk while packets per second grow
//! with the number of concurrent producers.
//!
//! Idempotency: a packet sent with a key that was recorded within the dedup
//! window is answered with the original id and not stored again. A retry
//! that arrives while its original still waits for its group commit waits
//! with it, and is answered with it (or refused with it).
//!
//! Faults: the service is in one of the [`JournalState`]s. A full disk
//! refuses packets (retried once a second); a failed write or fsync stops
//! the journal, which reopens by itself on a backoff (cutting what was not
//! durable) and takes packets again when that works; a shared store that
//! cannot be reached refuses packets until it answers again. Refusals are
//! never acknowledgements, and [`Service::retry_after`] says when to retry.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Backend, Fsync, Settings};
use crate::faults::Faults;
use crate::log::{Chunk, Entry, Log, Recovery};
use crate::metrics::{Metrics, Snapshot};
use crate::record::Packet;
use crate::segment::Corruption;
use crate::store::{Appender, Follower, Opened, Outcome, Store};
use crate::tail::{Miss, Tail};

/// How the service wakes the event loop (thread-safe, may coalesce).
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// How the service logs (thread-safe): state changes and corruption.
pub type LogFn = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// A log line's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Packets are refused, or lost.
    Error,
    /// Something was repaired.
    Warn,
    /// Back to normal.
    Notice,
}

/// Whether the journal takes packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalState {
    /// It does.
    Ok,
    /// No space for a new segment: packets are refused, and writing is
    /// tried again once a second.
    Full,
    /// A write or fsync failed: packets are refused until the journal has
    /// reopened (tried on a backoff of 1 s doubling up to [`MAX_BACKOFF`]).
    Stopped,
    /// The store could not be written for another reason (Redis did not
    /// answer; a new segment file could not be made): packets are refused,
    /// and it is tried again once a second.
    Unavailable,
}

impl JournalState {
    /// As stats and logs show it.
    pub fn name(self) -> &'static str {
        match self {
            JournalState::Ok => "ok",
            JournalState::Full => "full",
            JournalState::Stopped => "stopped",
            JournalState::Unavailable => "unavailable",
        }
    }
}

/// Longest wait between two reopen attempts of a stopped journal.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Wait before writing is tried again on a full disk or a store that did
/// not answer.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Health {
    state: JournalState,
    why: Option<String>,
    retry_at: Option<Instant>,
    backoff: Duration,
}

/// Most packets taken into one group commit.
const MAX_BATCH: usize = 8192;
/// Most body bytes taken into one group commit.
const MAX_BATCH_BYTES: usize = 32 << 20;
/// How often retention is checked when idle.
const RETENTION_EVERY: Duration = Duration::from_secs(1);

/// A result for one client.
#[derive(Debug)]
pub enum Event {
    /// The packet submitted with `token` is recorded as `id` (or failed).
    Recorded {
        /// The token given to [`Client::append`].
        token: u64,
        /// Its id, or why it was not recorded.
        result: Result<u64, String>,
        /// Its idempotency key was recorded before: the id is the original
        /// packet's, and nothing new was stored.
        replayed: bool,
    },
    /// The read asked with `token` is done.
    Fetched {
        /// The token given to [`Client::fetch`].
        token: u64,
        /// The packets (or gap), or why the read failed.
        result: Result<Chunk, String>,
    },
}

#[derive(Debug, Default)]
struct Mailbox(Mutex<Vec<Event>>);

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Vec<Event>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Shared {
    log: Arc<dyn Store>,
    settings: Mutex<Settings>,
    committed: AtomicU64,
    tail: Mutex<Tail>,
    clients: Mutex<HashMap<u64, Arc<Mailbox>>>,
    notify: Notify,
    metrics: Metrics,
    /// Per client: (largest lag, subscribers catching up), as reported.
    lags: Mutex<HashMap<u64, (u64, u64)>>,
    health: Mutex<Health>,
    log_fn: LogFn,
    /// Corrupt stretches reported, by (file, offset), so each is counted
    /// and logged once.
    corrupt_seen: Mutex<std::collections::HashSet<(std::path::PathBuf, u64)>>,
}

impl Shared {
    fn settings(&self) -> Settings {
        self.settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn tail(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, level: Level, line: &str) {
        (self.log_fn)(
            level,
            &format!("lws_packet: {}: {line}", self.log.describe()),
        );
    }

    /// Counts and logs corrupt records not reported before.
    fn corruptions(&self, found: Vec<Corruption>) {
        for c in found {
            let new = self
                .corrupt_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((c.path.clone(), c.offset));
            if new {
                Metrics::add(&self.metrics.corruptions, 1);
                Metrics::add(&self.metrics.lost_packets, c.lost());
                (self.log_fn)(Level::Error, &format!("lws_packet: {c}"));
            }
        }
    }

    /// Why packets are refused now (without trying the store), if they are.
    fn refusing(&self) -> Option<String> {
        let h = self.health();
        match h.state {
            JournalState::Ok => None,
            JournalState::Stopped => h.why.clone(),
            JournalState::Full | JournalState::Unavailable => h
                .retry_at
                .filter(|t| Instant::now() < *t)
                .and(h.why.clone()),
        }
    }

    /// Enters `state` (not `Ok`) because of `why`.
    fn fail(&self, state: JournalState, why: &str) {
        let mut h = self.health();
        let was = h.state;
        h.state = state;
        h.why = Some(why.to_string());
        if state == JournalState::Stopped {
            if was != JournalState::Stopped {
                h.backoff = RETRY;
            }
            h.retry_at = Some(Instant::now() + h.backoff);
        } else {
            h.retry_at = Some(Instant::now() + RETRY);
        }
        let backoff = h.backoff;
        drop(h);
        if was != state {
            let line = match state {
                JournalState::Stopped => {
                    Metrics::add(&self.metrics.journal_failures, 1);
                    format!(
                        "stopped taking packets: {why}; reopening in {} s",
                        backoff.as_secs()
                    )
                }
                JournalState::Full => {
                    format!("refusing packets: {why}; trying again every second")
                }
                _ => format!("refusing packets: {why}; trying again every second"),
            };
            self.log(Level::Error, &line);
            (self.notify)();
        }
    }

    /// Back to taking packets (after a full disk or an unreachable store).
    fn recovered(&self) {
        let mut h = self.health();
        if h.state == JournalState::Ok || h.state == JournalState::Stopped {
            return;
        }
        let was = h.state;
        *h = Health {
            state: JournalState::Ok,
            why: None,
            retry_at: None,
            backoff: RETRY,
        };
        drop(h);
        self.log(
            Level::Notice,
            &format!("taking packets again (was {})", was.name()),
        );
        (self.notify)();
    }

    /// Hands `events` to their clients and wakes the event loop once.
    fn deliver(&self, events: Vec<(u64, Event)>) {
        if events.is_empty() {
            return;
        }
        {
            let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            let mut last: Option<(u64, MutexGuard<'_, Vec<Event>>)> = None;
            for (client, ev) in events {
                if last.as_ref().is_none_or(|(c, _)| *c != client) {
                    last = None;
                    if let Some(mb) = clients.get(&client) {
                        last = Some((client, mb.lock()));
                    }
                }
                if let Some((_, q)) = last.as_mut() {
                    q.push(ev);
                }
            }
        }
        (self.notify)();
    }
}

struct WriteReq {
    client: u64,
    token: u64,
    content_type: String,
    data: Vec<u8>,
    key: Option<Vec<u8>>,
    source: Option<String>,
}

struct ReadReq {
    client: u64,
    token: u64,
    from: u64,
    max_bytes: usize,
}

/// The journal service of one `journal-dir`.
pub struct Service {
    shared: Arc<Shared>,
    write_tx: Option<Sender<WriteReq>>,
    read_tx: Option<Sender<ReadReq>>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    next_client: AtomicU64,
    recovery: Recovery,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.shared.log.describe())
            .finish()
    }
}

impl Service {
    /// Opens the journal (recovering it) and starts its threads.
    pub fn open(settings: Settings, notify: Notify) -> io::Result<Arc<Service>> {
        Service::open_logged(settings, notify, Arc::new(|_, _| {}))
    }

    /// [`Service::open`], logging state changes and corruption with `log`.
    pub fn open_logged(settings: Settings, notify: Notify, log: LogFn) -> io::Result<Arc<Service>> {
        let opened = match &settings.backend {
            Backend::Segments => {
                let opts = crate::log::Options {
                    keys_since_ms: settings
                        .dedup_window_ms()
                        .map(|w| now_ms().saturating_sub(w)),
                    faults: settings.fault_file.clone().map(Faults::new),
                };
                let (log, writer, recovery) =
                    Log::open_with(&settings.dir, settings.segment_bytes, &opts)?;
                Opened {
                    store: log,
                    appender: Box::new(writer),
                    follower: None,
                    recovery,
                }
            }
            Backend::Redis(url) => crate::redis::open(
                url,
                &settings.redis_key,
                settings.fsync,
                settings.max_packet_bytes,
            )?,
        };
        let Opened {
            store,
            appender,
            follower,
            recovery,
        } = opened;
        let shared = Arc::new(Shared {
            committed: AtomicU64::new(recovery.next_id - 1),
            tail: Mutex::new(Tail::new(settings.live_bytes)),
            settings: Mutex::new(settings),
            log: store,
            clients: Mutex::new(HashMap::new()),
            notify,
            metrics: Metrics::default(),
            lags: Mutex::new(HashMap::new()),
            health: Mutex::new(Health {
                state: JournalState::Ok,
                why: None,
                retry_at: None,
                backoff: RETRY,
            }),
            log_fn: log,
            corrupt_seen: Mutex::new(std::collections::HashSet::new()),
        });
        for c in &recovery.corruptions {
            // Logged with the recovery (by the caller); counted here.
            shared
                .corrupt_seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((c.path.clone(), c.offset));
            Metrics::add(&shared.metrics.corruptions, 1);
            Metrics::add(&shared.metrics.lost_packets, c.lost());
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (write_tx, write_rx) = mpsc::channel();
        let (read_tx, read_rx) = mpsc::channel();
        let s1 = shared.clone();
        let mut threads = vec![std::thread::Builder::new()
            .name("packet-journal".into())
            .spawn(move || write_loop(&s1, appender, &write_rx))?];
        let s2 = shared.clone();
        threads.push(
            std::thread::Builder::new()
                .name("packet-reader".into())
                .spawn(move || read_loop(&s2, &read_rx))?,
        );
        if let Some(f) = follower {
            let s3 = shared.clone();
            let stop = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("packet-follow".into())
                    .spawn(move || follow_loop(&s3, f, &stop))?,
            );
        }
        Ok(Arc::new(Service {
            shared,
            write_tx: Some(write_tx),
            read_tx: Some(read_tx),
            threads,
            stop,
            next_client: AtomicU64::new(1),
            recovery,
        }))
    }

    /// The store, for logs (`journal <dir>`, `redis stream <key> at <url>`).
    pub fn describe(&self) -> String {
        self.shared.log.describe()
    }

    /// What opening found.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.shared.settings()
    }

    /// Applies the settings that can change while running (`fsync`,
    /// retention, `max-packet-bytes`, `live-buffer-bytes`,
    /// `dedup-window-secs`); the directory, segment size and backend stay
    /// as opened.
    pub fn update(&self, s: &Settings) {
        let mut cur = self
            .shared
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cur.fsync = s.fsync;
        cur.retain_bytes = s.retain_bytes;
        cur.retain_secs = s.retain_secs;
        cur.max_packet_bytes = s.max_packet_bytes;
        cur.dedup_window_secs = s.dedup_window_secs;
        if cur.live_bytes != s.live_bytes {
            cur.live_bytes = s.live_bytes;
            // Live subscribers read the journal until the new tail fills.
            *self.shared.tail() = Tail::new(s.live_bytes);
        }
    }

    /// The newest id a subscriber may see (durable as `fsync` says).
    pub fn committed(&self) -> u64 {
        self.shared.committed.load(Ordering::Acquire)
    }

    /// The oldest id kept.
    pub fn first_id(&self) -> u64 {
        self.shared.log.first_id()
    }

    /// Recent packets from `from` out of memory, or [`Miss`].
    pub fn tail(&self, from: u64, max: usize, max_bytes: usize) -> Result<Vec<Arc<Packet>>, Miss> {
        let committed = self.committed();
        self.shared.tail().get(from, committed, max, max_bytes)
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Whether the journal takes packets, and why not.
    pub fn state(&self) -> (JournalState, Option<String>) {
        let h = self.shared.health();
        (h.state, h.why.clone())
    }

    /// Whether a packet sent now would be refused without being tried: the
    /// journal does not take packets and its next attempt (to write again,
    /// or to reopen) is still to come. Once that time has passed, the next
    /// packet tries, so a health check must not keep the server out.
    pub fn refusing(&self) -> Option<String> {
        let h = self.shared.health();
        let waiting = h.retry_at.is_none_or(|t| t > Instant::now());
        (h.state != JournalState::Ok && waiting)
            .then(|| h.why.clone().unwrap_or_else(|| format!("{:?}", h.state)))
    }

    /// Seconds a refused client should wait before it retries (for
    /// `Retry-After`): until the next attempt to write or reopen, at least 1.
    pub fn retry_after(&self) -> u64 {
        let h = self.shared.health();
        let left = h.retry_at.map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        });
        left.as_secs_f64().ceil().max(1.0) as u64
    }

    /// Counters plus journal figures.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.shared.metrics.counters();
        s.first_id = self.first_id();
        s.last_id = self.committed();
        s.journal_bytes = self.shared.log.stored_bytes();
        s.segments = self.shared.log.segment_count() as u64;
        s.live_bytes = self.shared.tail().bytes() as u64;
        let lags = self.shared.lags.lock().unwrap_or_else(|e| e.into_inner());
        s.max_lag = lags.values().map(|l| l.0).max().unwrap_or(0);
        s.catching_up = lags.values().map(|l| l.1).sum();
        let (state, why) = self.state();
        s.journal_state = state.name();
        s.journal_error = why;
        s
    }

    /// A new client (one per plugin vhost instance), with its own mailbox.
    pub fn client(self: &Arc<Self>) -> Client {
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        let mailbox = Arc::new(Mailbox::default());
        self.shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, mailbox.clone());
        Client {
            id,
            mailbox,
            service: self.clone(),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Closing the queues ends the threads; the writer first commits
        // what it holds.
        self.write_tx = None;
        self.read_tx = None;
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One user of the service (a plugin's per-vhost state): submits appends
/// and reads, and collects their results from its mailbox.
pub struct Client {
    id: u64,
    mailbox: Arc<Mailbox>,
    service: Arc<Service>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("id", &self.id).finish()
    }
}

impl Client {
    /// The service.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Queues a packet; [`Event::Recorded`] with `token` follows. Packets of
    /// one client are recorded, and answered, in the order queued.
    pub fn append(&self, token: u64, content_type: String, data: Vec<u8>) {
        self.append_keyed(token, content_type, data, None);
    }

    /// [`Client::append`] with an idempotency key (scoped by the caller):
    /// when the key was recorded within the dedup window, the answer is the
    /// original id, marked as a replay, and nothing is stored.
    pub fn append_keyed(
        &self,
        token: u64,
        content_type: String,
        data: Vec<u8>,
        key: Option<Vec<u8>>,
    ) {
        self.append_from(token, content_type, data, key, None);
    }

    /// [`Client::append_keyed`] for a packet sent by `source` (its sender's
    /// label), which is recorded with it and shown to subscribers.
    pub fn append_from(
        &self,
        token: u64,
        content_type: String,
        data: Vec<u8>,
        key: Option<Vec<u8>>,
        source: Option<String>,
    ) {
        let req = WriteReq {
            client: self.id,
            token,
            content_type,
            data,
            key,
            source,
        };
        let sent = self
            .service
            .write_tx
            .as_ref()
            .is_some_and(|tx| tx.send(req).is_ok());
        if !sent {
            self.mailbox.lock().push(Event::Recorded {
                token,
                result: Err("the journal is closed".into()),
                replayed: false,
            });
            (self.service.shared.notify)();
        }
    }

    /// Queues a journal read from id `from` (about `max_bytes`);
    /// [`Event::Fetched`] with `token` follows.
    pub fn fetch(&self, token: u64, from: u64, max_bytes: usize) {
        let req = ReadReq {
            client: self.id,
            token,
            from,
            max_bytes,
        };
        let sent = self
            .service
            .read_tx
            .as_ref()
            .is_some_and(|tx| tx.send(req).is_ok());
        if !sent {
            self.mailbox.lock().push(Event::Fetched {
                token,
                result: Err("the journal is closed".into()),
            });
            (self.service.shared.notify)();
        }
    }

    /// Reports this client's subscribers: the largest lag (packets) and how
    /// many are catching up from the journal (shown by [`Service::snapshot`]).
    pub fn report_lag(&self, max_lag: u64, catching_up: u64) {
        self.service
            .shared
            .lags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.id, (max_lag, catching_up));
    }

    /// The results that arrived since the last call.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.mailbox.lock())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.service
            .shared
            .lags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.service
            .shared
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A written packet (or failure) waiting to be published.
enum Held {
    Ok(u64, u64, Arc<Packet>),
    /// A replay of packet `id`: answered with it, after it is durable.
    Replay(u64, u64, u64),
    Err(u64, u64, String),
}

impl Held {
    /// Turns an answer that was to be an acknowledgement into a refusal.
    fn fail(&mut self, why: &str) {
        if let Held::Ok(c, t, _) | Held::Replay(c, t, _) = *self {
            *self = Held::Err(c, t, why.to_string());
        }
    }
}

fn write_loop(shared: &Shared, mut w: Box<dyn Appender>, rx: &Receiver<WriteReq>) {
    let live = w.live_on_append();
    let mut held: Vec<Held> = Vec::new();
    let mut last_sync = Instant::now();
    let mut last_retention = Instant::now();
    let mut open = true;
    while open || !held.is_empty() {
        let mut settings = shared.settings();
        if !w.syncs() {
            // Durable as the store is configured: acknowledge on its answer.
            settings.fsync = Fsync::Never;
        }
        let holding = held.iter().any(|h| matches!(h, Held::Ok(..)));
        let mut wait = match settings.fsync {
            Fsync::Interval(d) if holding => d.saturating_sub(last_sync.elapsed()),
            _ => RETENTION_EVERY,
        };
        {
            // A stopped journal reopens when its time comes, traffic or not.
            let h = shared.health();
            if let (JournalState::Stopped, Some(t)) = (h.state, h.retry_at) {
                wait = wait.min(t.saturating_duration_since(Instant::now()));
            }
        }
        let mut batch = Vec::new();
        if open {
            match rx.recv_timeout(wait) {
                Ok(r) => batch.push(r),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
            let mut bytes = batch.first().map_or(0, |r: &WriteReq| r.data.len());
            while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(r) => {
                        bytes += r.data.len();
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
        }
        reopen_when_due(shared, w.as_mut(), settings.fsync == Fsync::Never);
        if !batch.is_empty() {
            match shared.refusing() {
                Some(why) => refuse(shared, batch, &why, &mut held),
                None => {
                    let err = write_batch(shared, w.as_mut(), batch, &mut held, &settings);
                    match (w.broken(), err) {
                        (Some(_), _) => {}
                        (None, Some(e)) if crate::faults::is_full(&e) => {
                            shared.fail(JournalState::Full, &format!("journal full: {e}"));
                        }
                        (None, Some(e)) => {
                            shared.fail(JournalState::Unavailable, &format!("journal: {e}"));
                        }
                        (None, None) => shared.recovered(),
                    }
                }
            }
        }
        let holding = held.iter().any(|h| matches!(h, Held::Ok(..)));
        let sync_now = holding
            && w.broken().is_none()
            && match settings.fsync {
                Fsync::Always => true,
                Fsync::Interval(d) => !open || last_sync.elapsed() >= d,
                Fsync::Never => !open,
            };
        if sync_now {
            Metrics::add(&shared.metrics.syncs, 1);
            let _ = w.sync();
            last_sync = Instant::now();
        }
        if let Some(why) = w.broken() {
            // Nothing written since the last good sync is acknowledged.
            if shared.health().state != JournalState::Stopped {
                shared.fail(JournalState::Stopped, &why);
            }
            for h in &mut held {
                h.fail(&why);
            }
        }
        let holding = held.iter().any(|h| matches!(h, Held::Ok(..)));
        if !held.is_empty() && (sync_now || settings.fsync == Fsync::Never || !holding) {
            publish(shared, std::mem::take(&mut held), live);
        }
        if last_retention.elapsed() >= RETENTION_EVERY {
            last_retention = Instant::now();
            let age = settings
                .retain_secs
                .map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX));
            w.retain(settings.retain_bytes, age, now_ms());
        }
    }
}

/// Reopens a stopped store when its backoff has passed; on success it
/// takes packets again, and durable packets found become visible.
fn reopen_when_due(shared: &Shared, w: &mut dyn Appender, keep_written: bool) {
    {
        let h = shared.health();
        if h.state != JournalState::Stopped || h.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
    }
    match w.reopen(keep_written) {
        Ok(rec) => {
            let last = rec.next_id - 1;
            let committed = shared.committed.load(Ordering::Acquire);
            if last < committed {
                shared.log(
                    Level::Error,
                    &format!("reopened at id {last}, below the last acknowledged {committed}"),
                );
            }
            // Durable but never acknowledged (synced before a later write
            // failed): delivered like packets found after a crash.
            shared.committed.fetch_max(last, Ordering::AcqRel);
            if let Some((path, cut)) = &rec.cut {
                shared.log(
                    Level::Warn,
                    &format!(
                        "{}: cut at offset {} ({}); it was never acknowledged",
                        path.display(),
                        cut.offset,
                        cut.reason
                    ),
                );
            }
            shared.corruptions(rec.corruptions);
            Metrics::add(&shared.metrics.journal_reopens, 1);
            *shared.health() = Health {
                state: JournalState::Ok,
                why: None,
                retry_at: None,
                backoff: RETRY,
            };
            shared.log(
                Level::Notice,
                &format!(
                    "reopened: {} packets, next id {}; taking packets again",
                    rec.records, rec.next_id
                ),
            );
            (shared.notify)();
        }
        Err(e) => {
            let mut h = shared.health();
            h.backoff = (h.backoff * 2).min(MAX_BACKOFF);
            h.retry_at = Some(Instant::now() + h.backoff);
            let next = h.backoff.as_secs();
            drop(h);
            shared.log(
                Level::Error,
                &format!("reopening failed: {e}; next try in {next} s"),
            );
        }
    }
}

/// Refuses `batch` without touching the store.
fn refuse(shared: &Shared, batch: Vec<WriteReq>, why: &str, held: &mut Vec<Held>) {
    Metrics::add(&shared.metrics.refused, batch.len() as u64);
    for r in batch {
        held.push(Held::Err(r.client, r.token, why.to_string()));
    }
}

/// Writes `batch`; returns the error that stopped part of it, if any.
fn write_batch(
    shared: &Shared,
    w: &mut dyn Appender,
    batch: Vec<WriteReq>,
    held: &mut Vec<Held>,
    settings: &Settings,
) -> Option<io::Error> {
    let ts = now_ms();
    let (outcomes, err) = {
        let entries: Vec<Entry<'_>> = batch
            .iter()
            .map(|r| Entry {
                ts_ms: ts,
                content_type: r.content_type.as_bytes(),
                data: &r.data,
                key: r.key.as_deref(),
                source: r.source.as_deref().map(str::as_bytes),
            })
            .collect();
        w.append(&entries, settings.dedup_window_ms())
    };
    Metrics::add(&shared.metrics.commits, 1);
    let why = err
        .as_ref()
        .map(|e| format!("journal: {e}"))
        .unwrap_or_else(|| "journal error".into());
    for (i, r) in batch.into_iter().enumerate() {
        match outcomes.get(i) {
            Some(Outcome::New(id)) => {
                Metrics::add(&shared.metrics.packets_in, 1);
                Metrics::add(&shared.metrics.bytes_in, r.data.len() as u64);
                if let Some(s) = &r.source {
                    shared.metrics.count_source(s);
                }
                let p = Packet::new(*id, ts, r.content_type, r.data).with_source(r.source);
                held.push(Held::Ok(r.client, r.token, Arc::new(p)));
            }
            Some(Outcome::Replay(id)) => held.push(Held::Replay(r.client, r.token, *id)),
            None => {
                Metrics::add(&shared.metrics.refused, 1);
                held.push(Held::Err(r.client, r.token, why.clone()));
            }
        }
    }
    err
}

/// Acknowledges `held`, and when `live`, makes the packets visible
/// (committed id, live tail) first.
fn publish(shared: &Shared, held: Vec<Held>, live: bool) {
    let mut events = Vec::with_capacity(held.len());
    let mut newest = None;
    {
        let mut tail = shared.tail();
        for h in held {
            match h {
                Held::Ok(client, token, p) => {
                    newest = Some(p.id);
                    let id = p.id;
                    if live {
                        tail.push(p);
                    }
                    events.push((
                        client,
                        Event::Recorded {
                            token,
                            result: Ok(id),
                            replayed: false,
                        },
                    ));
                }
                Held::Replay(client, token, id) => {
                    Metrics::add(&shared.metrics.replays, 1);
                    events.push((
                        client,
                        Event::Recorded {
                            token,
                            result: Ok(id),
                            replayed: true,
                        },
                    ));
                }
                Held::Err(client, token, why) => events.push((
                    client,
                    Event::Recorded {
                        token,
                        result: Err(why),
                        replayed: false,
                    },
                )),
            }
        }
    }
    if let Some(id) = newest.filter(|_| live) {
        shared.committed.fetch_max(id, Ordering::AcqRel);
    }
    // Group by client so each mailbox is locked once (order within a
    // client is kept: the sort is stable).
    events.sort_by_key(|(c, _)| *c);
    shared.deliver(events);
}

/// How long a follower waits for new packets before checking for a stop.
const FOLLOW_WAIT: Duration = Duration::from_millis(500);

/// Makes packets appended anywhere to a shared store live here, in id
/// order. After an error it waits (up to 2 s, doubling) and reconnects;
/// subscribers then resume where the committed id stands.
fn follow_loop(shared: &Shared, mut f: Box<dyn Follower>, stop: &std::sync::atomic::AtomicBool) {
    let mut pause = Duration::from_millis(50);
    while !stop.load(Ordering::Acquire) {
        let after = shared.committed.load(Ordering::Acquire);
        match f.next(after, FOLLOW_WAIT) {
            Ok(packets) => {
                pause = Duration::from_millis(50);
                let Some(newest) = packets.last().map(|p| p.id) else {
                    continue;
                };
                {
                    let mut tail = shared.tail();
                    for p in packets {
                        tail.push(Arc::new(p));
                    }
                }
                shared.committed.fetch_max(newest, Ordering::AcqRel);
                (shared.notify)();
            }
            Err(_) => {
                Metrics::add(&shared.metrics.store_errors, 1);
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

fn read_loop(shared: &Shared, rx: &Receiver<ReadReq>) {
    while let Ok(first) = rx.recv() {
        let mut events = Vec::new();
        let mut next = Some(first);
        while let Some(r) = next {
            let upto = shared.committed.load(Ordering::Acquire);
            Metrics::add(&shared.metrics.journal_reads, 1);
            let result = shared
                .log
                .read(r.from, upto, r.max_bytes)
                .map_err(|e| format!("journal read: {e}"));
            events.push((
                r.client,
                Event::Fetched {
                    token: r.token,
                    result,
                },
            ));
            next = rx.try_recv().ok();
        }
        shared.corruptions(shared.log.take_corruptions());
        events.sort_by_key(|(c, _)| *c);
        shared.deliver(events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{collect, ids, waker};

    fn settings(dir: &std::path::Path, fsync: Fsync) -> Settings {
        Settings {
            dir: dir.to_path_buf(),
            fsync,
            segment_bytes: 1 << 20,
            ..Settings::default()
        }
    }

    #[test]
    fn appends_are_acknowledged_in_order_for_every_policy() {
        for fsync in [
            Fsync::Always,
            Fsync::Interval(Duration::from_millis(5)),
            Fsync::Never,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (notify, pair) = waker();
            let svc = Service::open(settings(dir.path(), fsync), notify).unwrap();
            let c = svc.client();
            for i in 0..1000u64 {
                c.append(i, "text/plain".into(), i.to_string().into_bytes());
            }
            let ev = collect(&c, &pair, 1000);
            assert_eq!(ids(&ev), (1..=1000).collect::<Vec<_>>(), "{fsync:?}");
            let tokens: Vec<u64> = ev
                .iter()
                .map(|e| match e {
                    Event::Recorded { token, .. } => *token,
                    _ => 0,
                })
                .collect();
            assert_eq!(tokens, (0..1000).collect::<Vec<_>>());
            assert_eq!(svc.committed(), 1000);
            let got = svc.tail(998, 10, usize::MAX).unwrap();
            assert_eq!(
                got.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
                [b"997".to_vec(), b"998".to_vec(), b"999".to_vec()]
            );
            assert!(svc.snapshot().syncs >= 1 || fsync == Fsync::Never);
        }
    }

    #[test]
    fn group_commit_shares_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let (notify, pair) = waker();
        let svc = Service::open(settings(dir.path(), Fsync::Always), notify).unwrap();
        let c = svc.client();
        for i in 0..5000u64 {
            c.append(i, String::new(), vec![1; 100]);
        }
        assert_eq!(collect(&c, &pair, 5000).len(), 5000);
        let s = svc.snapshot();
        assert!(s.syncs < 5000, "{} syncs for 5000 packets", s.syncs);
    }

    #[test]
    fn fetch_reads_the_journal_and_reports_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let (notify, pair) = waker();
        {
            let svc = Service::open(settings(dir.path(), Fsync::Always), notify.clone()).unwrap();
            let c = svc.client();
            for i in 0..300u64 {
                c.append(i, "a/b".into(), vec![i as u8; 10]);
            }
            assert_eq!(collect(&c, &pair, 300).len(), 300);
        }
        // Reopened: the tail is empty, the journal has everything.
        let svc = Service::open(settings(dir.path(), Fsync::Always), notify).unwrap();
        assert_eq!(svc.committed(), 300);
        assert!(matches!(svc.tail(5, 10, 100), Err(Miss)));
        let c = svc.client();
        c.fetch(7, 5, 1 << 20);
        let ev = collect(&c, &pair, 1);
        let Some(Event::Fetched {
            token: 7,
            result: Ok(chunk),
        }) = ev.first()
        else {
            panic!("{ev:?}")
        };
        assert_eq!(chunk.packets.len(), 296);
        assert_eq!(chunk.packets[0].id, 5);
        c.append(0, String::new(), Vec::new());
        assert_eq!(ids(&collect(&c, &pair, 1)), [301]);
    }

    #[test]
    fn a_source_is_recorded_with_its_packet_counted_and_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (notify, pair) = waker();
        {
            let svc = Service::open(settings(dir.path(), Fsync::Always), notify.clone()).unwrap();
            let c = svc.client();
            c.append_from(1, "a/b".into(), b"x".to_vec(), None, Some("ctrl-1".into()));
            c.append_from(
                2,
                "a/b".into(),
                b"y".to_vec(),
                Some(b"v\nk".to_vec()),
                Some("ctrl-1".into()),
            );
            c.append_from(3, "a/b".into(), b"z".to_vec(), None, Some("ctrl-2".into()));
            c.append(4, "a/b".into(), b"w".to_vec());
            assert_eq!(ids(&collect(&c, &pair, 4)), [1, 2, 3, 4]);
            // Live subscribers see it in the envelope.
            let live = svc.tail(1, 10, usize::MAX).unwrap();
            assert!(live[0].envelope().contains("\"source\":\"ctrl-1\""));
            assert!(!live[3].envelope().contains("source"));
            assert_eq!(
                svc.snapshot().sources,
                [("ctrl-1".to_string(), 2), ("ctrl-2".to_string(), 1)]
            );
            assert!(svc
                .snapshot()
                .to_json()
                .ends_with("\"sources\":{\"ctrl-1\":2,\"ctrl-2\":1}}"));
        }
        let svc = Service::open(settings(dir.path(), Fsync::Always), notify).unwrap();
        let c = svc.client();
        c.fetch(7, 1, 1 << 20);
        let ev = collect(&c, &pair, 1);
        let Some(Event::Fetched {
            result: Ok(chunk), ..
        }) = ev.first()
        else {
            panic!("{ev:?}")
        };
        let sources: Vec<_> = chunk.packets.iter().map(|p| p.source.as_deref()).collect();
        assert_eq!(
            sources,
            [Some("ctrl-1"), Some("ctrl-1"), Some("ctrl-2"), None]
        );
        // The keyed one's key still deduplicates after the restart.
        c.append_from(
            9,
            "a/b".into(),
            b"y".to_vec(),
            Some(b"v\nk".to_vec()),
            Some("ctrl-1".into()),
        );
        assert_eq!(recorded(&collect(&c, &pair, 1)[0]), (9, Ok(2), true));
    }

    fn recorded(ev: &Event) -> (u64, Result<u64, String>, bool) {
        match ev {
            Event::Recorded {
                token,
                result,
                replayed,
            } => (*token, result.clone(), *replayed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_retry_while_its_original_waits_for_the_commit_gets_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let (notify, pair) = waker();
        // A long interval: the original waits for its sync when the retry
        // arrives.
        let s = settings(dir.path(), Fsync::Interval(Duration::from_millis(300)));
        let svc = Service::open(s.clone(), notify.clone()).unwrap();
        let c = svc.client();
        c.append_keyed(1, "t".into(), b"first".to_vec(), Some(b"k1".to_vec()));
        std::thread::sleep(Duration::from_millis(50));
        c.append_keyed(2, "t".into(), b"retry".to_vec(), Some(b"k1".to_vec()));
        c.append_keyed(3, "t".into(), b"other".to_vec(), Some(b"k2".to_vec()));
        let ev: Vec<_> = collect(&c, &pair, 3).iter().map(recorded).collect();
        assert_eq!(ev, [(1, Ok(1), false), (2, Ok(1), true), (3, Ok(2), false)]);
        assert_eq!(svc.snapshot().replays, 1);
        assert_eq!(svc.snapshot().packets_in, 2);
        drop((c, svc));
        // After a restart the key is still known (it is in the record).
        let svc = Service::open(s, notify).unwrap();
        let c = svc.client();
        c.append_keyed(4, "t".into(), b"late".to_vec(), Some(b"k2".to_vec()));
        c.append_keyed(5, "t".into(), b"new".to_vec(), Some(b"k3".to_vec()));
        let ev: Vec<_> = collect(&c, &pair, 2).iter().map(recorded).collect();
        assert_eq!(ev, [(4, Ok(2), true), (5, Ok(3), false)]);
    }

    /// A logger that keeps its lines.
    fn lines() -> (LogFn, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        let f: LogFn = Arc::new(move |_, line| l2.lock().unwrap().push(line.to_string()));
        (f, lines)
    }

    fn wait_state(svc: &Service, want: JournalState) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while svc.state().0 != want {
            assert!(Instant::now() < deadline, "state {:?}", svc.state());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_failed_fsync_stops_ingest_until_the_journal_reopens_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let fault = dir.path().join("fault");
        let (notify, pair) = waker();
        let (log, lines) = lines();
        let mut s = settings(&dir.path().join("j"), Fsync::Always);
        s.fault_file = Some(fault.clone());
        let svc = Service::open_logged(s, notify, log).unwrap();
        let c = svc.client();
        for i in 0..5 {
            c.append(i, "t".into(), b"before".to_vec());
        }
        assert_eq!(ids(&collect(&c, &pair, 5)), [1, 2, 3, 4, 5]);
        std::fs::write(&fault, "sync").unwrap();
        c.append(10, "t".into(), b"during".to_vec());
        let (_, r, _) = recorded(&collect(&c, &pair, 1)[0]);
        assert!(r.unwrap_err().contains("sync failed"));
        assert_eq!(svc.state().0, JournalState::Stopped);
        let snap = svc.snapshot();
        assert_eq!((snap.journal_state, snap.journal_failures), ("stopped", 1));
        assert!(snap.journal_error.unwrap().contains("injected fsync fault"));
        assert!(svc.retry_after() >= 1);
        // Refused at once while stopped, and never acknowledged.
        for i in 11..20 {
            c.append(i, "t".into(), b"refused".to_vec());
        }
        let ev = collect(&c, &pair, 9);
        assert!(ev.iter().all(|e| recorded(e).1.is_err()), "{ev:?}");
        assert_eq!(svc.committed(), 5);
        // Reopening fails while the cause lasts (the backoff grows) ...
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(svc.state().0, JournalState::Stopped);
        // ... and works once it is gone, without anyone asking.
        std::fs::remove_file(&fault).unwrap();
        wait_state(&svc, JournalState::Ok);
        c.append(20, "t".into(), b"after".to_vec());
        assert_eq!(ids(&collect(&c, &pair, 1)), [6]);
        let text = lines.lock().unwrap().join("\n");
        assert!(text.contains("stopped taking packets"), "{text}");
        assert!(text.contains("reopening failed"), "{text}");
        assert!(text.contains("reopened"), "{text}");
        assert_eq!(svc.snapshot().journal_reopens, 1);
        c.fetch(1, 1, usize::MAX);
        let Some(Event::Fetched {
            result: Ok(chunk), ..
        }) = collect(&c, &pair, 1).pop()
        else {
            panic!("fetch")
        };
        let got: Vec<_> = chunk.packets.iter().map(|p| p.data.clone()).collect();
        assert_eq!(got.len(), 6);
        assert!(got[..5].iter().all(|d| d == b"before"));
        assert_eq!(got[5], b"after");
    }

    #[test]
    fn no_room_for_a_segment_refuses_and_resumes_when_there_is() {
        let dir = tempfile::tempdir().unwrap();
        let fault = dir.path().join("fault");
        let (notify, pair) = waker();
        let mut s = settings(&dir.path().join("j"), Fsync::Always);
        s.segment_bytes = 64 << 10;
        s.fault_file = Some(fault.clone());
        let svc = Service::open(s, notify).unwrap();
        let c = svc.client();
        std::fs::write(&fault, "full").unwrap();
        let mut acked = 0;
        loop {
            c.append(0, "t".into(), vec![1; 1000]);
            match recorded(&collect(&c, &pair, 1)[0]).1 {
                Ok(_) => acked += 1,
                Err(e) => {
                    assert!(e.contains("No space"), "{e}");
                    break;
                }
            }
        }
        assert_eq!(svc.state().0, JournalState::Full);
        assert_eq!(svc.snapshot().journal_state, "full");
        std::fs::remove_file(&fault).unwrap();
        // Within a second or so, packets are taken again.
        let deadline = Instant::now() + Duration::from_secs(10);
        let id = loop {
            c.append(0, "t".into(), vec![2; 1000]);
            if let (_, Ok(id), _) = recorded(&collect(&c, &pair, 1)[0]) {
                break id;
            }
            assert!(Instant::now() < deadline, "never resumed");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(id, acked + 1);
        assert_eq!(svc.state().0, JournalState::Ok);
    }
}
