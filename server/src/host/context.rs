//! The one `struct lws_context` of the process: what plugins get from
//! `lws_get_context`, and the way to reach every service thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use comlink_plugin_api::abi::LwsContext;
use tokio::sync::mpsc::UnboundedSender;

use crate::host::thread::Command;

/// Process-wide host state.
pub struct Context {
    /// The service threads, by index (tsi).
    threads: OnceLock<Vec<ThreadHandle>>,
    /// `lws_json_dump_context`'s answer, installed by the layer that
    /// knows the whole server (ops).
    context_json: OnceLock<ContextJson>,
    /// Set once the server is stopping.
    stop: OnceLock<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// Produces lws's context JSON; the argument is `hide_vhosts`.
pub type ContextJson = Box<dyn Fn(bool) -> String + Send + Sync>;

/// The context (what `struct lws_context *` points at).
pub static CONTEXT: Context = Context {
    threads: OnceLock::new(),
    context_json: OnceLock::new(),
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

    /// Installs what `lws_json_dump_context` answers (once, at start-up).
    pub fn set_context_json(&self, f: ContextJson) {
        let _ = self.context_json.set(f);
    }

    /// The server's state as lws's context JSON (`hide_vhosts` leaves the
    /// vhost list out); empty before start-up installed it.
    pub fn context_json(&self, hide_vhosts: bool) -> String {
        self.context_json
            .get()
            .map(|f| f(hide_vhosts))
            .unwrap_or_default()
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

/// `lws_json_purify`'s escaping: `src` JSON-escaped into at most `room`
/// bytes (whole escapes only), and how many bytes of `src` it took.
pub(crate) fn json_escape(src: &[u8], room: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(room.min(src.len() * 2));
    let mut used = 0;
    for &b in src {
        let piece: Vec<u8> = match b {
            b'"' => b"\\\"".to_vec(),
            b'\\' => b"\\\\".to_vec(),
            b'\n' => b"\\n".to_vec(),
            b'\r' => b"\\r".to_vec(),
            b'\t' => b"\\t".to_vec(),
            b if b < 0x20 => format!("\\u{b:04x}").into_bytes(),
            b => vec![b],
        };
        if out.len() + piece.len() > room {
            break;
        }
        out.extend_from_slice(&piece);
        used += 1;
    }
    (out, used)
}
