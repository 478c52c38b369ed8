//! `lws_spa_*`: lws's POST body parser API over our streaming
//! [`FormParser`](comlink_wire::form::FormParser) (urlencoded and
//! multipart, file parts streamed to the plugin's callback).

use std::collections::HashSet;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Mutex;

use comlink_plugin_api::abi::{Lws, LwsSpaCreateInfo, LwsSpaFileUploadCb};

use super::exports::{cstr_lossy, guard, wsi};
use comlink_wire::form::{FileEvent, FormParser};

struct Spa {
    parser: FormParser,
    cb: Option<LwsSpaFileUploadCb>,
    data: *mut c_void,
    /// NUL-terminated copies handed out by `lws_spa_get_string`.
    strings: Vec<Option<CString>>,
    finalized: bool,
}

static SPAS: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn spas<R>(f: impl FnOnce(&mut HashSet<usize>) -> R) -> R {
    f(SPAS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new))
}

fn spa_ref<'a>(name: &str, p: *mut c_void) -> Option<&'a mut Spa> {
    if p.is_null() || !spas(|s| s.contains(&(p as usize))) {
        tracing::error!("{name}: {p:?} is not a form parser");
        return None;
    }
    // SAFETY: `p` is a live `Spa` we leaked in `lws_spa_create_via_info`
    // and have not freed (it is in `SPAS`); a parser is used by the one
    // transaction that made it, on its thread.
    Some(unsafe { &mut *(p as *mut Spa) })
}

/// `lws_spa_create`.
#[no_mangle]
pub extern "C" fn lws_spa_create(
    w: *mut Lws,
    param_names: *const *const c_char,
    count_params: c_int,
    max_storage: c_int,
    opt_cb: Option<LwsSpaFileUploadCb>,
    opt_data: *mut c_void,
) -> *mut c_void {
    let info = LwsSpaCreateInfo {
        param_names,
        count_params,
        max_storage,
        opt_cb,
        opt_data,
        param_names_stride: 0,
        ac: std::ptr::null_mut(),
        ac_chunk_size: 0,
    };
    lws_spa_create_via_info(w, &info)
}

