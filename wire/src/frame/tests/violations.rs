use super::*;

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
