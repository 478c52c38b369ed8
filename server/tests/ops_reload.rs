//! SIGHUP reload: new config and new plugin code for new connections, old
//! connections untouched; a broken config changes nothing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::plugins::repo;
use crate::support::ws::{connect, next_text};
use crate::support::{eventually, Site};

pub(crate) fn build_swap(dir: &Path, version: &str) {
    let tmp = build_swap_beside(dir, version);
    // Replace the file the way an operator's `make install` does: a new
    // file moved over the old name.
    std::fs::rename(&tmp, dir.join("libprotocol_swap_version.so")).unwrap();
}

/// `cp src dst` (truncate and write in place), which waits while the server
/// moves the library loaded from `dst` into memory: it must go on once
/// that is done, not when the kernel gives up on the lease (`fs.lease-
/// break-time`, 45 s).
pub(crate) fn copy_over_a_loaded_plugin(src: &Path, dst: &Path) {
    let (src, dst) = (src.to_path_buf(), dst.to_path_buf());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(std::fs::copy(src, dst).map(drop)));
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(r) => r.unwrap(),
        Err(_) => panic!(
            "the copy waited for the kernel to break the lease: the server did not let it go"
        ),
    }
}

/// `swap_version.c` built as `dir/.build-<version>.so`.
pub(crate) fn build_swap_beside(dir: &Path, version: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let tmp = dir.join(format!(".build-{version}.so"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/swap_version.c");
    let o = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-I"])
        .arg(repo().join("plugin-api/include"))
        .arg(format!("-DVERSION=\"{version}\""))
        .arg("-o")
        .arg(&tmp)
        .arg(src)
        .output()
        .expect("cc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tmp
}

pub(crate) fn vhost(port: u16, name: &str) -> String {
    format!(
        r#"{{"vhosts": [{{"name": "{name}", "port": {port}, "interface": "127.0.0.1",
        "ws-protocols": [{{"swap-version": {{"status": "ok"}}}}]}}]}}"#
    )
}

pub(crate) fn version_of(msg: &str) -> &str {
    msg.split(':').next().unwrap()
}

#[test]
fn plugin_swap_and_conf_d_edit_under_live_connections() {
    // Explicit SIGHUPs here: file watching is tested on its own below.
    let s = Site::with_plugins(r#""watch": "off""#, |p| build_swap(p, "v1"));
    let plugins = s.path("plugins");
    s.conf_d("a", &vhost(7681, "first"));
    let srv = s.start();
    let mut old = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut old)), "v1");

    build_swap(&plugins, "v2");
    s.conf_d("b", &vhost(7682, "second"));
    srv.reload();
    assert!(
        srv.log_text().contains("configuration reloaded"),
        "{}",
        srv.log_text()
    );

    // The old connection carries on with the old code...
    for _ in 0..3 {
        assert_eq!(version_of(&next_text(&mut old)), "v1");
    }
    // ...new connections get the new code, on the old port and the new one.
    let mut new = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut new)), "v2");
    let re = regex::Regex::new(r"listening on (\S+) \(port 7682:").unwrap();
    let log = srv.log_text();
    let addr: std::net::SocketAddr = re.captures(&log).expect("new port listening")[1]
        .parse()
        .unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()));
    let mut second = connect(addr, "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut second)), "v2");

    // When the last old connection ends, the old generation is retired.
    drop(old);
    srv.wait_log("previous configuration retired", 10);
    assert_eq!(version_of(&next_text(&mut new)), "v2");
}

/// `cp` over a loaded plugin rewrites its file in place, under the code
/// that runs from it. The host holds a read lease on each plugin file it
/// maps: the writer waits while the library moves into memory, the old
/// code keeps running, and the reload loads what was written.
#[test]
fn a_plugin_file_rewritten_in_place_under_live_connections() {
    let s = Site::with_plugins(r#""watch": "off""#, |p| build_swap(p, "v1"));
    let plugins = s.path("plugins");
    let file = plugins.join("libprotocol_swap_version.so");
    s.conf_d("a", &vhost(7681, "first"));
    let srv = s.start();
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", srv.pid())).unwrap();
    assert!(
        maps.contains(file.to_str().unwrap()),
        "the plugin is mapped from its file, as lwsws maps it:\n{maps}"
    );
    let mut old = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut old)), "v1");

    let v2 = build_swap_beside(&plugins, "v2");
    // std::fs::copy truncates and writes the file it copies onto, as cp does
    // (and waits for the server to let its lease go).
    copy_over_a_loaded_plugin(&v2, &file);
    srv.wait_log("now runs from memory", 10);
    for _ in 0..3 {
        assert_eq!(version_of(&next_text(&mut old)), "v1");
    }
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", srv.pid())).unwrap();
    assert!(
        !maps.contains(file.to_str().unwrap()),
        "nothing is mapped from the rewritten file any more:\n{maps}"
    );

    srv.reload();
    srv.wait_log("configuration reloaded", 10);
    let mut new = connect(srv.addr(7681), "/", &["swap-version"]);
    assert_eq!(version_of(&next_text(&mut new)), "v2");
    assert_eq!(version_of(&next_text(&mut old)), "v1");
    // The same file (inode) as the library still loaded: glibc would hand
    // that one out again, so the new build is loaded from a copy.
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", srv.pid())).unwrap();
    assert!(
        maps.contains("/memfd:libprotocol_swap_version.so"),
        "{maps}"
    );
    drop(old);
    srv.wait_log("previous configuration retired", 10);
    assert_eq!(version_of(&next_text(&mut new)), "v2");
}

