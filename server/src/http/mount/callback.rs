//! `callback://` mounts: the request goes to a plugin protocol, which sees
//! lws's sequence — HTTP_BIND_PROTOCOL, FILTER_HTTP_CONNECTION,
//! CHECK_ACCESS_RIGHTS, HTTP_PMO (when the mount has `pmo`), HTTP (with the
//! path after the mountpoint), HTTP_BODY pieces as they arrive (never the
//! whole body at once; chunked bodies decoded), HTTP_BODY_COMPLETION, then
//! HTTP_WRITEABLE whenever it asked for it and the previous write has been
//! taken by the connection. The response head is what the plugin wrote with
//! `LWS_WRITE_HTTP_HEADERS`; the body streams as it writes
//! `LWS_WRITE_HTTP[_FINAL]`. When the transaction completes the protocol
//! gets HTTP_DROP_PROTOCOL and the connection is kept alive for the next
//! request; a connection lost midway gets HTTP_DROP_PROTOCOL and CLOSED_HTTP.

use std::ffi::{c_int, c_void, CString};
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use comlink_plugin_api::abi::{
    LwsProcessHtmlArgs, LWS_CALLBACK_CHECK_ACCESS_RIGHTS, LWS_CALLBACK_CLOSED_HTTP,
    LWS_CALLBACK_FILTER_HTTP_CONNECTION, LWS_CALLBACK_HTTP, LWS_CALLBACK_HTTP_BIND_PROTOCOL,
    LWS_CALLBACK_HTTP_BODY, LWS_CALLBACK_HTTP_BODY_COMPLETION, LWS_CALLBACK_HTTP_DROP_PROTOCOL,
    LWS_CALLBACK_HTTP_FILE_COMPLETION, LWS_CALLBACK_HTTP_PMO, LWS_CALLBACK_HTTP_WRITEABLE,
};
use http::{HeaderMap, Request, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::host::dispatch::callback;
use crate::host::ffi::pvo::PvoList;
use crate::host::thread;
use crate::host::wsi::{Head, RequestInfo, Role, Wsi};
use crate::http::access_log::LogUser;
use crate::http::response::{self, Response};
use crate::http::service::ConnInfo;
use crate::http::site::Site;

/// Bytes read from a file per body chunk (`lws_serve_http_file`).
const FILE_CHUNK: usize = 64 * 1024;

thread_local! {
    /// The buffer HTTP_BODY pieces are handed to plugins in (taken while a
    /// callback runs, so a nested body callback gets its own).
    static BODY_PIECE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The plugin ended the connection (a callback returned non-zero): hyper
/// closes it without an answer, as lws does.
#[derive(Debug, thiserror::Error)]
#[error("closed by the protocol")]
pub(crate) struct Closed;

/// What the transaction needs from the mount.
pub(crate) struct Target<'a> {
    /// The site.
    pub site: &'a Arc<Site>,
    /// Vhost index.
    pub vhost: usize,
    /// Protocol index on the vhost.
    pub protocol: usize,
    /// The mount's `pmo` list.
    pub pmo: &'a PvoList,
    /// `auth-mask`.
    pub auth_mask: u32,
    /// The decoded request path.
    pub path: &'a str,
    /// The part after the mountpoint (what HTTP gets as `in`).
    pub rest: &'a str,
    /// How long the plugin may take without producing anything.
    pub timeout: Duration,
}

/// Runs the transaction; returns the response once the plugin has written
/// its head (the body keeps streaming from a task on this thread).
pub(crate) async fn serve<B>(
    t: Target<'_>,
    conn: &ConnInfo,
    req: Request<B>,
) -> Result<Response, Closed>
where
    B: http_body::Body<Data = Bytes> + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let (parts, body) = req.into_parts();
    let body_kind = body_kind(&parts.method, &parts.headers, body.is_end_stream());
    let info = RequestInfo {
        method: parts.method.to_string(),
        path: t.path.to_string(),
        query: parts.uri.query().map(str::to_string),
        path_c: CString::new(t.path).unwrap_or_default(),
        secure: conn.secure,
        headers: std::cell::RefCell::new(parts.headers),
        peer_cert: conn.peer_cert.clone(),
        log_user: std::cell::RefCell::new(None),
    };
    let wsi = Wsi::new(
        t.site.host.clone(),
        t.vhost,
        Role::Http,
        Some(conn.peer),
        Some(Box::new(info)),
    );
    let (head_tx, head_rx) = oneshot::channel();
    wsi.http.borrow_mut().head = Some(head_tx);
    thread::register(&wsi);
    wsi.bind(t.protocol);
    wsi.timeout.set(Some(Instant::now() + t.timeout));

    let end = |wsi: Box<Wsi>| {
        thread::unregister(&wsi);
        drop(wsi);
        Err(Closed)
    };
    let mut uri = CString::new(t.path)
        .unwrap_or_default()
        .into_bytes_with_nul();
    let mut rest = CString::new(t.rest)
        .unwrap_or_default()
        .into_bytes_with_nul();
    let rest_len = rest.len() - 1;
    if callback(
        &wsi,
        LWS_CALLBACK_HTTP_BIND_PROTOCOL,
        std::ptr::null_mut(),
        0,
    ) != 0
        || callback(
            &wsi,
            LWS_CALLBACK_FILTER_HTTP_CONNECTION,
            uri.as_mut_ptr() as *mut c_void,
            uri.len() - 1,
        ) != 0
    {
        return end(wsi);
    }
    let mut args = LwsProcessHtmlArgs {
        p: uri.as_mut_ptr() as *mut std::ffi::c_char,
        len: c_int::try_from(uri.len() - 1).unwrap_or(0),
        max_len: t.auth_mask as c_int,
        final_: 0,
        chunked: 0,
    };
    if callback(
        &wsi,
        LWS_CALLBACK_CHECK_ACCESS_RIGHTS,
        &mut args as *mut LwsProcessHtmlArgs as *mut c_void,
        0,
    ) != 0
    {
        thread::unregister(&wsi);
        return Ok(response::status_page(StatusCode::UNAUTHORIZED));
    }
    if !t.pmo.head().is_null()
        && callback(&wsi, LWS_CALLBACK_HTTP_PMO, t.pmo.head() as *mut c_void, 0) != 0
    {
        return end(wsi);
    }
    if callback(
        &wsi,
        LWS_CALLBACK_HTTP,
        rest.as_mut_ptr() as *mut c_void,
        rest_len,
    ) != 0
    {
        return end(wsi);
    }
    // Who the protocol said the client is (by LWS_CALLBACK_HTTP), for the
    // access log.
    let user = wsi
        .request
        .as_ref()
        .and_then(|r| r.log_user.borrow().clone());

    let (body_tx, body_rx) = mpsc::channel(1);
    tokio::task::spawn_local(drive(wsi, body, body_kind, body_tx));
    match head_rx.await {
        Ok(head) => {
            let mut resp = http::Response::new(ChannelBody { rx: body_rx }.boxed_unsync());
            *resp.status_mut() = head.status;
            *resp.headers_mut() = head.headers;
            if let Some(user) = user {
                resp.extensions_mut().insert(LogUser(user));
            }
            Ok(resp)
        }
        Err(_) => Err(Closed),
    }
}

