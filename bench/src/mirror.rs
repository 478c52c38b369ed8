//! `mirror`: fan-out through lws-mirror-protocol. Every client keeps
//! `in_flight` of its own messages on their way; the server sends every
//! message to every member (the sender too), so each client sees its own
//! messages come back (the round trip measured) among everybody else's (all
//! counted as deliveries).
//!
//! A message is `d #000000 <client> <seq> <sent-ns> 0;`, shaped like the
//! drawing commands of lws's test page. The mirror keeps one instance's
//! messages in order, so when a later own message comes back first the
//! earlier ones were dropped by the server (`dropped`); when none comes back
//! for `--loss-timeout` seconds all outstanding ones are given up on and
//! replaced (`given_up`; a late one is uncounted again when it arrives).
//! Under load the mirror's flow control can starve some clients for good:
//! `served_clients` counts those that got an own message back in the window,
//! and the latency quantiles cover only messages that did come back.
//!
//! Little's law ties the figures together: with C clients and F in flight
//! each, C*F messages are on their way and D/C come back per second (D =
//! deliveries/s), so the mean round trip is C*C*F/D; it is printed as
//! `mean_ms` beside the quantiles.
//!
//! `--deflate`: the clients offer permessage-deflate, send uncompressed and
//! receive every delivery compressed by the server (read with
//! [`crate::wsraw`]); `deflate_agreed` says on how many connections the
//! server agreed. lws-mirror-protocol refuses the extension (in lws and
//! here); `--protocol echo` (examples/c-plugin-echo) takes it, and then
//! every client gets its own messages back, compressed.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::common::{ms, now_ns, quantile, report_errors, Common, CpuWindow, Target, Ws};
use crate::wsraw;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    common: Common,
    /// Number of clients.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Own messages each client keeps on their way.
    #[arg(long, default_value_t = 8)]
    in_flight: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Seconds of load before the measured window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Subprotocol asked for.
    #[arg(long, default_value = "lws-mirror-protocol")]
    protocol: String,
    /// Seconds without any own message coming back after which the
    /// outstanding ones are counted lost and replaced (one that still comes
    /// back later is uncounted and its round trip recorded).
    #[arg(long, default_value_t = 5.0)]
    loss_timeout: f64,
    /// Offer permessage-deflate: the server compresses every delivery.
    #[arg(long)]
    deflate: bool,
}

#[derive(Default)]
struct Shared {
    /// Clients keep refilling their in-flight messages while set.
    running: AtomicBool,
    /// Clients return their samples and stop once set.
    stop: AtomicBool,
    /// Round trips of messages sent at/after start and back before end count.
    window_start: AtomicU64,
    window_end: AtomicU64,
    deliveries: AtomicU64,
    sent: AtomicU64,
    /// Own messages that never came back although later ones did.
    dropped: AtomicU64,
    /// Own messages given up on after --loss-timeout (signed: one that still
    /// arrives later is uncounted).
    given_up: AtomicI64,
    closed: AtomicU64,
    unparsed: AtomicU64,
}

impl Args {
    pub(crate) fn clients(&self) -> usize {
        self.clients
    }
}

