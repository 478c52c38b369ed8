//! dumb-increment-protocol (Rust built-in) and the seed's plugin-standalone
//! (C, compiled here) served to a real WebSocket client.

use crate::support::plugins::{cc_plugin, install_builtins, repo};
use crate::support::ws::{connect, next_text};
use crate::support::{Server, Site};

fn site_with(protocols: &str) -> Site {
    let s = Site::with_plugins("", |p| {
        install_builtins(p, &["dumb_increment"]);
        cc_plugin(
            p,
            "example_standalone",
            &repo().join("examples/c-plugin/protocol_example_standalone.c"),
        );
    });
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{protocols}]}}]}}"#
        ),
    );
    s
}

fn counts_resets_and_closes(srv: &Server, protocol: &str) {
    let mut ws = connect(srv.addr(7681), "/", &[protocol]);
    let first: Vec<u64> = (0..4)
        .map(|_| next_text(&mut ws).parse().unwrap())
        .collect();
    assert_eq!(first, vec![0, 1, 2, 3], "{protocol}");
    ws.send(tungstenite::Message::text("reset\n")).unwrap();
    // Numbers already in flight may arrive first; then it counts from 0 again.
    let mut saw_reset = false;
    for _ in 0..20 {
        if next_text(&mut ws) == "0" {
            saw_reset = true;
            break;
        }
    }
    assert!(saw_reset, "{protocol}: reset\\n restarts the count");
    ws.send(tungstenite::Message::text("closeme\n")).unwrap();
    loop {
        match crate::support::ws::read_message(&mut ws) {
            Ok(tungstenite::Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1001);
                assert_eq!(frame.reason.as_str(), "seeya");
                break;
            }
            Ok(tungstenite::Message::Close(None)) => panic!("{protocol}: close without a code"),
            Ok(_) => continue,
            Err(e) => panic!("{protocol}: connection ended without a close frame: {e}"),
        }
    }
}

#[test]
fn rust_dumb_increment_counts_every_50ms() {
    let s = site_with(r#"{"dumb-increment-protocol": {"status": "ok"}}"#);
    let srv = s.start();
    counts_resets_and_closes(&srv, "dumb-increment-protocol");
}

#[test]
fn seed_plugin_standalone_in_c_loads_with_the_old_abi() {
    let s = site_with(r#"{"example-standalone-protocol": {"status": "ok"}}"#);
    let srv = s.start();
    assert!(
        srv.log_text().contains("init_protocol_example_standalone"),
        "{}",
        srv.log_text()
    );
    counts_resets_and_closes(&srv, "example-standalone-protocol");
}
