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

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Backend, Fsync, Settings};
use crate::log::{Chunk, Entry, Log, Recovery};
use crate::metrics::{Metrics, Snapshot};
use crate::record::Packet;
use crate::store::{Appender, Follower, Opened, Store};
use crate::tail::{Miss, Tail};

/// How the service wakes the event loop (thread-safe, may coalesce).
pub type Notify = Arc<dyn Fn() + Send + Sync>;

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
        let opened = match &settings.backend {
            Backend::Segments => {
                let (log, writer, recovery) = Log::open(&settings.dir, settings.segment_bytes)?;
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
        });
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
    /// retention, `max-packet-bytes`, `live-buffer-bytes`); the directory,
    /// segment size and backend stay as opened.
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
        let req = WriteReq {
            client: self.id,
            token,
            content_type,
            data,
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
    Err(u64, u64, String),
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
        let wait = match settings.fsync {
            Fsync::Interval(d) if holding => d.saturating_sub(last_sync.elapsed()),
            _ => RETENTION_EVERY,
        };
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
        if !batch.is_empty() {
            write_batch(shared, w.as_mut(), batch, &mut held);
        }
        let holding = held.iter().any(|h| matches!(h, Held::Ok(..)));
        let sync_now = holding
            && match settings.fsync {
                Fsync::Always => true,
                Fsync::Interval(d) => !open || last_sync.elapsed() >= d,
                Fsync::Never => !open,
            };
        if sync_now {
            Metrics::add(&shared.metrics.syncs, 1);
            if let Err(e) = w.sync() {
                let why = format!("journal sync failed: {e}");
                for h in held.iter_mut() {
                    if let Held::Ok(c, t, _) = *h {
                        *h = Held::Err(c, t, why.clone());
                    }
                }
            }
            last_sync = Instant::now();
        }
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

fn write_batch(shared: &Shared, w: &mut dyn Appender, batch: Vec<WriteReq>, held: &mut Vec<Held>) {
    let ts = now_ms();
    let (ids, err) = {
        let entries: Vec<Entry<'_>> = batch
            .iter()
            .map(|r| Entry {
                ts_ms: ts,
                content_type: r.content_type.as_bytes(),
                data: &r.data,
            })
            .collect();
        w.append(&entries)
    };
    Metrics::add(&shared.metrics.commits, 1);
    let why = err.map(|e| format!("journal: {e}"));
    for (i, r) in batch.into_iter().enumerate() {
        match ids.get(i) {
            Some(&id) => {
                Metrics::add(&shared.metrics.packets_in, 1);
                Metrics::add(&shared.metrics.bytes_in, r.data.len() as u64);
                held.push(Held::Ok(
                    r.client,
                    r.token,
                    Arc::new(Packet::new(id, ts, r.content_type, r.data)),
                ));
            }
            None => {
                Metrics::add(&shared.metrics.refused, 1);
                held.push(Held::Err(
                    r.client,
                    r.token,
                    why.clone().unwrap_or_else(|| "journal error".into()),
                ));
            }
        }
    }
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
                        },
                    ));
                }
                Held::Err(client, token, why) => events.push((
                    client,
                    Event::Recorded {
                        token,
                        result: Err(why),
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
}
