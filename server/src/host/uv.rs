//! libuv loops for plugins written against lws's libuv integration
//! (`lws_uv_getloop`, as lws's plugin-standalone uses it).
//!
//! Service thread N gets its loop on the first `lws_uv_getloop(context, N)`;
//! a server whose plugins never ask has none (and never loads libuv). The
//! loop runs inside the thread's own event loop: a task waits for libuv's
//! backend fd to become readable, for its next timer, or for a kick (a
//! plugin callback just returned and may have started a timer), then runs
//! `uv_run(UV_RUN_NOWAIT)`. So libuv callbacks run on the service thread,
//! between its other callbacks, as in lwsws.
//!
//! Plugins are expected to stop and close their handles at PROTOCOL_DESTROY;
//! many only stop them (lws's own plugin-standalone does). A handle left on
//! a loop in memory the host frees, or calling into a library the host
//! unloads, would be used after that. So [`release`] is called for both:
//! each loop closes the handles that belong to that memory or library, and
//! the memory is freed (the library closed) only once libuv has finished
//! closing them.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::host::context::CONTEXT;
use crate::host::ffi::uv::Loop;
pub(crate) use crate::host::ffi::uv::Owner;
use crate::host::thread::{current_tsi, Command, Handoff};

/// The loops made so far, by service thread index.
static LOOPS: Mutex<Vec<Option<&'static Loop>>> = Mutex::new(Vec::new());
/// Whether any loop exists (the fast path of [`release`] and [`kick`]).
static ANY: AtomicBool = AtomicBool::new(false);
/// Handles plugins counted with `lws_libuv_static_refcount_add` and not yet
/// closed through `lws_libuv_static_refcount_del`.
static STATIC_HANDLES: AtomicI64 = AtomicI64::new(0);

