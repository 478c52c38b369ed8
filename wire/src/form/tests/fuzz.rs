//! Randomised bodies (urlencoded and multipart, mutated, cut at random
//! places) against the parser's own invariants and what was generated.

use super::*;

const FUZZ_NAMES: &[&str] = &["text", "send", "file", "upload", "other", "x", ""];

/// Bytes that make boundary matching interesting.
fn fuzz_bytes(rng: &mut Rng, boundary: &[u8], max: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let len = rng.below(max + 1);
    while v.len() < len {
        match rng.below(10) {
            0 => {
                v.extend_from_slice(b"\r\n--");
                let n = rng.below(boundary.len() + 1);
                v.extend_from_slice(&boundary[..n]);
            }
            1 => {
                let bits: [&[u8]; 6] = [b"\r", b"\n", b"-", b"\r\n", b"%", b"+"];
                let bit: &[u8] = rng.pick(&bits);
                v.extend_from_slice(bit);
            }
            2 => v.push(rng.next() as u8),
            _ => v.push(rng.pick(b"abcXYZ09=&;\" ")),
        }
    }
    v
}

struct Generated {
    ct: String,
    body: Vec<u8>,
    /// What a correct parse gives (with ample storage).
    values: Vec<Option<Vec<u8>>>,
    events: Vec<Ev>,
    /// Storage the values need (lws accounting).
    need: usize,
}

fn expect_field(g: &mut Generated, name: &str, value: &[u8]) {
    if let Some(i) = FUZZ_NAMES[..4].iter().position(|n| *n == name) {
        if !value.is_empty() {
            g.need += value.len() + 1;
            if g.values[i].is_none() {
                g.values[i] = Some(value.to_vec());
            }
        }
    }
}

fn gen_multipart(rng: &mut Rng) -> Generated {
    let boundary: Vec<u8> = {
        let len = 1 + rng.below(20);
        (0..len).map(|_| rng.pick(b"-abAB09_'()+,./:=?")).collect()
    };
    let delim = [b"\r\n--", &boundary[..]].concat();
    let quoted = rng.chance(50);
    let ct = if quoted {
        format!(
            "multipart/form-data; boundary=\"{}\"",
            String::from_utf8_lossy(&boundary)
        )
    } else {
        format!(
            "multipart/form-data; boundary={}",
            String::from_utf8_lossy(&boundary)
        )
    };
    let mut g = Generated {
        ct,
        body: Vec::new(),
        values: vec![None; 4],
        events: Vec::new(),
        need: 0,
    };
    if rng.chance(30) {
        // A preamble must not contain the delimiter either.
        let pre = fuzz_bytes(rng, &boundary, 30);
        let mut with_crlf = pre.clone();
        with_crlf.extend_from_slice(b"\r\n");
        let stream = [&b"\r\n"[..], &with_crlf, &delim].concat();
        if find(&stream, &delim) == Some(stream.len() - delim.len()) {
            g.body.extend_from_slice(&with_crlf);
        }
    }
    g.body.extend_from_slice(b"--");
    g.body.extend_from_slice(&boundary);
    let parts = rng.below(5);
    for _ in 0..parts {
        let eols: [&[u8]; 3] = [b"\r\n", b"  \r\n", b"\t\r\n"];
        let eol: &[u8] = rng.pick(&eols);
        g.body.extend_from_slice(eol);
        let name = rng.pick(FUZZ_NAMES);
        let filename = if rng.chance(35) {
            rng.pick(&["a.txt", "x y.bin", "", "C:\\p\\q"])
        } else {
            "-"
        };
        let hname = rng.pick(&[
            "Content-Disposition",
            "content-disposition",
            "CONTENT-DISPOSITION",
        ]);
        if rng.chance(30) {
            g.body.extend_from_slice(b"Content-Type: text/plain\r\n");
        }
        let mut disp = format!("{hname}: form-data; name=\"{name}\"");
        if filename != "-" {
            disp.push_str(&format!("; filename=\"{filename}\""));
        }
        g.body.extend_from_slice(disp.as_bytes());
        g.body.extend_from_slice(b"\r\n\r\n");
        let content = loop {
            let c = fuzz_bytes(rng, &boundary, 60);
            let stream = [&c[..], &delim].concat();
            if find(&stream, &delim) == Some(c.len()) {
                break c;
            }
        };
        g.body.extend_from_slice(&content);
        g.body.extend_from_slice(&delim);
        if filename != "-" && !filename.is_empty() {
            g.events.push(Ev::Open(name.into(), filename.into()));
            if !content.is_empty() {
                g.events.push(Ev::Data(content));
            }
            g.events.push(Ev::Final);
        } else {
            expect_field(&mut g, name, &content);
        }
    }
    g.body.extend_from_slice(b"--");
    if rng.chance(30) {
        g.body.extend_from_slice(b"\r\nepilogue\r\n--");
        g.body.extend_from_slice(&boundary);
    }
    g.events.push(close());
    g
}

