//! Plugins on lws's libuv integration (`lws_uv_getloop`, issue #18): the
//! seed's plugin-standalone as printed, its uv timer through reloads, a
//! plugin swap with handles left open, and no libuv for servers without
//! such plugins.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use crate::support::plugins::{install_builtins, repo};
use crate::support::ws::{connect, next_text};
use crate::support::{eventually, Server, Site};

/// Compiles a C plugin that uses libuv (linked `-luv`, as the example's
/// CMake project links it) into `dir/libprotocol_<name>.so`, replacing the
/// file the way `make install` does.
fn cc_uv_plugin(dir: &Path, name: &str, source: &Path, defines: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let tmp = dir.join(format!(".build-{name}.so"));
    let o = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Werror", "-I"])
        .arg(repo().join("plugin-api/include"))
        .args(defines)
        .arg("-o")
        .arg(&tmp)
        .arg(source)
        .arg("-luv")
        .output()
        .expect("cc is installed by scripts/test-deps");
    assert!(
        o.status.success(),
        "cc {} failed (libuv1-dev is installed by scripts/test-deps):\n{}",
        source.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::rename(&tmp, dir.join(format!("libprotocol_{name}.so"))).unwrap();
}

fn seed_standalone(dir: &Path) {
    cc_uv_plugin(
        dir,
        "example_standalone",
        &repo().join("examples/c-plugin/protocol_example_standalone.c"),
        &[],
    );
}

fn leaky(dir: &Path, version: &str) {
    cc_uv_plugin(
        dir,
        "uv_leaky",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/uv_leaky.c"),
        &[&format!("-DVERSION=\"{version}\"")],
    );
}

fn vhost(protocol: &str) -> String {
    format!(
        r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
        "ws-protocols": [{{"{protocol}": {{"status": "ok"}}}}]}}]}}"#
    )
}

/// `n` numbers from a WebSocket of `protocol`, each one more than the last.
fn counts_up(addr: SocketAddr, protocol: &str, n: usize) -> Vec<u64> {
    let mut ws = connect(addr, "/", &[protocol]);
    let values: Vec<u64> = (0..n)
        .map(|_| next_text(&mut ws).trim().parse().unwrap())
        .collect();
    assert!(
        values.windows(2).all(|w| w[1] == w[0] + 1),
        "{protocol} counts up: {values:?}"
    );
    values
}

fn maps(srv: &Server) -> String {
    std::fs::read_to_string(format!("/proc/{}/maps", srv.pid())).unwrap()
}

