//! The packet service's part in the server's health check (the global
//! `health-path`): a vhost whose journal does not take packets makes the
//! check answer 503, naming the vhost and why (`comlink_health_set`).
//!
//! A vhost's journal is "not taking packets" when its store could not be
//! opened (PROTOCOL_INIT refused the protocol; a reload that opens it
//! clears that), or while the journal refuses packets without trying them:
//! stopped after a failed fsync until it has reopened, or full or without
//! Redis until its next attempt ([`Service::refusing`]). Past that moment
//! the next packet tries again, so the check says healthy: a load balancer
//! that took the server out on the 503 sends traffic again, and a journal
//! that still fails is marked down for another round. While a journal is
//! down its hub checks again every second ([`check`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use std::ffi::c_int;
use std::time::Duration;

use comlink_plugin_api::protocol::health;
use comlink_plugin_api::Vhost;
use packet_journal::Service;

/// What the health check calls this part.
const PART: &str = "packet journal";

/// Why a vhost's journal does not take packets.
#[derive(Clone, PartialEq, Eq)]
enum Down {
    /// The store could not be opened.
    Open(String),
    /// The journal refuses packets (full, stopped, no Redis).
    Append(String),
}

/// Vhosts whose journal does not take packets, by vhost name.
static DOWN: Mutex<Option<HashMap<String, Down>>> = Mutex::new(None);
/// How many there are: the common case (none) costs one atomic load per
/// acknowledged packet.
static DOWN_COUNT: AtomicUsize = AtomicUsize::new(0);

fn update(vhost: &str, f: impl FnOnce(Option<&Down>) -> Option<Option<Down>>) {
    let mut guard = DOWN.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    let Some(next) = f(map.get(vhost)) else {
        return;
    };
    let why = match &next {
        Some(Down::Open(w) | Down::Append(w)) => Some(w.clone()),
        None => None,
    };
    match next {
        Some(d) => {
            map.insert(vhost.to_string(), d);
        }
        None => {
            map.remove(vhost);
        }
    }
    DOWN_COUNT.store(map.len(), Ordering::Release);
    health(vhost, PART, why.as_deref().map_or(Ok(()), Err));
}

/// The store of `vhost` could not be opened.
pub fn open_failed(vhost: &str, why: &str) {
    let d = Down::Open(why.to_string());
    update(vhost, |now| (now != Some(&d)).then_some(Some(d)));
}

/// The store of `vhost` is open (PROTOCOL_INIT): an earlier failure to
/// open it is over; one of its appends is not (the store is shared and
/// kept across reloads).
pub fn opened(vhost: &str) {
    if DOWN_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    update(vhost, |now| {
        matches!(now, Some(Down::Open(_))).then_some(None)
    });
}

/// Reason of the once-a-second re-check while a journal is down.
pub const RECHECK_REASON: c_int = comlink_plugin_api::abi::LWS_CALLBACK_USER + 0x5d;

/// Vhosts (by name) with a re-check scheduled.
static ARMED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether `svc`, the journal of `vhost`, refuses packets now; called at
/// every vhost-level event of the hub (`reason`: journal results, ticks,
/// the re-check). While it does, one re-check is kept scheduled a second
/// later.
pub fn check(vhost: Vhost, svc: &Service, reason: c_int) {
    if reason == RECHECK_REASON {
        let name = vhost.name();
        ARMED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|v| *v != name);
    }
    match svc.refusing() {
        None => {
            if DOWN_COUNT.load(Ordering::Acquire) == 0 {
                return;
            }
            update(&vhost.name(), |now| {
                matches!(now, Some(Down::Append(_))).then_some(None)
            });
        }
        Some(why) => {
            let d = Down::Append(why);
            let name = vhost.name();
            update(&name, |now| (now != Some(&d)).then_some(Some(d)));
            let mut armed = ARMED.lock().unwrap_or_else(|e| e.into_inner());
            if !armed.contains(&name) {
                armed.push(name);
                vhost.schedule(RECHECK_REASON, Duration::from_secs(1));
            }
        }
    }
}