pub(crate) async fn run(a: Args) -> Result<()> {
    let target = Target::new(&a.common)?;
    if a.in_flight == 0 || a.clients == 0 {
        bail!("--clients and --in-flight must be at least 1");
    }
    let offer = a.deflate.then_some(wsraw::DEFLATE_OFFER);
    let (conns, errors) = target
        .connect_many_with(a.clients, &a.protocol, offer, a.common.connect_concurrency)
        .await;
    report_errors(&errors);
    if conns.is_empty() {
        bail!("no client could connect to {}", target.url);
    }
    let connected = conns.len();
    let agreed = conns.iter().filter(|(_, _, agreed)| *agreed).count();
    let deflate_field = if a.deflate {
        format!(" deflate_agreed={agreed}")
    } else {
        String::new()
    };
    eprintln!(
        "comlink-bench mirror: {connected}/{} clients connected, {} in flight each",
        a.clients, a.in_flight
    );

    let shared = Arc::new(Shared {
        running: AtomicBool::new(true),
        window_start: AtomicU64::new(u64::MAX),
        window_end: AtomicU64::new(u64::MAX),
        ..Shared::default()
    });
    let loss_timeout = Duration::from_secs_f64(a.loss_timeout);
    let mut tasks = Vec::with_capacity(connected);
    for (id, ws, _) in conns {
        tasks.push(tokio::spawn(client(
            id,
            ws,
            a.deflate,
            a.in_flight,
            loss_timeout,
            shared.clone(),
        )));
    }

    tokio::time::sleep(Duration::from_secs_f64(a.warmup)).await;
    let cpu = CpuWindow::start(a.common.server_pid);
    let d0 = shared.deliveries.load(Relaxed);
    let dropped0 = shared.dropped.load(Relaxed);
    let (given_up0, sent0) = (shared.given_up.load(Relaxed), shared.sent.load(Relaxed));
    let t0 = Instant::now();
    shared.window_start.store(now_ns(), Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(a.secs)).await;
    shared.window_end.store(now_ns(), Relaxed);
    let d1 = shared.deliveries.load(Relaxed);
    let wall = t0.elapsed().as_secs_f64();
    let cpu_fields = cpu.finish();
    let dropped = shared.dropped.load(Relaxed) - dropped0;
    let given_up = shared.given_up.load(Relaxed) - given_up0;
    let sent = shared.sent.load(Relaxed) - sent0;

    // Stop sending, let what is on its way arrive, then collect.
    shared.running.store(false, Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    shared.stop.store(true, Relaxed);
    let mut lat = Vec::new();
    let mut served = 0; // clients that got at least one own message back
                        // Own messages back in the window, per client (0 for one whose task
                        // did not return: it was not served either).
    let mut per_client = Vec::with_capacity(connected);
    for t in tasks {
        match tokio::time::timeout(Duration::from_secs(3), t).await {
            Ok(Ok(mut v)) => {
                served += usize::from(!v.is_empty());
                per_client.push(v.len() as u64);
                lat.append(&mut v);
            }
            _ => per_client.push(0),
        }
    }
    lat.sort_unstable();
    per_client.sort_unstable();

    let deliveries = d1 - d0;
    println!(
        "result scenario=mirror clients={} connected={connected} in_flight={} secs={wall:.3} \
         deliveries={deliveries} deliveries_per_s={:.0} rtt_samples={} mean_ms={} p50_ms={} p99_ms={} \
         max_ms={} served_clients={served} own_back_min={} own_back_median={} own_back_max={} sent={sent} dropped={dropped} given_up={given_up} closed={} unparsed={}{deflate_field}{cpu_fields}",
        a.clients,
        a.in_flight,
        deliveries as f64 / wall,
        lat.len(),
        ms((!lat.is_empty()).then(|| lat.iter().sum::<u64>() / lat.len() as u64)),
        ms(quantile(&lat, 0.50)),
        ms(quantile(&lat, 0.99)),
        ms(lat.last().copied()),
        per_client.first().copied().unwrap_or(0),
        quantile(&per_client, 0.50).unwrap_or(0),
        per_client.last().copied().unwrap_or(0),
        shared.closed.load(Relaxed),
        shared.unparsed.load(Relaxed),
    );
    Ok(())
}

/// The reading side of a client: tungstenite's, or [`wsraw`]'s when the
/// server compresses.
enum Incoming {
    Plain(SplitStream<Ws>),
    Raw(Box<wsraw::Reader>),
}

/// What a client read.
enum Read {
    Text(Utf8Bytes),
    Binary,
    Closed,
    Other,
}

impl Incoming {
    async fn next(&mut self) -> Read {
        match self {
            Incoming::Plain(s) => match s.next().await {
                Some(Ok(Message::Text(t))) => Read::Text(t),
                Some(Ok(Message::Binary(_))) => Read::Binary,
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Read::Closed,
                Some(Ok(_)) => Read::Other, // ping / pong / raw frame
            },
            Incoming::Raw(r) => match r.next().await {
                Some(Ok(m)) => match std::str::from_utf8(m) {
                    Ok(t) => Read::Text(Utf8Bytes::from(t.to_owned())),
                    Err(_) => Read::Binary,
                },
                Some(Err(e)) => {
                    eprintln!("comlink-bench mirror: {e:#}");
                    Read::Closed
                }
                None => Read::Closed,
            },
        }
    }
}

/// The writing side: a task fed through a channel (so that reading never
/// waits on a write), writing what it has in one go.
fn writer(mut sink: SplitSink<Ws, Message>) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.feed(Message::text(m)).await.is_err() {
                return;
            }
            while let Ok(m) = rx.try_recv() {
                if sink.feed(Message::text(m)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        // The reader is done: close politely, but do not wait long for it.
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    });
    tx
}

