//! Timeouts and timers.

use std::ffi::c_int;
use std::sync::atomic::Ordering;
use std::time::Duration;

use comlink_plugin_api::abi::{
    Lws, LwsContext, LwsProtocols, LwsSortedUsecList, LwsVhost, SulCb, NO_PENDING_TIMEOUT,
};
use tokio::time::Instant;

use crate::host::ffi::boundary::{export, vhost, vhost_protocol, wsi, Fault};
use crate::host::ffi::call::Sul;
use crate::host::{dispatch, thread, timer_pass, timers};

/// `lws_set_timeout_us`'s work.
fn set_timeout(p: *mut Lws, reason: c_int, us: i64) -> Result<(), Fault> {
    let w = wsi(&p)?;
    if reason == NO_PENDING_TIMEOUT || us == 0 {
        w.timeout.set(None);
    } else if us < 0 {
        w.close_requested.set(true);
    } else {
        w.timeout
            .set(Some(Instant::now() + Duration::from_micros(us as u64)));
    }
    w.wake.notify_one();
    Ok(())
}

export! {
    /// `lws_set_timeout`: close the connection after `secs` (0 or
    /// `NO_PENDING_TIMEOUT` cancels; a negative value closes at once).
    fn lws_set_timeout(p: *mut Lws, reason: c_int, secs: c_int) {
        set_timeout(p, reason, i64::from(secs).saturating_mul(1_000_000))
    }
}

export! {
    /// `lws_set_timeout_us`.
    fn lws_set_timeout_us(p: *mut Lws, reason: c_int, us: i64) {
        set_timeout(p, reason, us)
    }
}

export! {
    /// `lws_set_timer_usecs`: one LWS_CALLBACK_TIMER after `usecs`
    /// (negative cancels).
    fn lws_set_timer_usecs(p: *mut Lws, usecs: i64) {
        let w = wsi(&p)?;
        w.timer.set(
            (usecs >= 0).then(|| Instant::now() + Duration::from_micros(usecs as u64)),
        );
        // A parked session's timer goes to the thread's timer task; a
        // running loop arms it itself once woken.
        if !(w.parked.get() && timer_pass::hand_over(w)) {
            w.wake.notify_one();
        }
        Ok(())
    }
}

/// `lws_timed_callback_vh_protocol_us`'s work.
fn timed_callback(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    us: i64,
) -> Result<c_int, Fault> {
    let h = vhost(&v)?;
    // SAFETY: lws contract: `prot` is the plugin's protocol table entry.
    let Some(vp) = (unsafe { vhost_protocol(&h, prot) }) else {
        return Ok(-1);
    };
    let Some(pi) = h.protocols.iter().position(|x| std::ptr::eq(x, vp)) else {
        return Ok(-1);
    };
    if thread::current_tsi().is_none() {
        return Err(Fault::Refused("call it from a callback".into()));
    }
    let site = h.site().clone();
    let vi = h.index;
    let at = Instant::now() + Duration::from_micros(us.max(0) as u64);
    tokio::task::spawn_local(async move {
        tokio::time::sleep_until(at).await;
        if site.vhosts[vi].protocols[pi]
            .initialized
            .load(Ordering::Acquire)
        {
            dispatch::vhost_callback(&site, vi, pi, reason, std::ptr::null_mut(), 0);
        }
    });
    Ok(0)
}

export! {
    /// `lws_timed_callback_vh_protocol_us`: calls the protocol on the vhost
    /// with `reason` (through a stand-in wsi) after `us` microseconds.
    fn lws_timed_callback_vh_protocol_us(
        v: *mut LwsVhost,
        prot: *const LwsProtocols,
        reason: c_int,
        us: i64,
    ) -> c_int {
        timed_callback(v, prot, reason, us)
    } ?= -1
}

export! {
    /// `lws_timed_callback_vh_protocol`.
    fn lws_timed_callback_vh_protocol(
        v: *mut LwsVhost,
        prot: *const LwsProtocols,
        reason: c_int,
        secs: c_int,
    ) -> c_int {
        timed_callback(v, prot, reason, i64::from(secs).saturating_mul(1_000_000))
    } ?= -1
}

/// `lws_sul_schedule`'s work.
fn sul_schedule(tsi: c_int, sul: *mut LwsSortedUsecList, cb: Option<SulCb>, us: i64) {
    if sul.is_null() {
        return;
    }
    match cb {
        Some(cb) if us >= 0 => {
            // SAFETY: lws contract: the plugin keeps `sul` alive until it
            // fires or is cancelled; memory the host frees (pss, vh_priv)
            // cancels the suls inside it first (`timers::cancel_within`).
            let sul = unsafe { Sul::new(cb, sul) };
            timers::schedule(usize::try_from(tsi).unwrap_or(0), sul, us)
        }
        _ => timers::cancel(sul as usize),
    }
}

export! {
    /// `lws_sul_schedule`: `cb(sul)` on service thread `tsi` after `us`
    /// microseconds (`LWS_SET_TIMER_USEC_CANCEL` cancels).
    fn lws_sul_schedule(
        _cx: *mut LwsContext,
        tsi: c_int,
        sul: *mut LwsSortedUsecList,
        cb: Option<SulCb>,
        us: i64,
    ) {
        sul_schedule(tsi, sul, cb, us);
        Ok(())
    }
}

export! {
    /// `lws_sul_schedule_wakesuspend` (no suspend here: as `lws_sul_schedule`).
    fn lws_sul_schedule_wakesuspend(
        _cx: *mut LwsContext,
        tsi: c_int,
        sul: *mut LwsSortedUsecList,
        cb: Option<SulCb>,
        us: i64,
    ) {
        sul_schedule(tsi, sul, cb, us);
        Ok(())
    }
}

export! {
    /// `lws_sul_cancel`.
    fn lws_sul_cancel(sul: *mut LwsSortedUsecList) {
        timers::cancel(sul as usize);
        Ok(())
    }
}

export! {
    /// `lws_now_usecs`: a monotonic clock in microseconds.
    fn lws_now_usecs() -> i64 {
        Ok(nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(|t| t.tv_sec() * 1_000_000 + t.tv_nsec() / 1_000)
            .unwrap_or(0))
    } ?= 0
}