/// What the plugin gets of the request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    /// No body callbacks (a GET, say).
    None,
    /// lws's explicit empty body: HTTP_BODY(NULL, 0) + completion. For
    /// `Content-Length: 0`, and for a POST, PUT or PATCH whose body is
    /// already over (an HTTP/2 request ended with its headers): lws reads
    /// those methods' bodies, so their plugins always get a completion.
    Empty,
    /// A body to read: a length, chunked framing, a body that ends at the
    /// client's close (see `normalize`), or HTTP/2 DATA frames.
    Some,
}

fn body_kind(method: &http::Method, h: &HeaderMap, body_over: bool) -> BodyKind {
    let zero_length = h
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        == Some(0);
    if !body_over {
        BodyKind::Some
    } else if zero_length
        || matches!(
            *method,
            http::Method::POST | http::Method::PUT | http::Method::PATCH
        )
    {
        BodyKind::Empty
    } else {
        BodyKind::None
    }
}

/// How the transaction ended.
enum End {
    /// Response complete: the connection goes on.
    Done,
    /// The client went away (or the protocol closed the connection).
    Lost,
    /// The request body failed before anything was answered: answered with
    /// [`body_error_head`], then closed.
    Refused,
}

async fn drive<B>(
    wsi: Box<Wsi>,
    mut body: B,
    kind: BodyKind,
    out: mpsc::Sender<Result<Bytes, std::io::Error>>,
) where
    B: http_body::Body<Data = Bytes> + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let mut body_done = kind != BodyKind::Some;
    if kind == BodyKind::Empty
        && (callback(&wsi, LWS_CALLBACK_HTTP_BODY, std::ptr::null_mut(), 0) != 0
            || callback(
                &wsi,
                LWS_CALLBACK_HTTP_BODY_COMPLETION,
                std::ptr::null_mut(),
                0,
            ) != 0)
    {
        wsi.close_requested.set(true);
    }
    // On this task's stack (the task is spawned per transaction already).
    let sleep = tokio::time::sleep_until(Instant::now());
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;
    let end = loop {
        if wsi.close_requested.get() {
            break End::Lost;
        }
        // A file being served (lws_serve_http_file) feeds the body.
        if wsi.tx.borrow().is_empty() {
            feed_file(&wsi);
        }
        let finished = wsi.http.borrow().finished;
        if finished && wsi.tx.borrow().is_empty() {
            break End::Done;
        }
        if wsi.writable_requested.get() && wsi.tx.borrow().is_empty() && !finished {
            wsi.writable_requested.set(false);
            if callback(&wsi, LWS_CALLBACK_HTTP_WRITEABLE, std::ptr::null_mut(), 0) != 0 {
                break End::Lost;
            }
            tokio::task::consume_budget().await;
            continue;
        }
        let have_out = !wsi.tx.borrow().is_empty();
        let deadline = wsi.timeout.get();
        // One timer for the transaction, moved only when the deadline changes.
        if let Some(d) = deadline {
            if armed != Some(d) {
                sleep.as_mut().reset(d);
                armed = Some(d);
            }
        }
        tokio::select! {
            permit = out.reserve(), if have_out => {
                let Ok(permit) = permit else { break End::Lost };
                let chunk = wsi.tx.borrow_mut().split().freeze();
                permit.send(Ok(chunk));
                // Output is moving: the plugin is not stuck.
                wsi.timeout.set(None);
            }
            frame = body.frame(), if !body_done && !wsi.rx_paused.get() => {
                match frame {
                    Some(Ok(f)) => {
                        if let Ok(data) = f.into_data() {
                            if !data.is_empty() {
                                // A body still arriving is progress (lws re-arms
                                // its HTTP_CONTENT timeout on every piece).
                                if let Some(d) = wsi.timeout.get() {
                                    wsi.timeout.set(Some(d.max(Instant::now() + wsi.site.timeout)));
                                }
                                // The plugin gets a writable, NUL-terminated copy,
                                // in a buffer this thread keeps for the next body.
                                let mut piece = BODY_PIECE.take();
                                piece.clear();
                                piece.extend_from_slice(&data);
                                piece.push(0);
                                let len = data.len();
                                let rc = callback(&wsi, LWS_CALLBACK_HTTP_BODY, piece.as_mut_ptr() as *mut c_void, len);
                                if piece.capacity() <= FILE_CHUNK {
                                    BODY_PIECE.set(piece);
                                }
                                if rc != 0 {
                                    break End::Lost;
                                }
                            }
                        }
                    }
                    Some(Err(e)) => {
                        tracing::debug!("{:?}: request body: {e}", wsi.tag);
                        let head = wsi.http.borrow_mut().head.take();
                        if let Some(tx) = head {
                            let _ = tx.send(body_error_head(&e));
                            break End::Refused;
                        }
                        break End::Lost;
                    }
                    None => {
                        body_done = true;
                        if callback(&wsi, LWS_CALLBACK_HTTP_BODY_COMPLETION, std::ptr::null_mut(), 0) != 0 {
                            break End::Lost;
                        }
                    }
                }
            }
            _ = out.closed() => break End::Lost,
            _ = wsi.wake.notified() => {}
            _ = &mut sleep, if deadline.is_some() => {
                if wsi.timeout.get().is_some_and(|d| d <= Instant::now()) {
                    tracing::info!("{:?}: protocol produced no response in time; closing", wsi.tag);
                    break End::Lost;
                }
            }
        }
    };
    // Let the head go (a plugin that never wrote one ends the connection).
    wsi.http.borrow_mut().head = None;
    match end {
        End::Done => {
            drop(out);
            let reason = c"transaction completed";
            callback(
                &wsi,
                LWS_CALLBACK_HTTP_DROP_PROTOCOL,
                reason.as_ptr() as *mut c_void,
                0,
            );
        }
        End::Lost | End::Refused => {
            if matches!(end, End::Lost) {
                let _ = out.try_send(Err(std::io::Error::other("closed by the protocol")));
            }
            drop(out);
            let reason = c"connection closed";
            callback(
                &wsi,
                LWS_CALLBACK_HTTP_DROP_PROTOCOL,
                reason.as_ptr() as *mut c_void,
                0,
            );
            callback(&wsi, LWS_CALLBACK_CLOSED_HTTP, std::ptr::null_mut(), 0);
        }
    }
    thread::unregister(&wsi);
}

