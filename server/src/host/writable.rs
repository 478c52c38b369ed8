//! WRITEABLE for many connections in one pass. When a plugin asks for
//! WRITEABLE (`lws_callback_on_writable`) on a WebSocket session that is
//! parked (waiting for its socket, a wake-up or a deadline, with nothing
//! left to write), the connection is queued here instead of waking its
//! task; one task per service thread then calls WRITEABLE on every queued
//! connection in turn; what each callback writes is held (up to `BATCH`
//! bytes) and goes to its socket in one send. A packet fanned out to a
//! thousand subscribers is one pass over them, not a thousand task
//! wake-ups, polls and re-arms of their waits. Every `SLICE` connections
//! the pass sends what their callbacks held, one send after the other, and
//! then lets the reactor and the other tasks in, so a pass over thousands
//! does not hold up the rest of the thread (new requests, whose packets
//! then join the sends still to come).
//!
//! The sends come together, not one between each two callbacks, because
//! of whoever reads them: a reader of many of the connections (a relay, a
//! collector) that keeps up with sends spaced out by callbacks goes back to
//! sleep between them, and each send then pays for waking it
//! (`scripts/bench-packets` prints how often its client slept per packet).
//!
//! A pass serves its connections in the order they were asked for, as a
//! plugin asked: lws-mirror resumes its members oldest first and relies on
//! it. `lws_callback_on_writable_all_protocol` asks the thread's
//! connections from a different place each time ([`next_start`]), so the
//! same ones are not last for every packet: the wait at the end of a pass
//! is shared by all of them. The starting places follow the golden ratio's
//! multiples (a fraction of the connections' count), which spread over
//! them evenly from the first few calls on.
//!
//! lws's rules still hold: WRITEABLE only comes when the connection's
//! earlier output is on the socket (one with output waiting is left to its
//! own task, which waits for the socket and then calls WRITEABLE), one
//! write per callback unless `lws_send_pipe_choked` said the pipe is clear,
//! and a connection whose callback left output waiting, asked to close or
//! failed its socket is handed back to its own task.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use comlink_plugin_api::abi::{LWS_CALLBACK_CLIENT_WRITEABLE, LWS_CALLBACK_SERVER_WRITEABLE};
use tokio::sync::Notify;

use crate::host::dispatch::callback;
use crate::host::ffi::call;
use crate::host::wsi::Wsi;

/// Bytes of frames a connection's WRITEABLE in the pass may write before
/// they go to the socket (they are sent when the callback returns, or as
/// soon as there are this many).
pub(crate) const BATCH: usize = 16 * 1024;

/// Connections served in the pass between two turns of the reactor.
const SLICE: usize = 64;

/// Bytes of a connection's output buffer brought into the caches before
/// its WRITEABLE: a fan-out's frame (a packet envelope of a few hundred
/// bytes) is written there.
const FRAME_AHEAD: usize = 512;

/// How far (a fraction of 2^32 of the connections) the start moves from
/// one walk to the next: 2^32 divided by the golden ratio.
const STEP: u32 = 0x9E37_79B9;

/// Where a walk over `len` connections starts, at `phase` (see [`STEP`]).
fn start_of(phase: u32, len: usize) -> usize {
    ((u64::from(phase) * len as u64) >> 32) as usize
}

/// Where this thread's next walk over `len` connections starts (see the
/// module doc): a little over 0.618 of the way round from the last one.
pub(crate) fn next_start(len: usize) -> usize {
    PHASE.with(|p| {
        let phase = p.get().wrapping_add(STEP);
        p.set(phase);
        start_of(phase, len)
    })
}

thread_local! {
    /// The golden-ratio walk's last place, a fraction of 2^32.
    static PHASE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// This thread's queue: addresses of live wsis, in request order.
    static QUEUE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Wakes this thread's pass (none off the service threads: then every
    /// request wakes its own task).
    static RUNNER: RefCell<Option<Rc<Notify>>> = const { RefCell::new(None) };
}

/// Queues `wsi` for the next pass; false when this thread runs no passes
/// (the caller wakes the connection's task instead).
pub(crate) fn enqueue(wsi: &Wsi) -> bool {
    RUNNER.with(|r| {
        let r = r.borrow();
        let Some(runner) = r.as_ref() else {
            return false;
        };
        if !wsi.in_pass_queue.replace(true) {
            let first = QUEUE.with(|q| {
                let mut q = q.borrow_mut();
                q.push(wsi as *const Wsi as usize);
                q.len() == 1
            });
            // The first one wakes the pass, which takes the whole queue
            // (and looks again after each batch).
            if first {
                runner.notify_one();
            }
        }
        true
    })
}

