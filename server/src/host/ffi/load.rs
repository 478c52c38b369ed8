//! `dlopen` and reading a plugin's exported tables, checked field by field
//! before anything is trusted: api magic, class string, protocol table.

use std::ffi::{c_int, CStr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use comlink_plugin_api::abi::{
    LwsCallbackFn, LwsContext, LwsPluginCapability, LwsPluginHeader, LwsPluginProtocol,
    LwsPluginProtocol192, LwsProtocols, ACCEPTED_STRUCT_MAGICS, LWS_PLUGIN_API_MAGIC,
};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::host::context;
use crate::host::loader::{LoadError, Symbols};

type InitFn = unsafe extern "C" fn(*mut LwsContext, *mut LwsPluginCapability) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut LwsContext) -> c_int;

/// Most protocols one plugin may declare (a larger count is a corrupt table).
const MAX_PROTOCOLS: usize = 256;

/// An open plugin library. Dropping the last handle runs the plugin's
/// `destroy_*` (old ABI) and then closes the library, so it must outlive
/// every protocol, connection and callback that came from it.
pub struct LibHandle {
    /// The file.
    pub path: PathBuf,
    destroy: Option<DestroyFn>,
    /// `destroy` has run (it runs at most once).
    destroyed: AtomicBool,
    /// A reload replaced this library's file: its protocols are being shut
    /// down (see `host::handover`), and `lws_context_is_being_destroyed`
    /// reads true inside its callbacks.
    pub draining: AtomicBool,
    /// Where the library is mapped (`dladdr`'s base; 0 if unknown): libuv
    /// handles calling into it are closed before it is unloaded.
    base: usize,
    library: Option<Library>,
}

/// Old-ABI plugins with a `destroy_*`, in load order, for [`destroy_plugins`].
static WITH_DESTROY: Mutex<Vec<Weak<LibHandle>>> = Mutex::new(Vec::new());

impl LibHandle {
    /// Runs the plugin's `destroy_*` (old ABI), once.
    pub fn run_destroy(&self) {
        if self.destroyed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let (Some(destroy), Some(_open)) = (self.destroy, self.library.as_ref()) {
            // SAFETY: `destroy` was read from `self.library`, which is still
            // open (checked just above; it is only closed in `drop`); the
            // plugin's destroy function takes the context pointer, as lws
            // calls it.
            unsafe { destroy(context::context_ptr()) };
        }
    }
}

/// Shutdown, after every PROTOCOL_DESTROY: each loaded old-ABI plugin's
/// `destroy_*`, in load order (lws: context destruction, then dlclose; the
/// process exits here, so the libraries stay mapped).
pub(crate) fn destroy_plugins() {
    let libs: Vec<Arc<LibHandle>> = WITH_DESTROY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for lib in libs {
        lib.run_destroy();
    }
}

impl std::fmt::Debug for LibHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibHandle")
            .field("path", &self.path)
            .finish()
    }
}

impl Drop for LibHandle {
    fn drop(&mut self) {
        self.run_destroy();
        if let Some(lib) = self.library.take() {
            let path = self.path.clone();
            let close = move || {
                // not while pages are being let go of (see `resident`)
                let _unmapping = super::resident::mappings_change();
                if let Err(e) = lib.close() {
                    tracing::warn!("{}: dlclose: {e}", path.display());
                }
                tracing::debug!("plugin {} unloaded", path.display());
            };
            if self.base == 0 {
                close();
            } else {
                // libuv handles calling into the library are closed first
                // (see `host::uv`); without libuv loops this closes at once.
                crate::host::uv::release(crate::host::ffi::uv::Owner::Library(self.base), close);
            }
        }
    }
}

/// One protocol a plugin provides.
#[derive(Debug)]
pub struct ProtocolDef {
    /// Its name (ws subprotocol, `callback://` name, `ws-protocols` key).
    pub name: String,
    /// The plugin's own `struct lws_protocols` (what `lws_get_protocol` returns).
    pub raw: *const LwsProtocols,
    /// The callback.
    pub callback: LwsCallbackFn,
    /// `per_session_data_size`.
    pub pss_size: usize,
    /// `rx_buffer_size`.
    pub rx_buffer_size: usize,
    /// `tx_packet_size`.
    pub tx_packet_size: usize,
    /// Keeps the library open while this protocol can be used.
    pub lib: Arc<LibHandle>,
}

// SAFETY: `raw` points into the static, read-only protocol table of the
// library held open by `lib`; nothing writes through it, so sharing the
// pointer between threads is as safe as sharing the table itself.
unsafe impl Send for ProtocolDef {}
// SAFETY: as above; all other fields are plain data.
unsafe impl Sync for ProtocolDef {}

