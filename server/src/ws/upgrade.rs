//! The WebSocket upgrade: choosing the protocol as lws does, letting the
//! plugin refuse it and negotiating permessage-deflate. The result is a
//! value: the 101's headers and a [`Pending`] session, which the HTTP layer
//! starts on the socket once its connection hands it over, or a
//! [`Refusal`] it answers with.
//!
//! Protocol choice: the first name in the client's `Sec-WebSocket-Protocol`
//! list that the vhost offers wins; a client naming none gets the vhost's
//! default protocol (pvo `"default"`). lws would then fall back to its
//! `http-only` protocol, which can do nothing with a WebSocket; we answer
//! 400 instead so the client learns at once.

use std::ffi::{c_void, CString};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;

use comlink_plugin_api::abi::{
    LWS_CALLBACK_CONFIRM_EXTENSION_OKAY, LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION,
    LWS_CALLBACK_HTTP_BIND_PROTOCOL,
};
use http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION};
use http::{Request, StatusCode};

use crate::host::dispatch;
use crate::host::site::HostSite;
use crate::host::thread;
use crate::host::wsi::{RequestInfo, Role, Wsi};
use crate::listen::transport::Transport;
use crate::ws::session;
use comlink_wire::{deflate, handshake};

/// The connection an upgrade request came on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The connection is TLS.
    pub secure: bool,
}

/// Why an upgrade is refused: the status to answer with, and headers it needs.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The status.
    pub status: StatusCode,
    /// Extra headers (`Sec-WebSocket-Version` on 426).
    pub headers: HeaderMap,
}

impl Refusal {
    fn status(status: StatusCode) -> Refusal {
        Refusal {
            status,
            headers: HeaderMap::new(),
        }
    }
}

/// An accepted upgrade.
#[derive(Debug)]
pub(crate) struct Accepted {
    /// The 101's headers.
    pub headers: HeaderMap,
    /// The protocol chosen.
    pub protocol: String,
    /// The session, to start once the socket is handed over.
    pub session: Pending,
}

/// A session waiting for its socket.
pub(crate) struct Pending {
    wsi: Box<Wsi>,
    deflate: Option<deflate::Params>,
    ping: Option<Duration>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("wsi", &self.wsi).finish()
    }
}

impl Pending {
    /// Runs the session on `stream` (this service thread) to its end;
    /// `rbuf` holds what the client sent after its upgrade request.
    pub(crate) async fn run(self, stream: Transport, rbuf: BytesMut) {
        let _ = self.wsi.stream.set(stream);
        session::run(self.wsi, rbuf, self.deflate, self.ping).await;
    }

    /// The connection never came (the upgrade failed at the HTTP level).
    pub(crate) fn abandon(self) {
        thread::unregister(&self.wsi);
    }
}

/// Decides an upgrade request for vhost `vi` of `site`.
pub(crate) fn accept<B>(
    site: &Arc<HostSite>,
    vi: usize,
    peer: Peer,
    decoded_path: &str,
    req: &Request<B>,
) -> Result<Accepted, Refusal> {
    let vh = &site.vhosts[vi];
    let Some(key) = handshake::key(req.headers()).map(str::to_string) else {
        return Err(Refusal::status(StatusCode::BAD_REQUEST));
    };
    if !handshake::version_supported(req.headers()) {
        let mut r = Refusal::status(StatusCode::UPGRADE_REQUIRED);
        r.headers
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(r);
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
        return Err(Refusal::status(StatusCode::BAD_REQUEST));
    };
    let proto_name = vh.protocols[pi].def.name.clone();

    let info = RequestInfo {
        method: req.method().to_string(),
        path: decoded_path.to_string(),
        query: req.uri().query().map(str::to_string),
        path_c: std::ffi::CString::new(decoded_path).unwrap_or_default(),
        secure: peer.secure,
        headers: std::cell::RefCell::new(req.headers().clone()),
    };
    let wsi = Wsi::new(
        site.clone(),
        vi,
        Role::WebSocket,
        Some(peer.addr),
        Some(Box::new(info)),
    );
    thread::register(&wsi);
    wsi.bind(pi);
    let refuse = |wsi: Box<Wsi>, status| {
        thread::unregister(&wsi);
        drop(wsi);
        Err(Refusal::status(status))
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
    Ok(Accepted {
        headers,
        protocol: proto_name,
        session: Pending {
            wsi,
            deflate: params,
            ping: site.ws_ping,
        },
    })
}
