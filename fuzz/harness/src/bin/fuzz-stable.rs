//! A libFuzzer-free fuzz driver for stable Rust: deterministic random
//! mutations (bit flips, byte edits, insertions, deletions, duplicated and
//! spliced ranges) of the seed inputs, run for a bounded time per target.
//! Not coverage-guided: `scripts/fuzz` uses cargo-fuzz when a nightly
//! toolchain is there and this only when it is not.
//!
//! Usage: fuzz-stable SEEDS_DIR ARTIFACTS_DIR SECONDS [TARGET...]
//! (SEEDS_DIR/<target>/* are the seeds; a failing input is written to
//! ARTIFACTS_DIR/<target>/crash-<n>). Exits 1 if any target failed.

use std::path::Path;
use std::time::{Duration, Instant};

/// fastrand's seeded generator, with the two draws the mutations use.
struct Rng(fastrand::Rng);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }
    /// Below `n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.usize(..n)
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b":",
    b",",
    b";",
    b"\0",
    b"0",
    b"\xff",
    b"%",
    b"=",
    b"&",
    b"--",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b"#",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked",
    b"\r\n\r\n",
    b"boundary=",
    b"Content-Disposition: form-data; name=\"file\"; filename=\"f\"",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let t = INTERESTING[rng.below(INTERESTING.len())];
                input.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(64)) + 1;
                input.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(256)) + 1;
                let piece: Vec<u8> = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, piece);
            }
            5 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = rng.below(other.len() - i) + 1;
                    let at = rng.below(len + 1);
                    input.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            6 if len > 0 => input.truncate(rng.below(len)),
            _ => {
                let i = rng.below(len + 1);
                input.insert(i, rng.next() as u8);
            }
        }
    }
    input.truncate(64 * 1024);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: fuzz-stable SEEDS_DIR ARTIFACTS_DIR SECONDS [TARGET...]");
        std::process::exit(2);
    }
    let seeds_dir = Path::new(&args[1]);
    let artifacts = Path::new(&args[2]);
    let secs: u64 = args[3].parse().expect("SECONDS");
    let wanted: Vec<&str> = args[4..].iter().map(String::as_str).collect();
    // Failed checks are reported here, not as panic noise.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for (name, run) in comlink_fuzz_harness::TARGETS {
        if !wanted.is_empty() && !wanted.contains(name) {
            continue;
        }
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(seeds_dir.join(name))
            .map(|d| {
                d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if seeds.is_empty() {
            seeds.push(Vec::new());
        }
        let mut rng = Rng(fastrand::Rng::with_seed(
            0x9E37_79B9_7F4A_7C15 ^ name.len() as u64,
        ));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (mut execs, mut crashes) = (0u64, 0u32);
        // Every seed as it is, then mutations until the time is up.
        let mut queue: Vec<Vec<u8>> = seeds.clone();
        while Instant::now() < deadline {
            let input = match queue.pop() {
                Some(i) => i,
                None => {
                    let mut i = seeds[rng.below(seeds.len())].clone();
                    mutate(&mut rng, &seeds, &mut i);
                    i
                }
            };
            execs += 1;
            if std::panic::catch_unwind(|| run(&input)).is_err() {
                crashes += 1;
                let dir = artifacts.join(name);
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!("crash-{crashes}"));
                let _ = std::fs::write(&path, &input);
                eprintln!("{name}: failing input saved to {}", path.display());
                if crashes >= 5 {
                    break;
                }
            }
        }
        println!("{name}: {execs} executions in {secs} s (stable mutation driver, not coverage-guided), {crashes} failing inputs");
        failed |= crashes > 0;
    }
    std::process::exit(i32::from(failed));
}
