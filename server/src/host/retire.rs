//! Sites replaced by a reload. Connections that started on an old site keep
//! it (and its plugins' code) alive; once nothing but this list holds it,
//! service thread 0 runs its protocols' PROTOCOL_DESTROY and lets it go,
//! which unloads plugin libraries no newer site uses.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use crate::host::dispatch;
use crate::host::site::HostSite;

/// How often deferred plugin hand-overs are checked (retiring sites every
/// fifth time).
const CHECK_EVERY: Duration = Duration::from_millis(50);

thread_local! {
    static RETIRING: RefCell<Vec<Arc<HostSite>>> = const { RefCell::new(Vec::new()) };
}

/// Queues an old site (on service thread 0).
pub(crate) fn retire(site: Arc<HostSite>) {
    RETIRING.with(|r| r.borrow_mut().push(site));
}

/// Runs on service thread 0 for the life of the process.
pub(crate) async fn watch() {
    let mut ticks = 0u32;
    let mut last_accepted = 0u64;
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        crate::host::handover::retry_deferred();
        ticks += 1;
        if !ticks.is_multiple_of(5) {
            continue;
        }
        // About once a second, when connections came or went, and once a
        // minute regardless: return freed heap to the system.
        let accepted: u64 = crate::runtime::counters::threads()
            .iter()
            .map(|t| t.accepted.load(std::sync::atomic::Ordering::Relaxed))
            .sum();
        if (ticks.is_multiple_of(20) && accepted != last_accepted) || ticks.is_multiple_of(1200) {
            last_accepted = accepted;
            crate::host::ffi::heap::trim_heap();
        }
        let done: Vec<Arc<HostSite>> = RETIRING.with(|r| {
            let mut r = r.borrow_mut();
            let (done, keep): (Vec<_>, Vec<_>) =
                r.drain(..).partition(|s| Arc::strong_count(s) == 1);
            *r = keep;
            done
        });
        let retired = !done.is_empty();
        for site in done {
            dispatch::destroy_all(&site);
            drop(site);
            tracing::info!("previous configuration retired: its last connection has ended");
        }
        if retired {
            // the last of a reload: what its retiring ran is let go of too
            crate::host::loader::release_start_up_pages();
        }
    }
}
