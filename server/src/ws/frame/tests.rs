use super::super::deflate::{Deflater, Inflater, Params};
use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame with raw header bits.
fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        v.push(m | len as u8);
    } else if len <= 0xffff {
        v.push(m | 126);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        v.push(m | 127);
        v.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mut p = payload.to_vec();
    if let Some(k) = mask {
        v.extend_from_slice(&k);
        for (i, b) in p.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    v.extend_from_slice(&p);
    v
}

fn b0(fin: bool, rsv1: bool, op: OpCode) -> u8 {
    (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | op.as_u8()
}

/// A masked client frame.
fn cf(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0(fin, false, op), payload, Some(MASK))
}

/// A masked client frame with RSV1.
fn cfz(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0(fin, true, op), payload, Some(MASK))
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// Re-encodes a stream of (unmasked) server frames as masked client frames.
fn mask_stream(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let b0 = s[0];
        let len7 = s[1] & 0x7f;
        let (len, h) = match len7 {
            126 => (u16::from_be_bytes([s[2], s[3]]) as usize, 4),
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&s[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        out.extend(raw_frame(b0, &s[h..h + len], Some(MASK)));
        s = &s[h + len..];
    }
    out
}

fn limits(max_message: u64, chunk: usize) -> Limits {
    Limits { max_message, chunk }
}

fn drain(d: &mut Decoder, buf: &mut BytesMut, events: &mut Vec<Event>) -> Result<(), CloseError> {
    let mut guard = 0;
    while let Some(ev) = d.feed(buf)? {
        check_event(d, &ev);
        events.push(ev);
        guard += 1;
        assert!(guard < 10_000_000, "decoder does not stop");
    }
    Ok(())
}

fn check_event(d: &Decoder, ev: &Event) {
    if let Event::Data {
        last,
        payload,
        remaining,
        ..
    } = ev
    {
        let chunk = d.limits().chunk;
        let cap = if chunk == 0 {
            if d.inflate_enabled() {
                DEFAULT_INFLATE_CHUNK
            } else {
                usize::MAX
            }
        } else {
            chunk
        };
        assert!(
            payload.len() <= cap,
            "piece {} over chunk {}",
            payload.len(),
            cap
        );
        if *last {
            assert_eq!(*remaining, 0);
        } else {
            assert!(!payload.is_empty(), "empty non-last piece");
        }
    }
}

/// Feeds `bytes` in pieces of `piece` bytes (0 = all at once).
fn run_with(d: &mut Decoder, bytes: &[u8], piece: usize) -> Result<Vec<Event>, CloseError> {
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    let step = if piece == 0 {
        bytes.len().max(1)
    } else {
        piece
    };
    for part in bytes.chunks(step) {
        buf.extend_from_slice(part);
        drain(d, &mut buf, &mut events)?;
    }
    drain(d, &mut buf, &mut events)?;
    Ok(events)
}

fn run(l: Limits, bytes: &[u8]) -> Result<Vec<Event>, CloseError> {
    run_with(&mut Decoder::new(l), bytes, 0)
}

fn deflate_decoder(l: Limits, p: &Params) -> Decoder {
    let mut d = Decoder::new(l);
    d.set_inflate(Inflater::new(p));
    d
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Msg(bool, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

/// Reassembles messages, checking the first/last/binary bookkeeping.
fn items(events: &[Event]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut cur: Option<(bool, Vec<u8>)> = None;
    for ev in events {
        match ev {
            Event::Data {
                binary,
                first,
                last,
                payload,
                ..
            } => {
                assert_eq!(*first, cur.is_none(), "first flag");
                let c = cur.get_or_insert_with(|| (*binary, Vec::new()));
                assert_eq!(c.0, *binary, "binary flag changes within a message");
                c.1.extend_from_slice(payload);
                if *last {
                    let (b, d) = cur.take().unwrap_or_default();
                    out.push(Item::Msg(b, d));
                }
            }
            Event::Ping(p) => out.push(Item::Ping(p.to_vec())),
            Event::Pong(p) => out.push(Item::Pong(p.to_vec())),
            Event::Close { code, reason } => out.push(Item::Close(*code, reason.clone())),
        }
    }
    assert!(cur.is_none(), "unfinished message");
    out
}

fn err(l: Limits, bytes: &[u8]) -> u16 {
    match run(l, bytes) {
        Err(e) => e.code,
        Ok(ev) => panic!("expected an error, got {ev:?}"),
    }
}

fn text(s: &str) -> Item {
    Item::Msg(false, s.as_bytes().to_vec())
}

// ---------------------------------------------------------------- basics

#[test]
fn rfc6455_examples() {
    // §5.7: a single-frame masked text message
    let hello = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        items(&run(Limits::default(), &hello).unwrap()),
        vec![text("Hello")]
    );
    // the unmasked version is refused from a client
    let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(err(Limits::default(), &unmasked), 1002);
    // our encoder produces exactly that unmasked frame
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Text, true, false, b"Hello");
    assert_eq!(&out[..], &unmasked);
    // fragmented unmasked "Hel" "lo" as the encoder writes it
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Text, false, false, b"Hel");
    encode_frame(&mut out, OpCode::Continuation, true, false, b"lo");
    assert_eq!(
        &out[..],
        &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
    );
    // ping "Hello" unmasked; a masked pong "Hello"
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Ping, true, false, b"Hello");
    assert_eq!(&out[..], &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        items(&run(Limits::default(), &pong).unwrap()),
        vec![Item::Pong(b"Hello".to_vec())]
    );
    // 256 bytes binary: 16-bit length; 64 KiB: 64-bit length
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Binary, true, false, &[0u8; 256]);
    assert_eq!(&out[..4], &[0x82, 0x7e, 0x01, 0x00]);
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Binary, true, false, &vec![0u8; 65536]);
    assert_eq!(&out[..10], &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
}

