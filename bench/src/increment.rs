//! `increment`: many dumb-increment-protocol clients, each of which should
//! receive its nominal 20 numbers a second (the plugin writes every 50 ms).
//! Counts what every client receives over the measured window.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{report_errors, Common, CpuWindow, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    common: Common,
    /// Number of clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Seconds after all clients connected before the window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// A client receiving fewer numbers a second than this is reported slow.
    #[arg(long, default_value_t = 18.0)]
    min_rate: f64,
    /// Subprotocol asked for.
    #[arg(long, default_value = "dumb-increment-protocol")]
    protocol: String,
}

impl Args {
    pub(crate) fn clients(&self) -> usize {
        self.clients
    }
}

pub(crate) async fn run(a: Args) -> Result<()> {
    let target = Target::new(&a.common)?;
    let (conns, errors) = target
        .connect_many(a.clients, &a.protocol, a.common.connect_concurrency)
        .await;
    report_errors(&errors);
    if conns.is_empty() {
        bail!("no client could connect to {}", target.url);
    }
    let connected = conns.len();
    eprintln!(
        "comlink-bench increment: {connected}/{} clients connected",
        a.clients
    );

    let counts: Arc<Vec<AtomicU64>> = Arc::new((0..connected).map(|_| AtomicU64::new(0)).collect());
    let closed = Arc::new(AtomicU64::new(0));
    let unparsed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connected);
    for (slot, (_, mut ws)) in conns.into_iter().enumerate() {
        let (counts, closed, unparsed) = (counts.clone(), closed.clone(), unparsed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        if t.as_str().trim().parse::<u64>().is_err() {
                            unparsed.fetch_add(1, Relaxed);
                        }
                        counts[slot].fetch_add(1, Relaxed);
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

    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let snapshot = || counts.iter().map(|c| c.load(Relaxed)).collect::<Vec<_>>();
    let cpu = CpuWindow::start(a.common.server_pid);
    let c0 = snapshot();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(a.secs)).await;
    let c1 = snapshot();
    let wall = t0.elapsed().as_secs_f64();
    let cpu_fields = cpu.finish();
    for t in &tasks {
        t.abort();
    }

    let mut rates: Vec<f64> = c0
        .iter()
        .zip(&c1)
        .map(|(a, b)| (b - a) as f64 / wall)
        .collect();
    // Clients that could not connect count as receiving nothing.
    rates.resize(a.clients, 0.0);
    rates.sort_by(f64::total_cmp);
    let total: f64 = rates.iter().sum();
    let slow = rates.iter().filter(|r| **r < a.min_rate).count();
    println!(
        "result scenario=increment clients={} connected={connected} secs={wall:.3} \
         msgs_per_s={total:.0} min_rate={:.2} median_rate={:.2} max_rate={:.2} \
         slow_clients={slow} slow_below={} closed={} unparsed={}{cpu_fields}",
        a.clients,
        rates[0],
        rates[rates.len() / 2],
        rates[rates.len() - 1],
        a.min_rate,
        closed.load(Relaxed),
        unparsed.load(Relaxed),
    );
    Ok(())
}
