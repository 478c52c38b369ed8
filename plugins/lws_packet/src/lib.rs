//! The comlink packet service as a plugin (`libprotocol_lws_packet.so`,
//! symbol `lws_packet`), two protocols sharing one journal per
//! `journal-dir` (or one Redis stream per `backend` URL and `redis-key`):
//!
//! * `protocol-lws-packet`: packet ingest, by HTTP `POST` to a
//!   `callback://protocol-lws-packet` mount (answered `{"id":N}` once
//!   recorded) and by WebSocket (each message a packet, each answered
//!   `{"id":N}` in order; a retry with the same `Idempotency-Key`, or key
//!   line with `?keyed=1`, gets the original id); and HTTP delivery on the
//!   same mount:
//!   `GET <mount>/events` (Server-Sent Events) and
//!   `GET <mount>/packets?since=N&limit=M&wait=S` (JSON, long-poll), plus
//!   `GET <mount>/stats` (the counters, as JSON) and `GET <mount>/console`
//!   (a page showing packets as they arrive, [`console`]).
//! * `packet-subscribe`: WebSocket delivery, `?since=N&filter=<prefix>`.
//!
//! Who may send and who may read is decided per vhost ([`access`]): open
//! to anyone, or ingest and subscribe tokens and client certificates, each
//! with a label that travels with the packets the sender sends.
//!
//! The journal, group commit, live tail and delivery cursors are in the
//! `packet-journal` crate (`journal/`), which makes no host calls; this
//! crate adds the connections ([`hub`]) and the shared services
//! ([`registry`]). The README has the interface, the options and why the
//! journal is a segment log.

#![deny(unsafe_code)]

pub mod access;
pub mod console;
pub mod health;
pub mod hub;
pub mod registry;

use std::ffi::{c_int, CStr};
use std::sync::Arc;

use comlink_plugin_api::abi;
use comlink_plugin_api::protocol::{cancel_service, log};
use comlink_plugin_api::{Action, Connection, Options, Protocol, Vhost};
use packet_journal::Settings;

use access::vhosts::{self, Access, INGEST_PROTOCOL, SUBSCRIBE_PROTOCOL};
use hub::{Hub, Session};

/// `protocol-lws-packet`: ingest (HTTP and WebSocket) and HTTP delivery.
pub struct Ingest;

/// `packet-subscribe`: WebSocket delivery.
pub struct Subscribe;

/// The options that name a store.
const STORE_KEYS: [&str; 3] = ["journal-dir", "backend", "redis-key"];

fn settings(name: &str, options: &Options, fallback: Option<Settings>) -> Option<Settings> {
    match Settings::from_options(|k| options.get(k)) {
        Ok(mut s) => {
            if STORE_KEYS.iter().all(|k| options.get(k).is_none()) {
                if let Some(f) = fallback {
                    s.dir = f.dir;
                    s.backend = f.backend;
                    s.redis_key = f.redis_key;
                }
            }
            Some(s)
        }
        Err(e) => {
            log(
                abi::LLL_ERR,
                &format!("{name}: {e}; not offered on this vhost"),
            );
            None
        }
    }
}

/// The access options of protocol `name`'s entry on `vhost`, installed
/// for every instance of the protocol on the vhost (see [`access::vhosts`]).
fn access(name: &'static str, vhost: Vhost, options: &Options) -> Option<Arc<Access>> {
    let vname = vhost.name();
    match access::vhosts::Entry::from_options(|k| options.get(k)) {
        Ok(entry) => {
            let files = entry.describe();
            if !files.is_empty() {
                log(
                    abi::LLL_NOTICE,
                    &format!("{name}: vhost \"{vname}\": access: {}", files.join(", ")),
                );
            }
            let a = vhosts::configure(&vname, name, vhost.as_raw() as usize, entry);
            // Connections of older instances check their grants again.
            cancel_service();
            Some(a)
        }
        Err(e) => {
            log(
                abi::LLL_ERR,
                &format!("{name}: vhost \"{vname}\": {e}; not offered on this vhost"),
            );
            None
        }
    }
}

