//! The one `struct lws_context` of the process: what plugins get from
//! `lws_get_context`, and the way to reach every service thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use comlink_plugin_api::abi::LwsContext;
use tokio::sync::mpsc::UnboundedSender;

use crate::host::thread::Command;
use crate::site::Site;

/// Process-wide host state.
#[derive(Debug)]
pub struct Context {
    /// The service threads, by index (tsi).
    threads: OnceLock<Vec<ThreadHandle>>,
    /// The current site.
    site: OnceLock<Arc<ArcSwap<Site>>>,
    /// Set once the server is stopping.
    stop: OnceLock<tokio::sync::watch::Sender<bool>>,
}

/// The context (what `struct lws_context *` points at).
pub static CONTEXT: Context = Context {
    threads: OnceLock::new(),
    site: OnceLock::new(),
    stop: OnceLock::new(),
};

/// `&CONTEXT` as the opaque pointer plugins hold.
pub fn context_ptr() -> *mut LwsContext {
    &CONTEXT as *const Context as *mut LwsContext
}

/// How other threads reach one service thread.
#[derive(Debug)]
pub struct ThreadHandle {
    tx: UnboundedSender<Command>,
    /// A `Cancel` is queued and not yet handled (repeats coalesce).
    cancel_pending: AtomicBool,
}

impl Context {
    /// Records the service threads' queues (once, at start-up).
    pub fn set_threads(&self, queues: Vec<UnboundedSender<Command>>) {
        let _ = self.threads.set(
            queues
                .into_iter()
                .map(|tx| ThreadHandle {
                    tx,
                    cancel_pending: AtomicBool::new(false),
                })
                .collect(),
        );
    }

    fn stop_sender(&self) -> &tokio::sync::watch::Sender<bool> {
        self.stop
            .get_or_init(|| tokio::sync::watch::channel(false).0)
    }

    /// Tells every listener and connection that the server is stopping,
    /// and wakes every protocol (EVENT_WAIT_CANCELLED) so that those holding
    /// endless responses can end them.
    pub fn stop(&self) {
        self.stop_sender().send_replace(true);
        self.cancel_service();
    }

    /// Whether [`Context::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        *self.stop_sender().borrow()
    }

    /// A receiver that changes to `true` when the server starts stopping.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop_sender().subscribe()
    }

    /// `lws_cancel_service`: wakes every service thread once.
    pub fn cancel_service(&self) {
        if let Some(ts) = self.threads.get() {
            for t in ts {
                if !t.cancel_pending.swap(true, Ordering::AcqRel) {
                    let _ = t.tx.send(Command::Cancel);
                }
            }
        }
    }

    /// Thread `tsi` is handling its queued cancel.
    pub fn cancel_received(&self, tsi: usize) {
        if let Some(t) = self.threads.get().and_then(|t| t.get(tsi)) {
            t.cancel_pending.store(false, Ordering::Release);
        }
    }

    /// Records the live site (once, at start-up).
    pub fn set_site(&self, site: Arc<ArcSwap<Site>>) {
        let _ = self.site.set(site);
    }

    /// The current site, if serving has started.
    pub fn site(&self) -> Option<Arc<Site>> {
        self.site.get().map(|s| s.load_full())
    }

    /// Number of service threads.
    pub fn count_threads(&self) -> usize {
        self.threads.get().map_or(1, |t| t.len())
    }

    /// Sends `cmd` to thread `tsi`; false if there is no such thread.
    pub fn post(&self, tsi: usize, cmd: Command) -> bool {
        self.threads
            .get()
            .and_then(|t| t.get(tsi))
            .is_some_and(|t| t.tx.send(cmd).is_ok())
    }

    /// Sends a copy of `cmd` to every service thread except `except`.
    pub fn post_all(&self, except: Option<usize>, cmd: &Command) {
        if let Some(ts) = self.threads.get() {
            for (i, t) in ts.iter().enumerate() {
                if Some(i) != except {
                    let _ = t.tx.send(cmd.clone());
                }
            }
        }
    }
}