fn loops() -> std::sync::MutexGuard<'static, Vec<Option<&'static Loop>>> {
    LOOPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Service thread `tsi`'s loop, made (and its driver started on that
/// thread) on the first call. `None` when there is no such thread or libuv
/// cannot be loaded (logged).
pub(crate) fn loop_for(tsi: usize) -> Option<*mut std::ffi::c_void> {
    let threads = CONTEXT.count_threads();
    if tsi >= threads {
        tracing::warn!("lws_uv_getloop: no service thread {tsi} (count-threads is {threads})");
        return None;
    }
    let mut all = loops();
    if all.len() < threads {
        all.resize(threads, None);
    }
    if let Some(lp) = all[tsi] {
        return Some(lp.as_ptr());
    }
    let lp = match Loop::new(tsi) {
        Ok(lp) => lp,
        Err(e) => {
            tracing::error!("lws_uv_getloop: {e}");
            return None;
        }
    };
    all[tsi] = Some(lp);
    ANY.store(true, Ordering::Release);
    drop(all);
    tracing::info!("service thread {tsi}: libuv loop made for plugins (lws_uv_getloop)");
    if current_tsi() == Some(tsi) {
        start_here(lp);
    } else {
        let job: Box<dyn FnOnce() + Send> = Box::new(move || start_here(lp));
        // Before the service threads run, the thread takes the loop when
        // it starts (`serve_here`).
        let _ = CONTEXT.post(tsi, Command::Run(Handoff::new(job)));
    }
    Some(lp.as_ptr())
}

/// What a plugin left to close before memory is freed or a library
/// unloaded: runs `then` once every loop has finished closing them.
struct Release(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Drop for Release {
    fn drop(&mut self) {
        let then = self.0.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(then) = then {
            then();
        }
    }
}

/// Before plugin memory is freed or a plugin library is unloaded: closes
/// the libuv handles that belong to it on every loop, then runs `then`
/// (the free, the `dlclose`) once libuv has finished closing them, on the
/// loop's thread. Without loops (or with nothing to close), `then` runs
/// now.
pub(crate) fn release(owner: Owner, then: impl FnOnce() + Send + 'static) {
    if !ANY.load(Ordering::Acquire) {
        then();
        return;
    }
    let release = Arc::new(Release(Mutex::new(Some(Box::new(then)))));
    let threads: Vec<usize> = loops()
        .iter()
        .enumerate()
        .filter_map(|(tsi, lp)| lp.map(|_| tsi))
        .collect();
    for tsi in threads {
        let r = release.clone();
        if current_tsi() == Some(tsi) {
            sweep_here(owner, r);
        } else {
            let job: Box<dyn FnOnce() + Send> = Box::new(move || sweep_here(owner, r));
            // A thread that is gone runs no loop: nothing to wait for there.
            let _ = CONTEXT.post(tsi, Command::Run(Handoff::new(job)));
        }
    }
}

/// The loop driven by this service thread, and what waits for its closes.
struct Driver {
    lp: &'static Loop,
    kick: Rc<Notify>,
    /// Handles being closed, and what waits until they are gone.
    closing: Vec<(Vec<usize>, Arc<Release>)>,
}

thread_local! {
    static HERE: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

fn start_here(lp: &'static Loop) {
    let kick = Rc::new(Notify::new());
    let started = HERE.with(|h| {
        let mut h = h.borrow_mut();
        if h.is_some() {
            return false;
        }
        *h = Some(Driver {
            lp,
            kick: kick.clone(),
            closing: Vec::new(),
        });
        true
    });
    if started {
        tokio::task::spawn_local(drive(lp, kick));
    }
}

/// (each service thread, as it starts serving) Drives this thread's loop
/// if one was made before the thread could take the job (a plugin's
/// `init_protocol_*` asked for it while the server was starting).
pub(crate) fn serve_here(tsi: usize) {
    let lp = loops().get(tsi).copied().flatten();
    if let Some(lp) = lp {
        start_here(lp);
    }
}

fn sweep_here(owner: Owner, release: Arc<Release>) {
    let unneeded = HERE.with(|h| {
        let Ok(mut h) = h.try_borrow_mut() else {
            return Some(release);
        };
        let Some(d) = h.as_mut() else {
            return Some(release);
        };
        let owned = d.lp.close_owned_by(owner);
        if owned.is_empty() {
            return Some(release);
        }
        let what = match owner {
            Owner::Span(..) => "in plugin memory being freed",
            Owner::Library(_) => "of a plugin being unloaded",
        };
        tracing::info!("libuv: closing {} handle(s) left open {what}", owned.len());
        d.closing.push((owned, release));
        d.kick.notify_one();
        None
    });
    // Outside the borrow: the last one frees or unloads, which may come
    // back here.
    drop(unneeded);
}

/// A plugin callback ran on this thread: it may have started a libuv timer
/// the driver does not know about yet.
pub(crate) fn kick() {
    if !ANY.load(Ordering::Relaxed) {
        return;
    }
    HERE.with(|h| {
        if let Ok(h) = h.try_borrow() {
            if let Some(d) = h.as_ref() {
                d.kick.notify_one();
            }
        }
    });
}

/// `lws_libuv_static_refcount_add` / `_del`: lwsws needs no count of a
/// plugin's handles (see the module doc); kept for a debugger's eye.
pub(crate) fn count_static_handle(delta: i64) {
    STATIC_HANDLES.fetch_add(delta, Ordering::Relaxed);
}

/// Runs `lp` from this thread's event loop for the life of the thread.
async fn drive(lp: &'static Loop, kick: Rc<Notify>) {
    let fd = match lp.watch_backend() {
        Ok(fd) => fd,
        Err(e) => {
            tracing::error!("libuv loop: cannot watch its backend fd: {e}");
            return;
        }
    };
    loop {
        let timeout = lp.next_timeout();
        tokio::select! {
            ready = fd.readable() => {
                if let Ok(mut guard) = ready {
                    // Cleared before running: events that come after the
                    // run's own poll wake this task again.
                    guard.clear_ready();
                }
            }
            () = kick.notified() => {}
            () = tokio::time::sleep(timeout.unwrap_or_default()), if timeout.is_some() => {}
        }
        lp.run_nowait();
        finish_closes(lp);
    }
}

/// Lets go of what waited for handles whose close has now finished.
fn finish_closes(lp: &'static Loop) {
    let done: Vec<Arc<Release>> = HERE.with(|h| {
        let Ok(mut h) = h.try_borrow_mut() else {
            return Vec::new();
        };
        let Some(d) = h.as_mut() else {
            return Vec::new();
        };
        if d.closing.is_empty() {
            return Vec::new();
        }
        let (gone, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut d.closing)
            .into_iter()
            .partition(|(addrs, _)| !lp.has_any(addrs));
        d.closing = keep;
        gone.into_iter().map(|(_, r)| r).collect()
    });
    // Outside the borrow: freeing or unloading may release more.
    drop(done);
}
