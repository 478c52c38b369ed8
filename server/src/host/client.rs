//! Connections a plugin opens to a server (`lws_client_connect_via_info`),
//! the host's half: what the plugin asked for ([`Target`]), the state such
//! a connection keeps for the lws calls a plugin makes on it
//! ([`ClientState`]), and [`start`], which makes the `struct lws *` at once
//! and hands it to the layer that runs connections (`crate::client`) through
//! a [`Connector`] that layer installs at start-up: this layer knows no
//! sockets, handshakes or HTTP.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use comlink_plugin_api::abi::{
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ, LWS_WRITE_HTTP, LWS_WRITE_HTTP_FINAL,
};

use crate::host::dispatch::callback;
use crate::host::site::HostSite;
use crate::host::thread;
use crate::host::wsi::{Role, Wsi};

/// Where and how to connect, from the plugin's connect info.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// TLS, and how far to trust the server's certificate.
    pub tls: Option<TlsWanted>,
    /// Request target.
    pub path: String,
    /// `Host:` (and the TLS server name, its port stripped).
    pub host: String,
    /// `Origin:`.
    pub origin: Option<String>,
    /// WebSocket subprotocols to ask for.
    pub protocols: Option<String>,
    /// `None` for a WebSocket, else the HTTP method.
    pub method: Option<String>,
}

/// The `LCCSCF_*` TLS bits.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsWanted {
    /// Any certificate (`LCCSCF_ALLOW_SELFSIGNED`, `LCCSCF_ALLOW_INSECURE`).
    pub any_cert: bool,
    /// The chain is checked, the name not (`LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK`).
    pub skip_name: bool,
}

/// What a client connection keeps for the plugin's calls on it.
#[derive(Debug)]
pub struct ClientState {
    /// The plugin's own user data (`userdata`), or null for allocated pss.
    pub userdata: *mut c_void,
    /// The HTTP response's status (0 before it).
    pub status: Cell<u16>,
    /// HTTP body bytes received and not yet read by the plugin
    /// (`lws_http_client_read`).
    pub body: RefCell<BytesMut>,
    /// `lws_client_http_body_pending`: the request has a body the plugin
    /// writes in CLIENT_HTTP_WRITEABLE.
    pub body_pending: Cell<bool>,
    /// Request body bytes written and not yet handed to the connection.
    pub out: RefCell<BytesMut>,
    /// The plugin wrote the body's last bytes (`LWS_WRITE_HTTP_FINAL`).
    pub out_done: Cell<bool>,
}

/// Starts the connection of a wsi made by [`start`], on this service
/// thread; installed by the layer that runs connections.
pub type Connector = Box<dyn Fn(Box<Wsi>, Target) + Send + Sync>;

static CONNECTOR: OnceLock<Connector> = OnceLock::new();

/// Installs the connector (once, at start-up).
pub fn install(c: Connector) {
    let _ = CONNECTOR.set(c);
}

/// Why a connection could not even be started (the plugin gets NULL).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// Not called from a service thread.
    #[error("not called from a service thread")]
    NotServiceThread,
    /// No connector installed (the server is not serving).
    #[error("client connections are not available")]
    NoConnector,
    /// No vhost to bind to.
    #[error("no vhost")]
    NoVhost,
    /// No protocol on the vhost to get the callbacks.
    #[error("vhost \"{0}\" has no protocol to bind the connection to")]
    NoProtocol(String),
    /// No address or port.
    #[error("no address or port to connect to")]
    NoAddress,
}

/// What [`start`] needs besides the target.
#[derive(Debug)]
pub(crate) struct Ask {
    /// The vhost's site and index (`None`: the first vhost being served).
    pub vhost: Option<(Arc<HostSite>, usize)>,
    /// Name of the local protocol that gets the callbacks.
    pub local: Option<String>,
    /// `userdata`.
    pub userdata: *mut c_void,
    /// `opaque_user_data`.
    pub opaque: *mut c_void,
}

