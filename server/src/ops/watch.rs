//! Watching `conf`, `conf.d/` and the plugin dirs: a change (debounced)
//! reloads as SIGHUP does. Global `"watch": "off"` disables it.
//!
//! Directories are watched, never files: an editor or `sed -i` saves by
//! writing a new file and renaming it over the old name, and a watch on the
//! old file would stay on its (now nameless) inode and see no later edit.
//! So `conf` is watched through the config dir (only the names `conf` and
//! `conf.d` there count), `conf.d/` and each plugin dir as directories. A
//! directory that appears later, or is itself replaced, is watched again
//! after the next burst of events.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Quiet time after the last change before reloading (editors and
/// `make install` touch files several times).
const DEBOUNCE: Duration = Duration::from_millis(500);

/// Longest a steady stream of changes can hold a reload back.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// What is watched: the config dir (for `conf` and `conf.d`), `conf.d/`,
/// and the plugin dirs.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The `-c` directory.
    pub config_dir: PathBuf,
    /// `plugin-dir` entries and the built-in plugin dir.
    pub plugin_dirs: Vec<PathBuf>,
}

impl Targets {
    fn conf_d(&self) -> PathBuf {
        self.config_dir.join("conf.d")
    }

    /// The directories to hold a watch on.
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.config_dir.clone(), self.conf_d()];
        for d in &self.plugin_dirs {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
        dirs
    }

    /// Whether a change at `path` (as the watcher reports it: a watched
    /// dir joined with a name, or a watched dir itself) can change what a
    /// reload reads. Editor backups (`~`, which lwsws skips in `conf.d`),
    /// swap files next to `conf` and non-plugin files do not.
    pub fn relevant(&self, path: &Path) -> bool {
        if self.dirs().iter().any(|d| d == path) {
            // A watched dir itself was moved or deleted.
            return true;
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let name = name.to_string_lossy();
        if parent == self.config_dir && (name == "conf" || name == "conf.d") {
            return true;
        }
        if parent == self.conf_d() && !name.contains('~') {
            return true;
        }
        self.plugin_dirs.iter().any(|d| d == parent)
            && name.starts_with("lib")
            && (name.ends_with(".so") || name.contains(".so."))
    }
}

/// The running watcher; dropping it stops watching.
pub struct Watch {
    inner: Arc<Inner>,
}

struct Inner {
    /// Read by the event filter too.
    targets: Arc<Mutex<Targets>>,
    watcher: Mutex<RecommendedWatcher>,
    watched: Mutex<Watched>,
}

impl Inner {
    fn targets(&self) -> Targets {
        lock(&self.targets).clone()
    }

    /// Watches again what appeared or was replaced.
    fn sync(&self) {
        let targets = self.targets();
        let mut w = lock(&self.watcher);
        lock(&self.watched).sync(&mut w, &targets);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Watch {
    /// The plugin dirs of a configuration a reload took (a `plugin-dir`
    /// added or removed).
    pub fn set_plugin_dirs(&self, dirs: Vec<PathBuf>) {
        lock(&self.inner.targets).plugin_dirs = dirs;
        self.inner.sync();
    }
}

/// Starts watching `targets`; after a change settles, SIGHUP is raised in
/// this process. Directories missing now are watched once they exist (at
/// the next change of another watched dir, or the next reload).
pub fn start(targets: Targets) -> notify::Result<Watch> {
    let (tx, rx) = mpsc::channel();
    let targets = Arc::new(Mutex::new(targets));
    let filter = targets.clone();
    let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let relevant = match ev {
            Ok(ev) => {
                !matches!(ev.kind, notify::EventKind::Access(_)) && {
                    let t = lock(&filter);
                    ev.paths.iter().any(|p| t.relevant(p))
                }
            }
            // The kernel's queue overflowed: something may have changed.
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(());
        }
    })?;
    let inner = Arc::new(Inner {
        targets,
        watcher: Mutex::new(watcher),
        watched: Mutex::new(Watched::default()),
    });
    inner.sync();
    let weak = Arc::downgrade(&inner);
    std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || debounce_loop(&rx, &weak))
        .map_err(notify::Error::io)?;
    Ok(Watch { inner })
}

/// Waits for changes; after each burst, watches again what was replaced
/// and raises SIGHUP. Ends when the watcher is dropped.
fn debounce_loop(rx: &mpsc::Receiver<()>, inner: &Weak<Inner>) {
    while rx.recv().is_ok() {
        let first = Instant::now();
        while first.elapsed() < MAX_DELAY && rx.recv_timeout(DEBOUNCE).is_ok() {}
        let Some(inner) = inner.upgrade() else { return };
        inner.sync();
        drop(inner);
        tracing::info!("configuration or plugin files changed: reloading");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP);
    }
}

/// The directories watched now, with the identity of each when its watch
/// was set.
#[derive(Debug, Default)]
struct Watched {
    dirs: Vec<(PathBuf, (u64, u64))>,
}

fn dir_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

impl Watched {
    /// Watches each target dir that exists and is not watched as the
    /// directory now at its path (new, or replaced since).
    fn sync(&mut self, w: &mut RecommendedWatcher, targets: &Targets) {
        for dir in targets.dirs() {
            let now = dir_id(&dir);
            let before = self.dirs.iter().position(|(d, _)| *d == dir);
            if before.map(|i| Some(self.dirs[i].1)) == Some(now) {
                continue;
            }
            if let Some(i) = before {
                let _ = w.unwatch(&dir);
                self.dirs.remove(i);
            }
            let Some(id) = now else { continue };
            match w.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.dirs.push((dir, id)),
                Err(e) => tracing::warn!("not watching {} for changes: {e}", dir.display()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Targets;
    use std::path::{Path, PathBuf};

    #[test]
    fn only_names_a_reload_reads_count() {
        let t = Targets {
            config_dir: PathBuf::from("/etc/lwsws"),
            plugin_dirs: vec![PathBuf::from("/usr/lib/p")],
        };
        for yes in [
            "/etc/lwsws/conf",
            "/etc/lwsws/conf.d",
            "/etc/lwsws/conf.d/localhost",
            "/etc/lwsws/conf.d/sedAb12Cd",
            "/usr/lib/p/libprotocol_x.so",
            "/usr/lib/p/libfoo.so.1",
            "/usr/lib/p",
        ] {
            assert!(t.relevant(Path::new(yes)), "{yes}");
        }
        for no in [
            "/etc/lwsws/.conf.swp",
            "/etc/lwsws/conf~",
            "/etc/lwsws/conf.dist",
            "/etc/lwsws/conf.d/localhost~",
            "/usr/lib/p/.build.so.tmp",
            "/usr/lib/p/README",
            "/elsewhere/conf",
        ] {
            assert!(!t.relevant(Path::new(no)), "{no}");
        }
        // A trailing slash on -c changes nothing.
        let t = Targets {
            config_dir: PathBuf::from("/etc/lwsws/"),
            plugin_dirs: vec![],
        };
        assert!(t.relevant(Path::new("/etc/lwsws/conf")));
    }
}
