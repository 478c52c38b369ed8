//! lws's helper families (#18), called by C plugins over a callback://
//! mount, each answering what it got in the body
//! (`server/tests/plugins/helpers_families.c`); and a plugin built the lws
//! v5 way (magic 192, `priority`) reading its mount's `pmo`
//! (`server/tests/plugins/helpers_v5.c`).

use std::process::Command;

use crate::support::plugins::{cc_plugin, cc_plugin_text, repo};
use crate::support::{eventually, get, skip, Server, Site};

fn families() -> (Site, Server) {
    let s = Site::with_plugins("", |dir| {
        cc_plugin(
            dir,
            "helpers_families",
            &repo().join("server/tests/plugins/helpers_families.c"),
        );
    });
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{"mountpoint": "/h", "origin": "callback://helpers-families"}],
            "ws-protocols": [{"helpers-families": {}}]}]}"#,
    );
    let srv = s.start();
    (s, srv)
}

fn body(srv: &Server, path: &str) -> String {
    let (status, _, b) = get(&srv.url(path));
    let b = String::from_utf8_lossy(&b).into_owned();
    assert_eq!(status, 200, "{path}: {b}\n{}", srv.log_text());
    b
}

#[test]
fn dll2_lists_keep_lws_order_and_refuse_double_adds() {
    let (_s, srv) = families();
    assert_eq!(
        body(&srv, "/h/dll2"),
        "sorted=1,1,3,4,5 (5) ends=0,1,1,2,3,4,5,9 (8) again=8 detached=0 \
         search=4 search2=a2 stop=1 evens=0,2,4 (3) seen=8 removed=2,4 (2) \
         detached=1 priv=1,1,3,4,5 (5) compares=8"
    );
    assert!(
        eventually(10, || srv.log_text().contains("still in a list")),
        "the refused add is logged: {}",
        srv.log_text()
    );
}

#[test]
fn list_ptr_inserts_sorted_or_at_the_head() {
    let (_s, srv) = families();
    assert_eq!(
        body(&srv, "/h/listptr"),
        "sorted=10,20,30,40, pushed=40,20,10,30,"
    );
}

#[test]
fn ring_in_place_writes_and_the_consume_macros() {
    let (_s, srv) = families();
    assert_eq!(
        body(&srv, "/h/ring"),
        "range=12 waiting=3 free=0 full=1 first=100 a_waits=1 b_waits=3 destroyed=0 \
         after_b destroyed=2 free=2 single destroyed=3 waits=1"
    );
    assert!(
        eventually(10, || srv.log_text().contains("head 3, oldest tail 0")),
        "{}",
        srv.log_text()
    );
}

#[test]
fn lws_dir_lists_globs_and_removes() {
    let (s, srv) = families();
    let d = s.path("walk");
    std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
    for f in ["b.log", "a.txt", "c.txt", "x.txt~", "sub/deeper/f"] {
        std::fs::write(d.join(f), "x").unwrap();
    }
    let outside = s.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, d.join("zlink")).unwrap();
    let got = body(&srv, &format!("/h/dir?d={}", d.display()));
    assert_eq!(
        got,
        "list=a.txt:1,b.log:1,c.txt:1,sub:2,zlink:3 r=1 stopped=0 calls=1 \
         glob=a.txt;c.txt; after= missing=1"
    );
    // The backup survived (lws_dir never shows it); the link was removed,
    // not followed.
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["x.txt~"]);
    assert!(outside.join("keep").exists());
}

#[test]
fn tokenize_splits_as_lws() {
    let (_s, srv) = families();
    assert_eq!(
        body(&srv, "/h/tokenize"),
        "name=[a] int[1] delim[,] name=[b] qs[x y] delim[;] tok[c] float[2.5] end(0) \
         | tok[text] delim[/] tok[html] delim[,] tok[application] delim[/] tok[json] \
         delim[;] name=[q] float[0.9] end(0) \
         | tok[a] delim[,] err(-1) | cut=d small=1"
    );
}

#[test]
fn lwsac_arenas_hand_out_aligned_memory_and_free_it() {
    let (_s, srv) = families();
    assert_eq!(
        body(&srv, "/h/lwsac"),
        "aligned=1 zero=1 intact=1 total=424 extend=0/1 backfill_first=1 \
         detached_owner=set kept=1 after_unref=null default_total=1 freed=null null_total=0"
    );
}

