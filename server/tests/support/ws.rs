//! A real WebSocket client (tungstenite) against the server under test.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

/// A connected client.
pub type Client = WebSocket<TcpStream>;

/// Connects to `ws://addr{path}` asking for `protocols` (comma-joined;
/// none when empty). Panics when the handshake fails.
pub fn connect(addr: SocketAddr, path: &str, protocols: &[&str]) -> Client {
    try_connect(addr, path, protocols)
        .unwrap_or_else(|e| panic!("ws connect {path} {protocols:?}: {e}"))
}

/// Like [`connect`], returning the handshake error (e.g. an HTTP 400).
pub fn try_connect(
    addr: SocketAddr,
    path: &str,
    protocols: &[&str],
) -> Result<Client, tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}").into_client_request()?;
    if !protocols.is_empty() {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&protocols.join(", ")).unwrap(),
        );
    }
    let stream = TcpStream::connect(addr).map_err(tungstenite::Error::Io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (ws, _resp) = tungstenite::client(req, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => tungstenite::Error::ConnectionClosed,
    })?;
    Ok(ws)
}

/// The next text message (skipping pings/pongs); panics on anything else.
pub fn next_text(ws: &mut Client) -> String {
    loop {
        match ws.read().expect("ws read") {
            Message::Text(t) => return t.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}
