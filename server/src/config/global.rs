//! The `"global"` object (contract §1.2), plus Comlink's `watch`,
//! `metrics-path`, `health-path` and `stop-delay-secs`.
//!
//! A `"global"` object may appear in `conf` and in any `conf.d` file; they
//! are applied in reading order onto one [`Global`], so a later scalar key
//! overrides an earlier one and `plugin-dir` / `reject-service-keywords`
//! accumulate. Strings are kept verbatim (no `_lws_ddir_` substitution, as
//! in lwsws).

use super::json::Member;
use super::model::Global;
use super::value::{set, set_some, Cx};

/// Applies the members of one `"global"` object onto `g`.
pub(crate) fn apply(cx: &mut Cx<'_>, members: &[Member], g: &mut Global) {
    for m in members {
        let (key, v) = (m.key.as_str(), &m.value);
        match key {
            "uid" => set(&mut g.uid, cx.u32(key, v)),
            "gid" => set(&mut g.gid, cx.u32(key, v)),
            "username" => set_some(&mut g.username, cx.text_setting(key, v)),
            "groupname" => set_some(&mut g.groupname, cx.text_setting(key, v)),
            "count-threads" => match cx.u32(key, v) {
                Some(0) => {
                    cx.warn(v.at, "\"count-threads\": 0 is not allowed, using 1");
                    g.count_threads = 1;
                }
                n => set(&mut g.count_threads, n),
            },
            "count-async-threads" => set(&mut g.count_async_threads, cx.u32(key, v)),
            "init-ssl" => set(&mut g.init_ssl, cx.bool(key, v)),
            "server-string" => set_some(&mut g.server_string, cx.text(key, v)),
            "plugin-dir" => {
                if let Some(dir) = cx.path(key, v) {
                    g.plugin_dirs.push(dir);
                }
            }
            "ws-pingpong-secs" => set_some(&mut g.ws_pingpong_secs, cx.u32(key, v)),
            "timeout-secs" => set(&mut g.timeout_secs, cx.u32(key, v)),
            "reject-service-keywords" => {
                let pairs = cx.pairs(key, v);
                g.reject_service_keywords.extend(pairs);
            }
            "default-alpn" => set_some(&mut g.default_alpn, cx.text(key, v)),
            "ip-limit-ah" => set(&mut g.ip_limit_ah, cx.u32(key, v)),
            "ip-limit-wsi" => set(&mut g.ip_limit_wsi, cx.u32(key, v)),
            "rlimit-nofile" => set_some(&mut g.rlimit_nofile, cx.u64(key, v)),
            "watch" => set(&mut g.watch, cx.bool(key, v)),
            "metrics-path" => set_some(&mut g.metrics_path, cx.text(key, v)),
            "health-path" => set_some(&mut g.health_path, cx.text(key, v)),
            "stop-delay-secs" => set(&mut g.stop_delay_secs, cx.u32(key, v)),
            "cpd-bypass"
            | "quic-pad-crypto"
            | "allow-early-data"
            | "quic-only-latest"
            | "quic-early-key-update" => cx.head_only("global", m),
            _ => cx.unknown_key("global", m),
        }
    }
}
