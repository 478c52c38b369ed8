//! `lwsws`: the command line, the configuration check, and exit codes;
//! serving is [`comlink::ops::lifecycle`].

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use comlink::cli::Args;
use comlink::config::{self, LoadOptions};
use comlink::ops::lifecycle::{Options, Server};
use comlink::{ops, runtime};

/// mimalloc instead of glibc's malloc: request handling allocates and frees
/// small objects all the time, and glibc's malloc was the largest single
/// cost per request in the profile (see CHANGELOG). Plugins keep their own
/// allocator (the C library's, or their own Rust global allocator).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    ops::logging::init(args.log_mask);
    tracing::debug!(
        "heap: mimalloc reserves {} KiB at a time",
        comlink::host::arena_reserve_kib()
    );
    runtime::counters::start();
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

    let opts = Options {
        config_dir: args.config_dir.clone(),
        data_dir: args.data_dir.clone(),
        ephemeral_ports: args.ephemeral_ports,
        no_default_plugins: args.no_default_plugins,
    };
    Server::start(opts, &loaded.config)?.run();
    Ok(ExitCode::SUCCESS)
}
