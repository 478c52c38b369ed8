//! Plugin discovery and checks, as lwsws does it but loud about failures:
//! every `lib*.so` in each plugin dir, in name order; the symbol comes from
//! the file name (`libprotocol_foo.so` → `init_protocol_foo` for the seed's
//! ABI, or the exported struct `foo` / `protocol_foo` for lws v4.1+). One
//! dir's or one file's failure never stops the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::host::context::CONTEXT;
use crate::host::ffi;
use crate::host::ffi::load::{self, PluginLib, ProtocolDef};
use crate::host::image;
use crate::host::thread::{Command, Handoff};

/// Why a plugin file was skipped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `dlopen` failed (not a shared object, missing dependency, ...).
    #[error("{}: cannot load: {reason}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// None of the symbols the file name implies exist.
    #[error("{}: exports none of {}", path.display(), tried.join(", "))]
    NoSymbol {
        /// The file.
        path: PathBuf,
        /// The symbols looked up.
        tried: Vec<String>,
    },
    /// The exported struct or the init function refused, or is malformed.
    #[error("{}: {reason}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The symbol names implied by a plugin file name.
#[derive(Debug, PartialEq, Eq)]
pub struct Symbols {
    /// `init_<stem>` (old ABI).
    pub init: String,
    /// `destroy_<stem>` (old ABI).
    pub destroy: String,
    /// Exported struct names to try, in order (new ABI).
    pub structs: Vec<String>,
}

/// `libprotocol_dumb_increment.so` → init `init_protocol_dumb_increment`,
/// structs `dumb_increment`, `protocol_dumb_increment`.
pub fn symbols_for(file_name: &str) -> Option<Symbols> {
    let stem = file_name.strip_prefix("lib")?;
    let stem = stem.split(".so").next()?;
    if stem.is_empty() {
        return None;
    }
    // lws v4.1+: everything after the first '_' or '-', up to the first '.'.
    let base = stem
        .find(['_', '-'])
        .map(|i| &stem[i + 1..])
        .unwrap_or(stem)
        .split('.')
        .next()
        .unwrap_or(stem)
        .to_string();
    let mut structs = vec![base.clone()];
    if stem != base {
        structs.push(stem.to_string());
    }
    let prefixed = format!("protocol_{base}");
    if !structs.contains(&prefixed) {
        structs.push(prefixed);
    }
    Some(Symbols {
        init: format!("init_{stem}"),
        destroy: format!("destroy_{stem}"),
        structs,
    })
}

/// What `dlopen` opens for one plugin file: the file itself, under a read
/// lease, or a private copy of it. The dynamic loader treats a path it has
/// opened before as the same library even when the file was replaced;
/// opening each generation under its own name (`/proc/self/fd/N`) is what
/// lets a reload pick up a rebuilt `.so` while connections on the old one
/// keep running its code. glibc knows a library by that name, so
/// `/proc/self/fd/N` must not name another file while that library is
/// loaded: the descriptor stays open until the library is gone (see
/// [`retire`]).
///
/// The file itself, as lwsws loads it, where the kernel grants the host a
/// read lease on it (`host::ffi::lease`: the host then moves the library
/// into memory before anyone rewrites the file in place): its pages are
/// the page cache's, shared with every other reader and dropped under
/// memory pressure. Otherwise (another user's file, a filesystem without
/// leases, a file open for writing, a file whose library is still loaded:
/// glibc would hand that library out again) a copy: an anonymous in-memory
/// file (`memfd_create`), so nothing is written to disk and a `noexec`
/// `/tmp` (`PrivateTmp=`, CIS hardening) does not matter; where memfd
/// cannot be used (no `/proc`, `vm.memfd_noexec` = 2), a file in a private
/// directory under `$TMPDIR`, removed once loaded. A copy is memory whether
/// or not its pages are mapped.
///
/// `$ORIGIN` in a plugin's run path therefore names `/proc/self/fd` (or
/// that private directory), never the plugin dir: companion libraries are
/// found through the library path, or an absolute run path.
enum Loadable {
    /// The plugin file, read-only, with a read lease on it.
    Leased {
        file: std::fs::File,
        path: PathBuf,
        dev: u64,
        ino: u64,
        /// Whether the lease is still held (it is let go once the library
        /// is in memory).
        held: bool,
    },
    /// An in-memory copy.
    Memfd {
        /// Keeps `/proc/self/fd/N` naming this file.
        _fd: std::os::fd::OwnedFd,
        path: PathBuf,
    },
    /// A copy in its own directory, removed when dropped (the mapping the
    /// loader made stays valid).
    File { path: PathBuf, dir: PathBuf },
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Set once SIGIO, which tells of a lease being broken, is handled: its
/// default action ends the process, so no lease is taken before.
static LEASES_ALLOWED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets later loads map plugin files under a read lease; the caller has
/// made SIGIO call [`leases_broken`].
pub fn allow_leases() {
    LEASES_ALLOWED.store(true, std::sync::atomic::Ordering::SeqCst);
}

impl Loadable {
    fn new(src: &Path) -> std::io::Result<Loadable> {
        let file = std::fs::File::open(src)?;
        match Loadable::lease(&file) {
            Ok((path, dev, ino)) => {
                return Ok(Loadable::Leased {
                    file,
                    path,
                    dev,
                    ino,
                    held: true,
                })
            }
            Err(why) => tracing::debug!("{}: loaded from a copy ({why})", src.display()),
        }
        match Loadable::memfd(src, &file) {
            Ok(copy) => Ok(copy),
            Err(e) => {
                tracing::debug!(
                    "{}: no in-memory copy ({e}); copying it under {}",
                    src.display(),
                    std::env::temp_dir().display()
                );
                Loadable::file(src)
            }
        }
    }