/// The answer to a request whose body failed before the plugin answered:
/// 408 when the client was too slow (the minimum body rate, or nothing at
/// all for `timeout-secs`), else 400 (broken chunk framing, a body cut
/// short); the connection closes after it.
fn body_error_head(e: &dyn std::any::Any) -> Head {
    let timed_out = e.downcast_ref::<hyper::Error>().is_some_and(|h| {
        let mut cause = std::error::Error::source(h);
        while let Some(c) = cause {
            if c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            {
                return true;
            }
            cause = c.source();
        }
        false
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from_static("0"),
    );
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    Head {
        status: if timed_out {
            StatusCode::REQUEST_TIMEOUT
        } else {
            StatusCode::BAD_REQUEST
        },
        headers,
    }
}

/// Moves the next chunk of a served file into the output; at its end the
/// protocol gets HTTP_FILE_COMPLETION.
fn feed_file(wsi: &Wsi) {
    let mut st = wsi.http.borrow_mut();
    let Some((file, left)) = st.file.as_mut() else {
        return;
    };
    let want = (*left).min(FILE_CHUNK as u64) as usize;
    let mut buf = vec![0; want];
    let n = file.read(&mut buf).unwrap_or(0);
    buf.truncate(n);
    *left -= n as u64;
    let done = n == 0 || *left == 0;
    wsi.tx.borrow_mut().extend_from_slice(&buf);
    if done {
        st.file = None;
        drop(st);
        if callback(
            wsi,
            LWS_CALLBACK_HTTP_FILE_COMPLETION,
            std::ptr::null_mut(),
            0,
        ) != 0
        {
            wsi.close_requested.set(true);
        }
        // lws's default for a finished file is to complete the transaction.
        wsi.http.borrow_mut().finished = true;
    }
}

/// The response body: what the transaction task sends.
struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }
}
