use super::*;

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