    /// A read lease on `file`, if granted: the path to open it by, and its
    /// device and inode.
    fn lease(file: &std::fs::File) -> Result<(PathBuf, u64, u64), String> {
        use std::os::fd::{AsFd, AsRawFd};
        use std::os::unix::fs::MetadataExt;
        if !LEASES_ALLOWED.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("no lease outside a running server".into());
        }
        let meta = file.metadata().map_err(|e| e.to_string())?;
        let (dev, ino) = (meta.dev(), meta.ino());
        if held_loaded(dev, ino) {
            return Err("a library of this very file is still loaded".into());
        }
        ffi::lease::take_read_lease(file.as_fd()).map_err(|e| format!("no read lease: {e}"))?;
        let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        if !path.exists() {
            // the lease goes with `file`, closed by the caller
            return Err("/proc is not mounted".into());
        }
        Ok((path, dev, ino))
    }

    /// Copies `src` (open as `from`) into a new memfd.
    fn memfd(src: &Path, from: &std::fs::File) -> std::io::Result<Loadable> {
        use std::os::fd::AsRawFd;
        let name = src.file_name().unwrap_or_default();
        let name = std::ffi::CString::new(name.as_encoded_bytes()).unwrap_or_default();
        let mut file = ffi::lease::executable_memfd(&name)?;
        let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        copy_loaded_part(from, &mut file)?;
        if !path.exists() {
            return Err(std::io::Error::other("/proc is not mounted"));
        }
        Ok(Loadable::Memfd {
            _fd: file.into(),
            path,
        })
    }

    /// Copies `src` into a new private directory under `$TMPDIR`.
    fn file(src: &Path) -> std::io::Result<Loadable> {
        use std::os::unix::fs::DirBuilderExt;
        let n = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lwsws-{}-plugin-{n}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&dir)?;
        let path = dir.join(src.file_name().unwrap_or_default());
        std::fs::copy(src, &path)?;
        Ok(Loadable::File { path, dir })
    }

    /// The path to `dlopen`.
    fn path(&self) -> &Path {
        match self {
            Loadable::Leased { path, .. }
            | Loadable::Memfd { path, .. }
            | Loadable::File { path, .. } => path,
        }
    }

    /// Once the library is mapped from a leased file, before any of its
    /// code but its ELF initialisers has run: its writable mappings go into
    /// memory now, while no thread runs its code (the kernel drops their
    /// written pages if the file is truncated, and a mapping cannot be
    /// copied safely while it is being written).
    fn loaded(&self, plugin: &Path) {
        if let Loadable::Leased { dev, ino, path, .. } = self {
            if let Err(e) = ffi::lease::move_writable_of(path, *dev, *ino) {
                tracing::warn!(
                    "plugin {}: its writable data stays mapped from the file ({e}): \
                     do not rewrite the file in place while it is loaded",
                    plugin.display()
                );
            }
        }
    }
}

