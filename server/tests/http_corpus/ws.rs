//! WebSocket protocol violations (RFC 6455 close codes) and message limits.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::{closed_within, site, site_with};
use crate::support::ws::{frame, raw_handshake, read_frame};

/// A WebSocket on `protocol`, handshake done.
fn open(addr: SocketAddr, protocol: &str) -> TcpStream {
    let (s, r) = raw_handshake(addr, &[("Sec-WebSocket-Protocol", protocol)]);
    assert_eq!(r.status, 101, "{}", r.head);
    s
}

/// Reads server frames until a close frame; returns its code. Panics if
/// the connection ends first or after 200 frames.
fn close_code(s: &mut TcpStream) -> u16 {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for _ in 0..200 {
        let f = read_frame(s);
        if f.opcode == 0x8 {
            let payload = f.payload;
            assert!(payload.len() >= 2, "close without a code");
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
    panic!("no close frame in 200 frames");
}

/// Sends `bytes` on a fresh dumb-increment connection; returns the close code.
fn violation(addr: SocketAddr, bytes: &[u8]) -> u16 {
    let mut s = open(addr, "dumb-increment-protocol");
    s.write_all(bytes).unwrap();
    let code = close_code(&mut s);
    assert!(
        closed_within(&mut s, 10),
        "not closed after the close frame"
    );
    code
}

#[test]
fn protocol_violations_close_with_1002_or_1007() {
    let (_s, srv) = site("", "");
    let addr = srv.addr(7681);

    // unmasked client frame
    assert_eq!(violation(addr, b"\x81\x05hello"), 1002);
    // reserved bits: RSV2, RSV3, and RSV1 without an extension
    assert_eq!(violation(addr, &raw_bits(0xA1, b"hi")), 1002);
    assert_eq!(violation(addr, &raw_bits(0x91, b"hi")), 1002);
    assert_eq!(violation(addr, &frame(1, true, true, b"hi")), 1002);
    // reserved opcodes
    assert_eq!(violation(addr, &frame(0x3, true, false, b"x")), 1002);
    assert_eq!(violation(addr, &frame(0xB, true, false, b"x")), 1002);
    // fragmented control frame
    assert_eq!(violation(addr, &frame(0x9, false, false, b"ping")), 1002);
    // oversized control frame (126 bytes)
    assert_eq!(
        violation(addr, &frame(0x9, true, false, &[b'p'; 126])),
        1002
    );
    // continuation without a message, new message inside a fragmented one
    assert_eq!(violation(addr, &frame(0x0, true, false, b"x")), 1002);
    let mut two = frame(1, false, false, b"a");
    two.extend(frame(1, true, false, b"b"));
    assert_eq!(violation(addr, &two), 1002);
    // invalid UTF-8 in a text message, whole or split across fragments
    assert_eq!(violation(addr, &frame(1, true, false, b"ab\xff")), 1007);
    let mut split = frame(1, false, false, b"\xe2\x82");
    split.extend(frame(0, true, false, b"("));
    assert_eq!(violation(addr, &split), 1007);
    // a text message ending inside a code point
    assert_eq!(violation(addr, &frame(1, true, false, b"\xe2\x82")), 1007);
    // close frame with an invalid code
    assert_eq!(
        violation(addr, &frame(8, true, false, &999u16.to_be_bytes())),
        1002
    );

    // Valid traffic still works after all that.
    let mut s = open(addr, "dumb-increment-protocol");
    s.write_all(&frame(1, true, false, "reset\n ✓".as_bytes()))
        .unwrap();
    s.write_all(&frame(8, true, false, &1000u16.to_be_bytes()))
        .unwrap();
    assert_eq!(close_code(&mut s), 1000);
}

/// A masked frame with a raw first byte.
fn raw_bits(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = frame(b0 & 0x0f, b0 & 0x80 != 0, false, payload);
    f[0] = b0;
    f
}

#[test]
fn messages_over_a_protocols_limit_close_with_1009() {
    // `max-message` on a protocol's ws-protocols entry is enforced by the
    // server for any protocol (here dumb-increment, which has no limit of
    // its own); lws-mirror enforces its own (64 KiB by default).
    let (_s, srv) = site_with(
        "",
        "",
        r#"{"dumb-increment-protocol": {"max-message": "1000"}},
           {"lws-mirror-protocol": {}}"#,
    );
    let addr = srv.addr(7681);

    // at the limit: fine
    let mut s = open(addr, "dumb-increment-protocol");
    s.write_all(&frame(2, true, false, &[0u8; 1000])).unwrap();
    s.write_all(&frame(8, true, false, &1000u16.to_be_bytes()))
        .unwrap();
    assert_eq!(close_code(&mut s), 1000);
    // one frame over it
    assert_eq!(violation(addr, &frame(2, true, false, &[0u8; 1001])), 1009);
    // fragments adding up to more
    let mut frags = Vec::new();
    for i in 0..3 {
        frags.extend(frame(
            if i == 0 { 1 } else { 0 },
            i == 2,
            false,
            &[b'a'; 400],
        ));
    }
    assert_eq!(violation(addr, &frags), 1009);

    // lws-mirror's own limit
    let mut s = open(addr, "lws-mirror-protocol");
    s.write_all(&frame(1, true, false, &vec![b'm'; 70 * 1024]))
        .unwrap();
    assert_eq!(close_code(&mut s), 1009);
}
