//! Controller compatibility and hostile input (issue 8).
//!
//! * `corpus`: every raw request of `server/tests/corpus/` (see its README)
//!   sent over TCP to the real binary, its answers checked against the
//!   case's `.expect`.
//! * `timing`: the cases that need time (trickled bodies and heads, the
//!   minimum body rate, half-close), and `ip-limit-wsi`.
//! * `ws`: WebSocket protocol violations and message limits.

mod timing;
mod ws;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::support::plugins::{cc_plugin, install_builtins, repo};
use crate::support::{Server, Site};

/// The vhost's protocols in [`site`].
const PROTOCOLS: &str = r#"{"http-count": {"status": "ok"}},
    {"dumb-increment-protocol": {}}, {"lws-mirror-protocol": {}}"#;

/// A site whose `/count` is the C http-count plugin and whose WebSocket
/// protocols are dumb-increment and lws-mirror. `global` and `vhost` are
/// extra JSON members (without leading commas) for the two objects.
pub(crate) fn site(global: &str, vhost: &str) -> (Site, Server) {
    site_with(global, vhost, PROTOCOLS)
}

/// Like [`site`], with the vhost's `ws-protocols` items.
pub(crate) fn site_with(global: &str, vhost: &str, protocols: &str) -> (Site, Server) {
    let s = Site::new("");
    let plugins = s.path("plugins");
    cc_plugin(
        &plugins,
        "http_count",
        &repo().join("examples/c-plugin-http/protocol_http_count.c"),
    );
    install_builtins(&plugins, &["dumb_increment", "lws_mirror"]);
    let sep = if global.is_empty() { "" } else { "," };
    std::fs::write(
        s.path("conf"),
        format!(
            "{{\"global\": {{\"plugin-dir\": \"{}\", \"server-string\": \"lwsws\"{sep}{global}}}}}",
            plugins.display()
        ),
    )
    .unwrap();
    let sep = if vhost.is_empty() { "" } else { "," };
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "mounts": [{{"mountpoint": "/count", "origin": "callback://http-count"}}],
            "ws-protocols": [{protocols}]{sep}{vhost}}}]}}"#
        ),
    );
    let srv = s.start();
    (s, srv)
}

/// One response read off a raw socket.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A field of the JSON body, as text (strings unquoted).
    pub(crate) fn json(&self, field: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some(match v.get(field)? {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// Reads one response (interim ones included); `Ok(None)` at a clean EOF
/// before any byte. Bodies by Content-Length, chunked, or to EOF.
pub(crate) fn read_resp(s: &mut TcpStream) -> Result<Option<Resp>, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Ok(_) if head.is_empty() => return Ok(None),
            Err(e) if head.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(None)
            }
            other => {
                return Err(format!(
                    "connection ended inside a response head ({other:?}): {:?}",
                    String::from_utf8_lossy(&head)
                ))
            }
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line in {text:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut r = Resp {
        status,
        headers,
        body: Vec::new(),
    };
    if status < 200 || status == 204 || status == 304 {
        return Ok(Some(r));
    }
    let io = |e: std::io::Error| format!("reading a body of {status}: {e}");
    if let Some(n) = r.header("content-length") {
        let mut body = vec![0; n.parse().map_err(|_| format!("bad length {n}"))?];
        s.read_exact(&mut body).map_err(io)?;
        r.body = body;
    } else if r
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                s.read_exact(&mut byte).map_err(io)?;
                line.push(byte[0]);
            }
            let size_text = String::from_utf8_lossy(&line[..line.len() - 2]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            let mut chunk = vec![0; size + 2];
            s.read_exact(&mut chunk).map_err(io)?;
            if size == 0 {
                break;
            }
            r.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        s.read_to_end(&mut r.body).map_err(io)?;
    }
    Ok(Some(r))
}

/// Whether the server closes `s` within `secs` (EOF or reset, after
/// reading and dropping anything still sent).
pub(crate) fn closed_within(s: &mut TcpStream, secs: u64) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    let mut buf = [0u8; 1024];
    while std::time::Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return true,
        }
    }
    false
}

