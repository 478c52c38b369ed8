//! Tokens and wake-ups across service threads: each connection's token
//! remembers the thread it opened on, and a wake-up for a connection of
//! another thread is queued for that thread (see the module doc of
//! [`super`]).

use comlink_plugin_api::threads::service_thread;
use comlink_plugin_api::Connection;
use packet_journal::metrics::Metrics;
use packet_journal::Packet;

use super::subscribe::{Kind, Sub};
use super::{Conn, Hub};

/// How far (a fraction of 2^32 of the subscribers) a wake-up's walk starts
/// from the last one's: 2^32 divided by the golden ratio.
const WALK_STEP: u32 = 0x9E37_79B9;

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

    /// Wakes every subscriber with something to send now that `committed`
    /// is the newest id: one pass over the connections, each asked at once
    /// when it is this thread's (the common case: a new packet for a
    /// thousand subscribers is a thousand requests, not a thousand lookups
    /// more), else queued for its thread. The host serves them in the order
    /// asked, so each walk starts at a different place (golden-ratio steps,
    /// [`WALK_STEP`]): the same subscribers are not the last to get every
    /// packet.
    ///
    /// The WebSocket subscribers for which the newest packet is next, with
    /// nothing before it, are given it together after the walk
    /// (`queue_text_all`): the host frames it once and sends it to each,
    /// without a WRITEABLE callback and a journal lookup each. The others
    /// (behind, filtered, on another thread, still sending) are asked for
    /// WRITEABLE as before, as are any that could not take it.
    pub(super) fn wake_ready(&mut self, committed: u64) {
        let here = service_thread();
        self.walk = self.walk.wrapping_add(WALK_STEP);
        let start = ((u64::from(self.walk) * self.conns.len() as u64) >> 32) as usize;
        let newest = self.svc().live_packet(committed);
        let Hub {
            conns,
            owners,
            pending,
            ..
        } = self;
        let mut walk: Vec<_> = conns.iter_mut().collect();
        let len = walk.len();
        walk.rotate_left(start.min(len));
        let mut live: Vec<&mut Sub> = Vec::new();
        for (token, c) in walk {
            let Conn::Sub(s) = c else { continue };
            if !s.feed.has_work(committed) {
                continue;
            }
            match owners.get(token) {
                Some(t) if *t != here => pending.push(*t, *token),
                _ if newest.as_deref().is_some_and(|p| takes_now(s, p)) => live.push(s),
                _ => s.conn.request_writable(),
            }
        }
        let (Some(p), false) = (newest, live.is_empty()) else {
            return;
        };
        let conns: Vec<Connection> = live.iter().map(|s| s.conn).collect();
        let taken = Connection::queue_text_all(&conns, p.envelope().as_bytes());
        let mut given = 0;
        for (s, took) in live.into_iter().zip(taken) {
            if took {
                s.feed.passed(&p);
                given += 1;
            } else {
                s.conn.request_writable();
            }
        }
        Metrics::add(&self.svc().metrics().delivered, given);
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

/// Whether `s` is a WebSocket subscriber for which `p` is next, with
/// nothing before it, and one that still gets packets.
fn takes_now(s: &Sub, p: &Packet) -> bool {
    matches!(s.kind, Kind::Ws) && !s.revoked && !s.ending && s.failed.is_none() && s.feed.is_next(p)
}
