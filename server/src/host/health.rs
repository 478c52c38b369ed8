//! What the health check reports (the answer itself is
//! `http::health`, on the global `health-path`):
//!
//! * `200 {"status":"ok"}` while serving;
//! * `503 {"status":"stopping"}` once a stop was asked for (during
//!   `stop-delay-secs` everything else is still served, so a load balancer
//!   can take the server out before its listeners close);
//! * `503 {"status":"unavailable","problems":[...]}` while a plugin says a
//!   part of the service it provides cannot work: the packet service does
//!   when its journal stops taking packets. Plugins report through
//!   `comlink_health_set` ([`set_problem`]); each problem names its vhost
//!   (or none: the whole server), the part and why.
//!
//! The server as a whole is judged, whichever vhost is asked: a load
//! balancer checks one address per server.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Problems plugins reported, by (vhost name, part): why.
static PROBLEMS: Mutex<BTreeMap<(String, String), String>> = Mutex::new(BTreeMap::new());

/// Set when a stop was asked for (before the listeners close).
static STOPPING: AtomicBool = AtomicBool::new(false);

pub(crate) fn problems() -> std::sync::MutexGuard<'static, BTreeMap<(String, String), String>> {
    PROBLEMS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records that `part` of the service on `vhost` ("" for the whole
/// server) cannot work, for `why`; `None` clears it.
pub(crate) fn set_problem(vhost: &str, part: &str, why: Option<&str>) {
    let key = (vhost.to_string(), part.to_string());
    let mut m = problems();
    match why {
        Some(why) => {
            if m.get(&key).map(String::as_str) != Some(why) {
                tracing::warn!(
                    "health: {}{part}: {why}",
                    if vhost.is_empty() {
                        String::new()
                    } else {
                        format!("vhost \"{vhost}\": ")
                    }
                );
                m.insert(key, why.to_string());
            }
        }
        None => {
            if m.remove(&key).is_some() {
                tracing::info!(
                    "health: {}{part}: working again",
                    if vhost.is_empty() {
                        String::new()
                    } else {
                        format!("vhost \"{vhost}\": ")
                    }
                );
            }
        }
    }
}

/// A stop was asked for: the health check answers 503 from now on.
pub(crate) fn set_stopping() {
    STOPPING.store(true, Ordering::Release);
}

/// Whether a stop was asked for (or the server is stopping).
pub(crate) fn stopping() -> bool {
    STOPPING.load(Ordering::Acquire) || crate::host::context::CONTEXT.is_stopping()
}
