//! Calling protocol callbacks: on one connection, on a vhost-level
//! stand-in, or on every connection of a protocol (this thread's; other
//! threads get a [`Command`](crate::host::thread::Command)).

use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use comlink_plugin_api::abi::{
    LWS_CALLBACK_EVENT_WAIT_CANCELLED, LWS_CALLBACK_PROTOCOL_DESTROY, LWS_CALLBACK_PROTOCOL_INIT,
};

use crate::host::ffi::call;
use crate::host::site::HostSite;
use crate::host::wsi::{Role, Wsi};
use crate::host::{handover, thread, threadpool};

/// Calls the wsi's protocol with `reason`. Returns the callback's value
/// (0 when no protocol is bound).
pub(crate) fn callback(wsi: &Wsi, reason: c_int, input: *mut c_void, len: usize) -> c_int {
    let Some(vp) = wsi.proto() else {
        return 0;
    };
    // The protocol (and so its library) stays for the length of the call:
    // the wsi's site holds its vhosts and their protocols, and the wsi
    // outlives its callbacks (no count taken here, per callback).
    let def = &vp.def;
    let started = std::time::Instant::now();
    let (site, lib) = (
        Arc::as_ptr(&wsi.site) as usize,
        Arc::as_ptr(&def.lib) as usize,
    );
    let rc = handover::as_callback_of(&def.lib, || {
        threadpool::as_caller(site, lib, || {
            thread::in_callback_of(wsi as *const Wsi as usize, || {
                call::callback(def, wsi, reason, input, len)
            })
        })
    });
    vp.times.record(started.elapsed());
    // Back to the event loop: the next write is a new one.
    wsi.could_have_pending.set(false);
    rc
}

/// Calls protocol `proto` of vhost `vhost` through a stand-in wsi (lws's
/// fake wsi: context, vhost and protocol, no connection, no pss).
pub(crate) fn vhost_callback(
    site: &Arc<HostSite>,
    vhost: usize,
    proto: usize,
    reason: c_int,
    input: *mut c_void,
    len: usize,
) -> c_int {
    let wsi = Wsi::new(site.clone(), vhost, Role::Vhost, None, None);
    wsi.protocol.set(Some(proto));
    thread::register(&wsi);
    let rc = callback(&wsi, reason, input, len);
    thread::unregister(&wsi);
    rc
}

/// PROTOCOL_INIT for every protocol of every vhost, but those pending a
/// hand-over (see [`take_over`]). A protocol whose init fails is not
/// offered on that vhost; the others go on.
pub(crate) fn init_all(site: &Arc<HostSite>) {
    for (vi, v) in site.vhosts.iter().enumerate() {
        for (pi, p) in v.protocols.iter().enumerate() {
            if !p.pending.load(Ordering::Acquire) {
                init_one(site, vi, pi);
            }
        }
    }
}

fn init_one(site: &Arc<HostSite>, vi: usize, pi: usize) {
    let v = &site.vhosts[vi];
    let p = &v.protocols[pi];
    let rc = init_rc(site, vi, pi);
    if rc == 0 {
        p.initialized.store(true, Ordering::Release);
    } else {
        refused(v, p, rc);
    }
}

fn init_rc(site: &Arc<HostSite>, vi: usize, pi: usize) -> c_int {
    let p = &site.vhosts[vi].protocols[pi];
    vhost_callback(
        site,
        vi,
        pi,
        LWS_CALLBACK_PROTOCOL_INIT,
        p.pvo.head() as *mut c_void,
        0,
    )
}

fn refused(v: &crate::host::vhost::VhostHandle, p: &crate::host::vhost::VhostProtocol, rc: c_int) {
    p.failed.store(true, Ordering::Release);
    tracing::warn!(
        "vhost \"{}\": protocol \"{}\": PROTOCOL_INIT returned {rc}; not offered here",
        v.cfg.name,
        p.def.name
    );
}

/// PROTOCOL_DESTROY for every protocol whose init succeeded.
pub(crate) fn destroy_all(site: &Arc<HostSite>) {
    destroy_where(site, |_| true);
}

pub(crate) fn destroy_where(site: &Arc<HostSite>, pick: impl Fn(usize) -> bool) {
    destroy_protocols(site, &pick);
    threadpool::ended(Arc::as_ptr(site) as usize, pick);
}

