//! A plugin's HTTP client request (hyper's HTTP/1 client): the request with
//! the plugin's header lines, ESTABLISHED_CLIENT_HTTP once the response head
//! is in, then the body as lws gives it: RECEIVE_CLIENT_HTTP while bytes
//! wait, which the plugin takes with `lws_http_client_read` (as
//! RECEIVE_CLIENT_HTTP_READ pieces); no more is read from the socket until
//! it has (or while it paused with `lws_rx_flow_control`). Then
//! COMPLETED_CLIENT_HTTP and CLOSED_CLIENT_HTTP.

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use comlink_plugin_api::abi::{
    LWS_CALLBACK_CLIENT_HTTP_WRITEABLE, LWS_CALLBACK_CLOSED_CLIENT_HTTP,
    LWS_CALLBACK_COMPLETED_CLIENT_HTTP, LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP,
    LWS_CALLBACK_RECEIVE_CLIENT_HTTP,
};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use super::connect;
use crate::host::client::Target;
use crate::host::dispatch::callback;
use crate::host::thread;
use crate::host::wsi::Wsi;

pub(super) async fn run(wsi: Box<Wsi>, target: Target) {
    let sent = super::bounded(request(&wsi, &target)).await;
    let body = match sent {
        Ok(Ok(b)) => b,
        Ok(Err(why)) => return super::failed(wsi, &why),
        Err(why) => return super::failed(wsi, why),
    };
    let established = callback(
        &wsi,
        LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP,
        std::ptr::null_mut(),
        0,
    );
    // As lws frees its header table after this callback.
    wsi.set_response_headers(http::HeaderMap::new());
    if established == 0 {
        receive(&wsi, body).await;
    }
    callback(
        &wsi,
        LWS_CALLBACK_CLOSED_CLIENT_HTTP,
        std::ptr::null_mut(),
        0,
    );
    thread::unregister(&wsi);
}

/// Connects, sends the request and waits for the response head: its body,
/// or why not.
async fn request(wsi: &Wsi, target: &Target) -> Result<Incoming, String> {
    let stream = connect::open(wsi, target).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("http: {e}"))?;
    tokio::task::spawn_local(async move {
        if let Err(e) = conn.await {
            tracing::debug!("client http connection: {e}");
        }
    });
    let method = target.method.as_deref().unwrap_or("GET");
    let mut req = http::Request::builder()
        .method(method)
        .uri(target.path.as_str())
        .header(http::header::HOST, target.host.as_str());
    if let Some(o) = &target.origin {
        req = req.header(http::header::ORIGIN, o.as_str());
    }
    let extra = super::append_headers(wsi).ok_or("refused by the protocol")?;
    for line in extra.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            tracing::debug!("{:?}: header line without a colon ignored", wsi.tag);
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        match (
            http::HeaderName::from_bytes(name.trim_ascii()),
            http::HeaderValue::from_bytes(value),
        ) {
            (Ok(n), Ok(v)) => req = req.header(n, v),
            _ => tracing::debug!("{:?}: bad header line ignored", wsi.tag),
        }
    }
    let pending = wsi.client.as_ref().is_some_and(|c| c.body_pending.get());
    let (mut body_tx, body) = if pending {
        let (tx, rx) = mpsc::channel(1);
        (Some(tx), ReqBody(Some(rx)))
    } else {
        (None, ReqBody(None))
    };
    let req = req.body(body).map_err(|e| format!("bad request: {e}"))?;
    let mut response = std::pin::pin!(sender.send_request(req));
    let resp = loop {
        if let Some(tx) = body_tx.take() {
            body_tx = send_body(wsi, tx).await?;
        }
        tokio::select! {
            r = &mut response => break r.map_err(|e| format!("http: {e}"))?,
            _ = wsi.wake.notified(), if body_tx.is_some() => {}
        }
    };
    if let Some(c) = &wsi.client {
        c.status.set(resp.status().as_u16());
    }
    wsi.set_response_headers(resp.headers().clone());
    Ok(resp.into_body())
}

/// The request body as the plugin writes it: handed to hyper one write at
/// a time (the channel holds one), so a slow server slows the plugin's
/// CLIENT_HTTP_WRITEABLE callbacks down rather than filling memory.
struct ReqBody(Option<mpsc::Receiver<Bytes>>);

impl hyper::body::Body for ReqBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.as_mut() {
            None => Poll::Ready(None),
            Some(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// One CLIENT_HTTP_WRITEABLE if the plugin asked for it, its write to
/// hyper. The sender back while more body is to come; `None` once the
/// plugin wrote its last part; an error when a callback refused.
async fn send_body(
    wsi: &Wsi,
    tx: mpsc::Sender<Bytes>,
) -> Result<Option<mpsc::Sender<Bytes>>, String> {
    let Some(state) = wsi.client.as_ref() else {
        return Ok(None);
    };
    if wsi.close_requested.get() {
        return Err("closed by the protocol".into());
    }
    if !wsi.writable_requested.replace(false) {
        return Ok(Some(tx));
    }
    if callback(
        wsi,
        LWS_CALLBACK_CLIENT_HTTP_WRITEABLE,
        std::ptr::null_mut(),
        0,
    ) != 0
    {
        return Err("closed by the protocol".into());
    }
    wsi.could_have_pending.set(false);
    let out = state.out.borrow_mut().split().freeze();
    if !out.is_empty() && tx.send(out).await.is_err() {
        return Err("http: the connection ended while sending the body".into());
    }
    if state.out_done.get() {
        return Ok(None);
    }
    // The next WRITEABLE, if the plugin asked again.
    wsi.wake.notify_one();
    Ok(Some(tx))
}

/// The body, as the plugin reads it; COMPLETED_CLIENT_HTTP when it has all
/// been read.
async fn receive(wsi: &Wsi, mut body: Incoming) {
    let Some(state) = wsi.client.as_ref() else {
        return;
    };
    let mut done = false;
    let mut stop = crate::host::context::CONTEXT.stopping();
    loop {
        if wsi.close_requested.get() {
            return;
        }
        let waiting = state.body.borrow().len();
        if waiting > 0 && !wsi.rx_paused.get() {
            if callback(
                wsi,
                LWS_CALLBACK_RECEIVE_CLIENT_HTTP,
                std::ptr::null_mut(),
                0,
            ) != 0
            {
                return;
            }
            if state.body.borrow().len() < waiting {
                continue;
            }
        }
        if done && state.body.borrow().is_empty() {
            callback(
                wsi,
                LWS_CALLBACK_COMPLETED_CLIENT_HTTP,
                std::ptr::null_mut(),
                0,
            );
            return;
        }
        if wsi.writable_requested.replace(false) {
            if callback(
                wsi,
                LWS_CALLBACK_CLIENT_HTTP_WRITEABLE,
                std::ptr::null_mut(),
                0,
            ) != 0
            {
                return;
            }
            wsi.could_have_pending.set(false);
            tokio::task::consume_budget().await;
            continue;
        }
        let want_read = !done && state.body.borrow().is_empty() && !wsi.rx_paused.get();
        let deadline = wsi.timeout.get();
        tokio::select! {
            f = body.frame(), if want_read => match f {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        state.body.borrow_mut().extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!("{:?}: client http body: {e}", wsi.tag);
                    return;
                }
                None => done = true,
            },
            _ = wsi.wake.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
            _ = sleep_until(deadline), if deadline.is_some() => return,
        }
    }
}

/// Ready at `at` (never when `None`).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => poll_fn(|_| Poll::<()>::Pending).await,
    }
}