#[test]
fn lengths_round_trip() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 100_000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let mut out = BytesMut::new();
        encode_frame(&mut out, OpCode::Binary, true, false, &payload);
        let hdr = if len < 126 {
            2
        } else if len < 65536 {
            4
        } else {
            10
        };
        assert_eq!(out.len(), hdr + len);
        let client = mask_stream(&out);
        assert_eq!(client.len(), hdr + 4 + len);
        let ev = run(Limits::default(), &client).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(items(&ev), vec![Item::Msg(true, payload)]);
    }
}

#[test]
fn masks_and_offsets() {
    // odd-length pieces make the mask offset wrap in every position
    let payload: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    for mask in [[0, 0, 0, 0], [0xff; 4], [1, 2, 3, 4], MASK] {
        let f = raw_frame(b0(true, false, OpCode::Binary), &payload, Some(mask));
        for piece in [1, 3, 5, 7, 9, 13, 64] {
            let ev = run_with(&mut Decoder::new(limits(0, 11)), &f, piece).unwrap();
            assert_eq!(items(&ev), vec![Item::Msg(true, payload.clone())]);
        }
    }
}

fn sample_stream() -> (Vec<u8>, Vec<Item>) {
    let stream = cat(&[
        cf(OpCode::Text, false, "héllo ".as_bytes()),
        cf(OpCode::Ping, true, b"p1"),
        cf(OpCode::Continuation, false, "wörld €".as_bytes()),
        cf(OpCode::Pong, true, b""),
        cf(OpCode::Continuation, true, "𝄞!".as_bytes()),
        cf(OpCode::Binary, true, &[0u8, 1, 2, 255]),
        cf(OpCode::Binary, true, &vec![9u8; 300]),
        cf(OpCode::Text, true, b""),
        cf(OpCode::Close, true, &[0x03, 0xe8, b'b', b'y', b'e']),
    ]);
    let expect = vec![
        text("héllo wörld €𝄞!"),
        Item::Ping(b"p1".to_vec()),
        Item::Pong(vec![]),
        Item::Msg(true, vec![0, 1, 2, 255]),
        Item::Msg(true, vec![9; 300]),
        text(""),
        Item::Close(Some(1000), "bye".into()),
    ];
    (stream, expect)
}

/// Moves the control items out of the way: interleaved pings come before
/// the message they interrupt completes.
fn order_sample(mut v: Vec<Item>) -> Vec<Item> {
    let msg = v.remove(2);
    v.insert(0, msg);
    v
}

#[test]
fn split_at_every_byte_boundary() {
    let (stream, expect) = sample_stream();
    let whole = items(&run(limits(0, 0), &stream).unwrap());
    // Ping/Pong come out while the first message is still open.
    assert_eq!(order_sample(whole.clone()), expect);
    for chunk in [0usize, 1, 2, 7, 4096] {
        for i in 0..=stream.len() {
            let mut d = Decoder::new(limits(0, chunk));
            let mut events = Vec::new();
            let mut buf = BytesMut::from(&stream[..i]);
            drain(&mut d, &mut buf, &mut events).unwrap();
            buf.extend_from_slice(&stream[i..]);
            drain(&mut d, &mut buf, &mut events).unwrap();
            assert_eq!(items(&events), whole, "split at {i}, chunk {chunk}");
            assert!(buf.is_empty());
        }
    }
    // byte by byte
    let ev = run_with(&mut Decoder::new(limits(0, 3)), &stream, 1).unwrap();
    assert_eq!(items(&ev), whole);
}

#[test]
fn interleaved_control_frames_events() {
    let stream = cat(&[
        cf(OpCode::Text, false, b"Hel"),
        cf(OpCode::Ping, true, b"x"),
        cf(OpCode::Continuation, false, b"lo"),
        cf(OpCode::Pong, true, b"y"),
        cf(OpCode::Continuation, true, b""),
    ]);
    let ev = run(Limits::default(), &stream).unwrap();
    let data = |first, last, p: &'static [u8]| Event::Data {
        binary: false,
        first,
        last,
        payload: Bytes::from_static(p),
        remaining: 0,
    };
    assert_eq!(
        ev,
        vec![
            data(true, false, b"Hel"),
            Event::Ping(Bytes::from_static(b"x")),
            data(false, false, b"lo"),
            Event::Pong(Bytes::from_static(b"y")),
            data(false, true, b""),
        ]
    );
}

