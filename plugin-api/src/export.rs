//! From a [`Protocol`] to what the host loads: the C callback (with panics
//! caught at the boundary) and, through [`export_plugin!`](crate::export_plugin),
//! the exported `lws_plugin_protocol_t` named after the library file.

use std::ffi::{c_int, c_void, CStr};
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi::{self, Lws, LwsProtocolVhostOptions};
use crate::protocol::{log, Action, Connection, Options, Protocol};
use crate::sys;

/// A `Sync` wrapper for the plugin's static C tables (they hold pointers to
/// static strings and functions only, and are never written).
#[repr(transparent)]
pub struct StaticTable<T>(pub T);

// SAFETY: the wrapped tables are immutable statics made of pointers to
// other statics (names, callbacks); sharing them between threads is sound.
unsafe impl<T> Sync for StaticTable<T> {}

/// The per-session data of protocol `P`: the session itself, in place
/// (not a pointer to it: the host brings a connection's per-session data
/// into the caches before its callback, and a session elsewhere would be
/// one more wait for memory on every callback). The host hands the plugin
/// zeroed memory, so a new connection's `live` reads false.
#[repr(C)]
struct Pss<S> {
    session: MaybeUninit<S>,
    live: bool,
}

/// The alignment the host's (and lws's) per-session data has: `malloc`'s.
const PSS_ALIGN: usize = 16;

/// The `struct lws_protocols` entry for `P`.
///
/// `P::Session` is kept in the per-session data, which is only aligned as
/// `malloc` aligns: a session type aligned to more than 16 bytes does not
/// compile.
pub const fn protocol_entry<P: Protocol>() -> abi::LwsProtocols {
    assert!(
        std::mem::align_of::<Pss<P::Session>>() <= PSS_ALIGN,
        "a Protocol's Session must not need more than 16-byte alignment"
    );
    abi::LwsProtocols {
        name: P::NAME.as_ptr(),
        callback: Some(callback::<P>),
        per_session_data_size: std::mem::size_of::<Pss<P::Session>>(),
        rx_buffer_size: P::RX_BUFFER_SIZE,
        id: 0,
        user: std::ptr::null_mut(),
        tx_packet_size: 0,
    }
}

/// The all-zero entry that ends a protocol table.
pub const fn terminator() -> abi::LwsProtocols {
    abi::LwsProtocols {
        name: std::ptr::null(),
        callback: None,
        per_session_data_size: 0,
        rx_buffer_size: 0,
        id: 0,
        user: std::ptr::null_mut(),
        tx_packet_size: 0,
    }
}

/// The C callback of protocol `P`.
///
/// # Safety
/// Called by the host only, with lws's arguments for `reason`.
pub unsafe extern "C" fn callback<P: Protocol>(
    wsi: *mut Lws,
    reason: c_int,
    user: *mut c_void,
    input: *mut c_void,
    len: usize,
) -> c_int {
    match catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded from the host's call.
        unsafe { dispatch::<P>(wsi, reason, user, input, len) }
    })) {
        Ok(rc) => rc,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "?".into());
            log(
                abi::LLL_ERR,
                &format!(
                    "protocol {}: panic in callback (reason {reason}): {what}; closing the connection",
                    P::NAME.to_string_lossy()
                ),
            );
            -1
        }
    }
}

/// The per-vhost state. Callbacks of one service thread never overlap, but
/// with `count-threads` > 1 two threads may call the same vhost's protocol at
/// once: the lock makes each callback's `&mut` access exclusive. No callback
/// re-enters its own protocol synchronously through this API, so it cannot
/// deadlock.
type VhostCell<P> = std::sync::Mutex<<P as Protocol>::Vhost>;

/// The slot holding `Box<VhostCell<P>>` in the vhost's `vh_priv`.
unsafe fn vhd_slot<P: Protocol>(wsi: *mut Lws) -> *mut *mut VhostCell<P> {
    // SAFETY: the host validates the wsi; vh_priv is ours, sized for a pointer.
    unsafe {
        sys::lws_protocol_vh_priv_get(sys::lws_get_vhost(wsi), sys::lws_get_protocol(wsi))
            as *mut *mut VhostCell<P>
    }
}

fn options(mut p: *const LwsProtocolVhostOptions) -> Options {
    let mut out = Vec::new();
    while !p.is_null() {
        // SAFETY: the pvo list the host passed to PROTOCOL_INIT; nodes and
        // strings live at least for the call, `next` ends in NULL.
        let node = unsafe { &*p };
        let s = |c: *const std::ffi::c_char| {
            if c.is_null() {
                String::new()
            } else {
                // SAFETY: NUL-terminated strings of the list.
                unsafe { CStr::from_ptr(c) }.to_string_lossy().into_owned()
            }
        };
        out.push((s(node.name), s(node.value)));
        p = node.next;
    }
    // The host's list is in reverse file order, as lws builds it.
    out.reverse();
    Options(out)
}

