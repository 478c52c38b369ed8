//! POST body parsing for Rust plugins, over the host's `lws_spa_*`
//! (urlencoded and multipart/form-data; file parts streamed to a closure).

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::abi::LwsSpaCreateInfo;
use crate::protocol::Connection;
use crate::sys;

/// Where a file part's data is in its life (lws's `LWS_UFS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// A file part starts.
    Open,
    /// A piece of the file.
    Content,
    /// The last piece of the file.
    FinalContent,
    /// The parser is done with file parts.
    Close,
}

type OnFile = dyn FnMut(&str, &str, &[u8], Upload) -> bool;

/// A form parser for one HTTP transaction. Feed it every body piece with
/// [`Form::process`], call [`Form::finalize`] at body completion, then read
/// fields with [`Form::get`].
pub struct Form {
    spa: *mut c_void,
    // Boxed twice so its address (handed to C) is stable and thin.
    _on_file: Box<Box<OnFile>>,
    _names: Vec<u8>,
}

unsafe extern "C" fn upload_trampoline(
    data: *mut c_void,
    name: *const c_char,
    filename: *const c_char,
    buf: *mut c_char,
    len: c_int,
    state: c_int,
) -> c_int {
    let s = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: NUL-terminated strings from the host for this call.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let bytes: &[u8] = if buf.is_null() || len <= 0 {
        &[]
    } else {
        // SAFETY: the host passes `len` bytes at `buf` for this call.
        unsafe { std::slice::from_raw_parts(buf as *const u8, len as usize) }
    };
    let st = match state {
        0 => Upload::Content,
        1 => Upload::FinalContent,
        2 => Upload::Open,
        _ => Upload::Close,
    };
    // SAFETY: `data` is the `Box<OnFile>` owned by the `Form` that created
    // this parser; the form outlives the parser.
    let f = unsafe { &mut *(data as *mut Box<OnFile>) };
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f(&s(name), &s(filename), bytes, st)
    }))
    .unwrap_or(false);
    if ok {
        0
    } else {
        -1
    }
}

impl Form {
    /// A parser for the fields `names` (values up to `max_storage` bytes in
    /// all); `on_file(field, filename, data, state)` gets file parts and
    /// returns false to refuse. `None` when the body cannot be parsed (e.g.
    /// multipart without a boundary).
    pub fn new(
        conn: Connection,
        names: &[&str],
        max_storage: usize,
        on_file: impl FnMut(&str, &str, &[u8], Upload) -> bool + 'static,
    ) -> Option<Form> {
        // The names NUL-terminated in one buffer (one allocation, not one
        // per name: a form is made per request).
        let mut cnames = Vec::with_capacity(names.iter().map(|n| n.len() + 1).sum());
        let mut starts = Vec::with_capacity(names.len());
        for n in names {
            starts.push(cnames.len());
            // A name with a NUL inside cannot be a C string: empty.
            if !n.as_bytes().contains(&0) {
                cnames.extend_from_slice(n.as_bytes());
            }
            cnames.push(0);
        }
        let ptrs: Vec<*const c_char> = starts
            .iter()
            .map(|&i| cnames[i..].as_ptr() as *const c_char)
            .collect();
        let mut on_file: Box<Box<OnFile>> = Box::new(Box::new(on_file));
        let info = LwsSpaCreateInfo {
            param_names: ptrs.as_ptr(),
            count_params: ptrs.len() as c_int,
            max_storage: c_int::try_from(max_storage).unwrap_or(c_int::MAX),
            opt_cb: Some(upload_trampoline),
            opt_data: &mut *on_file as *mut Box<OnFile> as *mut c_void,
            param_names_stride: 0,
            ac: std::ptr::null_mut(),
            ac_chunk_size: 0,
        };
        // SAFETY: `info` and what it points at live for the call; the host
        // copies the names.
        let spa = unsafe { sys::lws_spa_create_via_info(conn.as_raw(), &info) };
        (!spa.is_null()).then_some(Form {
            spa,
            _on_file: on_file,
            _names: cnames,
        })
    }

    /// Feeds a body piece; false on a parse error or refused upload.
    pub fn process(&mut self, data: &[u8]) -> bool {
        // SAFETY: `spa` is ours; `data` is readable for its length.
        unsafe {
            sys::lws_spa_process(
                self.spa,
                data.as_ptr() as *const c_char,
                c_int::try_from(data.len()).unwrap_or(c_int::MAX),
            ) == 0
        }
    }

    /// End of body.
    pub fn finalize(&mut self) {
        // SAFETY: `spa` is ours.
        unsafe {
            sys::lws_spa_finalize(self.spa);
        }
    }

    /// The value of field `index` (in the order given to [`Form::new`]).
    pub fn get(&self, index: usize) -> Option<String> {
        // SAFETY: `spa` is ours; the host returns a NUL-terminated string it
        // owns until the parser is destroyed, or NULL.
        unsafe {
            let p = sys::lws_spa_get_string(self.spa, c_int::try_from(index).ok()?);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    }

    /// The value of field `index`, borrowed from the host's copy when it is
    /// UTF-8 (no allocation), valid until the form is fed again.
    pub fn value(&self, index: usize) -> Option<std::borrow::Cow<'_, str>> {
        // SAFETY: `spa` is ours; the host returns a NUL-terminated string it
        // owns until the parser is destroyed or the value changes (which
        // takes `&mut self`), or NULL.
        unsafe {
            let p = sys::lws_spa_get_string(self.spa, c_int::try_from(index).ok()?);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy())
        }
    }

    /// The length of field `index`.
    pub fn len_of(&self, index: usize) -> usize {
        // SAFETY: `spa` is ours.
        unsafe {
            usize::try_from(sys::lws_spa_get_length(
                self.spa,
                c_int::try_from(index).unwrap_or(c_int::MAX),
            ))
            .unwrap_or(0)
        }
    }
}

impl Drop for Form {
    fn drop(&mut self) {
        // SAFETY: `spa` is ours and destroyed once, here.
        unsafe {
            sys::lws_spa_destroy(self.spa);
        }
    }
}
