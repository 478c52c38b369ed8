//! The running journal: a writer thread (appends, group commit, retention)
//! and a reader thread (journal reads for subscribers catching up, started
//! by the first read: a server that never reads the journal back, or not
//! yet, has one thread less to start and to keep), both off the event
//! loop. Results go back to the event loop through per-client
//! mailboxes and one wake-up call (the plugin passes `lws_cancel_service`).
//!
//! Group commit: the writer takes everything queued, writes it with one
//! `write`, syncs once, and acknowledges the lot. Packets that arrive while
//! a sync runs wait in the queue and share the next one, so the number of
//! syncs per second stays bounded by the disk while packets per second grow
//! with the number of concurrent producers. Under `fsync: always` the
//! writer also waits (about one sync at most) for the producers the last
//! sync answered, so producers that wait for their answer share one sync
//! instead of splitting into two groups that take turns (`gather`); the
//! queue wakes the writer only once that many are there (`queue`).
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

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
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

/// The reader thread of a [`Service`].
enum Reader {
    /// Not started: the queue it will read.
    Idle(Receiver<ReadReq>),
    /// Running.
    Started(JoinHandle<()>),
    /// Could not be started, or joined.
    Gone,
}

/// The journal service of one `journal-dir`.
pub struct Service {
    shared: Arc<Shared>,
    writes: Arc<Queue<WriteReq>>,
    read_tx: Option<Sender<ReadReq>>,
    /// The reader thread: its queue until the first read starts it, then
    /// the thread.
    reader: Mutex<Reader>,
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
        let writes = Arc::new(Queue::new());
        let write_rx = writes.clone();
        let (read_tx, read_rx) = mpsc::channel();
        let s1 = shared.clone();
        let mut threads = vec![std::thread::Builder::new()
            .name("packet-journal".into())
            .spawn(move || write_loop(&s1, appender, &write_rx))?];
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
            writes,
            read_tx: Some(read_tx),
            reader: Mutex::new(Reader::Idle(read_rx)),
            threads,
            stop,
            next_client: AtomicU64::new(1),
            recovery,
        }))
    }

    /// Starts the reader thread unless it runs: whether it does.
    fn start_reader(&self) -> bool {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*reader, Reader::Idle(_)) {
            let Reader::Idle(rx) = std::mem::replace(&mut *reader, Reader::Gone) else {
                return false;
            };
            let shared = self.shared.clone();
            match std::thread::Builder::new()
                .name("packet-reader".into())
                .spawn(move || read_loop(&shared, &rx))
            {
                Ok(t) => *reader = Reader::Started(t),
                Err(e) => self.shared.log(
                    Level::Error,
                    &format!("cannot start the reader thread: {e}"),
                ),
            }
        }
        matches!(*reader, Reader::Started(_))
    }

    /// Whether the reader thread was started (by a read).
    pub fn reader_started(&self) -> bool {
        matches!(
            *self.reader.lock().unwrap_or_else(|e| e.into_inner()),
            Reader::Started(_)
        )
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

    /// [`tail`](Service::tail) appending to `out`; the count appended.
    pub fn tail_into(
        &self,
        from: u64,
        max: usize,
        max_bytes: usize,
        out: &mut VecDeque<Arc<Packet>>,
    ) -> Result<usize, Miss> {
        let committed = self.committed();
        self.shared
            .tail()
            .get_into(from, committed, max, max_bytes, out)
    }

    /// Packet `id` from the live tail, when it is committed and still there.
    pub fn live_packet(&self, id: u64) -> Option<Arc<Packet>> {
        let mut out = VecDeque::with_capacity(1);
        self.tail_into(id, 1, usize::MAX, &mut out).ok()?;
        out.pop_front().filter(|p| p.id == id)
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
        self.writes.close();
        self.read_tx = None;
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let reader = std::mem::replace(
            &mut *self.reader.lock().unwrap_or_else(|e| e.into_inner()),
            Reader::Gone,
        );
        if let Reader::Started(t) = reader {
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
        if self.service.writes.push(req).is_err() {
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
        let sent = self.service.start_reader()
            && self
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

mod gather;
mod queue;
mod threads;
use queue::Queue;
use threads::{follow_loop, now_ms, read_loop, write_loop};

#[cfg(test)]
mod tests;
