//! permessage-deflate through the real server, with the Autobahn suite's
//! echo plugin (examples/c-plugin-echo): every message must come back whole
//! and in order, whatever its size and content, message after message on
//! one compressed connection (issue #13: 64 KiB messages came back cut, the
//! rest arriving at the start of the next one).
//!
//! The client side is flate2 on raw frames (tungstenite has no
//! permessage-deflate), so what the server compressed is read as sent.

use std::io::Write;
use std::net::TcpStream;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use crate::support::plugins::echo_example;
use crate::support::ws::{frame, raw_handshake, read_frame};
use crate::support::{Server, Site};

const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// A site serving the echo plugin as the default protocol of `localhost`.
fn echo_site() -> Site {
    let s = Site::with_plugins("", |dir| {
        let so = echo_example();
        std::fs::copy(&so, dir.join(so.file_name().unwrap())).unwrap();
    });
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{"echo": {"default": "1"}}]}]}"#,
    );
    s
}

/// The server on [`echo_site`] (the site is kept as long as the server).
fn start() -> (Site, Server) {
    let site = echo_site();
    let srv = Server::start(site.dir.path(), &["-n"]);
    (site, srv)
}

/// A client that offered `offer`; panics unless the server agreed to
/// permessage-deflate. Returns the socket and the agreed response value.
fn connect(srv: &Server, offer: &str) -> (TcpStream, String) {
    let (s, head) = raw_handshake(srv.addr(7681), &[("Sec-WebSocket-Extensions", offer)]);
    assert_eq!(head.status, 101, "{}", head.head);
    let ext = head
        .header("sec-websocket-extensions")
        .unwrap_or_else(|| panic!("{offer:?} not agreed: {}", head.head));
    assert!(ext.starts_with("permessage-deflate"), "{ext}");
    (s, ext)
}

/// The client's side of the extension: its compressor and decompressor,
/// reset per message as agreed.
struct Peer {
    c: Compress,
    d: Decompress,
    reset_c: bool,
    reset_d: bool,
}

impl Peer {
    fn new(client_no_context_takeover: bool, server_no_context_takeover: bool) -> Peer {
        Peer {
            c: Compress::new(Compression::default(), false),
            d: Decompress::new(false),
            reset_c: client_no_context_takeover,
            reset_d: server_no_context_takeover,
        }
    }

    fn deflate(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + data.len() / 100 + 64);
        let mut pos = 0;
        loop {
            let (in0, out0) = (self.c.total_in(), self.c.total_out());
            self.c
                .compress_vec(&data[pos..], &mut out, FlushCompress::Sync)
                .unwrap();
            pos += usize::try_from(self.c.total_in() - in0).unwrap();
            let stalled = self.c.total_in() == in0 && self.c.total_out() == out0;
            if pos == data.len() && out.len() < out.capacity() && (out.ends_with(&TAIL) || stalled)
            {
                break;
            }
            out.reserve(out.capacity().max(4096));
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else {
            // Nothing was pending after the last flush: an empty message is
            // the first byte of an empty stored block (RFC 7692 §7.2.3.6).
            assert!(out.is_empty());
            out.push(0);
        }
        if self.reset_c {
            self.c.reset();
        }
        out
    }

    /// Inflates one compressed message, which must use all its bytes.
    fn inflate(&mut self, payload: &[u8], len_hint: usize) -> Vec<u8> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(len_hint + 64);
        let mut pos = 0;
        loop {
            let before = self.d.total_in();
            self.d
                .decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
                .unwrap_or_else(|e| panic!("the server's compressed message is corrupt: {e}"));
            pos += usize::try_from(self.d.total_in() - before).unwrap();
            if pos == input.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(4096));
        }
        if self.reset_d {
            self.d.reset(false);
        }
        out
    }
}

/// How the client sends a message.
#[derive(Debug, Clone, Copy)]
enum Send {
    /// Uncompressed (allowed with the extension on): only the server's
    /// compressor is under test.
    Plain,
    /// Compressed, one frame.
    Compressed,
    /// Compressed, the compressed bytes cut into frames of this many bytes
    /// (Autobahn's auto-fragmentation).
    Fragmented(usize),
}

