//! The host's half of a running configuration: one `VhostHandle` per
//! vhost (what `struct lws_vhost *` points at: its protocols, their options
//! and per-vhost data, and the vhost's configuration for the lws calls that
//! read it), plus the few global settings connections of plugins need.
//!
//! Built once per (re)load. Connections bound to a plugin hold it (an
//! `Arc`), so a reload can replace it while they finish on the one they
//! started with; the http layer's site holds it beside its mounts.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::host::loader::Registry;
use crate::host::vhost::{self, VhostHandle};

/// The plugin side of one configuration.
#[derive(Debug)]
pub struct HostSite {
    /// Vhosts in configuration order (listeners refer to them by index).
    pub vhosts: Vec<VhostHandle>,
    /// `ws-pingpong-secs`: ping WebSockets idle this long.
    pub ws_ping: Option<Duration>,
    /// `timeout-secs`: how long a plugin may leave a transaction silent.
    pub timeout: Duration,
}

impl HostSite {
    /// Binds the protocols each vhost enables and registers the vhost
    /// handles, so pointers plugins hand back can be checked.
    pub fn build(config: &Config, plugins: &Registry) -> Arc<HostSite> {
        let site = Arc::new(HostSite {
            vhosts: config
                .vhosts
                .iter()
                .enumerate()
                .map(|(i, v)| VhostHandle::new(i, v, plugins))
                .collect(),
            ws_ping: config
                .global
                .ws_pingpong_secs
                .filter(|&s| s > 0)
                .map(|s| Duration::from_secs(u64::from(s))),
            timeout: Duration::from_secs(u64::from(config.global.timeout_secs.max(1))),
        });
        vhost::register_site(&site);
        site
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        for v in &self.vhosts {
            vhost::forget(v);
        }
    }
}