fn gen_urlencoded(rng: &mut Rng) -> Generated {
    let mut g = Generated {
        ct: "application/x-www-form-urlencoded".into(),
        body: Vec::new(),
        values: vec![None; 4],
        events: vec![close()],
        need: 0,
    };
    for k in 0..rng.below(6) {
        if k > 0 {
            g.body.push(b'&');
        }
        let name = rng.pick(FUZZ_NAMES);
        g.body.extend_from_slice(name.as_bytes());
        if rng.chance(10) {
            continue; // name without a value
        }
        g.body.push(b'=');
        let value: Vec<u8> = (0..rng.below(20)).map(|_| rng.next() as u8).collect();
        for &b in &value {
            match b {
                b' ' if rng.chance(50) => g.body.push(b'+'),
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' | b'=' => g.body.push(b),
                _ => g.body.extend_from_slice(
                    if rng.chance(50) {
                        format!("%{b:02x}")
                    } else {
                        format!("%{b:02X}")
                    }
                    .as_bytes(),
                ),
            }
        }
        expect_field(&mut g, name, &value);
    }
    g
}

fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(body.len() + 1);
        match rng.below(5) {
            0 if at < body.len() => body[at] = rng.next() as u8,
            1 => {
                let end = (at + rng.below(8)).min(body.len());
                body.drain(at..end);
            }
            2 => {
                let junk = fuzz_bytes(rng, b"XYZ", 8);
                body.splice(at..at, junk);
            }
            3 => body.truncate(at),
            _ => {
                let end = (at + rng.below(40)).min(body.len());
                let copy = body[at..end].to_vec();
                body.splice(at..at, copy);
            }
        }
    }
}

fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut at = 0;
    loop {
        let most = if rng.chance(50) { 4 } else { 64 };
        at += 1 + rng.below(most);
        if at >= len {
            return cuts;
        }
        cuts.push(at);
    }
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let names: Vec<&str> = FUZZ_NAMES[..4].to_vec();
    let (mut checked_files, mut checked_values, mut overflowed) = (0, 0, 0);
    for round in 0..4000 {
        let g = if rng.chance(60) {
            gen_multipart(&mut rng)
        } else {
            gen_urlencoded(&mut rng)
        };
        let mutated = rng.chance(50);
        let mut body = g.body.clone();
        let mut ct = g.ct.clone();
        if mutated {
            mutate(&mut rng, &mut body);
            if rng.chance(5) {
                body = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            }
            if rng.chance(5) {
                ct = rng
                    .pick(&[
                        "multipart/form-data; boundary=--",
                        "text/plain",
                        "multipart/related; boundary=a",
                    ])
                    .to_string();
            }
        }
        let max = rng.pick(&[0, 1, 2, 8, 64, 4096]);
        let a = run_cuts(
            Some(&ct),
            &names,
            max,
            &body,
            &random_cuts(&mut rng, body.len()),
        );
        let b = run_cuts(
            Some(&ct),
            &names,
            max,
            &body,
            &random_cuts(&mut rng, body.len()),
        );
        assert_eq!(a.outcome, b.outcome, "round {round}: splits disagree");
        for r in [&a, &b] {
            assert!(r.max_buffered <= MAX_PART_HEADER + MAX_BOUNDARY_LEN + 4);
            assert!(r.storage_used < max.max(1) || (max == 0 && r.storage_used < 512));
            let stored: usize = r.outcome.values.iter().flatten().map(Vec::len).sum();
            assert!(stored <= body.len());
            let data: usize = r
                .outcome
                .events
                .iter()
                .map(|e| match e {
                    Ev::Data(d) => d.len(),
                    _ => 0,
                })
                .sum();
            assert!(data <= body.len());
        }
        if !mutated {
            let limit = if max == 0 { 512 } else { max };
            if g.need < limit {
                let expected = Outcome {
                    values: g.values.clone(),
                    events: g.events.clone(),
                    error: None,
                    finalize: Ok(()),
                };
                assert_eq!(
                    a.outcome,
                    expected,
                    "round {round}: {:?}",
                    String::from_utf8_lossy(&body)
                );
                checked_files += usize::from(g.events.len() > 1);
                checked_values += usize::from(g.values.iter().any(Option::is_some));
            } else {
                overflowed += 1;
                assert_eq!(
                    a.outcome.error,
                    Some(FormError::StorageExceeded { max_storage: limit }),
                    "round {round}"
                );
            }
        }
    }
    // The generator is not degenerate.
    assert!(checked_files > 300, "{checked_files}");
    assert!(checked_values > 300, "{checked_values}");
    assert!(overflowed > 100, "{overflowed}");
}