/// Makes the client wsi, registered on this thread and bound to its
/// protocol, lets `early` see it (the plugin's `pwsi`) and hands it to the
/// connector. The connection goes on asynchronously on this thread.
pub(crate) fn start(
    ask: Ask,
    target: Target,
    early: impl FnOnce(*const Wsi),
) -> Result<*const Wsi, StartError> {
    thread::current_tsi().ok_or(StartError::NotServiceThread)?;
    let connector = CONNECTOR.get().ok_or(StartError::NoConnector)?;
    if target.address.is_empty() || target.port == 0 {
        return Err(StartError::NoAddress);
    }
    let (site, vi) = match ask.vhost {
        Some(v) => v,
        None => (
            crate::host::vhost::newest_site().ok_or(StartError::NoVhost)?,
            0,
        ),
    };
    let vh = site.vhosts.get(vi).ok_or(StartError::NoVhost)?;
    // As lws: the protocol named, else the vhost's first.
    let index = ask
        .local
        .as_deref()
        .and_then(|n| vh.find(n))
        .or_else(|| (!vh.protocols.is_empty()).then_some(0))
        .ok_or_else(|| StartError::NoProtocol(vh.cfg.name.clone()))?;
    let role = if target.method.is_some() {
        Role::HttpClient
    } else {
        Role::WsClient
    };
    // The response's headers go in the request slot, where `lws_hdr_copy`
    // reads (until the established callback has run, as in lws).
    let answer = Box::new(crate::host::wsi::RequestInfo::default());
    let mut wsi = Wsi::new(site.clone(), vi, role, None, Some(answer));
    wsi.client = Some(Box::new(ClientState {
        userdata: ask.userdata,
        status: Cell::new(0),
        body: RefCell::new(BytesMut::new()),
        body_pending: Cell::new(false),
        out: RefCell::new(BytesMut::new()),
        out_done: Cell::new(false),
    }));
    wsi.opaque.set(ask.opaque);
    wsi.bind(index);
    thread::register(&wsi);
    let ptr: *const Wsi = &*wsi;
    early(ptr);
    connector(wsi, target);
    Ok(ptr)
}

impl Wsi {
    /// `lws_http_client_read`: the body bytes waiting, to the protocol as
    /// RECEIVE_CLIENT_HTTP_READ pieces of at most `max` bytes. False when a
    /// callback asked to close.
    pub(crate) fn client_read(&self, max: usize) -> bool {
        let Some(state) = self.client.as_ref() else {
            return false;
        };
        let max = max.max(1);
        loop {
            // Taken out before the callback, which may call back in.
            let mut piece = {
                let mut body = state.body.borrow_mut();
                if body.is_empty() {
                    break;
                }
                let n = body.len().min(max);
                body.split_to(n).to_vec()
            };
            let len = piece.len();
            piece.push(0);
            let rc = callback(
                self,
                LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ,
                piece.as_mut_ptr() as *mut c_void,
                len,
            );
            if rc != 0 {
                self.close_requested.set(true);
                self.wake.notify_one();
                return false;
            }
        }
        // The connection reads more once this is taken.
        self.wake.notify_one();
        true
    }

    /// `lws_write` on a client HTTP connection: request body bytes
    /// (`LWS_WRITE_HTTP`, the last ones `LWS_WRITE_HTTP_FINAL`). False for
    /// another write type or once the body is complete.
    pub(crate) fn client_body_write(&self, data: &[u8], kind: c_int) -> bool {
        let Some(state) = self.client.as_ref() else {
            return false;
        };
        let base = kind & 0x1f;
        if state.out_done.get() || !(base == LWS_WRITE_HTTP || base == LWS_WRITE_HTTP_FINAL) {
            return false;
        }
        state.out.borrow_mut().extend_from_slice(data);
        if base == LWS_WRITE_HTTP_FINAL {
            state.out_done.set(true);
        }
        true
    }

    /// Keeps the response's headers for `lws_hdr_copy` and friends.
    pub(crate) fn set_response_headers(&self, headers: http::HeaderMap) {
        if let Some(r) = &self.request {
            *r.headers.borrow_mut() = headers;
        }
    }

    /// `lws_http_client_http_response`.
    pub(crate) fn client_status(&self) -> c_int {
        self.client
            .as_ref()
            .map_or(0, |c| c_int::from(c.status.get()))
    }
}
