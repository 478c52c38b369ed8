//! `lws_dir` and its two ready-made callbacks, over
//! [`host::dir`](crate::host::dir).

use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use comlink_plugin_api::abi::{LwsDirEntry, LwsDirGlob};

use crate::host::dir::{self, ObjType};
use crate::host::ffi::boundary::{cstr, export, Fault};

type DirCb = unsafe extern "C" fn(*const c_char, *mut c_void, *mut LwsDirEntry) -> c_int;

fn obj_type(t: c_int) -> ObjType {
    match t {
        1 => ObjType::File,
        2 => ObjType::Dir,
        3 => ObjType::Link,
        4 => ObjType::Fifo,
        5 => ObjType::Socket,
        6 => ObjType::Char,
        7 => ObjType::Block,
        _ => ObjType::Unknown,
    }
}

/// `dirpath/name` of an entry `lws_dir` passed.
///
/// # Safety
///
/// `dirpath` is null or a C string; `lde` is null or a readable entry
/// whose name is null or a C string.
unsafe fn entry_path(
    dirpath: *const c_char,
    lde: *const LwsDirEntry,
) -> Option<(Vec<u8>, ObjType)> {
    // SAFETY: our contract.
    let dirpath = unsafe { cstr(dirpath) }?;
    // SAFETY: our contract.
    let lde = unsafe { lde.as_ref() }?;
    // SAFETY: our contract.
    let name = unsafe { cstr(lde.name) }?.to_bytes();
    if name == b"." || name == b".." {
        return None;
    }
    let mut p = dirpath.to_bytes().to_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    Some((p, obj_type(lde.r#type)))
}

export! {
    /// `lws_dir`: `cb(dirpath, user, entry)` for each entry of `dirpath`
    /// in name order (without `.`, `..` and names with `~`), until `cb`
    /// returns nonzero. Returns 0 when `cb` stopped it, 1 otherwise (also
    /// when the directory cannot be read), as lws does.
    fn lws_dir(dirpath: *const c_char, user: *mut c_void, cb: Option<DirCb>) -> c_int {
        let cb = cb.ok_or(Fault::Null("cb"))?;
        // SAFETY: lws contract: `dirpath` is a C string.
        let d = unsafe { cstr(dirpath) }.ok_or(Fault::Null("dirpath"))?;
        let entries = match dir::list(Path::new(OsStr::from_bytes(d.to_bytes()))) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("lws_dir: {}: {e}", d.to_string_lossy());
                return Ok(1);
            }
        };
        for (name, t) in entries {
            let Ok(name) = CString::new(name.as_bytes()) else {
                continue;
            };
            let mut lde = LwsDirEntry {
                name: name.as_ptr(),
                r#type: t as c_int,
            };
            // SAFETY: the plugin's callback, given its own dirpath and
            // user and an entry that lives across the call.
            if unsafe { cb(dirpath, user, &mut lde) } != 0 {
                return Ok(0);
            }
        }
        Ok(1)
    } ?= 1
}

export! {
    /// `lws_dir_rm_rf_cb`: with `lws_dir`, removes everything in the
    /// directory (subdirectories with their contents; links are removed,
    /// not followed). Always 0 (go on).
    fn lws_dir_rm_rf_cb(dirpath: *const c_char, user: *mut c_void, lde: *mut LwsDirEntry) -> c_int {
        let _ = user;
        // SAFETY: lws contract: what lws_dir passes its callback.
        if let Some((p, t)) = unsafe { entry_path(dirpath, lde) } {
            dir::remove_all(Path::new(OsStr::from_bytes(&p)), t);
        }
        Ok(0)
    } ?= 0
}

export! {
    /// `lws_dir_glob_cb`: with `lws_dir` and an `lws_dir_glob_t` as user,
    /// calls its `cb(user, path)` for each non-directory entry whose name
    /// matches its one-star `filter`. Always 0 (go on).
    fn lws_dir_glob_cb(dirpath: *const c_char, user: *mut c_void, lde: *mut LwsDirEntry) -> c_int {
        // SAFETY: lws contract: `user` is the plugin's `lws_dir_glob_t`.
        let g = unsafe { (user as *const LwsDirGlob).as_ref() }.ok_or(Fault::Null("user"))?;
        // SAFETY: lws contract: what lws_dir passes its callback.
        let Some((p, t)) = (unsafe { entry_path(dirpath, lde) }) else {
            return Ok(0);
        };
        if t == ObjType::Dir {
            return Ok(0);
        }
        // SAFETY: lws contract: `filter` is a C string.
        let filter = unsafe { cstr(g.filter) }.ok_or(Fault::Null("filter"))?;
        // SAFETY: as in entry_path: `lde` and its name are valid.
        let name = unsafe { CStr::from_ptr((*lde).name) };
        if dir::glob_matches(name.to_bytes(), filter.to_bytes()) {
            let (Some(cb), Ok(path)) = (g.cb, CString::new(p)) else {
                return Ok(0);
            };
            // SAFETY: the plugin's callback with its own user pointer.
            unsafe { cb(g.user, path.as_ptr()) };
        }
        Ok(0)
    } ?= 0
}
