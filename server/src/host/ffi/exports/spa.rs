//! `lws_spa_*`: lws's POST body parser API over the host's form parsers
//! ([`host::spa`](crate::host::spa)). A `struct lws_spa *` is a handle of
//! this thread's parser table, never dereferenced.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

use comlink_plugin_api::abi::{Lws, LwsSpaCreateInfo, LwsSpaFileUploadCb};
use comlink_wire::form::{FileEvent, FormParser};

use crate::host::ffi::boundary::{bytes, export, text, wsi, Fault};
use crate::host::spa::{self, SpaError, Upload};

impl From<SpaError> for Fault {
    fn from(e: SpaError) -> Fault {
        Fault::Refused(e.to_string())
    }
}

/// The plugin's upload callback as the parser calls it.
///
/// # Safety
///
/// `cb` takes lws's arguments, and `data` stays valid for it for as long as
/// the parser lives (lws's contract for `opt_cb` and `opt_data`).
unsafe fn upload(cb: Option<LwsSpaFileUploadCb>, data: *mut c_void) -> Upload {
    let Some(cb) = cb else {
        return Box::new(|_| true);
    };
    Box::new(move |ev: FileEvent<'_>| {
        // An urlencoded body's only event is the Close, with empty names
        // and no data: it needs no copies (empty strings are `EMPTY`, no
        // data is a lone NUL here).
        const EMPTY: &CStr = c"";
        let c_text = |s: &str| {
            (!s.is_empty()).then(|| CString::new(s.replace('\0', "")).unwrap_or_default())
        };
        let (field, file) = (c_text(ev.field), c_text(ev.filename));
        let mut nul = [0u8; 1];
        let mut copy;
        let buf: &mut [u8] = if ev.data.is_empty() {
            &mut nul
        } else {
            copy = Vec::with_capacity(ev.data.len() + 1);
            copy.extend_from_slice(ev.data);
            copy.push(0);
            &mut copy
        };
        // SAFETY: the plugin's callback with its own `data` (this function's
        // contract) and lws's arguments; the strings and the buffer live
        // until it returns. A negative return refuses the upload, as in lws.
        let rc = unsafe {
            cb(
                data,
                field.as_deref().unwrap_or(EMPTY).as_ptr(),
                file.as_deref().unwrap_or(EMPTY).as_ptr(),
                buf.as_mut_ptr() as *mut c_char,
                c_int::try_from(ev.data.len()).unwrap_or(c_int::MAX),
                ev.state as c_int,
            )
        };
        rc >= 0
    })
}

/// `lws_spa_create_via_info`'s work.
///
/// # Safety
///
/// `info` is null or a readable create-info struct whose `param_names`
/// holds `count_params` C strings (or, with a stride, structs starting
/// with one) and whose callback follows [`upload`]'s contract.
unsafe fn create(w: *mut Lws, info: *const LwsSpaCreateInfo) -> Result<*mut c_void, Fault> {
    let w = wsi(&w)?;
    // SAFETY: a non-null create-info struct of the plugin's (our contract).
    let info = unsafe { info.as_ref() }.ok_or(Fault::Null("info"))?;
    let count = usize::try_from(info.count_params).unwrap_or(0);
    if count > 0 && info.param_names.is_null() {
        return Err(Fault::Null("param_names"));
    }
    let mut names = Vec::with_capacity(count);
    for i in 0..count {
        let name = if info.param_names_stride == 0 {
            // SAFETY: `param_names` is an array of `count` C strings.
            unsafe { *info.param_names.add(i) }
        } else {
            // SAFETY: with a stride, `param_names` points at the first of
            // `count` structs whose first member is the name pointer.
            unsafe {
                *((info.param_names as *const u8).add(i * info.param_names_stride)
                    as *const *const c_char)
            }
        };
        // SAFETY: each name is a C string (our contract).
        names.push(unsafe { text(name) });
    }
    let headers = w.request.as_ref().map(|r| r.headers.borrow());
    let ctype = headers
        .as_ref()
        .and_then(|h| h.get(http::header::CONTENT_TYPE))
        .and_then(|v| v.to_str().ok());
    let max_storage = usize::try_from(info.max_storage).unwrap_or(0);
    let parsed = FormParser::with_params(ctype, names, max_storage);
    drop(headers);
    let parser = match parsed {
        Ok(p) => p,
        Err(e) => {
            tracing::info!("lws_spa_create on {:?}: {e}", w.tag);
            return Ok(std::ptr::null_mut());
        }
    };
    // SAFETY: the callback and its data follow lws's contract (ours).
    let upload = unsafe { upload(info.opt_cb, info.opt_data) };
    Ok(spa::create(parser, upload, count) as *mut c_void)
}

