use super::*;

fn run(input: &[u8]) -> (Vec<u8>, Normalizer) {
    let mut n = Normalizer::new(Limits::default());
    let mut out = BytesMut::new();
    n.feed(input, &mut out);
    (out.to_vec(), n)
}

/// Output of feeding `input` whole, checked against byte-at-a-time and
/// a few other splits.
fn norm(input: &[u8]) -> Vec<u8> {
    let (whole, n_whole) = run(input);
    for step in [1, 2, 3, 7, 64] {
        let mut n = Normalizer::new(Limits::default());
        let mut out = BytesMut::new();
        for piece in input.chunks(step) {
            n.feed(piece, &mut out);
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&whole),
            "split by {step}"
        );
        assert_eq!(n.state, n_whole.state, "split by {step}");
    }
    whole
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn refused_with(input: &[u8]) -> Refusal {
    let (out, n) = run(input);
    let r = n
        .refused()
        .unwrap_or_else(|| panic!("not refused: {:?} -> {:?}", s(input), s(&out)));
    let text = s(&out);
    assert!(
        text.starts_with("GET / HTTP/1.1\r\nx-comlink-refused: ")
            && text.ends_with("\r\nconnection: close\r\n\r\n"),
        "{text:?}"
    );
    r
}

#[test]
fn canonical_heads_pass_unchanged() {
    let h = b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(norm(h), h.to_vec());
    let h = b"GET / HTTP/1.0\r\n\r\n";
    assert_eq!(norm(h), h.to_vec());
}

#[test]
fn line_endings_become_crlf() {
    assert_eq!(
        s(&norm(b"GET /a HTTP/1.1\nHost: x\nX-A: b\n\n")),
        "GET /a HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\n"
    );
    assert_eq!(
        s(&norm(b"GET /a HTTP/1.1\r\nHost: x\nX-A: b\r\n\n")),
        "GET /a HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\n"
    );
    assert_eq!(
        s(&norm(b"GET /a HTTP/1.1\nHost: x\n\r\n")),
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    );
}

#[test]
fn request_line_blanks_and_value_blanks() {
    assert_eq!(
        s(&norm(b"  GET \t /a   HTTP/1.0 \t\r\nhOsT:\t  x \t\r\n\r\n")),
        "GET /a HTTP/1.0\r\nhOsT: x\r\n\r\n"
    );
    // empty values stay
    assert_eq!(
        s(&norm(b"GET / HTTP/1.1\r\nX-Empty:   \r\n\r\n")),
        "GET / HTTP/1.1\r\nX-Empty: \r\n\r\n"
    );
}

#[test]
fn blank_lines_before_a_request_are_skipped() {
    assert_eq!(
        s(&norm(b"\r\n\n\r\nGET / HTTP/1.1\r\n\r\n")),
        "GET / HTTP/1.1\r\n\r\n"
    );
}

