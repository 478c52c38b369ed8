//! The plugin host on the wire, with C test plugins compiled here from
//! `tests/plugins/*.c`: protocol choice, per-vhost options and their
//! lifecycle, fragments, the write rules, backpressure, timers, ping/pong,
//! permessage-deflate and several service threads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tungstenite::Message;

use crate::support::plugins::cc_plugin;
use crate::support::ws::{
    client_on, connect, connect_head, frame, next_text, raw_handshake, read_frame, Client,
};
use crate::support::{eventually, Server, Site};

/// `tests/plugins/<name>.c`.
pub(crate) fn plugin_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plugins")
        .join(format!("{name}.c"))
}

/// A site whose plugin dir holds the test plugins `(source, library name)`,
/// with `global_extra` members in `global` and the `vhosts` array members.
pub(crate) fn plugin_site(plugins: &[(&str, &str)], global_extra: &str, vhosts: &[String]) -> Site {
    let s = Site::new("");
    let dir = s.path("plugins");
    for (src, name) in plugins {
        cc_plugin(&dir, name, &plugin_src(src));
    }
    std::fs::write(
        s.path("conf"),
        format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\"{global_extra}}}}}",
            dir.display()
        ),
    )
    .unwrap();
    s.conf_d("v", &format!("{{\"vhosts\": [{}]}}", vhosts.join(",\n")));
    s
}

