//! Work for connections of other service threads. With `count-threads` > 1
//! a protocol's per-vhost state is shared by the service threads (the host
//! runs one of its callbacks at a time), but a connection may only be
//! touched from its own thread (lws's rule; the host refuses and logs
//! anything else). So a plugin notes each connection's thread when it
//! opens ([`service_thread`]), queues what it wants done to another
//! thread's connection in a [`ForThread`], and does it when that thread
//! takes its share ([`ForThread::take_mine`], in `vhost_event` for
//! `LWS_CALLBACK_EVENT_WAIT_CANCELLED`).

use std::thread::ThreadId;

use crate::protocol::cancel_service;

thread_local! {
    /// This thread's id (cached: `thread::current()` clones an `Arc`).
    static HERE: ThreadId = std::thread::current().id();
}

/// The calling service thread.
pub fn service_thread() -> ThreadId {
    HERE.with(|t| *t)
}

/// Items waiting for the service thread they belong to, in order.
#[derive(Debug)]
pub struct ForThread<T> {
    items: Vec<(ThreadId, T)>,
}

impl<T> Default for ForThread<T> {
    fn default() -> Self {
        ForThread { items: Vec::new() }
    }
}

impl<T> ForThread<T> {
    /// Queues `item` for thread `owner` and wakes every service thread
    /// (each protocol then gets `EVENT_WAIT_CANCELLED`). Every time: the
    /// owner may have taken its share already, and the host sends one
    /// wake-up per thread however often it is asked.
    pub fn push(&mut self, owner: ThreadId, item: T) {
        self.items.push((owner, item));
        cancel_service();
    }

    /// The items queued for the calling thread, in the order queued; the
    /// others stay for their threads.
    pub fn take_mine(&mut self) -> Vec<T> {
        if self.items.is_empty() {
            return Vec::new();
        }
        let here = service_thread();
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|(t, _)| *t == here);
        self.items = others;
        mine.into_iter().map(|(_, item)| item).collect()
    }
}
