//! The WebSocket upgrade: choosing the protocol as lws does, letting the
//! plugin refuse it, negotiating permessage-deflate, answering 101, and
//! handing the socket to a [`session`](crate::ws::session).
//!
//! Protocol choice: the first name in the client's `Sec-WebSocket-Protocol`
//! list that the vhost offers wins; a client naming none gets the vhost's
//! default protocol (pvo `"default"`). lws would then fall back to its
//! `http-only` protocol, which can do nothing with a WebSocket; we answer
//! 400 instead so the client learns at once.

use std::ffi::{c_void, CString};
use std::sync::Arc;

use comlink_plugin_api::abi::{
    LWS_CALLBACK_CONFIRM_EXTENSION_OKAY, LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION,
    LWS_CALLBACK_HTTP_BIND_PROTOCOL,
};
use http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION};
use http::{Request, StatusCode};

use crate::host::dispatch;
use crate::host::thread;
use crate::host::wsi::{RequestInfo, Role, Wsi};
use crate::http::response::{self, status_page, Response};
use crate::http::service::ConnInfo;
use crate::site::Site;
use crate::ws::{deflate, handshake, session};

/// Answers an upgrade request for vhost `vi`; on success the session runs
/// on this service thread once hyper hands over the connection.
pub fn answer<B: Send + 'static>(
    site: &Arc<Site>,
    vi: usize,
    conn: &ConnInfo,
    decoded_path: &str,
    mut req: Request<B>,
) -> (Response, Option<String>) {
    let vh = &site.host.vhosts[vi];
    let Some(key) = handshake::key(req.headers()).map(str::to_string) else {
        return (status_page(StatusCode::BAD_REQUEST), None);
    };
    if !handshake::version_supported(req.headers()) {
        let mut r = status_page(StatusCode::UPGRADE_REQUIRED);
        r.headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return (r, None);
    }
    let requested = handshake::requested_protocols(req.headers());
    let chosen = if requested.is_empty() {
        if vh.cfg.disable_no_protocol_ws_upgrades {
            None
        } else {
            vh.default_protocol
        }
    } else {
        requested.iter().find_map(|name| vh.find(name))
    };
    let Some(pi) = chosen else {
        tracing::info!(
            "vhost \"{}\": ws upgrade refused: none of {:?} is offered here",
            vh.cfg.name,
            requested
        );
        return (status_page(StatusCode::BAD_REQUEST), None);
    };
    let proto_name = vh.protocols[pi].def.name.clone();

    let info = RequestInfo {
        method: req.method().to_string(),
        path: decoded_path.to_string(),
        query: req.uri().query().map(str::to_string),
        path_c: std::ffi::CString::new(decoded_path).unwrap_or_default(),
        secure: conn.secure,
        headers: std::cell::RefCell::new(req.headers().clone()),
    };
    let wsi = Wsi::new(
        site.host.clone(),
        vi,
        Role::WebSocket,
        Some(conn.peer),
        Some(Box::new(info)),
    );
    thread::register(&wsi);
    wsi.bind(pi);
    let refuse = |wsi: Box<Wsi>, status| {
        thread::unregister(&wsi);
        drop(wsi);
        (status_page(status), None)
    };
    if dispatch::callback(
        &wsi,
        LWS_CALLBACK_HTTP_BIND_PROTOCOL,
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        return refuse(wsi, StatusCode::FORBIDDEN);
    }
    let raw_proto = req
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    let raw_proto = CString::new(raw_proto).unwrap_or_default();
    if dispatch::callback(
        &wsi,
        LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION,
        raw_proto.as_ptr() as *mut c_void,
        raw_proto.as_bytes().len(),
    ) != 0
    {
        tracing::info!(
            "protocol \"{proto_name}\" refused a connection (FILTER_PROTOCOL_CONNECTION)"
        );
        return refuse(wsi, StatusCode::FORBIDDEN);
    }

    // permessage-deflate, unless the protocol refuses the extension.
    let mut ext_response = None;
    let mut params = None;
    if let Some(offer) = handshake::extensions_offer(req.headers()) {
        if let Some((p, resp)) = deflate::negotiate(&offer) {
            let name = c"permessage-deflate";
            let refused = dispatch::callback(
                &wsi,
                LWS_CALLBACK_CONFIRM_EXTENSION_OKAY,
                name.as_ptr() as *mut c_void,
                name.to_bytes().len(),
            ) != 0;
            // lws's pm-deflate fails to construct (and is left out of the
            // answer) when the protocol's rx buffer is under 128 bytes.
            let rx = vh.protocols[pi].def.rx_buffer_size;
            if !refused && (rx == 0 || rx >= 128) {
                ext_response = Some(resp);
                params = Some(p);
            }
        }
    }

    let headers = match handshake::response_headers(
        &key,
        // Echo the protocol only to a client that asked for one.
        (!requested.is_empty()).then_some(proto_name.as_str()),
        ext_response.as_deref(),
    ) {
        Ok(h) => h,
        Err(_) => return refuse(wsi, StatusCode::BAD_REQUEST),
    };
    let mut resp = http::Response::new(response::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *resp.headers_mut() = headers;

    let on_upgrade = hyper::upgrade::on(&mut req);
    let ping = site.host.ws_ping;
    let peer_slot = conn.peer_slot.clone();
    tokio::task::spawn_local(async move {
        let _peer_slot = peer_slot;
        // Matched in a statement of its own, so that the `Upgraded` object
        // is not kept in this future while the session runs.
        let rbuf = match on_upgrade.await {
            Ok(upgraded) => session::attach(&wsi, upgraded),
            Err(e) => {
                tracing::debug!("ws upgrade did not complete: {e}");
                thread::unregister(&wsi);
                None
            }
        };
        if let Some(rbuf) = rbuf {
            session::run(wsi, rbuf, params, ping).await;
        }
    });
    (resp, Some(proto_name))
}
