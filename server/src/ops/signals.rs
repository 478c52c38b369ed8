//! The signals a running server takes: SIGTERM/SIGINT stop it, SIGHUP
//! reloads it, SIGUSR1 reopens the access logs.

/// What the main thread was woken for.
pub enum Signal {
    /// SIGINT or SIGTERM.
    Stop,
    /// SIGHUP.
    Reload,
    /// SIGUSR1.
    ReopenLogs,
}

/// The main thread's signal streams, created once so that no signal
/// arriving during a reload is missed.
pub struct Signals {
    rt: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (once, before serving).
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (term, int, hup, usr1, mut io) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
                signal(SignalKind::user_defined1())?,
                signal(SignalKind::io())?,
            ))
        })?;
        // SIGIO: a plugin file the host holds a read lease on is about to
        // be written; its writer waits until the library is in memory.
        rt.spawn(async move {
            while io.recv().await.is_some() {
                crate::host::loader::leases_broken();
            }
        });
        crate::host::loader::allow_leases();
        Ok(Signals {
            rt,
            term,
            int,
            hup,
            usr1,
        })
    }

    /// The runtime the main thread polls while it waits for signals: tasks
    /// spawned on it run then (the config watcher's debounce).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    /// Waits `d`, or less when SIGINT or SIGTERM comes (again).
    pub fn wait_stop_for(&mut self, d: std::time::Duration) {
        let Signals { rt, term, int, .. } = self;
        rt.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        });
    }

    /// Blocks until SIGINT, SIGTERM, SIGHUP or SIGUSR1.
    pub fn wait(&mut self) -> Signal {
        let Signals {
            rt,
            term,
            int,
            hup,
            usr1,
        } = self;
        rt.block_on(async {
            tokio::select! {
                _ = term.recv() => Signal::Stop,
                _ = int.recv() => Signal::Stop,
                _ = hup.recv() => Signal::Reload,
                _ = usr1.recv() => Signal::ReopenLogs,
            }
        })
    }
}
