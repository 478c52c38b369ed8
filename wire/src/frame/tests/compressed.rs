use super::*;

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
        let mut b = Vec::new();
        cd.compress(part, i == parts.len() - 1, &mut b).unwrap();
        c.push(b);
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
    // Level 9: the densest bomb (the default level 1 is built for speed).
    let mut cd = Deflater::with_level(&p, 9);
    let c = cd.compress_message(&vec![0u8; 50 << 20]).unwrap();
    assert!(c.len() < 100_000, "{}", c.len());
    let f = cfz(OpCode::Binary, true, &c);
    let mut d = deflate_decoder(limits(1 << 20, 4096), &p);
    let e = run_with(&mut d, &f, 0).unwrap_err();
    assert_eq!(e.code, 1009);
    // fragmented bomb: the limit applies to the whole inflated message
    let mut cd = Deflater::new(&p);
    let mut a = Vec::new();
    cd.compress(&vec![0u8; 600_000], false, &mut a).unwrap();
    let mut b = Vec::new();
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

/// What a reference inflater (flate2, unbounded output) makes of `prefix`:
/// everything the input so far allows.
fn reference_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(prefix.len() * 20 + 1024);
    d.decompress_vec(prefix, &mut out, flate2::FlushDecompress::Sync)
        .unwrap();
    out
}

#[test]
fn deflate_delivers_everything_the_input_allows() {
    // An inflater that filled its output may still hold input bits (even
    // whole symbols) or the rest of a match; the decoder must drain it before
    // waiting for more input, or a message's bytes wait for the next frame
    // (found by the `ws` fuzz target).
    let p = Params::default();
    let mut rng = crate::test_rng::Rng::new(5);
    let text: Vec<u8> = (0..3000).map(|_| b"aaaaabbbc \n"[rng.below(11)]).collect();
    let z = Deflater::new(&p).compress_message(&text).unwrap();
    for chunk in [1usize, 2, 7, 64] {
        for cut in 0..z.len() {
            let f = cfz(OpCode::Text, false, &z[..cut]);
            let mut d = deflate_decoder(limits(0, chunk), &p);
            let mut got = Vec::new();
            for ev in run_with(&mut d, &f, 0).unwrap() {
                if let Event::Data { payload, .. } = ev {
                    got.extend_from_slice(&payload);
                }
            }
            assert!(
                got == reference_prefix(&z[..cut]),
                "chunk {chunk}, {cut} of {} compressed bytes: {} delivered",
                z.len(),
                got.len()
            );
        }
    }
}

#[test]
fn fuzz_regression_same_outcome_whatever_the_split() {
    // From the `ws` fuzz target: RFC 7692's "Hello" frames, no context
    // takeover, rx chunk 1, the last frame cut short with corrupt data in
    // bits the inflater had taken while its output was full. Fed whole, the
    // error never showed; fed byte by byte it did.
    let stream: &[u8] = &[
        0xc1, 0x87, 0x37, 0xfa, 0x21, 0x3d, 0xc5, 0xb2, 0xec, 0xf4, 0xfe, 0xfd, 0x21, 0xc1, 0x8b,
        0x37, 0xfa, 0x21, 0x3d, 0x37, 0xff, 0x21, 0xc7, 0xc8, 0xb2, 0x44, 0x51, 0x5b, 0x95, 0x21,
        0xc1, 0x88, 0x37, 0xfa, 0x21, 0x3d, 0xc4, 0xb2, 0xec, 0xf4, 0xfe, 0xfd, 0x21, 0x3d, 0xc1,
        0x87, 0x37, 0xfa, 0x21, 0x3d, 0xc5, 0xb2, 0xf4, 0xfe, 0xfd, 0x21,
    ];
    let p = Params {
        client_no_context_takeover: true,
        ..Params::default()
    };
    let outcome = |piece: usize| {
        let r = run_with(&mut deflate_decoder(limits(64, 1), &p), stream, piece);
        r.map(|ev| {
            ev.iter()
                .filter(|e| matches!(e, Event::Data { last: true, .. }))
                .count()
        })
    };
    let whole = outcome(0);
    assert_eq!(whole.unwrap_err().code, 1007);
    for piece in 1..=stream.len() {
        assert_eq!(outcome(piece), whole, "piece {piece}");
    }
}

#[test]
fn inflate_memory_released_between_messages_only() {
    let msg = b"0123456789 repeated 0123456789 repeated ".repeat(30);
    for cnct in [false, true] {
        let p = Params {
            client_no_context_takeover: cnct,
            ..Params::default()
        };
        let mut cd = Deflater::new(&Params {
            server_no_context_takeover: cnct,
            ..Params::default()
        });
        let f1 = cfz(OpCode::Binary, true, &cd.compress_message(&msg).unwrap());
        let f2 = cfz(OpCode::Binary, true, &cd.compress_message(&msg).unwrap());
        let mut d = deflate_decoder(limits(0, 100), &p);
        assert!(
            !d.holds_inflate_memory(),
            "nothing before a compressed message"
        );
        let mut ev = run_with(&mut d, &f1, 0).unwrap();
        assert!(d.holds_inflate_memory());
        assert!(d.take_inflate_active() && !d.take_inflate_active());
        d.release_inflate_memory();
        assert!(!d.holds_inflate_memory(), "cnct {cnct}");
        // Half of the next message, a release attempt, the rest.
        let mut buf = BytesMut::from(&f2[..f2.len() / 2]);
        drain(&mut d, &mut buf, &mut ev).unwrap();
        assert!(d.in_message());
        d.release_inflate_memory();
        buf.extend_from_slice(&f2[f2.len() / 2..]);
        drain(&mut d, &mut buf, &mut ev).unwrap();
        assert_eq!(
            items(&ev),
            vec![Item::Msg(true, msg.clone()), Item::Msg(true, msg.clone())],
            "cnct {cnct}"
        );
    }
}
