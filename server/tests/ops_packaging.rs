//! Packaging: `packaging/install.sh` into a temporary root (DESTDIR) the way
//! the Dockerfile runs it (`--build-only`, then `NO_BUILD=1` without a C
//! compiler), the INSTALLED `lwsws` serving the installed config, data dir
//! and plugins; logrotate on the installed rotation file; the seed's
//! plugin-standalone workflow (`cmake .. && make && make install`) against the
//! installed SDK, loaded by the installed server; the `.deb`. The systemd unit
//! and logrotate file are in `ops_systemd`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::ops_systemd::shipped_postrotate_to_kill;
use crate::support::plugins::repo;
use crate::support::ws::{connect, next_text};
use crate::support::{eventually, get, Server};

/// Where cargo left `lwsws` and the plugin cdylibs (target/debug under
/// `cargo test`): install.sh's TARGET_DIR.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_lwsws"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub(crate) fn output_text(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd`, panicking with its output unless it succeeds.
pub(crate) fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e}); scripts/test-deps installs it"));
    assert!(o.status.success(), "{what} failed: {}", output_text(&o));
    o
}

fn id(flag: &str) -> String {
    let o = run_ok(Command::new("id").arg(flag), "id");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `packaging/install.sh ARGS` with a clean installation environment.
fn install_sh(args: &[&str], env: &[(&str, &str)]) -> Output {
    let script = repo().join("packaging/install.sh");
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert!(
        mode & 0o111 != 0,
        "packaging/install.sh must be executable (the Dockerfile runs it directly)"
    );
    let mut cmd = Command::new(&script);
    for var in [
        "DESTDIR",
        "PREFIX",
        "SYSCONFDIR",
        "LOCALSTATEDIR",
        "SYSTEMD_UNIT_DIR",
        "LOGROTATE_DIR",
        "SERVICE_USER",
        "SERVICE_GROUP",
        "LOG_DIR",
        "STATE_DIR",
        "PROFILE",
        "NO_BUILD",
        "CC",
        "STRIP",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env("TARGET_DIR", target_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let o = cmd.output().expect("run packaging/install.sh");
    eprintln!("[install.sh {args:?}]\n{}", output_text(&o));
    o
}

/// Every function the plugin header declares `LWS_VISIBLE LWS_EXTERN`
/// (comments removed), as server/tests/plugin_abi.rs parses it.
fn declared_functions(include: &Path) -> BTreeSet<String> {
    let re =
        regex::Regex::new(r"LWS_VISIBLE\s+LWS_EXTERN[^;{(]*?\b([a-z_][a-z0-9_]*)\s*\(").unwrap();
    let comments = regex::Regex::new(r"(?s)/\*.*?\*/").unwrap();
    let mut files = vec![include.join("libwebsockets.h")];
    for e in std::fs::read_dir(include.join("libwebsockets")).unwrap() {
        files.push(e.unwrap().path());
    }
    let mut names = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = comments.replace_all(&text, "");
        for c in re.captures_iter(&code) {
            names.insert(c[1].to_string());
        }
    }
    names
}

/// The dynamic symbols a shared object defines.
fn defined_dynamic_symbols(so: &Path) -> BTreeSet<String> {
    let o = run_ok(
        Command::new("nm").args(["-D", "--defined-only"]).arg(so),
        "nm (binutils, with the C compiler)",
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("T"))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

/// The Dockerfile's `HEALTHCHECK ... CMD [...]` command.
fn dockerfile_healthcheck() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK "))
        .expect("the Dockerfile has a HEALTHCHECK");
    let cmd = line
        .split_once(" CMD ")
        .map(|(_, c)| c.trim())
        .expect("HEALTHCHECK ... CMD");
    serde_json::from_str(cmd).expect("CMD in exec form (a JSON array)")
}

/// The section names of an ELF file (`readelf -S -W`).
fn section_names(elf: &Path) -> Vec<String> {
    let o = run_ok(
        Command::new("readelf").args(["-S", "-W"]).arg(elf),
        "readelf",
    );
    let re = regex::Regex::new(r"\]\s+(\.\S+)").unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| re.captures(l).map(|c| c[1].to_string()))
        .collect()
}

/// `readelf -d` of a shared object.
fn dynamic_section(so: &Path) -> String {
    let o = run_ok(Command::new("readelf").arg("-d").arg(so), "readelf");
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The installed `lwsws`, started on OS-picked ports.
/// `<root>/usr/local/bin/lwsws -c <root>/etc/lwsws --data-dir
/// <root>/usr/local/share --ephemeral-ports`: the installed config, data dir
/// and built-in plugin dir, nothing from the source tree.
fn start_installed(root: &Path, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(root.join("usr/local/bin/lwsws"));
    cmd.arg("-c")
        .arg(root.join("etc/lwsws"))
        .arg("--data-dir")
        .arg(root.join("usr/local/share"))
        .arg("--ephemeral-ports")
        .env_remove("LD_LIBRARY_PATH")
        .envs(env.iter().copied());
    Server::spawn(cmd)
}

/// Reads `n` counter values from a dumb-increment-style protocol.
fn counter_values(addr: SocketAddr, protocol: &str, n: usize) -> Vec<u64> {
    let mut ws = connect(addr, "/", &[protocol]);
    (0..n)
        .map(|_| {
            let t = next_text(&mut ws);
            t.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{protocol}: not a number: {t:?}"))
        })
        .collect()
}

fn assert_counts_up(values: &[u64], what: &str) {
    assert!(
        values.windows(2).all(|w| w[1] == w[0] + 1),
        "{what}: counter does not count up by one: {values:?}"
    );
}

#[test]
fn install_script_stages_a_server_that_serves_and_the_seed_plugin_workflow() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    // The access logs' directory at run time (the staged one under DESTDIR
    // is checked for its mode; the server writes here).
    let log_dir = tmp.path().join("log");
    std::fs::create_dir(&log_dir).unwrap();
    std::fs::set_permissions(&log_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let user = id("-un");
    let group = id("-gn");

    // The Dockerfile's builder step (cargo's output exists: nothing but the
    // SDK stub is built), then its runtime step, without a C compiler.
    let o = install_sh(&["--build-only"], &[("NO_BUILD", "1")]);
    assert!(o.status.success(), "install.sh --build-only failed");
    let env = [
        ("NO_BUILD", "1"),
        ("CC", "/nonexistent/cc"),
        ("DESTDIR", root.to_str().unwrap()),
        ("SERVICE_USER", user.as_str()),
        ("SERVICE_GROUP", group.as_str()),
        ("LOG_DIR", log_dir.to_str().unwrap()),
    ];
    let o = install_sh(&[], &env);
    assert!(o.status.success(), "install.sh into DESTDIR failed");

    // --- What went where.
    let usr = root.join("usr/local");
    let plugin_dir = usr.join("share/libwebsockets-test-server/plugins");
    let exe = usr.join("bin/lwsws");
    assert!(std::fs::metadata(&exe).unwrap().permissions().mode() & 0o111 != 0);
    let mut bundled = Vec::new();
    for e in std::fs::read_dir(repo().join("plugins")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        let so = format!("libprotocol_{name}.so");
        assert!(plugin_dir.join(&so).is_file(), "{so} not installed");
        bundled.push(so);
    }
    assert!(bundled.len() >= 5, "plugins: {bundled:?}");
    // Installed stripped (issue #15): no debug info, no static symbol
    // table; the build keeps both (for perf). The dynamic symbols stay
    // (the server below loads the plugins and they call into it).
    for (installed, built) in bundled
        .iter()
        .map(|so| (plugin_dir.join(so), target_dir().join(so)))
        .chain([(exe.clone(), target_dir().join("lwsws"))])
    {
        let sections = section_names(&installed);
        // (.debug_gdb_scripts is loaded with the code: a few bytes that
        // name rustc's gdb helpers, not debug info.)
        assert!(
            !sections
                .iter()
                .any(|s| s == ".symtab" || (s.starts_with(".debug") && s != ".debug_gdb_scripts")),
            "{} is not stripped: {sections:?}",
            installed.display()
        );
        assert!(
            section_names(&built).iter().any(|s| s == ".symtab"),
            "the build keeps its symbols: {}",
            built.display()
        );
        let (a, b) = (
            std::fs::metadata(&installed).unwrap().len(),
            std::fs::metadata(&built).unwrap().len(),
        );
        assert!(a < b, "{}: {a} bytes, built {b}", installed.display());
    }
    let data = usr.join("share/libwebsockets-test-server");
    let test_html = std::fs::read(repo().join("data/libwebsockets-test-server/test.html")).unwrap();
    assert_eq!(std::fs::read(data.join("test.html")).unwrap(), test_html);
    assert!(
        std::fs::metadata(data.join("lws-cgi-test.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111
            != 0,
        "the CGI script keeps its execute bit"
    );
    for h in std::fs::read_dir(repo().join("plugin-api/include/libwebsockets")).unwrap() {
        let name = h.unwrap().file_name();
        assert!(usr.join("include/libwebsockets").join(&name).is_file());
    }
    assert!(usr.join("include/libwebsockets.h").is_file());
    assert_eq!(
        std::fs::read_link(usr.join("lib/libwebsockets.so")).unwrap(),
        Path::new("libwebsockets.so.19")
    );
    let stub = usr.join("lib/libwebsockets.so.19");
    assert!(dynamic_section(&stub).contains("Library soname: [libwebsockets.so.19]"));
    let pc = std::fs::read_to_string(usr.join("lib/pkgconfig/libwebsockets.pc")).unwrap();
    assert!(pc.contains("prefix=/usr/local\n"), "{pc}");
    assert!(pc.contains("-lwebsockets"), "{pc}");
    let conf = std::fs::read_to_string(root.join("etc/lwsws/conf")).unwrap();
    assert!(
        conf.contains(&format!("\"username\": \"{user}\"")),
        "{conf}"
    );
    assert!(!conf.contains('@'), "unsubstituted placeholder in {conf}");
    let vhost = std::fs::read_to_string(root.join("etc/lwsws/conf.d/localhost")).unwrap();
    assert!(
        vhost.contains(&format!(
            "\"access-log\": \"{}/access-log\"",
            log_dir.display()
        )),
        "{vhost}"
    );
    let unit = std::fs::read_to_string(usr.join("lib/systemd/system/lwsws.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/local/bin/lwsws\n"),
        "{unit}"
    );
    assert!(
        unit.contains("\nExecReload=/usr/local/bin/lwsws --check-config --strict\n"),
        "{unit}"
    );
    let logrotate = std::fs::read_to_string(root.join("etc/logrotate.d/lwsws")).unwrap();
    assert!(
        logrotate.contains(&format!("{}/*log {{", log_dir.display())),
        "{logrotate}"
    );
    let staged_logs = root.join(log_dir.strip_prefix("/").unwrap());
    assert_eq!(
        std::fs::metadata(&staged_logs)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700,
        "the log dir is private to the service user"
    );

    // --- The SDK's link stub: exactly the declared host functions (so
    // -lwebsockets resolves whatever a plugin calls), each of which aborts
    // when it is called outside lwsws.
    let declared = declared_functions(&repo().join("plugin-api/include"));
    assert!(declared.len() > 60, "header parse found only {declared:?}");
    assert_eq!(defined_dynamic_symbols(&stub), declared);
    let probe_src = tmp.path().join("probe.c");
    std::fs::write(
        &probe_src,
        "#include <libwebsockets.h>\nint main(void) { return lws_get_library_version() != NULL; }\n",
    )
    .unwrap();
    let probe = tmp.path().join("probe");
    run_ok(
        Command::new("cc")
            .arg("-I")
            .arg(usr.join("include"))
            .arg("-o")
            .arg(&probe)
            .arg(&probe_src)
            .arg("-L")
            .arg(usr.join("lib"))
            .arg("-lwebsockets"),
        "cc (link a program against the stub)",
    );
    let o = Command::new(&probe)
        .env("LD_LIBRARY_PATH", usr.join("lib"))
        .output()
        .unwrap();
    assert!(
        !o.status.success()
            && String::from_utf8_lossy(&o.stderr).contains("lws_get_library_version() called"),
        "the stub's functions abort outside lwsws: {}",
        output_text(&o)
    );

    // pkg-config finds the staged SDK (sysroot = DESTDIR).
    let o = run_ok(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "libwebsockets"])
            .env("PKG_CONFIG_PATH", usr.join("lib/pkgconfig"))
            .env("PKG_CONFIG_SYSROOT_DIR", &root),
        "pkg-config",
    );
    let flags = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        flags.contains(&format!("-I{}", usr.join("include").display()))
            && flags.contains(&format!("-L{}", usr.join("lib").display()))
            && flags.contains("-lwebsockets"),
        "pkg-config libwebsockets: {flags}"
    );

    // --- The installed server: test page, bundled plugins, access log.
    {
        let mut srv = start_installed(&root, &[]);
        let (status, _, body) = get(&srv.url("/"));
        assert_eq!(status, 200);
        assert_eq!(body, test_html, "/ serves the installed test.html");
        let (status, _, _) = get(&srv.url("/test.js"));
        assert_eq!(status, 200);
        // The Dockerfile's HEALTHCHECK, run as Docker would inside the image
        // (the installed lwsws and conf; port 7681 is the picked one here).
        let mut check = dockerfile_healthcheck();
        assert_eq!(check[0], "lwsws", "{check:?}");
        check[0] = exe.display().to_string();
        for arg in &mut check {
            *arg = arg.replace("127.0.0.1:7681", &srv.addr(7681).to_string());
        }
        let o = Command::new(&check[0]).args(&check[1..]).output().unwrap();
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(r#"{"status":"ok"}"#),
            "HEALTHCHECK {check:?}: {}",
            output_text(&o)
        );
        assert_counts_up(
            &counter_values(srv.addr(7681), "dumb-increment-protocol", 3),
            "installed dumb-increment-protocol",
        );
        assert_counts_up(
            &counter_values(srv.addr(7681), "example-standalone-protocol", 3),
            "installed (bundled) example-standalone-protocol",
        );
        let access_log = log_dir.join("access-log");
        assert!(
            eventually(10, || std::fs::read_to_string(&access_log)
                .unwrap_or_default()
                .contains("\"GET /test.js HTTP/1.1\" 200")),
            "access log {}",
            access_log.display()
        );

        // logrotate with the installed file; only the log dir (already
        // substituted) and the way of reaching the service (systemctl) differ.
        let rotate_conf = tmp.path().join("logrotate.conf");
        let text = shipped_postrotate_to_kill(&logrotate, srv.pid());
        std::fs::write(&rotate_conf, text).unwrap();
        run_ok(
            Command::new("logrotate")
                .arg("--force")
                .arg("--state")
                .arg(tmp.path().join("logrotate.state"))
                .arg(&rotate_conf),
            "logrotate",
        );
        let rotated = log_dir.join("access-log.1");
        assert!(
            std::fs::read_to_string(&rotated)
                .unwrap()
                .contains("GET /test.js"),
            "logrotate moved the old lines to {}",
            rotated.display()
        );
        // Reopened on SIGUSR1: new lines go to a new access-log.
        assert!(
            eventually(10, || {
                let _ = get(&srv.url("/after-rotation"));
                std::fs::read_to_string(&access_log)
                    .unwrap_or_default()
                    .contains("GET /after-rotation")
            }),
            "no fresh access-log after rotation + SIGUSR1; log:\n{}",
            srv.log_text()
        );
        assert!(srv.alive());
    }

    // --- The seed's workflow (Code snippet 4): cmake .. && make && make
    // install of the plugin-standalone example against the installed SDK.
    let build = tmp.path().join("build");
    std::fs::create_dir(&build).unwrap();
    run_ok(
        Command::new("cmake")
            .arg(format!("-DCMAKE_PREFIX_PATH={}", usr.display()))
            .arg(repo().join("examples/c-plugin"))
            .current_dir(&build),
        "cmake ..",
    );
    run_ok(Command::new("make").current_dir(&build), "make");
    run_ok(
        Command::new("make")
            .arg("install")
            .env("DESTDIR", &root)
            .current_dir(&build),
        "make install",
    );
    let c_plugin = plugin_dir.join("libprotocol_example_standalone.so");
    assert_ne!(
        std::fs::read(&c_plugin).unwrap(),
        std::fs::read(target_dir().join("libprotocol_example_standalone.so")).unwrap(),
        "make install replaced the bundled Rust example with the C build"
    );
    let dynamic = dynamic_section(&c_plugin);
    assert!(
        dynamic.contains("Shared library: [libwebsockets.so.19]"),
        "the plugin links -lwebsockets: {dynamic}"
    );
    // The seed's code times with a uv_timer_t: it links libuv, and so does
    // the stub, for plugins whose build links only -lwebsockets (lws's own
    // plugin-standalone CMake files).
    assert!(
        dynamic.contains("Shared library: [libuv.so.1]"),
        "the plugin links libuv: {dynamic}"
    );
    let stub_dynamic = dynamic_section(&stub);
    assert!(
        stub_dynamic.contains("Shared library: [libuv.so.1]"),
        "the SDK's libwebsockets.so needs libuv: {stub_dynamic}"
    );

    // lws v4.1+'s plugin-standalone CMakeLists find the SDK with
    // find_package(libwebsockets CONFIG REQUIRED) before project(), then
    // link `-lwebsockets ${LIBWEBSOCKETS_DEP_LIBS}` and include
    // <libwebsockets.h> from no path of their own: a project of that shape.
    let config_mode = tmp.path().join("config-mode");
    std::fs::create_dir_all(config_mode.join("build")).unwrap();
    std::fs::write(
        config_mode.join("CMakeLists.txt"),
        format!(
            "cmake_minimum_required(VERSION 3.13)\n\
             find_package(libwebsockets CONFIG REQUIRED)\n\
             project(config_mode C)\n\
             add_library(protocol_example_standalone SHARED \"{}\")\n\
             target_link_libraries(protocol_example_standalone -lwebsockets ${{LIBWEBSOCKETS_DEP_LIBS}})\n",
            repo()
                .join("examples/c-plugin/protocol_example_standalone.c")
                .display()
        ),
    )
    .unwrap();
    run_ok(
        Command::new("cmake")
            .arg(format!("-DCMAKE_PREFIX_PATH={}", usr.display()))
            // Only the SDK may answer, not a build tree in ~/.cmake.
            .arg("-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
            .arg("..")
            .current_dir(config_mode.join("build")),
        "cmake (find_package CONFIG)",
    );
    run_ok(
        Command::new("make").current_dir(config_mode.join("build")),
        "make (find_package CONFIG)",
    );
    let built = dynamic_section(&config_mode.join("build/libprotocol_example_standalone.so"));
    assert!(
        built.contains("Shared library: [libwebsockets.so.19]")
            && built.contains("Shared library: [libuv.so.1]"),
        "{built}"
    );

    // The installed server loads it. The stub is found as lws is, through
    // the library path (ldconfig on a real install; LD_LIBRARY_PATH here, as
    // the seed's Dockerfile sets it).
    let lib_path = usr.join("lib");
    let mut srv = start_installed(&root, &[("LD_LIBRARY_PATH", lib_path.to_str().unwrap())]);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", srv.pid())).unwrap();
    assert!(
        maps.contains(stub.to_str().unwrap()),
        "the C plugin pulled in the stub library (so this is the C plugin)"
    );
    // Every stub function aborts: counting means the plugin's calls
    // (lws_protocol_vh_priv_zalloc, lws_sul_schedule, lws_write, ...) went
    // to lwsws's own functions.
    assert_counts_up(
        &counter_values(srv.addr(7681), "example-standalone-protocol", 5),
        "C example-standalone-protocol",
    );
    assert!(srv.alive(), "lwsws died: {}", srv.log_text());
    assert!(!srv.log_text().contains("SDK link stub"));
    drop(srv);

    // --- A second install keeps changed configs and says where the new
    // defaults went.
    let conf_path = root.join("etc/lwsws/conf");
    let mine = conf.replace("\"timeout-secs\": \"15\"", "\"timeout-secs\": \"30\"");
    assert_ne!(mine, conf);
    std::fs::write(&conf_path, &mine).unwrap();
    let vhost_path = root.join("etc/lwsws/conf.d/localhost");
    std::fs::write(&vhost_path, vhost.replace("7681", "7682")).unwrap();
    let o = install_sh(&[], &env);
    assert!(o.status.success(), "second install.sh failed");
    assert_eq!(std::fs::read_to_string(&conf_path).unwrap(), mine);
    assert_eq!(
        std::fs::read_to_string(root.join("etc/lwsws/conf.dist")).unwrap(),
        conf
    );
    assert!(std::fs::read_to_string(&vhost_path)
        .unwrap()
        .contains("7682"));
    assert_eq!(
        std::fs::read_to_string(root.join("etc/lwsws/conf.d.dist/localhost")).unwrap(),
        vhost
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("conf.dist"), "{out}");
    assert!(
        std::fs::read_dir(root.join("etc/lwsws/conf.d"))
            .unwrap()
            .count()
            == 1,
        "nothing new in conf.d/ (every file there is read as configuration)"
    );
}

/// `dpkg-deb ARGS`' stdout.
fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let o = run_ok(Command::new("dpkg-deb").args(args).arg(deb), "dpkg-deb");
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Copies every library `elf` needs (as `ldd` finds them on this machine,
/// the dynamic loader included) to the same path under `root`.
fn copy_libraries(elf: &Path, root: &Path) {
    let o = run_ok(Command::new("ldd").arg(elf), "ldd");
    for lib in String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
    {
        let to = root.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(lib, &to).unwrap();
    }
}

/// The uid owning `path`.
fn owner(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().uid()
}

/// Issue #15: a Debian package. packaging/build-deb makes
/// comlink_<version>_<arch>.deb from install.sh's tree; its contents,
/// conffiles and maintainer scripts are checked, and (as root) dpkg
/// installs it into a throwaway root with its scripts run chrootless
/// (creating the lwsws user there), and the installed server, started by
/// its unit's ExecStart in a chroot of that root, serves as that user.
/// Then dpkg purges it.
#[test]
fn deb_package_installs_into_a_throwaway_root_and_serves() {
    const TEST: &str = "ops_packaging::deb_package_installs_into_a_throwaway_root_and_serves";
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        return crate::support::skip(TEST, "no dpkg-deb (not a Debian system)");
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = run_ok(
        Command::new(repo().join("packaging/build-deb"))
            .env("NO_BUILD", "1")
            .env("TARGET_DIR", target_dir())
            .env("OUT_DIR", tmp.path())
            // A debug build is large: xz would take most of the test's time.
            .env("DEB_COMPRESS", "gzip")
            .env_remove("DEB_VERSION")
            .env_remove("DESTDIR")
            .env_remove("PREFIX"),
        "packaging/build-deb",
    );
    let deb = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let arch = run_ok(
        Command::new("dpkg").arg("--print-architecture"),
        "dpkg --print-architecture",
    );
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    assert_eq!(
        deb.file_name().unwrap().to_str().unwrap(),
        format!("comlink_{}_{arch}.deb", env!("CARGO_PKG_VERSION"))
    );

    // --- The control fields, files, conffiles and scripts.
    let fields = dpkg_deb(&["-f"], &deb);
    for want in [
        "Package: comlink",
        &format!("Version: {}", env!("CARGO_PKG_VERSION")),
        "Depends: libc6 (>= ",
        // The SDK's stub needs it, for plugins on lws's libuv integration.
        "libuv1 (>= ",
        "Conflicts: libwebsockets-dev",
    ] {
        assert!(fields.contains(want), "{want} in\n{fields}");
    }
    let files = dpkg_deb(&["-c"], &deb);
    for want in [
        "./usr/bin/lwsws",
        "./usr/share/libwebsockets-test-server/plugins/libprotocol_lws_packet.so",
        "./usr/share/libwebsockets-test-server/test.html",
        "./usr/include/libwebsockets.h",
        "./usr/include/libwebsockets/lws-misc.h",
        "./usr/lib/libwebsockets.so.19",
        "./usr/lib/libwebsockets.so -> libwebsockets.so.19",
        "./usr/lib/pkgconfig/libwebsockets.pc",
        "./usr/lib/cmake/libwebsockets/libwebsockets-config.cmake",
        "./usr/lib/systemd/system/lwsws.service",
        "./etc/lwsws/conf",
        "./etc/lwsws/conf.d/localhost",
        "./etc/logrotate.d/lwsws",
        "./usr/share/man/man8/lwsws.8.gz",
        "./var/log/lwsws/",
        "./var/lib/lwsws/",
    ] {
        assert!(files.contains(want), "{want} in\n{files}");
    }
    let ctl = tmp.path().join("DEBIAN");
    run_ok(
        Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&ctl),
        "dpkg-deb -e",
    );
    assert_eq!(
        std::fs::read_to_string(ctl.join("conffiles")).unwrap(),
        "/etc/logrotate.d/lwsws\n/etc/lwsws/conf\n/etc/lwsws/conf.d/localhost\n"
    );
    let postinst = std::fs::read_to_string(ctl.join("postinst")).unwrap();
    assert!(postinst.contains("useradd --system"), "{postinst}");
    let unpacked = tmp.path().join("unpacked");
    run_ok(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
        "dpkg-deb -x",
    );
    let mut man = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(
            std::fs::File::open(unpacked.join("usr/share/man/man8/lwsws.8.gz")).unwrap(),
        ),
        &mut man,
    )
    .unwrap();
    for want in [
        ".TH LWSWS 8",
        "check\\-config",
        "\\-\\-probe",
        ".SH SIGNALS",
    ] {
        assert!(man.contains(want), "{want} in lwsws(8):\n{man}");
    }
    for so in [
        "usr/bin/lwsws",
        "usr/share/libwebsockets-test-server/plugins/libprotocol_lws_packet.so",
    ] {
        assert!(
            !section_names(&unpacked.join(so))
                .iter()
                .any(|s| s == ".symtab"),
            "{so} is stripped"
        );
    }

    // --- dpkg -i into a throwaway root, scripts run chrootless.
    if !crate::support::is_root() {
        eprintln!(
            "SKIPPED {TEST} (install part): not root (dpkg --root, chown and chroot need it)"
        );
        return;
    }
    let root = tmp.path().join("root");
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "etc",
        "proc",
        "tmp",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (f, text) in [
        ("var/lib/dpkg/status", ""),
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
        ("etc/gshadow", "root:*::\n"),
    ] {
        std::fs::write(root.join(f), text).unwrap();
    }
    let dpkg = |args: &[&str]| {
        run_ok(
            Command::new("dpkg")
                .arg(format!("--root={}", root.display()))
                .args(["--force-script-chrootless", "--force-depends"])
                .args(args),
            "dpkg",
        )
    };
    dpkg(&["-i", deb.to_str().unwrap()]);
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let uid: u32 = passwd
        .lines()
        .find_map(|l| l.strip_prefix("lwsws:x:"))
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("postinst made no lwsws user:\n{passwd}"));
    assert_ne!(uid, 0);
    assert_eq!(owner(&root.join("var/log/lwsws")), uid);
    assert_eq!(owner(&root.join("var/lib/lwsws")), uid);
    let status = dpkg(&["-s", "comlink"]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("Status: install ok installed"));

    // --- The installed server, as its unit starts it, in a chroot of the
    // root (with this machine's C libraries copied in, and /proc).
    copy_libraries(&root.join("usr/bin/lwsws"), &root);
    for e in std::fs::read_dir(root.join("usr/share/libwebsockets-test-server/plugins")).unwrap() {
        copy_libraries(&e.unwrap().path(), &root);
    }
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/lwsws.service")).unwrap();
    let exec_start = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .to_string();
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t proc proc '{0}/proc' && exec chroot '{0}' {exec_start} --ephemeral-ports",
            root.display()
        ));
    let srv = Server::spawn(cmd);
    assert!(
        srv.log_text()
            .contains(&format!("privileges dropped to uid {uid}")),
        "{}",
        srv.log_text()
    );
    let test_html = std::fs::read(repo().join("data/libwebsockets-test-server/test.html")).unwrap();
    let (status, _, body) = get(&srv.url("/"));
    assert_eq!((status, body == test_html), (200, true));
    let (status, _, body) = get(&srv.url("/healthz"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_counts_up(
        &counter_values(srv.addr(7681), "dumb-increment-protocol", 3),
        "installed dumb-increment-protocol",
    );
    let access_log = root.join("var/log/lwsws/access-log");
    assert!(
        eventually(10, || std::fs::read_to_string(&access_log)
            .unwrap_or_default()
            .contains("GET / HTTP/1.1")),
        "access log"
    );
    assert_eq!(owner(&access_log), uid, "the access log belongs to lwsws");
    drop(srv);

    // --- Purged: the files go, a packet journal stays.
    let journal = root.join("var/lib/lwsws/packets/segment");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    std::fs::write(&journal, "packets").unwrap();
    dpkg(&["--purge", "comlink"]);
    assert!(!root.join("usr/bin/lwsws").exists());
    assert!(!root.join("etc/lwsws/conf").exists());
    assert!(!root.join("var/log/lwsws").exists());
    assert!(journal.exists());
}
