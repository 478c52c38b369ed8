//! Links `lwsws` with `-rdynamic`, so the lws functions plugins call
//! (`#[no_mangle]` in `src/host/ffi/exports/`) are in its dynamic symbol
//! table and resolve when a plugin is `dlopen`ed; and compiles the exports
//! stable Rust cannot define, the variadic `lws_snprintf`, `_lws_log` and `lws_threadpool_create`/`_enqueue`
//! (`src/host/ffi/c/variadic.c`), keeping them in the binary.

fn main() {
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    println!("cargo:rustc-link-arg-tests=-rdynamic");
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
