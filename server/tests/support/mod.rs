//! Test support: config dirs in temp directories, the real `lwsws` binary
//! started on OS-picked ports, and small clients (raw TCP, curl).

#![allow(dead_code)]

pub(crate) mod chromium;
pub(crate) mod plugins;
pub(crate) mod redis;
pub(crate) mod threads;
pub(crate) mod ws;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A test that cannot run here because `why` (a tool is missing): prints
/// `SKIPPED` and returns normally, except under `CI=true`, where the
/// project's scripts install every tool, so a missing one fails the run.
pub(crate) fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{test}: {why} (CI=true: scripts/test-deps must install it)");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// The binary under test.
pub(crate) fn lwsws() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lwsws"))
}

/// A config dir (`conf`, `conf.d/`) and a web root, in a temp dir.
pub(crate) struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// An empty site: `conf` with `global`, an empty `conf.d/`, a `www/` dir.
    pub(crate) fn new(global: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("www")).unwrap();
        std::fs::write(
            dir.path().join("conf"),
            format!("{{\"global\": {{{global}\n}}}}\n"),
        )
        .unwrap();
        Site { dir }
    }

    /// A site with a plugin dir: creates `plugins/`, lets `install` put
    /// plugins into it, and writes `conf` with `plugin-dir` pointing there
    /// plus `global_extra` (more JSON members of `global`, as for [`Site::new`]).
    pub(crate) fn with_plugins(global_extra: &str, install: impl FnOnce(&Path)) -> Site {
        let s = Site::new("");
        let plugins = s.path("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        install(&plugins);
        let sep = if global_extra.is_empty() { "" } else { ", " };
        std::fs::write(
            s.path("conf"),
            format!(
                "{{\"global\": {{\"plugin-dir\": \"{}\"{sep}{global_extra}}}}}\n",
                plugins.display()
            ),
        )
        .unwrap();
        s
    }

    /// A site with the built-in dumb-increment plugin enabled on vhost
    /// `localhost`, whose `/` is a file mount serving `index` as
    /// `index.html`; `global_extra` as for [`Site::with_plugins`].
    pub(crate) fn dumb_increment(global_extra: &str, index: &str) -> Site {
        let s = Site::with_plugins(global_extra, |p| {
            plugins::install_builtins(p, &["dumb_increment"])
        });
        s.conf_d(
            "v",
            &format!(
                r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
                "mounts": [{{"mountpoint": "/", "origin": "file://{}"}}],
                "ws-protocols": [{{"dumb-increment-protocol": {{"status": "ok"}}}}]}}]}}"#,
                s.path("www").display()
            ),
        );
        s.file("index.html", index);
        s
    }

    /// A site with one vhost `localhost` whose `/` is a file mount on `www/`.
    /// `vhost_extra` and `mount_extra` are JSON members added to each object.
    pub(crate) fn simple(vhost_extra: &str, mount_extra: &str) -> Site {
        let s = Site::new("\"server-string\": \"lwsws\"");
        let www = s.path("www");
        let sep_v = if vhost_extra.is_empty() { "" } else { "," };
        let sep_m = if mount_extra.is_empty() { "" } else { "," };
        s.conf_d(
            "vhost",
            &format!(
                r#"{{"vhosts": [{{"name": "localhost", "port": "7681", "interface": "127.0.0.1"{sep_v}{vhost_extra},
                "mounts": [{{"mountpoint": "/", "origin": "file://{}"{sep_m}{mount_extra}}}]}}]}}"#,
                www.display()
            ),
        );
        s
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `conf.d/NAME`.
    pub(crate) fn conf_d(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.dir.path().join("conf.d").join(name), text).unwrap();
        self
    }

    /// Writes a file under `www/`, creating directories.
    pub(crate) fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.dir.path().join("www").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    /// Starts the server on this config dir.
    pub(crate) fn start(&self) -> Server {
        Server::start(self.dir.path(), &[])
    }
}

/// A running `lwsws`.
pub(crate) struct Server {
    child: Child,
    /// Configured port -> bound address (the first one bound for it).
    pub ports: HashMap<u16, SocketAddr>,
    /// Every stderr line so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `lwsws -c DIR --ephemeral-ports ARGS` and waits for it to be ready.
    pub(crate) fn start(dir: &Path, args: &[&str]) -> Server {
        Server::start_env(dir, args, &[])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub(crate) fn start_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = lwsws();
        cmd.arg("-c")
            .arg(dir)
            .arg("--ephemeral-ports")
            .args(args)
            .envs(env.iter().copied());
        Server::spawn(cmd)
    }

