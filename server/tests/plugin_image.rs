//! A plugin is mapped from its own file, under a read lease; where the
//! kernel grants none, from an in-memory copy, which holds what the
//! dynamic loader maps, not the debug information and tables after it
//! (issue #17: the bundled plugins' copies were 41 MB of memory for about
//! 5 MB mapped).

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::ops_reload::{version_of, vhost};
use crate::support::plugins::repo;
use crate::support::ws::{connect, next_text};
use crate::support::Site;

/// `swap_version.c` built with debug information plus a 2 MiB section the
/// loader never maps, as `libprotocol_swap_version.so` in `dir`.
fn build_padded(dir: &Path) -> u64 {
    let plain = dir.join(".plain.so");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/swap_version.c");
    let o = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-g",
            "-Wall",
            "-DVERSION=\"padded\"",
            "-I",
        ])
        .arg(repo().join("plugin-api/include"))
        .arg("-o")
        .arg(&plain)
        .arg(src)
        .output()
        .expect("cc is installed by scripts/test-deps");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pad = dir.join(".pad");
    std::fs::write(&pad, vec![0xa5u8; 2 << 20]).unwrap();
    let out = dir.join("libprotocol_swap_version.so");
    let o = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".comlink_pad={}", pad.display()))
        .arg(&plain)
        .arg(&out)
        .output()
        .expect("objcopy (binutils) is installed by scripts/test-deps");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(plain).unwrap();
    std::fs::remove_file(pad).unwrap();
    std::fs::metadata(&out).unwrap().len()
}

#[test]
fn a_plugin_is_loaded_from_a_copy_of_only_what_is_mapped() {
    let mut file_len = 0;
    let s = Site::with_plugins(r#""watch": "off""#, |p| file_len = build_padded(p));
    s.conf_d("a", &vhost(7681, "first"));
    // Open for writing somewhere: the kernel grants no read lease on it.
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(s.path("plugins/libprotocol_swap_version.so"))
        .unwrap();
    let srv = s.start();
    drop(writer);
    assert!(
        !srv.log_text().contains("plugin skipped"),
        "{}",
        srv.log_text()
    );
    // The plugin runs from its copy.
    let mut ws = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut ws)), "padded");

    let fd_dir = format!("/proc/{}/fd", srv.pid());
    let copy = std::fs::read_dir(&fd_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read_link(p).is_ok_and(|l| {
                l.to_string_lossy()
                    .contains("memfd:libprotocol_swap_version.so")
            })
        })
        .unwrap_or_else(|| panic!("no in-memory copy of the plugin open in {fd_dir}"));
    let mut copied = Vec::new();
    std::fs::File::open(&copy)
        .unwrap()
        .read_to_end(&mut copied)
        .unwrap();
    assert!(file_len > 2 << 20, "the padded plugin is {file_len} bytes");
    assert!(
        copied.len() < 1 << 20,
        "the copy holds {} of the file's {file_len} bytes",
        copied.len()
    );
    // The copy is the file's head, but for the section table fields of the
    // ELF header (the table is not in it).
    let original = std::fs::read(s.path("plugins/libprotocol_swap_version.so")).unwrap();
    assert_eq!(&copied[64..], &original[64..copied.len()]);
    assert_eq!(&copied[0x28..0x30], &[0u8; 8], "e_shoff cleared");
    assert_eq!(&copied[..0x28], &original[..0x28]);
    drop((ws, srv));
}
