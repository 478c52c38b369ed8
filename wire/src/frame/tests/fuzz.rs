use super::*;
use crate::test_rng::Rng;

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
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
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
    let mut rng = Rng::new(12345);
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
