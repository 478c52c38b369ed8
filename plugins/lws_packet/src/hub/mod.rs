//! The per-vhost state of both protocols: every connection the protocol
//! has on this vhost (by token), its journal client, and the code that turns
//! journal results into writes.
//!
//! Nothing here blocks: appends and journal reads are queued to the
//! service's threads, whose results come back in the client's mailbox; the
//! service then calls `lws_cancel_service`, every protocol gets
//! `EVENT_WAIT_CANCELLED`, and [`Hub::event`] drains the mailbox and asks for
//! writeable callbacks on the connections that have something to send.
//!
//! With `count-threads` > 1 the hub is shared by every service thread (one
//! callback at a time), but a connection may only be touched from its own
//! thread. So each token remembers its thread, and a wake-up for a
//! connection of another thread is queued for that thread, which is woken
//! (`lws_cancel_service`) and does it in its own `EVENT_WAIT_CANCELLED`.
//!
//! The parts, by concept:
//!
//! * [`http`]: requests on the mount, routed to [`post`] (HTTP ingest),
//!   [`sse`] (`/events`), [`poll`] (`/packets`) or a one-shot [`reply`];
//! * [`ws_ingest`]: WebSocket ingest, its answers kept in message order;
//! * [`subscribe`]: what every subscriber kind shares, and WebSocket delivery;
//! * [`keys`]: idempotency keys (the header, the key line, their scope);
//! * [`events`]: the vhost events (the journal's wake-up, the tick, long-poll
//!   deadlines) and what the journal's results do;
//! * [`wake`]: tokens and wake-ups across service threads;
//! * [`figures`]: the figures published to the metrics endpoint;
//! * [`gate`]: access control at every endpoint (who a request is, its
//!   refusal, the rate limit, connections whose credential was revoked);
//! * [`stop`]: ending streams when the server stops or the plugin is replaced.

use std::sync::Arc;
use std::thread::ThreadId;
use std::time::Instant;

use comlink_plugin_api::threads::ForThread;
use comlink_plugin_api::{Action, Connection, Vhost};
use packet_journal::metrics::Metrics;
use packet_journal::{Client, Service};
use rustc_hash::FxHashMap;

use crate::access::vhosts::{self, Access};

mod events;
mod figures;
mod gate;
mod http;
mod keys;
mod poll;
mod post;
mod reply;
mod sse;
mod stop;
mod subscribe;
#[cfg(test)]
mod testing;
mod wake;
mod ws_ingest;

pub use events::{DEADLINE_REASON, TICK_REASON};
pub use keys::{IDEMPOTENCY_KEY, REPLAYED};

use post::Post;
use reply::Reply;
use subscribe::{ws_writeable, Sub};
use ws_ingest::WsIn;

/// Messages written in one WebSocket writeable callback while the socket
/// keeps taking them.
const WRITES_PER_CALLBACK: usize = 64;

/// A connection's handle into its hub (the per-session data).
#[derive(Debug)]
pub struct Session {
    /// Its key in [`Hub`]'s connections.
    pub token: u64,
}

enum Conn {
    Post(Post),
    Reply(Reply),
    WsIn(WsIn),
    Sub(Sub),
}

impl Conn {
    fn conn(&self) -> Connection {
        match self {
            Conn::Post(p) => p.conn,
            Conn::Reply(r) => r.conn,
            Conn::WsIn(w) => w.conn,
            Conn::Sub(s) => s.conn,
        }
    }
}

/// The per-vhost state of one protocol.
pub struct Hub {
    client: Client,
    vhost: Vhost,
    /// The vhost's name: idempotency keys are per vhost.
    scope: String,
    name: &'static str,
    max_packet: usize,
    next_token: u64,
    /// (Tokens are small counters: a cheap hash, looked up per delivery.)
    conns: FxHashMap<u64, Conn>,
    /// Where the last wake-up of the subscribers started, a fraction of
    /// 2^32 of them (see `wake_ready`).
    walk: u32,
    last_committed: u64,
    tick_armed: bool,
    /// When the figures were last reported to the metrics endpoint.
    metrics_at: Option<Instant>,
    /// A deferred report is scheduled.
    metrics_armed: bool,
    /// The server's stop was seen (streams told to end).
    stopping: bool,
    /// The service thread of each connection (by token).
    owners: FxHashMap<u64, ThreadId>,
    /// Wake-ups waiting for their connection's own thread.
    pending: ForThread<u64>,
    /// The labels of the `comlink_packet_journal_error` series set to 1.
    error_series: Option<String>,
    /// Who may do what on this vhost (shared with the other protocol and
    /// with the instances of other configurations).
    access: Arc<Access>,
    /// The access rules' [`vhosts::EPOCH`] the grants were last checked at.
    epoch: u64,
    /// The warning about open sides was considered.
    warned: bool,
}

impl Hub {
    /// The hub of protocol `name` on `vhost`, using `svc`, letting in whom
    /// `access` says.
    pub fn new(vhost: Vhost, name: &'static str, svc: &Arc<Service>, access: Arc<Access>) -> Hub {
        let max_packet = svc.settings().max_packet_bytes;
        let mut hub = Hub {
            client: svc.client(),
            scope: vhost.name(),
            vhost,
            name,
            max_packet,
            next_token: 1,
            conns: FxHashMap::default(),
            walk: 0,
            last_committed: svc.committed(),
            tick_armed: false,
            metrics_at: None,
            metrics_armed: false,
            stopping: false,
            owners: FxHashMap::default(),
            pending: ForThread::default(),
            error_series: None,
            access,
            epoch: vhosts::EPOCH.load(std::sync::atomic::Ordering::Acquire),
            warned: false,
        };
        // The figures are there from the start (what opening the journal
        // found among them), not only after the first packet.
        hub.report_metrics();
        hub
    }

    fn svc(&self) -> &Arc<Service> {
        self.client.service()
    }

    fn metrics(&self) -> &Metrics {
        self.client.service().metrics()
    }

    /// A WebSocket connection can take a write.
    pub fn writeable(&mut self, s: &Session) -> Action {
        let Hub { client, conns, .. } = self;
        match conns.get_mut(&s.token) {
            Some(Conn::WsIn(w)) => w.writeable(),
            Some(Conn::Sub(sub)) => ws_writeable(client, s.token, sub),
            _ => Action::Continue,
        }
    }

    /// PROTOCOL_DESTROY: this instance's access options stop applying
    /// (unless a newer instance's replaced them).
    pub fn destroy(self) {
        vhosts::release(&self.access, self.vhost.as_raw() as usize);
    }

    /// The connection is gone (or its HTTP transaction is done).
    pub fn closed(&mut self, s: Session) {
        self.owners.remove(&s.token);
        if let Some(Conn::Sub(_)) = self.conns.remove(&s.token) {
            Metrics::sub(&self.metrics().subscribers, 1);
        }
    }
}
