//! The service's threads: the writer (group commit, faults and reopening,
//! publishing what is durable), the follower of a shared store, and the
//! reader of lagging subscribers.

use super::gather::Gather;
use super::*;

pub(super) fn now_ms() -> i64 {
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

pub(super) fn write_loop(shared: &Shared, mut w: Box<dyn Appender>, rx: &Queue<WriteReq>) {
    let live = w.live_on_append();
    let mut held: Vec<Held> = Vec::new();
    let mut last_sync = Instant::now();
    let mut last_retention = Instant::now();
    let mut open = true;
    let mut gather = Gather::default();
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
            // What waited during the last sync, then (if nothing did) the
            // next packet to come.
            let mut bytes = 0;
            open = take(rx, &mut batch, &mut bytes);
            let queued = batch.len();
            if open && batch.is_empty() {
                rx.wait_for(1, Instant::now() + wait);
                open = take(rx, &mut batch, &mut bytes);
                if batch.is_empty() {
                    // Idle: whoever was answered is not coming back soon.
                    gather.answered(0);
                }
            }
            let syncing = settings.fsync == Fsync::Always
                && w.broken().is_none()
                && shared.refusing().is_none();
            // Under `always`, the senders just answered share this sync
            // (see `gather`), within the batch's limits.
            let room = MAX_BATCH.saturating_sub(batch.len());
            if open && syncing && !batch.is_empty() && room > 0 && bytes < MAX_BATCH_BYTES {
                if let Some(plan) = gather.plan(batch.len(), queued) {
                    let more = (gather.expect(queued) - batch.len()).min(room);
                    rx.wait_for(more, Instant::now() + plan.most);
                    open = take(rx, &mut batch, &mut bytes);
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
            let started = Instant::now();
            let _ = w.sync();
            last_sync = Instant::now();
            gather.synced(last_sync - started);
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
            gather.answered(held.len());
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

/// Takes what is queued into `batch` (within [`MAX_BATCH`] and
/// [`MAX_BATCH_BYTES`]); false once the queue is closed and empty.
fn take(rx: &Queue<WriteReq>, batch: &mut Vec<WriteReq>, bytes: &mut usize) -> bool {
    rx.take(batch, bytes, MAX_BATCH, MAX_BATCH_BYTES, |r| r.data.len())
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
pub(super) fn follow_loop(
    shared: &Shared,
    mut f: Box<dyn Follower>,
    stop: &std::sync::atomic::AtomicBool,
) {
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

pub(super) fn read_loop(shared: &Shared, rx: &Receiver<ReadReq>) {
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
