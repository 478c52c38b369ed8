//! The HTTP side of a WebSocket upgrade: the answer to the request (from
//! [`crate::ws::upgrade::accept`]'s decision), and, once hyper hands the
//! connection over, the socket out of this layer's I/O stack for the
//! session to run on.

use std::sync::Arc;

use bytes::BytesMut;
use http::{Request, StatusCode};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::host::site::HostSite;
use crate::http::access_log::LogUser;
use crate::http::conn::Inactivity;
use crate::http::normalize::Normalize;
use crate::http::response::{self, status_page, Response};
use crate::http::service::ConnInfo;
use crate::listen::transport::Transport;
use crate::ws::upgrade::{self, Peer};

/// Answers an upgrade request for vhost `vi`: 101 (the session starts on
/// this service thread when hyper hands over the connection) or the
/// refusal. Also returns the protocol chosen, for the access log.
pub(crate) fn answer<B: Send + 'static>(
    site: &Arc<HostSite>,
    vi: usize,
    conn: &ConnInfo,
    decoded_path: &str,
    mut req: Request<B>,
) -> (Response, Option<String>) {
    let peer = Peer {
        addr: conn.peer,
        secure: conn.secure,
        cert: conn.peer_cert.clone(),
    };
    let accepted = match upgrade::accept(site, vi, peer, decoded_path, &req) {
        Ok(a) => a,
        Err(refusal) => {
            let answer = refusal.by_protocol.map(|a| *a).unwrap_or_default();
            let mut resp = match answer.body {
                // The protocol's own answer, as it wrote it.
                Some(body) => {
                    let mut resp = http::Response::new(response::full(body));
                    *resp.status_mut() = refusal.status;
                    resp
                }
                None => status_page(refusal.status),
            };
            resp.headers_mut().extend(refusal.headers);
            if let Some(user) = answer.user {
                resp.extensions_mut().insert(LogUser(user));
            }
            return (resp, None);
        }
    };
    let mut resp = http::Response::new(response::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *resp.headers_mut() = accepted.headers;
    if let Some(user) = accepted.user {
        resp.extensions_mut().insert(LogUser(user));
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let peer_slot = conn.peer_slot.clone();
    let session = accepted.session;
    tokio::task::spawn_local(async move {
        let _peer_slot = peer_slot;
        // Matched in a statement of its own, so that the `Upgraded` object
        // is not kept in this future while the session runs.
        let socket = match on_upgrade.await {
            Ok(upgraded) => into_transport(upgraded),
            Err(e) => {
                tracing::debug!("ws upgrade did not complete: {e}");
                None
            }
        };
        match socket {
            Some((stream, rbuf)) => session.run(stream, rbuf).await,
            None => session.abandon(),
        }
    });
    (resp, Some(accepted.protocol))
}

/// Takes the socket out of hyper's upgraded connection: the transport, and
/// the bytes the client sent after its upgrade request. `None` when the
/// connection is of an unknown kind.
///
/// Synchronous on purpose: neither the `Upgraded` object nor hyper's read
/// buffer may live on in the session's future, which every idle connection
/// keeps for its whole life.
pub(crate) fn into_transport(upgraded: Upgraded) -> Option<(Transport, BytesMut)> {
    let (stream, leftover) = match upgraded.downcast::<TokioIo<Inactivity<Normalize<TcpStream>>>>()
    {
        Ok(parts) => {
            let (s, rest) = parts
                .io
                .into_inner()
                .into_inner()
                .into_upgraded(parts.read_buf);
            (Transport::Plain(s), rest)
        }
        Err(upgraded) => {
            match upgraded.downcast::<TokioIo<Inactivity<Normalize<TlsStream<TcpStream>>>>>() {
                Ok(parts) => {
                    let (s, rest) = parts
                        .io
                        .into_inner()
                        .into_inner()
                        .into_upgraded(parts.read_buf);
                    (Transport::Tls(Box::new(std::cell::RefCell::new(s))), rest)
                }
                Err(_) => {
                    tracing::error!("ws: upgraded connection is neither TCP nor TLS");
                    return None;
                }
            }
        }
    };
    // `leftover` is a view into hyper's read buffer (8 KiB, allocated for
    // the request head): holding it would keep that whole buffer alive for
    // the life of the connection. Copy the few bytes it has (usually none)
    // and let the buffer go.
    Some((stream, BytesMut::from(&leftover[..])))
}