#[test]
fn empty_frames() {
    // empty message: one empty event, first and last
    let ev = run(Limits::default(), &cf(OpCode::Binary, true, b"")).unwrap();
    assert_eq!(
        ev,
        vec![Event::Data {
            binary: true,
            first: true,
            last: true,
            payload: Bytes::new(),
            remaining: 0
        }]
    );
    // empty first and middle frames produce nothing; "first" moves on
    let stream = cat(&[
        cf(OpCode::Binary, false, b""),
        cf(OpCode::Continuation, false, b""),
        cf(OpCode::Continuation, false, b"ab"),
        cf(OpCode::Continuation, true, b"c"),
    ]);
    let ev = run(Limits::default(), &stream).unwrap();
    assert_eq!(ev.len(), 2);
    assert!(
        matches!(&ev[0], Event::Data { first: true, last: false, payload, .. } if &payload[..] == b"ab")
    );
    assert!(
        matches!(&ev[1], Event::Data { first: false, last: true, payload, .. } if &payload[..] == b"c")
    );
}

#[test]
fn chunk_splitting_and_remaining() {
    let payload = vec![0x5au8; 10_000];
    let f = cf(OpCode::Binary, true, &payload);
    let ev = run(limits(0, 4096), &f).unwrap();
    let got: Vec<(usize, u64, bool, bool)> = ev
        .iter()
        .map(|e| match e {
            Event::Data {
                payload,
                remaining,
                first,
                last,
                ..
            } => (payload.len(), *remaining, *first, *last),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (4096, 5904, true, false),
            (4096, 1808, false, false),
            (1808, 0, false, true)
        ]
    );

    // partial reads: events carry what is available, never more than chunk
    let mut d = Decoder::new(limits(0, 4096));
    let mut buf = BytesMut::from(&f[..8 + 1000]); // header (8) + 1000 bytes
    let ev = d.feed(&mut buf).unwrap().unwrap();
    assert!(
        matches!(ev, Event::Data { ref payload, remaining: 9000, first: true, last: false, .. } if payload.len() == 1000)
    );
    assert_eq!(d.feed(&mut buf).unwrap(), None);
    buf.extend_from_slice(&f[1008..1010]);
    let ev = d.feed(&mut buf).unwrap().unwrap();
    assert!(
        matches!(ev, Event::Data { ref payload, remaining: 8998, first: false, .. } if payload.len() == 2)
    );

    // a fragmented message: remaining is per frame, last only at the end
    let stream = cat(&[
        cf(OpCode::Text, false, &[b'a'; 10]),
        cf(OpCode::Continuation, true, &[b'b'; 5]),
    ]);
    let ev = run(limits(0, 4), &stream).unwrap();
    let got: Vec<(usize, u64, bool)> = ev
        .iter()
        .map(|e| match e {
            Event::Data {
                payload,
                remaining,
                last,
                ..
            } => (payload.len(), *remaining, *last),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (4, 6, false),
            (4, 2, false),
            (2, 0, false),
            (4, 1, false),
            (1, 0, true)
        ]
    );
}

#[test]
fn one_megabyte_frame_in_4k_pieces() {
    let payload: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i >> 3) as u8).collect();
    let f = cf(OpCode::Binary, true, &payload);
    let ev = run_with(&mut Decoder::new(limits(0, 4096)), &f, 0).unwrap();
    assert_eq!(ev.len(), 256);
    assert_eq!(items(&ev), vec![Item::Msg(true, payload.clone())]);
    // TCP-sized reads: pieces follow the reads, never over 4096
    let ev = run_with(&mut Decoder::new(limits(0, 4096)), &f, 65536).unwrap();
    assert_eq!(ev.len(), 257);
    assert_eq!(items(&ev), vec![Item::Msg(true, payload)]);
}

// ---------------------------------------------------------------- violations

#[test]
fn protocol_violations() {
    let l = Limits::default();
    // unmasked
    assert_eq!(err(l, &raw_frame(0x82, b"x", None)), 1002);
    // RSV1/2/3 without extension
    for bits in [0x40u8, 0x20, 0x10, 0x70] {
        assert_eq!(
            err(l, &raw_frame(0x82 | bits, b"x", Some(MASK))),
            1002,
            "{bits:#x}"
        );
    }
    // unknown opcodes
    for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        assert_eq!(err(l, &raw_frame(0x80 | op, b"", Some(MASK))), 1002, "{op}");
    }
    // fragmented control frames, control payload > 125
    for op in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        assert_eq!(err(l, &cf(op, false, b"")), 1002);
        assert_eq!(err(l, &cf(op, true, &[b'a'; 126])), 1002);
    }
    assert_eq!(
        items(&run(l, &cf(OpCode::Ping, true, &[b'a'; 125])).unwrap()).len(),
        1
    );
    // continuation without a message
    assert_eq!(err(l, &cf(OpCode::Continuation, true, b"x")), 1002);
    assert_eq!(
        err(
            l,
            &cat(&[
                cf(OpCode::Text, true, b"a"),
                cf(OpCode::Continuation, true, b"b")
            ])
        ),
        1002
    );
    // new data frame while one is open
    assert_eq!(
        err(
            l,
            &cat(&[cf(OpCode::Text, false, b"a"), cf(OpCode::Text, true, b"b")])
        ),
        1002
    );
    assert_eq!(
        err(
            l,
            &cat(&[
                cf(OpCode::Binary, false, b"a"),
                cf(OpCode::Binary, true, b"b")
            ])
        ),
        1002
    );
    // 64-bit length with top bit set
    let mut f = vec![0x82, 0xff];
    f.extend_from_slice(&(1u64 << 63).to_be_bytes());
    f.extend_from_slice(&MASK);
    assert_eq!(err(l, &f), 1002);
}

