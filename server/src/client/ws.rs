//! A plugin's WebSocket client connection: the opening handshake (the
//! plugin adds header lines in CLIENT_APPEND_HANDSHAKE_HEADER and may
//! refuse in CLIENT_FILTER_PRE_ESTABLISH), then the session of
//! [`crate::ws::session`] on the client side.

use bytes::BytesMut;
use comlink_plugin_api::abi::LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH;
use comlink_wire::client_handshake::{self, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::either::Either;

use super::connect::{self, Stream};
use crate::host::client::Target;
use crate::host::dispatch::callback;
use crate::host::wsi::Wsi;
use crate::listen::transport::Transport;
use crate::ws::session::{self, Side};

/// The longest response head we wait for.
const MAX_HEAD: usize = 16 * 1024;

pub(super) async fn run(wsi: Box<Wsi>, target: Target) {
    let opened = super::bounded(handshake(&wsi, &target)).await;
    let (stream, rbuf) = match opened {
        Ok(Ok(v)) => v,
        Ok(Err(why)) => return super::failed(wsi, &why),
        Err(why) => return super::failed(wsi, why),
    };
    let transport = match stream {
        Either::Left(tcp) => Transport::Plain(tcp),
        Either::Right(tls) => Transport::ClientTls(Box::new(std::cell::RefCell::new(tls))),
    };
    let _ = wsi.stream.set(transport);
    session::run_as(Side::Client, wsi, rbuf, None, None).await;
}

/// Connects and upgrades: the socket and what the server sent after its
/// 101, or why not.
async fn handshake(wsi: &Wsi, target: &Target) -> Result<(Stream, BytesMut), String> {
    let mut stream = connect::open(wsi, target).await?;
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&session::random_u64().to_ne_bytes());
    nonce[8..].copy_from_slice(&session::random_u64().to_ne_bytes());
    let key = client_handshake::key_from(nonce);
    let mut head = client_handshake::request_head(&Request {
        path: &target.path,
        host: &target.host,
        origin: target.origin.as_deref(),
        protocols: target.protocols.as_deref(),
        key: &key,
    });
    let extra = super::append_headers(wsi).ok_or("refused by the protocol")?;
    head.extend_from_slice(&extra);
    head.extend_from_slice(b"\r\n");
    stream
        .write_all(&head)
        .await
        .map_err(|e| format!("sending the handshake: {e}"))?;
    let mut buf = BytesMut::with_capacity(1024);
    let len = loop {
        if let Some(n) = client_handshake::head_len(&buf) {
            break n;
        }
        if buf.len() > MAX_HEAD {
            return Err("HS: response head too long".into());
        }
        let n = stream
            .read_buf(&mut buf)
            .await
            .map_err(|e| format!("reading the handshake answer: {e}"))?;
        if n == 0 {
            return Err("HS: connection closed before the answer".into());
        }
    };
    let head = buf.split_to(len);
    let accepted = client_handshake::check_response(&head, &key, target.protocols.as_deref())
        .map_err(|e| e.to_string())?;
    wsi.set_response_headers(accepted.headers);
    if callback(
        wsi,
        LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH,
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        return Err("refused by the protocol".into());
    }
    Ok((stream, BytesMut::from(&buf[..])))
}
