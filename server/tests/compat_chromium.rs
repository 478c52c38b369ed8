//! The bundled test page (`data/libwebsockets-test-server/`) in a real
//! browser: Debian's `chromium`, headless, driven over the DevTools protocol
//! (a WebSocket, spoken here with tungstenite). The page runs on the bundled
//! vhost config with the workspace's plugins; the test clicks and draws with
//! real input events and reads what the page shows.
//!
//! Skips, saying why, when no chromium is installed (`scripts/test-deps`
//! installs it). `COMLINK_CHROMIUM` names another binary;
//! `COMLINK_SCREENSHOT=<file.png>` keeps a copy of the final screenshot.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tungstenite::{Message, WebSocket};

use crate::support::plugins::{install_builtins, repo};
use crate::support::ws::{connect, next_text};
use crate::support::{Server, Site};

/// The bundled configuration as `scripts/run` serves it: the repository's
/// own `conf` and `conf.d/test-server` and its `data/` dir, plus one
/// `conf.d` file adding a plugin dir with the workspace's built plugins (the
/// bundled `plugin-dir` is `target/release`, relative to the repository
/// root). `vhost_extra` is inserted into the bundled vhost (e.g. an
/// `access-log`), with `$SITE` standing for the site's temp dir. Also used
/// by `compat_lws_client`.
pub fn start_bundled(vhost_extra: &str) -> (Site, Server) {
    let s = Site::new("");
    std::fs::copy(repo().join("conf"), s.path("conf")).unwrap();
    let plugins = s.path("plugins");
    install_builtins(&plugins, &["dumb_increment", "lws_mirror", "lws_status"]);
    s.conf_d(
        "00-plugins",
        &format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\"}}}}\n",
            plugins.display()
        ),
    );
    let vhost = std::fs::read_to_string(repo().join("conf.d/test-server")).unwrap();
    let anchor = "\"name\": \"localhost\",";
    assert!(vhost.contains(anchor), "conf.d/test-server changed shape");
    s.conf_d(
        "test-server",
        &vhost.replacen(
            anchor,
            &format!(
                "{anchor} {}",
                vhost_extra.replace("$SITE", &s.dir.path().display().to_string())
            ),
            1,
        ),
    );
    let data = repo().join("data");
    let srv = Server::start(s.dir.path(), &["-n", "--data-dir", data.to_str().unwrap()]);
    (s, srv)
}

/// The browser to drive, or why there is none.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("COMLINK_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err("no `chromium` on PATH (Debian package chromium; scripts/test-deps installs it)".into())
}

