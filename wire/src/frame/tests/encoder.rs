use super::*;

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

#[test]
fn client_frames_are_masked_and_decode_on_the_server_side() {
    let mut e = Encoder::new();
    e.set_client_masking(42);
    let mut out = BytesMut::new();
    e.data(&mut out, OpCode::Text, true, b"hello client")
        .unwrap();
    e.control(&mut out, OpCode::Ping, b"p").unwrap();
    e.close(&mut out, Some(1000), "bye");
    // Every frame has the mask bit, and the payload is not in clear.
    assert_eq!(out[1] & 0x80, 0x80);
    assert!(!out.windows(5).any(|w| w == b"hello"));
    let mut d = Decoder::new(Limits::default());
    match d.feed(&mut out).unwrap() {
        Some(Event::Data { payload, last, .. }) => {
            assert!(last);
            assert_eq!(&payload[..], b"hello client");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(d.feed(&mut out).unwrap(), Some(Event::Ping(p)) if &p[..] == b"p"));
    match d.feed(&mut out).unwrap() {
        Some(Event::Close { code, reason }) => {
            assert_eq!(code, Some(1000));
            assert_eq!(reason, "bye");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn decoder_of_server_frames_takes_unmasked_and_refuses_masked() {
    let mut d = Decoder::for_server_frames(Limits::default());
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Binary, true, false, b"\x01\x02");
    match d.feed(&mut out).unwrap() {
        Some(Event::Data {
            payload, binary, ..
        }) => {
            assert!(binary);
            assert_eq!(&payload[..], b"\x01\x02");
        }
        other => panic!("{other:?}"),
    }
    let mut masked = BytesMut::from(&cf(OpCode::Text, true, b"x")[..]);
    let err = d.feed(&mut masked).unwrap_err();
    assert_eq!(err.code, 1002);
}
