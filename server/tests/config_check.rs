//! `--check-config` and start-up refusals: every problem named with its
//! file:line:col, the seed's own files accepted.

use std::path::Path;
use std::process::Output;

use crate::support::{lwsws, Site};

fn check(dir: &Path) -> Output {
    lwsws()
        .arg("-c")
        .arg(dir)
        .arg("--check-config")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn bundled_default_config_checks_clean() {
    let o = lwsws()
        .args(["-c", ".", "--data-dir", "data", "--check-config"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("configuration OK"), "{}", text(&o));
}

#[test]
fn seed_files_pass_check_with_host_warnings_and_server_refuses_them() {
    let dir = repo().join("examples/seed-config");
    let o = check(&dir);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("conf:") && t.contains("unknown key \"interface\""),
        "{t}"
    );
    // AMS-TEAM does not exist on a build machine: a warning naming key and place.
    assert!(t.contains("warning") && t.contains("AMS-TEAM"), "{t}");
    let line = t.lines().find(|l| l.contains("AMS-TEAM")).unwrap();
    assert!(
        regex::Regex::new(r"conf:\d+:\d+: warning:")
            .unwrap()
            .is_match(line),
        "{line}"
    );

    // --strict (the unit's ExecReload) judges them as a start would: errors.
    let o = lwsws()
        .arg("-c")
        .arg(&dir)
        .args(["--check-config", "--strict"])
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let line = t.lines().find(|l| l.contains("AMS-TEAM")).unwrap();
    assert!(
        regex::Regex::new(r"conf:\d+:\d+: error:")
            .unwrap()
            .is_match(line),
        "{line}"
    );
    assert!(t.contains("cannot run on this host"), "{t}");

    // Starting on them is refused with the same message, as an error.
    let o = lwsws()
        .arg("-c")
        .arg(&dir)
        .arg("--ephemeral-ports")
        .output()
        .unwrap();
    let t = text(&o);
    assert!(!o.status.success());
    assert!(t.contains("AMS-TEAM") && t.contains("error"), "{t}");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let s = Site::new("");
    s.conf_d(
        "bad",
        "{\n  \"vhosts\": [\n    { \"name\": \"x\" \"port\": 1 }\n  ]\n}\n",
    );
    let o = check(s.dir.path());
    let t = text(&o);
    assert!(!o.status.success());
    let re = regex::Regex::new(r"conf\.d/bad:3:19: error: .*expected").unwrap();
    assert!(re.is_match(&t), "{t}");
}

#[test]
fn type_errors_and_missing_keys_are_listed_together() {
    let s = Site::new(r#""count-threads": [1]"#);
    s.conf_d(
        "v",
        r#"{"vhosts": [
  {"name": "a", "port": "80x"},
  {"name": "b"},
  {"name": "c", "port": 1, "mounts": [{"mountpoint": "/"}, {"mountpoint": "/x", "origin": "ftp://x"}]}
]}
"#,
    );
    let o = check(s.dir.path());
    let t = text(&o);
    assert!(!o.status.success());
    for want in [
        r"conf:1:\d+: error: .*count-threads.*array",
        r"conf\.d/v:2:\d+: error: .*port.*expected a number",
        r#"conf\.d/v:3:\d+: error: .*"b".*port required"#,
        r"conf\.d/v:4:\d+: error: .*origin",
        r"conf\.d/v:4:\d+: error: .*unsupported protocol",
    ] {
        assert!(
            regex::Regex::new(want).unwrap().is_match(&t),
            "missing {want:?} in:\n{t}"
        );
    }
}

#[test]
fn unknown_keys_warn_with_line_and_do_not_fail() {
    let s = Site::new("");
    s.conf_d(
        "v",
        "{\"vhosts\": [{\"name\": \"a\", \"port\": 8,\n  \"colour\": \"blue\"}]}\n",
    );
    let o = check(s.dir.path());
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        regex::Regex::new(r#"conf\.d/v:2:3: warning: unknown key "colour""#)
            .unwrap()
            .is_match(&t),
        "{t}"
    );
}

#[test]
fn comments_string_numbers_and_ddir() {
    let s = Site::new("# a comment line\n\"server-string\": \"x#y\" # trailing comment");
    s.conf_d(
        "v",
        "{\"vhosts\": [{\n# comment\n\"name\": \"localhost\", \"port\": \"7681\", \"interface\": \"127.0.0.1\",\n\"mounts\": [{\"mountpoint\": \"/\", \"origin\": \"file://_lws_ddir_/site\"}]}]}\n",
    );
    std::fs::create_dir_all(s.path("data/site")).unwrap();
    std::fs::write(s.path("data/site/index.html"), "from ddir").unwrap();
    let srv = crate::support::Server::start(
        s.dir.path(),
        &["--data-dir", s.path("data").to_str().unwrap()],
    );
    let (st, h, body) = crate::support::get(&srv.url("/"));
    assert_eq!((st, body.as_slice()), (200, &b"from ddir"[..]));
    assert_eq!(h["server"], "x#y");
}

#[test]
fn missing_conf_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = check(dir.path());
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot open"), "{}", text(&o));
}

#[test]
fn port_in_use_names_the_vhost_and_file() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let s = Site::new("");
    s.conf_d(
        "v",
        &format!("{{\"vhosts\": [{{\"name\": \"busy\", \"port\": {port}, \"interface\": \"127.0.0.1\"}}]}}\n"),
    );
    let o = lwsws().arg("-c").arg(s.dir.path()).output().unwrap();
    let t = text(&o);
    assert!(!o.status.success());
    assert!(
        t.contains("conf.d/v:1:") && t.contains("\"busy\"") && t.contains("cannot listen"),
        "{t}"
    );
}

#[test]
fn random_bytes_as_config_files_never_crash_the_binary() {
    // The parser's own fuzz tests run thousands of inputs in-process; here a
    // few go through the real binary to prove the exit path is an error.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..12 {
        let s = Site::new("");
        let mut bytes = Vec::new();
        for _ in 0..(64 + i * 37) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push(if i % 2 == 0 {
                (x & 0xff) as u8
            } else {
                {
                    let alphabet = b"{}[]\",:#\n 0a\"port\"vhosts";
                    alphabet[(x % alphabet.len() as u64) as usize]
                }
            });
        }
        std::fs::write(s.path("conf.d/junk"), &bytes).unwrap();
        let o = check(s.dir.path());
        assert_eq!(o.status.code(), Some(1), "input {i}: {}", text(&o));
        assert!(text(&o).contains("error"), "input {i}");
    }
}
