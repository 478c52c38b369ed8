//! What needs time: slow but live controllers are served, slow attackers
//! are closed, half-closing clients get their answer; and `ip-limit-wsi`.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{closed_within, read_resp, site, Resp};
use crate::support::eventually;

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A normal POST on a new connection: the server still serves others.
fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    let mut s = connect(addr);
    write!(
        s,
        "POST /count{path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    read_resp(&mut s).unwrap().expect("an answer")
}

/// Sends `bytes` one at a time, `gap` apart, until they are all sent or
/// the server closed the connection; returns whether it closed, and when.
fn trickle(s: &mut TcpStream, bytes: &[u8], gap: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(gap)).unwrap();
    for b in bytes {
        if s.write_all(&[*b]).is_err() {
            return Some(start.elapsed());
        }
        let mut buf = [0u8; 512];
        match std::io::Read::read(s, &mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {
                // an answer (a 408): the close follows
                return closed_within(s, 5).then(|| start.elapsed());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

#[test]
fn a_body_in_tiny_segments_with_pauses_is_served() {
    // timeout-secs 3: every pause is shorter, and the whole body arrives
    // within it.
    let (_s, srv) = site("\"timeout-secs\": 3", "");
    let mut s = connect(srv.addr(7681));
    let body = b"0123456789abcdefghij";
    write!(
        s,
        "POST /count/slow HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    for (i, b) in body.iter().enumerate() {
        std::thread::sleep(Duration::from_millis(if i == 10 { 1500 } else { 60 }));
        s.write_all(&[*b]).unwrap();
    }
    let r = read_resp(&mut s).unwrap().expect("an answer");
    assert_eq!(r.status, 200);
    assert_eq!(r.json("bytes").as_deref(), Some("20"));
    assert!(
        r.json("chunks").unwrap().parse::<u32>().unwrap() > 1,
        "delivered as it came: {:?}",
        r.json("chunks")
    );
}

#[test]
fn an_upload_longer_than_timeout_secs_that_keeps_moving_is_served() {
    // timeout-secs 2, an 8000-byte body in 40 pieces 100 ms apart (4 s in
    // all, about 4 KiB per 2 s): slow, but alive all along.
    let (_s, srv) = site("\"timeout-secs\": 2", "");
    let mut s = connect(srv.addr(7681));
    s.write_all(b"POST /count/long HTTP/1.1\r\nHost: x\r\nContent-Length: 8000\r\n\r\n")
        .unwrap();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(&[b'u'; 200]).unwrap();
    }
    let r = read_resp(&mut s).unwrap().expect("an answer");
    assert_eq!(r.status, 200);
    assert_eq!(r.json("bytes").as_deref(), Some("8000"));
}

#[test]
fn slowloris_heads_are_closed_at_the_header_timeout() {
    // keepalive_timeout bounds the head; timeout-secs is long, so it is
    // the header timeout that closes the connection.
    let (_s, srv) = site("\"timeout-secs\": 60", "\"keepalive_timeout\": 2");
    let addr = srv.addr(7681);
    let mut attackers: Vec<TcpStream> = (0..5).map(|_| connect(addr)).collect();
    for a in &mut attackers {
        a.write_all(b"GET /count HTTP/1.1\r\nHost: x\r\n").unwrap();
    }
    let mut first = attackers.remove(0);
    // Others are served meanwhile.
    assert_eq!(
        post(addr, "/other", "abc").json("bytes").as_deref(),
        Some("3")
    );
    let endless = b"X-Slow: a".repeat(100);
    let closed = trickle(&mut first, &endless, Duration::from_millis(150));
    assert!(closed.is_some(), "a trickled head was never closed");
    for mut a in attackers {
        assert!(
            closed_within(&mut a, 10),
            "an idle half head was never closed"
        );
    }
    assert_eq!(
        post(addr, "/after", "ab").json("bytes").as_deref(),
        Some("2")
    );
}

#[test]
fn a_body_slower_than_the_minimum_rate_is_closed() {
    // timeout-secs 2: at 4 bytes a second the body brings far less than
    // the minimum (1 KiB per 2 s of waiting), though bytes never stop
    // long enough for the inactivity timeout.
    let (_s, srv) = site("\"timeout-secs\": 2", "");
    let addr = srv.addr(7681);
    let mut s = connect(addr);
    s.write_all(b"POST /count/drip HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    let body = vec![b'x'; 60];
    let closed = trickle(&mut s, &body, Duration::from_millis(250));
    assert!(
        closed.is_some(),
        "a body at 4 bytes/s was still being read after 15 s"
    );
    assert_eq!(
        post(addr, "/fine", "abcd").json("bytes").as_deref(),
        Some("4")
    );
}

#[test]
fn a_slow_body_gets_408_when_nothing_was_answered() {
    let (_s, srv) = site("\"timeout-secs\": 2", "");
    let mut s = connect(srv.addr(7681));
    s.write_all(b"POST /count/drip HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut answer = None;
    while Instant::now() < deadline {
        let _ = s.write_all(b"y");
        let mut one = [0u8; 1];
        match s.peek(&mut one) {
            Ok(1) => {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                answer = read_resp(&mut s).ok().flatten();
                break;
            }
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let r = answer.expect("an answer before the close");
    assert_eq!(r.status, 408);
    assert_eq!(r.header("connection"), Some("close"));
}

#[test]
fn a_client_that_half_closes_after_its_body_gets_the_answer() {
    let (_s, srv) = site("", "");
    let mut s = connect(srv.addr(7681));
    s.write_all(b"POST /count/half HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let r = read_resp(&mut s).unwrap().expect("an answer");
    assert_eq!(r.status, 200);
    assert_eq!(r.json("bytes").as_deref(), Some("5"));
    assert_eq!(r.json("path").as_deref(), Some("/half"));
    // A chunked body and HTTP/1.0 the same way.
    let mut s = connect(srv.addr(7681));
    s.write_all(
        b"POST /count/half2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let r = read_resp(&mut s).unwrap().expect("an answer");
    assert_eq!(r.json("bytes").as_deref(), Some("3"));
    let mut s = connect(srv.addr(7681));
    s.write_all(b"POST /count/half3 HTTP/1.0\r\nContent-Length: 2\r\n\r\nab")
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let r = read_resp(&mut s).unwrap().expect("an answer");
    assert_eq!(r.json("bytes").as_deref(), Some("2"));
}

#[test]
fn a_body_without_a_length_ends_at_the_clients_close() {
    let (_s, srv) = site("", "");
    for (version, pieces) in [
        ("HTTP/1.1", vec![&b"hello "[..], b"world"]),
        ("HTTP/1.0", vec![&b"abc"[..]]),
        ("HTTP/1.1", vec![]),
    ] {
        let mut s = connect(srv.addr(7681));
        s.write_all(format!("POST /count/nolen {version}\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        for p in &pieces {
            std::thread::sleep(Duration::from_millis(50));
            s.write_all(p).unwrap();
        }
        s.shutdown(Shutdown::Write).unwrap();
        let r = read_resp(&mut s).unwrap().expect("an answer");
        assert_eq!(r.status, 200);
        let n: usize = pieces.iter().map(|p| p.len()).sum();
        assert_eq!(r.json("bytes"), Some(n.to_string()), "{version} {pieces:?}");
        assert_eq!(r.json("path").as_deref(), Some("/nolen"));
    }
    // A GET without a length has no body: answered at once, kept alive.
    let mut s = connect(srv.addr(7681));
    for _ in 0..2 {
        s.write_all(b"GET /count/g HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let r = read_resp(&mut s).unwrap().expect("an answer");
        assert_eq!(r.json("bytes").as_deref(), Some("0"));
    }
}

/// A TCP connection from `source` (a loopback address) to `addr`.
fn connect_from(source: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    sock.bind(&format!("{source}:0").parse::<SocketAddr>().unwrap().into())?;
    sock.connect(&addr.into())?;
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(s)
}

/// Whether a new connection from `source` is served (an answer to a GET).
fn served_from(source: &str, addr: SocketAddr) -> bool {
    let Ok(mut s) = connect_from(source, addr) else {
        return false;
    };
    if s.write_all(b"GET /count/ip HTTP/1.1\r\nHost: x\r\n\r\n")
        .is_err()
    {
        return false;
    }
    matches!(read_resp(&mut s), Ok(Some(r)) if r.status == 200)
}

#[test]
fn ip_limit_wsi_refuses_connections_beyond_the_limit() {
    let (_s, srv) = site("\"ip-limit-wsi\": 3", "");
    let addr = srv.addr(7681);
    // Two kept-alive HTTP connections and one WebSocket from 127.0.0.1.
    let mut kept = Vec::new();
    for i in 0..2 {
        let mut s = connect_from("127.0.0.1", addr).unwrap();
        write!(s, "GET /count/k{i} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(read_resp(&mut s).unwrap().unwrap().status, 200);
        kept.push(s);
    }
    let (ws, r) = crate::support::ws::raw_handshake(
        addr,
        &[("Sec-WebSocket-Protocol", "dumb-increment-protocol")],
    );
    assert_eq!(r.status, 101);
    // The fourth is closed unanswered.
    let mut fourth = connect_from("127.0.0.1", addr).unwrap();
    let _ = fourth.write_all(b"GET /count/4 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        matches!(read_resp(&mut fourth), Ok(None)),
        "the connection over ip-limit-wsi was served"
    );
    // Another address is not affected.
    assert!(served_from("127.0.0.2", addr));
    // The WebSocket holds its slot until it ends: closing it frees one.
    assert!(!served_from("127.0.0.1", addr));
    drop(ws);
    assert!(
        eventually(5, || served_from("127.0.0.1", addr)),
        "a slot was not given back"
    );
    drop(kept);
}