/// Whether a library the host holds was loaded from the file (`dev`, `ino`)
/// and is still loaded.
fn held_loaded(dev: u64, ino: u64) -> bool {
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.iter().any(|(lib, l)| {
        matches!(l, Loadable::Leased { dev: d, ino: i, .. } if (*d, *i) == (dev, ino))
            && (lib.strong_count() > 0 || load::still_loaded(l.path()))
    })
}

/// Called on SIGIO: someone is waiting to write a plugin file the host
/// holds a lease on. The library loaded from it is moved into memory, then
/// the lease let go, and the writer goes on (the next reload loads what it
/// wrote). Returns how many leases were let go.
pub fn leases_broken() -> usize {
    use std::os::fd::AsFd;
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let mut n = 0;
    for (lib, l) in held.iter_mut() {
        let Loadable::Leased {
            file,
            dev,
            ino,
            held,
            ..
        } = l
        else {
            continue;
        };
        if !*held || !ffi::lease::lease_breaking(file.as_fd()) {
            continue;
        }
        // Held until the library is in memory: its last user cannot
        // unload it in the middle.
        let alive = lib.upgrade();
        let name = alive
            .as_ref()
            .map(|h| h.path.display().to_string())
            .unwrap_or_else(|| "(unloaded)".into());
        match ffi::lease::move_into_memory(*dev, *ino, ffi::lease::Mappings::ReadOnly) {
            Ok(moved) => tracing::info!(
                "plugin {name}: its file is being written to; the loaded library \
                 ({moved} mappings) now runs from memory, and a reload loads the new file"
            ),
            Err(e) => tracing::error!("plugin {name}: could not move it into memory: {e}"),
        }
        drop(alive);
        if let Err(e) = ffi::lease::let_go(file.as_fd()) {
            tracing::error!("plugin {name}: could not let its lease go: {e}");
        }
        *held = false;
        n += 1;
    }
    n
}

/// Lets go of the resident pages of code and read-only data that starting
/// or reloading touched, in the executable and in every plugin library the
/// host holds (see [`ffi::resident`]): what runs next maps its pages back
/// from the page cache. Each service thread then lets go of the stack
/// below the frame it waits for work in, which start-up's deeper calls
/// (plugin init, a reload's) had touched. Logs how many KiB were released
/// (debug).
pub fn release_start_up_pages() {
    match release_pages() {
        Ok(kib) => tracing::debug!("{kib} KiB of start-up code and data released"),
        Err(e) => tracing::debug!("start-up code and data not released: {e}"),
    }
    for tsi in 0..CONTEXT.count_threads() {
        let job: Box<dyn FnOnce() + Send> =
            Box::new(move || match ffi::resident::release_unused_stack() {
                Ok(range) => tracing::debug!(
                    "service thread {tsi}: {} KiB of its stack below where it waits let go of",
                    range.len() / 1024
                ),
                Err(e) => tracing::debug!("service thread {tsi}: stack not released: {e}"),
            });
        CONTEXT.post(tsi, Command::Run(Handoff::new(job)));
    }
}

fn release_pages() -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    // Held across the release: a lease being broken moves a library's
    // mappings, and waits for this lock to do it.
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let exe = std::fs::metadata("/proc/self/exe")?;
    let mut files = vec![(exe.dev(), exe.ino())];
    for (_, l) in held.iter() {
        match l {
            Loadable::Leased { dev, ino, .. } => files.push((*dev, *ino)),
            Loadable::Memfd { path, .. } => {
                if let Ok(m) = std::fs::metadata(path) {
                    files.push((m.dev(), m.ino()));
                }
            }
            Loadable::File { .. } => {}
        }
    }
    ffi::resident::release_file_pages(&files)
}

