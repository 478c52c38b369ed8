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
        "permessage-deflate; server_max_window_bits=16, permessage-deflate; server_no_context_takeover",
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
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=\"14",
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
    // Level 9: the densest bomb (the default level 1 is built for speed).
    let mut d = Deflater::with_level(&Params::default(), 9);
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

// ---------------------------------------------------------------------------
// server_max_window_bits 8..=15 (Autobahn 13.3, 13.5, 13.7)

/// A plain RFC 1951 decoder (after zlib's `puff`) that also reports the
/// longest back-reference: the check that what we send stays inside the
/// window the client inflates with. zlib-rs cannot be that check: its
/// inflater always keeps 32 KiB, whatever window it is given.
mod audit {
    struct Bits<'a> {
        data: &'a [u8],
        pos: usize,
        buf: u32,
        cnt: u32,
    }

    impl Bits<'_> {
        fn need(&mut self, n: u32) -> Result<u32, String> {
            while self.cnt < n {
                let b = *self.data.get(self.pos).ok_or("out of input")?;
                self.pos += 1;
                self.buf |= u32::from(b) << self.cnt;
                self.cnt += 8;
            }
            let v = self.buf & ((1u32 << n) - 1);
            self.buf >>= n;
            self.cnt -= n;
            Ok(v)
        }
    }

    struct Huffman {
        count: [u16; 16],
        symbol: Vec<u16>,
    }

    impl Huffman {
        fn new(lengths: &[u8]) -> Huffman {
            let mut count = [0u16; 16];
            for &l in lengths {
                count[usize::from(l)] += 1;
            }
            count[0] = 0;
            let mut offs = [0u16; 16];
            for l in 1..15 {
                offs[l + 1] = offs[l] + count[l];
            }
            let mut symbol = vec![0u16; lengths.len()];
            for (sym, &l) in lengths.iter().enumerate() {
                if l != 0 {
                    symbol[usize::from(offs[usize::from(l)])] = sym as u16;
                    offs[usize::from(l)] += 1;
                }
            }
            Huffman { count, symbol }
        }

        fn decode(&self, b: &mut Bits<'_>) -> Result<usize, String> {
            let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
            for len in 1..16 {
                code |= b.need(1)? as i32;
                let count = i32::from(self.count[len]);
                if code - count < first {
                    return Ok(usize::from(self.symbol[(index + (code - first)) as usize]));
                }
                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }
            Err("bad code".into())
        }
    }

    const LBASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEXT: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DBASE: [u16; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DEXT: [u8; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
    ];

    /// Decodes a raw DEFLATE stream that ends at a block boundary on a byte
    /// boundary (sync-flushed), appending to `out` (which may hold earlier
    /// history). Returns the longest distance used.
    pub(super) fn decode(data: &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
        let mut b = Bits {
            data,
            pos: 0,
            buf: 0,
            cnt: 0,
        };
        let mut max_dist = 0;
        while b.pos < data.len() {
            let _last = b.need(1)?;
            match b.need(2)? {
                0 => {
                    b.buf = 0;
                    b.cnt = 0;
                    let len = b.need(16)?;
                    let nlen = b.need(16)?;
                    if len != !nlen & 0xffff {
                        return Err("stored lengths".into());
                    }
                    let end = b.pos + len as usize;
                    out.extend_from_slice(data.get(b.pos..end).ok_or("stored past the end")?);
                    b.pos = end;
                }
                kind @ (1 | 2) => {
                    let (lit, dist) = if kind == 1 {
                        let mut l = [8u8; 288];
                        l[144..256].fill(9);
                        l[256..280].fill(7);
                        (Huffman::new(&l), Huffman::new(&[5u8; 30]))
                    } else {
                        let nlen = b.need(5)? as usize + 257;
                        let ndist = b.need(5)? as usize + 1;
                        let ncode = b.need(4)? as usize + 4;
                        const ORDER: [usize; 19] = [
                            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                        ];
                        let mut cl = [0u8; 19];
                        for &i in &ORDER[..ncode] {
                            cl[i] = b.need(3)? as u8;
                        }
                        let ch = Huffman::new(&cl);
                        let mut lengths = Vec::with_capacity(nlen + ndist);
                        while lengths.len() < nlen + ndist {
                            let sym = ch.decode(&mut b)?;
                            let (val, rep) = match sym {
                                0..=15 => (sym as u8, 1),
                                16 => (*lengths.last().ok_or("repeat first")?, 3 + b.need(2)?),
                                17 => (0, 3 + b.need(3)?),
                                _ => (0, 11 + b.need(7)?),
                            };
                            lengths.extend(std::iter::repeat_n(val, rep as usize));
                        }
                        (
                            Huffman::new(&lengths[..nlen]),
                            Huffman::new(&lengths[nlen..]),
                        )
                    };
                    loop {
                        let sym = lit.decode(&mut b)?;
                        if sym < 256 {
                            out.push(sym as u8);
                        } else if sym == 256 {
                            break;
                        } else {
                            let i = sym - 257;
                            let len = usize::from(*LBASE.get(i).ok_or("length code")?)
                                + b.need(u32::from(LEXT[i]))? as usize;
                            let d = dist.decode(&mut b)?;
                            let d = usize::from(*DBASE.get(d).ok_or("distance code")?)
                                + b.need(u32::from(DEXT[d]))? as usize;
                            if d > out.len() {
                                return Err(format!("distance {d} before the start"));
                            }
                            max_dist = max_dist.max(d);
                            for _ in 0..len {
                                out.push(out[out.len() - d]);
                            }
                        }
                    }
                }
                _ => return Err("block type 3".into()),
            }
        }
        Ok(max_dist)
    }
}