#[test]
fn a_broken_config_edit_is_refused_with_file_and_line() {
    let s = Site::simple("", "");
    s.file("index.html", "still here");
    let srv = s.start();
    s.conf_d(
        "zz-broken",
        "{\n  \"vhosts\": [ { \"name\": \"x\" \"port\": 1 } ]\n}\n",
    );
    srv.reload();
    let log = srv.log_text();
    assert!(log.contains("reload refused"), "{log}");
    assert!(
        regex::Regex::new(r"conf\.d/zz-broken:2:\d+")
            .unwrap()
            .is_match(&log),
        "{log}"
    );
    let (st, _, body) = crate::support::get(&srv.url("/"));
    assert_eq!((st, body.as_slice()), (200, &b"still here"[..]));
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn a_conf_d_change_reloads_by_itself() {
    let s = Site::simple("", "");
    s.file("index.html", "one");
    let srv = s.start();
    s.conf_d("second", &vhost(7682, "second"));
    assert!(
        eventually(20, || srv.log_text().contains("listening on")
            && srv.log_text().contains("(port 7682:")),
        "no reload after a conf.d change:\n{}",
        srv.log_text()
    );
    assert!(
        srv.log_text().contains("files changed"),
        "{}",
        srv.log_text()
    );
}

#[test]
fn watch_off_leaves_the_running_config_alone() {
    let s = Site::new("\"watch\": \"off\"");
    s.conf_d("a", &vhost(7681, "first"));
    let srv = s.start();
    s.conf_d("second", &vhost(7682, "second"));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !srv.log_text().contains("(port 7682:"),
        "{}",
        srv.log_text()
    );
}

#[test]
fn a_count_threads_change_is_reported_for_the_next_restart() {
    let s = Site::new("\"watch\": \"off\"");
    s.conf_d("a", &vhost(7681, "first"));
    let srv = s.start();
    std::fs::write(
        s.path("conf"),
        "{\"global\": {\"watch\": \"off\", \"count-threads\": \"2\"}}\n",
    )
    .unwrap();
    srv.reload();
    let log = srv.log_text();
    assert!(log.contains("configuration reloaded"), "{log}");
    assert!(
        log.contains("count-threads changes take effect at the next restart"),
        "{log}"
    );
}

/// `sed -i FILE`: the way an operator edits, by a new file renamed over
/// the old name.
fn sed_i(expr: &str, file: &Path) {
    let st = Command::new("sed")
        .arg("-i")
        .arg(expr)
        .arg(file)
        .status()
        .expect("sed");
    assert!(st.success(), "sed -i {expr} {}", file.display());
}

/// The `Server` and `X-Gen` headers `/` is answered with now.
fn generation(srv: &crate::support::Server) -> (String, String) {
    let (_, h, _) = crate::support::get(&srv.url("/"));
    let v = |n: &str| h.get(n).cloned().unwrap_or_default();
    (v("server"), v("x-gen"))
}

fn wait_generation(srv: &crate::support::Server, conf: &str, conf_d: &str, what: &str) {
    let want = (conf.to_string(), conf_d.to_string());
    assert!(
        eventually(20, || generation(srv) == want),
        "{what}: still serving {:?}, want {want:?}; log:\n{}",
        generation(srv),
        srv.log_text()
    );
}