#[test]
fn violations_fail_fast() {
    // errors are found from the first two bytes, before the payload arrives
    let mut d = Decoder::new(Limits::default());
    let mut buf = BytesMut::from(&[0x82u8, 0xff][..]);
    assert_eq!(d.feed(&mut buf), Ok(None));
    let mut d = Decoder::new(Limits::default());
    let mut buf = BytesMut::from(&[0x02u8, 0x05][..]);
    assert_eq!(d.feed(&mut buf).unwrap_err().code, 1002);
    // the error sticks
    assert_eq!(d.feed(&mut BytesMut::new()).unwrap_err().code, 1002);
    // max_message from the header alone
    let mut d = Decoder::new(limits(100, 0));
    let mut buf = BytesMut::from(&cf(OpCode::Binary, true, &[0u8; 101])[..8]);
    assert_eq!(d.feed(&mut buf).unwrap_err().code, 1009);
}

#[test]
fn close_frames() {
    let l = Limits::default();
    let close = |p: &[u8]| run(l, &cf(OpCode::Close, true, p));
    assert_eq!(
        items(&close(b"").unwrap()),
        vec![Item::Close(None, String::new())]
    );
    assert_eq!(
        items(&close(&[0x03, 0xe8]).unwrap()),
        vec![Item::Close(Some(1000), String::new())]
    );
    let mut p = 4000u16.to_be_bytes().to_vec();
    p.extend_from_slice("adiós".as_bytes());
    assert_eq!(
        items(&close(&p).unwrap()),
        vec![Item::Close(Some(4000), "adiós".into())]
    );
    assert_eq!(close(&[0x03]).unwrap_err().code, 1002);
    for code in [
        0u16, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(close(&code.to_be_bytes()).unwrap_err().code, 1002, "{code}");
    }
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        assert!(close(&code.to_be_bytes()).is_ok(), "{code}");
    }
    assert_eq!(
        close(&[0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd])
            .unwrap_err()
            .code,
        1007
    );
    // after a close nothing more is read
    let mut d = Decoder::new(l);
    let mut buf =
        BytesMut::from(&cat(&[cf(OpCode::Close, true, b""), cf(OpCode::Text, true, b"x")])[..]);
    assert!(matches!(
        d.feed(&mut buf),
        Ok(Some(Event::Close { code: None, .. }))
    ));
    assert!(d.is_closed());
    assert_eq!(d.feed(&mut buf), Ok(None));
    // a close in the middle of a fragmented message is fine
    let s = cat(&[
        cf(OpCode::Text, false, b"a"),
        cf(OpCode::Close, true, &[0x03, 0xe9]),
    ]);
    let ev = run(l, &s).unwrap();
    assert!(matches!(
        ev.last(),
        Some(Event::Close {
            code: Some(1001),
            ..
        })
    ));
}

#[test]
fn max_message() {
    let l = limits(10, 0);
    assert!(run(l, &cf(OpCode::Binary, true, &[0u8; 10])).is_ok());
    assert_eq!(err(l, &cf(OpCode::Binary, true, &[0u8; 11])), 1009);
    let s = cat(&[
        cf(OpCode::Text, false, b"12345"),
        cf(OpCode::Continuation, false, b"12345"),
        cf(OpCode::Continuation, true, b"1"),
    ]);
    assert_eq!(err(l, &s), 1009);
    // the count restarts with every message
    let s = cat(&[
        cf(OpCode::Text, true, b"1234567890"),
        cf(OpCode::Text, true, b"1234567890"),
    ]);
    assert_eq!(items(&run(l, &s).unwrap()).len(), 2);
}

// ---------------------------------------------------------------- UTF-8

#[test]
fn utf8_split_across_pieces_and_frames() {
    let s = "aé€𝄞zß中文🎉";
    // one frame, every chunk size
    for chunk in 1..8 {
        let ev = run(limits(0, chunk), &cf(OpCode::Text, true, s.as_bytes())).unwrap();
        assert_eq!(items(&ev), vec![text(s)], "chunk {chunk}");
    }
    // split into frames at every byte
    let b = s.as_bytes();
    for i in 0..=b.len() {
        for j in i..=b.len() {
            let st = cat(&[
                cf(OpCode::Text, false, &b[..i]),
                cf(OpCode::Continuation, false, &b[i..j]),
                cf(OpCode::Continuation, true, &b[j..]),
            ]);
            let ev = run_with(&mut Decoder::new(limits(0, 2)), &st, 3).unwrap();
            assert_eq!(items(&ev), vec![text(s)], "{i} {j}");
        }
    }
}