export! {
    /// `lws_spa_create`.
    fn lws_spa_create(
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
        // SAFETY: lws contract: `param_names` holds `count_params` C
        // strings; `opt_cb` takes `opt_data`.
        unsafe { create(w, &info) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_spa_create_via_info`: a parser for this transaction's body (its
    /// Content-Type decides urlencoded or multipart).
    fn lws_spa_create_via_info(w: *mut Lws, info: *const LwsSpaCreateInfo) -> *mut c_void {
        // SAFETY: lws contract: `info` is the plugin's create-info struct.
        unsafe { create(w, info) }
    } ?= std::ptr::null_mut()
}

export! {
    /// `lws_spa_process`: feeds `len` body bytes; nonzero on a parse error,
    /// a refused upload, or a call from inside this parser's own callback.
    fn lws_spa_process(spa: *mut c_void, input: *const c_char, len: c_int) -> c_int {
        let s = spa::get(spa as usize)?;
        let n = usize::try_from(len).unwrap_or(0);
        let data = if input.is_null() {
            &[][..]
        } else {
            // SAFETY: lws contract: `input` holds `len` readable bytes.
            unsafe { bytes(input as *const u8, n) }?
        };
        match s.process(data) {
            Ok(()) => Ok(0),
            Err(SpaError::Form(e)) => {
                tracing::info!("lws_spa_process: {e}");
                Ok(-1)
            }
            Err(e) => Err(e.into()),
        }
    } ?= -1
}

export! {
    /// `lws_spa_finalize`: end of body (the last file part is closed). 0,
    /// or -1 from inside this parser's own callback.
    fn lws_spa_finalize(spa: *mut c_void) -> c_int {
        match spa::get(spa as usize)?.finalize() {
            Err(SpaError::Busy) => {
                tracing::error!("lws_spa_finalize: {}", SpaError::Busy);
                Ok(-1)
            }
            other => other.map(|()| 0).map_err(Fault::from),
        }
    } ?= 0
}

export! {
    /// `lws_spa_get_length`.
    fn lws_spa_get_length(spa: *mut c_void, n: c_int) -> c_int {
        let s = spa::get(spa as usize)?;
        let len = usize::try_from(n).map_or(0, |i| s.length(i));
        Ok(c_int::try_from(len).unwrap_or(c_int::MAX))
    } ?= 0
}

export! {
    /// `lws_spa_get_string`: the field's value NUL-terminated, or NULL.
    fn lws_spa_get_string(spa: *mut c_void, n: c_int) -> *const c_char {
        let s = spa::get(spa as usize)?;
        Ok(usize::try_from(n).map_or(std::ptr::null(), |i| s.string(i)))
    } ?= std::ptr::null()
}

export! {
    /// `lws_spa_destroy`: finalizes if needed (so the plugin sees the
    /// upload close), then frees the parser. 0, or -1 (and nothing freed)
    /// from inside this parser's own callback.
    fn lws_spa_destroy(spa: *mut c_void) -> c_int {
        match spa::destroy(spa as usize) {
            Err(SpaError::Busy) => {
                tracing::error!("lws_spa_destroy: {}", SpaError::Busy);
                Ok(-1)
            }
            other => other.map(|()| 0).map_err(Fault::from),
        }
    } ?= 0
}