/// Text whose repeats sit at chosen distances, up to well beyond 32 KiB.
fn repeats_at_distances(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = message(rng, Kind::Random, 64);
    while v.len() < len {
        let d = rng.pick(&[
            3usize, 100, 249, 250, 251, 255, 256, 257, 258, 300, 511, 512, 513, 1000, 4096, 8192,
            16_384, 32_000, 32_768,
        ]);
        if d <= v.len() {
            let at = v.len() - d;
            let n = (3 + rng.below(40)).min(d);
            let piece = v[at..at + n].to_vec();
            v.extend(piece);
        }
        let n = 1 + rng.below(8);
        v.extend(message(rng, Kind::Random, n));
    }
    v.truncate(len);
    v
}

#[test]
fn server_max_window_bits_8_to_15_agreed_and_echoed() {
    for bits in 8..=15u8 {
        let (p, r) = negotiate(&format!(
            "permessage-deflate; server_max_window_bits={bits}"
        ))
        .unwrap();
        assert_eq!(p.server_max_window_bits, bits);
        assert_eq!(
            r,
            format!("permessage-deflate; server_max_window_bits={bits}")
        );
    }
    // Autobahn 13.5: with no context takeover; 13.7: the first of three.
    let (p, r) = negotiate(
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=8, \
         permessage-deflate; server_no_context_takeover, permessage-deflate",
    )
    .unwrap();
    assert!(p.server_no_context_takeover);
    assert_eq!(p.server_max_window_bits, 8);
    assert_eq!(
        r,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"
    );
    assert_eq!(compress_window_bits(8), 9);
    assert_eq!(compress_window_bits(12), 12);
}

#[test]
fn compressed_references_stay_inside_the_agreed_window() {
    let mut rng = Rng::new(8);
    let msgs: Vec<Vec<u8>> = (0..4)
        .map(|k| repeats_at_distances(&mut rng, [20_000, 3_000, 0, 9_000][k]))
        .collect();
    for bits in 8..=15u8 {
        for takeover in [true, false] {
            let (p, _) = negotiate(&format!(
                "permessage-deflate; server_max_window_bits={bits}{}",
                if takeover {
                    ""
                } else {
                    "; server_no_context_takeover"
                }
            ))
            .unwrap();
            let mut d = Deflater::new(&p);
            // The client's inflater: history kept across messages or not.
            let mut history = Vec::new();
            for (k, m) in msgs.iter().enumerate() {
                let mut c = d.compress_message(m).unwrap();
                c.extend_from_slice(&TAIL);
                if !takeover {
                    history.clear();
                }
                let start = history.len();
                let longest = audit::decode(&c, &mut history)
                    .unwrap_or_else(|e| panic!("{bits} bits, message {k}: {e}"));
                assert!(history[start..] == m[..], "{bits} bits, message {k}");
                assert!(
                    longest <= 1 << bits,
                    "{bits} bits, message {k}: a reference {longest} bytes back"
                );
            }
        }
    }
    // The check bites: with 15 bits the same messages reach further back.
    let mut d = Deflater::new(&Params::default());
    let mut c = d.compress_message(&msgs[0]).unwrap();
    c.extend_from_slice(&TAIL);
    let mut out = Vec::new();
    assert!(audit::decode(&c, &mut out).unwrap() > 4096);
    assert!(out == msgs[0]);
}

