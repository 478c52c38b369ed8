//! `lws-status`, as lws's test server has it: whenever a client of this
//! protocol connects or goes away, every client of it (on the vhost) is sent
//! one JSON text message listing them:
//!
//! ```text
//! { "version":"<library version>", "wss_over_h2":"0", "hostname":"<host>",
//!   "wsi":"<clients>", "conns":[{"peer":"<ip>","time":"<epoch secs>","ua":"<user agent>"}, ...]}
//! ```
//!
//! All numbers are strings, newest connection first, as in lws (object
//! members in serde_json's key order, not lws's; readers parse it as JSON).
//! Changes that happen while a client's previous message is still on its way
//! are folded into one message with the state at the time it is written.
//! Nothing it receives is used. No per-vhost options. See README.md for how
//! this differs from lws.

#![deny(unsafe_code)]

use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};

use comlink_plugin_api::abi::WSI_TOKEN_HTTP_USER_AGENT;
use comlink_plugin_api::protocol::{canonical_hostname, library_version};
use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};
use serde_json::{json, Value};

/// The protocol.
pub struct LwsStatus;

/// One connected client.
struct Client {
    conn: Connection,
    peer: String,
    /// Seconds since the epoch when it connected.
    since: u64,
    ua: String,
    /// The list changed since it was last sent.
    stale: bool,
}

/// Per-vhost state.
pub struct State {
    /// Newest first.
    clients: Vec<Client>,
}

impl State {
    /// Marks every client stale and asks to write to them.
    fn changed(&mut self, vhost: Vhost) {
        for c in &mut self.clients {
            c.stale = true;
        }
        vhost.request_writable_all();
    }

    /// The message, as of now.
    fn report(&self) -> String {
        let conns: Vec<Value> = self
            .clients
            .iter()
            .map(|c| json!({ "peer": c.peer, "time": c.since.to_string(), "ua": c.ua }))
            .collect();
        json!({
            "version": library_version(),
            "wss_over_h2": "0",
            "hostname": canonical_hostname(),
            "wsi": self.clients.len().to_string(),
            "conns": conns,
        })
        .to_string()
    }
}

/// Per-connection state: all of it lives in [`State`].
pub struct Session;

impl Protocol for LwsStatus {
    type Vhost = State;
    type Session = Session;
    const NAME: &'static CStr = c"lws-status";
    const RX_BUFFER_SIZE: usize = 512;

    fn init(_vhost: Vhost, _options: &Options) -> Option<State> {
        Some(State {
            clients: Vec::new(),
        })
    }

    fn open(vhd: &mut State, conn: Connection) -> Option<Session> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        vhd.clients.insert(
            0,
            Client {
                conn,
                peer: conn.peer().unwrap_or_else(|| "unknown".into()),
                since,
                ua: conn
                    .header(WSI_TOKEN_HTTP_USER_AGENT)
                    .unwrap_or_else(|| "unknown".into()),
                stale: true,
            },
        );
        vhd.changed(conn.vhost());
        Some(Session)
    }

    fn writeable(vhd: &mut State, _s: &mut Session, conn: Connection) -> Action {
        let Some(i) = vhd.clients.iter().position(|c| c.conn == conn) else {
            return Action::Continue;
        };
        if !vhd.clients[i].stale {
            return Action::Continue;
        }
        let text = vhd.report();
        vhd.clients[i].stale = false;
        match conn.write_text(text.as_bytes()) {
            Ok(()) => Action::Continue,
            Err(_) => Action::Close,
        }
    }

    fn closed(vhd: &mut State, _s: Session, conn: Connection) {
        vhd.clients.retain(|c| c.conn != conn);
        vhd.changed(conn.vhost());
    }
}

comlink_plugin_api::export_plugin!(lws_status, "lws status", [LwsStatus]);
