//! Plugins for tests: the workspace's built-in plugins (cdylibs built by
//! `cargo build --workspace`, which `scripts/test` runs first) and C plugins
//! compiled here with `cc` against `plugin-api/include`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where cargo put `lwsws` (and the plugin cdylibs).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_lwsws"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Path of the built-in plugin `libprotocol_<name>.so`.
pub(crate) fn builtin(name: &str) -> PathBuf {
    let p = target_dir().join(format!("libprotocol_{name}.so"));
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`, as scripts/test does)",
        p.display()
    );
    p
}

/// Copies built-in plugins into `dir` (created).
pub(crate) fn install_builtins(dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for n in names {
        let src = builtin(n);
        std::fs::copy(&src, dir.join(src.file_name().unwrap())).unwrap();
    }
}

/// Compiles C `source` (a path, or text when `text` is true) into
/// `dir/libprotocol_<name>.so`; panics with cc's output on failure.
pub(crate) fn cc_plugin(dir: &Path, name: &str, source: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(format!("libprotocol_{name}.so"));
    let o = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-O1", "-I"])
        .arg(repo().join("plugin-api/include"))
        .arg("-o")
        .arg(&out)
        .arg(source)
        .output()
        .expect("cc is installed by scripts/test-deps");
    assert!(
        o.status.success(),
        "cc {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Like [`cc_plugin`], from C text.
pub(crate) fn cc_plugin_text(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, text).unwrap();
    let out = cc_plugin(dir, name, &src);
    std::fs::remove_file(src).unwrap();
    out
}

/// examples/rust-plugin built (once per test run) with its own command, into
/// this test binary's scratch target dir: `libprotocol_rust_example.so`.
pub(crate) fn rust_example() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-plugin");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
            let out = Command::new(cargo)
                .arg("build")
                .arg("--manifest-path")
                .arg(repo().join("examples/rust-plugin/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .env_remove("CARGO_TARGET_DIR")
                .output()
                .expect("run cargo");
            assert!(
                out.status.success(),
                "building examples/rust-plugin failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let so = target.join("debug/libprotocol_rust_example.so");
            assert!(so.exists(), "{} was not built", so.display());
            so
        })
        .clone()
}

/// examples/c-plugin-echo (protocol `echo`: every message back whole, as
/// one frame of its type), compiled once per test run into this test
/// binary's scratch dir: `libprotocol_echo.so`.
pub(crate) fn echo_example() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            cc_plugin(
                &Path::new(env!("CARGO_TARGET_TMPDIR")).join("echo-plugin"),
                "echo",
                &repo().join("examples/c-plugin-echo/protocol_echo.c"),
            )
        })
        .clone()
}