#[test]
fn snprintf_and_wsi_tsi() {
    let (_s, srv) = families();
    assert_eq!(body(&srv, "/h/snprintf"), "cut=8:0123456 fits=2 zero=0");
    assert_eq!(body(&srv, "/h/tsi"), "tsi=same");
}

#[test]
fn serve_http_file_then_file_completion_and_the_peer() {
    let (s, srv) = families();
    let f = s.path("served.txt");
    std::fs::write(&f, "file body\n").unwrap();
    let (status, headers, b) = get(&srv.url(&format!("/h/serve?f={}", f.display())));
    assert_eq!(status, 200);
    assert_eq!(b, b"file body\n");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("text/plain")
    );
    assert_eq!(headers.get("x-extra").map(String::as_str), Some("served"));
    assert!(
        eventually(10, || body(&srv, "/h/peer")
            == "peer=127.0.0.1 completions=1"),
        "{}",
        body(&srv, "/h/peer")
    );
}

/// Two v5-built plugins provide "v5-proto": the higher priority wins even
/// though the other's file comes first by name; the mount's `pmo` reaches
/// it through lws_find_mount + lws_pmo_get_str and through HTTP_PMO.
#[test]
fn a_v5_built_plugin_loads_by_priority_and_reads_its_pmo() {
    let src = repo().join("server/tests/plugins/helpers_v5.c");
    let s = Site::with_plugins("", |dir| {
        for (sym, prio) in [("v5_a_low", 0), ("v5_b_high", 10)] {
            cc_plugin_text(
                dir,
                sym,
                &format!(
                    "#define V5_SYM {sym}\n#define V5_PRIO {prio}\n\
                     #define V5_NAME \"{sym}\"\n#include \"{}\"\n",
                    src.display()
                ),
            );
        }
    });
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{"mountpoint": "/v5", "origin": "callback://v5-proto",
                        "pmo": [{"greeting": "hello"}, {"other": "2"}]},
                       {"mountpoint": "/plain", "origin": "callback://v5-proto"}],
            "ws-protocols": [{"v5-proto": {}}]}]}"#,
    );
    let srv = s.start();
    assert_eq!(
        body(&srv, "/v5/x"),
        "prio=10 greeting=hello missing=null mp=/v5 kind=6 len=3 http_pmo=hello nomount=1"
    );
    assert_eq!(
        body(&srv, "/plain"),
        "prio=10 greeting=(none) missing=null mp=/plain kind=6 len=6 http_pmo= nomount=1"
    );
    let log = srv.log_text();
    // (loading is logged before the server says it is ready)
    assert!(log.contains("api magic 192, priority 10"), "{log}");
    assert!(
        log.contains("protocol \"v5-proto\" is already provided by"),
        "{log}"
    );
}

/// The coverage table agrees with the header and with what `lwsws`
/// exports, and `coverage.md` is its rendering (`scripts/coverage`: every
/// declared function has a row, every supported one is declared and
/// exported, every callback reason has its number, nothing marked "no" is
/// declared).
#[test]
fn the_coverage_table_matches_the_header_and_the_binary() {
    let out = match Command::new("python3")
        .arg(repo().join("scripts/coverage"))
        .args(["--lwsws", env!("CARGO_BIN_EXE_lwsws")])
        .output()
    {
        Ok(o) => o,
        Err(e) => return skip("coverage table", &format!("python3: {e}")),
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plugin compiled against lws's own headers calls `_lws_log` (every
/// `lwsl_*` macro) and `lws_snprintf` as functions: lwsws exports both, so
/// it loads (dlopen resolves every symbol at once) and logs
/// (`server/tests/plugins/lws_built.c`, an lws v5 plugin that does not
/// include our header).
#[test]
fn a_plugin_built_against_lws_headers_finds_the_variadic_calls() {
    let s = Site::with_plugins("", |dir| {
        cc_plugin(
            dir,
            "lws_built",
            &repo().join("server/tests/plugins/lws_built.c"),
        );
    });
    s.conf_d(
        "v",
        r#"{"vhosts": [{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{"lws-built": {}}]}]}"#,
    );
    let srv = s.start();
    assert!(
        eventually(10, || srv.log_text().contains(
            "lws-built plugin: init, lws_snprintf gave 16: 0123456789abcde"
        )),
        "{}",
        srv.log_text()
    );
}