/// A headless chromium in its own process group (killed as a whole on drop).
struct Browser {
    child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Browser {
    /// Starts chromium; returns it and its DevTools browser endpoint.
    fn start(bin: &Path, profile: &Path) -> (Browser, String) {
        use std::os::unix::process::CommandExt as _;
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
                "--window-size=900,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stderr = child.stderr.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let browser = Browser {
            child,
            stderr: lines,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("DevTools listening on ") {
                        return (browser, url.trim().to_string());
                    }
                }
                Err(_) => panic!(
                    "chromium gave no DevTools endpoint within 30 s; stderr:\n{}",
                    browser.stderr.lock().unwrap().join("\n")
                ),
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A DevTools protocol session on one page (flattened target session).
struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The string value of the first `"key":"..."` in `json`, unescaped.
fn json_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

impl Cdp {
    /// Connects to the browser endpoint and opens `url` in a new page.
    fn open(endpoint: &str, url: &str) -> Cdp {
        let addr: SocketAddr = endpoint
            .strip_prefix("ws://")
            .and_then(|r| r.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected DevTools endpoint {endpoint}"));
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client(endpoint, stream).expect("DevTools handshake");
        let mut cdp = Cdp {
            ws,
            next_id: 0,
            session: String::new(),
        };
        let r = cdp.call(
            "Target.createTarget",
            &format!("{{\"url\":{}}}", json_str(url)),
        );
        let target = json_field(&r, "targetId").expect("targetId");
        let r = cdp.call(
            "Target.attachToTarget",
            &format!("{{\"targetId\":{},\"flatten\":true}}", json_str(&target)),
        );
        cdp.session = json_field(&r, "sessionId").expect("sessionId");
        cdp
    }

    /// Sends one command (to the page session once attached); returns the
    /// raw JSON of its response, skipping events. Panics on a CDP error.
    fn call(&mut self, method: &str, params: &str) -> String {
        self.next_id += 1;
        let id = self.next_id;
        let session = if self.session.is_empty() {
            String::new()
        } else {
            format!(",\"sessionId\":{}", json_str(&self.session))
        };
        let msg = format!("{{\"id\":{id},\"method\":\"{method}\",\"params\":{params}{session}}}");
        self.ws.send(Message::text(msg)).expect("DevTools send");
        let head = format!("{{\"id\":{id},");
        loop {
            let text = match self.ws.read().expect("DevTools read") {
                Message::Text(t) => t.to_string(),
                _ => continue,
            };
            if text.starts_with(&head) {
                assert!(!text.contains("\"error\":{"), "{method} failed: {text}");
                return text;
            }
        }
    }

    /// Evaluates `expr` (which must yield a string) in the page.
    fn eval(&mut self, expr: &str) -> String {
        let r = self.call(
            "Runtime.evaluate",
            &format!(
                "{{\"expression\":{},\"returnByValue\":true}}",
                json_str(expr)
            ),
        );
        assert!(!r.contains("\"exceptionDetails\""), "{expr}: {r}");
        json_field(&r, "value").unwrap_or_else(|| panic!("{expr}: no string value: {r}"))
    }

    /// Polls `expr` until `ok` holds (at most `secs`); returns the value.
    fn wait_for(&mut self, secs: u64, expr: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.eval(expr);
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs} s for {expr}; last value: {v:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One mouse event at page coordinates.
    fn mouse(&mut self, kind: &str, (x, y): (f64, f64), buttons: u8) {
        self.call(
            "Input.dispatchMouseEvent",
            &format!(
                "{{\"type\":\"{kind}\",\"x\":{x},\"y\":{y},\"button\":\"left\",\"buttons\":{buttons},\"clickCount\":1}}"
            ),
        );
    }

    /// Page coordinates of the centre of element `id`.
    fn centre(&mut self, id: &str) -> (f64, f64) {
        let v = self.eval(&format!(
            "(function(){{var r=document.getElementById('{id}').getBoundingClientRect();\
             return (r.left + r.width/2) + ' ' + (r.top + r.height/2);}})()"
        ));
        parse_pair(&v)
    }

    /// Page coordinates of pixel (x, y) of the canvas (inside its border).
    fn canvas_point(&mut self, x: u32, y: u32) -> (f64, f64) {
        let v = self.eval(&format!(
            "(function(){{var c=document.getElementById('canvas'),r=c.getBoundingClientRect();\
             return (r.left + c.clientLeft + {x}*c.clientWidth/c.width) + ' ' + \
             (r.top + c.clientTop + {y}*c.clientHeight/c.height);}})()"
        ));
        parse_pair(&v)
    }

    /// The RGBA of canvas pixel (x, y), as "r,g,b,a".
    fn pixel(&mut self, x: u32, y: u32) -> String {
        self.eval(&format!(
            "Array.from(document.getElementById('canvas').getContext('2d')\
             .getImageData({x},{y},1,1).data).join(',')"
        ))
    }
}

/// "dumb status|count|mirror status" ("loading" before the page is there).
const STATE: &str = "(function(){var d=document.getElementById('dumb-status'),\
     n=document.getElementById('number'),m=document.getElementById('mirror-status');\
     return d && n && m ? d.textContent + '|' + n.getAttribute('data-count') + '|' + \
     m.textContent : 'loading';})()";

fn parse_pair(v: &str) -> (f64, f64) {
    let mut it = v.split(' ').map(|n| n.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// A stroke command `d #rrggbb x0 y0 x1 y1;` as (colour, coordinates).
fn stroke(cmd: &str) -> (String, [i64; 4]) {
    let re = regex::Regex::new(r"^d (#[0-9a-f]{6}) (\d+) (\d+) (\d+) (\d+);$").unwrap();
    let c = re
        .captures(cmd)
        .unwrap_or_else(|| panic!("not a stroke command: {cmd:?}"));
    let n = |i: usize| c[i].parse::<i64>().unwrap();
    (c[1].to_string(), [n(2), n(3), n(4), n(5)])
}

/// Whether `got` is `want` give or take a pixel (input coordinates are
/// whole CSS pixels; the canvas need not sit on whole pixels).
fn near(got: [i64; 4], want: [i64; 4]) -> bool {
    got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1)
}

fn count(state: &str) -> Option<u64> {
    state.split('|').nth(1)?.parse().ok()
}

#[test]
fn bundled_test_page_counts_resets_and_mirrors_drawings_in_chromium() {
    let bin = match chromium() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIPPED compat_chromium: {why}");
            return;
        }
    };
    let (site, srv) = start_bundled("");
    let profile = site.path("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let (browser, endpoint) = Browser::start(&bin, &profile);
    let mut cdp = Cdp::open(&endpoint, &srv.url("/"));

    // Both sockets connect, and the counter counts.
    let s = cdp.wait_for(20, STATE, |s| {
        s.starts_with("connected|") && s.ends_with("|connected") && count(s).is_some()
    });
    let first = count(&s).unwrap();
    let s = cdp.wait_for(10, STATE, |s| count(s).is_some_and(|n| n >= first + 20));
    let before = count(&s).unwrap();

    // "reset" (a real click) restarts it: it shows a number lower than any
    // it showed before the click.
    let at = cdp.centre("reset");
    cdp.mouse("mousePressed", at, 1);
    cdp.mouse("mouseReleased", at, 0);
    cdp.wait_for(10, STATE, |s| {
        s.starts_with("connected|") && count(s).is_some_and(|n| n < before)
    });

    // A second mirror client on the same instance sees the page's strokes;
    // the page draws what comes back, and what the other client sends.
    let mut other = connect(srv.addr(7681), "/", &["lws-mirror-protocol"]);
    cdp.eval("document.getElementById('colour').value = '#d02020'; 'ok'");
    let p0 = cdp.canvas_point(50, 100);
    let p1 = cdp.canvas_point(150, 100);
    let p2 = cdp.canvas_point(250, 100);
    cdp.mouse("mousePressed", p0, 1);
    cdp.mouse("mouseMoved", p1, 1);
    cdp.mouse("mouseMoved", p2, 1);
    cdp.mouse("mouseReleased", p2, 0);
    let one = next_text(&mut other);
    let last = next_text(&mut other);
    let (c0, a) = stroke(&one);
    let (c1, b) = stroke(&last);
    assert_eq!((c0.as_str(), c1.as_str()), ("#d02020", "#d02020"));
    assert!(near(a, [50, 100, 150, 100]), "{one}");
    assert!(near(b, [150, 100, 250, 100]) && b[..2] == a[2..], "{last}");
    cdp.wait_for(
        10,
        "document.getElementById('canvas').getAttribute('data-last')",
        |v| v == last,
    );
    let (x, y) = (u32::try_from(a[2]).unwrap(), u32::try_from(a[3]).unwrap());
    assert_eq!(
        cdp.pixel(x - 40, y),
        "208,32,32,255",
        "the page's own stroke"
    );
    assert_eq!(cdp.pixel(100, 200), "0,0,0,0", "nothing drawn there yet");

    other
        .send(Message::text("d #2050d0 50 200 250 200;"))
        .unwrap();
    assert_eq!(next_text(&mut other), "d #2050d0 50 200 250 200;");
    cdp.wait_for(
        10,
        "document.getElementById('canvas').getAttribute('data-last')",
        |v| v == "d #2050d0 50 200 250 200;",
    );
    assert_eq!(
        cdp.pixel(100, 200),
        "32,80,208,255",
        "the other client's stroke"
    );
    let drawn = cdp.eval("document.getElementById('canvas').getAttribute('data-received')");
    assert_eq!(drawn, "3");

    // A screenshot, for a person to look at (COMLINK_SCREENSHOT keeps it).
    let r = cdp.call("Page.captureScreenshot", "{\"format\":\"png\"}");
    let png = base64::engine::general_purpose::STANDARD
        .decode(json_field(&r, "data").expect("screenshot data"))
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    let shot = site.path("test-page.png");
    std::fs::write(&shot, &png).unwrap();
    if let Some(keep) = std::env::var_os("COMLINK_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    drop(cdp);
    drop(browser);
}