fn hub(
    name: &'static str,
    vhost: Vhost,
    settings: &Settings,
    authoritative: bool,
    options: &Options,
) -> Option<Hub> {
    let access = access(name, vhost, options)?;
    match registry::service(settings, authoritative) {
        Ok(svc) => {
            health::opened(&vhost.name());
            Some(Hub::new(vhost, name, &svc, access))
        }
        Err(e) => {
            vhosts::release(&access, vhost.as_raw() as usize);
            log(
                abi::LLL_ERR,
                &format!("{name}: {e}; not offered on this vhost"),
            );
            health::open_failed(&vhost.name(), &e);
            None
        }
    }
}

impl Protocol for Ingest {
    type Vhost = Hub;
    type Session = Session;
    const NAME: &'static CStr = c"protocol-lws-packet";
    const RX_BUFFER_SIZE: usize = 64 * 1024;

    fn init(vhost: Vhost, options: &Options) -> Option<Hub> {
        let s = settings(INGEST_PROTOCOL, options, None)?;
        registry::remember_vhost(vhost.as_raw() as usize, &s);
        hub(INGEST_PROTOCOL, vhost, &s, true, options)
    }

    fn destroy(vhd: Hub) {
        vhd.destroy();
    }

    fn accept(vhd: &mut Hub, conn: Connection) -> bool {
        vhd.accept(conn)
    }

    fn open(vhd: &mut Hub, conn: Connection) -> Option<Session> {
        vhd.open_ingest(conn)
    }

    fn receive(vhd: &mut Hub, s: &mut Session, _conn: Connection, data: &[u8]) -> Action {
        vhd.receive(s, data)
    }

    fn writeable(vhd: &mut Hub, s: &mut Session, _conn: Connection) -> Action {
        vhd.writeable(s)
    }

    fn closed(vhd: &mut Hub, s: Session, _conn: Connection) {
        vhd.closed(s);
    }

    fn open_http(vhd: &mut Hub, conn: Connection, path: &str) -> Option<Session> {
        vhd.open_http(conn, path)
    }

    fn http_body(vhd: &mut Hub, s: &mut Session, _conn: Connection, data: &[u8]) -> Action {
        vhd.http_body(s, data)
    }

    fn http_body_complete(vhd: &mut Hub, s: &mut Session, _conn: Connection) -> Action {
        vhd.http_body_complete(s)
    }

    fn http_writeable(vhd: &mut Hub, s: &mut Session, _conn: Connection) -> Action {
        vhd.http_writeable(s)
    }

    fn vhost_event(vhd: &mut Hub, _vhost: Vhost, reason: c_int) {
        vhd.event(reason);
    }
}

impl Protocol for Subscribe {
    type Vhost = Hub;
    type Session = Session;
    const NAME: &'static CStr = c"packet-subscribe";
    const RX_BUFFER_SIZE: usize = 4096;

    fn init(vhost: Vhost, options: &Options) -> Option<Hub> {
        let fallback = registry::vhost_settings(vhost.as_raw() as usize);
        let s = settings(SUBSCRIBE_PROTOCOL, options, fallback)?;
        hub(SUBSCRIBE_PROTOCOL, vhost, &s, false, options)
    }

    fn destroy(vhd: Hub) {
        vhd.destroy();
    }

    fn accept(vhd: &mut Hub, conn: Connection) -> bool {
        vhd.accept(conn)
    }

    fn open(vhd: &mut Hub, conn: Connection) -> Option<Session> {
        vhd.open_subscriber(conn)
    }

    fn writeable(vhd: &mut Hub, s: &mut Session, _conn: Connection) -> Action {
        vhd.writeable(s)
    }

    fn closed(vhd: &mut Hub, s: Session, _conn: Connection) {
        vhd.closed(s);
    }

    fn vhost_event(vhd: &mut Hub, _vhost: Vhost, reason: c_int) {
        vhd.event(reason);
    }
}

// Not in unit tests: the exported table reaches every host function, which
// only `lwsws` provides.
#[cfg(not(test))]
comlink_plugin_api::export_plugin!(lws_packet, "lws packet", [Ingest, Subscribe]);