fn destroy_protocols(site: &Arc<HostSite>, pick: &impl Fn(usize) -> bool) {
    for (vi, v) in site.vhosts.iter().enumerate() {
        for (pi, p) in v.protocols.iter().enumerate() {
            if pick(Arc::as_ptr(&p.def.lib) as usize) && p.initialized.swap(false, Ordering::AcqRel)
            {
                vhost_callback(
                    site,
                    vi,
                    pi,
                    LWS_CALLBACK_PROTOCOL_DESTROY,
                    std::ptr::null_mut(),
                    0,
                );
            }
        }
    }
}

/// PROTOCOL_INIT for the protocols of libraries `new` pending on `site`.
/// With `may_wait`, one whose INIT fails stays pending (the old version
/// may still hold what it needs) and the result is true; otherwise it is
/// not offered, as any refused INIT.
pub(crate) fn init_pending(site: &Arc<HostSite>, new: &[usize], may_wait: bool) -> bool {
    let mut waiting = false;
    for (vi, v) in site.vhosts.iter().enumerate() {
        for (pi, p) in v.protocols.iter().enumerate() {
            if !new.contains(&(Arc::as_ptr(&p.def.lib) as usize))
                || !p.pending.load(Ordering::Acquire)
            {
                continue;
            }
            let rc = init_rc(site, vi, pi);
            if rc == 0 {
                p.initialized.store(true, Ordering::Release);
            } else if may_wait {
                waiting = true;
                continue;
            } else {
                refused(v, p, rc);
            }
            p.pending.store(false, Ordering::Release);
        }
    }
    waiting
}

/// Closes this thread's connections of protocols from libraries `libs`
/// (a hand-over the old version did not make way for): WebSockets with
/// 1012 (service restart), HTTP transactions at once.
pub(crate) fn drain_local(libs: &[usize]) {
    for addr in thread::live() {
        call::with_live(addr, |wsi| {
            let Some(p) = wsi.proto().filter(|_| wsi.role != Role::Vhost) else {
                return;
            };
            if libs.contains(&(Arc::as_ptr(&p.def.lib) as usize)) {
                *wsi.close_reason.borrow_mut() = Some((1012, b"service restart".to_vec()));
                wsi.close_requested.set(true);
                wsi.wake.notify_one();
            }
        });
    }
}

/// Whether `wsi` is a connection of protocol `proto` (on vhost `vhost`).
fn matches(wsi: &Wsi, proto: usize, vhost: Option<usize>) -> bool {
    if wsi.role == Role::Vhost {
        return false;
    }
    let Some(p) = wsi.proto() else {
        return false;
    };
    if p.def.raw as usize != proto {
        return false;
    }
    vhost.is_none_or(|v| wsi.vhost_handle() as *const _ as usize == v)
}

/// WRITEABLE is wanted on every matching connection of this thread.
pub(crate) fn writable_all_local(proto: usize, vhost: Option<usize>) {
    // from a different place each time (see `writable`): the pass serves
    // them in this order
    let mut live = thread::live();
    let start = crate::host::writable::next_start(live.len());
    live.rotate_left(start);
    for addr in live {
        call::with_live(addr, |wsi| {
            if matches(wsi, proto, vhost) {
                wsi.request_writable();
            }
        });
    }
}

/// Calls `reason` on every matching connection of this thread; a non-zero
/// return closes that connection.
pub(crate) fn callback_all_local(
    proto: usize,
    vhost: Option<usize>,
    reason: c_int,
    arg: usize,
    len: usize,
) {
    for addr in thread::live() {
        call::with_live(addr, |wsi| {
            if matches(wsi, proto, vhost) && callback(wsi, reason, arg as *mut c_void, len) != 0 {
                wsi.close_requested.set(true);
                wsi.wake.notify_one();
            }
        });
    }
}

/// EVENT_WAIT_CANCELLED to every initialised protocol of every vhost.
pub(crate) fn cancel_local() {
    for site in crate::host::vhost::live_sites() {
        cancel_site(&site);
    }
}

fn cancel_site(site: &Arc<HostSite>) {
    for (vi, v) in site.vhosts.iter().enumerate() {
        for (pi, p) in v.protocols.iter().enumerate() {
            if p.initialized.load(Ordering::Acquire) {
                vhost_callback(
                    site,
                    vi,
                    pi,
                    LWS_CALLBACK_EVENT_WAIT_CANCELLED,
                    std::ptr::null_mut(),
                    0,
                );
            }
        }
    }
}