#[test]
fn utf8_invalid_sequences() {
    let bad: &[&[u8]] = &[
        &[0xff],
        &[0x80],                   // lone continuation
        &[0xc0, 0x80],             // overlong NUL
        &[0xc1, 0xbf],             // overlong
        &[0xe0, 0x80, 0x80],       // overlong 3-byte
        &[0xf0, 0x80, 0x80, 0x80], // overlong 4-byte
        &[0xed, 0xa0, 0x80],       // surrogate U+D800
        &[0xed, 0xbf, 0xbf],       // surrogate U+DFFF
        &[0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
        &[0xf5, 0x80, 0x80, 0x80],
        &[0xe2, 0x82],             // truncated at message end
        &[b'a', 0xf0, 0x9d, 0x84], // truncated 4-byte
        &[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65, 0x64, 0x69, 0x74, 0x65, 0x64,
        ],
    ];
    for b in bad {
        for chunk in [0, 1, 2, 3] {
            assert_eq!(
                err(limits(0, chunk), &cf(OpCode::Text, true, b)),
                1007,
                "{b:x?} chunk {chunk}"
            );
        }
        // also when split between two frames at every point
        for i in 0..=b.len() {
            let st = cat(&[
                cf(OpCode::Text, false, &b[..i]),
                cf(OpCode::Continuation, true, &b[i..]),
            ]);
            assert_eq!(err(Limits::default(), &st), 1007, "{b:x?} split {i}");
        }
        // binary messages are not checked
        assert!(run(Limits::default(), &cf(OpCode::Binary, true, b)).is_ok());
    }
    // an incomplete code point at the end of a non-final frame is fine
    let st = cat(&[
        cf(OpCode::Text, false, &[0xe2, 0x82]),
        cf(OpCode::Continuation, true, &[0xac]),
    ]);
    assert_eq!(
        items(&run(Limits::default(), &st).unwrap()),
        vec![text("€")]
    );
    // fail fast: the bad first frame is refused before the message ends
    let mut d = Decoder::new(Limits::default());
    let mut buf = BytesMut::from(&cf(OpCode::Text, false, &[b'a', 0xff, b'b'])[..]);
    assert_eq!(d.feed(&mut buf).unwrap_err().code, 1007);
}

#[test]
fn utf8_validator_unit() {
    let mut v = Utf8::default();
    assert!(v.feed(&[0xf0]));
    assert!(v.feed(&[0x9f]));
    assert!(v.feed(&[0x8e]));
    assert!(!v.is_complete());
    assert!(v.feed(&[0x89, b'x', 0xe2]));
    assert!(!v.is_complete());
    assert!(v.feed(&[0x82, 0xac]));
    assert!(v.is_complete());
    let mut v = Utf8::default();
    assert!(v.feed(&[0xe0]));
    assert!(!v.feed(&[0x80])); // overlong detected from the second byte
    let mut v = Utf8::default();
    assert!(v.feed(&[0xc3]));
    assert!(!v.feed(&[0xc3, 0xa9])); // 0xc3 0xc3
}

// ---------------------------------------------------------------- deflate

fn compress_stream(d: &mut Deflater, msgs: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        let c = d.compress_message(m).unwrap();
        out.extend(cfz(OpCode::Text, true, &c));
    }
    out
}

#[test]
fn deflate_round_trip_context_takeover() {
    for (snct, cnct) in [(false, false), (true, true), (false, true), (true, false)] {
        let p = Params {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            ..Params::default()
        };
        // client side compressor: a Deflater set up like the client's
        let client_p = Params {
            server_no_context_takeover: cnct,
            ..Params::default()
        };
        let mut cd = Deflater::new(&client_p);
        let msgs: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("message {i}: {}", "lorem ipsum ".repeat(50)).into_bytes())
            .collect();
        let refs: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
        let stream = compress_stream(&mut cd, &refs);
        for chunk in [0, 1, 100, 4096] {
            let ev = run_with(&mut deflate_decoder(limits(0, chunk), &p), &stream, 0).unwrap();
            let want: Vec<Item> = msgs.iter().map(|m| Item::Msg(false, m.clone())).collect();
            assert_eq!(items(&ev), want, "chunk {chunk}");
        }
        // and through the server Encoder, re-masked, back into a decoder
        let mut enc = Encoder::new();
        enc.set_deflate(Deflater::new(&p));
        let mut out = BytesMut::new();
        for m in &msgs {
            enc.data(&mut out, OpCode::Binary, true, m).unwrap();
        }
        assert!(out.len() < msgs.iter().map(Vec::len).sum::<usize>() / 2);
        // decoding server frames needs a decoder that resets like the server
        let dec_p = Params {
            client_no_context_takeover: snct,
            ..Params::default()
        };
        let ev = run_with(
            &mut deflate_decoder(limits(0, 333), &dec_p),
            &mask_stream(&out),
            17,
        )
        .unwrap();
        let want: Vec<Item> = msgs.iter().map(|m| Item::Msg(true, m.clone())).collect();
        assert_eq!(items(&ev), want);
    }
}

