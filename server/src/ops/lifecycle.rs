//! The server's life: start (bind, load plugins, build the site, start the
//! service threads, drop privileges, watch the configuration), reload on
//! SIGHUP, reopen the access logs on SIGUSR1, and the graceful stop.
//! `main.rs` parses the command line, validates the configuration and turns
//! this module's errors into exit codes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::config::{self, Config, LoadOptions};
use crate::host::context::CONTEXT;
use crate::host::thread::Command;
use crate::http::{self, site::Site};
use crate::ops::reload_status::Outcome;
use crate::ops::signals::{Signal, Signals};
use crate::{host, listen, ops, runtime};

/// How long stopping waits for connections to finish.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How long after "ready" (and after a reload) the pages start-up touched
/// are let go of (`host::loader::release_start_up_pages`). Not at once:
/// the service threads' first turns, the config watcher's first read and
/// the release's own code run just after; let go of with the rest, they
/// would come straight back, each with the 64 KiB around it.
const RELEASE_AFTER: Duration = Duration::from_secs(1);

/// Lets go of the pages start-up touched `RELEASE_AFTER` from now, on the
/// main thread's runtime, which runs it while the main thread waits for
/// signals (never during a reload).
fn release_start_up_pages_soon(signals: &Signals) {
    signals.handle().spawn(async {
        tokio::time::sleep(RELEASE_AFTER).await;
        host::loader::release_start_up_pages();
    });
}

/// What the server needs from its command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config dir (`conf`, `conf.d/`).
    pub config_dir: PathBuf,
    /// What `_lws_ddir_` stands for.
    pub data_dir: PathBuf,
    /// Bind every port to one the OS picks (tests).
    pub ephemeral_ports: bool,
    /// `-n`: leave the built-in plugin dir out.
    pub no_default_plugins: bool,
}

impl Options {
    /// The plugin dirs: `plugin-dir` entries, then the built-in dir unless `-n`.
    fn plugin_dirs(&self, cfg: &Config) -> Vec<PathBuf> {
        let mut dirs = cfg.global.plugin_dirs.clone();
        if !self.no_default_plugins {
            dirs.push(self.data_dir.join("libwebsockets-test-server/plugins"));
        }
        dirs
    }

    fn load(&self) -> Result<config::Loaded, Error> {
        let opts = LoadOptions {
            data_dir: self.data_dir.clone(),
        };
        config::load(&self.config_dir, &opts).map_err(|e| match e {
            config::Error::Invalid { problems } => Error::Problems {
                what: format!("{} problem(s) in the configuration", problems.len()),
                problems: problems.iter().map(ToString::to_string).collect(),
            },
            e => Error::Load(e),
        })
    }
}

