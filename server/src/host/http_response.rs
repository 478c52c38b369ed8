//! The response of an HTTP transaction on a `callback://` mount, as a
//! plugin writes it with lws's calls: the head text the header helpers
//! build (`lws_add_http_header_*`), the head and body written with
//! `lws_write`, and the one-call answers (`lws_return_http_status`,
//! `lws_http_transaction_completed`, `lws_serve_http_file`).
//!
//! The head a plugin writes is parsed into the hyper response; `Server:`,
//! STS and configured headers are added by the server afterwards, so the
//! status line is all `lws_add_http_header_status` writes.

use std::ffi::c_int;

use comlink_plugin_api::abi::{
    LWSAHH_CODE_MASK, LWSHUMETH_CONNECT, LWSHUMETH_DELETE, LWSHUMETH_GET, LWSHUMETH_HEAD,
    LWSHUMETH_OPTIONS, LWSHUMETH_PATCH, LWSHUMETH_POST, LWSHUMETH_PUT, LWS_WRITE_H2_STREAM_END,
    LWS_WRITE_HTTP, LWS_WRITE_HTTP_FINAL, LWS_WRITE_HTTP_HEADERS,
    LWS_WRITE_HTTP_HEADERS_CONTINUATION,
};
use comlink_wire::head::parse as parse_head;
use http::{HeaderName, HeaderValue, StatusCode};

use crate::host::write::WriteError;
use crate::host::wsi::{Head, Wsi};

/// The most of a status page `lws_return_http_status` sends (its 510-byte
/// buffer, less the terminating NUL).
const STATUS_PAGE_MAX: usize = 509;

/// The status line of `code` (lws's `code` may carry `LWSAHH_FLAG_*` bits).
pub(crate) fn status_line(code: u32) -> Vec<u8> {
    let code = (code & LWSAHH_CODE_MASK) as u16;
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP/1.1 {code} {reason}\r\n").into_bytes()
}

/// One header line; `name` may end with its ':' already ("x-foo:").
pub(crate) fn header_line(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut line = name.to_vec();
    if !name.ends_with(b":") {
        line.push(b':');
    }
    line.push(b' ');
    line.extend_from_slice(value);
    line.extend_from_slice(b"\r\n");
    line
}

/// The whole head of `lws_http_redirect`.
pub(crate) fn redirect_head(code: u32, location: &[u8]) -> Vec<u8> {
    let mut head = status_line(code);
    head.extend_from_slice(b"location: ");
    head.extend_from_slice(location);
    head.extend_from_slice(b"\r\ncontent-type: text/html\r\ncontent-length: 0\r\n\r\n");
    head
}

fn refused(w: &Wsi, what: impl Into<String>) -> WriteError {
    WriteError::Http {
        tag: w.tag.clone(),
        what: what.into(),
    }
}

/// The HTTP part of `lws_write`: head bytes (collected until the blank
/// line, then parsed and handed to hyper) or body bytes.
pub(crate) fn write(w: &Wsi, data: &[u8], kind: c_int) -> Result<(), WriteError> {
    let base = kind & 0x1f;
    let stream_end = kind & LWS_WRITE_H2_STREAM_END != 0;
    let mut st = w.http.borrow_mut();
    match base {
        LWS_WRITE_HTTP_HEADERS | LWS_WRITE_HTTP_HEADERS_CONTINUATION => {
            if st.head.is_none() {
                return Err(refused(w, "response head already sent"));
            }
            st.head_buf.extend_from_slice(data);
            if !st.head_buf.ends_with(b"\r\n\r\n") {
                return Ok(());
            }
            let Some(head) = parse_head(&st.head_buf) else {
                let text = String::from_utf8_lossy(&st.head_buf).into_owned();
                return Err(refused(w, format!("not a valid response head: {text:?}")));
            };
            st.head_buf.clear();
            if stream_end {
                st.finished = true;
            }
            if let Some(tx) = st.head.take() {
                let _ = tx.send(head);
            }
        }
        LWS_WRITE_HTTP | LWS_WRITE_HTTP_FINAL => {
            if st.finished {
                return Err(refused(w, "the response is already complete"));
            }
            w.tx.borrow_mut().extend_from_slice(data);
            if base == LWS_WRITE_HTTP_FINAL || stream_end {
                st.finished = true;
            }
        }
        other => {
            return Err(WriteError::Kind {
                kind: other,
                role: "an HTTP transaction",
            })
        }
    }
    Ok(())
}