/// Starts this service thread's pass task (call inside its `LocalSet`).
pub(crate) fn spawn() {
    let notify = Rc::new(Notify::new());
    RUNNER.with(|r| *r.borrow_mut() = Some(notify.clone()));
    tokio::task::spawn_local(async move {
        let mut batch = Vec::new();
        let mut holding = Vec::with_capacity(SLICE);
        loop {
            notify.notified().await;
            loop {
                QUEUE.with(|q| std::mem::swap(&mut *q.borrow_mut(), &mut batch));
                if batch.is_empty() {
                    break;
                }
                // How long a pass takes, measured here only when asked for
                // (RUST_LOG=comlink::host::writable=debug): beside a
                // client's figures it says whose time a fan-out's length is.
                let began = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
                let connections = batch.len();
                for i in 0..batch.len() {
                    ahead(&batch, i);
                    let addr = batch[i];
                    if call::with_live(addr, serve) == Some(Served::Holding) {
                        holding.push(addr);
                    }
                    if (i + 1) % SLICE == 0 {
                        send_held(&mut holding);
                        // Let the reactor and the other tasks in: the next
                        // POSTs are read (and the journal writes and syncs
                        // them) while this pass goes on, not after it.
                        tokio::task::yield_now().await;
                    }
                }
                send_held(&mut holding);
                batch.clear();
                if let Some(t) = began {
                    tracing::debug!(
                        connections,
                        micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX),
                        "WRITEABLE pass"
                    );
                }
                // Connections that asked again from their callback are in
                // the next pass, after the other tasks had their turn.
                tokio::task::consume_budget().await;
            }
        }
    });
}

/// Brings what serving `batch[i + 1]` and `batch[i + 2]` will read into
/// the caches while `batch[i]` is served: the connection two ahead, and
/// the per-session data and output buffer of the next one (whose
/// connection came in on the turn before). A pass over a thousand
/// connections otherwise waits for memory at each one, several times.
fn ahead(batch: &[usize], i: usize) {
    if let Some(&next) = batch.get(i + 1) {
        call::with_live(next, |w| {
            call::prefetch(w.pss_ptr() as usize, 64);
            prefetch_output(w, true);
        });
    }
    if let Some(&after) = batch.get(i + 2) {
        call::prefetch(after, std::mem::size_of::<Wsi>());
    }
}

/// Brings up to [`FRAME_AHEAD`] bytes of `w`'s output buffer into the
/// caches: its room when its callback is about to write a frame there
/// (the buffer is empty then: the frame starts at the front), its frames
/// when they are about to be sent.
fn prefetch_output(w: &Wsi, room: bool) {
    if let Ok(tx) = w.tx.try_borrow() {
        let n = if room { tx.capacity() } else { tx.len() };
        call::prefetch(tx.as_ptr() as usize, n.min(FRAME_AHEAD));
    }
}

/// What [`serve`] left to do for a connection.
#[derive(Debug, PartialEq, Eq)]
enum Served {
    /// Nothing: it was not served, or it is done (or back with its task).
    Done,
    /// Its callback wrote frames that it holds for the slice's sends
    /// ([`send_held`]).
    Holding,
}

/// Sends what the slice's connections hold, one after the other, then
/// does what is left for each ([`after_send`]). While one sends, the next
/// one's connection and frames are brought back into the caches (the
/// slice's other callbacks ran since they were last used).
fn send_held(holding: &mut Vec<usize>) {
    for i in 0..holding.len() {
        if let Some(&next) = holding.get(i + 1) {
            call::prefetch(next, std::mem::size_of::<Wsi>());
            call::with_live(next, |w| prefetch_output(w, false));
        }
        call::with_live(holding[i], after_send);
    }
    holding.clear();
}

/// WRITEABLE for one queued connection, or back to its own task.
fn serve(wsi: &Wsi) -> Served {
    wsi.in_pass_queue.set(false);
    if !wsi.writable_requested.get() {
        return Served::Done;
    }
    if !wsi.parked.get() {
        // Its task is running its loop (or ending): it looks itself (and
        // sends what waits for the socket first).
        wsi.wake.notify_one();
        return Served::Done;
    }
    if !wsi.tx.borrow().is_empty() {
        // Its task waits for the socket and calls WRITEABLE then.
        return Served::Done;
    }
    wsi.writable_requested.set(false);
    wsi.in_pass.set(true);
    // A WebSocket a plugin opened gets the client reason.
    let reason = if matches!(wsi.role, crate::host::wsi::Role::WsClient) {
        LWS_CALLBACK_CLIENT_WRITEABLE
    } else {
        LWS_CALLBACK_SERVER_WRITEABLE
    };
    let rc = callback(wsi, reason, std::ptr::null_mut(), 0);
    wsi.in_pass.set(false);
    if rc != 0 {
        wsi.close_requested.set(true);
    }
    if wsi.held.get() && !wsi.close_requested.get() {
        // Sent with the rest of the slice's.
        return Served::Holding;
    }
    after_send(wsi);
    Served::Done
}

/// What the callback wrote, in one send; then back to its task if there is
/// more to do.
fn after_send(wsi: &Wsi) {
    if wsi.held.get() {
        wsi.flush_or_close();
    }
    wsi.wake_if_task_has_work();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walks_start_all_over_the_connections_and_inside_them() {
        let len = 1000;
        let mut phase = 0u32;
        let mut starts = Vec::new();
        for _ in 0..20 {
            phase = phase.wrapping_add(STEP);
            let s = start_of(phase, len);
            assert!(s < len);
            starts.push(s);
        }
        // Twenty walks start at twenty places spread over the connections: no
        // two closer than 1/30 of them, and none more than 1/10 from the next.
        starts.sort_unstable();
        assert!(
            starts.windows(2).all(|w| w[1] - w[0] >= len / 30),
            "{starts:?}"
        );
        assert!(
            starts.windows(2).all(|w| w[1] - w[0] <= len / 10),
            "{starts:?}"
        );
        assert!(starts[0] <= len / 10 && starts[19] >= len - len / 10);
        assert_eq!(start_of(u32::MAX, 1), 0);
        assert_eq!(start_of(u32::MAX, 0), 0);
    }
}
