//! `rust-example-protocol`: a Comlink plugin written in Rust and built on
//! its own, against `plugin-api` only.
//!
//! It echoes every complete message back to its sender (text as text,
//! binary as binary). A text message that is exactly `panic` makes the
//! callback panic: the host's boundary catches it, logs it and closes that
//! one connection, and every other connection carries on. That is what this
//! example is for (the server's tests use it to prove it).

#![deny(unsafe_code)]

use std::collections::VecDeque;
use std::ffi::CStr;

use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};

/// Largest message echoed; a longer one closes the connection with 1009.
const MAX_MESSAGE: usize = 64 * 1024;
/// Messages waiting to be echoed before receiving pauses.
const MAX_QUEUED: usize = 16;

/// The protocol.
pub struct RustExample;

/// Per-vhost state (none needed).
pub struct State;

/// Per-connection state.
pub struct Session {
    /// The message being received.
    partial: Vec<u8>,
    binary: bool,
    /// Complete messages waiting to be echoed: (binary, data).
    queue: VecDeque<(bool, Vec<u8>)>,
    /// Receiving is paused until the queue drains.
    paused: bool,
}

impl Protocol for RustExample {
    type Vhost = State;
    type Session = Session;
    const NAME: &'static CStr = c"rust-example-protocol";

    fn init(_vhost: Vhost, _options: &Options) -> Option<State> {
        Some(State)
    }

    fn open(_vhd: &mut State, _conn: Connection) -> Option<Session> {
        Some(Session {
            partial: Vec::new(),
            binary: false,
            queue: VecDeque::new(),
            paused: false,
        })
    }

    fn receive(_vhd: &mut State, s: &mut Session, conn: Connection, data: &[u8]) -> Action {
        if conn.is_first_fragment() {
            s.partial.clear();
            s.binary = conn.is_binary();
        }
        if s.partial.len() + data.len() > MAX_MESSAGE {
            return conn.close_reason(1009, b"message too big");
        }
        s.partial.extend_from_slice(data);
        if !conn.is_final_fragment() {
            return Action::Continue;
        }
        let msg = std::mem::take(&mut s.partial);
        if !s.binary && msg == b"panic" {
            panic!("rust-example-protocol: asked to panic by {}", conn.tag());
        }
        s.queue.push_back((s.binary, msg));
        if s.queue.len() >= MAX_QUEUED {
            conn.set_receiving(false);
            s.paused = true;
        }
        conn.request_writable();
        Action::Continue
    }

    fn writeable(_vhd: &mut State, s: &mut Session, conn: Connection) -> Action {
        while let Some((binary, msg)) = s.queue.pop_front() {
            let sent = if binary {
                conn.write_binary(&msg)
            } else {
                conn.write_text(&msg)
            };
            if sent.is_err() {
                return Action::Close;
            }
            if conn.send_pipe_choked() {
                break;
            }
        }
        if !s.queue.is_empty() {
            conn.request_writable();
        } else if s.paused {
            conn.set_receiving(true);
            s.paused = false;
        }
        Action::Continue
    }
}

/// `rust-http-count`: an HTTP protocol for `callback://` mounts. It answers
/// every request with `{"bytes":N,"chunks":M,"path":"..."}` counting the
/// request body, the head in one writeable callback and the body in the
/// next (the lws way), keeping the connection alive.
pub struct RustHttpCount;

/// One HTTP transaction.
pub struct Count {
    bytes: u64,
    chunks: u64,
    path: String,
    answer: Option<Vec<u8>>,
}

impl Protocol for RustHttpCount {
    type Vhost = State;
    type Session = Count;
    const NAME: &'static CStr = c"rust-http-count";

    fn init(_vhost: Vhost, _options: &Options) -> Option<State> {
        Some(State)
    }

    fn open(_vhd: &mut State, _conn: Connection) -> Option<Count> {
        None
    }

    fn open_http(_vhd: &mut State, conn: Connection, path: &str) -> Option<Count> {
        // POST, PUT and PATCH always have a body (up to the client's close
        // when no length is given); other requests when framing says so.
        let has_body = matches!(conn.method(), Some("POST" | "PUT" | "PATCH"))
            || conn
                .header(comlink_plugin_api::abi::WSI_TOKEN_HTTP_CONTENT_LENGTH)
                .is_some()
            || conn
                .header(comlink_plugin_api::abi::WSI_TOKEN_HTTP_TRANSFER_ENCODING)
                .is_some();
        if !has_body {
            conn.request_writable();
        }
        Some(Count {
            bytes: 0,
            chunks: 0,
            path: path.to_string(),
            answer: None,
        })
    }

    fn http_body(_vhd: &mut State, c: &mut Count, _conn: Connection, data: &[u8]) -> Action {
        c.bytes += data.len() as u64;
        c.chunks += 1;
        Action::Continue
    }

    fn http_body_complete(_vhd: &mut State, _c: &mut Count, conn: Connection) -> Action {
        conn.request_writable();
        Action::Continue
    }

    fn http_writeable(_vhd: &mut State, c: &mut Count, conn: Connection) -> Action {
        match c.answer.take() {
            None => {
                let body = format!(
                    "{{\"bytes\":{},\"chunks\":{},\"path\":\"{}\"}}",
                    c.bytes,
                    c.chunks,
                    c.path.replace('\\', "\\\\").replace('"', "\\\"")
                )
                .into_bytes();
                let len = body.len() as u64;
                c.answer = Some(body);
                if conn
                    .write_http_head(200, &[("content-type", "application/json")], Some(len))
                    .is_err()
                {
                    return Action::Close;
                }
                conn.request_writable();
                Action::Continue
            }
            Some(body) => {
                if conn.write_http(&body, true).is_err() {
                    return Action::Close;
                }
                conn.transaction_completed()
            }
        }
    }
}

comlink_plugin_api::export_plugin!(rust_example, "rust example", [RustExample, RustHttpCount]);
