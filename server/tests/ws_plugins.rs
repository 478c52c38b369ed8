//! The built-in plugins lws-mirror-protocol, lws-status and the Rust
//! example-standalone-protocol, and the out-of-workspace Rust example
//! plugin (examples/rust-plugin) proving that a panicking plugin closes only
//! its own connection, all served to real WebSocket clients.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

use crate::support::plugins::install_builtins;
use crate::support::ws::{connect, next_text, Client};
use crate::support::{eventually, Server, Site};

const MIRROR: &str = "lws-mirror-protocol";
const STATUS: &str = "lws-status";
const STANDALONE: &str = "example-standalone-protocol";
const RUST_EXAMPLE: &str = "rust-example-protocol";

/// A site whose plugin dir holds the built-ins `builtins` (and `extra`
/// files), with one vhost enabling `protocols` (JSON members).
fn site_with(builtins: &[&str], extra: &[PathBuf], protocols: &str) -> Site {
    let s = Site::with_plugins("", |plugins| {
        install_builtins(plugins, builtins);
        for p in extra {
            std::fs::copy(p, plugins.join(p.file_name().unwrap())).unwrap();
        }
    });
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{protocols}]}}]}}"#
        ),
    );
    s
}

fn all_builtins() -> Site {
    site_with(
        &["lws_mirror", "lws_status", "example_standalone"],
        &[],
        &format!(
            r#"{{"{MIRROR}": {{"status": "ok"}}}}, {{"{STATUS}": {{"status": "ok"}}}},
            {{"{STANDALONE}": {{"status": "ok"}}}}"#
        ),
    )
}

/// Connects over `stream` (already connected to `addr`) with extra
/// request headers.
fn handshake(
    stream: TcpStream,
    addr: SocketAddr,
    path: &str,
    protocol: &str,
    headers: &[(&str, &str)],
) -> Client {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(protocol).unwrap(),
    );
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match tungstenite::client(req, stream) {
        Ok((ws, _)) => ws,
        Err(e) => panic!("ws connect {path} {protocol}: {e}"),
    }
}

/// The next data message as text (`bin:<hex>` for binary); None when the
/// connection ends (close frame, EOF or reset) first.
fn next_message(ws: &mut Client) -> Option<String> {
    loop {
        match crate::support::ws::read_message(ws) {
            Ok(Message::Text(t)) => return Some(t.to_string()),
            Ok(Message::Binary(b)) => {
                return Some(format!(
                    "bin:{}",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                ))
            }
            Ok(Message::Close(_)) => return None,
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("no message within the read timeout")
            }
            Err(_) => return None,
        }
    }
}

/// The next mirrored message that is not a join greeting.
fn next_mirrored(ws: &mut Client) -> String {
    loop {
        let m = next_message(ws).expect("the mirror connection ended");
        if !m.starts_with("hello ") {
            return m;
        }
    }
}

/// Reads until the connection ends; the data messages seen on the way.
fn read_to_end(ws: &mut Client) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(m) = next_message(ws) {
        seen.push(m);
    }
    seen
}

/// Greets the mirror and waits for the greeting to come back: the
/// connection is then a member of its instance. None when the server
/// closes it instead.
fn greet(ws: &mut Client, who: &str) -> Option<()> {
    let hello = format!("hello {who}");
    ws.send(Message::text(hello.clone())).ok()?;
    loop {
        if next_message(ws)? == hello {
            return Some(());
        }
    }
}

fn mirror_path(instance: &str) -> String {
    if instance.is_empty() {
        "/".into()
    } else {
        format!("/?mirror={instance}")
    }
}

/// A member of mirror instance `instance` ("" = the default one).
fn join(srv: &Server, instance: &str, who: &str) -> Client {
    let mut ws = connect(srv.addr(7681), &mirror_path(instance), &[MIRROR]);
    greet(&mut ws, who).unwrap_or_else(|| panic!("{who}: closed on joining {instance:?}"));
    ws
}

