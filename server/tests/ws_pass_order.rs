//! The WRITEABLE pass (`host::writable`) takes its connections from a
//! different starting place each time, so a connection asked for in the
//! same order every time is not served last every time (issue 17: the
//! subscribers at the end of the order got every packet a whole fan-out
//! later than the first).

use std::collections::HashMap;

use tungstenite::Message;

use crate::support::ws::{connect, next_text};
use crate::ws_host::{protocol_site, start};

/// A server with the turns plugin (tests/plugins/turns.c), `protocol` on.
fn turns_server(protocol: &str) -> (crate::support::Site, crate::support::Server) {
    let s = protocol_site("turns", protocol);
    let srv = start(&s);
    (s, srv)
}

#[test]
fn writable_for_all_does_not_serve_the_same_connection_last_every_time() {
    const OBSERVERS: usize = 6;
    const ROUNDS: usize = 8;
    let (_s, srv) = turns_server("turns");
    let addr = srv.addr(7681);
    let mut observers: Vec<_> = (0..OBSERVERS)
        .map(|_| connect(addr, "/", &["turns"]))
        .collect();
    // The one that asks; its own WRITEABLE is not part of the pass (it is
    // in its callback when it asks), so its turn is read and left out.
    let mut trigger = connect(addr, "/", &["turns"]);
    let mut last_count: HashMap<usize, usize> = HashMap::new();
    // One round more than counted: the first is served while connections
    // may still be settling.
    for round in 0..=ROUNDS {
        trigger.send(Message::text("go")).expect("send");
        next_text(&mut trigger);
        let turns: Vec<u64> = observers
            .iter_mut()
            .map(|o| next_text(o).parse().expect("a count"))
            .collect();
        let last = (0..OBSERVERS).max_by_key(|&k| turns[k]).expect("observers");
        if round > 0 {
            *last_count.entry(last).or_default() += 1;
        }
    }
    // Served in one fixed order, one observer would be last in every round.
    let most = last_count.values().copied().max().unwrap_or(0);
    assert!(
        most <= ROUNDS / 2,
        "one connection was served last in {most} of {ROUNDS} rounds: {last_count:?}"
    );
}

#[test]
fn connections_asked_one_by_one_are_served_in_the_order_asked() {
    // lws-mirror resumes its members oldest first and asks for WRITEABLE
    // in its members' order: the pass serves them as asked, every time.
    const OBSERVERS: usize = 6;
    let (_s, srv) = turns_server("turns-asked");
    let addr = srv.addr(7681);
    let mut observers: Vec<_> = (0..OBSERVERS)
        .map(|_| connect(addr, "/", &["turns-asked"]))
        .collect();
    let mut trigger = connect(addr, "/", &["turns-asked"]);
    for round in 0..4 {
        trigger.send(Message::text("go")).expect("send");
        let turns: Vec<u64> = observers
            .iter_mut()
            .map(|o| next_text(o).parse().expect("a count"))
            .collect();
        // asked newest first: the first observer is served last
        assert!(
            turns.windows(2).all(|w| w[0] > w[1]),
            "round {round}: served out of the order asked: {turns:?}"
        );
    }
}
