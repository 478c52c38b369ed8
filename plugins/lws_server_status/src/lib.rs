//! `lws-server-status`, as lws's lwsws has it (v2.x–v4.1): once a client of
//! this protocol connects, every `update-ms` every client of it on the vhost
//! is sent one JSON text message with the server's state and the first bytes
//! of some files:
//!
//! ```text
//! {"i":<context dump>, "files": [{"path":"<file>","val":"<first 255 bytes>"}, ...]}
//! ```
//!
//! `<context dump>` is the host's `lws_json_dump_context` (version, uptime,
//! load averages, per-thread and per-vhost figures, plugins). A client that
//! connects gets the current state at once (and so do the others, as in
//! lws). The updates stop once the last client has gone. What clients send
//! is ignored.
//!
//! Per-vhost options: `update-ms` (period, default 5000), `hide-vhosts`
//! (non-zero leaves the per-vhost figures out), `filepath` (repeatable: a
//! file read at each update; one that cannot be read is left out). See README.md for how this differs from lws.

#![deny(unsafe_code)]

use std::ffi::{c_int, CStr};
use std::io::Read as _;
use std::time::Duration;

use comlink_plugin_api::abi::{LLL_WARN, LWS_CALLBACK_USER};
use comlink_plugin_api::protocol::{context_json, log};
use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};
use serde_json::{json, Value};

/// The period when `update-ms` is not given (or not a number).
const DEFAULT_PERIOD: Duration = Duration::from_millis(5000);
/// The shortest period accepted (lws would spin with `update-ms` < 1000).
const MIN_PERIOD: Duration = Duration::from_millis(50);
/// How much of each `filepath` file is sent.
const FILE_BYTES: usize = 255;
/// Our timed vhost callback.
const TICK: c_int = LWS_CALLBACK_USER;

/// The protocol.
pub struct LwsServerStatus;

/// Per-vhost state.
pub struct State {
    /// Leave the per-vhost figures out of the context dump.
    hide_vhosts: bool,
    /// Time between updates.
    period: Duration,
    /// Files whose first bytes go into each update, in config order.
    files: Vec<String>,
    /// Clients connected now.
    clients: usize,
    /// A [`TICK`] is scheduled.
    ticking: bool,
    /// The last update, as sent.
    last: String,
    /// Counts updates; a client that has sent update `n` has `sent == n`.
    generation: u64,
}

/// Per-connection state.
pub struct Session {
    /// The generation of the last update written to this client.
    sent: u64,
}

impl State {
    /// Builds a new update and asks to write it to every client.
    fn update(&mut self, vhost: Vhost) {
        let ctx = context_json(self.hide_vhosts);
        // A file that cannot be read is left out, as lws does.
        let files: Vec<Value> = self
            .files
            .iter()
            .filter_map(|path| Some(json!({ "path": path, "val": head_of(path)? })))
            .collect();
        // The host's context dump goes in as it is.
        let out = format!(
            "{{\"i\":{}, \"files\": {}}}",
            if ctx.is_empty() { "{}" } else { &ctx },
            Value::Array(files)
        );
        self.last = out;
        self.generation += 1;
        vhost.request_writable_all();
    }
}

/// The first [`FILE_BYTES`] bytes of file `path` as text (invalid UTF-8
/// replaced, a character cut at the end dropped); `None` if unreadable.
fn head_of(path: &str) -> Option<String> {
    let mut buf = Vec::with_capacity(FILE_BYTES);
    std::fs::File::open(path)
        .ok()?
        .take(FILE_BYTES as u64)
        .read_to_end(&mut buf)
        .ok()?;
    let mut out = String::with_capacity(buf.len());
    let mut rest = buf.as_slice();
    loop {
        match std::str::from_utf8(rest) {
            Ok(t) => {
                out.push_str(t);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                match e.error_len() {
                    Some(n) => {
                        out.push('\u{fffd}');
                        rest = &bad[n..];
                    }
                    // A character cut by the length limit.
                    None => break,
                }
            }
        }
    }
    Some(out)
}

/// lws's `atoi`: optional sign and leading digits, 0 without any.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// The update period an `update-ms` value gives.
fn period_of(vhost: Vhost, value: &str) -> Duration {
    let ms = atoi(value);
    if ms <= 0 {
        log(
            LLL_WARN,
            &format!(
                "lws-server-status: vhost \"{}\": update-ms \"{value}\" is not a positive \
                 number of milliseconds; using {} ms",
                vhost.name(),
                DEFAULT_PERIOD.as_millis()
            ),
        );
        return DEFAULT_PERIOD;
    }
    Duration::from_millis(ms.unsigned_abs()).max(MIN_PERIOD)
}

impl Protocol for LwsServerStatus {
    type Vhost = State;
    type Session = Session;
    const NAME: &'static CStr = c"lws-server-status";
    const RX_BUFFER_SIZE: usize = 1024;

    fn init(vhost: Vhost, options: &Options) -> Option<State> {
        let mut state = State {
            hide_vhosts: false,
            period: DEFAULT_PERIOD,
            files: Vec::new(),
            clients: 0,
            ticking: false,
            last: String::new(),
            generation: 0,
        };
        // `Options` keeps repeated keys, in file order.
        for (name, value) in &options.0 {
            match name.as_str() {
                "hide-vhosts" => state.hide_vhosts = atoi(value) != 0,
                "update-ms" => state.period = period_of(vhost, value),
                "filepath" => state.files.push(value.clone()),
                _ => {}
            }
        }
        Some(state)
    }

    fn open(vhd: &mut State, conn: Connection) -> Option<Session> {
        let vhost = conn.vhost();
        vhd.clients += 1;
        if !vhd.ticking {
            vhd.ticking = true;
            vhost.schedule(TICK, vhd.period);
        }
        vhd.update(vhost);
        Some(Session { sent: 0 })
    }

    fn writeable(vhd: &mut State, s: &mut Session, conn: Connection) -> Action {
        if s.sent == vhd.generation || vhd.last.is_empty() {
            return Action::Continue;
        }
        s.sent = vhd.generation;
        match conn.write_text(vhd.last.as_bytes()) {
            Ok(()) => Action::Continue,
            Err(_) => Action::Close,
        }
    }

    fn closed(vhd: &mut State, _s: Session, _conn: Connection) {
        vhd.clients = vhd.clients.saturating_sub(1);
    }

    fn vhost_event(vhd: &mut State, vhost: Vhost, reason: c_int) {
        if reason != TICK {
            return;
        }
        if vhd.clients == 0 {
            // Stopped: the next client to connect starts it again.
            vhd.ticking = false;
            return;
        }
        vhd.update(vhost);
        vhost.schedule(TICK, vhd.period);
    }
}

comlink_plugin_api::export_plugin!(lws_server_status, "lws server status", [LwsServerStatus]);
