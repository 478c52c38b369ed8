//! `comlink-bench`: the WebSocket load generator of `scripts/bench-ws`.
//!
//! ```text
//! comlink-bench mirror    --url ws://127.0.0.1:PORT/ --clients 50 --in-flight 8 --secs 10
//! comlink-bench increment --url ws://127.0.0.1:PORT/ --clients 1000 --secs 10
//! comlink-bench idle      --url ws://127.0.0.1:PORT/ --conns 10000
//! comlink-bench startup   --url http://127.0.0.1:PORT/ --runs 5 -- lwsws -c DIR
//! ```
//!
//! Each prints a `result scenario=... key=value ...` line on stdout (the
//! script reads those) and notes on stderr. It runs on one thread (pin it
//! with taskset) and raises its own fd soft limit to the hard limit.

mod common;
mod idle;
mod increment;
mod mirror;
mod startup;
mod wsraw;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "comlink-bench",
    about = "WebSocket load generator for scripts/bench-ws"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// lws-mirror-protocol fan-out: deliveries/s and round-trip latency.
    Mirror(mirror::Args),
    /// dumb-increment-protocol: numbers received per client per second.
    Increment(increment::Args),
    /// Many quiet connections held open: server RSS per connection.
    Idle(idle::Args),
    /// Time from starting a server to its first 200 (median of runs).
    Startup(startup::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Not a load generator: it starts servers, on this thread, no runtime.
    let cmd = match cli.cmd {
        Cmd::Startup(a) => return startup::run(a),
        cmd => cmd,
    };
    let nofile = common::raise_nofile()?;
    let needed = match &cmd {
        Cmd::Idle(a) => a.conns(),
        Cmd::Increment(a) => a.clients(),
        Cmd::Mirror(a) => a.clients(),
        Cmd::Startup(_) => 0,
    };
    if (needed as libc::rlim_t) + 64 > nofile {
        eprintln!("comlink-bench: warning: fd limit {nofile} is too low for {needed} connections");
    }
    common::now_ns(); // start the clock
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cmd {
            Cmd::Mirror(a) => mirror::run(a).await,
            Cmd::Increment(a) => increment::run(a).await,
            Cmd::Idle(a) => idle::run(a).await,
            Cmd::Startup(_) => Ok(()),
        }
    })
}