/// Whether the connection is still open after a short wait (no EOF, no data).
fn still_open(s: &mut TcpStream) -> Result<(), String> {
    s.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => Err("closed, expected it open".into()),
        Ok(n) => Err(format!(
            "unexpected bytes: {:?}",
            String::from_utf8_lossy(&b[..n])
        )),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("expected it open: {e}")),
    }
}

/// Runs one corpus case; `Err` says what differed.
fn run_case(addr: SocketAddr, req: &[u8], expect: &str) -> Result<(), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req).map_err(|e| format!("send: {e}"))?;
    let mut interim_ok = Vec::new();
    let mut last_status = None;
    for line in expect.lines() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let (key, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("bad expect line {line:?}"))?;
        let rest = rest.trim();
        match key {
            "interim" => interim_ok.push(rest.parse::<u16>().map_err(|e| e.to_string())?),
            "response" => {
                let mut words = rest.split_whitespace();
                let want: u16 = words
                    .next()
                    .and_then(|w| w.parse().ok())
                    .ok_or_else(|| format!("bad response line {line:?}"))?;
                let r = loop {
                    let r = read_resp(&mut s)?
                        .ok_or_else(|| format!("closed before the {want} response"))?;
                    if (100..200).contains(&r.status) && r.status != 101 {
                        if !interim_ok.contains(&r.status) {
                            return Err(format!("unexpected interim {}", r.status));
                        }
                        continue;
                    }
                    break r;
                };
                if r.status != want {
                    return Err(format!(
                        "status {} (wanted {want}); headers {:?}; body {:?}",
                        r.status,
                        r.headers,
                        String::from_utf8_lossy(&r.body)
                    ));
                }
                for w in words {
                    let (k, v) = w
                        .split_once('=')
                        .ok_or_else(|| format!("bad check {w:?}"))?;
                    let got = match k.strip_prefix("h:") {
                        Some(h) => r.header(h).map(str::to_string),
                        None => r.json(k),
                    };
                    if got.as_deref() != Some(v) {
                        return Err(format!(
                            "{k}: got {got:?}, wanted {v:?} (status {}, body {:?})",
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        ));
                    }
                }
                last_status = Some(r.status);
            }
            "after" => match rest {
                "closed" => {
                    if !closed_within(&mut s, 10) {
                        return Err("still open, expected it closed".into());
                    }
                }
                "open" => still_open(&mut s)?,
                other => return Err(format!("bad after: {other}")),
            },
            "ws-text" => {
                if last_status != Some(101) {
                    return Err("ws-text without a 101".into());
                }
                let f = crate::support::ws::read_frame(&mut s);
                if f.opcode != 1 || f.payload != rest.as_bytes() {
                    return Err(format!(
                        "first ws message: opcode {} {:?}",
                        f.opcode,
                        String::from_utf8_lossy(&f.payload)
                    ));
                }
            }
            other => return Err(format!("unknown expect key {other:?}")),
        }
    }
    Ok(())
}

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn corpus_of_raw_requests() {
    let (_s, mut srv) = site("", "");
    let addr = srv.addr(7681);
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "req").then(|| p.file_stem().unwrap().to_string_lossy().into())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "corpus has only {} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let req = std::fs::read(corpus_dir().join(format!("{name}.req"))).unwrap();
        let expect = std::fs::read_to_string(corpus_dir().join(format!("{name}.expect")))
            .unwrap_or_else(|e| panic!("{name}.expect: {e}"));
        assert!(
            expect.lines().any(|l| l.starts_with("response:")),
            "{name}.expect checks no response"
        );
        if let Err(e) = run_case(addr, &req, &expect) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
    // Nothing of it hurt the server.
    assert!(srv.alive());
    let r = run_case(
        addr,
        b"POST /count/end HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n.",
        "response: 200 bytes=1 path=/end",
    );
    assert_eq!(r, Ok(()));
}
