//! The JSON snapshot `lws-server-status` sends (the shape of lws's
//! `lws_json_dump_context`), from the counters in [`crate::runtime::counters`].

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::http::site::Site;
use crate::runtime::counters::{threads, uptime_secs, MAX_THREADS};

fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
    ]
}

/// The server's state as JSON, in the shape of lws's context dump.
pub fn context_json(site: &Site, threads_in_use: usize, hide_vhosts: bool) -> Value {
    let l = loadavg();
    let ts = threads();
    let pt: Vec<Value> = ts[..threads_in_use.clamp(1, MAX_THREADS)]
        .iter()
        .map(|t| {
            json!({
                "fds_count": t.open.load(Ordering::Relaxed).to_string(),
                "accepted": t.accepted.load(Ordering::Relaxed).to_string(),
            })
        })
        .collect();
    let wsi_alive: u64 = ts.iter().map(|t| t.open.load(Ordering::Relaxed)).sum();
    let mut ctx = json!({
        "context_uptime": uptime_secs().to_string(),
        "wsi_alive": wsi_alive.to_string(),
        "pt": pt,
    });
    if !hide_vhosts {
        let vhosts: Vec<Value> = site
            .vhosts
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let s = &v.stats;
                json!({
                    "name": v.cfg.name,
                    "port": v.cfg.port.to_string(),
                    "use_ssl": "0",
                    "sts": if v.cfg.sts { "1" } else { "0" },
                    "h1_trans": s.h1_trans.load(Ordering::Relaxed).to_string(),
                    "ws_upg": s.ws_upg.load(Ordering::Relaxed).to_string(),
                    "rejected": s.rejected.load(Ordering::Relaxed).to_string(),
                    "tx": s.tx.load(Ordering::Relaxed).to_string(),
                    "mounts": v.cfg.mounts.iter().map(|m| json!({
                        "mountpoint": m.mountpoint,
                        "origin": format!("{:?}", m.origin),
                    })).collect::<Vec<_>>(),
                    "ws-protocols": site.host.vhosts[i].protocols.iter().map(|p| p.def.name.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        ctx["vhosts"] = Value::Array(vhosts);
    }
    let mut plugins: Vec<String> = site
        .host
        .vhosts
        .iter()
        .flat_map(|v| {
            v.protocols
                .iter()
                .map(|p| p.def.lib.path.display().to_string())
        })
        .collect();
    plugins.sort();
    plugins.dedup();
    json!({
        "version": concat!("lwsws-comlink ", env!("CARGO_PKG_VERSION")),
        "uptime": uptime_secs().to_string(),
        "l1": format!("{:.2}", l[0]),
        "l2": format!("{:.2}", l[1]),
        "l3": format!("{:.2}", l[2]),
        "plugins": plugins,
        "plugin_figures": crate::host::figures::json(),
        "reload": crate::ops::reload_status::json(),
        "contexts": [ctx],
    })
}

/// Installs [`context_json`] over the running site as the answer to
/// `lws_json_dump_context` (before the service threads start: plugins may
/// ask from PROTOCOL_INIT).
pub fn install(site: std::sync::Arc<arc_swap::ArcSwap<Site>>) {
    use crate::host::context::CONTEXT;
    CONTEXT.set_context_json(Box::new(move |hide_vhosts| {
        context_json(&site.load(), CONTEXT.count_threads(), hide_vhosts).to_string()
    }));
}
