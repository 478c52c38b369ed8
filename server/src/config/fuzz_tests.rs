//! Deterministic fuzzing: the loader returns Ok or Err for any bytes, never
//! panics.

use super::*;
use fastrand::Rng;

const SEED_VHOST: &str = include_str!("testdata/seed_vhost");
const SEED_CONF: &str = include_str!("testdata/seed_conf");

/// Bytes that matter to the parser and the sections, to make mutations
/// reach deep.
const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"#",
    b"\n",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"-",
    b"0",
    b"1e",
    b".",
    b"true",
    b"null",
    b"\xff",
    b"\xc3\xa9",
    b"\"port\"",
    b"\"origin\"",
    b"\"mounts\": [{}]",
    b"\"ws-protocols\": [{\"p\": {\"a\": {}}}]",
    b"_lws_ddir_",
    b"\t",
    b"\"global\": {}",
    b"70000",
    b"\"vhosts\": [{}]",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.usize(..4) {
        let at = rng.usize(..out.len() + 1);
        match rng.usize(..5) {
            0 => out.truncate(at),
            1 if at < out.len() => out[at] = rng.u8(..),
            2 => {
                let ins = INTERESTING[rng.usize(..INTERESTING.len())];
                out.splice(at..at, ins.iter().copied());
            }
            3 if at < out.len() => {
                let end = (at + rng.usize(..16)).min(out.len());
                out.drain(at..end);
            }
            _ => {
                let end = (at + rng.usize(..64)).min(out.len());
                let chunk = out[at..end].to_vec();
                let to = rng.usize(..out.len() + 1);
                out.splice(to..to, chunk);
            }
        }
    }
    out
}

fn check(files: &[(&str, &[u8])]) {
    match load_bytes(files, &LoadOptions::default()) {
        Ok(l) => {
            assert!(!l.config.vhosts.is_empty());
            assert!(l.warnings.iter().all(|d| !d.is_error()));
            for d in &l.warnings {
                let _ = d.to_string();
            }
            let _ = host_checks(&l.config);
        }
        Err(Error::Invalid { problems }) => {
            assert!(problems.iter().any(|d| d.is_error()));
            for d in &problems {
                let _ = d.to_string();
            }
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2000 {
        let len = rng.usize(..200);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        // Half of them start like a config so the parser gets past '{'.
        if rng.usize(..2) == 0 {
            bytes.insert(0, b'{');
        }
        check(&[("conf", &bytes)]);
    }
}

#[test]
fn mutated_seed_files_never_panic() {
    let mut rng = Rng::with_seed(0xD1B5_4A32_D192_ED03);
    for _ in 0..3000 {
        let vhost = mutate(&mut rng, SEED_VHOST.as_bytes());
        let conf = mutate(&mut rng, SEED_CONF.as_bytes());
        check(&[("conf", &conf), ("conf.d/v", &vhost)]);
    }
}

#[test]
fn truncations_of_the_seed_never_panic() {
    let text = SEED_VHOST.as_bytes();
    for end in 0..=text.len() {
        check(&[("conf", &text[..end])]);
    }
}

#[test]
fn load_texts_accepts_lossy_random_text() {
    let mut rng = Rng::with_seed(0x1234_5678_9ABC_DEF1);
    for _ in 0..500 {
        let bytes = mutate(&mut rng, SEED_VHOST.as_bytes());
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_texts(&[("conf", &text)], &LoadOptions::default());
    }
}
