//! `lws_threadpool_*` (#18): a plugin's tasks run on worker threads and
//! hand their results back through the service thread, which sends them
//! from WRITEABLE (tests/plugins/threadpool.c, in the shape of lws's
//! minimal-ws-server-threadpool).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::plugins::repo;
use crate::support::ws::{connect, next_text};
use crate::support::{eventually, Site};

/// Compiles tests/plugins/`name`.c with `-DVERSION="version"` into
/// `dir/libprotocol_<name>.so`, replacing any earlier build the way an
/// install does (a new file moved over the old name).
pub(crate) fn build(dir: &Path, name: &str, version: &str) -> PathBuf {
    build_with(dir, name, version, &[])
}

/// [`build`] with more `cc` arguments.
fn build_with(dir: &Path, name: &str, version: &str, extra: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let tmp = dir.join(format!(".build-{name}-{version}.so"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/plugins/{name}.c"));
    let o = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Werror", "-I"])
        .arg(repo().join("plugin-api/include"))
        .arg(format!("-DVERSION=\"{version}\""))
        .args(extra)
        .arg("-o")
        .arg(&tmp)
        .arg(src)
        .output()
        .expect("cc is installed by scripts/test-deps");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.join(format!("libprotocol_{name}.so"));
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// A site serving the thread-pool plugin on port 7681: "tp-count" (20
/// results) and "tp-endless" (results until stopped), `endless_pvo` more
/// options of the latter.
fn site(endless_pvo: &str) -> Site {
    site_with(endless_pvo, &[])
}

fn site_with(endless_pvo: &str, cc: &[&str]) -> Site {
    let s = Site::with_plugins(r#""watch": "off""#, |p| {
        build_with(p, "threadpool", "v1", cc);
    });
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{{"tp-count": {{"count": "20"}}}},
                             {{"tp-endless": {{"count": "-1"{endless_pvo}}}}}]}}]}}"#
        ),
    );
    s
}

fn count_of(msg: &str) -> u32 {
    msg.rsplit("n=").next().unwrap().parse().unwrap()
}

#[test]
fn a_task_sends_every_result_in_order_then_is_reaped() {
    let s = site("");
    let srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["tp-count"]);
    for i in 0..20 {
        assert_eq!(next_text(&mut ws), format!("v1 n={i}"));
    }
    assert_eq!(next_text(&mut ws), "done");
    srv.wait_log("tp-test v1: cleanup after 20 of 20, collected", 5);
}

#[test]
fn closing_the_websocket_mid_task_stops_it_and_cleans_it_up() {
    let s = site("");
    let srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["tp-endless"]);
    for i in 0..3 {
        assert_eq!(next_text(&mut ws), format!("v1 n={i}"));
    }
    drop(ws);
    assert!(
        eventually(10, || srv.log_text().contains("of -1, detached")),
        "the stopped task was not cleaned up:\n{}",
        srv.log_text()
    );
    // The pool goes on serving.
    let mut ws = connect(srv.addr(7681), "/", &["tp-count"]);
    assert_eq!(next_text(&mut ws), "v1 n=0");
}

#[test]
fn a_task_survives_a_sighup_and_a_forgotten_pool_is_stopped() {
    let s = site(r#", "forget": "1""#);
    let mut srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["tp-endless"]);
    assert_eq!(next_text(&mut ws), "v1 n=0");
    srv.reload();
    // The task goes on where it was, through the reload.
    let mut last = 0;
    for _ in 0..3 {
        let n = count_of(&next_text(&mut ws));
        assert_eq!(n, last + 1);
        last = n;
    }
    drop(ws);
    assert!(
        eventually(10, || srv.log_text().contains("of -1, detached")),
        "{}",
        srv.log_text()
    );
    // Its site retires: tp-count's pool is destroyed by the plugin,
    // tp-endless's (forgotten) by the host.
    assert!(
        eventually(10, || {
            let log = srv.log_text();
            log.contains("tp-test v1: pool destroyed")
                && log.contains("threadpool \"tp-endless\" was not destroyed by its plugin")
        }),
        "{}",
        srv.log_text()
    );
    assert_eq!(
        srv.signal_and_wait("TERM", 20),
        Some(0),
        "{}",
        srv.log_text()
    );
}

#[test]
fn a_plugin_swap_lets_the_old_task_finish_then_destroys_its_pool() {
    let s = site("");
    let plugins = s.path("plugins");
    let srv = s.start();
    let mut old = connect(srv.addr(7681), "/", &["tp-endless"]);
    assert_eq!(next_text(&mut old), "v1 n=0");
    build(&plugins, "threadpool", "v2");
    srv.reload();
    // The old connection keeps its task on the old code; a new one runs
    // the new code.
    assert!(next_text(&mut old).starts_with("v1 n="));
    let mut new = connect(srv.addr(7681), "/", &["tp-count"]);
    assert_eq!(next_text(&mut new), "v2 n=0");
    drop(old);
    assert!(
        eventually(10, || {
            let log = srv.log_text();
            log.contains("tp-test v1: cleanup after") && log.contains("tp-test v1: pool destroyed")
        }),
        "{}",
        srv.log_text()
    );
    assert!(
        !srv.log_text().contains("was not destroyed by its plugin"),
        "{}",
        srv.log_text()
    );
}

#[test]
fn the_lws_4_0_wsi_based_calls_work_too() {
    let s = site_with("", &["-DAPI_V40"]);
    let srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["tp-count"]);
    for i in 0..20 {
        assert_eq!(next_text(&mut ws), format!("v1 n={i}"));
    }
    assert_eq!(next_text(&mut ws), "done");
    let mut ws = connect(srv.addr(7681), "/", &["tp-endless"]);
    assert_eq!(next_text(&mut ws), "v1 n=0");
    drop(ws);
    assert!(
        eventually(10, || srv.log_text().contains("of -1, detached")),
        "{}",
        srv.log_text()
    );
}
