//! Timeouts and timers.

use super::*;

/// `lws_set_timeout`: close the connection after `secs` (0 or
/// `NO_PENDING_TIMEOUT` cancels; a negative value closes at once).
#[no_mangle]
pub extern "C" fn lws_set_timeout(p: *mut Lws, reason: c_int, secs: c_int) {
    lws_set_timeout_us(p, reason, i64::from(secs).saturating_mul(1_000_000));
}

/// `lws_set_timeout_us`.
#[no_mangle]
pub extern "C" fn lws_set_timeout_us(p: *mut Lws, reason: c_int, us: i64) {
    guard("lws_set_timeout", (), || {
        let Some(w) = wsi("lws_set_timeout", p) else {
            return;
        };
        if reason == NO_PENDING_TIMEOUT || us == 0 {
            w.timeout.set(None);
        } else if us < 0 {
            w.close_requested.set(true);
        } else {
            w.timeout.set(Some(
                tokio::time::Instant::now() + std::time::Duration::from_micros(us as u64),
            ));
        }
        w.wake.notify_one();
    })
}

/// `lws_set_timer_usecs`: one LWS_CALLBACK_TIMER after `usecs` (negative cancels).
#[no_mangle]
pub extern "C" fn lws_set_timer_usecs(p: *mut Lws, usecs: i64) {
    guard("lws_set_timer_usecs", (), || {
        let Some(w) = wsi("lws_set_timer_usecs", p) else {
            return;
        };
        w.timer.set(
            (usecs >= 0).then(|| {
                tokio::time::Instant::now() + std::time::Duration::from_micros(usecs as u64)
            }),
        );
        w.wake.notify_one();
    })
}

/// `lws_timed_callback_vh_protocol_us`: calls the protocol on the vhost with
/// `reason` (through a stand-in wsi) after `us` microseconds.
#[no_mangle]
pub extern "C" fn lws_timed_callback_vh_protocol_us(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    us: i64,
) -> c_int {
    guard("lws_timed_callback_vh_protocol", -1, || {
        let Some(h) = vh("lws_timed_callback_vh_protocol", v) else {
            return -1;
        };
        let Some(pi) =
            vproto(h, prot).and_then(|vp| h.protocols.iter().position(|x| std::ptr::eq(x, vp)))
        else {
            return -1;
        };
        if thread::current_tsi().is_none() {
            tracing::error!("lws_timed_callback_vh_protocol: call it from a callback");
            return -1;
        }
        let Some(site) = vhost::site_of(v as usize) else {
            return -1;
        };
        let vi = h.index;
        let at = tokio::time::Instant::now() + std::time::Duration::from_micros(us.max(0) as u64);
        tokio::task::spawn_local(async move {
            tokio::time::sleep_until(at).await;
            if site.vhosts[vi].protocols[pi]
                .initialized
                .load(Ordering::Acquire)
            {
                dispatch::vhost_callback(&site, vi, pi, reason, std::ptr::null_mut(), 0);
            }
        });
        0
    })
}

/// `lws_timed_callback_vh_protocol`.
#[no_mangle]
pub extern "C" fn lws_timed_callback_vh_protocol(
    v: *mut LwsVhost,
    prot: *const LwsProtocols,
    reason: c_int,
    secs: c_int,
) -> c_int {
    lws_timed_callback_vh_protocol_us(v, prot, reason, i64::from(secs).saturating_mul(1_000_000))
}

/// `lws_sul_schedule`: `cb(sul)` on service thread `tsi` after `us`
/// microseconds (`LWS_SET_TIMER_USEC_CANCEL` cancels).
#[no_mangle]
pub extern "C" fn lws_sul_schedule(
    _cx: *mut LwsContext,
    tsi: c_int,
    sul: *mut LwsSortedUsecList,
    cb: Option<SulCb>,
    us: i64,
) {
    guard("lws_sul_schedule", (), || {
        if sul.is_null() {
            return;
        }
        match cb {
            Some(cb) if us >= 0 => {
                timers::schedule(usize::try_from(tsi).unwrap_or(0), sul as usize, cb, us)
            }
            _ => timers::cancel(sul as usize),
        }
    })
}

/// `lws_sul_schedule_wakesuspend` (no suspend here: same as `lws_sul_schedule`).
#[no_mangle]
pub extern "C" fn lws_sul_schedule_wakesuspend(
    cx: *mut LwsContext,
    tsi: c_int,
    sul: *mut LwsSortedUsecList,
    cb: Option<SulCb>,
    us: i64,
) {
    lws_sul_schedule(cx, tsi, sul, cb, us)
}

/// `lws_sul_cancel`.
#[no_mangle]
pub extern "C" fn lws_sul_cancel(sul: *mut LwsSortedUsecList) {
    guard("lws_sul_cancel", (), || timers::cancel(sul as usize))
}

/// `lws_now_usecs`: a monotonic clock in microseconds.
#[no_mangle]
pub extern "C" fn lws_now_usecs() -> i64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() * 1_000_000 + t.tv_nsec() / 1_000)
        .unwrap_or(0)
}
