//! Comlink's wire formats, as pure codecs: bytes in, bytes or events out,
//! no sockets, no clocks, no `unsafe`. The server wraps them in its I/O;
//! the fuzz harness drives them directly.
//!
//! * [`frame`]: the WebSocket frame codec (RFC 6455): a [`frame::Decoder`]
//!   that turns received bytes into events (data pieces of at most a
//!   protocol's receive size, as lws delivers them; pings, pongs, close),
//!   checking masking, control frames, fragmentation and UTF-8, and an
//!   [`frame::Encoder`] for what the server sends.
//! * [`deflate`]: permessage-deflate (RFC 7692): negotiation of an offer,
//!   and the compressor and decompressor of a connection.
//! * [`handshake`]: the WebSocket opening handshake's checks and answer.
//! * [`form`]: the streaming form parser behind lws's `lws_spa_*`
//!   (urlencoded and multipart, file parts in pieces).
//! * [`normalize`]: the HTTP/1 request-head normaliser that makes quirky
//!   controller requests canonical and refuses ambiguous ones.
//! * [`path`]: percent-decoding a request path and refusing escapes from
//!   a mount.
//! * [`head`]: parsing the response head a plugin writes.
//!
//! ```
//! use comlink_wire::frame::{Decoder, Event, Limits};
//! let mut d = Decoder::new(Limits { max_message: 0, chunk: 4096 });
//! // A masked text frame "Hi" from a client.
//! let mut buf = bytes::BytesMut::from(&[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2][..]);
//! match d.feed(&mut buf).unwrap() {
//!     Some(Event::Data { payload, last, .. }) => assert!(last && &payload[..] == b"Hi"),
//!     other => panic!("{other:?}"),
//! }
//! ```

#![forbid(unsafe_code)]

pub mod client_handshake;
pub mod deflate;
pub mod form;
pub mod frame;
pub mod handshake;
pub mod head;
pub mod normalize;
pub mod path;
#[cfg(test)]
mod test_rng;
pub mod tokenize;
