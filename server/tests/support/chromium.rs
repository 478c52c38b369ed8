//! A headless Chromium driven over the DevTools protocol (its WebSocket,
//! spoken with tungstenite; messages parsed with serde_json).
//!
//! [`find`] says which binary to run, or why none can be (tests then skip,
//! printing the reason): `COMLINK_CHROMIUM` names one, else `chromium` /
//! `chromium-browser` on `PATH` (Debian's `chromium`, which
//! `scripts/test-deps` installs). [`Browser::start`] runs it in its own
//! process group, killed as a whole on drop; [`Page::open`] opens a tab.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// The browser to run, or why there is none that runs.
pub(crate) fn find() -> Result<PathBuf, String> {
    let bin = match std::env::var_os("COMLINK_CHROMIUM") {
        Some(p) => PathBuf::from(p),
        None => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            ["chromium", "chromium-browser"]
                .iter()
                .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    "no `chromium` on PATH (Debian package chromium; scripts/test-deps \
                     installs it)"
                        .to_string()
                })?
        }
    };
    match Command::new(&bin)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(st) if st.success() => Ok(bin),
        Ok(st) => Err(format!("`{} --version` failed ({st})", bin.display())),
        Err(e) => Err(format!("cannot run {}: {e}", bin.display())),
    }
}

/// A running headless chromium.
pub(crate) struct Browser {
    child: Child,
    /// Its stderr lines so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// The DevTools browser endpoint (`ws://127.0.0.1:PORT/devtools/browser/...`).
    pub endpoint: String,
}

impl Browser {
    /// Starts `bin` headless with a fresh profile in `profile` and a
    /// `width`x`height` window; waits (at most 30 s) for its DevTools endpoint.
    pub(crate) fn start(bin: &Path, profile: &Path, (width, height): (u32, u32)) -> Browser {
        use std::os::unix::process::CommandExt as _;
        std::fs::create_dir_all(profile).unwrap();
        let mut child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let err = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut browser = Browser {
            child,
            stderr,
            endpoint: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while browser.endpoint.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("DevTools listening on ") {
                        browser.endpoint = url.trim().to_string();
                    }
                }
                Err(_) => panic!(
                    "chromium gave no DevTools endpoint within 30 s; stderr:\n{}",
                    browser.stderr.lock().unwrap().join("\n")
                ),
            }
        }
        browser
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A DevTools session on one page (a flattened target session).
pub(crate) struct Page {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: Option<String>,
}

impl Page {
    /// Opens `url` in a new tab of the browser.
    pub(crate) fn open(browser: &Browser, url: &str) -> Page {
        let addr: SocketAddr = browser
            .endpoint
            .strip_prefix("ws://")
            .and_then(|r| r.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected DevTools endpoint {}", browser.endpoint));
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) =
            tungstenite::client(browser.endpoint.as_str(), stream).expect("DevTools handshake");
        let mut page = Page {
            ws,
            next_id: 0,
            session: None,
        };
        let r = page.call("Target.createTarget", json!({ "url": url }));
        let target = r["targetId"].as_str().expect("targetId").to_string();
        let r = page.call(
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        page.session = Some(r["sessionId"].as_str().expect("sessionId").to_string());
        page
    }

    /// Sends one command (to the page once attached) and returns its
    /// `result`, skipping events. Panics on a protocol error.
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("DevTools send");
        loop {
            let text = match crate::support::ws::read_message(&mut self.ws).expect("DevTools read")
            {
                Message::Text(t) => t,
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).expect("DevTools sent JSON");
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates `expr` in the page; its value (JSON-serialisable results).
    pub(crate) fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Evaluates `expr`, which must yield a string, in the page.
    pub(crate) fn eval_str(&mut self, expr: &str) -> String {
        let v = self.eval(expr);
        v.as_str()
            .unwrap_or_else(|| panic!("{expr}: no string value: {v}"))
            .to_string()
    }

    /// One left-button mouse event (`mousePressed`, `mouseMoved`,
    /// `mouseReleased`) at page coordinates, with `buttons` held.
    pub(crate) fn mouse(&mut self, kind: &str, (x, y): (f64, f64), buttons: u8) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({
                "type": kind, "x": x, "y": y,
                "button": "left", "buttons": buttons, "clickCount": 1
            }),
        );
    }

    /// Polls `expr` until `ok` holds for its value (at most `secs`);
    /// returns that value. Panics with the last value when time runs out.
    pub(crate) fn wait_for(&mut self, secs: u64, expr: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            // While the page is still loading the expression may throw
            // (no body yet): that is "not yet", not a failure.
            let r = self.call(
                "Runtime.evaluate",
                json!({ "expression": expr, "returnByValue": true }),
            );
            let v = if r.get("exceptionDetails").is_some() {
                Value::Null
            } else {
                r["result"]["value"].clone()
            };
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs} s for {expr}; last value: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of the page as shown now.
    pub(crate) fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        png
    }
}
