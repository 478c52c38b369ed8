//! `lws_threadpool_*`: plugin tasks on worker threads whose results come
//! back through the service thread, as lws does it.
//!
//! A task runs in slices on a worker (`TaskFns::slice`). When a slice
//! returns SYNC, and when the task is done, the worker posts a job to the
//! service thread that owns the task's wsi, which asks for WRITEABLE on it
//! there (lws's `lws_cancel_service` + `lws_callback_on_writable`). In
//! WRITEABLE the plugin reads the status; FINISHED or STOPPED reaps the task
//! (its `cleanup` runs). A closing wsi detaches its tasks: a running one is
//! asked to stop and reaped by its worker with `cleanup(NULL, user)`.
//!
//! Plugins hold pools and tasks by handle: a number the tables here map to
//! the object, never dereferenced. A pool keeps its plugin's library loaded
//! while its workers live; one its plugin did not destroy by the end of its
//! PROTOCOL_DESTROY is stopped here, with a warning ([`ended`]).

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::time::Duration;

use comlink_plugin_api::abi::{
    LWS_TP_RETURN_CHECKING_IN, LWS_TP_RETURN_FINISHED, LWS_TP_RETURN_FLAG_OUTLIVE,
    LWS_TP_RETURN_STOPPED, LWS_TP_RETURN_SYNC, LWS_TP_STATUS_FINISHED, LWS_TP_STATUS_QUEUED,
    LWS_TP_STATUS_RUNNING, LWS_TP_STATUS_STOPPED, LWS_TP_STATUS_STOPPING, LWS_TP_STATUS_SYNCING,
};

use crate::host::context::CONTEXT;
use crate::host::ffi::call;
use crate::host::ffi::load::LibHandle;
pub(crate) use crate::host::ffi::tasks::TaskFns;
use crate::host::thread::{Command, Handoff};

/// How long a SYNC waits for the service thread, per try ...
const SYNC_WAIT: Duration = Duration::from_secs(3);
/// ... and how many tries before the task is stopped (lws's figures).
const SYNC_TRIES: u32 = 15;
/// Most workers one pool may have.
const MAX_THREADS: usize = 64;

