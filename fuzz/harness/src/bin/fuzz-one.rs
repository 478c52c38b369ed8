//! Runs one input file through one target, panics and all, to see why it
//! failed: `fuzz-one TARGET FILE`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: fuzz-one TARGET FILE");
        std::process::exit(2);
    }
    let Some((_, run)) = comlink_fuzz_harness::TARGETS
        .iter()
        .find(|(n, _)| *n == args[1])
    else {
        eprintln!("no target {}", args[1]);
        std::process::exit(2);
    };
    let input = std::fs::read(&args[2]).expect("read the input");
    let t = std::time::Instant::now();
    run(&input);
    println!("{}: passed in {:?}", args[1], t.elapsed());
}
