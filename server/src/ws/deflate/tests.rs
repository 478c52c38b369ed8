use super::*;

fn neg(s: &str) -> Option<String> {
    negotiate(s).map(|(_, r)| r)
}

#[test]
fn browser_offers() {
    // Chrome
    let (p, r) = negotiate("permessage-deflate; client_max_window_bits").unwrap();
    assert_eq!(r, "permessage-deflate");
    assert_eq!(p, Params::default());
    // Firefox
    assert_eq!(
        neg("permessage-deflate").as_deref(),
        Some("permessage-deflate")
    );
    // Safari-ish spacing / case
    assert_eq!(
        neg("Permessage-Deflate;Client_Max_Window_Bits").as_deref(),
        Some("permessage-deflate")
    );
}

#[test]
fn libwebsockets_client_offer() {
    let (p, r) =
        negotiate("permessage-deflate; client_no_context_takeover; client_max_window_bits")
            .unwrap();
    assert!(p.client_no_context_takeover);
    assert!(!p.server_no_context_takeover);
    assert_eq!(r, "permessage-deflate; client_no_context_takeover");
}

#[test]
fn server_params() {
    let (p, r) = negotiate(
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=15; client_max_window_bits=10",
    )
    .unwrap();
    assert!(p.server_no_context_takeover);
    assert_eq!(p.server_max_window_bits, 15);
    assert_eq!(p.client_max_window_bits, 10);
    assert_eq!(
        r,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=15"
    );
    // quoted value
    let (p, _) = negotiate("permessage-deflate; client_max_window_bits=\"12\"").unwrap();
    assert_eq!(p.client_max_window_bits, 12);
}

#[test]
fn first_acceptable_offer_wins() {
    let (p, r) = negotiate(
        "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_no_context_takeover",
    )
    .unwrap();
    assert!(p.server_no_context_takeover);
    assert_eq!(r, "permessage-deflate; server_no_context_takeover");
    // other extensions are skipped
    assert_eq!(
        neg("x-webkit-deflate-frame, permessage-deflate").as_deref(),
        Some("permessage-deflate")
    );
    // first acceptable of two acceptable
    let (p, _) =
        negotiate("permessage-deflate; client_no_context_takeover, permessage-deflate").unwrap();
    assert!(p.client_no_context_takeover);
}

#[test]
fn malformed_offers_declined() {
    for bad in [
        "",
        "x-webkit-deflate-frame",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=14",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=015",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=",
        "permessage-deflate; client_max_window_bits=\"10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
        "permessage-deflate; unknown_param",
        "permessage-deflate;",
        "permessage-deflate; ; client_max_window_bits",
    ] {
        assert_eq!(neg(bad), None, "{bad:?}");
    }
}

#[test]
fn sync_flush_tail_and_round_trip() {
    let p = Params::default();
    let mut d = Deflater::new(&p);
    let mut i = Inflater::new(&p);
    let msg = b"Hello, hello, hello, hello!".repeat(10);
    let c = d.compress_message(&msg).unwrap();
    assert!(!c.ends_with(&TAIL));
    assert!(c.len() < msg.len());
    assert_eq!(i.inflate_message(&c, 0).unwrap(), msg);
    // context takeover: the second identical message is smaller
    let c2 = d.compress_message(&msg).unwrap();
    assert!(c2.len() < c.len(), "{} vs {}", c2.len(), c.len());
    assert_eq!(i.inflate_message(&c2, 0).unwrap(), msg);
    // empty message
    let e = d.compress_message(b"").unwrap();
    assert!(e.len() <= 1);
    assert_eq!(i.inflate_message(&e, 0).unwrap(), b"");
}

#[test]
fn rfc7692_examples() {
    // §7.2.3.1: "Hello" compressed, no context takeover
    let mut i = Inflater::new(&Params::default());
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(i.inflate_message(&hello, 0).unwrap(), b"Hello");
    // §7.2.3.2: second "Hello" with context takeover
    assert_eq!(
        i.inflate_message(&[0xf2, 0x00, 0x11, 0x00, 0x00], 0)
            .unwrap(),
        b"Hello"
    );
    // §7.2.3.3: stored block
    let mut i = Inflater::new(&Params::default());
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(i.inflate_message(&stored, 0).unwrap(), b"Hello");
    // §7.2.3.4: BFINAL block, then a new message still decodes
    let mut i = Inflater::new(&Params::default());
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(i.inflate_message(&bfinal, 0).unwrap(), b"Hello");
    assert_eq!(i.inflate_message(&hello, 0).unwrap(), b"Hello");
}