#[test]
fn empty_messages_and_empty_final_fragments() {
    // zlib writes nothing for a flush right after a flush: such a message
    // must still be something the receiver's tail completes.
    for bits in [8u8, 15] {
        for snct in [false, true] {
            let p = Params {
                server_no_context_takeover: snct,
                server_max_window_bits: bits,
                ..Params::default()
            };
            let mut d = Deflater::new(&p);
            let mut i = Inflater::new(&Params {
                client_no_context_takeover: snct,
                ..Params::default()
            });
            for m in [&b""[..], b"", b"x", b"", b"", b"abcabcabc", b""] {
                let c = d.compress_message(m).unwrap();
                assert!(!c.is_empty(), "an empty payload is not a message");
                assert_eq!(i.inflate_message(&c, 0).unwrap(), m);
            }
            // Fragments: data, then an empty final piece; empty, then data.
            for parts in [
                &[&b"first"[..], b""][..],
                &[b"", b"second"],
                &[b"", b""],
                &[b"a", b"", b"", b"b", b""],
            ] {
                let mut c = Vec::new();
                for (k, part) in parts.iter().enumerate() {
                    d.compress(part, k + 1 == parts.len(), &mut c).unwrap();
                }
                assert_eq!(i.inflate_message(&c, 0).unwrap(), parts.concat());
            }
        }
    }
}

#[test]
fn small_windows_never_cut_a_message_either() {
    let mut rng = Rng::new(9);
    let sizes: Vec<usize> = [0usize, 1, 258, 16_384, 31_746, 65_536, 200_000]
        .into_iter()
        .collect();
    for bits in [8u8, 9, 12] {
        let (p, _) = negotiate(&format!(
            "permessage-deflate; server_max_window_bits={bits}"
        ))
        .unwrap();
        let mut d = Deflater::new(&p);
        let mut i = Inflater::new(&Params::default());
        for &len in &sizes {
            for kind in [Kind::Random, Kind::Text] {
                let m = message(&mut rng, kind, len);
                let c = d.compress_message(&m).unwrap();
                assert!(
                    i.inflate_message(&c, 0).unwrap() == m,
                    "{bits} bits {kind:?} {len}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Codec memory: made when used, given back between messages when allowed.

#[test]
fn deflater_is_made_when_used_and_released_between_messages() {
    let p = Params::default();
    let mut d = Deflater::new(&p);
    assert!(!d.is_allocated(), "nothing before the first message");
    assert!(!d.take_active());
    let msg = b"the same words, the same words, the same words".repeat(20);
    let c1 = d.compress_message(&msg).unwrap();
    assert!(d.is_allocated());
    assert!(d.take_active());
    assert!(!d.take_active(), "activity is taken once");
    // Context takeover: the second copy refers to the first...
    let c2 = d.compress_message(&msg).unwrap();
    assert!(c2.len() < c1.len() / 2);
    // ...until the state is released: then it stands alone, and an
    // inflater that kept its window still reads it.
    assert!(d.release());
    assert!(!d.is_allocated());
    assert!(!d.release(), "nothing left to release");
    let c3 = d.compress_message(&msg).unwrap();
    assert_eq!(c3, c1, "a fresh state compresses as the first message did");
    let mut i = Inflater::new(&p);
    for c in [&c1, &c2, &c3] {
        assert_eq!(i.inflate_message(c, 0).unwrap(), msg);
    }
    // Never inside a fragmented message.
    let mut out = Vec::new();
    d.compress(b"first part, ", false, &mut out).unwrap();
    assert!(!d.release(), "released inside a message");
    d.compress(b"last part", true, &mut out).unwrap();
    assert!(d.release());
    assert_eq!(
        i.inflate_message(&out, 0).unwrap(),
        b"first part, last part"
    );
}

#[test]
fn inflater_is_made_when_used_and_released_only_without_takeover() {
    let msg = b"abcabcabcabc".repeat(10);
    // The client takes its context over: the window is kept.
    let p = Params::default();
    let mut d = Deflater::new(&p);
    let mut i = Inflater::new(&p);
    assert!(!i.is_allocated());
    let c = d.compress_message(&msg).unwrap();
    assert_eq!(i.inflate_message(&c, 0).unwrap(), msg);
    assert!(i.is_allocated() && i.take_active() && !i.take_active());
    assert!(!i.can_release());
    assert!(!i.release(), "the next message may refer to this one");
    let c = d.compress_message(&msg).unwrap();
    assert_eq!(i.inflate_message(&c, 0).unwrap(), msg);
    // client_no_context_takeover: given back between messages, not inside.
    let p = Params {
        client_no_context_takeover: true,
        ..Params::default()
    };
    let mut d = Deflater::new(&Params {
        server_no_context_takeover: true,
        ..Params::default()
    });
    let c = d.compress_message(&msg).unwrap();
    let mut i = Inflater::new(&p);
    let mut buf = [0u8; 8];
    let (used, _) = i.inflate(&c[..3], &mut buf).unwrap();
    assert!(used > 0 && i.can_release());
    assert!(!i.release(), "released inside a message");
    i.end_message();
    assert!(i.release());
    assert!(!i.is_allocated());
    for _ in 0..2 {
        assert_eq!(
            i.inflate_message(&c, 0).unwrap(),
            msg,
            "a new state reads the next one"
        );
        assert!(i.release());
    }
}
