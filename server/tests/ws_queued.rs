//! `comlink_write_queued`: one message given to many WebSocket connections
//! from outside their WRITEABLE (the packet service's fan-out uses it, issue
//! 17), through the real server with a C plugin (tests/plugins/queued.c):
//! every connection gets every message once and in order, whether it took
//! the message at once or, its socket full, through its WRITEABLE.

use tungstenite::Message;

use crate::support::ws::{connect, connect_small_window, next_text};
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
        // Idle, every observer took it at once (no WRITEABLE callback).
        assert_eq!(next_text(&mut sender), format!("taken {OBSERVERS}"));
    }
}

/// `count` notes "taken <n>" from the sender.
fn notes(sender: &mut crate::support::ws::Client, count: usize) -> Vec<usize> {
    (0..count)
        .map(|_| {
            let note = next_text(sender);
            note.strip_prefix("taken ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{note:?}"))
        })
        .collect()
}

/// Gives `messages` messages (`text(i)`) to `observers` connections
/// (whose receive buffers are `window` bytes, if given), sent back to back
/// and read only once all are sent; checks that each observer got every
/// one once and in order; returns how many took each at once.
fn give_back_to_back(
    observers: usize,
    window: Option<usize>,
    messages: usize,
    text: impl Fn(usize) -> String,
) -> Vec<usize> {
    let (_s, srv) = queued_server();
    let addr = srv.addr(7681);
    let mut observers: Vec<_> = (0..observers)
        .map(|_| match window {
            Some(bytes) => connect_small_window(addr, "/", &["queued"], bytes),
            None => connect(addr, "/", &["queued"]),
        })
        .collect();
    let mut sender = connect(addr, "/", &["queued"]);
    for i in 0..messages {
        sender
            .write(Message::text(format!("all:{}", text(i))))
            .unwrap();
    }
    sender.flush().unwrap();
    let taken = notes(&mut sender, messages);
    for o in &mut observers {
        for i in 0..messages {
            assert_eq!(next_text(o), text(i));
        }
    }
    taken
}

#[test]
fn messages_given_back_to_back_are_all_taken_at_once_in_order() {
    // The server reads them together and gives each one to the observers
    // as it reads it: their sockets take each one whole, so each is taken
    // at once, and they arrive in order.
    let taken = give_back_to_back(3, None, 40, |i| format!("message {i}"));
    assert!(taken.iter().all(|&n| n == 3), "{taken:?}");
}

#[test]
fn a_connection_whose_socket_is_full_gets_the_rest_through_writeable_in_order() {
    // Observers that do not read, with 4 KiB receive buffers: once their
    // sockets are full, what they were given waits for the socket, and
    // the next messages come from their WRITEABLE (which lws only calls
    // once the socket took everything), still in order, once they read.
    // 3,000 messages of 4 KiB (12 MiB) are well past what a loopback
    // socket holds (its send buffer grows to 4 MiB at most).
    let pad = "x".repeat(4000);
    let taken = give_back_to_back(2, Some(4096), 3000, |i| format!("{i:05} {pad}"));
    assert_eq!(taken[0], 2, "the first ones are taken at once");
    assert!(
        taken.iter().any(|&n| n < 2),
        "the full sockets took every message at once"
    );
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
    assert_eq!(next_text(&mut sender), "taken 1");
    let log = srv.log_text();
    assert!(log.contains("comlink_write_queued"), "{log}");
}
