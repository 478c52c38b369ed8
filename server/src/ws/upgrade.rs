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
//!
//! A protocol refuses in FILTER_PROTOCOL_CONNECTION by returning non-zero:
//! the answer is 403, unless it first wrote an HTTP answer of its own
//! (`lws_write` with `LWS_WRITE_HTTP_HEADERS`, then the body with
//! `LWS_WRITE_HTTP_FINAL`), which is sent instead (a 401 with
//! `WWW-Authenticate`, say). lws closes the connection without an answer.

use std::ffi::{c_void, CString};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

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
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The connection is TLS.
    pub secure: bool,
    /// The client's verified certificate (DER), if it presented one.
    pub cert: Option<Arc<[u8]>>,
}

/// Why an upgrade is refused: the status to answer with, and headers it needs.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The status.
    pub status: StatusCode,
    /// Extra headers (`Sec-WebSocket-Version` on 426), or the protocol's
    /// own (with its body).
    pub headers: HeaderMap,
    /// What the protocol that refused said, if it did.
    pub by_protocol: Option<Box<ProtocolAnswer>>,
}

/// The parts of a refusal a protocol wrote.
#[derive(Debug, Default)]
pub(crate) struct ProtocolAnswer {
    /// Its answer's body; `None`: lws's status page.
    pub body: Option<Bytes>,
    /// Who it said the client is, for the access log.
    pub user: Option<String>,
}

impl Refusal {
    fn status(status: StatusCode) -> Refusal {
        Refusal {
            status,
            headers: HeaderMap::new(),
            by_protocol: None,
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
    /// Who the protocol said the client is, for the access log.
    pub user: Option<String>,
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
        peer_cert: peer.cert.clone(),
        log_user: std::cell::RefCell::new(None),
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
    // The protocol may answer a refusal itself (see the module doc).
    let (head_tx, mut head_rx) = tokio::sync::oneshot::channel();
    wsi.http.borrow_mut().head = Some(head_tx);
    let filtered = dispatch::callback(
        &wsi,
        LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION,
        raw_proto.as_ptr() as *mut c_void,
        raw_proto.as_bytes().len(),
    );
    let own_answer = head_rx.try_recv().ok();
    // Nothing more can be written as HTTP.
    *wsi.http.borrow_mut() = crate::host::wsi::HttpState {
        finished: true,
        ..Default::default()
    };
    let body = wsi.tx.borrow_mut().split().freeze();
    wsi.could_have_pending.set(false);
    let user = wsi
        .request
        .as_ref()
        .and_then(|r| r.log_user.borrow().clone());
    if filtered != 0 {
        tracing::info!(
            "protocol \"{proto_name}\" refused a connection (FILTER_PROTOCOL_CONNECTION)"
        );
        let (mut refusal, body) = match own_answer {
            Some(head) => (
                Refusal {
                    status: head.status,
                    headers: head.headers,
                    by_protocol: None,
                },
                Some(body),
            ),
            None => (Refusal::status(StatusCode::FORBIDDEN), None),
        };
        refusal.by_protocol = Some(Box::new(ProtocolAnswer { body, user }));
        thread::unregister(&wsi);
        drop(wsi);
        return Err(refusal);
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
        user,
        session: Pending {
            wsi,
            deflate: params,
            ping: site.ws_ping,
        },
    })
}
