//! `lwsws`: command line → [`run`].

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use clap::Parser;

use comlink::cli::Args;
use comlink::config::{self, LoadOptions};
use comlink::ops::reload_status::Outcome as ReloadOutcome;
use comlink::{host, listen, ops, serve, site};

/// mimalloc instead of glibc's malloc: request handling allocates and frees
/// small objects all the time, and glibc's malloc was the largest single
/// cost per request in the profile (see CHANGELOG). Plugins keep their own
/// allocator (the C library's, or their own Rust global allocator).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    ops::logging::init(args.log_mask);
    ops::stats::start();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("lwsws: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.man {
        use std::io::Write;
        std::io::stdout()
            .write_all(&comlink::manpage::render())
            .context("writing the manual page")?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(url) = &args.probe {
        return Ok(ops::probe::run(url));
    }
    let opts = LoadOptions {
        data_dir: args.data_dir.clone(),
    };
    let loaded = match config::load(&args.config_dir, &opts) {
        Ok(l) => l,
        Err(config::Error::Invalid { problems }) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!(
                "lwsws: configuration in {} is not valid",
                args.config_dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e).context("loading the configuration"),
    };
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let host_problems = config::host_checks(&loaded.config);
    if args.check_config && args.strict && !host_problems.is_empty() {
        for p in &host_problems {
            eprintln!("{p}");
        }
        eprintln!(
            "lwsws: configuration in {} cannot run on this host",
            args.config_dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if args.check_config {
        for p in &host_problems {
            // Depends on the machine the check runs on: not the files' fault.
            eprintln!(
                "{}",
                config::Diagnostic::warning(p.at.clone(), p.message.clone())
            );
        }
        println!(
            "{}: configuration OK ({} file(s), {} vhost(s), {} warning(s))",
            args.config_dir.display(),
            loaded.config.files.len(),
            loaded.config.vhosts.len(),
            loaded.warnings.len() + host_problems.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !host_problems.is_empty() {
        for p in &host_problems {
            eprintln!("{p}");
        }
        anyhow::bail!("cannot start on this host (see above)");
    }

    let mut signals = Signals::new().context("installing signal handlers")?;
    let cfg = &loaded.config;
    let listeners = listen::bind_all(cfg, args.ephemeral_ports, &[])?;
    let mut loader = host::loader::Loader::default();
    let plugins = loader.load_dirs(&plugin_dirs(&args, cfg));
    let site = Arc::new(site::Site::build(cfg, &plugins)?);
    drop(plugins);
    host::vhost::register_site(&site);
    log_listeners(cfg, &listeners);
    let shared = serve::Shared {
        site: Arc::new(ArcSwap::new(site)),
        timeout: Duration::from_secs(u64::from(cfg.global.timeout_secs.max(1))),
    };
    let threads = cfg.global.count_threads;
    let _threads =
        serve::start(threads, &listeners, shared.clone()).context("starting service threads")?;
    // Everything that needs root is done (lws drops after protocol init).
    if let Some(done) =
        listen::privs::drop_privileges(&cfg.global).context("dropping privileges")?
    {
        tracing::info!("privileges dropped to {done}");
    }
    // conf, conf.d and plugin changes reload on their own (global "watch":
    // "off" turns this off); the watcher lives as long as `watch`.
    let watch = if cfg.global.watch {
        let targets = ops::watch::Targets {
            config_dir: args.config_dir.clone(),
            plugin_dirs: plugin_dirs(&args, cfg),
        };
        match ops::watch::start(targets) {
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

    let mut state = Running {
        listeners,
        threads,
        shared,
        loader,
        watch,
        stop_delay: Duration::from_secs(u64::from(cfg.global.stop_delay_secs)),
    };
    loop {
        match signals.wait() {
            Signal::Stop => break,
            Signal::ReopenLogs => {
                ops::access_log::reopen_all();
                tracing::info!("access logs reopened");
                continue;
            }
            Signal::Reload => {}
        }
        // MONOTONIC_USEC: what systemd 253+ asks to go with RELOADING=1.
        let mut reloading = vec![sd_notify::NotifyState::Reloading];
        reloading.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
        let _ = sd_notify::notify(false, &reloading);
        ops::access_log::reopen_all();
        let outcome = match reload(&args, &mut state) {
            Ok(summary) => {
                tracing::info!("configuration reloaded");
                ReloadOutcome::taken(summary)
            }
            Err(e) => {
                tracing::error!("reload refused, the running configuration stays: {e:#}");
                let problems = match e.downcast_ref::<ConfigProblems>() {
                    Some(p) => p.0.clone(),
                    None => vec![format!("{e:#}")],
                };
                ReloadOutcome::refused(e.to_string(), problems)
            }
        };
        let status = outcome.status_line();
        ops::reload_status::record(outcome);
        let _ = sd_notify::notify(
            false,
            &[
                sd_notify::NotifyState::Ready,
                sd_notify::NotifyState::Status(&status),
            ],
        );
    }

    tracing::info!("stopping");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    ops::health::set_stopping();
    if !state.stop_delay.is_zero() {
        // Load balancers see the health check fail and stop sending new
        // requests before the listeners close.
        tracing::info!(
            "serving on for {} s (stop-delay-secs) while the health check says stopping; \
             SIGTERM or SIGINT again stops at once",
            state.stop_delay.as_secs()
        );
        signals.wait_stop_for(state.stop_delay);
    }
    host::context::CONTEXT.stop();
    // In-flight HTTP finishes, WebSockets are closed with 1001; then the
    // protocols' DESTROY (which flushes what they hold) and exit 0.
    let deadline = std::time::Instant::now() + STOP_GRACE;
    while ops::stats::open_connections() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    serve::destroy_protocols();
    Ok(ExitCode::SUCCESS)
}

/// The plugin dirs: `plugin-dir` entries, then the built-in dir unless `-n`.
fn plugin_dirs(args: &Args, cfg: &config::Config) -> Vec<std::path::PathBuf> {
    let mut dirs = cfg.global.plugin_dirs.clone();
    if !args.no_default_plugins {
        dirs.push(args.data_dir.join("libwebsockets-test-server/plugins"));
    }
    dirs
}

fn log_listeners(cfg: &config::Config, listeners: &[listen::Listener]) {
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

/// What a reload replaces.
struct Running {
    listeners: Vec<listen::Listener>,
    threads: u32,
    shared: serve::Shared,
    /// The plugins loaded so far (unchanged files keep their library).
    loader: host::loader::Loader,
    /// Watching the configuration and plugin dirs, unless `"watch": "off"`.
    watch: Option<ops::watch::Watch>,
    /// `stop-delay-secs`.
    stop_delay: Duration,
}

/// SIGHUP: re-read the whole configuration and the plugin dirs; a config
/// that does not validate changes nothing. New connections get the new
/// configuration; connections already open keep theirs until they end
/// (their site retires then, see `host::retire`). A plugin file that did
/// not change keeps its loaded library; a replaced one hands over to its
/// new version (`host::handover`).
///
/// Returns what is served now (for `STATUS=`); a refusal whose cause is in
/// the files carries each problem as [`ConfigProblems`].
fn reload(args: &Args, st: &mut Running) -> anyhow::Result<String> {
    let opts = LoadOptions {
        data_dir: args.data_dir.clone(),
    };
    let loaded = match config::load(&args.config_dir, &opts) {
        Ok(l) => l,
        Err(config::Error::Invalid { problems }) => {
            for p in &problems {
                tracing::error!("{p}");
            }
            return Err(anyhow::Error::new(ConfigProblems(
                problems.iter().map(ToString::to_string).collect(),
            ))
            .context(format!(
                "{} problem(s) in the new configuration",
                problems.len()
            )));
        }
        Err(e) => return Err(e).context("loading the configuration"),
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let host_problems = config::host_checks(&loaded.config);
    if !host_problems.is_empty() {
        for p in &host_problems {
            tracing::error!("{p}");
        }
        return Err(anyhow::Error::new(ConfigProblems(
            host_problems.iter().map(ToString::to_string).collect(),
        ))
        .context("the new configuration cannot run on this host"));
    }
    let cfg = &loaded.config;
    if cfg.global.count_threads.max(1) != st.threads.max(1) {
        tracing::warn!("count-threads changes take effect at the next restart");
    }
    let listeners = listen::bind_all(cfg, args.ephemeral_ports, &st.listeners)?;
    let plugins = st.loader.load_dirs(&plugin_dirs(args, cfg));
    let site = Arc::new(site::Site::build(cfg, &plugins)?);
    host::vhost::register_site(&site);
    // Protocols of replaced plugin files wait for the old version to let go.
    let handover = host::handover::Plan::prepare(&plugins, &site);

    // PROTOCOL_INIT of the new site on thread 0, before anyone can use it.
    let done = Arc::new(std::sync::Barrier::new(2));
    if !host::context::CONTEXT.post(0, host::thread::Command::Init(site.clone(), done.clone())) {
        anyhow::bail!("service thread 0 is gone");
    }
    done.wait();
    let old = st.shared.site.swap(site.clone());
    let _ = host::context::CONTEXT.post(0, host::thread::Command::Retire(old));
    for tsi in 0..host::context::CONTEXT.count_threads() {
        let mine = serve::thread_listeners(&listeners, &site)?;
        let _ = host::context::CONTEXT.post(
            tsi,
            host::thread::Command::Listen(host::thread::Handoff::new(mine)),
        );
    }
    log_listeners(cfg, &listeners);
    st.listeners = listeners;
    handover.run();
    if let Some(w) = &st.watch {
        w.set_plugin_dirs(plugin_dirs(args, cfg));
    }
    st.stop_delay = Duration::from_secs(u64::from(cfg.global.stop_delay_secs));
    Ok(format!("serving {}", serving(cfg)))
}

/// "N vhost(s) from N file(s)", for `STATUS=`.
fn serving(cfg: &config::Config) -> String {
    format!(
        "{} vhost(s) from {} file(s)",
        cfg.vhosts.len(),
        cfg.files.len()
    )
}

/// The problems a refused configuration has, each `file:line:col: ...`.
#[derive(Debug)]
struct ConfigProblems(Vec<String>);

impl std::fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for ConfigProblems {}

/// How long stopping waits for connections to finish.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the main thread was woken for.
enum Signal {
    /// SIGINT or SIGTERM.
    Stop,
    /// SIGHUP.
    Reload,
    /// SIGUSR1.
    ReopenLogs,
}

/// The main thread's signal streams, created once so that no signal
/// arriving during a reload is missed.
struct Signals {
    rt: tokio::runtime::Runtime,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (term, int, hup, usr1) = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
                signal(SignalKind::user_defined1())?,
            ))
        })?;
        Ok(Signals {
            rt,
            term,
            int,
            hup,
            usr1,
        })
    }

    /// Waits `d`, or less when SIGINT or SIGTERM comes (again).
    fn wait_stop_for(&mut self, d: Duration) {
        let Signals { rt, term, int, .. } = self;
        rt.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        });
    }

    /// Blocks until SIGINT, SIGTERM or SIGHUP.
    fn wait(&mut self) -> Signal {
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