/// Copies into `to` the part of plugin file `from` that the dynamic loader
/// maps (see [`super::image`]), or all of it if that cannot be told.
fn copy_loaded_part(from: &std::fs::File, to: &mut std::fs::File) -> std::io::Result<()> {
    use std::io::{Read, Seek};
    use std::os::unix::fs::FileExt;
    let file_len = from.metadata()?.len();
    let mut head = [0u8; 64];
    let n = from.read_at(&mut head, 0)?;
    let page = load::page_size().unwrap_or(image::LARGEST_PAGE);
    let extent = image::extent(&head[..n], file_len, page, |at, len| {
        let mut buf = vec![0u8; len];
        from.read_exact_at(&mut buf, at)?;
        Ok(buf)
    });
    let mut from = from;
    from.rewind()?;
    match extent {
        Some(e) => {
            std::io::copy(&mut from.take(e.len), to)?;
            to.write_all_at(&e.header, 0)
        }
        None => std::io::copy(&mut from, to).map(drop),
    }
}

impl Drop for Loadable {
    fn drop(&mut self) {
        if let Loadable::File { path, dir } = self {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Leased files and in-memory copies whose library may still be loaded,
/// with the library's handle (dead once its last user let go).
type Held = Vec<(std::sync::Weak<load::LibHandle>, Loadable)>;
static HELD: std::sync::Mutex<Held> = std::sync::Mutex::new(Vec::new());

/// Keeps `copy` open while the library loaded from it (`lib`, or nothing
/// if loading failed) may be loaded, and closes the files and copies of
/// libraries that are gone (closing a leased file lets its lease go). A library that `dlclose` did not unload (glibc keeps one
/// that has thread-local destructors pending, for instance) keeps its copy:
/// closing it would let a later plugin's copy get the same
/// `/proc/self/fd/N`, which glibc would take for the loaded library.
fn retire(copy: Loadable, lib: std::sync::Weak<load::LibHandle>) {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if let Loadable::Memfd { .. } | Loadable::Leased { .. } = copy {
        held.push((lib, copy));
    }
    held.retain(|(lib, copy)| lib.strong_count() > 0 || load::still_loaded(copy.path()));
}

/// The `lib*.so` files of `dir`, sorted by name.
fn plugin_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("lib") && (n.ends_with(".so") || n.contains(".so.")))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Every protocol the plugin dirs provide, by name (first provider wins).
#[derive(Debug, Default)]
pub struct Registry {
    /// Protocols by name.
    pub protocols: HashMap<String, Arc<ProtocolDef>>,
    /// Loaded plugins, in load order.
    pub plugins: Vec<Arc<PluginLib>>,
    /// Libraries of the previous load whose file was replaced on disk and
    /// loaded again: their protocols hand over to the new generation (see
    /// `host::handover`).
    pub replaced: Vec<Arc<PluginLib>>,
}

/// What identifies a plugin file's contents without reading it: a file
/// replaced by a rename (`install`, a package upgrade) has a new inode, one
/// rewritten in place (`cp`) a new mtime or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl FileId {
    /// The identity of the file at `path` now.
    pub fn of(path: &Path) -> std::io::Result<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
        })
    }
}

/// Loads plugin dirs, keeping what the previous load opened: a file that
/// did not change keeps its loaded library (and with it the plugin's
/// global state: an open journal, a thread, a socket), so a reload is
/// invisible to it.
#[derive(Debug, Default)]
pub struct Loader {
    /// The previous load's libraries, by path, with their file identity.
    kept: HashMap<PathBuf, (FileId, Arc<PluginLib>)>,
}

impl Loader {
    /// Loads every plugin of `dirs` (a missing dir is noted and skipped),
    /// reusing the library of each file that is unchanged since the last call.
    pub fn load_dirs(&mut self, dirs: &[PathBuf]) -> Registry {
        let mut reg = Registry::default();
        let mut kept = HashMap::new();
        for dir in dirs {
            let files = match plugin_files(dir) {
                Ok(f) => f,
                Err(e) => {
                    tracing::info!("plugin dir {}: {e} (skipped)", dir.display());
                    continue;
                }
            };
            for path in files {
                let id = FileId::of(&path).ok();
                let previous = self.kept.get(&path);
                let result = match (previous, id) {
                    (Some((was, lib)), Some(now)) if *was == now => {
                        tracing::debug!("plugin {}: unchanged, kept loaded", path.display());
                        Ok(lib.clone())
                    }
                    _ => load_one(&path, &reg),
                };
                match result {
                    Ok(lib) => {
                        if let Some((_, old)) = previous {
                            if !Arc::ptr_eq(old, &lib) {
                                tracing::info!(
                                    "plugin {}: changed on disk, loading the new version",
                                    path.display()
                                );
                                reg.replaced.push(old.clone());
                            }
                        }
                        if let Some(id) = id {
                            kept.insert(path.clone(), (id, lib.clone()));
                        }
                        add(&mut reg, &path, lib);
                    }
                    Err(e) => tracing::warn!("plugin skipped: {e}"),
                }
            }
        }
        self.kept = kept;
        // lws v5: higher priority first (a stable sort: equal ones stay in
        // load order), and the first provider of a protocol name wins.
        reg.plugins.sort_by_key(|p| std::cmp::Reverse(p.priority));
        for lib in reg.plugins.clone() {
            register_protocols(&mut reg, &lib);
        }
        reg
    }
}