#[test]
fn mirror_sends_every_message_to_every_member_in_order() {
    let srv = all_builtins().start();
    let mut members: Vec<Client> = (0..3)
        .map(|i| join(&srv, "room", &format!("m{i}")))
        .collect();

    let mut expected = Vec::new();
    for round in 0..5 {
        for (i, ws) in members.iter_mut().enumerate() {
            let text = format!("m{i}-{round}");
            ws.send(Message::text(text.clone())).unwrap();
            expected.push(text);
        }
    }
    // A fragmented message, one longer than the 4096-byte rx buffer, and a
    // binary one: each is relayed as the one message that was sent.
    for (payload, op, fin) in [
        ("frag-", Data::Text, false),
        ("men", Data::Continue, false),
        ("ted", Data::Continue, true),
    ] {
        members[0]
            .send(Message::Frame(Frame::message(
                payload.as_bytes().to_vec(),
                OpCode::Data(op),
                fin,
            )))
            .unwrap();
    }
    expected.push("frag-mented".into());
    let long: String = (0..10_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    members[1].send(Message::text(long.clone())).unwrap();
    expected.push(long);
    members[2]
        .send(Message::binary(vec![0u8, 1, 2, 0xff]))
        .unwrap();
    expected.push("bin:000102ff".into());

    let seen: Vec<Vec<String>> = members
        .iter_mut()
        .map(|ws| (0..expected.len()).map(|_| next_mirrored(ws)).collect())
        .collect();
    // Every member, the senders included, gets every message once...
    let mut sorted_expected = expected.clone();
    sorted_expected.sort();
    for (i, s) in seen.iter().enumerate() {
        let mut sorted = s.clone();
        sorted.sort();
        assert_eq!(sorted, sorted_expected, "member {i}");
    }
    // ... all in the same order, which keeps each sender's own order.
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    for i in 0..3 {
        let own: Vec<&String> = seen[0]
            .iter()
            .filter(|m| m.starts_with(&format!("m{i}-")))
            .collect();
        let sent: Vec<String> = (0..5).map(|r| format!("m{i}-{r}")).collect();
        assert_eq!(own, sent.iter().collect::<Vec<_>>(), "sender m{i}'s order");
    }
}

#[test]
fn mirror_instances_are_separate_and_a_fourth_is_refused() {
    let srv = all_builtins().start();
    let mut a = join(&srv, "a", "a");
    let mut b = join(&srv, "b", "b");
    let mut d = join(&srv, "", "default");

    a.send(Message::text("to-a")).unwrap();
    assert_eq!(next_mirrored(&mut a), "to-a");
    // Had "to-a" reached instance b, it would come before "to-b".
    b.send(Message::text("to-b")).unwrap();
    assert_eq!(next_mirrored(&mut b), "to-b");
    d.send(Message::text("to-default")).unwrap();
    assert_eq!(next_mirrored(&mut d), "to-default");

    // A fourth instance: the handshake completes, then the server closes.
    let mut c = connect(srv.addr(7681), &mirror_path("c"), &[MIRROR]);
    match crate::support::ws::read_message(&mut c) {
        Ok(Message::Close(Some(frame))) => {
            assert_eq!(u16::from(frame.code), 1013, "{frame:?}");
        }
        other => panic!("a 4th instance should be closed at once, got {other:?}"),
    }
    // The three instances are unaffected.
    a.send(Message::text("still-a")).unwrap();
    assert_eq!(next_mirrored(&mut a), "still-a");
    d.send(Message::text("still-default")).unwrap();
    assert_eq!(next_mirrored(&mut d), "still-default");

    // Once b's only member leaves, its instance is gone and "c" fits.
    b.close(None).unwrap();
    read_to_end(&mut b);
    let mut n = 0;
    assert!(
        eventually(10, || {
            n += 1;
            let mut c = connect(srv.addr(7681), &mirror_path("c"), &[MIRROR]);
            greet(&mut c, &format!("c{n}")).is_some()
        }),
        "instance c still refused after b's instance closed"
    );
}

#[test]
fn mirror_refuses_permessage_deflate() {
    let srv = all_builtins().start();
    let offer = "permessage-deflate; client_max_window_bits";
    // The same offer is taken by a protocol that allows it...
    let (head, _s) = raw_upgrade(srv.addr(7681), "/", STATUS, Some(offer));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-extensions: permessage-deflate"),
        "{head}"
    );
    // ... and refused by the mirror.
    let (head, stream) = raw_upgrade(srv.addr(7681), "/?mirror=z", MIRROR, Some(offer));
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions"),
        "{head}"
    );
    // The connection works uncompressed (a client without the extension
    // fails on a compressed frame).
    let mut ws = WebSocket::from_raw_socket(stream, Role::Client, None);
    ws.send(Message::text("d #ff0000 1 2 3 4;")).unwrap();
    assert_eq!(next_mirrored(&mut ws), "d #ff0000 1 2 3 4;");
}

