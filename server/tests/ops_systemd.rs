//! The shipped systemd unit (`systemd-analyze verify`, `ExecReload` checking
//! the configuration before signalling) and logrotate file (the access log
//! reopened with no line lost).

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::ops_packaging::{output_text, run_ok};
use crate::support::plugins::repo;
use crate::support::{eventually, get, Server};

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(repo().join("packaging/lwsws.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecStart=/usr/local/bin/lwsws",
        "ExecReload=/usr/local/bin/lwsws --check-config --strict",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "After=network.target",
        "WantedBy=multi-user.target",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "lwsws.service lacks {line}"
        );
    }
    let caps = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("a capability bounding set");
    for cap in [
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
        "CAP_SETGID",
        "CAP_CHOWN",
    ] {
        assert!(caps.split_whitespace().any(|c| c == cap), "{cap} missing");
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        crate::support::skip(
            "systemd unit verify",
            "systemd-analyze cannot run here (scripts/test-deps installs systemd)",
        );
        return;
    }
    // ExecStart must name an existing executable: this build's lwsws.
    let dir = tempfile::tempdir().unwrap();
    let verify = |text: &str| -> (bool, String) {
        let path = dir.path().join("lwsws.service");
        std::fs::write(&path, text).unwrap();
        let o = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        let complaints: Vec<String> = String::from_utf8_lossy(&o.stderr)
            .lines()
            .chain(String::from_utf8_lossy(&o.stdout).lines())
            .filter(|l| l.contains("lwsws.service"))
            .map(str::to_string)
            .collect();
        eprintln!("[systemd-analyze verify] {}", output_text(&o));
        (o.status.success(), complaints.join("\n"))
    };
    let ours = unit.replace(
        "=/usr/local/bin/lwsws",
        &format!("={}", env!("CARGO_BIN_EXE_lwsws")),
    );
    let (ok, complaints) = verify(&ours);
    assert!(
        ok && complaints.is_empty(),
        "systemd-analyze verify: {complaints}"
    );
    // The check can fail: a misspelt setting is reported.
    let (_, complaints) = verify(&ours.replace("ProtectHome=yes", "ProtectHome=yess"));
    assert!(
        complaints.contains("yess"),
        "systemd-analyze did not notice a broken setting: {complaints:?}"
    );
}

/// Runs the `ExecReload=` lines of `unit` in order as systemd does (no
/// shell; `$MAINPID` replaced; the first that fails fails the reload and
/// the rest do not run). The exit status of the reload and the output.
fn systemd_reload(unit: &str, pid: u32) -> (bool, String) {
    let mut out = String::new();
    for line in unit.lines().filter_map(|l| l.strip_prefix("ExecReload=")) {
        let line = line.replace("$MAINPID", &pid.to_string());
        let mut words = line.split_whitespace();
        let o = Command::new(words.next().unwrap())
            .args(words)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        out.push_str(&output_text(&o));
        if !o.status.success() {
            return (false, out);
        }
    }
    (true, out)
}

/// Issue #15: `systemctl reload` with a broken edit under conf.d said
/// nothing was wrong. The unit's ExecReload checks the configuration
/// first (`nginx -t`'s way): a broken one fails the reload with its
/// file:line and the running server is not signalled; a good one reloads.
#[test]
fn exec_reload_checks_the_configuration_before_signalling() {
    let unit = std::fs::read_to_string(repo().join("packaging/lwsws.service")).unwrap();
    let s = crate::support::Site::simple("", "");
    s.file("index.html", "kept");
    // Only the reloads systemd asks for.
    std::fs::write(s.path("conf"), "{\"global\": {\"watch\": \"off\"}}\n").unwrap();
    // What install.sh writes for a config dir other than /etc/lwsws.
    let unit = unit.replace(
        "=/usr/local/bin/lwsws",
        &format!(
            "={} -c {}",
            env!("CARGO_BIN_EXE_lwsws"),
            s.dir.path().display()
        ),
    );
    assert!(unit.contains("--check-config"), "{unit}");
    let srv = s.start();
    let reloads = |srv: &Server| {
        let t = srv.log_text();
        t.matches("configuration reloaded").count() + t.matches("reload refused").count()
    };

    s.conf_d(
        "zz-broken",
        "{\n  \"vhosts\": [ { \"name\": \"x\" \"port\": 1 } ]\n}\n",
    );
    let (ok, out) = systemd_reload(&unit, srv.pid());
    assert!(!ok, "the reload must fail: {out}");
    assert!(
        regex::Regex::new(r"conf\.d/zz-broken:2:\d+: error: ")
            .unwrap()
            .is_match(&out),
        "{out}"
    );
    // The server was not asked.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(reloads(&srv), 0, "{}", srv.log_text());

    std::fs::remove_file(s.path("conf.d/zz-broken")).unwrap();
    let before = reloads(&srv);
    let (ok, out) = systemd_reload(&unit, srv.pid());
    assert!(ok, "{out}");
    assert!(out.contains("configuration OK"), "{out}");
    assert!(
        eventually(20, || reloads(&srv) > before),
        "the good reload reached the server: {}",
        srv.log_text()
    );
    let (status, _, body) = get(&srv.url("/index.html"));
    assert_eq!((status, body.as_slice()), (200, &b"kept"[..]));
}

