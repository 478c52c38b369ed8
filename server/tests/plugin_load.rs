//! Broken plugins are refused one by one, each logged (at the default log
//! level) with its path and the reason, while the good plugins and the
//! static files keep being served.

use crate::support::plugins::cc_plugin;
use crate::support::ws::{connect, next_text, try_connect};
use crate::support::{get, Server, Site};
use crate::ws_host::{plugin_site, plugin_src, start, vhost};

/// The log line that names `path`; panics when there is none.
fn line_for(srv: &Server, path: &std::path::Path) -> String {
    let p = path.display().to_string();
    srv.log
        .lock()
        .unwrap()
        .iter()
        .find(|l| l.contains(&p))
        .cloned()
        .unwrap_or_else(|| panic!("no log line names {p}:\n{}", srv.log_text()))
}

#[test]
fn broken_plugins_are_logged_and_the_rest_still_serves() {
    let s = Site::new("");
    let dir = s.path("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("libprotocol_junk.so");
    std::fs::write(&junk, "this is not an ELF shared object\n").unwrap();
    let nosym = cc_plugin(&dir, "nosym", &plugin_src("broken_nosym"));
    let badmagic = cc_plugin(&dir, "badmagic", &plugin_src("broken_magic"));
    let initfail = cc_plugin(&dir, "initfail", &plugin_src("broken_initfail"));
    let undef = cc_plugin(&dir, "undef", &plugin_src("broken_undef"));
    cc_plugin(&dir, "abc", &plugin_src("protocols"));
    std::fs::write(
        s.path("conf"),
        format!("{{\"global\": {{\"plugin-dir\": \"{}\"}}}}", dir.display()),
    )
    .unwrap();
    let www = s.path("www");
    s.file("index.html", "static ok\n");
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/", "origin": "file://{}"}}],
            "ws-protocols": [{{"proto-a": {{"default": "1"}}}}, {{"bad-magic": {{"status": "ok"}}}},
                             {{"init-fail": {{"status": "ok"}}}}, {{"undef": {{"status": "ok"}}}}]}}]}}"#,
            www.display()
        ),
    );
    // Default log level (no -d).
    let mut srv = start(&s);

    let cases = [
        (&junk, "cannot load"),
        (&nosym, "exports none of init_protocol_nosym"),
        (&badmagic, "api magic 999 not supported"),
        (&initfail, "init_protocol_initfail returned 1"),
        (&undef, "lws_this_does_not_exist"),
    ];
    for (path, reason) in cases {
        let line = line_for(&srv, path);
        assert!(line.contains(reason), "{reason:?} not in: {line}");
        assert!(line.contains("WARN"), "not a warning: {line}");
    }
    // The protocols of the refused plugins are not offered.
    for p in ["bad-magic", "init-fail", "undef"] {
        match try_connect(srv.addr(7681), "/", &[p]) {
            Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 400, "{p}"),
            Err(e) => panic!("{p}: {e}"),
            Ok(_) => panic!("{p} is offered"),
        }
    }
    // The good plugin and the static files are served.
    let mut ws = connect(srv.addr(7681), "/", &["proto-a"]);
    assert_eq!(next_text(&mut ws), "proto-a on localhost");
    let (status, _, body) = get(&srv.url("/index.html"));
    assert_eq!((status, body.as_slice()), (200, &b"static ok\n"[..]));
    assert!(srv.alive());
}

#[test]
fn a_missing_plugin_dir_does_not_stop_the_next() {
    let s = Site::new("");
    let missing = s.path("no-such-plugins");
    let dir = s.path("plugins");
    cc_plugin(&dir, "abc", &plugin_src("protocols"));
    std::fs::write(
        s.path("conf"),
        format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\", \"plugin-dir\": \"{}\"}}}}",
            missing.display(),
            dir.display()
        ),
    )
    .unwrap();
    s.conf_d(
        "v",
        &format!(
            "{{\"vhosts\": [{}]}}",
            vhost(
                "localhost",
                7681,
                r#", "ws-protocols": [{"proto-b": {"status": "ok"}}]"#
            )
        ),
    );
    let srv = start(&s);
    // Noted, with its path...
    line_for(&srv, &missing);
    // ...and the next dir loaded anyway (lws issue 2019).
    let mut ws = connect(srv.addr(7681), "/", &["proto-b"]);
    assert_eq!(next_text(&mut ws), "proto-b on localhost");
}