/// Writes one binary message.
fn send(s: &mut TcpStream, peer: &mut Peer, how: Send, msg: &[u8]) {
    let bytes = match how {
        Send::Plain => frame(2, true, false, msg),
        Send::Compressed => frame(2, true, true, &peer.deflate(msg)),
        Send::Fragmented(n) => {
            let z = peer.deflate(msg);
            let parts: Vec<&[u8]> = if z.is_empty() {
                vec![&[]]
            } else {
                z.chunks(n).collect()
            };
            let mut out = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                let (op, rsv1) = if i == 0 { (2, true) } else { (0, false) };
                out.extend(frame(op, i + 1 == parts.len(), rsv1, p));
            }
            out
        }
    };
    s.write_all(&bytes).unwrap();
}

/// Reads the echo of `msg`: one compressed binary frame holding exactly it.
fn expect_echo(s: &mut TcpStream, peer: &mut Peer, msg: &[u8], what: &str) {
    expect_compressed(s, peer, 2, msg, what);
}

/// Reads one whole compressed frame of `opcode` (1 text, 2 binary) holding
/// exactly `msg`; returns its payload's (compressed) length.
fn expect_compressed(
    s: &mut TcpStream,
    peer: &mut Peer,
    opcode: u8,
    msg: &[u8],
    what: &str,
) -> usize {
    let f = read_frame(s);
    assert!(
        f.fin && f.rsv1 && f.opcode == opcode,
        "{what}: one compressed frame of opcode {opcode}, got fin {} rsv1 {} opcode {}",
        f.fin,
        f.rsv1,
        f.opcode
    );
    let back = peer.inflate(&f.payload, msg.len());
    assert!(
        back == msg,
        "{what}: {} bytes came back as {} bytes",
        msg.len(),
        back.len()
    );
    f.payload.len()
}

fn random(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.u8(..)).collect()
}

/// Bitmap-like data (the Autobahn 12.2 cases echo a 512x512 grey picture):
/// smooth runs with noise, compressible but not trivially.
fn bitmap(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let mut level: u8 = 128;
    while v.len() < len {
        level = level.wrapping_add(rng.u8(0..7)).wrapping_sub(3);
        let run = rng.usize(1..12);
        v.extend(std::iter::repeat_n(level ^ rng.u8(0..2), run));
    }
    v.truncate(len);
    v
}

/// The sizes issue #13 saw cut (random data, block ends at 31,745 and
/// 63,490 bytes), their neighbours, 64 KiB and 1 MiB.
const SIZES: &[usize] = &[
    31_745,
    31_746,
    32_045,
    32_046,
    63_490,
    63_491,
    63_790,
    65_535,
    65_536,
    65_537,
    1 << 20,
];

#[test]
fn issue13_large_binary_messages_come_back_whole_in_a_row() {
    let (_site, srv) = start();
    let mut rng = fastrand::Rng::with_seed(13);
    for how in [Send::Plain, Send::Compressed, Send::Fragmented(256)] {
        let (mut s, _) = connect(&srv, "permessage-deflate; client_max_window_bits");
        let mut peer = Peer::new(false, false);
        for &len in SIZES {
            for (kind, msg) in [
                ("random", random(&mut rng, len)),
                (
                    "repetitive",
                    b"0123456789abcdef".repeat(len / 16 + 1)[..len].to_vec(),
                ),
            ] {
                send(&mut s, &mut peer, how, &msg);
                expect_echo(&mut s, &mut peer, &msg, &format!("{how:?} {kind} {len}"));
            }
        }
    }
}

#[test]
fn issue13_cut_sizes_on_fresh_connections() {
    // Cut messages showed on a fresh connection: each size as the first
    // message of its own connection.
    let (_site, srv) = start();
    let mut rng = fastrand::Rng::with_seed(31_746);
    for &len in &SIZES[..SIZES.len() - 1] {
        let (mut s, _) = connect(&srv, "permessage-deflate");
        let mut peer = Peer::new(false, false);
        let msg = random(&mut rng, len);
        send(&mut s, &mut peer, Send::Plain, &msg);
        expect_echo(&mut s, &mut peer, &msg, &format!("fresh {len}"));
    }
}