/// (version, count, static timer fires, malloc'd timer fires) of a
/// "uv-leaky" message.
fn leaky_message(text: &str) -> (String, u64, u64, u64) {
    let f: Vec<&str> = text.split(':').collect();
    assert_eq!(f.len(), 4, "{text}");
    (
        f[0].to_string(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
    )
}

#[test]
fn seed_plugin_standalone_as_printed_counts_on_its_uv_timer() {
    // The file is the seed's code, unchanged: its timer is a uv_timer_t on
    // lws_uv_getloop(context, 0).
    let source =
        std::fs::read_to_string(repo().join("examples/c-plugin/protocol_example_standalone.c"))
            .unwrap();
    for line in [
        "\tuv_timer_t timeout_watcher;",
        "\t\tuv_timer_init(lws_uv_getloop(vhd->context, 0),",
        "\t\tuv_timer_stop(&vhd->timeout_watcher);",
    ] {
        assert!(source.contains(line), "the seed's line {line:?}");
    }
    let s = Site::with_plugins("", seed_standalone);
    s.conf_d("v", &vhost("example-standalone-protocol"));
    let mut srv = s.start();
    let values = counts_up(srv.addr(7681), "example-standalone-protocol", 10);
    assert_eq!(values[0], 0);
    assert!(
        srv.log_text()
            .contains("service thread 0: libuv loop made for plugins"),
        "{}",
        srv.log_text()
    );
    assert!(maps(&srv).contains("libuv.so.1"));
    assert!(srv.alive());
}

#[test]
fn uv_timer_keeps_firing_through_reloads() {
    let s = Site::with_plugins(r#""watch": "off""#, seed_standalone);
    s.conf_d("v", &vhost("example-standalone-protocol"));
    let mut srv = s.start();
    let addr = srv.addr(7681);
    let mut old = connect(addr, "/", &["example-standalone-protocol"]);
    assert_eq!(next_text(&mut old), "0");
    for round in 0..3 {
        srv.reload();
        assert!(srv.alive(), "reload {round}: {}", srv.log_text());
        // The connection from before the reload goes on with the old
        // site's timer, new ones with the new site's.
        if round == 0 {
            let a: u64 = next_text(&mut old).parse().unwrap();
            let b: u64 = next_text(&mut old).parse().unwrap();
            assert_eq!(b, a + 1);
            drop(old);
            srv.wait_log("previous configuration retired", 10);
            // Its DESTROY stopped the timer but did not close it; the host
            // closed it before freeing the per-vhost data it lives in.
            assert!(
                eventually(10, || srv.log_text().contains(
                    "libuv: closing 1 handle(s) left open in plugin memory being freed"
                )),
                "{}",
                srv.log_text()
            );
            old = connect(addr, "/", &["example-standalone-protocol"]);
        }
        counts_up(addr, "example-standalone-protocol", 5);
    }
    assert!(srv.alive(), "{}", srv.log_text());
    assert_eq!(
        srv.log_text().matches("libuv loop made").count(),
        1,
        "one loop for thread 0, made once"
    );
}

#[test]
fn plugin_swap_with_uv_handles_left_open_does_not_crash() {
    let s = Site::with_plugins(r#""watch": "off""#, |p| leaky(p, "v1"));
    let plugins = s.path("plugins");
    s.conf_d("v", &vhost("uv-leaky"));
    let mut srv = s.start();
    let addr = srv.addr(7681);
    let mut old = connect(addr, "/", &["uv-leaky"]);
    let (version, _, _, _) = leaky_message(&next_text(&mut old));
    assert_eq!(version, "v1");

    // Swap the library. v1's PROTOCOL_DESTROY leaves its three timers
    // running: one in the per-vhost data, one static in the library, one
    // malloc'd with its callback in the library.
    leaky(&plugins, "v2");
    srv.reload();
    drop(old);
    srv.wait_log("previous configuration retired", 10);
    // The library's sweep counts the per-vhost one too while its close is
    // still finishing.
    let unloaded =
        regex::Regex::new(r"libuv: closing [23] handle\(s\) left open of a plugin being unloaded")
            .unwrap();
    assert!(
        eventually(10, || {
            let log = srv.log_text();
            log.contains("libuv: closing 1 handle(s) left open in plugin memory being freed")
                && unloaded.is_match(&log)
        }),
        "{}",
        srv.log_text()
    );

    // v2 runs on, and so does the server, though v1's code is gone: its
    // timers fired every 10-20 ms before, so any that were left would have
    // run into unmapped code by the time these arrive.
    let mut new = connect(addr, "/", &["uv-leaky"]);
    let first = leaky_message(&next_text(&mut new));
    let mut last = first.clone();
    for _ in 0..20 {
        last = leaky_message(&next_text(&mut new));
        assert_eq!(last.0, "v2");
    }
    assert!(
        last.1 > first.1 && last.2 > first.2 && last.3 > first.3,
        "{first:?} {last:?}"
    );
    assert!(srv.alive(), "{}", srv.log_text());
}

#[test]
fn each_service_thread_runs_its_own_loop_and_session_timers_left_open_are_closed() {
    let s = Site::with_plugins(r#""count-threads": "2", "metrics-path": "/metrics""#, |p| {
        leaky(p, "v1")
    });
    s.conf_d("v", &vhost("uv-session"));
    let mut srv = s.start();
    let addr = srv.addr(7681);
    let mut sessions =
        crate::support::threads::spread(&srv, 4, 2, || connect(addr, "/", &["uv-session"]));
    // Each connection's timer runs on its own thread's loop: the numbers
    // count up, and the thread it reports is the one it was served on.
    let mut threads = std::collections::BTreeSet::new();
    for ws in &mut sessions {
        let msgs: Vec<(String, u64)> = (0..3)
            .map(|_| {
                let t = next_text(ws);
                let (tsi, n) = t.split_once(':').unwrap();
                (tsi.to_string(), n.parse().unwrap())
            })
            .collect();
        assert!(
            msgs.windows(2)
                .all(|w| w[0].0 == w[1].0 && w[1].1 == w[0].1 + 1),
            "{msgs:?}"
        );
        threads.insert(msgs[0].0.clone());
    }
    assert_eq!(threads.len(), 2, "connections on both threads: {threads:?}");
    let log = srv.log_text();
    for tsi in 0..2 {
        assert!(
            log.contains(&format!(
                "service thread {tsi}: libuv loop made for plugins"
            )),
            "{log}"
        );
    }
    // Closing them frees their per-session data with the timers still
    // running there: the host closes those first.
    let count = sessions.len();
    drop(sessions);
    let closed = || {
        srv.log_text()
            .matches("libuv: closing 1 handle(s) left open in plugin memory being freed")
            .count()
    };
    assert!(eventually(10, || closed() >= count), "{}", srv.log_text());
    let mut again = connect(addr, "/", &["uv-session"]);
    let first: u64 = next_text(&mut again)
        .split_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let second: u64 = next_text(&mut again)
        .split_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(second, first + 1);
    assert!(srv.alive(), "{}", srv.log_text());
}

/// An old-ABI plugin that starts a uv timer from `init_protocol_*`, while
/// the server is still loading plugins (no service thread runs yet), and is
/// built as the header says, linking nothing: not even libuv.
const EARLY: &str = r#"
#include <libwebsockets.h>

static uv_timer_t early;
static int fires;

static void early_cb(uv_timer_t *t) { fires++; }

static int
cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
   size_t len)
{
	unsigned char buf[LWS_PRE + 32];
	int n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		n = lws_snprintf((char *)buf + LWS_PRE, 32, "%d", fires);
		if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		break;
	case LWS_CALLBACK_RECEIVE:
		lws_callback_on_writable(wsi);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "uv-early", cb, 0, 64, 0, NULL, 0 },
};

