//! Accepting connections on the service threads: each thread (see
//! `runtime::threads`) runs the plugin host's part (its command
//! queue; on thread 0 PROTOCOL_INIT and retirement) and an accept loop per
//! listening socket, which hands each connection to `conn::serve`.
//! `count-threads` N gives N loops sharing the listening sockets.

use std::net::TcpListener;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::mpsc::unbounded_channel;

use crate::host::context::CONTEXT;
use crate::host::thread::{self, Command, Handoff};

use crate::http::conn::{self, Timeouts};
use crate::http::listen_accept;
use crate::http::service::ConnInfo;
use crate::http::site::Site;
use crate::listen::Listener;

/// What a service thread serves.
#[derive(Clone)]
pub struct Shared {
    /// The current site (swapped on reload).
    pub site: Arc<ArcSwap<Site>>,
    /// `timeout-secs`.
    pub timeout: Duration,
}

/// One listening socket as a service thread runs it.
pub struct ThreadListener {
    /// A clone of the socket.
    pub socket: TcpListener,
    /// Vhosts on it (indices into the site), first = default.
    pub vhosts: Arc<[usize]>,
    /// Keep-alive timeout of its default vhost, seconds.
    pub keepalive: u32,
    /// Its TLS setup, if it serves TLS.
    pub tls: Option<crate::listen::tls::Tls>,
}

/// Clones of `listeners` for one thread.
pub fn thread_listeners(
    listeners: &[Listener],
    site: &Site,
) -> std::io::Result<Vec<ThreadListener>> {
    let mut mine = Vec::new();
    for l in listeners {
        let keepalive = l
            .vhosts
            .first()
            .map(|&i| site.vhosts[i].cfg.keepalive_timeout)
            .unwrap_or(5)
            .max(1);
        mine.push(ThreadListener {
            socket: l.socket.try_clone()?,
            vhosts: l.vhosts.clone(),
            keepalive,
            tls: l.tls.clone(),
        });
    }
    Ok(mine)
}

/// Starts `count` service threads over `listeners` and returns once thread
/// 0 has run every protocol's PROTOCOL_INIT and all are about to accept.
pub fn start(
    count: u32,
    listeners: &[Listener],
    shared: Shared,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let count = count.max(1) as usize;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..count).map(|_| unbounded_channel()).unzip();
    CONTEXT.set_threads(txs);
    let ready = Arc::new(Barrier::new(count + 1));
    let mut per_thread = Vec::new();
    for rx in rxs {
        per_thread.push(Handoff::new((
            thread_listeners(listeners, &shared.site.load())?,
            rx,
        )));
    }
    let per_thread: Arc<[_]> = per_thread.into();
    let barrier = ready.clone();
    let handles = crate::runtime::threads::spawn(
        count,
        Arc::new(move |tsi| {
            let (mine, commands) = per_thread[tsi].take().expect("each thread starts once");
            let (shared, ready) = (shared.clone(), barrier.clone());
            Box::pin(async move {
                SHARED.with(|s| *s.borrow_mut() = Some(shared.clone()));
                thread::serve(tsi, commands, &shared.site.load().host);
                // Nobody accepts before every protocol is initialised.
                ready.wait();
                listen_on(mine);
                // The loop lives as long as the process: connections keep
                // being served while stopping, until main exits.
                std::future::pending::<()>().await;
            })
        }),
    )?;
    ready.wait();
    Ok(handles)
}

/// After a reload: every service thread serves `listeners` from now on.
pub fn listen_everywhere(listeners: &[Listener], site: &Site) -> std::io::Result<()> {
    for tsi in 0..CONTEXT.count_threads() {
        let mine = thread_listeners(listeners, site)?;
        let job: Box<dyn FnOnce() + Send> = Box::new(move || listen_on(mine));
        let _ = CONTEXT.post(tsi, Command::Run(Handoff::new(job)));
    }
    Ok(())
}

/// Runs every protocol's PROTOCOL_DESTROY on service thread 0 and waits for it.
pub fn destroy_protocols() {
    let done = Arc::new(Barrier::new(2));
    if CONTEXT.post(0, Command::Shutdown(done.clone())) {
        done.wait();
    }
}

thread_local! {
    // This thread's accept loops (replaced on reload) and what they need.
    static ACCEPTING: std::cell::RefCell<Vec<tokio::task::JoinHandle<()>>> =
        const { std::cell::RefCell::new(Vec::new()) };
    static SHARED: std::cell::RefCell<Option<Shared>> = const { std::cell::RefCell::new(None) };
}

/// Replaces this thread's accept loops with loops over `listeners`.
/// Sockets that stay are clones of the same listening socket, so nothing
/// queued on them is lost.
pub fn listen_on(listeners: Vec<ThreadListener>) {
    let Some(shared) = SHARED.with(|s| s.borrow().clone()) else {
        return;
    };
    let mut loops = Vec::new();
    for l in listeners {
        let listener = match tokio::net::TcpListener::from_std(l.socket) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("cannot register a listener: {e}");
                continue;
            }
        };
        let t = Timeouts {
            head: Duration::from_secs(u64::from(l.keepalive)),
            idle: shared.timeout,
        };
        loops.push(tokio::task::spawn_local(accept_loop(
            listener,
            l.vhosts,
            shared.site.clone(),
            t,
            l.tls,
        )));
    }
    ACCEPTING.with(|a| {
        for old in a.replace(loops) {
            old.abort();
        }
    });
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    vhosts: Arc<[usize]>,
    site: Arc<ArcSwap<Site>>,
    t: Timeouts,
    tls: Option<crate::listen::tls::Tls>,
) {
    let mut stop = CONTEXT.stopping();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => {
                // Dropping the listener stops accepting on this thread.
                return;
            }
        };
        match accepted {
            Ok((stream, peer)) => {
                let Some(stream) =
                    listen_accept::divert(stream, &vhosts, &site.load(), tls.is_some())
                else {
                    continue;
                };
                let limit = site.load().ip_limit_wsi;
                let Ok(peer_slot) = crate::http::peers::acquire(peer.ip(), limit) else {
                    tracing::debug!("{peer}: ip-limit-wsi ({limit}) reached, closing");
                    continue;
                };
                let info = ConnInfo {
                    peer,
                    vhosts: vhosts.clone(),
                    secure: false,
                    redirect_to_https: false,
                    peer_slot,
                    peer_cert: None,
                };
                if listen_accept::falls_back(&site.load(), &vhosts) {
                    let (site, tls, vhosts) = (site.clone(), tls.clone(), vhosts.clone());
                    tokio::task::spawn_local(async move {
                        let first = {
                            // The site of the moment, not held for the connection.
                            let now = site.load_full();
                            listen_accept::sniff(stream, &vhosts, &now, tls.is_some()).await
                        };
                        if let Some(stream) = first {
                            conn::serve(stream, info, site, t, tls).await;
                        }
                    });
                    continue;
                }
                tokio::task::spawn_local(conn::serve(stream, info, site.clone(), t, tls.clone()));
            }
            Err(e) => {
                // A failed handshake concerns one connection; running out of
                // descriptors concerns all: log and pause, never stop.
                use std::io::ErrorKind::*;
                if matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
                    continue;
                }
                tracing::error!("accept: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
