//! `idle`: opens N WebSocket connections on a protocol that stays quiet
//! (lws-mirror-protocol when nobody sends), holds them, and reports the
//! server's RSS growth per connection (with --server-pid). Prints a `ready`
//! line once all are up, then holds them for --hold-secs before closing.
//!
//! With `--deflate` the connections offer permessage-deflate (a browser's
//! offer) and read their socket raw (tungstenite speaks no extension). With
//! `--message-bytes N` each connection then sends one message of N bytes
//! (uncompressed) which an echo protocol sends back compressed, so each
//! server-side connection has compressed once: the RSS is read again after
//! that (`rss_per_conn_after_message_bytes`) and, `--quiet-secs` later, once
//! more (`rss_per_conn_after_quiet_bytes`: what a compressed connection
//! costs once its traffic has stopped, as far as the server's allocator has
//! given freed pages back to the OS).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    /// Offer permessage-deflate ("permessage-deflate; client_max_window_bits").
    #[arg(long)]
    deflate: bool,
    /// With --deflate: after the RSS reading every connection sends one text
    /// message of this many bytes (0: none), and the RSS is read again.
    #[arg(long, default_value_t = 0)]
    message_bytes: usize,
    /// Seconds after that message before a last RSS reading.
    #[arg(long, default_value_t = 0.0)]
    quiet_secs: f64,
}

/// `(after - before)` KiB spread over `n` connections, in bytes.
fn per_conn(before: Option<u64>, after: Option<u64>, n: usize) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("{:.0}", (a as f64 - b as f64) * 1024.0 / n as f64),
        _ => "-".to_owned(),
    }
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
    let offer = a.deflate.then_some(crate::wsraw::DEFLATE_OFFER);
    let (conns, errors) = target
        .connect_many_with(a.conns, &a.protocol, offer, a.common.connect_concurrency)
        .await;
    let connect_secs = t0.elapsed().as_secs_f64();
    report_errors(&errors);
    if conns.is_empty() {
        bail!("no connection could be opened to {}", target.url);
    }
    let connected = conns.len();
    let agreed = conns.iter().filter(|(_, _, agreed)| *agreed).count();
    if a.deflate && agreed < connected {
        eprintln!(
            "comlink-bench idle: permessage-deflate agreed on {agreed} of {connected} connections"
        );
    }

    // Keep reading (answers pings, notices closes); count what arrives.
    let received = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connected);
    // With --deflate: the sockets' writing halves, for --message-bytes.
    let mut writers = Vec::new();
    for (_, mut ws, _) in conns {
        let (received, closed) = (received.clone(), closed.clone());
        if a.deflate {
            let (mut rd, wr) = ws.into_inner().into_split();
            writers.push(wr);
            tasks.push(tokio::spawn(async move {
                // Compressed frames: count reads, never parse them.
                let mut buf = vec![0u8; 4096];
                loop {
                    match rd.read(&mut buf).await {
                        Ok(0) | Err(_) => {
                            closed.fetch_add(1, Relaxed);
                            return;
                        }
                        Ok(_) => {
                            received.fetch_add(1, Relaxed);
                        }
                    }
                }
            }));
            continue;
        }
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
    let mut fields = String::new();
    if let (Some(b), Some(a)) = (rss0, rss1) {
        fields.push_str(&format!(" rss_before_kib={b} rss_after_kib={a}"));
    }
    fields.push_str(&format!(
        " rss_per_conn_bytes={}",
        per_conn(rss0, rss1, connected)
    ));
    if a.deflate {
        fields.push_str(&format!(" deflate_agreed={agreed}"));
    }
    if a.message_bytes > 0 && !writers.is_empty() {
        let text: String = "packet 1234 from controller 7; "
            .chars()
            .cycle()
            .take(a.message_bytes)
            .collect();
        let frame = crate::wsraw::text_frame(text.as_bytes(), [1, 2, 3, 4]);
        for w in &mut writers {
            w.write_all(&frame).await?;
        }
        tokio::time::sleep(Duration::from_secs_f64(a.settle)).await;
        let rss2 = pid.and_then(rss_kib);
        fields.push_str(&format!(
            " rss_per_conn_after_message_bytes={} received_after_message={}",
            per_conn(rss0, rss2, connected),
            received.load(Relaxed)
        ));
        if a.quiet_secs > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(a.quiet_secs)).await;
            let rss3 = pid.and_then(rss_kib);
            fields.push_str(&format!(
                " quiet_secs={} rss_per_conn_after_quiet_bytes={}",
                a.quiet_secs,
                per_conn(rss0, rss3, connected)
            ));
        }
    }
    println!(
        "result scenario=idle conns={} connected={connected} connect_secs={connect_secs:.3}{fields} \
         closed={} received={}",
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