/// Why a one-call answer was refused (the call returns -1).
#[derive(Debug, thiserror::Error)]
#[error("{tag:?}: response head already sent")]
pub(crate) struct HeadSent {
    tag: std::ffi::CString,
}

/// Sends a complete response at once (head + body) and finishes it.
fn answer(
    w: &Wsi,
    status: StatusCode,
    ctype: &str,
    extra: &[(HeaderName, HeaderValue)],
    body: &[u8],
) -> Result<(), HeadSent> {
    let mut st = w.http.borrow_mut();
    let Some(tx) = st.head.take() else {
        return Err(HeadSent { tag: w.tag.clone() });
    };
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(ctype) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    for (name, value) in extra {
        headers.insert(name.clone(), value.clone());
    }
    let _ = tx.send(Head { status, headers });
    w.tx.borrow_mut().extend_from_slice(body);
    st.finished = true;
    drop(st);
    w.wake.notify_one();
    Ok(())
}

/// `lws_return_http_status`: a whole status answer, lws's small page with
/// `html_body` after the code (truncated as lws does). A 404 on a vhost
/// with `error-document-404` is a 302 to that document instead, as in lws.
pub(crate) fn return_status(w: &Wsi, code: u32, html_body: &str) -> Result<(), HeadSent> {
    let code = code & LWSAHH_CODE_MASK;
    let status = StatusCode::from_u16(code as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::NOT_FOUND {
        let doc = w.vhost_handle().cfg.error_document_404.as_deref();
        let path = w.request.as_ref().map(|r| r.path.as_str());
        if let Some(doc) = doc.filter(|d| Some(*d) != path) {
            if let Ok(loc) = HeaderValue::from_str(doc) {
                let extra = [(http::header::LOCATION, loc)];
                return answer(w, StatusCode::FOUND, "text/html", &extra, b"");
            }
        }
    }
    let mut body = format!(
        "<html><head><meta charset=utf-8 http-equiv=\"Content-Language\" content=\"en\"/>\
         <link rel=\"stylesheet\" type=\"text/css\" href=\"/error.css\"/></head>\
         <body><h1>{code}</h1>{html_body}</body></html>"
    )
    .into_bytes();
    body.truncate(STATUS_PAGE_MAX);
    answer(w, status, "text/html", &[], &body)
}

/// `lws_http_transaction_completed`: the response is complete; the
/// connection is kept for the next request.
pub(crate) fn transaction_completed(w: &Wsi) -> Result<(), HeadSent> {
    let mut st = w.http.borrow_mut();
    if st.head.is_some() {
        // Completed without a head: lws would have nothing to send.
        drop(st);
        return answer(w, StatusCode::OK, "text/html", &[], b"");
    }
    st.finished = true;
    drop(st);
    w.wake.notify_one();
    Ok(())
}

/// `lws_serve_http_file`: the file at `path` as the whole response, with
/// `content_type` (when given) and the ready-made header lines
/// `other_headers`; a file that cannot be opened is lws's 404.
pub(crate) fn serve_file(
    w: &Wsi,
    path: &str,
    content_type: Option<&str>,
    other_headers: &[u8],
) -> Result<(), HeadSent> {
    let Ok(f) = std::fs::File::open(path) else {
        return return_status(w, 404, "");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut st = w.http.borrow_mut();
    let Some(tx) = st.head.take() else {
        return Err(HeadSent { tag: w.tag.clone() });
    };
    let mut extra = b"HTTP/1.1 200 OK\r\n".to_vec();
    extra.extend_from_slice(other_headers);
    extra.extend_from_slice(b"\r\n\r\n");
    let mut headers = parse_head(&extra).map(|h| h.headers).unwrap_or_default();
    if let Some(v) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert(http::header::CONTENT_TYPE, v);
    }
    headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
    let _ = tx.send(Head {
        status: StatusCode::OK,
        headers,
    });
    st.file = Some((f, len));
    drop(st);
    w.wake.notify_one();
    Ok(())
}

/// The request method as `lws_http_get_uri_and_method` numbers it.
pub(crate) fn method_number(method: &str) -> Option<c_int> {
    Some(match method {
        "GET" => LWSHUMETH_GET,
        "POST" => LWSHUMETH_POST,
        "OPTIONS" => LWSHUMETH_OPTIONS,
        "PUT" => LWSHUMETH_PUT,
        "PATCH" => LWSHUMETH_PATCH,
        "DELETE" => LWSHUMETH_DELETE,
        "CONNECT" => LWSHUMETH_CONNECT,
        "HEAD" => LWSHUMETH_HEAD,
        _ => return None,
    })
}
