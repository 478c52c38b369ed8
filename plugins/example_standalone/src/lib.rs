//! `example-standalone-protocol`: the seed's plugin-standalone example
//! (`examples/c-plugin/protocol_example_standalone.c`) in Rust, callback
//! for callback.
//!
//! Like the seed, one timer per vhost fires every 50 ms and asks for a
//! write on every connection of the protocol there; each connection then
//! sends its own counter (starting at 0) as a decimal text message and
//! increments it. A message that is exactly `reset\n` sets the counter
//! back to 0; exactly `closeme\n` closes the connection with 1001 "seeya"
//! (the seed compares with `strcmp`). Messages shorter than 6 bytes are
//! ignored. No per-vhost options.

#![deny(unsafe_code)]

use std::ffi::{c_int, CStr};
use std::time::Duration;

use comlink_plugin_api::abi::{LLL_NOTICE, LWS_CALLBACK_USER};
use comlink_plugin_api::protocol::log;
use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};

/// The interval between numbers (the seed's `uv_timer_start(.., 50, 50)`).
const PERIOD: Duration = Duration::from_millis(50);
/// The vhost event the timer delivers.
const TICK: c_int = LWS_CALLBACK_USER + 1;

/// The protocol.
pub struct ExampleStandalone;

/// Per-vhost state: the timer needs none.
pub struct State;

/// Per-connection state.
pub struct Session {
    number: u64,
}

/// The message up to its first NUL, as the seed's `strcmp` reads it.
fn as_c_string(data: &[u8]) -> &[u8] {
    data.split(|&b| b == 0).next().unwrap_or(data)
}

impl Protocol for ExampleStandalone {
    type Vhost = State;
    type Session = Session;
    const NAME: &'static CStr = c"example-standalone-protocol";
    const RX_BUFFER_SIZE: usize = 10;

    fn init(vhost: Vhost, _options: &Options) -> Option<State> {
        vhost.schedule(TICK, PERIOD);
        Some(State)
    }

    fn vhost_event(_vhd: &mut State, vhost: Vhost, reason: c_int) {
        if reason == TICK {
            vhost.request_writable_all();
            vhost.schedule(TICK, PERIOD);
        }
    }

    fn open(_vhd: &mut State, _conn: Connection) -> Option<Session> {
        Some(Session { number: 0 })
    }

    fn writeable(_vhd: &mut State, s: &mut Session, conn: Connection) -> Action {
        let text = s.number.to_string();
        s.number += 1;
        match conn.write_text(text.as_bytes()) {
            Ok(()) => Action::Continue,
            Err(_) => {
                log(
                    comlink_plugin_api::abi::LLL_ERR,
                    &format!("ERROR writing to di socket ({})", conn.tag()),
                );
                Action::Close
            }
        }
    }

    fn receive(_vhd: &mut State, s: &mut Session, conn: Connection, data: &[u8]) -> Action {
        if data.len() < 6 {
            return Action::Continue;
        }
        let text = as_c_string(data);
        if text == b"reset\n" {
            s.number = 0;
        }
        if text == b"closeme\n" {
            log(LLL_NOTICE, "dumb_inc: closing as requested");
            return conn.close_reason(1001, b"seeya");
        }
        Action::Continue
    }
}

comlink_plugin_api::export_plugin!(
    example_standalone,
    "example standalone",
    [ExampleStandalone]
);
