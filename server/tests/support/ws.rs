//! A real WebSocket client (tungstenite) against the server under test.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

/// A connected client.
pub(crate) type Client = WebSocket<TcpStream>;

/// Connects to `ws://addr{path}` asking for `protocols` (comma-joined;
/// none when empty). Panics when the handshake fails.
pub(crate) fn connect(addr: SocketAddr, path: &str, protocols: &[&str]) -> Client {
    try_connect(addr, path, protocols)
        .unwrap_or_else(|e| panic!("ws connect {path} {protocols:?}: {e}"))
}

/// Like [`connect`], returning the handshake error (e.g. an HTTP 400).
pub(crate) fn try_connect(
    addr: SocketAddr,
    path: &str,
    protocols: &[&str],
) -> Result<Client, tungstenite::Error> {
    let stream = TcpStream::connect(addr).map_err(tungstenite::Error::Io)?;
    handshake(stream, path_request(addr, path, protocols)?)
}

/// Like [`connect`], on a socket whose receive buffer is `bytes` (set
/// before connecting, so the window it offers stays that small): the
/// server's sends to a client that stops reading fill it soon.
pub(crate) fn connect_small_window(
    addr: SocketAddr,
    path: &str,
    protocols: &[&str],
    bytes: usize,
) -> Client {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.set_recv_buffer_size(bytes).unwrap();
    socket.connect(&addr.into()).unwrap();
    handshake(socket.into(), path_request(addr, path, protocols).unwrap())
        .unwrap_or_else(|e| panic!("ws connect {path} {protocols:?}: {e}"))
}

/// The handshake request for `ws://addr{path}` asking for `protocols`.
fn path_request(
    addr: SocketAddr,
    path: &str,
    protocols: &[&str],
) -> Result<tungstenite::handshake::client::Request, tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}").into_client_request()?;
    if !protocols.is_empty() {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&protocols.join(", ")).unwrap(),
        );
    }
    Ok(req)
}

/// The client's handshake on `stream` (reads time out after 10 s).
fn handshake(
    stream: TcpStream,
    req: tungstenite::handshake::client::Request,
) -> Result<Client, tungstenite::Error> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (ws, _resp) = tungstenite::client(req, stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => tungstenite::Error::ConnectionClosed,
    })?;
    Ok(ws)
}

/// The next message. A read interrupted by a signal is tried again: with
/// a read timeout set (SO_RCVTIMEO) the kernel fails the read with EINTR
/// whatever the handler's SA_RESTART, and a test process gets signals from
/// the children its parallel tests start and stop.
pub(crate) fn read_message<S: std::io::Read + std::io::Write>(
    ws: &mut WebSocket<S>,
) -> tungstenite::Result<Message> {
    loop {
        match ws.read() {
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The next text message (skipping pings/pongs); panics on anything else.
pub(crate) fn next_text(ws: &mut Client) -> String {
    loop {
        match read_message(ws).expect("ws read") {
            Message::Text(t) => return t.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Sends a WebSocket opening request for `/` with the `extra` header lines
/// and reads the response head (and a non-101's body, by Content-Length).
/// Returns the stream, positioned just after the response.
pub(crate) fn raw_handshake(addr: SocketAddr, extra: &[(&str, &str)]) -> (TcpStream, super::Raw) {
    raw_handshake_at(addr, "/", extra)
}

/// [`raw_handshake`] for `path` (which may have a query).
pub(crate) fn raw_handshake_at(
    addr: SocketAddr,
    path: &str,
    extra: &[(&str, &str)],
) -> (TcpStream, super::Raw) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => panic!(
                "connection ended inside a handshake response: {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut r = super::Raw {
        status,
        head,
        body: Vec::new(),
    };
    if status != 101 {
        if let Some(n) = r.header("content-length") {
            let mut body = vec![0; n.parse().unwrap()];
            s.read_exact(&mut body).unwrap();
            r.body = body;
        }
    }
    (s, r)
}

/// A tungstenite client on a stream whose handshake is done.
pub(crate) fn client_on(stream: TcpStream) -> Client {
    WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Client, None)
}

/// Connects asking for `protocols` (raw handshake, so the response head is
/// returned too); panics unless the answer is 101.
pub(crate) fn connect_head(addr: SocketAddr, protocols: &str) -> (Client, super::Raw) {
    let (s, r) = raw_handshake(addr, &[("Sec-WebSocket-Protocol", protocols)]);
    assert_eq!(r.status, 101, "{protocols}: {}", r.head);
    (client_on(s), r)
}

/// One masked client frame (opcode 1 text, 2 binary, 0 continuation, ...).
pub(crate) fn frame(opcode: u8, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | (opcode & 0x0f)];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// One server frame read off the socket.
#[derive(Debug)]
pub(crate) struct RawFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV1 (compressed) bit.
    pub rsv1: bool,
    /// Opcode.
    pub opcode: u8,
    /// Payload (servers do not mask).
    pub payload: Vec<u8>,
}

/// Reads one frame (panics on EOF or a masked frame).
pub(crate) fn read_frame(s: &mut TcpStream) -> RawFrame {
    use std::io::Read;
    let mut h = [0u8; 2];
    s.read_exact(&mut h).expect("frame header");
    assert_eq!(h[1] & 0x80, 0, "a server frame must not be masked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0; usize::try_from(len).unwrap()];
    s.read_exact(&mut payload).expect("frame payload");
    RawFrame {
        fin: h[0] & 0x80 != 0,
        rsv1: h[0] & 0x40 != 0,
        opcode: h[0] & 0x0f,
        payload,
    }
}
