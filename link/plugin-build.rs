//! The build script of the bundled plugins (each names it with `build =
//! "../../link/plugin-build.rs"`). Most of a plugin's code is its own copy
//! of Rust's standard library, and most of that (the backtrace printer)
//! never runs: laid out apart from the code that does, it stays out of
//! memory.

include!("order.rs");

fn main() {
    hot_code_first("rustc-cdylib-link-arg", "../../link/hot-code.txt");
}
