//! The build script of the bundled plugins (each names it with `build =
//! "../../link/plugin-build.rs"`). Most of a plugin's code is its own copy
//! of Rust's standard library, and most of that (the backtrace printer)
//! never runs: laid out apart from the code that does, it stays out of
//! memory.

include!("order.rs");

fn main() {
    // Relative relocations packed (DT_RELR, as lwsws itself: see
    // server/build.rs): a plugin's thousands of them, 24 bytes each as
    // RELA entries, were up to a fifth of its read-only segment, all of it read
    // at every load.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    let lib = format!(
        "lib{}",
        std::env::var("CARGO_PKG_NAME")
            .unwrap_or_default()
            .replace('-', "_")
    );
    hot_code_first("rustc-cdylib-link-arg", "../../link", &lib);
}