/// The shipped logrotate file's signal to the service, as `kill` for a
/// server that systemd does not run.
pub(crate) const SHIPPED_POSTROTATE: &str =
    "systemctl kill --signal=USR1 --kill-who=main lwsws.service";

/// `text` (a logrotate file as shipped) with its postrotate signalling
/// `pid` directly.
pub(crate) fn shipped_postrotate_to_kill(text: &str, pid: u32) -> String {
    assert!(
        text.contains(SHIPPED_POSTROTATE),
        "the postrotate sends SIGUSR1 to lwsws.service:\n{text}"
    );
    assert!(
        !text.contains("systemctl reload") && !text.contains("-HUP"),
        "no reload in the logrotate file"
    );
    text.replace(SHIPPED_POSTROTATE, &format!("kill -USR1 {pid}"))
}

/// Issue #15: the shipped logrotate file reloaded the whole server to
/// reopen its logs. It sends SIGUSR1 now; real `logrotate` rotating twice
/// under a steady stream of requests loses no line, and the server did
/// not reload.
#[test]
fn logrotate_with_the_shipped_file_reopens_the_log_and_loses_no_line() {
    if Command::new("logrotate").arg("--version").output().is_err() {
        return crate::support::skip(
            "ops_packaging::logrotate_with_the_shipped_file_reopens_the_log_and_loses_no_line",
            "no logrotate (scripts/test-deps installs it)",
        );
    }
    let s = crate::support::Site::new("\"watch\": \"off\"");
    let log_dir = s.path("log");
    std::fs::create_dir(&log_dir).unwrap();
    std::fs::set_permissions(&log_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let access_log = log_dir.join("access-log");
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "access-log": "{}", "mounts": [{{"mountpoint": "/", "origin": "file://{}"}}]}}]}}"#,
            access_log.display(),
            s.path("www").display()
        ),
    );
    let srv = s.start();
    let shipped = std::fs::read_to_string(repo().join("packaging/lwsws.logrotate")).unwrap();
    let conf = s.path("logrotate.conf");
    std::fs::write(
        &conf,
        shipped_postrotate_to_kill(&shipped, srv.pid())
            .replace("/var/log/lwsws", log_dir.to_str().unwrap()),
    )
    .unwrap();

    // A steady stream of requests, each logged with its own path.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let url = srv.url("/r/");
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 50 {
                let (status, _, _) = get(&format!("{url}{n}"));
                assert_eq!(status, 404);
                n += 1;
            }
            n
        })
    };
    let rotate = || {
        run_ok(
            Command::new("logrotate")
                .arg("--force")
                .arg("--state")
                .arg(s.path("logrotate.state"))
                .arg(&conf),
            "logrotate",
        )
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    rotate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    rotate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = client.join().unwrap();
    eprintln!("{sent} requests across two rotations");

    // Every request's line, in one of the three files, exactly once.
    let read_all = || {
        let mut text = std::fs::read_to_string(&access_log).unwrap_or_default();
        text += &std::fs::read_to_string(log_dir.join("access-log.1")).unwrap_or_default();
        if let Ok(gz) = std::fs::File::open(log_dir.join("access-log.2.gz")) {
            let mut plain = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut plain)
                .unwrap();
            text += &plain;
        }
        text
    };
    assert!(
        eventually(10, || read_all().lines().count() >= sent as usize),
        "{} lines for {sent} requests",
        read_all().lines().count()
    );
    let text = read_all();
    let mut seen = vec![0u32; sent as usize];
    let request = regex::Regex::new(r#""GET /r/(\d+) HTTP/1\.1" 404"#).unwrap();
    for line in text.lines() {
        let n: usize = request
            .captures(line)
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))[1]
            .parse()
            .unwrap();
        seen[n] += 1;
    }
    let wrong: Vec<(usize, u32)> = seen
        .iter()
        .enumerate()
        .filter(|(_, &c)| c != 1)
        .map(|(i, &c)| (i, c))
        .collect();
    assert!(
        wrong.is_empty(),
        "requests logged other than once: {wrong:?}"
    );
    for f in ["access-log", "access-log.1", "access-log.2.gz"] {
        assert!(log_dir.join(f).exists(), "{f} after two rotations");
    }
    let log = srv.log_text();
    assert_eq!(log.matches("access logs reopened").count(), 2, "{log}");
    assert!(!log.contains("reload"), "no reload: {log}");
}