/// A loaded plugin.
#[derive(Debug)]
pub struct PluginLib {
    /// Its file.
    pub path: PathBuf,
    /// Its name (struct header name, else the file stem).
    pub name: String,
    /// Which ABI it uses, for the log.
    pub abi: String,
    /// lws v5's plugin priority (magic 192; 0 for the others): plugins
    /// with a higher one come first, and so win a protocol name.
    pub priority: u32,
    /// Its protocols, in table order.
    pub protocols: Vec<Arc<ProtocolDef>>,
    /// The open library (what each protocol holds too).
    pub handle: Arc<LibHandle>,
}

fn refused(path: &Path, reason: impl Into<String>) -> LoadError {
    LoadError::Refused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The system's memory page size, what the dynamic loader maps files by.
pub(crate) fn page_size() -> Option<u64> {
    let n = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok()??;
    u64::try_from(n).ok()
}

/// Whether the library opened as `name` is still loaded (glibc may keep a
/// library after its last `dlclose`, e.g. while thread-local destructors it
/// registered are pending).
pub(crate) fn still_loaded(name: &Path) -> bool {
    // SAFETY: RTLD_NOLOAD never loads anything: it only hands out another
    // reference to a library already loaded (whose initialisers ran long
    // ago), which is closed again at once.
    match unsafe { Library::open(Some(name), libc::RTLD_NOLOAD | libc::RTLD_LAZY) } {
        Ok(lib) => {
            let _ = lib.close();
            true
        }
        Err(_) => false,
    }
}

/// Opens `path` and reads its protocols (old or new ABI).
/// `from` is the file actually opened (`path` itself or a private copy of
/// it, as `/proc/self/fd/N`, see `loader`); `path` is what logs and errors
/// name. `loaded` runs once the library is mapped and before any of its
/// code but its initialisers (`init_<name>` of the old ABI, `lws`'s
/// protocol callbacks) runs.
pub(crate) fn open(
    path: &Path,
    from: &Path,
    syms: &Symbols,
    loaded: impl FnOnce(),
) -> Result<Arc<PluginLib>, LoadError> {
    // SAFETY: opening a library runs its initialisers. The plugin dir is
    // trusted configuration (as it is for lwsws): whoever can write there
    // can run code as this server by design. RTLD_NOW makes a missing host
    // function a load error here instead of a crash at first call.
    let mut opened = unsafe { Library::open(Some(from), RTLD_NOW | RTLD_LOCAL) };
    // A plugin on lws's libuv integration that does not link libuv itself
    // (lws's libwebsockets.so brought it in): load libuv, then try again.
    if opened
        .as_ref()
        .is_err_and(|e| e.to_string().contains("undefined symbol: uv_"))
        && crate::host::ffi::uv::load_global().is_ok()
    {
        // SAFETY: as above.
        opened = unsafe { Library::open(Some(from), RTLD_NOW | RTLD_LOCAL) };
    }
    let library = opened.map_err(|e| LoadError::Open {
        path: path.to_path_buf(),
        reason: e
            .to_string()
            .replace(&from.display().to_string(), &path.display().to_string()),
    })?;
    loaded();

    // SAFETY: looking a symbol up has no effect; the type is only trusted
    // once called, below, with the signature the old ABI defines.
    let init: Option<InitFn> = unsafe { library.get::<InitFn>(syms.init.as_bytes()) }
        .ok()
        .map(|s| *s);
    if let Some(init) = init {
        let mut cap = LwsPluginCapability {
            api_magic: LWS_PLUGIN_API_MAGIC,
            protocols: std::ptr::null(),
            count_protocols: 0,
            extensions: std::ptr::null(),
            count_extensions: 0,
        };
        // SAFETY: `init` is the plugin's `init_<name>` with the old-ABI
        // signature; `cap` is a valid, writable capability struct that
        // outlives the call.
        let rc = unsafe { init(context::context_ptr(), &mut cap) };
        if rc != 0 {
            return Err(refused(
                path,
                format!(
                    "{} returned {rc} (it refuses api magic {LWS_PLUGIN_API_MAGIC}?)",
                    syms.init
                ),
            ));
        }
        // SAFETY: looking a symbol up has no effect.
        let destroy: Option<DestroyFn> =
            unsafe { library.get::<DestroyFn>(syms.destroy.as_bytes()) }
                .ok()
                .map(|s| *s);
        let count = usize::try_from(cap.count_protocols).unwrap_or(0);
        let handle = Arc::new(LibHandle {
            path: path.to_path_buf(),
            destroy,
            destroyed: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            base: crate::host::ffi::uv::object_base(init as usize).unwrap_or(0),
            library: Some(library),
        });
        if destroy.is_some() {
            WITH_DESTROY
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::downgrade(&handle));
        }
        let protocols = read_protocols(path, cap.protocols, count, &handle)?;
        return Ok(Arc::new(PluginLib {
            path: path.to_path_buf(),
            name: stem(path),
            abi: format!("{} (lws 2.x-4.0 ABI)", syms.init),
            priority: 0,
            protocols,
            handle,
        }));
    }

    for s in &syms.structs {
        // SAFETY: looking a symbol up has no effect; the address is only
        // read after the header checks below.
        let Ok(sym) = (unsafe { library.get::<*const LwsPluginHeader>(s.as_bytes()) }) else {
            continue;
        };
        let hdr_ptr: *const LwsPluginHeader = *sym;
        if hdr_ptr.is_null() {
            continue;
        }
        // SAFETY: the symbol is the plugin's exported `lws_plugin_protocol_t`,
        // whose first member is the header; the library is open.
        let hdr = unsafe { &*hdr_ptr };
        if !ACCEPTED_STRUCT_MAGICS.contains(&hdr.api_magic) {
            return Err(refused(
                path,
                format!(
                    "{s}: api magic {} not supported (accepted: {ACCEPTED_STRUCT_MAGICS:?})",
                    hdr.api_magic
                ),
            ));
        }
        // SAFETY: a non-null `_class` is a NUL-terminated string in the
        // plugin's read-only data.
        let class = (!hdr.class.is_null()).then(|| unsafe { CStr::from_ptr(hdr.class) });
        if class.map(|c| c.to_bytes()) != Some(b"lws_protocol_plugin") {
            return Err(refused(
                path,
                format!("{s}: class is not \"lws_protocol_plugin\""),
            ));
        }
        let name = if hdr.name.is_null() {
            stem(path)
        } else {
            // SAFETY: as for `_class`.
            unsafe { CStr::from_ptr(hdr.name) }
                .to_string_lossy()
                .into_owned()
        };
        let (protos, count, priority) = if hdr.api_magic >= 192 {
            // SAFETY: magic 192 means lws v5's layout (header with priority).
            let p = unsafe { &*(hdr_ptr as *const LwsPluginProtocol192) };
            (p.protocols, p.count_protocols, p.hdr.priority)
        } else {
            // SAFETY: magics 180-191 use the v4.3 layout.
            let p = unsafe { &*(hdr_ptr as *const LwsPluginProtocol) };
            (p.protocols, p.count_protocols, 0)
        };
        let magic = hdr.api_magic;
        let handle = Arc::new(LibHandle {
            path: path.to_path_buf(),
            destroy: None,
            destroyed: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            base: crate::host::ffi::uv::object_base(hdr_ptr as usize).unwrap_or(0),
            library: Some(library),
        });
        let protocols = read_protocols(path, protos, usize::try_from(count).unwrap_or(0), &handle)?;
        return Ok(Arc::new(PluginLib {
            path: path.to_path_buf(),
            name,
            abi: format!("struct {s}, api magic {magic}"),
            priority,
            protocols,
            handle,
        }));
    }
    let mut tried = vec![syms.init.clone()];
    tried.extend(syms.structs.iter().cloned());
    Err(LoadError::NoSymbol {
        path: path.to_path_buf(),
        tried,
    })
}

