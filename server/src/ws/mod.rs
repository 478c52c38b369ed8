//! WebSocket wire layer: RFC 6455 framing, RFC 7692 permessage-deflate and
//! the opening handshake.
//!
//! The codec works at frame level, streaming, because libwebsockets-style
//! plugins receive message payload in pieces of at most `rx_buffer_size`
//! bytes and ask `lws_is_first_fragment`, `lws_is_final_fragment`,
//! `lws_frame_is_binary` and `lws_remaining_packet_payload` about each piece:
//!
//! * [`frame::Decoder`] turns client bytes into [`frame::Event`]s (data
//!   pieces with first/last/binary/remaining, pings, pongs, close) and reports
//!   protocol violations as [`frame::CloseError`] carrying the close code.
//! * [`frame::Encoder`] / [`frame::encode_frame`] / [`frame::encode_close`]
//!   write server frames (never masked), compressing data messages when
//!   permessage-deflate was negotiated.
//! * [`deflate::negotiate`] picks a `permessage-deflate` offer and gives the
//!   response header value; [`deflate::Inflater`] / [`deflate::Deflater`] go
//!   to the decoder and encoder.
//! * [`handshake`] recognises upgrade requests and computes
//!   `Sec-WebSocket-Accept`.

pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod session;
pub mod upgrade;

pub use deflate::{negotiate, Deflater, Inflater, Params};
pub use frame::{
    encode_close, encode_frame, CloseError, Decoder, EncodeError, Encoder, Event, Limits, OpCode,
};
pub use handshake::{accept_key, is_upgrade_request, requested_protocols};
