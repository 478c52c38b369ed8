//! Links `lwsws` with `-rdynamic`, so the lws functions plugins call
//! (`#[no_mangle]` in `src/host/ffi/exports/`) are in its dynamic symbol
//! table and resolve when a plugin is `dlopen`ed; and compiles the one
//! export stable Rust cannot define, the variadic `lws_snprintf`
//! (`src/host/ffi/c/snprintf.c`), keeping it in the binary.

fn main() {
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    println!("cargo:rustc-link-arg-tests=-rdynamic");
    println!("cargo:rerun-if-changed=src/host/ffi/c/snprintf.c");
    cc::Build::new()
        .file("src/host/ffi/c/snprintf.c")
        .warnings(true)
        .compile("comlink_variadic");
    // Nothing in Rust calls it: ask the linker to keep it anyway.
    println!("cargo:rustc-link-arg-bins=-Wl,--undefined=lws_snprintf");
}
