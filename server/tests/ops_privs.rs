//! Privilege drop: bind and open everything as root, then serve as the
//! configured user. Needs root; skipped with a printed reason otherwise.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::support::{get, Server, Site};

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn uid_of(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string()
}

/// Lets the service user read `files` and search `dirs` (and re-read the
/// config on reload), starts the server, and waits until it has dropped
/// to `nobody`.
fn start_as_nobody(s: &Site, dirs: &[PathBuf], files: &[PathBuf]) -> Server {
    for p in dirs {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for p in files {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let srv = s.start();
    assert!(
        crate::support::eventually(5, || uid_of(srv.pid()) == "65534"),
        "effective uid is {}",
        uid_of(srv.pid())
    );
    srv
}

#[test]
fn serves_as_the_configured_user_after_binding_as_root() {
    if !is_root() {
        eprintln!("skipped: privilege drop needs root");
        return;
    }
    let s = Site::new("\"username\": \"nobody\", \"groupname\": \"nogroup\"");
    let log = s.path("logs/access.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts":[{{"name":"localhost","port":7681,"interface":"127.0.0.1","access-log":"{}",
            "mounts":[{{"mountpoint":"/","origin":"file://{}"}}]}}]}}"#,
            log.display(),
            s.path("www").display()
        ),
    );
    s.file("index.html", "as nobody");
    let srv = start_as_nobody(
        &s,
        &[s.dir.path().to_path_buf(), s.path("www"), s.path("conf.d")],
        &[s.path("www/index.html"), s.path("conf"), s.path("conf.d/v")],
    );
    assert!(
        srv.log_text().contains("privileges dropped"),
        "{}",
        srv.log_text()
    );
    let (st, _, body) = get(&srv.url("/"));
    assert_eq!((st, body.as_slice()), (200, &b"as nobody"[..]));
    // The access log was opened as root before the drop and still works.
    assert!(crate::support::eventually(5, || std::fs::read_to_string(
        &log
    )
    .map(|t| t.contains("GET / "))
    .unwrap_or(false)));
    // A reload after the drop still works (files readable by the user).
    std::process::Command::new("kill")
        .arg("-HUP")
        .arg(srv.pid().to_string())
        .status()
        .unwrap();
    assert!(
        crate::support::eventually(10, || srv.log_text().contains("configuration reloaded")),
        "{}",
        srv.log_text()
    );
}

#[test]
fn an_unknown_user_refuses_to_start() {
    let s = Site::simple("", "");
    std::fs::write(
        s.path("conf"),
        "{\"global\": {\"username\": \"no-such-user-here\"}}",
    )
    .unwrap();
    let o = crate::support::lwsws()
        .arg("-c")
        .arg(s.dir.path())
        .arg("--ephemeral-ports")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("no-such-user-here"), "{text}");
}

/// A plugin file is leased while the server still runs as root (the file's
/// owner); after the drop, `cp` over it still reaches the server (SIGIO)
/// and the loaded library moves into memory: the connection on it goes on.
#[test]
fn a_plugin_leased_as_root_is_moved_into_memory_after_the_drop() {
    use crate::ops_reload::{build_swap, build_swap_beside, copy_over_a_loaded_plugin};
    use crate::ops_reload::{version_of, vhost};
    use crate::support::ws::{connect, next_text};
    if !is_root() {
        eprintln!("SKIPPED ops_privs::a_plugin_leased_as_root_is_moved_into_memory_after_the_drop: privilege drop needs root");
        return;
    }
    let s = Site::with_plugins(
        r#""username": "nobody", "groupname": "nogroup", "watch": "off""#,
        |p| build_swap(p, "v1"),
    );
    s.conf_d("a", &vhost(7681, "first"));
    let srv = start_as_nobody(
        &s,
        &[s.dir.path().to_path_buf(), s.path("conf.d")],
        &[s.path("conf"), s.path("conf.d/a")],
    );
    let mut ws = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut ws)), "v1");
    let plugins = s.path("plugins");
    let v2 = build_swap_beside(&plugins, "v2");
    // F_SETLEASE cannot let the lease go any more (the file is root's).
    copy_over_a_loaded_plugin(&v2, &plugins.join("libprotocol_swap_version.so"));
    srv.wait_log("now runs from memory", 10);
    for _ in 0..3 {
        assert_eq!(version_of(&next_text(&mut ws)), "v1");
    }
}