#[test]
fn bodies_are_never_touched() {
    // A body that looks like a quirky head stays as it is.
    let body = b"GET  /x  HTTP/1.1\nA:  b\n\n";
    let mut req = format!("POST /c HTTP/1.1\nContent-Length: {}\n\n", body.len()).into_bytes();
    req.extend_from_slice(body);
    req.extend_from_slice(b"GET  /next  HTTP/1.1\n\n");
    let mut want =
        format!("POST /c HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    want.extend_from_slice(body);
    want.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
    assert_eq!(s(&norm(&req)), s(&want));
}

#[test]
fn leading_zeros_in_content_length() {
    let (out, n) = run(b"POST / HTTP/1.1\r\nContent-Length: 0007\r\n\r\n123");
    assert!(s(&out).contains("Content-Length: 0007"));
    assert_eq!(n.state, State::Length(4));
    let (_, n) = run(b"POST / HTTP/1.1\r\nContent-Length: 5, 005\r\n\r\n");
    assert_eq!(n.state, State::Length(5));
    let (_, n) = run(b"POST / HTTP/1.1\r\nContent-Length: 000\r\n\r\n");
    assert_eq!(n.state, State::Head);
}

#[test]
fn chunked_bodies_are_followed_to_the_next_head() {
    let req = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=v\r\nhello\r\nA \t\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n\
        GET  /next HTTP/1.1\n\n";
    let out = norm(req);
    let body_end = req.len() - b"GET  /next HTTP/1.1\n\n".len();
    assert_eq!(out[..body_end], req[..body_end]);
    assert_eq!(s(&out[body_end..]), "GET /next HTTP/1.1\r\n\r\n");
    let (_, n) = run(req);
    assert_eq!(n.state, State::Head);
}

#[test]
fn broken_chunk_framing_passes_through_for_hyper_to_refuse() {
    for bad in [
        &b"zz\r\nhello\r\n0\r\n\r\n"[..],
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX\r\n0\r\n\r\n",
        b"5;ext\nhello\r\n",
        b"fffffffffffffffff\r\n",
    ] {
        let mut req = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        req.extend_from_slice(bad);
        req.extend_from_slice(b"GET  /x  HTTP/1.1\n\n");
        let out = norm(&req);
        let (_, n) = run(&req);
        assert!(n.is_passthrough(), "{}", s(bad));
        // everything after the head is as the client sent it
        let head_len = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".len();
        assert_eq!(out[head_len..], req[head_len..], "{}", s(bad));
    }
}

#[test]
fn pipelined_requests_are_each_normalised() {
    let req = b"POST /a  HTTP/1.1\nContent-Length: 2\n\nxyGET\t/b HTTP/1.1\r\n\r\nDELETE /c HTTP/1.1\nContent-Length: 1\n\nz";
    assert_eq!(
        s(&norm(req)),
        "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /b HTTP/1.1\r\n\r\nDELETE /c HTTP/1.1\r\nContent-Length: 1\r\n\r\nz"
    );
}

#[test]
fn upgrades_switch_to_passthrough() {
    let mut req = b"GET / HTTP/1.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n".to_vec();
    let frames = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58\n\nGET  / HTTP/1.1\n\n";
    req.extend_from_slice(frames);
    let out = norm(&req);
    assert!(out.ends_with(frames));
    let (_, n) = run(&req);
    assert!(n.is_passthrough());
    // Upgrade on HTTP/1.0 means nothing (as in hyper).
    let (_, n) = run(b"GET / HTTP/1.0\r\nUpgrade: websocket\r\n\r\n");
    assert_eq!(n.state, State::Head);
    let (_, n) = run(b"CONNECT host:1 HTTP/1.1\r\n\r\n");
    assert!(n.is_passthrough());
}

#[test]
fn smuggling_shapes_are_refused() {
    for req in [
        &b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: \r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\n Transfer-Encoding: chunked\r\n\r\n",
    ] {
        let r = refused_with(req);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", s(req));
    }
    // repeated equal lengths, and chunked as the last of several codings
    let (_, n) = run(b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
    assert_eq!(n.state, State::Length(5));
    let (_, n) =
        run(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_eq!(n.state, State::Chunked(Chunk::Start));
}

#[test]
fn control_bytes_and_garbage_are_refused() {
    for req in [
        &b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\x7fb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
        b"GET /\0 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad\x01Name: v\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / http/1.1\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
    ] {
        let r = refused_with(req);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", s(req));
    }
    // obs-text in values is fine (hyper keeps it as opaque bytes)
    let (out, n) = run(b"GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n");
    assert!(n.refused().is_none(), "{}", s(&out));
}

#[test]
fn client_sent_refusal_markers_are_dropped() {
    assert_eq!(
        s(&norm(
            b"GET / HTTP/1.1\r\nX-Comlink-Refused: 400 x\r\nHost: h\r\n\r\n"
        )),
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    );
}

#[test]
fn size_limits() {
    let l = Limits::default();
    // request line: refused as soon as it is too long, even unfinished
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(l.max_request_line));
    assert_eq!(
        refused_with(long.as_bytes()).status,
        StatusCode::URI_TOO_LONG
    );
    let unfinished = format!("GET /{}", "a".repeat(l.max_request_line + 10));
    assert_eq!(
        refused_with(unfinished.as_bytes()).status,
        StatusCode::URI_TOO_LONG
    );
    // just under the limit is fine
    let ok = format!(
        "GET /{} HTTP/1.1\r\n\r\n",
        "a".repeat(l.max_request_line - "GET / HTTP/1.1".len())
    );
    assert!(run(ok.as_bytes()).1.refused().is_none());
    // head
    let big = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        "X-Pad: 0123456789012345678901234567890123456789\r\n".repeat(400)
    );
    assert!(big.len() > l.max_head);
    assert_eq!(
        refused_with(big.as_bytes()).status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // too many headers
    let many = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        "A: b\r\n".repeat(l.max_headers + 1)
    );
    assert_eq!(
        refused_with(many.as_bytes()).status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let enough = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(l.max_headers));
    assert!(run(enough.as_bytes()).1.refused().is_none());
}

#[test]
fn after_a_refusal_input_is_dropped() {
    let mut n = Normalizer::new(Limits::default());
    let mut out = BytesMut::new();
    n.feed(
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        &mut out,
    );
    let first = out.len();
    n.feed(b"GET /more HTTP/1.1\r\n\r\n", &mut out);
    assert_eq!(out.len(), first);
    assert_eq!(n.refused().unwrap().reason, "differing Content-Lengths");
}

#[test]
fn refusal_header_round_trip() {
    let (out, _) = run(b"GET / HTTP/1.1\r\nA: \0\r\n\r\n");
    let mut map = HeaderMap::new();
    for line in s(&out).split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(": ").unwrap();
        map.append(
            http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let (status, reason) = refusal(&map).unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reason, "control byte in a header value");
    assert!(refusal(&HeaderMap::new()).is_none());
}

fn dechunk(mut b: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut body = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap(), 16).unwrap();
        b = &b[eol + 2..];
        if n == 0 {
            assert!(b.starts_with(b"\r\n"), "{:?}", s(b));
            return (body, &b[2..]);
        }
        body.extend_from_slice(&b[..n]);
        assert_eq!(&b[n..n + 2], b"\r\n");
        b = &b[n + 2..];
    }
}

