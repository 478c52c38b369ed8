//! Watching `conf`, `conf.d/` and the plugin dirs: a change (debounced)
//! reloads as SIGHUP does. Global `"watch": "off"` disables it.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

/// Quiet time after the last change before reloading (editors and
/// `make install` touch files several times).
const DEBOUNCE: Duration = Duration::from_millis(500);

/// Starts the watcher thread; it raises SIGHUP in this process after a
/// change settles. Missing paths are skipped.
pub fn start(paths: Vec<PathBuf>) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            if !matches!(ev.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(());
            }
        }
    })?;
    for p in &paths {
        if p.exists() {
            watcher.watch(p, RecursiveMode::NonRecursive)?;
        }
    }
    std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Let the burst of events settle.
                while rx.recv_timeout(DEBOUNCE).is_ok() {}
                tracing::info!("configuration or plugin files changed: reloading");
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP);
            }
        })
        .map_err(notify::Error::io)?;
    Ok(watcher)
}
