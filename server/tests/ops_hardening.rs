//! Hardened hosts: what CIS benchmarks and systemd's `PrivateTmp=` setups
//! do to the server's surroundings, and that it still serves.

use std::process::Command;

use crate::ops_reload::{build_swap, version_of, vhost};
use crate::support::ws::{connect, next_text};
use crate::support::{is_root, skip, Server, Site, TmpfsMount};

/// Issue #15: each plugin generation was loaded from a private copy under
/// `/tmp`; with `/tmp` mounted `noexec` no plugin loaded. With `TMPDIR` on
/// a `noexec` tmpfs, plugins load, a reload swaps one for its new build,
/// and nothing is written there (each generation is mapped from its own
/// file under a read lease; where there is none, from an in-memory copy:
/// `plugin_image`).
#[test]
fn plugins_load_and_swap_with_tmpdir_on_a_noexec_mount() {
    const TEST: &str = "ops_hardening::plugins_load_and_swap_with_tmpdir_on_a_noexec_mount";
    if !is_root() {
        eprintln!("SKIPPED {TEST}: not root (mounting a noexec tmpfs needs root)");
        return;
    }
    let tmp = match TmpfsMount::new("noexec,nosuid,nodev") {
        Ok(m) => m,
        Err(why) => return skip(TEST, &why),
    };
    // The mount really is noexec: a program copied there does not run.
    let exe = tmp.path().join("true");
    std::fs::copy("/bin/true", &exe).unwrap();
    let ran = Command::new(&exe).status();
    assert!(
        ran.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied),
        "{} ran on a noexec mount: {ran:?}",
        exe.display()
    );
    std::fs::remove_file(&exe).unwrap();

    let s = Site::with_plugins(r#""watch": "off""#, |p| build_swap(p, "v1"));
    s.conf_d("a", &vhost(7681, "first"));
    let tmpdir = tmp.path().to_str().unwrap();
    let srv = Server::start_env(s.dir.path(), &[], &[("TMPDIR", tmpdir)]);
    assert!(
        !srv.log_text().contains("plugin skipped"),
        "{}",
        srv.log_text()
    );
    let mut old = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut old)), "v1");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", srv.pid())).unwrap();
    let file = s.path("plugins/libprotocol_swap_version.so");
    assert!(
        maps.contains(file.to_str().unwrap()),
        "the plugin is mapped from its file:\n{maps}"
    );

    build_swap(&s.path("plugins"), "v2");
    srv.reload();
    let log = srv.log_text();
    assert!(log.contains("configuration reloaded"), "{log}");
    assert!(!log.contains("plugin skipped"), "{log}");
    let mut new = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut new)), "v2");
    assert_eq!(version_of(&next_text(&mut old)), "v1");

    // The first generation goes when its last connection does; its
    // in-memory file is closed, and the next one may get its descriptor
    // number (so its /proc/self/fd/N name): still the new code is loaded.
    drop(old);
    srv.wait_log("previous configuration retired", 10);
    build_swap(&s.path("plugins"), "v3");
    srv.reload();
    let mut third = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut third)), "v3");
    assert_eq!(version_of(&next_text(&mut new)), "v2");
    // The first generation's file was closed with it (and its lease let go).
    let open = std::fs::read_dir(format!("/proc/{}/fd", srv.pid()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .filter(|l| l.to_string_lossy().contains("libprotocol_swap_version.so"))
        .count();
    assert_eq!(open, 2, "plugin files open: those of v2 and v3");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing was written to TMPDIR"
    );
    drop((new, third, srv));
}