/// Like [`writer`], on the raw socket: uncompressed masked text frames.
fn raw_writer(mut wr: OwnedWriteHalf, id: usize) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mask = (id as u32).wrapping_mul(0x9e37_79b9).to_be_bytes();
    tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(m) = rx.recv().await {
            out.clear();
            out.extend(wsraw::text_frame(m.as_bytes(), mask));
            while let Ok(m) = rx.try_recv() {
                out.extend(wsraw::text_frame(m.as_bytes(), mask));
            }
            if wr.write_all(&out).await.is_err() {
                return;
            }
        }
    });
    tx
}

/// One client: a writer task and this reader loop. Returns its round
/// trips (ns).
async fn client(
    id: usize,
    ws: Ws,
    raw: bool,
    in_flight: u64,
    loss_timeout: Duration,
    shared: Arc<Shared>,
) -> Vec<u64> {
    let (tx, mut stream) = if raw {
        let (rd, wr) = ws.into_inner().into_split();
        (
            raw_writer(wr, id),
            Incoming::Raw(Box::new(wsraw::Reader::new(rd))),
        )
    } else {
        let (sink, stream) = ws.split();
        (writer(sink), Incoming::Plain(stream))
    };

    let mut lat = Vec::new();
    let mut next_seq: u64 = 0; // next own message to send
    let mut expect: u64 = 0; // oldest own message not back yet
    let mut last_progress = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if shared.stop.load(Relaxed) {
            break;
        }
        if shared.running.load(Relaxed) {
            while next_seq - expect < in_flight {
                let m = format!("d #000000 {id} {next_seq} {} 0;", now_ns());
                if tx.send(m).is_err() {
                    break;
                }
                next_seq += 1;
                shared.sent.fetch_add(1, Relaxed);
            }
        }
        let msg = tokio::select! {
            biased;
            m = stream.next() => m,
            _ = tick.tick() => {
                if next_seq > expect && last_progress.elapsed() >= loss_timeout {
                    shared.given_up.fetch_add((next_seq - expect) as i64, Relaxed);
                    expect = next_seq;
                    last_progress = Instant::now();
                }
                continue;
            }
        };
        let text = match msg {
            Read::Text(t) => t,
            Read::Binary => {
                shared.deliveries.fetch_add(1, Relaxed);
                shared.unparsed.fetch_add(1, Relaxed);
                continue;
            }
            Read::Closed => {
                shared.closed.fetch_add(1, Relaxed);
                break;
            }
            Read::Other => continue,
        };
        shared.deliveries.fetch_add(1, Relaxed);
        let mut f = text.as_str().split_ascii_whitespace();
        let from = f.nth(2).and_then(|v| v.parse::<usize>().ok());
        if from != Some(id) {
            if from.is_none() {
                shared.unparsed.fetch_add(1, Relaxed);
            }
            continue;
        }
        let (Some(seq), Some(sent)) = (
            f.next().and_then(|v| v.parse::<u64>().ok()),
            f.next().and_then(|v| v.parse::<u64>().ok()),
        ) else {
            shared.unparsed.fetch_add(1, Relaxed);
            continue;
        };
        let now = now_ns();
        if seq < expect {
            // Given up on after --loss-timeout, but only late: not lost
            // after all (the mirror keeps order, so a gap is a real loss).
            shared.given_up.fetch_sub(1, Relaxed);
        } else {
            if seq > expect {
                shared.dropped.fetch_add(seq - expect, Relaxed);
            }
            expect = seq + 1;
            last_progress = Instant::now();
        }
        if sent >= shared.window_start.load(Relaxed) && now <= shared.window_end.load(Relaxed) {
            lat.push(now.saturating_sub(sent));
        }
    }
    lat
}