#[test]
fn protocol_init_failure_only_affects_that_vhost() {
    let s = plugin_site(
        &[("pvo", "pvo")],
        "",
        &[
            vhost(
                "alpha",
                7681,
                r#", "ws-protocols": [{"pvo-echo": {"fail-init": "1", "greeting": "x"}}]"#,
            ),
            vhost(
                "beta",
                7682,
                r#", "ws-protocols": [{"pvo-echo": {"greeting": "hello-b", "color": "blue"}}]"#,
            ),
        ],
    );
    let srv = start(&s);
    let log = srv.log_text();
    assert!(
        log.contains(r#"vhost "alpha": protocol "pvo-echo": PROTOCOL_INIT returned 1"#),
        "{log}"
    );
    assert!(log.contains("pvo-echo: refusing init on alpha"), "{log}");
    match try_connect(srv.addr(7681), "/", &["pvo-echo"]) {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status(), 400),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("pvo-echo is offered on alpha although its init failed"),
    }
    let mut ws = connect(srv.addr(7682), "/", &["pvo-echo"]);
    assert_eq!(
        next_text(&mut ws),
        "vhost=beta greeting=hello-b color=blue keys=color,greeting fresh=1"
    );
}

/// Plugins are loaded as `/proc/self/fd/N` (a leased file, or a private
/// in-memory copy: issue #15), so `$ORIGIN` in a plugin's run path is not
/// its dir: a companion library
/// beside it is not found that way, and the log says so; through the
/// library path it is.
#[test]
fn origin_is_not_the_plugin_dir_and_the_log_says_so() {
    let s = Site::new("");
    let dir = s.path("plugins");
    let lib = s.path("lib");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    let cc = |args: &[&str]| {
        let o = std::process::Command::new("cc")
            .args(args)
            .output()
            .expect("cc is installed by scripts/test-deps");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let comp = s.path("companion.c");
    std::fs::write(&comp, "int companion_value(void) { return 42; }\n").unwrap();
    let comp_so = lib.join("libcompanion.so");
    cc(&[
        "-shared",
        "-fPIC",
        "-o",
        comp_so.to_str().unwrap(),
        comp.to_str().unwrap(),
    ]);
    // Beside the plugin too, where $ORIGIN would find it (the server also
    // tries it as a plugin, and skips it).
    std::fs::copy(&comp_so, dir.join("libcompanion.so")).unwrap();
    let src = s.path("p.c");
    std::fs::write(
        &src,
        r#"#include <libwebsockets.h>
int companion_value(void);
static int cb(struct lws *wsi, enum lws_callback_reasons r, void *u, void *in, size_t len)
{ return r == LWS_CALLBACK_ESTABLISHED && companion_value() != 42; }
static const struct lws_protocols protocols[] = { { "origin-probe", cb, 0, 0, 0, NULL, 0 } };
LWS_VISIBLE int init_protocol_origin_probe(struct lws_context *cx, struct lws_plugin_capability *c)
{ c->protocols = protocols; c->count_protocols = 1; return 0; }
LWS_VISIBLE int destroy_protocol_origin_probe(struct lws_context *cx) { return 0; }
"#,
    )
    .unwrap();
    let plugin = dir.join("libprotocol_origin_probe.so");
    let include = crate::support::plugins::repo().join("plugin-api/include");
    cc(&[
        "-shared",
        "-fPIC",
        "-I",
        include.to_str().unwrap(),
        "-o",
        plugin.to_str().unwrap(),
        src.to_str().unwrap(),
        "-L",
        lib.to_str().unwrap(),
        "-lcompanion",
        "-Wl,-rpath,$ORIGIN",
    ]);
    std::fs::write(
        s.path("conf"),
        format!("{{\"global\": {{\"plugin-dir\": \"{}\"}}}}", dir.display()),
    )
    .unwrap();
    s.conf_d(
        "v",
        &format!("{{\"vhosts\": [{}]}}", vhost("localhost", 7681, "")),
    );
    let srv = start(&s);
    let line = line_for(&srv, &plugin);
    assert!(
        line.contains("libcompanion.so: cannot open shared object file")
            && line.contains("$ORIGIN is not the plugin dir"),
        "{line}"
    );
    drop(srv);

    let lib_path = lib.to_str().unwrap();
    let srv = Server::start_env(s.dir.path(), &[], &[("LD_LIBRARY_PATH", lib_path)]);
    let line = line_for(&srv, &plugin);
    assert!(line.contains("protocols origin-probe"), "{line}");
    // ESTABLISHED called into the companion: a wrong answer would have
    // closed the connection; it stays open.
    let mut ws = connect(srv.addr(7681), "/", &["origin-probe"]);
    ws.get_mut()
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    match crate::support::ws::read_message(&mut ws) {
        Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the connection should stay open: {other:?}"),
    }
}
