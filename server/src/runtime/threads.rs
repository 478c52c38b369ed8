//! Service threads. Following lws, each service thread runs one event loop
//! (a current-thread tokio runtime with a `LocalSet`) that owns the
//! connections it serves; `count-threads` N gives N loops, and nothing a
//! loop runs ever races another task of the same loop.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

thread_local! {
    static TSI: Cell<Option<usize>> = const { Cell::new(None) };
}

/// This thread's service index (lws's `tsi`), if it is a service thread.
pub fn current_tsi() -> Option<usize> {
    TSI.with(|t| t.get())
}

/// What one service thread runs for the life of the process, given its index.
pub(crate) type Body = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// Starts `count` service threads named `service-N`, each running `body(N)`
/// on its own event loop.
pub(crate) fn spawn(count: usize, body: Body) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for n in 0..count {
        let body = body.clone();
        handles.push(
            std::thread::Builder::new()
                .name(format!("service-{n}"))
                .spawn(move || run(n, body))?,
        );
    }
    Ok(handles)
}

fn run(tsi: usize, body: Body) {
    TSI.with(|t| t.set(Some(tsi)));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            // Without its loop the server cannot serve what this thread
            // would: stop rather than hang those waiting for it.
            tracing::error!("cannot start service loop {tsi}: {e}");
            std::process::exit(1);
        }
    };
    tokio::task::LocalSet::new().block_on(&rt, body(tsi));
}