#[test]
fn bodies_without_a_length_end_at_the_close() {
    for (version, head) in [
        ("HTTP/1.1", &b"POST /p HTTP/1.1\r\nHost: x\r\n\r\n"[..]),
        ("HTTP/1.0", b"PUT /p HTTP/1.0\n\n"),
        (
            "HTTP/1.1",
            b"PATCH /p HTTP/1.1\r\nx-comlink-until-close: HTTP/1.0\r\n\r\n",
        ),
    ] {
        let body: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let input = [head, &body[..]].concat();
        for step in [1, 7, 512, input.len()] {
            let mut n = Normalizer::new(Limits::default());
            let mut out = BytesMut::new();
            for piece in input.chunks(step) {
                n.feed(piece, &mut out);
            }
            assert!(n.in_body());
            assert!(n.eof(&mut out), "the last chunk at the close");
            assert!(!n.eof(&mut out), "only once");
            let end = head_end(&out, 0).unwrap();
            let text = s(&out[..end]);
            let method = s(&head[..head.iter().position(|&b| b == b' ').unwrap()]);
            assert!(
                text.starts_with(&format!("{method} /p HTTP/1.1\r\n")),
                "{text}"
            );
            assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
            assert!(text.contains("connection: close\r\n"), "{text}");
            assert_eq!(
                text.matches("x-comlink-until-close").count(),
                1,
                "a client's marker is dropped: {text}"
            );
            assert!(text.contains(&format!("x-comlink-until-close: {version}\r\n")));
            let (got, rest) = dechunk(&out[end..]);
            assert_eq!(got, body, "split by {step}");
            assert!(rest.is_empty());
        }
    }
    // An empty body: the close ends it at once.
    let (mut out, mut n) = run(b"POST / HTTP/1.1\r\n\r\n");
    let mut tail = BytesMut::new();
    assert!(n.eof(&mut tail));
    out.extend_from_slice(&tail);
    assert!(s(&out).ends_with("\r\n\r\n0\r\n\r\n"), "{}", s(&out));
    // Methods without a body, explicit lengths and upgrades are unchanged.
    for h in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"DELETE /x HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    ] {
        let (out, mut n) = run(h);
        assert_eq!(s(&out), s(h));
        assert!(!n.eof(&mut BytesMut::new()));
    }
    let (out, n) = run(b"POST / HTTP/1.1\r\nUpgrade: x\r\n\r\n");
    assert!(!s(&out).contains("chunked"));
    assert!(n.is_passthrough());
}

#[test]
fn until_close_restores_what_the_client_sent() {
    let mut h = HeaderMap::new();
    assert_eq!(until_close(&mut h), None);
    h.insert("transfer-encoding", "chunked".parse().unwrap());
    h.insert(UNTIL_CLOSE_HEADER, "HTTP/1.0".parse().unwrap());
    h.insert("host", "x".parse().unwrap());
    h.append("connection", "close".parse().unwrap());
    assert_eq!(until_close(&mut h), Some(http::Version::HTTP_10));
    assert_eq!(h.len(), 1);
    // The client's own Connection lines stay.
    h.append("connection", "keep-alive".parse().unwrap());
    h.append("connection", "close".parse().unwrap());
    h.insert(UNTIL_CLOSE_HEADER, "HTTP/1.0".parse().unwrap());
    until_close(&mut h);
    let c: Vec<_> = h.get_all("connection").iter().collect();
    assert_eq!(c, ["keep-alive"]);
    h.insert(UNTIL_CLOSE_HEADER, "HTTP/1.1".parse().unwrap());
    assert_eq!(until_close(&mut h), Some(http::Version::HTTP_11));
}
