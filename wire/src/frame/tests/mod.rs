use super::*;
use crate::deflate::{Deflater, Inflater, Params};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame with raw header bits.
fn raw_frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        v.push(m | len as u8);
    } else if len <= 0xffff {
        v.push(m | 126);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        v.push(m | 127);
        v.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mut p = payload.to_vec();
    if let Some(k) = mask {
        v.extend_from_slice(&k);
        for (i, b) in p.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    v.extend_from_slice(&p);
    v
}

fn b0(fin: bool, rsv1: bool, op: OpCode) -> u8 {
    (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | op.as_u8()
}

/// A masked client frame.
fn cf(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0(fin, false, op), payload, Some(MASK))
}

/// A masked client frame with RSV1.
fn cfz(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(b0(fin, true, op), payload, Some(MASK))
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// Re-encodes a stream of (unmasked) server frames as masked client frames.
fn mask_stream(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let b0 = s[0];
        let len7 = s[1] & 0x7f;
        let (len, h) = match len7 {
            126 => (u16::from_be_bytes([s[2], s[3]]) as usize, 4),
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&s[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        out.extend(raw_frame(b0, &s[h..h + len], Some(MASK)));
        s = &s[h + len..];
    }
    out
}

fn limits(max_message: u64, chunk: usize) -> Limits {
    Limits { max_message, chunk }
}

fn drain(d: &mut Decoder, buf: &mut BytesMut, events: &mut Vec<Event>) -> Result<(), CloseError> {
    let mut guard = 0;
    while let Some(ev) = d.feed(buf)? {
        check_event(d, &ev);
        events.push(ev);
        guard += 1;
        assert!(guard < 10_000_000, "decoder does not stop");
    }
    Ok(())
}

fn check_event(d: &Decoder, ev: &Event) {
    if let Event::Data {
        last,
        payload,
        remaining,
        ..
    } = ev
    {
        let chunk = d.limits().chunk;
        let cap = if chunk == 0 {
            if d.inflate_enabled() {
                DEFAULT_INFLATE_CHUNK
            } else {
                usize::MAX
            }
        } else {
            chunk
        };
        assert!(
            payload.len() <= cap,
            "piece {} over chunk {}",
            payload.len(),
            cap
        );
        if *last {
            assert_eq!(*remaining, 0);
        } else {
            assert!(!payload.is_empty(), "empty non-last piece");
        }
    }
}

/// Feeds `bytes` in pieces of `piece` bytes (0 = all at once).
fn run_with(d: &mut Decoder, bytes: &[u8], piece: usize) -> Result<Vec<Event>, CloseError> {
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    let step = if piece == 0 {
        bytes.len().max(1)
    } else {
        piece
    };
    for part in bytes.chunks(step) {
        buf.extend_from_slice(part);
        drain(d, &mut buf, &mut events)?;
    }
    drain(d, &mut buf, &mut events)?;
    Ok(events)
}

fn run(l: Limits, bytes: &[u8]) -> Result<Vec<Event>, CloseError> {
    run_with(&mut Decoder::new(l), bytes, 0)
}

fn deflate_decoder(l: Limits, p: &Params) -> Decoder {
    let mut d = Decoder::new(l);
    d.set_inflate(Inflater::new(p));
    d
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Msg(bool, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

/// Reassembles messages, checking the first/last/binary bookkeeping.
fn items(events: &[Event]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut cur: Option<(bool, Vec<u8>)> = None;
    for ev in events {
        match ev {
            Event::Data {
                binary,
                first,
                last,
                payload,
                ..
            } => {
                assert_eq!(*first, cur.is_none(), "first flag");
                let c = cur.get_or_insert_with(|| (*binary, Vec::new()));
                assert_eq!(c.0, *binary, "binary flag changes within a message");
                c.1.extend_from_slice(payload);
                if *last {
                    let (b, d) = cur.take().unwrap_or_default();
                    out.push(Item::Msg(b, d));
                }
            }
            Event::Ping(p) => out.push(Item::Ping(p.to_vec())),
            Event::Pong(p) => out.push(Item::Pong(p.to_vec())),
            Event::Close { code, reason } => out.push(Item::Close(*code, reason.clone())),
        }
    }
    assert!(cur.is_none(), "unfinished message");
    out
}

fn err(l: Limits, bytes: &[u8]) -> u16 {
    match run(l, bytes) {
        Err(e) => e.code,
        Ok(ev) => panic!("expected an error, got {ev:?}"),
    }
}

fn text(s: &str) -> Item {
    Item::Msg(false, s.as_bytes().to_vec())
}

fn sample_stream() -> (Vec<u8>, Vec<Item>) {
    let stream = cat(&[
        cf(OpCode::Text, false, "héllo ".as_bytes()),
        cf(OpCode::Ping, true, b"p1"),
        cf(OpCode::Continuation, false, "wörld €".as_bytes()),
        cf(OpCode::Pong, true, b""),
        cf(OpCode::Continuation, true, "𝄞!".as_bytes()),
        cf(OpCode::Binary, true, &[0u8, 1, 2, 255]),
        cf(OpCode::Binary, true, &vec![9u8; 300]),
        cf(OpCode::Text, true, b""),
        cf(OpCode::Close, true, &[0x03, 0xe8, b'b', b'y', b'e']),
    ]);
    let expect = vec![
        text("héllo wörld €𝄞!"),
        Item::Ping(b"p1".to_vec()),
        Item::Pong(vec![]),
        Item::Msg(true, vec![0, 1, 2, 255]),
        Item::Msg(true, vec![9; 300]),
        text(""),
        Item::Close(Some(1000), "bye".into()),
    ];
    (stream, expect)
}

/// Moves the control items out of the way: interleaved pings come before
/// the message they interrupt completes.
mod basics;
mod compressed;
mod encoder;
mod fuzz;
mod utf8;
mod violations;
