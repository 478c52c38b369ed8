//! Autobahn cases that were NON-STRICT (issue #13): a valid message that
//! arrives in the same read as a following invalid frame is answered before
//! the 1002 close, as the suite's strict reading asks. Raw frames on a
//! socket, the echo plugin from examples/c-plugin-echo answering.

use std::io::Write;
use std::net::TcpStream;

use crate::support::plugins::echo_example;
use crate::support::ws::{frame, raw_handshake, read_frame};
use crate::support::{Server, Site};

fn start() -> (Site, Server) {
    let site = Site::with_plugins("", |dir| {
        let so = echo_example();
        std::fs::copy(&so, dir.join(so.file_name().unwrap())).unwrap();
    });
    site.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{"echo": {"default": "1"}}]}]}"#,
    );
    let srv = Server::start(site.dir.path(), &["-n"]);
    (site, srv)
}

/// Sends `bytes` in one write; expects the echo of each of `echoes` (text),
/// then a close with `code`, then the end of the connection.
fn expect(s: &mut TcpStream, bytes: &[u8], echoes: &[&str], code: u16, what: &str) {
    s.write_all(bytes).unwrap();
    for e in echoes {
        let f = read_frame(s);
        assert_eq!(
            (f.opcode, f.payload.as_slice()),
            (1, e.as_bytes()),
            "{what}: the valid message is echoed first"
        );
    }
    let f = read_frame(s);
    assert_eq!(f.opcode, 8, "{what}: then the close, got {f:?}");
    assert_eq!(
        u16::from_be_bytes([f.payload[0], f.payload[1]]),
        code,
        "{what}"
    );
}

fn connect(srv: &Server) -> TcpStream {
    let (s, head) = raw_handshake(srv.addr(7681), &[]);
    assert_eq!(head.status, 101, "{}", head.head);
    s
}

#[test]
fn autobahn_non_strict_cases_echo_before_the_close() {
    let (_site, srv) = start();
    let hello = frame(1, true, false, b"Hello, world!");
    let ping = frame(9, true, false, b"");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // 3.2: then a text frame with RSV2, then a ping.
        (
            "3.2",
            [hello.clone(), raw_b0(0xa1, b"Hello, world!"), ping.clone()].concat(),
        ),
        // 3.3: then RSV1+RSV2 (no extension agreed).
        (
            "3.3",
            [hello.clone(), raw_b0(0xe1, b"Hello, world!"), ping.clone()].concat(),
        ),
        // 4.1.3-4.1.5: then reserved non-control opcodes 5, 6, 7.
        (
            "4.1.3",
            [hello.clone(), raw_b0(0x85, b""), ping.clone()].concat(),
        ),
        (
            "4.1.4",
            [hello.clone(), raw_b0(0x86, b"reserved"), ping.clone()].concat(),
        ),
        (
            "4.1.5",
            [hello.clone(), raw_b0(0x87, b"reserved"), ping.clone()].concat(),
        ),
        // 4.2.3-4.2.4: then reserved control opcodes 13, 14.
        (
            "4.2.3",
            [hello.clone(), raw_b0(0x8d, b""), ping.clone()].concat(),
        ),
        (
            "4.2.4",
            [hello.clone(), raw_b0(0x8e, b"reserved"), ping.clone()].concat(),
        ),
    ];
    for (name, bytes) in cases {
        let mut s = connect(&srv);
        expect(&mut s, &bytes, &["Hello, world!"], 1002, name);
    }
    // 5.15: a message in two fragments, then a continuation with nothing
    // to continue, then a message.
    let mut s = connect(&srv);
    let bytes = [
        frame(1, false, false, b"fragment1"),
        frame(0, true, false, b"fragment2"),
        frame(0, false, false, b"fragment3"),
        frame(1, true, false, b"fragment4"),
    ]
    .concat();
    expect(&mut s, &bytes, &["fragment1fragment2"], 1002, "5.15");
    // Several valid messages before the bad frame: all answered, in order.
    let mut s = connect(&srv);
    let bytes = [
        frame(1, true, false, b"one"),
        frame(1, true, false, b"two"),
        frame(1, true, false, b"three"),
        raw_b0(0x83, b""),
    ]
    .concat();
    expect(
        &mut s,
        &bytes,
        &["one", "two", "three"],
        1002,
        "three then bad",
    );
    // Invalid UTF-8 after a valid message: 1007 after the echo.
    let mut s = connect(&srv);
    let bytes = [
        hello.clone(),
        frame(1, true, false, &[0xce, 0xba, 0xed, 0xa0, 0x80]),
    ]
    .concat();
    expect(&mut s, &bytes, &["Hello, world!"], 1007, "utf-8");
}

/// A masked frame with first byte `b0` (any bits).
fn raw_b0(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = frame(0, true, false, payload);
    f[0] = b0;
    f
}