#[test]
fn autobahn_12_2_9_and_12_2_14_64k_binary_messages() {
    // 12.2.9: 64 KiB binary messages, default offer; 12.2.14: the same with
    // the client's frames cut to 256 bytes. Autobahn sends 1000; the cut
    // showed within the first few.
    let (_site, srv) = start();
    let mut rng = fastrand::Rng::with_seed(1229);
    for how in [Send::Compressed, Send::Fragmented(256)] {
        let (mut s, _) = connect(&srv, "permessage-deflate; client_max_window_bits");
        let mut peer = Peer::new(false, false);
        for i in 0..40 {
            let msg = if i % 4 == 3 {
                random(&mut rng, 65_536)
            } else {
                bitmap(&mut rng, 65_536)
            };
            send(&mut s, &mut peer, how, &msg);
            expect_echo(&mut s, &mut peer, &msg, &format!("{how:?} message {i}"));
        }
    }
}

#[test]
fn compressed_messages_sent_without_waiting_come_back_in_order() {
    // Sent in one go: the echo plugin queues them (pausing reads while four
    // wait), the server compresses each in turn.
    let (_site, srv) = start();
    let mut rng = fastrand::Rng::with_seed(7);
    let (mut s, _) = connect(&srv, "permessage-deflate");
    let mut peer = Peer::new(false, false);
    let msgs: Vec<Vec<u8>> = (0..12)
        .map(|i| {
            let len = [1, 31_746, 63_491, 65_536, 200_000, 0][i % 6];
            if i % 2 == 0 {
                random(&mut rng, len)
            } else {
                bitmap(&mut rng, len)
            }
        })
        .collect();
    let mut writer = s.try_clone().unwrap();
    let to_send = msgs.clone();
    let sender = std::thread::spawn(move || {
        let mut wpeer = Peer::new(false, false);
        for m in &to_send {
            send(&mut writer, &mut wpeer, Send::Compressed, m);
        }
    });
    // Read while sending, so neither side's buffers fill up.
    for (i, m) in msgs.iter().enumerate() {
        expect_echo(&mut s, &mut peer, m, &format!("message {i}"));
    }
    sender.join().unwrap();
}

#[test]
fn no_context_takeover_both_ways() {
    let (_site, srv) = start();
    let (mut s, ext) = connect(
        &srv,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    );
    assert_eq!(
        ext,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
    let mut peer = Peer::new(true, true);
    let mut rng = fastrand::Rng::with_seed(99);
    for &len in &[100usize, 31_746, 65_536, 100, 63_491] {
        let msg = bitmap(&mut rng, len);
        send(&mut s, &mut peer, Send::Compressed, &msg);
        expect_echo(&mut s, &mut peer, &msg, &format!("{len}"));
    }
}

/// JSON-ish text like Autobahn 13.x's `data1.json`.
fn json(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 64);
    while v.len() < len {
        v.extend_from_slice(
            format!(
                r#"{{"id": {}, "name": "item{}", "tags": ["a", "b{}"], "value": {}.{}}}, "#,
                rng.u32(..100_000),
                rng.u16(..1000),
                rng.u8(..10),
                rng.u16(..),
                rng.u8(..100)
            )
            .as_bytes(),
        );
    }
    v.truncate(len);
    v
}

#[test]
fn autobahn_13_3_13_5_13_7_small_server_windows_are_agreed() {
    // The offers as Autobahn's client writes them; all were declined
    // (UNIMPLEMENTED) while the compressor could only use 15 bits.
    let (_site, srv) = start();
    let mut rng = fastrand::Rng::with_seed(1335);
    for (offer, answer, snct) in [
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
            false,
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
            true,
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=12",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=12",
            false,
        ),
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
            true,
        ),
    ] {
        let (mut s, ext) = connect(&srv, offer);
        assert_eq!(ext, answer);
        let mut peer = Peer::new(true, snct);
        for len in [16usize, 64, 256, 1024, 4096, 8192, 16_384, 32_768, 65_536, 131_072] {
            let msg = json(&mut rng, len);
            send(&mut s, &mut peer, Send::Fragmented(256), &msg);
            expect_echo(&mut s, &mut peer, &msg, &format!("{answer}: {len}"));
        }
    }
}

