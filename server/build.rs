//! Links `lwsws` with `-rdynamic`, so the lws functions plugins call
//! (`#[no_mangle]` in `src/host/ffi/exports/`) are in its dynamic symbol
//! table and resolve when a plugin is `dlopen`ed; and compiles the exports
//! stable Rust cannot define, the variadic `lws_snprintf`, `_lws_log` and `lws_threadpool_create`/`_enqueue`
//! (`src/host/ffi/c/variadic.c`), keeping them in the binary.

fn main() {
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    // Relative relocations packed (DT_RELR, binutils 2.38+ and glibc
    // 2.36+, as in Debian 12): a PIE's ~15,000 of them took 340 KiB as
    // RELA entries, every page of which the loader reads at each start.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    println!("cargo:rustc-link-arg-tests=-rdynamic");
    hot_code_first("rustc-link-arg-bins", "../link", "lwsws");
    println!("cargo:rerun-if-changed=src/host/ffi/c/variadic.c");
    cc::Build::new()
        .file("src/host/ffi/c/variadic.c")
        .warnings(true)
        .compile("comlink_variadic");
    // Nothing in Rust calls them: ask the linker to keep them anyway.
    for f in [
        "lws_snprintf",
        "_lws_log",
        "_lws_logv",
        "lws_threadpool_create",
        "lws_threadpool_enqueue",
    ] {
        println!("cargo:rustc-link-arg-bins=-Wl,--undefined={f}");
    }
}

include!("../link/order.rs");
