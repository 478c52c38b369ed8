//! `lwsws`: command line → [`run`].

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use clap::Parser;

use comlink::cli::Args;
use comlink::config::{self, LoadOptions};
use comlink::{host, listen, ops, serve, site};

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

    let cfg = &loaded.config;
    let listeners = listen::bind_all(cfg, args.ephemeral_ports)?;
    let mut dirs = cfg.global.plugin_dirs.clone();
    if !args.no_default_plugins {
        dirs.push(args.data_dir.join("libwebsockets-test-server/plugins"));
    }
    let plugins = host::loader::load_dirs(&dirs);
    let site = site::Site::build(cfg, &plugins)?;
    for l in &listeners {
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
    let shared = serve::Shared {
        site: Arc::new(ArcSwap::from_pointee(site)),
        timeout: Duration::from_secs(u64::from(cfg.global.timeout_secs.max(1))),
    };
    let _threads = serve::start(cfg.global.count_threads, &listeners, shared)
        .context("starting service threads")?;
    drop(listeners);
    tracing::info!("lwsws {} ready", env!("CARGO_PKG_VERSION"));
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    wait_for_stop()?;
    tracing::info!("stopping");
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
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

/// How long stopping waits for connections to finish.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Blocks until SIGINT or SIGTERM.
fn wait_for_stop() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        Ok(())
    })
}
