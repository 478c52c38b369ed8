//! What a reload does to a plugin whose file was replaced: the old
//! generation's protocols hand over to the new one's.
//!
//! A plugin whose file did not change keeps its loaded library (see
//! [`Loader`](crate::host::loader::Loader)), so nothing here concerns it. A
//! replaced one may hold something only one holder can have (a journal's
//! lock, a listening socket, a device): the old code must let go of it
//! before the new code's PROTOCOL_INIT can take it. So, for the protocols
//! of a replaced library:
//!
//! 1. the new site is served at once, but its protocols from the new file
//!    are *pending*: requests for them wait (up to [`WAIT`], then 503);
//! 2. the old version is told its context is ending, as lwsws tells its old
//!    process on SIGHUP: inside its callbacks `lws_context_is_being_destroyed()`
//!    reads true, and it gets EVENT_WAIT_CANCELLED. A plugin holding
//!    something exclusive ends its connections then (event streams, long
//!    polls, WebSockets with 1012 "service restart");
//! 3. once the old version has no connection left (or after [`DRAIN`]), its
//!    PROTOCOL_DESTROY runs on every vhost where it has none, then the new
//!    version's PROTOCOL_INIT, and the waiting requests go on. A plugin that
//!    keeps its connections (nothing exclusive to give up) goes on serving
//!    them with the old code. Should the new version's INIT fail while the
//!    old one still has connections, the host closes them (WebSockets with
//!    1012, HTTP transactions cut), then destroys the old version and
//!    retries the INIT: a new version that cannot start beside the old one
//!    wins over the old one's clients, who can come back.
//!
//! `plugin-api/docs/reload.md` states this rule for plugin authors.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::host::context::CONTEXT;
use crate::host::dispatch;
use crate::host::ffi::load::LibHandle;
use crate::host::loader::Registry;
use crate::host::site::HostSite;
use crate::host::thread::{Command, Handoff};
use crate::host::vhost::VhostHandle;

/// How long a request for a pending protocol waits before a 503.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long the old version's connections get to end by themselves.
pub const DRAIN: Duration = Duration::from_millis(500);

/// Bumped whenever pending protocols become ready (waiters re-check).
static READY: LazyLock<tokio::sync::watch::Sender<u64>> =
    LazyLock::new(|| tokio::sync::watch::channel(0).0);