#[test]
fn a_quiet_connection_gives_its_compressor_back_and_goes_on() {
    // The second copy of a message refers to the first (context takeover);
    // after a quiet CODEC_IDLE period the server has freed its
    // compressor, so the next copy stands alone again, and still decodes
    // with the window the client kept. The client's own context is kept by
    // the server: a message referring to the one before the pause decodes.
    let (_site, srv) = start();
    let (mut s, _) = connect(&srv, "permessage-deflate; client_max_window_bits");
    let mut peer = Peer::new(false, false);
    let mut rng = fastrand::Rng::with_seed(5);
    let msg = bitmap(&mut rng, 4000);
    let mut sizes = Vec::new();
    for pause in [false, false, true] {
        if pause {
            // Looked at once per CODEC_IDLE: quiet for one whole period.
            // The server's quiet period before it gives codec state back
            // (`ws::session::CODEC_IDLE`).
            let idle = std::time::Duration::from_secs(3);
            std::thread::sleep(idle * 2 + std::time::Duration::from_millis(1000));
        }
        send(&mut s, &mut peer, Send::Compressed, &msg);
        let f = read_frame(&mut s);
        assert!(f.rsv1 && f.fin && f.opcode == 2);
        assert!(peer.inflate(&f.payload, msg.len()) == msg, "pause {pause}");
        sizes.push(f.payload.len());
    }
    assert!(sizes[1] * 4 < sizes[0], "context taken over: {sizes:?}");
    assert!(
        sizes[2] * 2 > sizes[0],
        "a fresh compressor after the pause: {sizes:?}"
    );
}

#[test]
fn a_message_queued_for_many_is_compressed_for_a_connection_that_agreed() {
    // `comlink_write_queued` frames a message once for all the connections
    // it is given to; one with permessage-deflate gets its own compressed
    // frame, from its compressor (context taken over from message to
    // message), like a message its WRITEABLE writes, and gives the
    // compressor back once quiet, as after those.
    let (_site, srv) = crate::ws_queued::queued_server();
    let addr = srv.addr(7681);
    let (mut z, head) = raw_handshake(
        addr,
        &[
            ("Sec-WebSocket-Protocol", "queued"),
            ("Sec-WebSocket-Extensions", "permessage-deflate"),
        ],
    );
    assert_eq!(head.status, 101, "{}", head.head);
    let ext = head.header("sec-websocket-extensions").unwrap_or_default();
    assert!(ext.starts_with("permessage-deflate"), "{}", head.head);
    let mut sender = crate::support::ws::connect(addr, "/", &["queued"]);
    let mut peer = Peer::new(false, false);
    let mut sizes = Vec::new();
    for i in 0..5 {
        if i == 4 {
            // Quiet for longer than two of the server's looks
            // (`ws::session::CODEC_IDLE`, 3 s): the compressor that only
            // queued messages used is given back as after the connection's
            // own writes, so the next message stands alone again.
            std::thread::sleep(std::time::Duration::from_secs(7));
        }
        let text = format!(
            "packet {i}: {}",
            "the same words again and again, ".repeat(3)
        );
        sender
            .send(tungstenite::Message::text(format!("all:{text}")))
            .unwrap();
        let what = format!("queued message {i}");
        sizes.push(expect_compressed(
            &mut z,
            &mut peer,
            1,
            text.as_bytes(),
            &what,
        ));
        // The compressed connection took it at once.
        assert_eq!(crate::support::ws::next_text(&mut sender), "taken 1");
    }
    assert!(sizes[1] * 2 < sizes[0], "context taken over: {sizes:?}");
    assert!(
        sizes[4] * 2 > sizes[0],
        "a fresh compressor after the pause: {sizes:?}"
    );
}