/// Issue #15: `conf` replaced by a rename was noticed once, then never
/// again (the watch stayed on the old inode). Every save of `conf` and of
/// `conf.d/*` by `sed -i`, one by one and three in a row, and by a rename
/// of a new file over the old, is reloaded.
#[test]
fn rename_over_saves_of_conf_and_conf_d_keep_being_reloaded() {
    let s = Site::new("\"server-string\": \"conf-0\"");
    s.file("index.html", "hello");
    s.conf_d(
        "vhost",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "headers": [{{"X-Gen": "d-0"}}],
            "mounts": [{{"mountpoint": "/", "origin": "file://{}", "default": "index.html"}}]}}]}}"#,
            s.path("www").display()
        ),
    );
    let (conf, vhost) = (s.path("conf"), s.path("conf.d/vhost"));
    let srv = s.start();
    wait_generation(&srv, "conf-0", "d-0", "start");

    // One at a time, each waited for.
    for i in 1..=3 {
        sed_i(&format!("s/conf-{}/conf-{i}/", i - 1), &conf);
        wait_generation(&srv, &format!("conf-{i}"), "d-0", "sed -i conf");
    }
    for i in 1..=3 {
        sed_i(&format!("s/d-{}/d-{i}/", i - 1), &vhost);
        wait_generation(&srv, "conf-3", &format!("d-{i}"), "sed -i conf.d/vhost");
    }
    // Three in a row on each, without waiting: the last one wins.
    for i in 4..=6 {
        sed_i(&format!("s/conf-{}/conf-{i}/", i - 1), &conf);
        sed_i(&format!("s/d-{}/d-{i}/", i - 1), &vhost);
    }
    wait_generation(&srv, "conf-6", "d-6", "three sed -i in a row");

    // A new file written elsewhere and renamed over each.
    for (file, from, to) in [(&conf, "conf-6", "conf-7"), (&vhost, "d-6", "d-7")] {
        let text = std::fs::read_to_string(file).unwrap().replace(from, to);
        let tmp = s.path("new-file.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, file).unwrap();
    }
    wait_generation(&srv, "conf-7", "d-7", "rename over");

    // And still watching after all that.
    sed_i("s/conf-7/conf-8/", &conf);
    wait_generation(&srv, "conf-8", "d-7", "sed -i after the renames");
    assert!(
        !srv.log_text().contains("reload refused"),
        "{}",
        srv.log_text()
    );
}

/// The next sd_notify message on `sock` that says READY=1.
fn next_ready(sock: &std::os::unix::net::UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).expect("an sd_notify message");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        if msg.lines().any(|l| l == "READY=1") {
            return msg;
        }
    }
}

/// The `STATUS=` line of an sd_notify message.
fn status_of(msg: &str) -> &str {
    msg.lines()
        .find_map(|l| l.strip_prefix("STATUS="))
        .unwrap_or_else(|| panic!("no STATUS= in {msg:?}"))
}

/// `lws-server-status`'s report of the last reload, once it has `taken`
/// and `refused` reloads.
fn reload_report(srv: &crate::support::Server, taken: u64, refused: u64) -> serde_json::Value {
    let mut ws = connect(srv.addr(7681), "/", &["lws-server-status"]);
    for _ in 0..50 {
        let m: serde_json::Value = serde_json::from_str(&next_text(&mut ws)).unwrap();
        let r = &m["i"]["reload"];
        if r["taken"] == taken && r["refused"] == refused {
            return r.clone();
        }
    }
    panic!("lws-server-status never reported {taken} taken, {refused} refused reloads");
}

/// Issue #15: a reload refused for a broken edit was only in the log. It
/// is now in systemd's STATUS= (`systemctl status`) and in what
/// lws-server-status sends, with each problem's file:line.
#[test]
fn a_refused_reload_shows_in_sd_notify_status_and_server_status() {
    let s = Site::with_plugins(r#""watch": "off""#, |p| {
        crate::support::plugins::install_builtins(p, &["lws_server_status"])
    });
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
           "ws-protocols": [{"lws-server-status": {"status": "ok", "update-ms": "100"}}]}]}"#,
    );
    let sock_path = s.path("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let srv = crate::support::Server::start_env(
        s.dir.path(),
        &[],
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );
    let ready = next_ready(&sock);
    assert_eq!(status_of(&ready), "serving 1 vhost(s) from 2 file(s)");
    let r = reload_report(&srv, 0, 0);
    assert_eq!(r["last"], serde_json::Value::Null, "{r}");

    s.conf_d(
        "zz-broken",
        "{\n  \"vhosts\": [ { \"name\": \"x\" \"port\": 1 } ]\n}\n",
    );
    srv.reload();
    let status = status_of(&next_ready(&sock)).to_string();
    assert!(
        status.starts_with("reload refused ")
            && status.contains("the previous configuration stays")
            && regex::Regex::new(r"conf\.d/zz-broken:2:\d+: error: ")
                .unwrap()
                .is_match(&status),
        "{status}"
    );
    let r = reload_report(&srv, 0, 1);
    assert_eq!(r["last"]["ok"], false, "{r}");
    let problems = r["last"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("conf.d/zz-broken:2:")),
        "{r}"
    );

    std::fs::remove_file(s.path("conf.d/zz-broken")).unwrap();
    srv.reload();
    let status = status_of(&next_ready(&sock)).to_string();
    assert!(
        status.starts_with("reloaded ") && status.ends_with(": serving 1 vhost(s) from 2 file(s)"),
        "{status}"
    );
    let r = reload_report(&srv, 1, 1);
    assert_eq!(r["last"]["ok"], true, "{r}");
    assert_eq!(r["last"]["problems"], serde_json::json!([]), "{r}");
}