/// Why the server could not start, or a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration could not be read.
    #[error("loading the configuration")]
    Load(#[source] config::Error),
    /// The configuration has problems (each `file:line:col: ...`).
    #[error("{what}")]
    Problems {
        /// A summary.
        what: String,
        /// Each problem.
        problems: Vec<String>,
    },
    /// Installing the signal handlers failed.
    #[error("installing signal handlers")]
    Signals(#[source] std::io::Error),
    /// A listener could not be bound.
    #[error("binding the listeners")]
    Listen(#[source] listen::Error),
    /// The site could not be built (an access log, say).
    #[error("building the site")]
    Build(#[source] http::site::BuildError),
    /// The service threads could not start.
    #[error("starting service threads")]
    Threads(#[source] std::io::Error),
    /// Dropping to the configured user failed.
    #[error("dropping privileges")]
    Privileges(#[source] listen::privs::Error),
    /// The service threads could not take the new listeners.
    #[error("handing the listeners to the service threads")]
    Listeners(#[source] std::io::Error),
    /// Service thread 0 is gone (the server is going down).
    #[error("service thread 0 is gone")]
    ThreadGone,
}

impl Error {
    /// Each problem, for the reload status (`file:line:col: ...` where the
    /// cause is in the files, else the error and its causes).
    fn problems(&self) -> Vec<String> {
        match self {
            Error::Problems { problems, .. } => problems.clone(),
            e => {
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    text.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                vec![text]
            }
        }
    }
}

/// A running server.
pub struct Server {
    opts: Options,
    signals: Signals,
    listeners: Vec<listen::Listener>,
    threads: u32,
    shared: http::accept::Shared,
    /// The plugins loaded so far (unchanged files keep their library).
    loader: host::loader::Loader,
    /// Watching the configuration and plugin dirs, unless `"watch": "off"`.
    watch: Option<ops::watch::Watch>,
    /// `stop-delay-secs`.
    stop_delay: Duration,
    _threads: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts serving `cfg` (validated, and checked against this host).
    pub fn start(opts: Options, cfg: &Config) -> Result<Server, Error> {
        let signals = Signals::new().map_err(Error::Signals)?;
        let listeners = listen::bind_all(cfg, opts.ephemeral_ports, &[]).map_err(Error::Listen)?;
        let mut loader = host::loader::Loader::default();
        let plugins = loader.load_dirs(&opts.plugin_dirs(cfg));
        let site =
            Site::build(cfg, host::site::HostSite::build(cfg, &plugins)).map_err(Error::Build)?;
        drop(plugins);
        log_listeners(cfg, &listeners);
        let shared = http::accept::Shared {
            site: Arc::new(ArcSwap::new(Arc::new(site))),
            timeout: Duration::from_secs(u64::from(cfg.global.timeout_secs.max(1))),
        };
        ops::stats::install(shared.site.clone());
        // Plugins may open client connections (`lws_client_connect_via_info`).
        crate::client::install();
        let threads = cfg.global.count_threads;
        let handles =
            http::accept::start(threads, &listeners, shared.clone()).map_err(Error::Threads)?;
        // Everything that needs root is done (lws drops after protocol init).
        if let Some(done) =
            listen::privs::drop_privileges(&cfg.global).map_err(Error::Privileges)?
        {
            tracing::info!("privileges dropped to {done}");
        }
        // conf, conf.d and plugin changes reload on their own (global
        // "watch": "off" turns this off); the watcher lives as long as `watch`.
        let watch = if cfg.global.watch {
            let targets = ops::watch::Targets {
                config_dir: opts.config_dir.clone(),
                plugin_dirs: opts.plugin_dirs(cfg),
            };
            match ops::watch::start(targets, &signals.handle()) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("not watching the configuration for changes: {e}");
                    None
                }
            }
        } else {
            None
        };
        tracing::info!("lwsws {} ready", env!("CARGO_PKG_VERSION"));
        let status = format!("serving {}", serving(cfg));
        let _ = sd_notify::notify(
            false,
            &[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status(&status),
            ],
        );
        release_start_up_pages_soon(&signals);
        Ok(Server {
            opts,
            signals,
            listeners,
            threads,
            shared,
            loader,
            watch,
            stop_delay: Duration::from_secs(u64::from(cfg.global.stop_delay_secs)),
            _threads: handles,
        })
    }

    /// Serves until SIGTERM or SIGINT, reloading on SIGHUP and reopening the
    /// access logs on SIGUSR1; then stops gracefully.
    pub fn run(mut self) {
        loop {
            match self.signals.wait() {
                Signal::Stop => break,
                Signal::ReopenLogs => {
                    http::access_log::reopen_all();
                    tracing::info!("access logs reopened");
                }
                Signal::Reload => self.reload_and_report(),
            }
        }
        tracing::info!("stopping");
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        host::health::set_stopping();
        if !self.stop_delay.is_zero() {
            // Load balancers see the health check fail and stop sending new
            // requests before the listeners close.
            tracing::info!(
                "serving on for {} s (stop-delay-secs) while the health check says stopping; \
                 SIGTERM or SIGINT again stops at once",
                self.stop_delay.as_secs()
            );
            self.signals.wait_stop_for(self.stop_delay);
        }
        stop();
    }

    /// A reload with its notifications: RELOADING=1, then READY=1 and the
    /// outcome in STATUS= and the reload status.
    fn reload_and_report(&mut self) {
        // MONOTONIC_USEC: what systemd 253+ asks to go with RELOADING=1.
        let mut reloading = vec![sd_notify::NotifyState::Reloading];
        reloading.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
        let _ = sd_notify::notify(false, &reloading);
        http::access_log::reopen_all();
        let outcome = match self.reload() {
            Ok(summary) => {
                tracing::info!("configuration reloaded");
                Outcome::taken(summary)
            }
            Err(e) => {
                let problems = e.problems();
                if let Error::Problems { problems, .. } = &e {
                    for p in problems {
                        tracing::error!("{p}");
                    }
                }
                tracing::error!(
                    "reload refused, the running configuration stays: {}",
                    problems.join("; ")
                );
                Outcome::refused(e.to_string(), problems)
            }
        };
        let status = outcome.status_line();
        ops::reload_status::record(outcome);
        release_start_up_pages_soon(&self.signals);
        let _ = sd_notify::notify(
            false,
            &[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status(&status),
            ],
        );
    }

    /// SIGHUP: re-read the whole configuration and the plugin dirs; a config
    /// that does not validate changes nothing. New connections get the new
    /// configuration; connections already open keep theirs until they end
    /// (their site retires then, see `host::retire`). A plugin file that did
    /// not change keeps its loaded library; a replaced one hands over to its
    /// new version (`host::handover`). Returns what is served now.
    fn reload(&mut self) -> Result<String, Error> {
        let loaded = self.opts.load()?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        let host_problems = config::host_checks(&loaded.config);
        if !host_problems.is_empty() {
            return Err(Error::Problems {
                what: "the new configuration cannot run on this host".into(),
                problems: host_problems.iter().map(ToString::to_string).collect(),
            });
        }
        let cfg = &loaded.config;
        if cfg.global.count_threads.max(1) != self.threads.max(1) {
            tracing::warn!("count-threads changes take effect at the next restart");
        }
        let listeners = listen::bind_all(cfg, self.opts.ephemeral_ports, &self.listeners)
            .map_err(Error::Listen)?;
        let plugins = self.loader.load_dirs(&self.opts.plugin_dirs(cfg));
        let site = Arc::new(
            Site::build(cfg, host::site::HostSite::build(cfg, &plugins)).map_err(Error::Build)?,
        );
        // Protocols of replaced plugin files wait for the old version to let go.
        let handover = host::handover::Plan::prepare(&plugins, &site.host);

        // PROTOCOL_INIT of the new site on thread 0, before anyone can use it.
        let done = Arc::new(std::sync::Barrier::new(2));
        if !CONTEXT.post(0, Command::Init(site.host.clone(), done.clone())) {
            return Err(Error::ThreadGone);
        }
        done.wait();
        let old = self.shared.site.swap(site.clone());
        let _ = CONTEXT.post(0, Command::Retire(old.host.clone()));
        http::accept::listen_everywhere(&listeners, &site).map_err(Error::Listeners)?;
        log_listeners(cfg, &listeners);
        self.listeners = listeners;
        handover.run();
        if let Some(w) = &self.watch {
            w.set_plugin_dirs(self.opts.plugin_dirs(cfg));
        }
        self.stop_delay = Duration::from_secs(u64::from(cfg.global.stop_delay_secs));
        Ok(format!("serving {}", serving(cfg)))
    }
}

/// The graceful stop: in-flight HTTP finishes, WebSockets are closed with
/// 1001, then the protocols' DESTROY (which flushes what they hold).
fn stop() {
    CONTEXT.stop();
    let deadline = std::time::Instant::now() + STOP_GRACE;
    while runtime::counters::open_connections() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    http::accept::destroy_protocols();
}

fn log_listeners(cfg: &Config, listeners: &[listen::Listener]) {
    for l in listeners {
        let names: Vec<&str> = l
            .vhosts
            .iter()
            .map(|&i| cfg.vhosts[i].name.as_str())
            .collect();
        tracing::info!(
            "listening on {} (port {}: {})",
            l.addr,
            l.configured_port,
            names.join(", ")
        );
    }
}

/// "N vhost(s) from N file(s)", for `STATUS=`.
fn serving(cfg: &Config) -> String {
    format!(
        "{} vhost(s) from {} file(s)",
        cfg.vhosts.len(),
        cfg.files.len()
    )
}
