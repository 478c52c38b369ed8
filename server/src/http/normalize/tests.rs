use super::*;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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
fn body_rate_counts_only_waiting_time() {
    let l = Limits {
        body_window: Duration::from_secs(2),
        body_min_bytes: 100,
        ..Limits::default()
    };
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    // 10 bytes per 500 ms of waiting: judged after 2 s, too slow
    let mut r = Rate::new(&l);
    let mut ok = true;
    for i in 0..5 {
        r.waiting(at(i * 500));
        ok &= r.arrived(10, at(i * 500 + 500));
    }
    assert!(!ok);
    // the same waits with 60 bytes each: fine, window after window
    let mut r = Rate::new(&l);
    for i in 0..20 {
        r.waiting(at(i * 500));
        assert!(r.arrived(60, at(i * 500 + 500)));
    }
    // long pauses while nobody was waiting do not count
    let mut r = Rate::new(&l);
    for i in 0..20 {
        r.waiting(at(i * 10_000));
        assert!(r.arrived(1, at(i * 10_000 + 10)));
    }
    // a zero window disables the rule
    let mut r = Rate::new(&Limits {
        body_window: Duration::ZERO,
        ..l
    });
    r.waiting(at(0));
    assert!(r.arrived(1, at(100_000)));
}

#[tokio::test]
async fn the_stream_wrapper_normalises_heads_and_keeps_leftovers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let mut n = Normalize::new(server, Limits::default());
    client
        .write_all(b"POST  /a HTTP/1.1\nContent-Length: 3\n\nabcGET /b\tHTTP/1.1\nUpgrade: websocket\n\n\x81\x80")
        .await
        .unwrap();
    let want: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x80";
    let mut got = Vec::new();
    // read in small pieces, as a parser might
    while got.len() < want.len() {
        let mut b = [0u8; 5];
        let k = n.read(&mut b).await.unwrap();
        assert!(k > 0);
        got.extend_from_slice(&b[..k]);
    }
    assert_eq!(s(&got), s(want));
    client.write_all(b"\x82\x80").await.unwrap();
    let mut b = [0u8; 16];
    let k = n.read(&mut b).await.unwrap();
    assert_eq!(&b[..k], b"\x82\x80");
    let (_inner, rest) = n.into_parts();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn the_stream_wrapper_answers_refusals_and_drops_the_rest() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let mut n = Normalize::new(server, Limits::default());
    client
        .write_all(b"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
        .await
        .unwrap();
    let mut got = vec![0u8; 512];
    let k = n.read(&mut got).await.unwrap();
    let text = s(&got[..k]);
    assert!(text.contains("x-comlink-refused: 400 both"), "{text}");
    // later input is dropped, and the client's EOF is an EOF
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    drop(client);
    assert_eq!(n.read(&mut got).await.unwrap(), 0);
}

#[tokio::test]
async fn lingering_close_ends_at_the_clients_eof() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let mut n = Normalize::new(server, Limits::default());
    client.write_all(b"unread bytes").await.unwrap();
    n.write_all(b"HTTP/1.1 431 x\r\n\r\n").await.unwrap();
    let closer = async {
        let mut b = Vec::new();
        client.read_to_end(&mut b).await.unwrap();
        drop(client);
        b
    };
    let (r, got) = tokio::join!(n.shutdown(), closer);
    r.unwrap();
    assert_eq!(s(&got), "HTTP/1.1 431 x\r\n\r\n");
}

/// The body of a well-formed chunked message body, and what follows it.
#[tokio::test]
async fn the_stream_wrapper_ends_a_body_at_the_clients_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let mut n = Normalize::new(server, Limits::default());
    client
        .write_all(b"POST /p HTTP/1.0\r\n\r\nab")
        .await
        .unwrap();
    client.write_all(b"cdef").await.unwrap();
    client.shutdown().await.unwrap();
    let mut got = Vec::new();
    n.read_to_end(&mut got).await.unwrap();
    // The normalised head ends with CRLF CRLF.
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (body, rest) = dechunk(&got[end..]);
    assert_eq!(s(&body), "abcdef");
    assert!(rest.is_empty());
}