#[test]
fn deflate_rfc7692_frames() {
    let p = Params::default();
    // §7.2.3.1 "Hello" as one masked compressed frame
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let s = cat(&[
        cfz(OpCode::Text, true, &hello),
        cfz(OpCode::Text, true, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    ]);
    let mut d = deflate_decoder(Limits::default(), &p);
    assert_eq!(
        return_events(&mut d, &s),
        vec![text("Hello"), text("Hello")]
    );
    // §7.2.3.1 fragmented: "Hello" compressed, split in two frames
    let s = cat(&[
        cfz(OpCode::Text, false, &[0xf2, 0x48, 0xcd]),
        cf(OpCode::Continuation, true, &[0xc9, 0xc9, 0x07, 0x00]),
    ]);
    let mut d = deflate_decoder(Limits::default(), &p);
    assert_eq!(return_events(&mut d, &s), vec![text("Hello")]);
    // an uncompressed message while deflate is on
    let mut d = deflate_decoder(Limits::default(), &p);
    assert_eq!(
        return_events(&mut d, &cf(OpCode::Text, true, b"plain")),
        vec![text("plain")]
    );
    // an empty compressed message (single 0x00) and a completely empty one
    let mut d = deflate_decoder(Limits::default(), &p);
    let s = cat(&[
        cfz(OpCode::Binary, true, &[0x00]),
        cfz(OpCode::Binary, true, &[]),
    ]);
    assert_eq!(
        return_events(&mut d, &s),
        vec![Item::Msg(true, vec![]), Item::Msg(true, vec![])]
    );
}

fn return_events(d: &mut Decoder, s: &[u8]) -> Vec<Item> {
    items(&run_with(d, s, 0).unwrap())
}

#[test]
fn deflate_fragmented_message_with_pings() {
    let p = Params::default();
    let mut cd = Deflater::new(&p);
    let parts: [&[u8]; 3] = [
        b"first part, ",
        b"second part, second part, ",
        b"third part.",
    ];
    let mut c = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let mut b = BytesMut::new();
        cd.compress(part, i == parts.len() - 1, &mut b).unwrap();
        c.push(b.to_vec());
    }
    let stream = cat(&[
        cfz(OpCode::Text, false, &c[0]),
        cf(OpCode::Ping, true, b"1"),
        cf(OpCode::Continuation, false, &c[1]),
        cf(OpCode::Ping, true, b"2"),
        cf(OpCode::Continuation, true, &c[2]),
    ]);
    let whole: Vec<u8> = parts.concat();
    for chunk in [0, 1, 5, 1000] {
        for piece in [0, 1, 3] {
            let ev = run_with(&mut deflate_decoder(limits(0, chunk), &p), &stream, piece).unwrap();
            let it = items(&ev);
            assert_eq!(
                it,
                vec![
                    Item::Ping(b"1".to_vec()),
                    Item::Ping(b"2".to_vec()),
                    Item::Msg(false, whole.clone())
                ],
                "chunk {chunk} piece {piece}"
            );
        }
    }
    // RSV1 on a continuation frame is an error
    let bad = cat(&[
        cfz(OpCode::Text, false, &c[0]),
        cfz(OpCode::Continuation, true, &c[1]),
    ]);
    assert_eq!(
        run_with(&mut deflate_decoder(Limits::default(), &p), &bad, 0)
            .unwrap_err()
            .code,
        1002
    );
    // RSV1 on a control frame is an error
    let bad = raw_frame(0xc9, b"", Some(MASK));
    assert_eq!(
        run_with(&mut deflate_decoder(Limits::default(), &p), &bad, 0)
            .unwrap_err()
            .code,
        1002
    );
}

#[test]
fn deflate_split_at_every_byte_boundary() {
    let p = Params::default();
    let mut cd = Deflater::new(&p);
    let m1 = "ünïcödé ".repeat(40);
    let m2 = vec![7u8; 3000];
    let stream = cat(&[
        cfz(
            OpCode::Text,
            true,
            &cd.compress_message(m1.as_bytes()).unwrap(),
        ),
        cf(OpCode::Ping, true, b"x"),
        cfz(OpCode::Binary, true, &cd.compress_message(&m2).unwrap()),
    ]);
    let want = vec![text(&m1), Item::Ping(b"x".to_vec()), Item::Msg(true, m2)];
    for chunk in [1usize, 64, 0] {
        for i in 0..=stream.len() {
            let mut d = deflate_decoder(limits(0, chunk), &p);
            let mut events = Vec::new();
            let mut buf = BytesMut::from(&stream[..i]);
            drain(&mut d, &mut buf, &mut events).unwrap();
            buf.extend_from_slice(&stream[i..]);
            drain(&mut d, &mut buf, &mut events).unwrap();
            assert_eq!(items(&events), want, "split {i} chunk {chunk}");
        }
    }
}

#[test]
fn deflate_chunking_and_remaining() {
    let p = Params::default();
    let mut cd = Deflater::new(&p);
    let msg: Vec<u8> = (0..100_000u32)
        .map(|i| b"abcdefgh"[(i % 8) as usize] ^ ((i / 1000) as u8 & 1))
        .collect();
    let c = cd.compress_message(&msg).unwrap();
    let f = cfz(OpCode::Binary, true, &c);
    let mut d = deflate_decoder(limits(0, 4096), &p);
    let ev = run_with(&mut d, &f, 0).unwrap();
    assert!(ev.len() >= 100_000 / 4096);
    assert_eq!(items(&ev), vec![Item::Msg(true, msg.clone())]);
    // all but the last piece are full when the input is all there
    for e in &ev[..ev.len() - 1] {
        assert!(matches!(e, Event::Data { payload, last: false, .. } if payload.len() == 4096));
    }
    // partial input: remaining counts compressed bytes still on the wire
    let mut d = deflate_decoder(limits(0, 4096), &p);
    let mut buf = BytesMut::from(&f[..f.len() / 2]);
    let mut events = Vec::new();
    drain(&mut d, &mut buf, &mut events).unwrap();
    let hdr = f.len() - c.len();
    let want_rem = (c.len() - (f.len() / 2 - hdr)) as u64;
    assert!(!events.is_empty());
    for e in &events {
        assert!(matches!(e, Event::Data { remaining, last: false, .. } if *remaining == want_rem));
    }
    buf.extend_from_slice(&f[f.len() / 2..]);
    drain(&mut d, &mut buf, &mut events).unwrap();
    assert_eq!(items(&events), vec![Item::Msg(true, msg)]);
    // chunk 0: pieces bounded by DEFAULT_INFLATE_CHUNK
    let big = vec![1u8; 3 * DEFAULT_INFLATE_CHUNK + 5];
    let f = cfz(OpCode::Binary, true, &cd.compress_message(&big).unwrap());
    let ev = run_with(&mut deflate_decoder(limits(0, 0), &p), &f, 0).unwrap();
    assert_eq!(ev.len(), 4);
    assert_eq!(items(&ev), vec![Item::Msg(true, big)]);
}

