//! LWS_CALLBACK_TIMER (`lws_set_timer_usecs`) for parked WebSocket
//! sessions, from one task per service thread. A session waiting for its
//! socket, a wake-up or a deadline hands its timer here instead of
//! arming its own; the thread's timer task calls TIMER on every session
//! whose time has come, in deadline order. What those callbacks ask for
//! then comes the same way: WRITEABLE from the thread's pass
//! ([`writable`](crate::host::writable)), the next timer from here. A
//! thousand connections each on its own 50 ms timer (dumb-increment) are
//! then a few passes a millisecond, not twenty thousand task wake-ups a
//! second, each touching a task's cold state.
//!
//! A session whose task is running (or ending) when its time comes is
//! woken instead; its loop looks at the timer itself. A timer moved or
//! cancelled after it was handed over leaves its old entry behind, which
//! does nothing when it comes up: only a timer that is due is run.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;

use comlink_plugin_api::abi::LWS_CALLBACK_TIMER;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::host::dispatch::callback;
use crate::host::ffi::call;
use crate::host::wsi::Wsi;

thread_local! {
    /// Handed-over timers of this thread: (deadline, wsi address),
    /// earliest first.
    static HEAP: RefCell<BinaryHeap<Reverse<(Instant, usize)>>> =
        const { RefCell::new(BinaryHeap::new()) };
    /// Wakes this thread's timer task for an entry earlier than the one it
    /// waits for (none off the service threads).
    static RUNNER: RefCell<Option<Rc<Notify>>> = const { RefCell::new(None) };
}

/// Hands `wsi`'s timer, if it has one, to this thread's timer task; false
/// when this thread has no timer task (the caller keeps the timer).
pub(crate) fn hand_over(wsi: &Wsi) -> bool {
    RUNNER.with(|r| {
        let r = r.borrow();
        let Some(runner) = r.as_ref() else {
            return false;
        };
        let Some(at) = wsi.timer.get() else {
            return true;
        };
        if wsi.timer_handed.get() != Some(at) {
            wsi.timer_handed.set(Some(at));
            HEAP.with(|h| {
                let mut h = h.borrow_mut();
                let earlier = h.peek().is_none_or(|Reverse((t, _))| at < *t);
                h.push(Reverse((at, wsi as *const Wsi as usize)));
                if earlier {
                    runner.notify_one();
                }
            });
        }
        true
    })
}

/// The earliest handed-over deadline.
fn earliest() -> Option<Instant> {
    HEAP.with(|h| h.borrow().peek().map(|Reverse((t, _))| *t))
}

/// Starts this service thread's timer task (call inside its `LocalSet`).
pub(crate) fn spawn() {
    let notify = Rc::new(Notify::new());
    RUNNER.with(|r| *r.borrow_mut() = Some(notify.clone()));
    tokio::task::spawn_local(async move {
        let mut due = Vec::new();
        loop {
            match earliest() {
                None => notify.notified().await,
                Some(t) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(t) => {}
                        // An earlier entry: wait for that one instead.
                        _ = notify.notified() => continue,
                    }
                }
            }
            let now = Instant::now();
            HEAP.with(|h| {
                let mut h = h.borrow_mut();
                while let Some(&Reverse((t, addr))) = h.peek() {
                    if t > now {
                        break;
                    }
                    h.pop();
                    due.push(addr);
                }
            });
            for addr in due.drain(..) {
                call::with_live(addr, fire);
            }
            // Let the other tasks in between two rounds.
            tokio::task::consume_budget().await;
        }
    });
}

/// TIMER for one session whose entry came up, if its timer is due.
fn fire(wsi: &Wsi) {
    let Some(at) = wsi.timer.get() else {
        return;
    };
    if at > Instant::now() {
        // Moved later since: its new entry comes up then.
        return;
    }
    wsi.timer_handed.set(None);
    if !wsi.parked.get() {
        // Its task is running its loop (or ending): it looks itself.
        wsi.wake.notify_one();
        return;
    }
    wsi.timer.set(None);
    if callback(wsi, LWS_CALLBACK_TIMER, std::ptr::null_mut(), 0) != 0 {
        wsi.close_requested.set(true);
        wsi.wake.notify_one();
    }
}