thread_local! {
    /// The callback running on this thread belongs to a draining library.
    static IN_DRAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` as a callback of `lib` (so [`in_draining`] answers for it).
pub fn as_callback_of<R>(lib: &LibHandle, f: impl FnOnce() -> R) -> R {
    let draining = lib.draining.load(Ordering::Acquire);
    let before = IN_DRAINING.with(|d| d.replace(draining));
    let r = f();
    IN_DRAINING.with(|d| d.set(before));
    r
}

/// Whether the callback running on this thread is one of a library being
/// replaced (`lws_context_is_being_destroyed` reads true for it).
pub fn in_draining() -> bool {
    IN_DRAINING.with(|d| d.get())
}

/// Libraries (by address) whose protocols wait for a hand-over to end:
/// a reload while one is deferred marks its copies of them pending too.
static INCOMING: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn incoming() -> std::sync::MutexGuard<'static, Vec<usize>> {
    INCOMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The libraries to hand over on one reload: old and new, by address.
#[derive(Debug, Default)]
pub struct Plan {
    old: Vec<Arc<LibHandle>>,
    new: Vec<usize>,
}

impl Plan {
    /// Marks the protocols of `site` that come from a replacing library (of
    /// this reload, or of one whose hand-over has not ended) as pending,
    /// before the site's PROTOCOL_INIT, which skips them.
    pub fn prepare(reg: &Registry, site: &HostSite) -> Plan {
        let old: Vec<Arc<LibHandle>> = reg.replaced.iter().map(|p| p.handle.clone()).collect();
        let replaced_paths: HashSet<&std::path::Path> =
            reg.replaced.iter().map(|p| p.path.as_path()).collect();
        let new: Vec<usize> = reg
            .plugins
            .iter()
            .filter(|p| replaced_paths.contains(p.path.as_path()))
            .map(|p| Arc::as_ptr(&p.handle) as usize)
            .collect();
        let mut waiting = incoming();
        waiting.extend(&new);
        for v in &site.vhosts {
            for p in &v.protocols {
                if waiting.contains(&(Arc::as_ptr(&p.def.lib) as usize)) {
                    p.pending.store(true, Ordering::Release);
                }
            }
        }
        Plan { old, new }
    }

    /// Whether there is anything to hand over.
    pub fn is_empty(&self) -> bool {
        self.old.is_empty()
    }

    /// Steps 2 and 3 (see the module doc), once the new site is served.
    /// Blocks the calling (main) thread for at most [`DRAIN`].
    pub fn run(self) {
        if self.is_empty() {
            return;
        }
        for lib in &self.old {
            lib.draining.store(true, Ordering::Release);
            tracing::info!(
                "plugin {}: replaced; its old version is asked to let go",
                lib.path.display()
            );
        }
        CONTEXT.cancel_service();
        // Raw descriptors are the old version's own, not its clients': they
        // close now (RAW_CLOSE), before its DESTROY.
        let old_addrs: Arc<[usize]> = self.old.iter().map(|l| Arc::as_ptr(l) as usize).collect();
        CONTEXT.post_all(None, &Command::CloseRaw(old_addrs));
        let deadline = Instant::now() + DRAIN;
        while open_connections(&self.old) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let done = Arc::new(std::sync::Barrier::new(2));
        let take = TakeOver {
            old_addrs: self.old.iter().map(|l| Arc::as_ptr(l) as usize).collect(),
            old: self.old,
            new: self.new.into(),
        };
        if CONTEXT.post(0, Command::TakeOver(Handoff::new(take), done.clone())) {
            done.wait();
        }
    }
}

/// The end of a hand-over, run on service thread 0.
#[derive(Debug)]
pub struct TakeOver {
    old: Vec<Arc<LibHandle>>,
    old_addrs: Arc<[usize]>,
    new: Arc<[usize]>,
}

thread_local! {
    /// (thread 0) Hand-overs whose new INIT waits for the old version's
    /// connections to be closed.
    static DEFERRED: std::cell::RefCell<Vec<TakeOver>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl TakeOver {
    /// Destroys the old version if it has no connection left, then inits
    /// the new one wherever it is pending. Returns `self` when an INIT
    /// failed while the old version still has connections (they are being
    /// closed; try again once they are).
    fn run(self) -> Option<TakeOver> {
        let old_gone = open_connections(&self.old) == 0;
        let sites = crate::host::vhost::live_sites();
        if old_gone {
            for s in &sites {
                dispatch::destroy_where(s, |lib| self.old_addrs.contains(&lib));
            }
        }
        let mut waiting = false;
        for s in &sites {
            waiting |= dispatch::init_pending(s, &self.new, !old_gone);
        }
        if waiting {
            tracing::warn!(
                "a replaced plugin's new version could not start beside the old one: closing the old one's {} connection(s)",
                open_connections(&self.old)
            );
            CONTEXT.post_all(None, &Command::Drain(self.old_addrs.clone()));
            return Some(self);
        }
        incoming().retain(|l| !self.new.contains(l));
        notify_ready();
        None
    }
}

/// (thread 0) Ends a hand-over, keeping it for later if it must wait.
pub fn take_over(t: TakeOver) {
    if let Some(t) = t.run() {
        DEFERRED.with(|d| d.borrow_mut().push(t));
    }
}

/// (thread 0, periodically) Retries deferred hand-overs once the old
/// version's connections are gone.
pub fn retry_deferred() {
    let pending: Vec<TakeOver> = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for t in pending {
        if open_connections(&t.old) == 0 {
            take_over(t);
        } else {
            DEFERRED.with(|d| d.borrow_mut().push(t));
        }
    }
}

/// Open connections (WebSockets and HTTP transactions) of protocols from
/// `libs`, on every live site.
fn open_connections(libs: &[Arc<LibHandle>]) -> u64 {
    crate::host::vhost::live_sites()
        .iter()
        .flat_map(|s| s.vhosts.iter())
        .flat_map(|v| v.protocols.iter())
        .filter(|p| libs.iter().any(|l| Arc::ptr_eq(l, &p.def.lib)))
        .map(|p| p.times.open.load(Ordering::Relaxed))
        .sum()
}

/// Pending protocols became ready: wake whoever waits for them.
pub fn notify_ready() {
    READY.send_modify(|n| *n += 1);
}

/// Waits until no protocol of `vhost` is pending (true), or [`WAIT`] passed
/// (false). Immediate when none is.
pub async fn wait_ready(vhost: &VhostHandle) -> bool {
    if !vhost.any_pending() {
        return true;
    }
    let mut rx = READY.subscribe();
    let deadline = tokio::time::Instant::now() + WAIT;
    while vhost.any_pending() {
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            return !vhost.any_pending();
        }
    }
    true
}
