//! `lws_sul_schedule` timers. A sul is identified by its address (it lives
//! in the plugin's memory); the schedule generation makes a cancelled or
//! re-armed timer's old wake-up a no-op, and the registry is global so a
//! cancel from any thread takes effect at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::time::Instant;

use crate::host::context::CONTEXT;
use crate::host::ffi::call::Sul;
use crate::host::thread::{self, Command};

struct Entry {
    generation: u64,
    sul: Sul,
}

static TIMERS: Mutex<Option<HashMap<usize, Entry>>> = Mutex::new(None);
static GENERATION: AtomicU64 = AtomicU64::new(1);

fn with<R>(f: impl FnOnce(&mut HashMap<usize, Entry>) -> R) -> R {
    let mut g = TIMERS.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// Schedules `sul` to fire on service thread `tsi` after `us` microseconds
/// (replacing any schedule of the same sul).
pub(crate) fn schedule(tsi: usize, sul: Sul, us: i64) {
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    let addr = sul.addr();
    with(|m| m.insert(addr, Entry { generation, sul }));
    let sul = addr;
    let at = Instant::now() + std::time::Duration::from_micros(us.max(0) as u64);
    let tsi = tsi.min(CONTEXT.count_threads().saturating_sub(1));
    if thread::current_tsi() == Some(tsi) {
        arm_local(sul, generation, at);
    } else if !CONTEXT.post(
        tsi,
        Command::ArmSul {
            sul,
            generation,
            at,
        },
    ) {
        tracing::warn!("lws_sul_schedule: no service thread {tsi} to run the timer");
    }
}

/// Cancels the sul's schedule, if any.
pub(crate) fn cancel(sul: usize) {
    with(|m| m.remove(&sul));
}

/// Cancels every sul stored inside `[start, start + len)` (memory being freed).
pub(crate) fn cancel_within(start: usize, len: usize) {
    with(|m| m.retain(|&addr, _| addr < start || addr >= start + len));
}

/// Arms the wake-up on this (service) thread.
pub(crate) fn arm_local(sul: usize, generation: u64, at: Instant) {
    tokio::task::spawn_local(async move {
        tokio::time::sleep_until(at).await;
        let due = with(|m| match m.get(&sul) {
            Some(e) if e.generation == generation => m.remove(&sul).map(|e| e.sul),
            _ => None,
        });
        if let Some(sul) = due {
            sul.fire();
        }
    });
}
