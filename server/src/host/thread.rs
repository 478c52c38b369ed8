//! Per-service-thread host state: the thread's index (tsi), its live
//! connections, and the commands other threads send it (lws calls are
//! thread-bound; a call made on the wrong thread is forwarded here).

use rustc_hash::FxHashSet;
use std::cell::{Cell, RefCell};
use std::ffi::c_int;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::host::dispatch;
use crate::host::wsi::Wsi;

pub use crate::runtime::threads::current_tsi;

thread_local! {
    static LIVE: RefCell<FxHashSet<usize>> = RefCell::new(FxHashSet::default());
    /// The wsi whose callback runs on this thread (0: none).
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// A request from another thread. Pointers travel as addresses; they are
/// only dereferenced after checking them against this thread's state.
#[derive(Clone, Debug)]
pub enum Command {
    /// `lws_callback_on_writable_all_protocol[_vhost]`.
    WritableAll {
        /// `struct lws_protocols *` of the protocol.
        proto: usize,
        /// `struct lws_vhost *`, or every vhost.
        vhost: Option<usize>,
    },
    /// `lws_callback_all_protocol[_vhost][_args]`.
    CallbackAll {
        /// Protocol.
        proto: usize,
        /// Vhost, or every vhost.
        vhost: Option<usize>,
        /// Reason.
        reason: c_int,
        /// `in`.
        arg: usize,
        /// `len`.
        len: usize,
    },
    /// `lws_cancel_service`: EVENT_WAIT_CANCELLED to every protocol.
    Cancel,
    /// Arm a `lws_sul_schedule` timer on this thread.
    ArmSul {
        /// The sul's address.
        sul: usize,
        /// Its schedule generation.
        generation: u64,
        /// When.
        at: tokio::time::Instant,
    },
    /// Run protocol DESTROY for the current site, then signal.
    Shutdown(Arc<std::sync::Barrier>),
    /// (thread 0) PROTOCOL_INIT for a new site, then signal.
    Init(Arc<crate::host::site::HostSite>, Arc<std::sync::Barrier>),
    /// (thread 0) An old site: DESTROY it once nothing uses it any more.
    Retire(Arc<crate::host::site::HostSite>),
    /// Close the connections of protocols from these libraries (addresses
    /// of `LibHandle`s a reload replaced; see `host::handover`).
    Drain(Arc<[usize]>),
    /// (thread 0) Finish a plugin hand-over (see `host::handover`), signal.
    TakeOver(
        Handoff<crate::host::handover::TakeOver>,
        Arc<std::sync::Barrier>,
    ),
    /// Run this on the thread (a job of a layer above, e.g. new listeners
    /// after a reload).
    Run(Handoff<Box<dyn FnOnce() + Send>>),
    /// Close the raw wsis of protocols from these libraries (a reload
    /// replaced them; see `host::raw`).
    CloseRaw(Arc<[usize]>),
}

/// A value handed to one thread through a (cloneable) command.
pub struct Handoff<T>(Arc<std::sync::Mutex<Option<T>>>);

impl<T> Clone for Handoff<T> {
    fn clone(&self) -> Self {
        Handoff(self.0.clone())
    }
}

impl<T> Handoff<T> {
    /// Wraps `v`.
    pub fn new(v: T) -> Self {
        Handoff(Arc::new(std::sync::Mutex::new(Some(v))))
    }

    /// Takes the value (once).
    pub fn take(&self) -> Option<T> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

impl<T> std::fmt::Debug for Handoff<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handoff")
    }
}

/// Registers a wsi as live on this thread.
pub fn register(wsi: &Wsi) {
    LIVE.with(|l| l.borrow_mut().insert(wsi as *const Wsi as usize));
}

/// Unregisters a wsi.
pub fn unregister(wsi: &Wsi) {
    LIVE.with(|l| l.borrow_mut().remove(&(wsi as *const Wsi as usize)));
}

/// Whether `addr` is a live wsi of this thread. The wsi whose callback
/// is running is (its caller holds it), and it is what a plugin's calls
/// into the host name most: it is answered without the set, whose lookup
/// is a wait for memory when a pass goes over a thousand connections.
pub fn is_live(addr: usize) -> bool {
    IN_CALLBACK.with(Cell::get) == addr || LIVE.with(|l| l.borrow().contains(&addr))
}

/// Runs `f`, a callback of the live wsi at `addr`, noting it as the one
/// whose callback runs (see [`is_live`]).
pub fn in_callback_of<R>(addr: usize, f: impl FnOnce() -> R) -> R {
    let before = IN_CALLBACK.with(|c| c.replace(addr));
    let r = f();
    IN_CALLBACK.with(|c| c.set(before));
    r
}

/// The live wsis of this thread, as addresses.
pub fn live() -> Vec<usize> {
    LIVE.with(|l| l.borrow().iter().copied().collect())
}

/// Applies a fan-out to every connection of a protocol (`WritableAll`,
/// `CallbackAll`) to this thread's connections; other commands are left.
pub fn fan_out_here(cmd: &Command) {
    match *cmd {
        Command::WritableAll { proto, vhost } => dispatch::writable_all_local(proto, vhost),
        Command::CallbackAll {
            proto,
            vhost,
            reason,
            arg,
            len,
        } => dispatch::callback_all_local(proto, vhost, reason, arg, len),
        _ => {}
    }
}

/// The plugin host's part of service thread `tsi`: its command queue, and
/// on thread 0 every protocol's PROTOCOL_INIT for `site` and the watch over
/// retiring sites. Call from inside the thread's event loop.
pub fn serve(
    tsi: usize,
    commands: UnboundedReceiver<Command>,
    site: &Arc<crate::host::site::HostSite>,
) {
    tokio::task::spawn_local(run_commands(commands));
    crate::host::uv::serve_here(tsi);
    crate::host::writable::spawn();
    crate::host::timer_pass::spawn();
    if tsi == 0 {
        dispatch::init_all(site);
        tokio::task::spawn_local(crate::host::retire::watch());
    }
}

/// Runs commands sent to this thread until the senders are gone.
pub async fn run_commands(mut rx: UnboundedReceiver<Command>) {
    while let Some(cmd) = rx.recv().await {
        match cmd {
            Command::WritableAll { .. } | Command::CallbackAll { .. } => fan_out_here(&cmd),
            Command::Cancel => {
                crate::host::context::CONTEXT.cancel_received(current_tsi().unwrap_or(0));
                dispatch::cancel_local();
            }
            Command::ArmSul {
                sul,
                generation,
                at,
            } => crate::host::timers::arm_local(sul, generation, at),
            Command::Shutdown(done) => {
                for site in crate::host::vhost::live_sites() {
                    dispatch::destroy_all(&site);
                }
                // Then the old ABI's context-level destroy_*, as lws does.
                crate::host::ffi::load::destroy_plugins();
                done.wait();
            }
            Command::Init(site, done) => {
                dispatch::init_all(&site);
                done.wait();
            }
            Command::Retire(site) => crate::host::retire::retire(site),
            Command::Drain(libs) => dispatch::drain_local(&libs),
            Command::TakeOver(t, done) => {
                if let Some(t) = t.take() {
                    crate::host::handover::take_over(t);
                }
                done.wait();
            }
            Command::CloseRaw(libs) => crate::host::raw::close_local(&libs),
            Command::Run(job) => {
                if let Some(job) = job.take() {
                    job();
                }
            }
        }
    }
}
