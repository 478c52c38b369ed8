//! What `struct lws_vhost *` points at: the protocols enabled on one vhost,
//! their options and per-vhost data (`vh_priv`).

use rustc_hash::FxHashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, OnceLock, Weak};

use crate::config::Vhost;
use crate::host::ffi::call::PluginMem;
use crate::host::ffi::load::ProtocolDef;
use crate::host::ffi::mount::MountTable;
use crate::host::ffi::pvo::PvoList;
use crate::host::loader::Registry;
use crate::host::site::HostSite as Site;

/// One vhost, as plugins see it.
#[derive(Debug)]
pub struct VhostHandle {
    /// Index into `Site::vhosts`.
    pub index: usize,
    /// The vhost name, for `lws_get_vhost_name`.
    pub name: CString,
    /// Its configured port, for `lws_get_vhost_listen_port`.
    pub port: u16,
    /// Its configured `interface`, for `lws_get_vhost_iface`.
    pub iface: Option<CString>,
    /// Enabled protocols, in `ws-protocols` order.
    pub protocols: Vec<VhostProtocol>,
    /// Index (into `protocols`) of the protocol serving upgrades that name none.
    pub default_protocol: Option<usize>,
    /// The vhost's configuration (for lws calls that read it).
    pub cfg: Vhost,
    /// Its mounts as `struct lws_http_mount`s (`lws_find_mount`).
    pub mounts: MountTable,
}

/// One protocol on one vhost.
#[derive(Debug)]
pub struct VhostProtocol {
    /// The protocol.
    pub def: Arc<ProtocolDef>,
    /// Its per-vhost options.
    pub pvo: PvoList,
    /// `lws_protocol_vh_priv_zalloc` memory (freed with the protocol,
    /// after DESTROY).
    pub(crate) vh_priv: OnceLock<PluginMem>,
    /// PROTOCOL_INIT ran and returned 0 (so DESTROY is owed).
    pub initialized: AtomicBool,
    /// PROTOCOL_INIT refused: the protocol is not offered on this vhost.
    pub failed: AtomicBool,
    /// Its plugin's file was replaced: PROTOCOL_INIT waits until the old
    /// version has let go (see `host::handover`); requests wait meanwhile.
    pub pending: AtomicBool,
    /// Callback latency and open connections, for the metrics.
    pub times: crate::runtime::counters::CallbackTimes,
}

impl VhostHandle {
    /// Binds the protocols `v` enables (every loaded protocol when it lists
    /// none, as lws does) to a new vhost handle.
    pub fn new(index: usize, v: &Vhost, reg: &Registry) -> VhostHandle {
        let mut protocols = Vec::new();
        let mut default_protocol = None;
        if v.ws_protocols.is_empty() {
            let mut all: Vec<&Arc<ProtocolDef>> = reg.protocols.values().collect();
            all.sort_by(|a, b| a.name.cmp(&b.name));
            for def in all {
                protocols.push(VhostProtocol::new(def.clone(), &[]));
            }
        } else {
            for po in &v.ws_protocols {
                match reg.protocols.get(&po.name) {
                    Some(def) => {
                        let vp = VhostProtocol::new(def.clone(), &po.options);
                        if vp.pvo.has("default") {
                            default_protocol = Some(protocols.len());
                        }
                        protocols.push(vp);
                    }
                    None => tracing::warn!(
                        "{}: vhost \"{}\": no loaded plugin provides protocol \"{}\"",
                        po.at,
                        v.name,
                        po.name
                    ),
                }
            }
        }
        VhostHandle {
            index,
            name: CString::new(v.name.replace('\0', "")).unwrap_or_default(),
            port: v.port,
            iface: v
                .interface
                .as_deref()
                .and_then(|i| CString::new(i.replace('\0', "")).ok()),
            protocols,
            default_protocol,
            cfg: v.clone(),
            mounts: MountTable::new(&v.mounts),
        }
    }

    /// The enabled protocol called `name` (and not refused at init).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.protocols
            .iter()
            .position(|p| p.def.name == name && !p.failed.load(Ordering::Relaxed))
    }

    /// Whether a protocol of this vhost waits for a hand-over.
    pub fn any_pending(&self) -> bool {
        self.protocols
            .iter()
            .any(|p| p.pending.load(Ordering::Acquire))
    }

    /// The enabled protocol whose table entry is `raw` (or whose name matches it).
    pub fn find_raw(&self, raw: *const comlink_plugin_api::abi::LwsProtocols) -> Option<usize> {
        self.protocols
            .iter()
            .position(|p| std::ptr::eq(p.def.raw, raw))
    }
}

impl VhostProtocol {
    fn new(def: Arc<ProtocolDef>, options: &[crate::config::Pvo]) -> VhostProtocol {
        VhostProtocol {
            def,
            pvo: PvoList::new(options),
            vh_priv: OnceLock::new(),
            initialized: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            times: Default::default(),
        }
    }
}

impl Drop for VhostProtocol {
    fn drop(&mut self) {
        if let Some(mem) = self.vh_priv.take() {
            let (start, len) = mem.span();
            crate::host::timers::cancel_within(start, len);
        }
    }
}

/// The vhost handles of every site still alive (address -> its site), so a
/// `struct lws_vhost *` from a plugin is checked before it is used and
/// leads back to the site it belongs to.
static LIVE_VHOSTS: Mutex<Option<FxHashMap<usize, Weak<Site>>>> = Mutex::new(None);

fn live_vhosts<R>(f: impl FnOnce(&mut FxHashMap<usize, Weak<Site>>) -> R) -> R {
    let mut g = LIVE_VHOSTS.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(FxHashMap::default))
}

/// The site registered last (the one being served).
static NEWEST: Mutex<Weak<Site>> = Mutex::new(Weak::new());

/// The site being served (the one registered last), if still alive.
pub(crate) fn newest_site() -> Option<Arc<Site>> {
    NEWEST.lock().unwrap_or_else(|e| e.into_inner()).upgrade()
}

/// Registers the vhosts of a site (now in its `Arc`, so addresses hold).
pub(crate) fn register_site(site: &Arc<Site>) {
    *NEWEST.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(site);
    live_vhosts(|m| {
        for v in &site.vhosts {
            m.insert(v as *const VhostHandle as usize, Arc::downgrade(site));
        }
    });
}

/// Unmarks a handle.
pub(crate) fn forget(h: &VhostHandle) {
    live_vhosts(|m| m.remove(&(h as *const VhostHandle as usize)));
}

/// The site a live vhost handle belongs to.
pub(crate) fn site_of(addr: usize) -> Option<Arc<Site>> {
    live_vhosts(|m| m.get(&addr).and_then(Weak::upgrade))
}

/// Every site still alive: the current one and those retiring after a reload.
pub(crate) fn live_sites() -> Vec<Arc<Site>> {
    let mut out: Vec<Arc<Site>> = Vec::new();
    live_vhosts(|m| {
        for w in m.values() {
            if let Some(s) = w.upgrade() {
                if !out.iter().any(|o| Arc::ptr_eq(o, &s)) {
                    out.push(s);
                }
            }
        }
    });
    out
}
