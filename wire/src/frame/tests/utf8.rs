use super::*;

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