#[test]
fn deflate_zip_bomb_capped() {
    let p = Params::default();
    let mut cd = Deflater::new(&p);
    let c = cd.compress_message(&vec![0u8; 50 << 20]).unwrap();
    assert!(c.len() < 100_000, "{}", c.len());
    let f = cfz(OpCode::Binary, true, &c);
    let mut d = deflate_decoder(limits(1 << 20, 4096), &p);
    let e = run_with(&mut d, &f, 0).unwrap_err();
    assert_eq!(e.code, 1009);
    // fragmented bomb: the limit applies to the whole inflated message
    let mut cd = Deflater::new(&p);
    let mut a = BytesMut::new();
    cd.compress(&vec![0u8; 600_000], false, &mut a).unwrap();
    let mut b = BytesMut::new();
    cd.compress(&vec![0u8; 600_000], true, &mut b).unwrap();
    let s = cat(&[
        cfz(OpCode::Binary, false, &a),
        cf(OpCode::Continuation, true, &b),
    ]);
    assert_eq!(
        run_with(&mut deflate_decoder(limits(1 << 20, 0), &p), &s, 0)
            .unwrap_err()
            .code,
        1009
    );
    assert!(run_with(&mut deflate_decoder(limits(1_200_000, 0), &p), &s, 0).is_ok());
}

#[test]
fn deflate_bad_data() {
    let p = Params::default();
    let f = cfz(OpCode::Binary, true, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        run_with(&mut deflate_decoder(Limits::default(), &p), &f, 0)
            .unwrap_err()
            .code,
        1007
    );
    // invalid UTF-8 inside a compressed text message
    let mut cd = Deflater::new(&p);
    let c = cd.compress_message(&[b'a', 0xed, 0xa0, 0x80]).unwrap();
    let f = cfz(OpCode::Text, true, &c);
    assert_eq!(
        run_with(&mut deflate_decoder(Limits::default(), &p), &f, 0)
            .unwrap_err()
            .code,
        1007
    );
    // truncated code point at the end of a compressed text message
    let c = cd.compress_message(&[b'a', 0xe2, 0x82]).unwrap();
    let f = cfz(OpCode::Text, true, &c);
    assert_eq!(
        run_with(&mut deflate_decoder(Limits::default(), &p), &f, 0)
            .unwrap_err()
            .code,
        1007
    );
}

// ---------------------------------------------------------------- encoder

#[test]
fn encoder_fragmented_and_errors() {
    let mut e = Encoder::new();
    let mut out = BytesMut::new();
    assert_eq!(
        e.data(&mut out, OpCode::Continuation, true, b"x"),
        Err(EncodeError::NoMessage)
    );
    e.data(&mut out, OpCode::Text, false, b"ab").unwrap();
    assert!(e.in_message());
    assert_eq!(
        e.data(&mut out, OpCode::Binary, true, b"x"),
        Err(EncodeError::MessageOpen)
    );
    e.control(&mut out, OpCode::Ping, b"p").unwrap();
    e.data(&mut out, OpCode::Continuation, true, b"cd").unwrap();
    assert!(!e.in_message());
    assert_eq!(
        e.data(&mut out, OpCode::Ping, true, b""),
        Err(EncodeError::WrongOpCode(OpCode::Ping))
    );
    assert_eq!(
        e.control(&mut out, OpCode::Text, b""),
        Err(EncodeError::WrongOpCode(OpCode::Text))
    );
    assert_eq!(
        e.control(&mut out, OpCode::Ping, &[0; 126]),
        Err(EncodeError::ControlTooLong)
    );
    assert_eq!(
        &out[..],
        &[0x01, 0x02, b'a', b'b', 0x89, 0x01, b'p', 0x80, 0x02, b'c', b'd']
    );
}

#[test]
fn encoder_compresses_fragmented_message() {
    let p = Params::default();
    let mut e = Encoder::new();
    e.set_deflate(Deflater::new(&p));
    let mut out = BytesMut::new();
    let parts: [&[u8]; 4] = [b"Hello, ", b"", b"Hello, Hello, Hello, ", b"world"];
    e.data(&mut out, OpCode::Text, false, parts[0]).unwrap();
    e.data(&mut out, OpCode::Continuation, false, parts[1])
        .unwrap();
    e.control(&mut out, OpCode::Pong, b"").unwrap();
    e.data(&mut out, OpCode::Continuation, false, parts[2])
        .unwrap();
    e.data(&mut out, OpCode::Continuation, true, parts[3])
        .unwrap();
    // RSV1 only on the first frame
    let mut s = &out[..];
    let mut firsts = Vec::new();
    while !s.is_empty() {
        firsts.push(s[0]);
        let len = (s[1] & 0x7f) as usize;
        assert!(len < 126);
        s = &s[2 + len..];
    }
    assert_eq!(firsts, vec![0x41, 0x00, 0x8a, 0x00, 0x80]);
    let ev = run_with(
        &mut deflate_decoder(limits(0, 3), &p),
        &mask_stream(&out),
        0,
    )
    .unwrap();
    assert_eq!(
        items(&ev),
        vec![Item::Pong(vec![]), Item::Msg(false, parts.concat())]
    );
    // next message still decodes (context taken over on both sides)
    let mut d = deflate_decoder(Limits::default(), &p);
    let mut out2 = out.clone();
    e.data(&mut out2, OpCode::Binary, true, b"Hello, world")
        .unwrap();
    let ev = run_with(&mut d, &mask_stream(&out2), 0).unwrap();
    assert_eq!(
        items(&ev),
        vec![
            Item::Pong(vec![]),
            Item::Msg(false, parts.concat()),
            Item::Msg(true, b"Hello, world".to_vec())
        ]
    );
}