/// `lws_spa_create_via_info`: a parser for this transaction's body (its
/// Content-Type decides urlencoded or multipart).
#[no_mangle]
pub extern "C" fn lws_spa_create_via_info(
    w: *mut Lws,
    info: *const LwsSpaCreateInfo,
) -> *mut c_void {
    guard("lws_spa_create", std::ptr::null_mut(), || {
        let Some(w) = wsi("lws_spa_create", w) else {
            return std::ptr::null_mut();
        };
        if info.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-null create-info struct from the plugin.
        let info = unsafe { &*info };
        let count = usize::try_from(info.count_params).unwrap_or(0);
        let mut names = Vec::with_capacity(count);
        for i in 0..count {
            let name = if info.param_names_stride == 0 {
                // SAFETY: `param_names` is an array of `count` C strings.
                unsafe { *info.param_names.add(i) }
            } else {
                // SAFETY: with a stride, `param_names` points at the first
                // of `count` structs whose first member is the name pointer.
                unsafe {
                    *((info.param_names as *const u8).add(i * info.param_names_stride)
                        as *const *const c_char)
                }
            };
            names.push(cstr_lossy(name));
        }
        let ctype = w.request.as_ref().and_then(|r| {
            r.headers
                .borrow()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        let parser = match FormParser::new(
            ctype.as_deref(),
            &names,
            usize::try_from(info.max_storage).unwrap_or(0),
        ) {
            Ok(p) => p,
            Err(e) => {
                tracing::info!("lws_spa_create on {:?}: {e}", w.tag);
                return std::ptr::null_mut();
            }
        };
        let p = Box::into_raw(Box::new(Spa {
            parser,
            cb: info.opt_cb,
            data: info.opt_data,
            strings: vec![None; count],
            finalized: false,
        })) as *mut c_void;
        spas(|s| s.insert(p as usize));
        p
    })
}

/// Hands one upload event to the plugin's callback; a negative return
/// refuses the upload (as in lws).
fn upload(cb: Option<LwsSpaFileUploadCb>, data: *mut c_void, ev: FileEvent<'_>) -> bool {
    let Some(cb) = cb else {
        return true;
    };
    let field = CString::new(ev.field.replace('\0', "")).unwrap_or_default();
    let file = CString::new(ev.filename.replace('\0', "")).unwrap_or_default();
    let mut buf = ev.data.to_vec();
    buf.push(0);
    // SAFETY: the plugin's upload callback with lws's arguments; the
    // strings and buffer live until it returns.
    let rc = unsafe {
        cb(
            data,
            field.as_ptr(),
            file.as_ptr(),
            buf.as_mut_ptr() as *mut c_char,
            c_int::try_from(ev.data.len()).unwrap_or(c_int::MAX),
            ev.state as c_int,
        )
    };
    rc >= 0
}

/// `lws_spa_process`: feeds `len` body bytes; nonzero on a parse error or a
/// refused upload.
#[no_mangle]
pub extern "C" fn lws_spa_process(spa: *mut c_void, input: *const c_char, len: c_int) -> c_int {
    guard("lws_spa_process", -1, || {
        let Some(s) = spa_ref("lws_spa_process", spa) else {
            return -1;
        };
        let n = usize::try_from(len).unwrap_or(0);
        let data: &[u8] = if input.is_null() || n == 0 {
            &[]
        } else {
            // SAFETY: the plugin passes `len` readable body bytes.
            unsafe { std::slice::from_raw_parts(input as *const u8, n) }
        };
        let (cb, ud) = (s.cb, s.data);
        match s.parser.process(data, &mut |ev| upload(cb, ud, ev)) {
            Ok(()) => 0,
            Err(e) => {
                tracing::info!("lws_spa_process: {e}");
                -1
            }
        }
    })
}

/// `lws_spa_finalize`: end of body (the last file part is closed).
#[no_mangle]
pub extern "C" fn lws_spa_finalize(spa: *mut c_void) -> c_int {
    guard("lws_spa_finalize", 0, || {
        if let Some(s) = spa_ref("lws_spa_finalize", spa) {
            finalize(s);
        }
        0
    })
}

fn finalize(s: &mut Spa) {
    if s.finalized {
        return;
    }
    s.finalized = true;
    let (cb, ud) = (s.cb, s.data);
    if let Err(e) = s.parser.finalize(&mut |ev| upload(cb, ud, ev)) {
        tracing::info!("lws_spa_finalize: {e}");
    }
}

/// `lws_spa_get_length`.
#[no_mangle]
pub extern "C" fn lws_spa_get_length(spa: *mut c_void, n: c_int) -> c_int {
    guard("lws_spa_get_length", 0, || {
        spa_ref("lws_spa_get_length", spa).map_or(0, |s| {
            c_int::try_from(
                s.parser
                    .get_length(usize::try_from(n).unwrap_or(usize::MAX)),
            )
            .unwrap_or(c_int::MAX)
        })
    })
}

/// `lws_spa_get_string`: the field's value NUL-terminated, or NULL.
#[no_mangle]
pub extern "C" fn lws_spa_get_string(spa: *mut c_void, n: c_int) -> *const c_char {
    guard("lws_spa_get_string", std::ptr::null(), || {
        let Some(s) = spa_ref("lws_spa_get_string", spa) else {
            return std::ptr::null();
        };
        let Ok(i) = usize::try_from(n) else {
            return std::ptr::null();
        };
        let Some(bytes) = s.parser.get_bytes(i) else {
            return std::ptr::null();
        };
        let c = CString::new(
            bytes
                .iter()
                .copied()
                .filter(|&b| b != 0)
                .collect::<Vec<u8>>(),
        )
        .unwrap_or_default();
        match s.strings.get_mut(i) {
            Some(slot) => slot.insert(c).as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// `lws_spa_destroy`: finalizes if needed (so the plugin sees the upload
/// close), then frees the parser.
#[no_mangle]
pub extern "C" fn lws_spa_destroy(spa: *mut c_void) -> c_int {
    guard("lws_spa_destroy", 0, || {
        let Some(s) = spa_ref("lws_spa_destroy", spa) else {
            return 0;
        };
        finalize(s);
        spas(|set| set.remove(&(spa as usize)));
        // SAFETY: `spa` came from `Box::into_raw` and was just removed from
        // `SPAS`, so it is freed exactly once.
        drop(unsafe { Box::from_raw(spa as *mut Spa) });
        0
    })
}
