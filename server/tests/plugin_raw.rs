//! Raw descriptors (#18): a FIFO and a device socket a plugin adopts at
//! PROTOCOL_INIT (`lws_adopt_descriptor_vhost`) are served with the RAW_*
//! callbacks, survive a SIGHUP that keeps their plugin, and are closed
//! before its PROTOCOL_DESTROY when a reload replaces it
//! (tests/plugins/raw_fifo.c, raw_poll.c).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::plugin_threadpool::build;
use crate::support::ws::{connect, next_text, Client};
use crate::support::{eventually, Site};

fn vhost(protocol: &str, pvo: &str) -> String {
    format!(
        r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
        "ws-protocols": [{{"{protocol}": {{{pvo}}}}}]}}]}}"#
    )
}

/// Reads text messages until what came so far contains `want`.
fn read_until(ws: &mut Client, seen: &mut String, want: &str) {
    while !seen.contains(want) {
        seen.push_str(&next_text(ws));
    }
}

/// Index of the first log line containing `s`.
fn line_of(log: &str, s: &str) -> Option<usize> {
    log.lines().position(|l| l.contains(s))
}

#[test]
fn a_fifo_adopted_at_init_reaches_websockets_survives_sighup_and_closes_on_eof() {
    let s = Site::with_plugins(r#""watch": "off""#, |p| {
        build(p, "raw_fifo", "v1");
    });
    let fifo = s.path("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    s.conf_d(
        "v",
        &vhost("raw-fifo", &format!(r#""fifo": "{}""#, fifo.display())),
    );
    let srv = s.start();
    assert!(
        eventually(5, || srv.log_text().contains("raw-fifo v1: RAW_ADOPT_FILE")),
        "{}",
        srv.log_text()
    );
    // The server holds the read end: this open does not wait.
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(b"one\n").unwrap();
    let mut ws = connect(srv.addr(7681), "/", &["raw-fifo"]);
    let mut seen = String::new();
    read_until(&mut ws, &mut seen, "one\n");

    // A reload that keeps the plugin keeps the descriptor.
    srv.reload();
    w.write_all(b"two\n").unwrap();
    read_until(&mut ws, &mut seen, "two\n");
    let mut fresh = connect(srv.addr(7681), "/", &["raw-fifo"]);
    let mut fresh_seen = String::new();
    read_until(&mut fresh, &mut fresh_seen, "one\ntwo\n");
    assert!(
        !srv.log_text().contains("RAW_CLOSE_FILE"),
        "{}",
        srv.log_text()
    );

    // The writer goes: a hang-up with nothing left to read closes it.
    drop(w);
    read_until(&mut ws, &mut seen, "[closed]");
    assert_eq!(seen, "one\ntwo\n[closed]");
    // The plugin tells its clients before it logs: wait for the line.
    srv.wait_log("raw-fifo v1: RAW_CLOSE_FILE", 10);
}

/// A device on a loopback port: answers each "POLL <v>" line of a
/// connection with "VALUE <v> <n>", or "BYE" once `bye` is set. Reports
/// "connect" and each poll line on the channel.
fn device(bye: Arc<AtomicBool>) -> (SocketAddr, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { return };
            let tx = tx.clone();
            let bye = bye.clone();
            std::thread::spawn(move || {
                let _ = tx.send("connect".to_owned());
                let mut out = c.try_clone().unwrap();
                let mut n = 0;
                for line in BufReader::new(c).lines() {
                    let Ok(line) = line else { return };
                    n += 1;
                    let _ = tx.send(line.clone());
                    let v = line.strip_prefix("POLL ").unwrap_or("?");
                    let reply = if bye.load(Ordering::SeqCst) {
                        "BYE\n".to_owned()
                    } else {
                        format!("VALUE {v} {n}\n")
                    };
                    if out.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

fn next_event(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the device heard nothing")
}

fn poll_site(device: SocketAddr) -> Site {
    let s = Site::with_plugins(r#""watch": "off""#, |p| {
        build(p, "raw_poll", "v1");
    });
    s.conf_d("v", &vhost("raw-poll", &format!(r#""device": "{device}""#)));
    s
}

#[test]
fn a_device_socket_is_polled_and_a_minus_one_from_raw_rx_closes_only_it() {
    let bye = Arc::new(AtomicBool::new(false));
    let (dev, events) = device(bye.clone());
    let s = poll_site(dev);
    let srv = s.start();
    assert_eq!(next_event(&events), "connect");
    assert_eq!(next_event(&events), "POLL v1");
    let mut ws = connect(srv.addr(7681), "/", &["raw-poll"]);
    let mut seen = String::new();
    // The answers reach the WebSocket (the latest one each time); after a
    // BYE, RAW_RX returns -1 and the socket closes.
    read_until(&mut ws, &mut seen, "VALUE v1 1");
    read_until(&mut ws, &mut seen, "VALUE v1 2");
    bye.store(true, Ordering::SeqCst);
    read_until(&mut ws, &mut seen, "[closed]");
    assert!(
        eventually(5, || srv.log_text().contains("raw-poll v1: RAW_CLOSE")),
        "{}",
        srv.log_text()
    );
    // The server serves on: HTTP, and the plugin's WebSockets.
    let (status, _, _) = crate::support::get(&srv.url("/"));
    assert_eq!(status, 404);
    let mut again = connect(srv.addr(7681), "/", &["raw-poll"]);
    assert_eq!(next_text(&mut again), "[closed]");
}

#[test]
fn a_device_socket_survives_sighup_and_is_closed_before_destroy_on_a_swap() {
    let (dev, events) = device(Arc::new(AtomicBool::new(false)));
    let s = poll_site(dev);
    let plugins = s.path("plugins");
    let srv = s.start();
    assert_eq!(next_event(&events), "connect");
    assert_eq!(next_event(&events), "POLL v1");

    // SIGHUP with the plugin unchanged: the same connection goes on
    // polling, and no second one is made.
    srv.reload();
    for _ in 0..3 {
        assert_eq!(next_event(&events), "POLL v1");
    }

    // The plugin replaced: its old socket closes (RAW_CLOSE) before its
    // PROTOCOL_DESTROY, then the new version adopts its own.
    build(&plugins, "raw_poll", "v2");
    srv.reload();
    loop {
        let e = next_event(&events);
        if e == "connect" {
            break;
        }
        assert_eq!(e, "POLL v1");
    }
    assert_eq!(next_event(&events), "POLL v2");
    let log = srv.log_text();
    let close = line_of(&log, "raw-poll v1: RAW_CLOSE").expect("v1 RAW_CLOSE logged");
    let destroy = line_of(&log, "raw-poll v1: PROTOCOL_DESTROY").expect("v1 DESTROY logged");
    let adopt2 = line_of(&log, "raw-poll v2: RAW_ADOPT").expect("v2 RAW_ADOPT logged");
    assert!(close < destroy && destroy < adopt2, "{log}");
    let mut ws = connect(srv.addr(7681), "/", &["raw-poll"]);
    let mut seen = String::new();
    read_until(&mut ws, &mut seen, "VALUE v2");

    // A graceful stop closes it before the DESTROY too.
    drop(ws);
    let mut srv = srv;
    assert_eq!(
        srv.signal_and_wait("TERM", 20),
        Some(0),
        "{}",
        srv.log_text()
    );
    let log = srv.log_text();
    let close = line_of(&log, "raw-poll v2: RAW_CLOSE").expect("v2 RAW_CLOSE logged");
    let destroy = line_of(&log, "raw-poll v2: PROTOCOL_DESTROY").expect("v2 DESTROY logged");
    assert!(close < destroy, "{log}");
}

#[test]
fn a_raw_vhost_hands_accepted_connections_to_its_protocol() {
    let s = Site::with_plugins("", |p| {
        build(p, "raw_echo", "v1");
    });
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "devices", "port": 7681, "interface": "127.0.0.1",
            "listen-accept-role": "raw-skt", "listen-accept-protocol": "raw-echo",
            "apply-listen-accept": "1",
            "ws-protocols": [{"raw-echo": {}}]}]}"#,
    );
    let srv = s.start();
    let mut c = std::net::TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    for word in ["GET / HTTP/1.1", "second"] {
        c.write_all(format!("{word}\n").as_bytes()).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, format!("echo: {word}\n"));
    }
    // -1 from RAW_RX closes this connection only.
    c.write_all(b"quit").unwrap();
    let mut rest = String::new();
    assert_eq!(std::io::Read::read_to_string(&mut r, &mut rest).unwrap(), 0);
    assert!(
        eventually(5, || srv.log_text().contains("raw-echo: RAW_CLOSE")),
        "{}",
        srv.log_text()
    );
    let mut c2 = std::net::TcpStream::connect(srv.addr(7681)).unwrap();
    c2.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c2.write_all(b"again\n").unwrap();
    let mut line = String::new();
    BufReader::new(c2).read_line(&mut line).unwrap();
    assert_eq!(line, "echo: again\n");
}

#[test]
fn adoptions_the_host_cannot_do_fail_with_null_and_close_the_descriptor() {
    let s = Site::with_plugins("", |p| {
        build(p, "raw_echo", "v1");
    });
    s.conf_d("v", &vhost("raw-echo", r#""probe-refusals": "1""#));
    let srv = s.start();
    assert!(
        eventually(5, || srv.log_text().contains("raw-echo: refusals")),
        "{}",
        srv.log_text()
    );
    let log = srv.log_text();
    assert!(log.contains("raw-echo: refusals ok"), "{log}");
    assert!(
        log.contains("has no protocol \"no-such-protocol\""),
        "{log}"
    );
    assert!(log.contains("cannot be watched"), "{log}");
    let (status, _, _) = crate::support::get(&srv.url("/"));
    assert_eq!(status, 404);
}

#[test]
fn a_fallback_vhost_serves_http_and_hands_anything_else_to_its_raw_protocol() {
    let s = Site::with_plugins("", |p| {
        build(p, "raw_echo", "v1");
    });
    s.file("index.html", "web page");
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "listen-accept-role": "raw-skt", "listen-accept-protocol": "raw-echo",
            "fallback-listen-accept": "1",
            "mounts": [{{"mountpoint": "/", "origin": "file://{}", "default": "index.html"}}],
            "ws-protocols": [{{"raw-echo": {{}}}}]}}]}}"#,
            s.path("www").display()
        ),
    );
    let srv = s.start();
    let (status, _, body) = crate::support::get(&srv.url("/"));
    assert_eq!((status, body.as_slice()), (200, &b"web page"[..]));
    let mut c = std::net::TcpStream::connect(srv.addr(7681)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"POLL 1\n").unwrap();
    let mut line = String::new();
    BufReader::new(c).read_line(&mut line).unwrap();
    assert_eq!(line, "echo: POLL 1\n");
}
