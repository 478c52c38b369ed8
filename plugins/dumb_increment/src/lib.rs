//! `dumb-increment-protocol`, as lws's test server has it: every connection
//! gets its own counter, sent as a decimal text message every 50 ms and then
//! incremented. A message starting `reset\n` sets it back to 0;
//! `closeme\n` closes the connection with 1001 "seeya". Messages shorter
//! than 6 bytes are ignored.
//!
//! Per-vhost options (`ws-protocols`): `options` — bit 0 set disables the
//! timer (numbers are then only sent when the client is written to for
//! another reason), as in lws.

#![deny(unsafe_code)]

use std::ffi::CStr;
use std::time::{Duration, Instant};

use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};

/// The interval between numbers.
const PERIOD: Duration = Duration::from_millis(50);

/// The protocol.
pub struct DumbIncrement;

/// Per-vhost state.
pub struct State {
    timer: bool,
}

/// Per-connection state.
pub struct Session {
    number: u64,
    /// When the next number is due: each period is counted from the last
    /// due time, not from when the timer happened to run, so the rate stays
    /// at 20 per second instead of drifting below it.
    next: Instant,
}

impl Protocol for DumbIncrement {
    type Vhost = State;
    type Session = Session;
    const NAME: &'static CStr = c"dumb-increment-protocol";
    const RX_BUFFER_SIZE: usize = 10;

    fn init(_vhost: Vhost, options: &Options) -> Option<State> {
        let opts: u32 = options
            .get("options")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some(State {
            timer: opts & 1 == 0,
        })
    }

    fn open(vhd: &mut State, conn: Connection) -> Option<Session> {
        let next = Instant::now() + PERIOD;
        if vhd.timer {
            conn.set_timer(Some(PERIOD));
        }
        Some(Session { number: 0, next })
    }

    fn timer(vhd: &mut State, s: &mut Session, conn: Connection) -> Action {
        conn.request_writable();
        if vhd.timer {
            let now = Instant::now();
            s.next += PERIOD;
            if s.next < now {
                // Far behind (a stalled loop): restart the schedule from now.
                s.next = now + PERIOD;
            }
            conn.set_timer(Some(s.next - now));
        }
        Action::Continue
    }

    fn writeable(_vhd: &mut State, s: &mut Session, conn: Connection) -> Action {
        let text = s.number.to_string();
        s.number += 1;
        match conn.write_text(text.as_bytes()) {
            Ok(()) => Action::Continue,
            Err(_) => Action::Close,
        }
    }

    fn receive(_vhd: &mut State, s: &mut Session, conn: Connection, data: &[u8]) -> Action {
        if data.len() < 6 {
            return Action::Continue;
        }
        if data.starts_with(b"reset\n") {
            s.number = 0;
        }
        if data.starts_with(b"closeme\n") {
            return conn.close_reason(1001, b"seeya");
        }
        Action::Continue
    }
}

comlink_plugin_api::export_plugin!(dumb_increment, "dumb increment", [DumbIncrement]);
