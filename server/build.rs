//! Links `lwsws` with `-rdynamic`, so the lws functions plugins call
//! (`#[no_mangle]` in `src/host/ffi/exports.rs`) are in its dynamic symbol
//! table and resolve when a plugin is `dlopen`ed.

fn main() {
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    println!("cargo:rustc-link-arg-tests=-rdynamic");
}