fn read_protocols(
    path: &Path,
    table: *const LwsProtocols,
    count: usize,
    lib: &Arc<LibHandle>,
) -> Result<Vec<Arc<ProtocolDef>>, LoadError> {
    if table.is_null() || count == 0 {
        return Err(refused(path, "no protocols"));
    }
    if count > MAX_PROTOCOLS {
        return Err(refused(path, format!("{count} protocols: corrupt table?")));
    }
    // SAFETY: the plugin declared `count` entries at `table` in its static
    // data; the library is held open by `lib`.
    let entries = unsafe { std::slice::from_raw_parts(table, count) };
    let mut out = Vec::new();
    for (i, p) in entries.iter().enumerate() {
        // lws tables often end with an all-zero terminator entry.
        let (Some(callback), false) = (p.callback, p.name.is_null()) else {
            continue;
        };
        // SAFETY: a non-null name is a NUL-terminated string in the plugin.
        let name = unsafe { CStr::from_ptr(p.name) };
        let Ok(name) = name.to_str() else {
            return Err(refused(path, format!("protocol {i}: name is not UTF-8")));
        };
        out.push(Arc::new(ProtocolDef {
            name: name.to_string(),
            raw: p as *const LwsProtocols,
            callback,
            pss_size: p.per_session_data_size,
            rx_buffer_size: p.rx_buffer_size,
            tx_packet_size: p.tx_packet_size,
            lib: lib.clone(),
        }));
    }
    if out.is_empty() {
        return Err(refused(path, "no usable protocol in its table"));
    }
    Ok(out)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string()
}