#[test]
fn no_context_takeover_resets() {
    let p = Params {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..Params::default()
    };
    let mut d = Deflater::new(&p);
    let msg = b"abcdefghijabcdefghij0123456789".repeat(5);
    let c1 = d.compress_message(&msg).unwrap();
    let c2 = d.compress_message(&msg).unwrap();
    assert_eq!(c1, c2);
    // a fresh inflater (no shared history) reads the second message
    let mut i = Inflater::new(&p);
    assert_eq!(i.inflate_message(&c2, 0).unwrap(), msg);
    assert_eq!(i.inflate_message(&c1, 0).unwrap(), msg);
}

#[test]
fn corrupt_data_is_an_error() {
    let mut i = Inflater::new(&Params::default());
    assert!(i
        .inflate_message(&[0xff, 0xff, 0xff, 0xff, 0xff], 0)
        .is_err());
}

#[test]
fn limit_stops_bombs() {
    let mut d = Deflater::new(&Params::default());
    let c = d.compress_message(&vec![0u8; 1 << 20]).unwrap();
    assert!(c.len() < 4096);
    let mut i = Inflater::new(&Params::default());
    assert!(i.inflate_message(&c, 1000).is_err());
}

// ---------------------------------------------------------------------------
// No message is ever cut (issue #13): the compressor's output is complete
// whatever the size and content, around every buffer and block boundary.

use crate::test_rng::Rng;

/// What a message is made of.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Incompressible: the backend ends stored blocks at its own sizes.
    Random,
    /// Long matches only.
    Repetitive,
    /// Text-like: short matches and literals mixed.
    Text,
}

fn message(rng: &mut Rng, kind: Kind, len: usize) -> Vec<u8> {
    match kind {
        Kind::Random => (0..len).map(|_| rng.byte()).collect(),
        Kind::Repetitive => b"comlink!".iter().copied().cycle().take(len).collect(),
        Kind::Text => {
            const WORDS: &[&[u8]] = &[
                b"packet ",
                b"subscriber ",
                b"id=",
                b"42 ",
                b"{\"v\": ",
                b"}, ",
                b"\n",
                b"deflate ",
            ];
            let mut v = Vec::with_capacity(len + 16);
            while v.len() < len {
                if rng.chance(10) {
                    v.push(rng.byte());
                } else {
                    v.extend_from_slice(rng.pick(WORDS));
                }
            }
            v.truncate(len);
            v
        }
    }
}