#[test]
fn encode_close_frames() {
    let mut out = BytesMut::new();
    encode_close(&mut out, 1000, "");
    assert_eq!(&out[..], &[0x88, 0x02, 0x03, 0xe8]);
    let mut out = BytesMut::new();
    encode_close(&mut out, 1005, "ignored");
    assert_eq!(&out[..], &[0x88, 0x00]);
    // reason cut to 123 bytes at a character boundary
    let long = "é".repeat(100); // 200 bytes
    let mut out = BytesMut::new();
    encode_close(&mut out, 1001, &long);
    assert_eq!(out[1] as usize, 2 + 122);
    let ev = run(Limits::default(), &mask_stream(&out)).unwrap();
    assert_eq!(items(&ev), vec![Item::Close(Some(1001), "é".repeat(61))]);
}

// ---------------------------------------------------------------- fuzz

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fuzz_feed(d: &mut Decoder, data: &[u8], rng: &mut Rng) {
    let mut buf = BytesMut::new();
    let mut pos = 0;
    let mut events = 0usize;
    while pos < data.len() {
        let n = 1 + rng.below(64.min(data.len() - pos));
        buf.extend_from_slice(&data[pos..pos + n]);
        pos += n;
        loop {
            match d.feed(&mut buf) {
                Ok(Some(ev)) => {
                    check_event(d, &ev);
                    events += 1;
                    assert!(events < 1_000_000);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(matches!(e.code, 1002 | 1007 | 1009), "{e:?}");
                    assert_eq!(d.feed(&mut buf), Err(e));
                    return;
                }
            }
        }
    }
}

fn valid_stream(rng: &mut Rng, deflate: Option<&mut Deflater>) -> Vec<u8> {
    let (stream, _) = sample_stream();
    let mut out = stream;
    if let Some(cd) = deflate {
        let n = rng.below(3000);
        let msg: Vec<u8> = (0..n).map(|_| b"abc \xc3\xa9"[rng.below(6)]).collect();
        let c = cd.compress_message(&msg).unwrap();
        let cut = rng.below(c.len() + 1);
        out.extend(cfz(OpCode::Text, false, &c[..cut]));
        out.extend(cf(OpCode::Ping, true, b"z"));
        out.extend(cf(OpCode::Continuation, true, &c[cut..]));
    }
    out
}

#[test]
fn fuzz_no_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let l = limits(
            [0, 1, 100, 5000][rng.below(4)],
            [0, 1, 3, 16, 4096][rng.below(5)],
        );
        let with_deflate = round % 2 == 0;
        let p = Params::default();
        let mut d = Decoder::new(l);
        if with_deflate {
            d.set_inflate(Inflater::new(&p));
        }
        let data: Vec<u8> = match round % 3 {
            0 => (0..rng.below(400)).map(|_| rng.next() as u8).collect(),
            _ => {
                let mut cd = Deflater::new(&p);
                let mut v = valid_stream(&mut rng, with_deflate.then_some(&mut cd));
                for _ in 0..1 + rng.below(4) {
                    if v.is_empty() {
                        break;
                    }
                    let i = rng.below(v.len());
                    match rng.below(4) {
                        0 => v[i] = rng.next() as u8,
                        1 => v[i] ^= 1 << rng.below(8),
                        2 => {
                            v.remove(i);
                        }
                        _ => v.insert(i, rng.next() as u8),
                    }
                }
                v
            }
        };
        fuzz_feed(&mut d, &data, &mut rng);
    }
}

#[test]
fn fuzz_compressed_payloads() {
    // random bytes as a compressed payload, and mutated valid compressed data
    let mut rng = Rng(12345);
    let p = Params::default();
    for _ in 0..2000 {
        let mut payload: Vec<u8> = if rng.below(2) == 0 {
            (0..rng.below(200)).map(|_| rng.next() as u8).collect()
        } else {
            let mut cd = Deflater::new(&p);
            let msg: Vec<u8> = (0..rng.below(2000)).map(|_| b"xyz"[rng.below(3)]).collect();
            cd.compress_message(&msg).unwrap()
        };
        if !payload.is_empty() {
            let i = rng.below(payload.len());
            payload[i] ^= rng.next() as u8;
        }
        let f = cfz(
            if rng.below(2) == 0 {
                OpCode::Text
            } else {
                OpCode::Binary
            },
            true,
            &payload,
        );
        let mut d = deflate_decoder(limits(10_000, 1 + rng.below(100)), &p);
        fuzz_feed(&mut d, &f, &mut rng);
    }
}
