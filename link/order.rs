// Shared by the build scripts of `lwsws` (server/build.rs) and of the
// bundled plugins (link/plugin-build.rs), which `include!` it.

/// In a release build, asks the linker to lay out the functions a running
/// server executes in this file (`link/hot-code/<file>.txt`, made by
/// `scripts/hot-code`: `lwsws`, or a plugin's `libprotocol_*`) first and
/// together, through the build-script key `key` (`rustc-link-arg-bins`,
/// `rustc-cdylib-link-arg`); `link` is the path of `link/` from the
/// package's directory. Each file has its own list: a function the
/// binary runs is in a plugin too (the standard library), where it may
/// never run. The kernel maps code
/// in 64 KiB windows around each page touched, so resident memory follows
/// how scattered the code that runs is, not how much of it there is.
/// Symbols the list names but the build lacks are skipped without a word:
/// a stale list costs memory, never a build. `link/sections.ld`, beside
/// the list, moves the few other sections every run touches (`.init`, the
/// PLT, rustc's gdb section) next to what is touched anyway, and
/// `link/hot-code/<file>.ld`, made with the list, moves the read-only data
/// that code reads (its string constants, jump tables, the tables and
/// format strings it names) to the start of `.rodata`, together: left
/// where the compiler put them, they sat among the other crates' constants
/// and the first request brought six windows of `.rodata` back.
/// `COMLINK_LINK_MAP=<dir>` asks for the linker's map of each file
/// (`<dir>/<file>.map`), which `scripts/hot-code` reads to find them.
///
/// Only where rustc links with its own LLD by default (x86_64 Linux, since
/// Rust 1.90): GNU ld has no such option. `-C linker-features` or
/// `-fuse-ld` in the flags, or `COMLINK_LINK_ORDER=0`, turn it off.
fn hot_code_first(key: &str, link: &str, file: &str) {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let dir = env("CARGO_MANIFEST_DIR");
    let link = std::path::Path::new(&dir).join(link);
    let list = link.join("hot-code").join(format!("{file}.txt"));
    let sections = link.join("sections.ld");
    let data = link.join("hot-code").join(format!("{file}.ld"));
    println!("cargo:rerun-if-changed={}", list.display());
    println!("cargo:rerun-if-changed={}", sections.display());
    println!("cargo:rerun-if-changed={}", data.display());
    println!("cargo:rerun-if-env-changed=COMLINK_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=COMLINK_LINK_MAP");
    let flags = env("CARGO_ENCODED_RUSTFLAGS");
    let lld = env("TARGET") == "x86_64-unknown-linux-gnu"
        && !flags.contains("linker-features")
        && !flags.contains("fuse-ld")
        && env("COMLINK_LINK_ORDER") != "0";
    if env("PROFILE") == "release" && lld && list.exists() {
        println!("cargo:{key}=-Wl,--symbol-ordering-file={}", list.display());
        println!("cargo:{key}=-Wl,--no-warn-symbol-ordering");
        if sections.exists() {
            println!("cargo:{key}=-Wl,-T,{}", sections.display());
        }
        if data.exists() {
            println!("cargo:{key}=-Wl,-T,{}", data.display());
        }
        let map = env("COMLINK_LINK_MAP");
        if !map.is_empty() {
            println!("cargo:{key}=-Wl,-Map={map}/{file}.map");
        }
    }
}
