//! The health check: the global `health-path` (off when unset), answered
//! on every vhost for load balancers and container runtimes (an ECS target
//! group, Docker's `HEALTHCHECK`).
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

use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::http::response::{full, Response};
use crate::site::Site;

/// Problems plugins reported, by (vhost name, part): why.
static PROBLEMS: Mutex<BTreeMap<(String, String), String>> = Mutex::new(BTreeMap::new());

/// Set when a stop was asked for (before the listeners close).
static STOPPING: AtomicBool = AtomicBool::new(false);

fn problems() -> std::sync::MutexGuard<'static, BTreeMap<(String, String), String>> {
    PROBLEMS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records that `part` of the service on `vhost` ("" for the whole
/// server) cannot work, for `why`; `None` clears it.
pub fn set_problem(vhost: &str, part: &str, why: Option<&str>) {
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
pub fn set_stopping() {
    STOPPING.store(true, Ordering::Release);
}

/// What the health check says now, and its JSON body. Problems of vhosts
/// the running configuration no longer has are left out.
pub fn verdict(site: &Site) -> (StatusCode, Value) {
    if STOPPING.load(Ordering::Acquire) || crate::host::context::CONTEXT.is_stopping() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "stopping" }),
        );
    }
    let list: Vec<Value> = problems()
        .iter()
        .filter(|((vhost, _), _)| {
            vhost.is_empty() || site.vhosts.iter().any(|v| v.cfg.name == *vhost)
        })
        .map(|((vhost, part), why)| {
            if vhost.is_empty() {
                json!({ "part": part, "why": why })
            } else {
                json!({ "vhost": vhost, "part": part, "why": why })
            }
        })
        .collect();
    if list.is_empty() {
        (StatusCode::OK, json!({ "status": "ok" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unavailable", "problems": list }),
        )
    }
}

/// The HTTP answer to `method` on the health path.
pub fn answer(site: &Site, method: &Method) -> Response {
    let (status, body) = if method == Method::GET || method == Method::HEAD {
        verdict(site)
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "error": "GET or HEAD the health path" }),
        )
    };
    let mut resp = http::Response::new(full(format!("{body}\n")));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        h.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    resp
}