/// A WebSocket handshake written by hand: the response head and the socket.
fn raw_upgrade(
    addr: SocketAddr,
    path: &str,
    protocol: &str,
    extensions: Option<&str>,
) -> (String, TcpStream) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {protocol}\r\n"
    );
    if let Some(e) = extensions {
        req.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).unwrap(),
            1,
            "connection ended in the head"
        );
        head.push(byte[0]);
    }
    (String::from_utf8(head).unwrap(), s)
}

/// A client socket with a tiny receive buffer, so that a client that stops
/// reading is soon a client the server cannot write to.
fn small_window_stream(addr: SocketAddr) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    sock.into()
}

/// The sequence number of a flow-control test message.
fn seq_of(m: &str) -> usize {
    m.strip_prefix("msg ")
        .and_then(|r| r.get(..6))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected message {:?}", m.get(..20)))
}

#[test]
fn mirror_flow_control_pauses_senders_and_drops_a_stalled_member() {
    // -d 15: the plugin logs rx pause/resume at lws INFO.
    let site = all_builtins();
    let srv = Server::start(site.dir.path(), &["-d", "15"]);
    let addr = srv.addr(7681);
    const N: usize = 600;
    const SIZE: usize = 16 * 1024;

    let mut stalled = handshake(
        small_window_stream(addr),
        addr,
        &mirror_path("flow"),
        MIRROR,
        &[],
    );
    greet(&mut stalled, "stalled").unwrap();
    let fast = join(&srv, "flow", "fast");
    let mut sender = join(&srv, "flow", "sender");
    // Should receiving never resume, fail rather than hang.
    sender
        .get_ref()
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();

    // Two members read everything as it comes: `fast`, and the sender
    // itself on a second handle of its socket.
    let read_all = |mut ws: Client| {
        std::thread::spawn(move || (0..N).map(|_| seq_of(&next_mirrored(&mut ws))).collect())
    };
    let fast_reader = read_all(fast);
    let sender_rx =
        WebSocket::from_raw_socket(sender.get_ref().try_clone().unwrap(), Role::Client, None);
    let sender_reader = read_all(sender_rx);

    // Far more than the ring holds plus what the stalled member's socket
    // buffers can take: the ring fills behind `stalled`, rx pauses (the
    // sender's writes block), `stalled` gets 3 s, is closed, and the
    // others get the rest. A message lost to a full ring shows as a gap.
    for i in 0..N {
        let mut text = format!("msg {i:06} ");
        text.extend(std::iter::repeat_n('x', SIZE - text.len()));
        sender.send(Message::text(text)).unwrap();
    }
    let want: Vec<usize> = (0..N).collect();
    let got_fast: Vec<usize> = fast_reader.join().expect("fast member");
    assert_eq!(got_fast, want, "the reading member lost messages");
    let got_sender: Vec<usize> = sender_reader.join().expect("sender as member");
    assert_eq!(got_sender, want, "the sender lost messages");

    // The stalled member got a prefix of the messages, then was closed.
    let rest = read_to_end(&mut stalled);
    let got: Vec<usize> = rest
        .iter()
        .filter(|m| !m.starts_with("hello "))
        .map(|m| seq_of(m))
        .collect();
    assert!(got.len() < N, "the stalled member was not closed");
    assert_eq!(got, (0..got.len()).collect::<Vec<_>>());

    let log = srv.log_text();
    assert!(log.contains("instance \"flow\": rx paused"), "{log}");
    assert!(log.contains("instance \"flow\": rx resumed"), "{log}");
}

