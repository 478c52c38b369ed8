//! `packet-bench ideal HOST:PORT`: the least a fan-out server can do for
//! the `latency` client, to measure that client against in the same run.
//!
//! It speaks just enough of what `latency` uses: WebSocket upgrades (any
//! `GET`, answered 101 at once) and keep-alive `POST`s. Each POST is
//! answered only after its packet went out: one envelope of the size the
//! packet service sends, framed once, and one `write()` of it to each
//! subscriber in turn, in a tight loop on the thread that read the POST
//! (woken by its socket, as a real server is). No journal, no sync, no
//! callbacks, no batching to wait for: what remains is the kernel's cost of
//! the writes *with the client reading them* (each write wakes, or queues
//! for, the subscribers' reader on the load core) and the client's own
//! cost of reading and timing them. The `floor` command measures the
//! writes alone, to sockets nobody reads.
//!
//! Runs until killed. Not a server for anything else: no checks, no limits.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// The answer to every upgrade. `latency`'s subscribers all send the RFC
/// 6455 sample key, whose accept value this is (they check only the 101).
const UPGRADED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: packet-subscribe\r\n\r\n";

/// Serves on `addr` until the process is killed.
pub(crate) fn serve(addr: &str) -> Result<(), String> {
    let l = TcpListener::bind(addr).map_err(|e| format!("{addr}: {e}"))?;
    let subs: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
    println!("ideal listening on {addr}");
    for c in l.incoming() {
        let Ok(mut c) = c else { continue };
        let _ = c.set_nodelay(true);
        let mut head = Vec::new();
        if read_head(&mut c, &mut head).is_none() {
            continue;
        }
        if head.starts_with(b"POST") {
            let subs = subs.clone();
            std::thread::spawn(move || poster(c, head, &subs));
        } else if c.write_all(UPGRADED).is_ok() {
            subs.lock().unwrap_or_else(|e| e.into_inner()).push(c);
        }
    }
    Ok(())
}

/// Reads from `c` into `buf` until it holds a whole head; its length
/// (with the blank line).
fn read_head(c: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One keep-alive POSTer: each body fanned out, then answered.
fn poster(mut c: TcpStream, mut buf: Vec<u8>, subs: &Mutex<Vec<TcpStream>>) {
    let mut id = 0u64;
    let mut frame = Vec::new();
    loop {
        let Some(end) = read_head(&mut c, &mut buf) else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut chunk = [0u8; 4096];
        while buf.len() < end + len {
            match c.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        id += 1;
        // The packet service's envelope of a text/plain body (the client's
        // bodies need no escaping), framed once.
        let body = String::from_utf8_lossy(&buf[end..end + len]).into_owned();
        let envelope = format!(
            "{{\"id\":{id},\"ts\":\"2026-01-01T00:00:00.000Z\",\"content_type\":\"text/plain\",\
             \"encoding\":\"utf8\",\"data\":\"{body}\"}}"
        );
        text_frame(&mut frame, envelope.as_bytes());
        buf.drain(..end + len);
        {
            let mut subs = subs.lock().unwrap_or_else(|e| e.into_inner());
            // A subscriber that went away is dropped.
            subs.retain_mut(|s| s.write_all(&frame).is_ok());
        }
        let answer = format!("{{\"id\":{id}}}");
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if c.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// `payload` as one unmasked, final WebSocket text frame in `out`.
fn text_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.clear();
    out.push(0x81);
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_what_the_client_parses() {
        let mut out = Vec::new();
        for len in [0, 125, 126, 250, 0xffff, 0x10000] {
            let payload = vec![b'x'; len];
            text_frame(&mut out, &payload);
            let (got, used) = crate::frames(&out);
            assert_eq!(used, out.len(), "{len}");
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, 1);
            assert_eq!(&out[got[0].1.clone()], &payload[..]);
        }
    }
}
