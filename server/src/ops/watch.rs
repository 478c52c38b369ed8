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
//!
//! The kernel's events (inotify) are read, filtered and debounced by a task
//! on the main thread's signal runtime, which runs whenever the main thread
//! waits for signals: a thread of its own would cost memory for what is
//! half a second of work on a day with a deploy. Only changes are asked
//! for (no open or read events: the server's own reads of its files make
//! none).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use inotify::{EventMask, EventStream, Inotify, WatchDescriptor, WatchMask, Watches};

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

/// What a watch on a directory reports: entries created, deleted, written,
/// renamed in or out, their attributes; and the directory itself deleted
/// or moved. Directories only.
fn mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MODIFY
        | WatchMask::CLOSE_WRITE
        | WatchMask::ATTRIB
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
        | WatchMask::ONLYDIR
}

/// The running watcher; dropping it stops watching.
pub struct Watch {
    inner: Arc<Inner>,
    task: tokio::task::AbortHandle,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Inner {
    targets: Mutex<Targets>,
    watches: Mutex<Watches>,
    watched: Mutex<Watched>,
}

impl Inner {
    fn targets(&self) -> Targets {
        lock(&self.targets).clone()
    }

    /// Watches again what appeared or was replaced.
    fn sync(&self) {
        let targets = self.targets();
        let mut w = lock(&self.watches);
        lock(&self.watched).sync(&mut w, &targets);
    }

    /// Whether an event can change what a reload reads: its path is the
    /// watched dir it came from, joined with the entry's name if any. A
    /// full kernel queue may have dropped anything, so it counts.
    fn relevant(&self, ev: &inotify::Event<OsString>) -> bool {
        if ev.mask.contains(EventMask::Q_OVERFLOW) {
            return true;
        }
        if ev.mask.contains(EventMask::IGNORED) {
            // The watch is gone (removed here, or its dir was, which
            // DELETE_SELF/MOVE_SELF already said).
            return false;
        }
        let targets = lock(&self.targets);
        // Two watched paths can be one directory (one watch, then).
        lock(&self.watched).dirs_of(&ev.wd).any(|dir| {
            let path = match &ev.name {
                Some(name) => dir.join(name),
                None => dir.to_path_buf(),
            };
            targets.relevant(&path)
        })
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

type Events = EventStream<Vec<u8>>;

/// Starts watching `targets`; after a change settles, SIGHUP is raised in
/// this process by a task on `rt` (the main thread's signal runtime).
/// Directories missing now are watched once they exist (at the next change
/// of another watched dir, or the next reload).
pub fn start(targets: Targets, rt: &tokio::runtime::Handle) -> std::io::Result<Watch> {
    let inotify = Inotify::init()?;
    let events = {
        // The stream registers its descriptor with the runtime it is made in.
        let _in = rt.enter();
        inotify.into_event_stream(vec![0u8; 4096])?
    };
    let inner = Arc::new(Inner {
        targets: Mutex::new(targets),
        watches: Mutex::new(events.watches()),
        watched: Mutex::new(Watched::default()),
    });
    inner.sync();
    let task = rt.spawn(debounce(events, Arc::downgrade(&inner)));
    Ok(Watch {
        inner,
        task: task.abort_handle(),
    })
}

/// The next event that counts; None when the stream or the watcher is gone.
async fn next_relevant(events: &mut Events, inner: &Weak<Inner>) -> Option<()> {
    loop {
        let ev = match events.next().await? {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!("reading the config watcher's events: {e}");
                return None;
            }
        };
        if inner.upgrade()?.relevant(&ev) {
            return Some(());
        }
    }
}

/// Waits for changes; after each burst, watches again what was replaced
/// and raises SIGHUP. Ends when the watcher is dropped.
async fn debounce(mut events: Events, inner: Weak<Inner>) {
    while next_relevant(&mut events, &inner).await.is_some() {
        let first = Instant::now();
        while first.elapsed() < MAX_DELAY {
            match tokio::time::timeout(DEBOUNCE, next_relevant(&mut events, &inner)).await {
                Ok(Some(())) => {}
                Ok(None) => return,
                Err(_quiet) => break,
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        inner.sync();
        drop(inner);
        tracing::info!("configuration or plugin files changed: reloading");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP);
    }
}

/// The directories watched now, with the identity of each when its watch
/// was set, and the kernel's descriptor of that watch.
#[derive(Debug, Default)]
struct Watched {
    dirs: Vec<(PathBuf, (u64, u64), WatchDescriptor)>,
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
    fn sync(&mut self, w: &mut Watches, targets: &Targets) {
        for dir in targets.dirs() {
            let now = dir_id(&dir);
            let before = self.dirs.iter().position(|(d, _, _)| *d == dir);
            if before.map(|i| Some(self.dirs[i].1)) == Some(now) {
                continue;
            }
            if let Some(i) = before {
                let (_, _, wd) = self.dirs.remove(i);
                if self.dirs_of(&wd).next().is_none() {
                    // Fails when the kernel dropped it with its directory.
                    let _ = w.remove(wd);
                }
            }
            let Some(id) = now else { continue };
            match w.add(&dir, mask()) {
                Ok(wd) => self.dirs.push((dir, id, wd)),
                Err(e) => tracing::warn!("not watching {} for changes: {e}", dir.display()),
            }
        }
    }

    /// The watched dirs a watch descriptor belongs to (the kernel gives
    /// one watch to one directory, whatever the paths it was asked by).
    fn dirs_of<'a>(&'a self, wd: &'a WatchDescriptor) -> impl Iterator<Item = &'a Path> + 'a {
        self.dirs
            .iter()
            .filter(move |(_, _, w)| w == wd)
            .map(|(d, _, _)| d.as_path())
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