/// A parsed JSON value: lws-status sends only strings, arrays and objects,
/// so anything else is a parse error here.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing data at {}", p.i));
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => {
                let hits: Vec<&Json> = m.iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect();
                assert_eq!(hits.len(), 1, "key {key:?} in {self:?}");
                hits[0]
            }
            _ => panic!("not an object: {self:?}"),
        }
    }

    fn str(&self, key: &str) -> &str {
        match self.get(key) {
            Json::Str(s) => s,
            other => panic!("{key} is not a string: {other:?}"),
        }
    }

    fn arr(&self, key: &str) -> &[Json] {
        match self.get(key) {
            Json::Arr(a) => a,
            other => panic!("{key} is not an array: {other:?}"),
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Result<Json, String> {
        match self.peek() {
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("bad array at {}", self.i)),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(members));
                }
                loop {
                    let k = self.string()?;
                    self.eat(b':')?;
                    members.push((k, self.value()?));
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(members));
                        }
                        _ => return Err(format!("bad object at {}", self.i)),
                    }
                }
            }
            _ => Err(format!("unexpected value at {}", self.i)),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or("short \\u")?;
                            self.i += 4;
                            let n = u32::from_str_radix(std::str::from_utf8(hex).unwrap(), 16)
                                .map_err(|e| e.to_string())?;
                            char::from_u32(n).ok_or("surrogate escapes not expected")?
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(format!("raw control byte at {}", self.i - 1)),
                c => out.push(c),
            }
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The next lws-status report, parsed and checked for its fixed fields.
fn next_status(ws: &mut Client) -> Json {
    let text = next_text(ws);
    let j = Json::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(
        j.str("version").contains(env!("CARGO_PKG_VERSION")),
        "{text}"
    );
    assert_eq!(j.str("wss_over_h2"), "0");
    let host = nix::unistd::gethostname().unwrap();
    assert_eq!(j.str("hostname"), host.to_str().unwrap());
    j
}

/// (peer, ua) of each entry of `conns`, checking `time` on the way.
fn conns(j: &Json, since: u64) -> Vec<(String, String)> {
    j.arr("conns")
        .iter()
        .map(|c| {
            let t: u64 = c.str("time").parse().expect("time is a number in a string");
            assert!(t >= since && t <= now_secs(), "time {t}");
            (c.str("peer").to_string(), c.str("ua").to_string())
        })
        .collect()
}

#[test]
fn lws_status_reports_every_connect_and_close_to_every_client() {
    let srv = all_builtins().start();
    let addr = srv.addr(7681);
    let t0 = now_secs();
    // User agents that need escaping in JSON.
    let ua_a = "tester-a \"quoted\" back\\slash\ttab";
    let ua_b = "tester-b/1.0 {json: [1]}";
    let mut a = handshake(
        TcpStream::connect(addr).unwrap(),
        addr,
        "/",
        STATUS,
        &[("user-agent", ua_a)],
    );
    let first = next_status(&mut a);
    assert_eq!(first.str("wsi"), "1");
    let local = "127.0.0.1".to_string();
    assert_eq!(conns(&first, t0), vec![(local.clone(), ua_a.to_string())]);

    let mut b = handshake(
        TcpStream::connect(addr).unwrap(),
        addr,
        "/",
        STATUS,
        &[("user-agent", ua_b)],
    );
    // Both are told, newest first.
    let to_b = next_status(&mut b);
    let to_a = next_status(&mut a);
    assert_eq!(to_a, to_b);
    assert_eq!(to_a.str("wsi"), "2");
    assert_eq!(
        conns(&to_a, t0),
        vec![
            (local.clone(), ua_b.to_string()),
            (local.clone(), ua_a.to_string())
        ]
    );

    // A client of another protocol is not counted.
    let _other = connect(addr, "/", &[STANDALONE]);

    b.close(None).unwrap();
    read_to_end(&mut b);
    let after = next_status(&mut a);
    assert_eq!(after.str("wsi"), "1");
    assert_eq!(conns(&after, t0), vec![(local, ua_a.to_string())]);
}