thread_local! {
    /// (site, library) of the callback running on this thread, so a pool
    /// knows whose it is.
    static CALLER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Runs `f` as a callback of the protocol of library `lib` on `site`.
pub(crate) fn as_caller<R>(site: usize, lib: usize, f: impl FnOnce() -> R) -> R {
    let before = CALLER.with(|c| c.replace((site, lib)));
    let r = f();
    CALLER.with(|c| c.set(before));
    r
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
/// Tasks bound to some wsi (so closing a wsi skips the tables when none is).
static BOUND: AtomicUsize = AtomicUsize::new(0);

fn next_id() -> usize {
    // Multiples of 16: they look like (and compare as) addresses to C.
    NEXT_ID.fetch_add(1, Ordering::Relaxed) << 4
}

#[derive(Default)]
struct Tables {
    pools: HashMap<usize, Arc<Pool>>,
    tasks: HashMap<usize, Arc<Task>>,
    /// wsi address -> its tasks, oldest first.
    by_wsi: HashMap<usize, Vec<usize>>,
}

static TABLES: LazyLock<Mutex<Tables>> = LazyLock::new(Default::default);

fn tables() -> MutexGuard<'static, Tables> {
    TABLES.lock().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A wsi a task reports to: its address and service thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsiRef {
    /// `struct lws *`.
    pub(crate) addr: usize,
    /// Its service thread.
    pub(crate) tsi: usize,
}

/// One pool of workers.
pub(crate) struct Pool {
    id: usize,
    name: String,
    max_queue: usize,
    /// (site, library) that made it, when a plugin callback did.
    owner: (usize, usize),
    /// Keeps the plugin's code loaded while workers may run it.
    _lib: Option<Arc<LibHandle>>,
    destroying: AtomicBool,
    state: Mutex<PoolState>,
    work: Condvar,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Arc<Task>>,
    running: Vec<Arc<Task>>,
    done: Vec<Arc<Task>>,
}

/// One task.
pub(crate) struct Task {
    id: usize,
    name: String,
    pool: Weak<Pool>,
    fns: TaskFns,
    st: Mutex<TaskState>,
    synced: Condvar,
}

struct TaskState {
    status: c_int,
    wsi: Option<WsiRef>,
    outlive: bool,
    /// `lws_threadpool_task_sync` was called since the SYNC began.
    signalled: bool,
}

/// `lws_threadpool_create`: a pool of `threads` workers; its handle.
pub(crate) fn create(name: &str, threads: c_int, max_queue: c_int) -> Option<usize> {
    let threads = usize::try_from(threads).ok()?.clamp(1, MAX_THREADS);
    let owner = CALLER.with(Cell::get);
    let pool = Arc::new(Pool {
        id: next_id(),
        name: name.to_owned(),
        max_queue: usize::try_from(max_queue).unwrap_or(0),
        owner,
        _lib: library(owner.1),
        destroying: AtomicBool::new(false),
        state: Mutex::new(PoolState::default()),
        work: Condvar::new(),
        workers: Mutex::new(Vec::new()),
    });
    let mut workers = Vec::new();
    for n in 0..threads {
        let p = pool.clone();
        match std::thread::Builder::new()
            .name(format!("tp-{}-{n}", short(name)))
            .spawn(move || worker(&p))
        {
            Ok(h) => workers.push(h),
            Err(e) => tracing::error!("threadpool \"{name}\": cannot start a worker: {e}"),
        }
    }
    if workers.is_empty() {
        return None;
    }
    *lock(&pool.workers) = workers;
    let id = pool.id;
    tables().pools.insert(id, pool);
    tracing::debug!("threadpool \"{name}\": {threads} worker(s)");
    Some(id)
}

/// Thread names are at most 15 bytes on Linux.
fn short(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect()
}

/// The loaded library at `addr` (held by a live site's protocol).
fn library(addr: usize) -> Option<Arc<LibHandle>> {
    if addr == 0 {
        return None;
    }
    crate::host::vhost::live_sites().iter().find_map(|s| {
        s.vhosts
            .iter()
            .flat_map(|v| v.protocols.iter())
            .find(|p| Arc::as_ptr(&p.def.lib) as usize == addr)
            .map(|p| p.def.lib.clone())
    })
}

fn pool(id: usize) -> Option<Arc<Pool>> {
    tables().pools.get(&id).cloned()
}

fn task(id: usize) -> Option<Arc<Task>> {
    tables().tasks.get(&id).cloned()
}

/// `lws_threadpool_enqueue`: queues a task for `wsi` (None: a task nobody
/// collects, reaped by its worker); its handle, or None when the pool is
/// finishing or its queue is full.
pub(crate) fn enqueue(
    pool_id: usize,
    wsi: Option<WsiRef>,
    fns: TaskFns,
    name: &str,
) -> Option<usize> {
    let pool = pool(pool_id)?;
    if pool.destroying.load(Ordering::Acquire) {
        return None;
    }
    let mut st = lock(&pool.state);
    if st.queue.len() >= pool.max_queue {
        tracing::info!(
            "threadpool \"{}\": queue reached its limit {}",
            pool.name,
            pool.max_queue
        );
        return None;
    }
    let task = Arc::new(Task {
        id: next_id(),
        name: name.to_owned(),
        pool: Arc::downgrade(&pool),
        fns,
        st: Mutex::new(TaskState {
            status: LWS_TP_STATUS_QUEUED,
            wsi,
            outlive: false,
            signalled: false,
        }),
        synced: Condvar::new(),
    });
    {
        let mut t = tables();
        t.tasks.insert(task.id, task.clone());
        if let Some(w) = wsi {
            t.by_wsi.entry(w.addr).or_default().push(task.id);
            BOUND.fetch_add(1, Ordering::Relaxed);
        }
    }
    st.queue.push_back(task.clone());
    pool.work.notify_one();
    Some(task.id)
}

/// One worker: takes queued tasks and runs them slice by slice.
fn worker(pool: &Arc<Pool>) {
    loop {
        let task = {
            let mut st = lock(&pool.state);
            loop {
                if pool.destroying.load(Ordering::Acquire) {
                    return;
                }
                if let Some(t) = st.queue.pop_front() {
                    st.running.push(t.clone());
                    break t;
                }
                st = pool.work.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        lock(&task.st).status = LWS_TP_STATUS_RUNNING;
        let status = run(pool, &task);
        finish_task(pool, &task, status);
    }
}

/// Runs the task's slices until it is done; its final status. FINISHED
/// and STOPPED are only published by [`finish_task`], together with the
/// task's move to the done list, so the service thread never reaps a task
/// its worker still holds.
fn run(pool: &Pool, task: &Task) -> c_int {
    loop {
        let status = {
            let mut s = lock(&task.st);
            if pool.destroying.load(Ordering::Acquire) || s.wsi.is_none() {
                s.status = LWS_TP_STATUS_STOPPING;
            }
            s.status
        };
        let n = task.fns.slice(status);
        if n & LWS_TP_RETURN_FLAG_OUTLIVE != 0 {
            lock(&task.st).outlive = true;
        }
        match n & 7 {
            LWS_TP_RETURN_CHECKING_IN => {}
            LWS_TP_RETURN_SYNC => sync(pool, task),
            LWS_TP_RETURN_FINISHED => return LWS_TP_STATUS_FINISHED,
            LWS_TP_RETURN_STOPPED => return LWS_TP_STATUS_STOPPED,
            other => tracing::warn!("threadpool task \"{}\": slice returned {other}", task.name),
        }
        let now = lock(&task.st).status;
        if now != LWS_TP_STATUS_RUNNING {
            return now;
        }
    }
}

/// A SYNC: ask the service thread for WRITEABLE on the task's wsi and wait
/// for its `lws_threadpool_task_sync`. If it never comes, the task is
/// detached and stopped.
fn sync(pool: &Pool, task: &Task) {
    let mut s = lock(&task.st);
    let Some(w) = s.wsi else {
        // Detached: nobody to sync with (lws bypasses the sync).
        return;
    };
    let before = s.status;
    s.status = LWS_TP_STATUS_SYNCING;
    s.signalled = false;
    let mut wsi = Some(w);
    for _ in 0..SYNC_TRIES {
        let Some(w) = wsi else {
            s.status = LWS_TP_STATUS_STOPPING;
            return;
        };
        writable_soon(task.id, w);
        let (g, _) = task
            .synced
            .wait_timeout_while(s, SYNC_WAIT, |s| {
                !s.signalled && s.wsi.is_some() && !pool.destroying.load(Ordering::Acquire)
            })
            .unwrap_or_else(|e| e.into_inner());
        s = g;
        if s.signalled || pool.destroying.load(Ordering::Acquire) {
            if s.status == LWS_TP_STATUS_SYNCING {
                s.status = before;
            }
            return;
        }
        wsi = s.wsi;
    }
    if s.wsi.is_none() {
        s.status = LWS_TP_STATUS_STOPPING;
        return;
    }
    tracing::error!(
        "threadpool task \"{}\": the service thread did not take its SYNC result; stopping it",
        task.name
    );
    s.status = LWS_TP_STATUS_STOPPING;
    drop(s);
    detach(task);
}

/// The task left its worker: to the done list for its wsi to collect, or,
/// with no wsi, reaped here.
fn finish_task(pool: &Pool, task: &Arc<Task>, status: c_int) {
    let wsi = {
        let mut st = lock(&pool.state);
        st.running.retain(|t| t.id != task.id);
        let mut s = lock(&task.st);
        s.status = if status == LWS_TP_STATUS_FINISHED {
            LWS_TP_STATUS_FINISHED
        } else {
            LWS_TP_STATUS_STOPPED
        };
        if s.wsi.is_some() {
            st.done.push(task.clone());
        }
        s.wsi
    };
    match wsi {
        Some(w) => writable_soon(task.id, w),
        None => reap(task, None),
    }
}

/// Asks for WRITEABLE on `w` from its own service thread, if the task is
/// still bound to it then.
fn writable_soon(task_id: usize, w: WsiRef) {
    let job = move || {
        let bound = tables()
            .by_wsi
            .get(&w.addr)
            .is_some_and(|ids| ids.contains(&task_id));
        if bound {
            call::with_live(w.addr, |wsi| wsi.request_writable());
        }
    };
    CONTEXT.post(w.tsi, Command::Run(Handoff::new(Box::new(job))));
}

/// Unbinds a task from its wsi.
fn detach(task: &Task) {
    let w = lock(&task.st).wsi.take();
    // A worker waiting in SYNC for this wsi stops waiting.
    task.synced.notify_all();
    if let Some(w) = w {
        unbind(task.id, w.addr);
    }
}

fn unbind(task_id: usize, addr: usize) {
    let mut t = tables();
    if let Some(ids) = t.by_wsi.get_mut(&addr) {
        let before = ids.len();
        ids.retain(|&i| i != task_id);
        if ids.len() < before {
            BOUND.fetch_sub(1, Ordering::Relaxed);
        }
        if ids.is_empty() {
            t.by_wsi.remove(&addr);
        }
    }
}

/// Forgets a task and runs its cleanup with `wsi` (or NULL).
fn reap(task: &Task, wsi: Option<usize>) {
    detach(task);
    tables().tasks.remove(&task.id);
    task.fns.cleanup(wsi.unwrap_or(0));
}

/// `lws_threadpool_task_status`: the status and user pointer; FINISHED or
/// STOPPED reaps the task (cleanup with its wsi). An unknown handle reads
/// FINISHED, as a task lws already let go does.
pub(crate) fn status(task_id: usize, reap_done: bool) -> (c_int, usize) {
    let Some(task) = task(task_id) else {
        return (LWS_TP_STATUS_FINISHED, 0);
    };
    let (status, wsi) = {
        let s = lock(&task.st);
        (s.status, s.wsi)
    };
    let user = task.fns.user();
    if reap_done && (status == LWS_TP_STATUS_FINISHED || status == LWS_TP_STATUS_STOPPED) {
        let listed = task.pool.upgrade().is_some_and(|p| {
            let mut st = lock(&p.state);
            let before = st.done.len();
            st.done.retain(|t| t.id != task_id);
            st.done.len() < before
        });
        if listed {
            reap(&task, wsi.map(|w| w.addr));
        }
    }
    (status, user)
}

/// `lws_threadpool_task_sync`: the service thread took the SYNC result.
pub(crate) fn task_sync(task_id: usize, stop: bool) {
    if let Some(task) = task(task_id) {
        let mut s = lock(&task.st);
        if stop {
            s.status = LWS_TP_STATUS_STOPPING;
        }
        s.signalled = true;
        task.synced.notify_all();
    }
}

/// `lws_threadpool_dequeue_task`: a queued or done task is cleaned up now
/// (with its wsi), a running one asked to stop and detached (its worker
/// reaps it); an outliving one is only detached.
pub(crate) fn dequeue(task_id: usize) {
    let Some(task) = task(task_id) else {
        return;
    };
    let Some(pool) = task.pool.upgrade() else {
        return;
    };
    let reap_now = {
        let mut st = lock(&pool.state);
        let mut s = lock(&task.st);
        if s.outlive && !pool.destroying.load(Ordering::Acquire) {
            drop(s);
            drop(st);
            detach(&task);
            return;
        }
        let queued = st.queue.iter().position(|t| t.id == task_id);
        let done = st.done.iter().position(|t| t.id == task_id);
        if let Some(i) = queued {
            st.queue.remove(i);
            s.status = LWS_TP_STATUS_STOPPED;
            Some(s.wsi)
        } else if let Some(i) = done {
            st.done.remove(i);
            Some(s.wsi)
        } else {
            if st.running.iter().any(|t| t.id == task_id) {
                s.status = LWS_TP_STATUS_STOPPING;
            }
            None
        }
    };
    match reap_now {
        Some(wsi) => reap(&task, wsi.map(|w| w.addr)),
        None => detach(&task),
    }
}

/// The tasks bound to the wsi at `addr`, oldest first.
pub(crate) fn tasks_of(addr: usize) -> Vec<usize> {
    if BOUND.load(Ordering::Relaxed) == 0 {
        return Vec::new();
    }
    tables().by_wsi.get(&addr).cloned().unwrap_or_default()
}

/// A wsi is going away: its tasks lose it (lws's `lws_threadpool_wsi_closing`).
/// Running ones are then stopped by their workers; done ones nobody will
/// collect any more are reaped now.
pub(crate) fn wsi_closing(addr: usize) {
    for id in tasks_of(addr) {
        let Some(task) = task(id) else { continue };
        detach(&task);
        let Some(pool) = task.pool.upgrade() else {
            continue;
        };
        let was_done = {
            let mut st = lock(&pool.state);
            let before = st.done.len();
            st.done.retain(|t| t.id != id);
            st.done.len() < before
        };
        if was_done {
            reap(&task, None);
        }
    }
}

/// `lws_threadpool_finish`: no new tasks; queued ones become STOPPED (done,
/// for their wsi to collect), running ones stop at their next slice.
pub(crate) fn finish(pool_id: usize) {
    if let Some(pool) = pool(pool_id) {
        finish_pool(&pool);
    }
}

fn finish_pool(pool: &Pool) {
    let mut st = lock(&pool.state);
    pool.destroying.store(true, Ordering::Release);
    while let Some(t) = st.queue.pop_front() {
        lock(&t.st).status = LWS_TP_STATUS_STOPPED;
        st.done.push(t);
    }
    for t in &st.running {
        t.synced.notify_all();
    }
    pool.work.notify_all();
}

/// `lws_threadpool_destroy`: stops and joins the workers, cleans up every
/// task left, forgets the pool.
pub(crate) fn destroy(pool_id: usize) {
    let Some(pool) = tables().pools.remove(&pool_id) else {
        return;
    };
    stop(&pool);
}

fn stop(pool: &Arc<Pool>) {
    finish_pool(pool);
    let workers = std::mem::take(&mut *lock(&pool.workers));
    for w in workers {
        if w.thread().id() == std::thread::current().id() {
            tracing::error!(
                "threadpool \"{}\": destroyed from its own worker",
                pool.name
            );
            continue;
        }
        let _ = w.join();
    }
    let left: Vec<Arc<Task>> = std::mem::take(&mut lock(&pool.state).done);
    for t in left {
        let wsi = lock(&t.st).wsi;
        reap(&t, wsi.map(|w| w.addr));
    }
}

/// `lws_threadpool_dump`: the pool's queues, at info level.
pub(crate) fn dump(pool_id: usize) {
    if let Some(pool) = pool(pool_id) {
        let st = lock(&pool.state);
        let names = |v: &mut dyn Iterator<Item = &Arc<Task>>| {
            v.map(|t| t.name.clone()).collect::<Vec<_>>().join(", ")
        };
        tracing::info!(
            "threadpool \"{}\": queued [{}], running [{}], done [{}]",
            pool.name,
            names(&mut st.queue.iter()),
            names(&mut st.running.iter()),
            names(&mut st.done.iter())
        );
    }
}

/// After PROTOCOL_DESTROY of the protocols of libraries `pick` on `site`:
/// the pools their callbacks made and did not destroy are stopped (lws
/// leaves that to the plugin; a forgotten pool would run plugin code after
/// the library is gone).
pub(crate) fn ended(site: usize, pick: impl Fn(usize) -> bool) {
    let orphans: Vec<Arc<Pool>> = {
        let mut t = tables();
        let ids: Vec<usize> = t
            .pools
            .values()
            .filter(|p| p.owner.0 == site && pick(p.owner.1))
            .map(|p| p.id)
            .collect();
        ids.iter().filter_map(|i| t.pools.remove(i)).collect()
    };
    for p in orphans {
        tracing::warn!(
            "threadpool \"{}\" was not destroyed by its plugin at PROTOCOL_DESTROY: stopping its workers",
            p.name
        );
        stop(&p);
    }
}
