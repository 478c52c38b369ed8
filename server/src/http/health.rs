//! The health check: the global `health-path` (off when unset), answered
//! on every vhost for load balancers and container runtimes (an ECS target
//! group, Docker's `HEALTHCHECK`), from what `host::health` holds: 200
//! `{"status":"ok"}`, or 503 `stopping` / `unavailable` with the problems.

use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::host::health;
use crate::http::response::{full, Response};
use crate::http::site::Site;

/// What the health check says now, and its JSON body. Problems of vhosts
/// the running configuration no longer has are left out.
pub(crate) fn verdict(site: &Site) -> (StatusCode, Value) {
    if health::stopping() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "stopping" }),
        );
    }
    let list: Vec<Value> = health::problems()
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
pub(crate) fn answer(site: &Site, method: &Method) -> Response {
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