#[test]
fn rust_example_standalone_counts_resets_and_closes() {
    let srv = all_builtins().start();
    let mut ws = connect(srv.addr(7681), "/", &[STANDALONE]);
    let first: Vec<u64> = (0..4)
        .map(|_| next_text(&mut ws).parse().unwrap())
        .collect();
    assert_eq!(first, vec![0, 1, 2, 3]);
    ws.send(Message::text("reset\n")).unwrap();
    // Numbers already in flight may come first; then it counts from 0 again.
    let mut saw_reset = false;
    for _ in 0..20 {
        if next_text(&mut ws) == "0" {
            saw_reset = true;
            break;
        }
    }
    assert!(saw_reset, "reset\\n restarts the count");
    ws.send(Message::text("closeme\n")).unwrap();
    loop {
        match crate::support::ws::read_message(&mut ws) {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1001);
                assert_eq!(frame.reason.as_str(), "seeya");
                break;
            }
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => continue,
            Err(e) => panic!("connection ended without a close frame: {e}"),
        }
    }
}

fn rust_example_plugin() -> PathBuf {
    crate::support::plugins::rust_example()
}

#[test]
fn a_panicking_rust_plugin_closes_only_its_connection() {
    let so = rust_example_plugin();
    let site = site_with(
        &[],
        &[so],
        &format!(r#"{{"{RUST_EXAMPLE}": {{"status": "ok"}}}}"#),
    );
    let mut srv = site.start();
    let addr = srv.addr(7681);
    let mut a = connect(addr, "/", &[RUST_EXAMPLE]);
    let mut b = connect(addr, "/", &[RUST_EXAMPLE]);
    a.send(Message::text("hi")).unwrap();
    assert_eq!(next_message(&mut a).as_deref(), Some("hi"));
    b.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    assert_eq!(next_message(&mut b).as_deref(), Some("bin:010203"));

    a.send(Message::text("panic")).unwrap();
    assert_eq!(
        read_to_end(&mut a),
        Vec::<String>::new(),
        "the panicking connection is closed without an echo"
    );
    assert!(
        eventually(10, || srv.log_text().contains("panic in callback")),
        "{}",
        srv.log_text()
    );

    // The same server, the other connection and new ones carry on.
    assert!(srv.alive());
    b.send(Message::text("after")).unwrap();
    assert_eq!(next_message(&mut b).as_deref(), Some("after"));
    let mut c = connect(addr, "/", &[RUST_EXAMPLE]);
    c.send(Message::text("new")).unwrap();
    assert_eq!(next_message(&mut c).as_deref(), Some("new"));
}

#[test]
fn mirror_reaches_members_on_every_service_thread() {
    let s = Site::with_plugins(r#""count-threads": "2", "metrics-path": "/metrics""#, |p| {
        install_builtins(p, &["lws_mirror"])
    });
    s.conf_d(
        "v",
        &format!(
            r#"{{"vhosts": [{{"name": "localhost", "port": 7681, "interface": "127.0.0.1",
            "ws-protocols": [{{"{MIRROR}": {{"status": "ok"}}}}]}}]}}"#
        ),
    );
    let srv = s.start();
    // Members on both threads, each joined once all are connected: its own
    // greeting comes back only if the mirror reaches it.
    let mut members = crate::support::threads::spread(&srv, 4, 2, || {
        connect(srv.addr(7681), &mirror_path("smp"), &[MIRROR])
    });
    for (i, ws) in members.iter_mut().enumerate() {
        greet(ws, &format!("m{i}")).unwrap_or_else(|| panic!("m{i} closed on joining"));
    }
    let mut expected = Vec::new();
    for (i, ws) in members.iter_mut().enumerate() {
        for r in 0..2 {
            let text = format!("m{i}-{r}");
            ws.send(Message::text(text.clone())).unwrap();
            expected.push(text);
        }
    }
    expected.sort();
    let seen: Vec<Vec<String>> = members
        .iter_mut()
        .map(|ws| (0..expected.len()).map(|_| next_mirrored(ws)).collect())
        .collect();
    for (i, s) in seen.iter().enumerate() {
        let mut sorted = s.clone();
        sorted.sort();
        assert_eq!(sorted, expected, "member {i}");
        assert_eq!(s, &seen[0], "member {i}'s order");
    }
    assert!(
        !srv.log_text().contains("not a live connection"),
        "{}",
        srv.log_text()
    );
}