    /// Runs `cmd` (an lwsws command line that uses `--ephemeral-ports`) and
    /// waits for it to be ready, collecting its log.
    pub(crate) fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lwsws");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[lwsws] {line}");
                log2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let re = regex::Regex::new(r"listening on (\S+) \(port (\d+):").unwrap();
        let mut ports = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(c) = re.captures(&line) {
                        let addr: SocketAddr = c[1].parse().unwrap();
                        let port: u16 = c[2].parse().unwrap();
                        ports.entry(port).or_insert(addr);
                    }
                    if line.contains(" ready") {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "lwsws did not become ready; log:\n{}",
                        log.lock().unwrap().join("\n")
                    );
                }
            }
        }
        Server { child, ports, log }
    }

    /// `127.0.0.1:PORT` for a configured port.
    pub(crate) fn addr(&self, configured: u16) -> SocketAddr {
        let a = self.ports[&configured];
        SocketAddr::from(([127, 0, 0, 1], a.port()))
    }

    /// `http://127.0.0.1:PORT{path}` for the configured port 7681.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr(7681), path)
    }

    /// The log so far, one string.
    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits up to `secs` for `needle` in the server's log; fails the test
    /// with the log when it does not come.
    pub(crate) fn wait_log(&self, needle: &str, secs: u64) {
        assert!(
            eventually(secs, || self.log_text().contains(needle)),
            "no {needle:?} in the log:\n{}",
            self.log_text()
        );
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP/1.x response read off a raw socket.
#[derive(Debug)]
pub(crate) struct Raw {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Raw {
    /// A header value (first match, name case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Sends raw bytes and reads one response (by Content-Length, or to EOF).
pub(crate) fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    read_response(&mut s, request.starts_with(b"HEAD"))
}

/// Reads one response from `s` (a HEAD response has no body).
pub(crate) fn read_response(s: &mut TcpStream, head_only: bool) -> Raw {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => panic!(
                "connection ended inside a response head: {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut r = Raw {
        status,
        head,
        body: Vec::new(),
    };
    if head_only || status == 304 || status == 204 {
        return r;
    }
    match r.header("content-length") {
        Some(n) => {
            let mut body = vec![0; n.parse().unwrap()];
            s.read_exact(&mut body).unwrap();
            r.body = body;
        }
        None => {
            s.read_to_end(&mut r.body).unwrap();
        }
    }
    r
}

/// GET with a real HTTP client (ureq), no redirects followed, any status.
pub(crate) fn get(url: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    get_with(url, &[])
}

/// GET with extra request headers.
pub(crate) fn get_with(
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let hdrs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(100 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    (status, hdrs, body)
}

/// Runs curl with `args`; returns stdout. Panics if curl is missing.
pub(crate) fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl is installed by scripts/test-deps");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Polls `f` until it is true or `secs` pass.
pub(crate) fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

impl Server {
    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. "TERM") and waits up to `secs` for the exit;
    /// returns the exit code (None if killed by a signal or still running).
    pub(crate) fn signal_and_wait(&mut self, signal: &str, secs: u64) -> Option<i32> {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGHUP and waits up to 20 s for the reload's outcome to be
    /// logged ("configuration reloaded" or "reload refused").
    pub(crate) fn reload(&self) {
        let outcomes = |t: &str| {
            t.matches("configuration reloaded").count() + t.matches("reload refused").count()
        };
        let before = outcomes(&self.log_text());
        Command::new("kill")
            .arg("-HUP")
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(
            eventually(20, || outcomes(&self.log_text()) > before),
            "no reload outcome logged:\n{}",
            self.log_text()
        );
    }

    /// Resident memory of the server (`VmRSS` of `/proc/<pid>/status`), KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Waits up to `secs` for the process to exit; its exit status if it did.
    pub(crate) fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether the tests run as root (mounts, other users).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A tmpfs mounted with `options` (e.g. "noexec") on a new temp dir,
/// unmounted when dropped. Needs root (CAP_SYS_ADMIN); `Err` says why not.
pub(crate) struct TmpfsMount {
    pub dir: tempfile::TempDir,
}

impl TmpfsMount {
    pub(crate) fn new(options: &str) -> Result<TmpfsMount, String> {
        if !is_root() {
            return Err("not root: mounting a tmpfs needs root".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("{options},size=64m,mode=1777"))
            .arg("tmpfs")
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "mount -t tmpfs -o {options} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(TmpfsMount { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
