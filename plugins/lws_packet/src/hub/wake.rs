//! Tokens and wake-ups across service threads: each connection's token
//! remembers the thread it opened on, and a wake-up for a connection of
//! another thread is queued for that thread (see the module doc of
//! [`super`]).

use comlink_plugin_api::threads::service_thread;

use super::Hub;

impl Hub {
    /// A token for a connection opening now (so on its own thread).
    pub(super) fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        self.owners.insert(t, service_thread());
        t
    }

    /// Asks for a writeable callback on `token`'s connection: at once on
    /// its own thread, else through that thread (see the module doc).
    pub(super) fn wake(&mut self, token: u64) {
        let Some(c) = self.conns.get(&token) else {
            return;
        };
        match self.owners.get(&token) {
            Some(t) if *t != service_thread() => self.pending.push(*t, token),
            _ => c.conn().request_writable(),
        }
    }

    pub(super) fn wake_all(&mut self, tokens: Vec<u64>) {
        for t in tokens {
            self.wake(t);
        }
    }

    /// Does this thread's queued wake-ups.
    pub(super) fn run_pending(&mut self) {
        for t in self.pending.take_mine() {
            if let Some(c) = self.conns.get(&t) {
                c.conn().request_writable();
            }
        }
    }
}