LWS_VISIBLE int
init_protocol_uv_early(struct lws_context *context,
		       struct lws_plugin_capability *c)
{
	uv_loop_t *loop = lws_uv_getloop(context, 0);

	if (!loop)
		return 1;
	uv_timer_init(loop, &early);
	uv_timer_start(&early, early_cb, 5, 5);
	c->protocols = protocols;
	c->count_protocols = 1;
	c->extensions = NULL;
	c->count_extensions = 0;
	return 0;
}
"#;

#[test]
fn a_loop_asked_for_while_loading_runs_once_the_thread_starts() {
    let s = Site::with_plugins("", |p| {
        crate::support::plugins::cc_plugin_text(p, "uv_early", EARLY);
    });
    s.conf_d("v", &vhost("uv-early"));
    let mut srv = s.start();
    let mut ws = connect(srv.addr(7681), "/", &["uv-early"]);
    let first: u64 = next_text(&mut ws).parse().unwrap();
    // The timer keeps firing: ask until the count has moved on.
    assert!(
        eventually(10, || {
            ws.send(tungstenite::Message::text("again")).unwrap();
            next_text(&mut ws).parse::<u64>().unwrap() > first
        }),
        "{}",
        srv.log_text()
    );
    assert!(srv.alive());
}

#[test]
fn a_server_without_uv_plugins_has_no_libuv() {
    let s = Site::with_plugins("", |p| install_builtins(p, &["dumb_increment"]));
    s.conf_d("v", &vhost("dumb-increment-protocol"));
    let mut srv = s.start();
    counts_up(srv.addr(7681), "dumb-increment-protocol", 3);
    assert!(
        !maps(&srv).contains("libuv"),
        "libuv is loaded only on the first lws_uv_getloop"
    );
    assert!(!srv.log_text().contains("libuv loop made"));
    assert!(srv.alive());
}
