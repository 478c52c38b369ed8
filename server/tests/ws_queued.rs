//! `comlink_write_queued`: one message given to many WebSocket connections
//! from outside their WRITEABLE (the packet service's fan-out uses it, issue
//! 17), through the real server with a C plugin (tests/plugins/queued.c):
//! every connection gets every message once and in order, whether it took
//! the message at once or, still sending the one before, through its
//! WRITEABLE.

use tungstenite::Message;

use crate::support::ws::{connect, next_text};
use crate::ws_host::{protocol_site, start};

/// A server with the queued plugin, its protocol on `localhost:7681`.
pub(crate) fn queued_server() -> (crate::support::Site, crate::support::Server) {
    let s = protocol_site("queued", "queued");
    let srv = start(&s);
    (s, srv)
}

#[test]
fn a_message_for_idle_connections_is_taken_by_all_of_them_at_once() {
    const OBSERVERS: usize = 4;
    let (_s, srv) = queued_server();
    let addr = srv.addr(7681);
    let mut observers: Vec<_> = (0..OBSERVERS)
        .map(|_| connect(addr, "/", &["queued"]))
        .collect();
    let mut sender = connect(addr, "/", &["queued"]);
    for round in 0..5 {
        let text = format!("round {round}");
        sender.send(Message::text(format!("all:{text}"))).unwrap();
        for o in &mut observers {
            assert_eq!(next_text(o), text);
        }
        // The sender, in its own callback, takes it through WRITEABLE.
        assert_eq!(next_text(&mut sender), text);
        // Idle, every observer took it at once (no WRITEABLE callback).
        assert_eq!(next_text(&mut sender), format!("taken {OBSERVERS}"));
    }
}

#[test]
fn a_connection_still_sending_gets_the_next_message_after_it_in_order() {
    const OBSERVERS: usize = 3;
    const MESSAGES: usize = 40;
    let (_s, srv) = queued_server();
    let addr = srv.addr(7681);
    let mut observers: Vec<_> = (0..OBSERVERS)
        .map(|_| connect(addr, "/", &["queued"]))
        .collect();
    let mut sender = connect(addr, "/", &["queued"]);
    // Back to back: the server reads several at once, so each observer is
    // given the next one while the last one still waits for the pass (it
    // cannot take it at once, and gets it through WRITEABLE after that).
    for i in 0..MESSAGES {
        sender
            .write(Message::text(format!("all:message {i}")))
            .unwrap();
    }
    sender.flush().unwrap();
    for o in &mut observers {
        for i in 0..MESSAGES {
            assert_eq!(next_text(o), format!("message {i}"));
        }
    }
    let mut taken = Vec::new();
    for i in 0..MESSAGES {
        assert_eq!(next_text(&mut sender), format!("message {i}"));
        let note = next_text(&mut sender);
        let n: usize = note
            .strip_prefix("taken ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{note:?}"));
        assert!(n <= OBSERVERS, "{note}");
        taken.push(n);
    }
    // Both ways were used: at once when idle, through WRITEABLE when not.
    assert!(taken.contains(&OBSERVERS), "{taken:?}");
    assert!(taken.iter().any(|&n| n < OBSERVERS), "{taken:?}");
}

#[test]
fn calls_it_refuses_say_so_and_the_connection_goes_on() {
    let (_s, srv) = queued_server();
    let addr = srv.addr(7681);
    let mut observer = connect(addr, "/", &["queued"]);
    let mut sender = connect(addr, "/", &["queued"]);
    sender.send(Message::text("bad")).unwrap();
    assert_eq!(next_text(&mut sender), "bad -1 -1");
    sender.send(Message::text("all:after")).unwrap();
    assert_eq!(next_text(&mut observer), "after");
    assert_eq!(next_text(&mut sender), "after");
    assert_eq!(next_text(&mut sender), "taken 1");
    let log = srv.log_text();
    assert!(log.contains("comlink_write_queued"), "{log}");
}
