//! The packet service's part in the server's health check (the global
//! `health-path`): a vhost whose journal does not take packets makes the
//! check answer 503, naming the vhost and why (`comlink_health_set`).
//!
//! A vhost's journal is "not taking packets" when its store could not be
//! opened (PROTOCOL_INIT refused the protocol), or when its last append
//! failed; the next append that succeeds, or a reload that opens the
//! store, clears it. A controller whose packet was refused retries (503
//! with the error), so a journal that works again is seen at the next
//! retry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use comlink_plugin_api::protocol::health;
use comlink_plugin_api::Vhost;

/// What the health check calls this part.
const PART: &str = "packet journal";

/// Why a vhost's journal does not take packets.
#[derive(Clone, PartialEq, Eq)]
enum Down {
    /// The store could not be opened.
    Open(String),
    /// The last append failed.
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

/// An append on `vhost` was answered: `Ok` clears a failure, `Err` is one.
pub fn recorded(vhost: Vhost, result: &Result<u64, String>) {
    match result {
        Ok(_) => {
            if DOWN_COUNT.load(Ordering::Acquire) == 0 {
                return;
            }
            update(&vhost.name(), |now| now.is_some().then_some(None));
        }
        Err(e) => {
            let d = Down::Append(e.clone());
            update(&vhost.name(), |now| (now != Some(&d)).then_some(Some(d)));
        }
    }
}