/// One vhost object on 127.0.0.1 (`extra`: more members, with a leading comma).
pub(crate) fn vhost(name: &str, port: u16, extra: &str) -> String {
    format!(r#"{{"name": "{name}", "port": {port}, "interface": "127.0.0.1"{extra}}}"#)
}

/// A site with one C plugin of tests/plugins (`src`.c) whose `protocol` is
/// on `localhost:7681`.
pub(crate) fn protocol_site(src: &str, protocol: &str) -> Site {
    plugin_site(
        &[(src, src)],
        "",
        &[vhost(
            "localhost",
            7681,
            &format!(r#", "ws-protocols": [{{"{protocol}": {{"status": "ok"}}}}]"#),
        )],
    )
}

/// Starts the server without the built-in plugin dir.
pub(crate) fn start(s: &Site) -> Server {
    Server::start(s.dir.path(), &["-n"])
}

/// The status of an upgrade asking for `protocols` (none when empty).
fn upgrade_status(srv: &Server, port: u16, protocols: &str) -> u16 {
    let extra: Vec<(&str, &str)> = if protocols.is_empty() {
        vec![]
    } else {
        vec![("Sec-WebSocket-Protocol", protocols)]
    };
    raw_handshake(srv.addr(port), &extra).1.status
}

/// Reads until the connection closes (panics if it stays open): the close
/// frame's (code, reason), or None for a close without a status or a
/// connection that just ended.
fn wait_close(ws: &mut Client) -> Option<(u16, String)> {
    loop {
        match crate::support::ws::read_message(ws) {
            Ok(Message::Close(Some(f))) => return Some((u16::from(f.code), f.reason.to_string())),
            Ok(Message::Close(None)) => return None,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(other) => panic!("expected a close, got {other:?}"),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("the connection was not closed: {e}")
            }
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::Io(_)) => return None,
            Err(e) => panic!("expected a close, got error {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// 1. Protocol choice

#[test]
fn protocol_choice_follows_the_client_list_and_the_vhost() {
    let s = plugin_site(
        &[("protocols", "abc")],
        "",
        &[
            vhost(
                "first",
                7681,
                r#", "ws-protocols": [{"proto-a": {"default": "1"}}, {"proto-b": {"status": "ok"}}]"#,
            ),
            vhost(
                "second",
                7682,
                r#", "ws-protocols": [{"proto-a": {"status": "ok"}}, {"proto-b": {"status": "ok"}}]"#,
            ),
            vhost("open", 7683, ""),
            vhost(
                "strict",
                7684,
                r#", "disable-no-protocol-ws-upgrades": "1", "ws-protocols": [{"proto-a": {"default": "1"}}]"#,
            ),
        ],
    );
    let srv = start(&s);

    // The first name the vhost offers wins, and is echoed.
    let (mut ws, head) = connect_head(srv.addr(7681), "unknown, proto-b, proto-a");
    assert_eq!(
        head.header("sec-websocket-protocol").as_deref(),
        Some("proto-b")
    );
    assert_eq!(next_text(&mut ws), "proto-b on first");

    // No protocol named: the vhost's default, and no protocol header.
    let (s1, head) = raw_handshake(srv.addr(7681), &[]);
    assert_eq!(head.status, 101, "{}", head.head);
    assert_eq!(head.header("sec-websocket-protocol"), None, "{}", head.head);
    assert_eq!(next_text(&mut client_on(s1)), "proto-a on first");

    // No protocol named and no default: refused.
    assert_eq!(upgrade_status(&srv, 7682, ""), 400);
    // Names sent, none known: refused.
    assert_eq!(upgrade_status(&srv, 7682, "nope, other"), 400);
    assert!(
        eventually(5, || srv.log_text().contains(
            r#"vhost "second": ws upgrade refused: none of ["nope", "other"]"#
        )),
        "{}",
        srv.log_text()
    );
    // Loaded, but not in this vhost's ws-protocols: not offered.
    assert_eq!(upgrade_status(&srv, 7681, "proto-c"), 400);
    assert_eq!(upgrade_status(&srv, 7682, "proto-c"), 400);
    // A vhost without ws-protocols offers every loaded protocol.
    let (mut ws, _) = connect_head(srv.addr(7683), "proto-c");
    assert_eq!(next_text(&mut ws), "proto-c on open");
    let (mut ws, _) = connect_head(srv.addr(7683), "proto-a");
    assert_eq!(next_text(&mut ws), "proto-a on open");
    // disable-no-protocol-ws-upgrades: the default no longer serves a
    // nameless upgrade, but the protocol named works.
    assert_eq!(upgrade_status(&srv, 7684, ""), 400);
    let (mut ws, _) = connect_head(srv.addr(7684), "proto-a");
    assert_eq!(next_text(&mut ws), "proto-a on strict");
}

// ---------------------------------------------------------------------------
// 2. Per-vhost options, vh_priv, PROTOCOL_DESTROY

#[test]
fn pvo_reach_each_vhost_and_destroy_runs_at_sigterm() {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("destroyed");
    let m = marker.display();
    let s = plugin_site(
        &[("pvo", "pvo")],
        "",
        &[
            vhost(
                "alpha",
                7681,
                &format!(
                    r#", "ws-protocols": [{{"pvo-echo": {{"greeting": "hello-a", "color": "red", "marker": "{m}"}}}}]"#
                ),
            ),
            vhost(
                "beta",
                7682,
                &format!(
                    r#", "ws-protocols": [{{"pvo-echo": {{"greeting": "hello-b", "color": "blue", "marker": "{m}"}}}}]"#
                ),
            ),
        ],
    );
    let mut srv = start(&s);
    // Each vhost has its own PROTOCOL_INIT (fresh vh_priv) and options, in
    // lws's list order (reverse of the file).
    let mut a = connect(srv.addr(7681), "/", &["pvo-echo"]);
    assert_eq!(
        next_text(&mut a),
        "vhost=alpha greeting=hello-a color=red keys=marker,color,greeting fresh=1"
    );
    let mut b = connect(srv.addr(7682), "/", &["pvo-echo"]);
    assert_eq!(
        next_text(&mut b),
        "vhost=beta greeting=hello-b color=blue keys=marker,color,greeting fresh=1"
    );
    drop((a, b));
    assert!(!marker.exists(), "PROTOCOL_DESTROY ran before shutdown");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(srv.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = srv.wait_exit(20).expect("lwsws exits after SIGTERM");
    assert!(status.success(), "{status:?}\n{}", srv.log_text());
    let text = std::fs::read_to_string(&marker).expect("PROTOCOL_DESTROY wrote the marker");
    let mut lines: Vec<&str> = text.lines().collect();
    // Every PROTOCOL_DESTROY (any vhost order), then the old ABI's destroy_.
    assert_eq!(lines.last(), Some(&"destroy_protocol_pvo"), "{text}");
    lines.sort();
    assert_eq!(
        lines,
        [
            "destroy alpha hello-a",
            "destroy beta hello-b",
            "destroy_protocol_pvo"
        ]
    );
}

// ---------------------------------------------------------------------------
// 3. Fragments

#[test]
fn receive_reports_fragments_as_lws_does() {
    let s = protocol_site("frag", "frag");
    let srv = start(&s);
    let (mut sock, head) = raw_handshake(srv.addr(7681), &[("Sec-WebSocket-Protocol", "frag")]);
    assert_eq!(head.status, 101, "{}", head.head);
    let mut exchange = |frames: Vec<u8>| -> String {
        sock.write_all(&frames).unwrap();
        let f = read_frame(&mut sock);
        assert_eq!((f.fin, f.opcode), (true, 1), "{f:?}");
        String::from_utf8(f.payload).unwrap()
    };
    // Pieces are len/first/final/binary/remaining; rx_buffer_size is 8.
    assert_eq!(
        exchange(frame(1, true, false, b"twenty bytes of text")),
        "8/1/0/0/12 8/0/0/0/4 4/0/1/0/0"
    );
    assert_eq!(
        exchange(frame(2, true, false, &[0xa5; 12])),
        "8/1/0/1/4 4/0/1/1/0"
    );
    let mut three = frame(1, false, false, b"abc");
    three.extend(frame(0, false, false, b"0123456789"));
    three.extend(frame(0, true, false, b"wxyz"));
    assert_eq!(exchange(three), "3/1/0/0/0 8/0/0/0/2 2/0/0/0/0 4/0/1/0/0");
    // A fragmented binary message.
    let mut two = frame(2, false, false, &[1; 9]);
    two.extend(frame(0, true, false, &[2; 2]));
    assert_eq!(exchange(two), "8/1/0/1/1 1/0/0/1/0 2/0/1/1/0");
}

// ---------------------------------------------------------------------------
// 4. Write rules

fn writes_site(global_extra: &str) -> Site {
    plugin_site(
        &[("writes", "writes")],
        global_extra,
        &[vhost(
            "localhost",
            7681,
            r#", "ws-protocols": [{"writes": {"status": "ok"}}]"#,
        )],
    )
}

fn writes_client(srv: &Server) -> Client {
    let mut ws = connect(srv.addr(7681), "/", &["writes"]);
    assert_eq!(next_text(&mut ws), "hello");
    ws
}

#[test]
fn a_second_write_in_one_writeable_is_refused_and_logged() {
    let srv = start(&writes_site(""));
    let mut ws = writes_client(&srv);
    ws.send(Message::text("double")).unwrap();
    assert_eq!(next_text(&mut ws), "first");
    // "second" never arrives: the next message is the report.
    assert_eq!(next_text(&mut ws), "double 5 -1");
    assert!(
        eventually(5, || srv.log_text().contains("Illegal back-to-back write")),
        "{}",
        srv.log_text()
    );
    // The connection is still fine.
    ws.send(Message::text("choked")).unwrap();
    assert_eq!(next_text(&mut ws), "one");
}

#[test]
fn send_pipe_choked_allows_a_second_write() {
    let srv = start(&writes_site(""));
    let mut ws = writes_client(&srv);
    ws.send(Message::text("choked")).unwrap();
    assert_eq!(next_text(&mut ws), "one");
    assert_eq!(next_text(&mut ws), "two");
    assert_eq!(next_text(&mut ws), "choked 3 0 3");
    assert!(
        !srv.log_text().contains("Illegal back-to-back write"),
        "{}",
        srv.log_text()
    );
}

#[test]
fn nonzero_return_closes_only_that_connection() {
    let srv = start(&writes_site(""));
    let mut keep = writes_client(&srv);
    let mut gone = writes_client(&srv);
    gone.send(Message::text("fail")).unwrap();
    // Closed (lws_close_reason was not called: no particular status).
    let _ = wait_close(&mut gone);
    keep.send(Message::text("choked")).unwrap();
    assert_eq!(next_text(&mut keep), "one");
    assert_eq!(next_text(&mut keep), "two");
    assert_eq!(next_text(&mut keep), "choked 3 0 3");
}

#[test]
fn close_reason_gives_the_client_the_code_and_reason() {
    let srv = start(&writes_site(""));
    let mut ws = writes_client(&srv);
    ws.send(Message::text("close")).unwrap();
    assert_eq!(
        wait_close(&mut ws),
        Some((1008, "policy says no".to_string()))
    );
}

#[test]
fn writable_all_protocol_reaches_every_connection() {
    let srv = start(&writes_site(""));
    let mut clients: Vec<Client> = (0..3).map(|_| writes_client(&srv)).collect();
    clients[1].send(Message::text("all")).unwrap();
    for (i, ws) in clients.iter_mut().enumerate() {
        assert_eq!(next_text(ws), "gen 1", "client {i}");
    }
    clients[2].send(Message::text("all")).unwrap();
    for (i, ws) in clients.iter_mut().enumerate() {
        assert_eq!(next_text(ws), "gen 2", "client {i}");
    }
}

// ---------------------------------------------------------------------------
// 5. Backpressure

/// Reads one firehose message and checks it is whole and in sequence.
fn firehose_next(ws: &mut Client, expect: u64) {
    let data = loop {
        match crate::support::ws::read_message(ws).expect("firehose read") {
            Message::Binary(b) => break b,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a binary message, got {other:?}"),
        }
    };
    assert_eq!(data.len(), 64 * 1024);
    let seq = u64::from_le_bytes(data[..8].try_into().unwrap());
    assert_eq!(seq, expect, "messages arrive whole and in order");
    let fill = (seq & 0xff) as u8;
    assert!(
        data[8..].iter().all(|&b| b == fill),
        "message {seq} is corrupt"
    );
}

#[test]
fn a_client_that_does_not_read_costs_bounded_memory() {
    let s = protocol_site("firehose", "firehose");
    let srv = start(&s);
    let baseline = srv.rss_kib();
    let mut slow = connect(srv.addr(7681), "/", &["firehose"]);
    let mut fast = connect(srv.addr(7681), "/", &["firehose"]);
    // The slow client reads nothing for ~3 s while the fast one is served.
    let began = Instant::now();
    let mut got = 0u64;
    let mut peak = baseline;
    while began.elapsed() < Duration::from_secs(3) || got < 100 {
        firehose_next(&mut fast, got);
        got += 1;
        if got.is_multiple_of(16) {
            peak = peak.max(srv.rss_kib());
        }
    }
    peak = peak.max(srv.rss_kib());
    eprintln!("firehose: {got} messages to the fast client; RSS {baseline} KiB -> peak {peak} KiB");
    assert!(
        peak < baseline + 16 * 1024,
        "RSS grew from {baseline} KiB to {peak} KiB with a client not reading"
    );
    // Now the slow client reads: whole, valid messages from the first on.
    for n in 0..100 {
        firehose_next(&mut slow, n);
    }
    // And the fast one is still served.
    firehose_next(&mut fast, got);
    assert!(
        srv.rss_kib() < baseline + 16 * 1024,
        "RSS after the slow client read"
    );
}

// ---------------------------------------------------------------------------
// 7. Timers

/// A server with the `timers` protocol (`tests/plugins/timers.c`) and a
/// client on it, past the TIMER that ESTABLISHED set
/// (`lws_set_timer_usecs` -> LWS_CALLBACK_TIMER).
fn timers_client() -> (Site, Server, Client) {
    let s = protocol_site("timers", "timers");
    let srv = start(&s);
    let mut ws = connect(srv.addr(7681), "/", &["timers"]);
    assert_eq!(next_text(&mut ws), "timer");
    (s, srv, ws)
}

#[test]
fn timers_fire_and_cancel() {
    let (_site, _srv, mut ws) = timers_client();
    // lws_sul_schedule + lws_sul_cancel: b (due first) was cancelled.
    ws.send(Message::text("sul")).unwrap();
    assert_eq!(next_text(&mut ws), "sul a, b fired 0");
    // lws_timed_callback_vh_protocol: a stand-in wsi on the right vhost.
    ws.send(Message::text("vh")).unwrap();
    assert_eq!(next_text(&mut ws), "vh callback 1 user=null vhost=ok");
    // lws_cancel_service from the plugin's own pthread.
    ws.send(Message::text("cancel")).unwrap();
    assert_eq!(next_text(&mut ws), "cancelled from thread");
}

/// A timer set again from TIMER, moved or cancelled, fires only as it was
/// last set: the timer the session handed to its thread's timer task
/// while waiting leaves entries behind that must not fire.
#[test]
fn a_timer_moved_or_cancelled_from_timer_fires_only_as_last_set() {
    let (_site, _srv, mut ws) = timers_client();
    ws.send(Message::text("rearm")).unwrap();
    assert_eq!(next_text(&mut ws), "timer 1");
    let first = Instant::now();
    // Set to 20 ms, then moved to 400 ms: the 20 ms one never fires.
    assert_eq!(next_text(&mut ws), "timer 2");
    let gap = first.elapsed();
    assert!(gap >= Duration::from_millis(350), "timer 2 after {gap:?}");
    // Set to 20 ms, then cancelled: nothing more comes.
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(600)))
        .unwrap();
    match crate::support::ws::read_message(&mut ws) {
        Err(tungstenite::Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("after the cancel: {other:?}"),
    }
}

/// An `lws_ring` whose `destroy_element` calls back into the same ring:
/// the calls are refused and the ring's own call completes
/// (`tests/plugins/ring_reenter.c`). Before, the host held a `&mut` to the
/// ring across `destroy_element`: the calls aliased it, and the
/// re-entrant destroy freed it under the running release.
#[test]
fn a_ring_refuses_calls_from_its_own_destroy_element() {
    let s = protocol_site("ring_reenter", "ring-reenter");
    let srv = start(&s);
    for _ in 0..2 {
        let mut ws = connect(srv.addr(7681), "/", &["ring-reenter"]);
        assert_eq!(next_text(&mut ws), "insert=0 free=0 waiting=1 released=2");
    }
    // The log comes through a pipe: it can trail the message.
    srv.wait_log("lws_ring_destroy: re-entrant call refused", 10);
    let log = srv.log_text();
    assert!(!log.contains("panic caught"), "{log}");
}

// ---------------------------------------------------------------------------
// 8. Ping/pong and permessage-deflate

/// The echo example (`examples/c-plugin-echo`) as the vhost's default protocol.
fn echo_site(global_extra: &str) -> Site {
    let s = plugin_site(
        &[],
        global_extra,
        &[vhost(
            "localhost",
            7681,
            r#", "ws-protocols": [{"echo": {"default": "1"}}]"#,
        )],
    );
    std::fs::create_dir_all(s.path("plugins")).unwrap();
    std::fs::copy(
        crate::support::plugins::echo_example(),
        s.path("plugins/libprotocol_echo.so"),
    )
    .unwrap();
    s
}

#[test]
fn idle_connections_are_pinged() {
    let srv = start(&echo_site(r#", "ws-pingpong-secs": "1""#));
    let mut ws = connect(srv.addr(7681), "/", &["echo"]);
    // Two pings in a row: the first one's pong (tungstenite answers it) kept
    // the connection open.
    for n in 0..2 {
        match crate::support::ws::read_message(&mut ws)
            .unwrap_or_else(|e| panic!("waiting for ping {n}: {e}"))
        {
            Message::Ping(_) => {}
            other => panic!("idle connection got {other:?}"),
        }
        ws.flush().unwrap();
    }
    ws.send(Message::text("still here")).unwrap();
    loop {
        match crate::support::ws::read_message(&mut ws).unwrap() {
            Message::Text(t) => {
                assert_eq!(t.as_str(), "still here");
                break;
            }
            Message::Ping(_) => continue,
            other => panic!("{other:?}"),
        }
    }
}

/// Raw DEFLATE of `data` with a sync flush, its `00 00 ff ff` tail removed.
fn deflate(c: &mut flate2::Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]), "sync flush tail");
    out.truncate(out.len() - 4);
    out
}

/// Inflates one compressed message.
fn inflate(d: &mut flate2::Decompress, data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(64 * 1024);
    let before = d.total_in();
    d.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync)
        .unwrap();
    assert_eq!(d.total_in() - before, input.len() as u64, "all input used");
    out
}

#[test]
fn permessage_deflate_is_negotiated_and_round_trips() {
    let srv = start(&echo_site(""));
    // Not offered: not used.
    let (_plain, head) = raw_handshake(srv.addr(7681), &[("Sec-WebSocket-Protocol", "echo")]);
    assert_eq!(head.status, 101);
    assert_eq!(head.header("sec-websocket-extensions"), None);

    let (mut sock, head) = raw_handshake(
        srv.addr(7681),
        &[
            ("Sec-WebSocket-Protocol", "echo"),
            (
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits",
            ),
        ],
    );
    assert_eq!(head.status, 101, "{}", head.head);
    let ext = head.header("sec-websocket-extensions").unwrap_or_default();
    assert!(ext.starts_with("permessage-deflate"), "{}", head.head);

    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut d = flate2::Decompress::new(false);
    let first = "comlink compresses this line. ".repeat(100);
    let second = "and this one, with the window kept from the first. ".repeat(40);
    for text in [&first, &second] {
        let z = deflate(&mut c, text.as_bytes());
        assert!(z.len() < text.len() / 4);
        sock.write_all(&frame(1, true, true, &z)).unwrap();
        let f = read_frame(&mut sock);
        assert!(f.fin && f.rsv1, "the echo comes back compressed: {f:?}");
        assert_eq!(f.opcode, 1);
        assert!(f.payload.len() < text.len() / 4, "{}", f.payload.len());
        assert_eq!(
            String::from_utf8(inflate(&mut d, &f.payload)).unwrap(),
            *text
        );
    }
}

// ---------------------------------------------------------------------------
// 9. Several service threads

#[test]
fn two_service_threads_serve_and_reach_each_other() {
    let srv = start(&writes_site(r#", "count-threads": "2""#));
    let mut clients: Vec<Client> = (0..4).map(|_| writes_client(&srv)).collect();
    for ws in clients.iter_mut() {
        ws.send(Message::text("info")).unwrap();
        let info = next_text(ws);
        assert!(
            info == "threads=2 tsi=0" || info == "threads=2 tsi=1",
            "{info}"
        );
    }
    // A request for writability made on one thread reaches connections of
    // the protocol on both.
    clients[0].send(Message::text("all")).unwrap();
    for (i, ws) in clients.iter_mut().enumerate() {
        assert_eq!(next_text(ws), "gen 1", "client {i}");
    }
    for ws in clients.iter_mut() {
        ws.send(Message::text("choked")).unwrap();
        assert_eq!(next_text(ws), "one");
        assert_eq!(next_text(ws), "two");
        assert_eq!(next_text(ws), "choked 3 0 3");
    }
}