/// Whether [`dispatch`] calls a [`Protocol`] method for `reason` (besides
/// PROTOCOL_INIT and PROTOCOL_DESTROY); every other reason is answered 0.
fn handled(reason: c_int) -> bool {
    matches!(
        reason,
        abi::LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION
            | abi::LWS_CALLBACK_CONFIRM_EXTENSION_OKAY
            | abi::LWS_CALLBACK_ESTABLISHED
            | abi::LWS_CALLBACK_RECEIVE
            | abi::LWS_CALLBACK_SERVER_WRITEABLE
            | abi::LWS_CALLBACK_TIMER
            | abi::LWS_CALLBACK_RECEIVE_PONG
            | abi::LWS_CALLBACK_HTTP
            | abi::LWS_CALLBACK_HTTP_BODY
            | abi::LWS_CALLBACK_HTTP_BODY_COMPLETION
            | abi::LWS_CALLBACK_HTTP_WRITEABLE
            | abi::LWS_CALLBACK_CLOSED
            | abi::LWS_CALLBACK_HTTP_DROP_PROTOCOL
            | abi::LWS_CALLBACK_EVENT_WAIT_CANCELLED
    ) || reason >= abi::LWS_CALLBACK_USER
}

unsafe fn dispatch<P: Protocol>(
    wsi: *mut Lws,
    reason: c_int,
    user: *mut c_void,
    input: *mut c_void,
    len: usize,
) -> c_int {
    let conn = Connection::from_raw(wsi);
    let data = || -> &[u8] {
        if input.is_null() || len == 0 {
            &[]
        } else {
            // SAFETY: for RECEIVE / RECEIVE_PONG the host passes `len` bytes.
            unsafe { std::slice::from_raw_parts(input as *const u8, len) }
        }
    };
    // SAFETY: `vhd_slot` points at our own pointer-sized vh_priv and `user`
    // at our `Pss<P::Session>` (its size is ours, its alignment malloc's,
    // checked against the type in `protocol_entry`). The box in vh_priv
    // and the session in the pss are only made and dropped in this
    // function, on the connection's thread.
    unsafe {
        match reason {
            abi::LWS_CALLBACK_PROTOCOL_INIT => {
                let vhost = conn.vhost();
                let Some(state) = P::init(vhost, &options(input as *const LwsProtocolVhostOptions))
                else {
                    return 1;
                };
                let slot = sys::lws_protocol_vh_priv_zalloc(
                    vhost.as_raw(),
                    vhost.protocol_raw(),
                    std::mem::size_of::<*mut VhostCell<P>>() as c_int,
                ) as *mut *mut VhostCell<P>;
                if slot.is_null() {
                    return 1;
                }
                *slot = Box::into_raw(Box::new(std::sync::Mutex::new(state)));
                0
            }
            abi::LWS_CALLBACK_PROTOCOL_DESTROY => {
                let slot = vhd_slot::<P>(wsi);
                if !slot.is_null() && !(*slot).is_null() {
                    let state = Box::from_raw(*slot);
                    *slot = std::ptr::null_mut();
                    let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
                    P::destroy(state);
                }
                0
            }
            // Reasons no method takes (HTTP_BIND_PROTOCOL, FILTER_HTTP_CONNECTION,
            // CHECK_ACCESS_RIGHTS, ... on every request): answered 0 without
            // looking the vhost's state up and locking it.
            r if !handled(r) => 0,
            _ => {
                let slot = vhd_slot::<P>(wsi);
                if slot.is_null() || (*slot).is_null() {
                    return 0;
                }
                // A panic in an earlier callback poisons nothing we rely on:
                // take the state as it is.
                let mut guard = (**slot).lock().unwrap_or_else(|e| e.into_inner());
                let vhd: &mut P::Vhost = &mut guard;
                let pss = user as *mut Pss<P::Session>;
                let session = || -> Option<&mut P::Session> {
                    if pss.is_null() || !(*pss).live {
                        None
                    } else {
                        Some((*pss).session.assume_init_mut())
                    }
                };
                let act = |a: Action| a.as_raw();
                match reason {
                    abi::LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION => {
                        if P::accept(vhd, conn) {
                            0
                        } else {
                            1
                        }
                    }
                    abi::LWS_CALLBACK_CONFIRM_EXTENSION_OKAY => {
                        let name = if input.is_null() {
                            String::new()
                        } else {
                            CStr::from_ptr(input as *const std::ffi::c_char)
                                .to_string_lossy()
                                .into_owned()
                        };
                        if P::accept_extension(&name) {
                            0
                        } else {
                            1
                        }
                    }
                    abi::LWS_CALLBACK_ESTABLISHED => {
                        if pss.is_null() {
                            return -1;
                        }
                        match P::open(vhd, conn) {
                            Some(s) => {
                                settle(pss, s);
                                0
                            }
                            None => -1,
                        }
                    }
                    abi::LWS_CALLBACK_RECEIVE => match session() {
                        Some(s) => act(P::receive(vhd, s, conn, data())),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_SERVER_WRITEABLE => match session() {
                        Some(s) => act(P::writeable(vhd, s, conn)),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_TIMER => match session() {
                        Some(s) => act(P::timer(vhd, s, conn)),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_RECEIVE_PONG => match session() {
                        Some(s) => act(P::pong(vhd, s, conn, data())),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_HTTP => {
                        if pss.is_null() {
                            return -1;
                        }
                        let path = if input.is_null() {
                            String::new()
                        } else {
                            CStr::from_ptr(input as *const std::ffi::c_char)
                                .to_string_lossy()
                                .into_owned()
                        };
                        match P::open_http(vhd, conn, &path) {
                            Some(s) => {
                                settle(pss, s);
                                0
                            }
                            None => act(conn.return_status(404, None)),
                        }
                    }
                    abi::LWS_CALLBACK_HTTP_BODY => match session() {
                        Some(s) => act(P::http_body(vhd, s, conn, data())),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_HTTP_BODY_COMPLETION => match session() {
                        Some(s) => act(P::http_body_complete(vhd, s, conn)),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_HTTP_WRITEABLE => match session() {
                        Some(s) => act(P::http_writeable(vhd, s, conn)),
                        None => 0,
                    },
                    abi::LWS_CALLBACK_CLOSED | abi::LWS_CALLBACK_HTTP_DROP_PROTOCOL => {
                        if !pss.is_null() && (*pss).live {
                            (*pss).live = false;
                            let s = (*pss).session.assume_init_read();
                            P::closed(vhd, s, conn);
                        }
                        0
                    }
                    abi::LWS_CALLBACK_EVENT_WAIT_CANCELLED => {
                        P::vhost_event(vhd, conn.vhost(), reason);
                        0
                    }
                    r if r >= abi::LWS_CALLBACK_USER => {
                        P::vhost_event(vhd, conn.vhost(), reason);
                        0
                    }
                    _ => 0,
                }
            }
        }
    }
}

/// Puts `s` in the per-session data at `pss` (not null), dropping a
/// session left there by an earlier request on the same connection.
///
/// # Safety
/// `pss` is the connection's `Pss<S>`, used by this thread only.
unsafe fn settle<S>(pss: *mut Pss<S>, s: S) {
    // SAFETY: per the contract; `live` says whether `session` holds one.
    unsafe {
        if (*pss).live {
            (*pss).session.assume_init_drop();
        }
        (*pss).session.write(s);
        (*pss).live = true;
    }
}

/// Exports a plugin made of Rust [`Protocol`]s, as the lws v4 struct the
/// host finds by the library's file name:
///
/// ```ignore
/// // in crate `protocol_dumb_increment` (cdylib: libprotocol_dumb_increment.so)
/// comlink_plugin_api::export_plugin!(dumb_increment, "dumb increment", [DumbIncrement]);
/// ```
///
/// The first argument is the symbol: the file name without `lib`,
/// `protocol_` and `.so`.
#[macro_export]
macro_rules! export_plugin {
    ($symbol:ident, $name:literal, [$($proto:ty),+ $(,)?]) => {
        #[allow(unsafe_code)]
        #[allow(non_upper_case_globals)]
        const _: () = {
            const COUNT: usize = [$(stringify!($proto)),+].len();
            static PROTOCOLS: $crate::export::StaticTable<[$crate::abi::LwsProtocols; COUNT + 1]> =
                $crate::export::StaticTable([$($crate::export::protocol_entry::<$proto>(),)+ $crate::export::terminator()]);

            #[no_mangle]
            #[used]
            static $symbol: $crate::export::StaticTable<$crate::abi::LwsPluginProtocol> =
                $crate::export::StaticTable($crate::abi::LwsPluginProtocol {
                    hdr: $crate::abi::LwsPluginHeader {
                        name: concat!($name, "\0").as_ptr() as *const ::std::ffi::c_char,
                        class: $crate::abi::LWS_PLUGIN_CLASS_PROTOCOL.as_ptr(),
                        lws_build_hash: c"comlink".as_ptr(),
                        api_magic: $crate::abi::LWS_PLUGIN_API_MAGIC,
                    },
                    protocols: &PROTOCOLS.0 as *const _ as *const $crate::abi::LwsProtocols,
                    extensions: ::std::ptr::null(),
                    count_protocols: COUNT as ::std::ffi::c_int,
                    count_extensions: 0,
                });
        };
    };
}