/// Adds a loaded library to `reg` (its protocols come once all are loaded).
fn add(reg: &mut Registry, path: &Path, lib: Arc<PluginLib>) {
    let names: Vec<&str> = lib.protocols.iter().map(|p| p.name.as_str()).collect();
    tracing::info!(
        "plugin {} ({}{}): protocols {}",
        path.display(),
        lib.abi,
        if lib.priority != 0 {
            format!(", priority {}", lib.priority)
        } else {
            String::new()
        },
        names.join(", ")
    );
    reg.plugins.push(lib);
}

/// Registers the protocols of `lib` whose names are still free.
fn register_protocols(reg: &mut Registry, lib: &Arc<PluginLib>) {
    for p in &lib.protocols {
        if let Some(prev) = reg.protocols.get(&p.name) {
            tracing::warn!(
                "{}: protocol \"{}\" is already provided by {} (ignored)",
                lib.path.display(),
                p.name,
                prev.lib.path.display()
            );
            continue;
        }
        reg.protocols.insert(p.name.clone(), p.clone());
    }
}

fn load_one(path: &Path, reg: &Registry) -> Result<Arc<PluginLib>, LoadError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let syms = symbols_for(name).ok_or_else(|| LoadError::Refused {
        path: path.to_path_buf(),
        reason: "file name is not lib<name>.so".into(),
    })?;
    let copy = Loadable::new(path).map_err(|e| LoadError::Open {
        path: path.to_path_buf(),
        reason: format!("cannot read it: {e}"),
    })?;
    let lib = match load::open(path, copy.path(), &syms, || copy.loaded(path)) {
        Ok(lib) => {
            retire(copy, Arc::downgrade(&lib.handle));
            lib
        }
        Err(e) => {
            retire(copy, std::sync::Weak::new());
            return Err(match e {
                // A companion library is missing: say why $ORIGIN did not
                // find it next to the plugin.
                LoadError::Open { path, reason }
                    if reason.contains("cannot open shared object file") =>
                {
                    LoadError::Open {
                        path,
                        reason: format!(
                            "{reason} (plugins are loaded as /proc/self/fd/N, \
                             so $ORIGIN is not the plugin dir: put the \
                             libraries it needs in the library path)"
                        ),
                    }
                }
                e => e,
            });
        }
    };
    if let Some(dup) = reg.plugins.iter().find(|p| p.name == lib.name) {
        return Err(LoadError::Refused {
            path: path.to_path_buf(),
            reason: format!(
                "plugin name \"{}\" already loaded from {}",
                lib.name,
                dup.path.display()
            ),
        });
    }
    Ok(lib)
}

#[cfg(test)]
mod tests {
    use super::symbols_for;

    #[test]
    fn symbol_names_follow_lwsws() {
        let s = symbols_for("libprotocol_lws_packet.so").unwrap();
        assert_eq!(s.init, "init_protocol_lws_packet");
        assert_eq!(s.destroy, "destroy_protocol_lws_packet");
        assert_eq!(s.structs, vec!["lws_packet", "protocol_lws_packet"]);
        let s = symbols_for("libprotocol_example_standalone.so").unwrap();
        assert_eq!(
            s.structs,
            vec!["example_standalone", "protocol_example_standalone"]
        );
        let s = symbols_for("libplain.so").unwrap();
        assert_eq!(s.structs, vec!["plain", "protocol_plain"]);
        assert!(symbols_for("notlib.so").is_none());
    }
}