/// An inflater independent of ours (flate2's, fed the whole payload and the
/// tail at once), so a bug shared by both directions of our code cannot hide.
fn reference_inflate(d: &mut flate2::Decompress, payload: &[u8], len_hint: usize) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&TAIL);
    let mut out = Vec::with_capacity(len_hint + 64);
    let mut pos = 0;
    loop {
        let in0 = d.total_in();
        d.decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
            .expect("reference inflate");
        pos += usize::try_from(d.total_in() - in0).unwrap();
        if pos == input.len() && out.len() < out.capacity() {
            return out;
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// Sizes where a buffer or block of the compressor ends: its lookahead
/// (262), its symbol buffer (16 Ki), stored blocks of random data (31,745
/// with miniz_oxide, 64 Ki - 1 in the format), the window (32 Ki) and their
/// multiples, each with its neighbours; the ranges issue #13 saw cut.
fn boundary_sizes() -> Vec<usize> {
    let mut v: Vec<usize> = (0..=8).collect();
    for base in [
        125usize, 126, 127, 128, 255, 256, 258, 262, 1024, 4096, 8192, 16_383, 16_384, 31_745,
        32_768, 65_535, 65_536,
    ] {
        for k in 1..=if base >= 16_383 { 4 } else { 1 } {
            let b = base * k;
            v.extend(b.saturating_sub(3)..=b + 3);
            v.extend([b + 258, b + 259, b + 262, b + 300]);
        }
    }
    v.extend((31_746..=32_045).step_by(23));
    v.extend((63_491..=63_790).step_by(23));
    v.extend([
        98_304,
        131_072,
        131_073,
        (1 << 20) - 1,
        1 << 20,
        (1 << 20) + 1,
    ]);
    v.sort_unstable();
    v.dedup();
    v
}

fn check_sizes(kind: Kind, sizes: &[usize], takeover: bool, rng: &mut Rng) {
    let p = Params {
        server_no_context_takeover: !takeover,
        ..Params::default()
    };
    // One compressor for the whole run with context takeover (every message
    // starts where the last one left the backend), a fresh one per message
    // without.
    let mut d = Deflater::new(&p);
    let mut ours = Inflater::new(&Params {
        client_no_context_takeover: !takeover,
        ..Params::default()
    });
    let mut reference = flate2::Decompress::new(false);
    for &len in sizes {
        let msg = message(rng, kind, len);
        let c = d.compress_message(&msg).unwrap();
        let back = reference_inflate(&mut reference, &c, len);
        assert!(
            back.len() == len && back == msg,
            "{kind:?} {len} bytes (takeover {takeover}): came back as {} bytes",
            back.len()
        );
        assert_eq!(ours.inflate_message(&c, 0).unwrap(), msg, "{kind:?} {len}");
        if !takeover {
            reference.reset(false);
        }
    }
}

#[test]
fn compress_never_cuts_a_message_at_a_boundary() {
    let sizes = boundary_sizes();
    let mut rng = Rng::new(13);
    for kind in [Kind::Random, Kind::Repetitive, Kind::Text] {
        for takeover in [true, false] {
            check_sizes(kind, &sizes, takeover, &mut rng);
        }
    }
}

#[test]
fn compress_never_cuts_sizes_the_issue_saw_cut() {
    // 31,746-32,045 and 63,491-63,790 random bytes came back cut to 31,745
    // and 63,490 on a fresh connection: every size, each time fresh.
    let mut rng = Rng::new(1346);
    let sizes: Vec<usize> = (31_740..=32_050).chain(63_485..=63_795).collect();
    for &len in &sizes {
        check_sizes(Kind::Random, &[len], true, &mut rng);
    }
}

#[test]
fn compress_never_cuts_16_mib() {
    let mut rng = Rng::new(16);
    for kind in [Kind::Random, Kind::Repetitive] {
        check_sizes(kind, &[16 << 20, 65_536, 16 << 20], true, &mut rng);
    }
}

#[test]
fn compress_fragments_never_cut() {
    // A message compressed in pieces (LWS_WRITE_NO_FIN): each piece is
    // flushed whole, the tail comes off the last one only.
    let mut rng = Rng::new(7);
    let p = Params::default();
    let mut d = Deflater::new(&p);
    let mut i = Inflater::new(&p);
    for len in [1usize, 31_746, 65_536, 200_000] {
        for pieces in [1usize, 2, 3, 7] {
            let msg = message(&mut rng, Kind::Random, len);
            let step = len.div_ceil(pieces).max(1);
            let mut c = Vec::new();
            let parts: Vec<&[u8]> = msg.chunks(step).collect();
            for (k, part) in parts.iter().enumerate() {
                d.compress(part, k + 1 == parts.len(), &mut c).unwrap();
            }
            assert_eq!(i.inflate_message(&c, 0).unwrap(), msg, "{len} in {pieces}");
        }
    }
}

/// Property: any sequence of messages (any content, size, fragmentation,
/// level and context mode) compressed by a [`Deflater`] inflates back to
/// itself, message by message, with the state each side keeps.
#[test]
fn prop_compress_inflate_round_trip() {
    let mut rng = Rng::new(0x0c0f_fee5);
    for case in 0..300 {
        let snct = rng.chance(30);
        let level = rng.pick(&[0u32, 1, 6, 9]);
        let p = Params {
            server_no_context_takeover: snct,
            ..Params::default()
        };
        let mut d = Deflater::with_level(&p, level);
        let mut i = Inflater::new(&Params {
            client_no_context_takeover: snct,
            ..Params::default()
        });
        let mut reference = flate2::Decompress::new(false);
        for m in 0..1 + rng.below(5) {
            let len = match rng.below(4) {
                0 => rng.below(300),
                1 => rng.below(70_000),
                2 => rng.pick(&[16_384usize, 31_745, 32_768, 65_536]) + rng.below(600) - 300,
                _ => rng.below(300_000),
            };
            // Mixed content: runs of each kind.
            let mut msg = Vec::with_capacity(len);
            while msg.len() < len {
                let kind = rng.pick(&[Kind::Random, Kind::Repetitive, Kind::Text]);
                let run = (1 + rng.below(40_000)).min(len - msg.len());
                msg.extend(message(&mut rng, kind, run));
            }
            // Whatever the output buffer already holds and has room for
            // (where the backend's calls end depends on it).
            let prefix = rng.below(3);
            let mut c = Vec::with_capacity(rng.below(100_000));
            c.resize(prefix, 0xa5);
            let mut pos = 0;
            loop {
                let n = if rng.chance(70) {
                    len - pos
                } else {
                    rng.below(len - pos + 1)
                };
                let fin = pos + n == len;
                d.compress(&msg[pos..pos + n], fin, &mut c).unwrap();
                pos += n;
                if fin {
                    break;
                }
            }
            assert!(c[..prefix].iter().all(|&b| b == 0xa5), "prefix kept");
            let c = c.split_off(prefix);
            let back = i.inflate_message(&c, 0).unwrap();
            assert!(
                back == msg,
                "case {case} message {m}: {len} bytes came back as {}",
                back.len()
            );
            assert_eq!(reference_inflate(&mut reference, &c, len), msg);
            if snct {
                reference.reset(false);
            }
        }
    }
}
