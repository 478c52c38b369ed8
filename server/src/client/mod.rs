//! Connections plugins open to servers (`lws_client_connect_via_info`):
//! connecting and TLS ([`connect`]), the WebSocket handshake and session
//! ([`ws`]), HTTP requests ([`http`]). The host makes the `struct lws *`
//! and hands it here through the connector [`install`] puts in
//! `host::client`; everything runs on the service thread that made it, as
//! its callbacks must.
//!
//! A connection that fails before it is established gets
//! CLIENT_CONNECTION_ERROR with a reason and nothing after; an established
//! one ends with CLIENT_CLOSED (WebSocket) or CLOSED_CLIENT_HTTP.

mod connect;
mod http;
mod ws;

use std::ffi::{c_void, CString};

use comlink_plugin_api::abi::LWS_CALLBACK_CLIENT_CONNECTION_ERROR;

use crate::host::client::Target;
use crate::host::dispatch::callback;
use crate::host::thread;
use crate::host::wsi::{Role, Wsi};

/// Lets plugins open connections: installs the connector into the host.
pub fn install() {
    crate::host::client::install(Box::new(|wsi, target| {
        tokio::task::spawn_local(run(wsi, target));
    }));
}

async fn run(wsi: Box<Wsi>, target: Target) {
    match wsi.role {
        Role::HttpClient => http::run(wsi, target).await,
        _ => ws::run(wsi, target).await,
    }
}

/// Runs the connecting part of a connection (`Ok` with its outcome), for
/// at most [`connect::CONNECT_TIMEOUT`] and not past the server's stop.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> Result<T, &'static str> {
    let mut stop = crate::host::context::CONTEXT.stopping();
    tokio::select! {
        r = tokio::time::timeout(connect::CONNECT_TIMEOUT, f) => r.map_err(|_| "timed out connecting"),
        _ = stop.wait_for(|s| *s) => Err("server stopping"),
    }
}

/// CLIENT_CONNECTION_ERROR with `why`, then the connection is gone.
fn failed(wsi: Box<Wsi>, why: &str) {
    tracing::debug!("{:?}: client connection failed: {why}", wsi.tag);
    let text = CString::new(why.replace('\0', "")).unwrap_or_default();
    let mut bytes = text.into_bytes_with_nul();
    let len = bytes.len() - 1;
    callback(
        &wsi,
        LWS_CALLBACK_CLIENT_CONNECTION_ERROR,
        bytes.as_mut_ptr() as *mut c_void,
        len,
    );
    thread::unregister(&wsi);
}

/// CLIENT_APPEND_HANDSHAKE_HEADER: the plugin appends header lines at a
/// cursor (`in` = `char **`, `len` = room). Returns what it wrote, or
/// `None` when it refused the connection.
fn append_headers(wsi: &Wsi) -> Option<Vec<u8>> {
    const ROOM: usize = 4096;
    let mut buf = vec![0u8; ROOM + 1];
    let start = buf.as_mut_ptr();
    let mut cursor = start;
    let rc = callback(
        wsi,
        comlink_plugin_api::abi::LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER,
        &mut cursor as *mut *mut u8 as *mut c_void,
        ROOM,
    );
    if rc != 0 {
        return None;
    }
    // Where the plugin left the cursor, kept inside the buffer.
    let written = (cursor as usize).saturating_sub(start as usize).min(ROOM);
    buf.truncate(written);
    Some(buf)
}
