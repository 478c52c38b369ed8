//! `idle`: opens N WebSocket connections on a protocol that stays quiet
//! (lws-mirror-protocol when nobody sends), holds them, and reports the
//! server's RSS growth per connection (with --server-pid). Prints a `ready`
//! line once all are up, then holds them for --hold-secs before closing.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{report_errors, rss_kib, Common, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    common: Common,
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    conns: usize,
    /// Subprotocol asked for (must be one that sends nothing by itself).
    #[arg(long, default_value = "lws-mirror-protocol")]
    protocol: String,
    /// Seconds to wait after the last connection before reading the RSS.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,
    /// Seconds to hold the connections after the `ready` line.
    #[arg(long, default_value_t = 2.0)]
    hold_secs: f64,
}

impl Args {
    pub(crate) fn conns(&self) -> usize {
        self.conns
    }
}

pub(crate) async fn run(a: Args) -> Result<()> {
    let target = Target::new(&a.common)?;
    let pid = a.common.server_pid;
    let rss0 = pid.and_then(rss_kib);
    let t0 = Instant::now();
    let (conns, errors) = target
        .connect_many(a.conns, &a.protocol, a.common.connect_concurrency)
        .await;
    let connect_secs = t0.elapsed().as_secs_f64();
    report_errors(&errors);
    if conns.is_empty() {
        bail!("no connection could be opened to {}", target.url);
    }
    let connected = conns.len();

    // Keep reading (answers pings, notices closes); count what arrives.
    let received = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connected);
    for (_, mut ws) in conns {
        let (received, closed) = (received.clone(), closed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                        received.fetch_add(1, Relaxed);
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        closed.fetch_add(1, Relaxed);
                        return;
                    }
                    Some(Ok(_)) => {}
                }
            }
        }));
    }
    println!("ready conns={connected} connect_secs={connect_secs:.3}");
    std::io::stdout().flush()?;

    tokio::time::sleep(Duration::from_secs_f64(a.settle)).await;
    let rss1 = pid.and_then(rss_kib);
    let (rss_fields, per_conn) = match (rss0, rss1) {
        (Some(b), Some(a)) => (
            format!(" rss_before_kib={b} rss_after_kib={a}"),
            format!("{:.0}", (a as f64 - b as f64) * 1024.0 / connected as f64),
        ),
        _ => (String::new(), "-".to_owned()),
    };
    println!(
        "result scenario=idle conns={} connected={connected} connect_secs={connect_secs:.3}{rss_fields} \
         rss_per_conn_bytes={per_conn} closed={} received={}",
        a.conns,
        closed.load(Relaxed),
        received.load(Relaxed),
    );
    std::io::stdout().flush()?;

    tokio::time::sleep(Duration::from_secs_f64(a.hold_secs)).await;
    let closed_total = closed.load(Relaxed);
    if closed_total > 0 {
        eprintln!(
            "comlink-bench idle: {closed_total} connections were closed by the server while held"
        );
    }
    for t in &tasks {
        t.abort();
    }
    Ok(())
}
