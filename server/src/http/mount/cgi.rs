//! `cgi://` mounts: run the script per request (CGI/1.1), stream the request
//! body to its stdin while its stdout streams back, parse its CGI headers
//! (`Status:`, `Content-Type:`, `Location:`), and kill it after
//! `cgi-timeout`. Nothing here blocks the event loop, and every child is
//! waited for (reaped), including killed ones.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::http::response::{status_page, Response};

/// Largest CGI header section we accept.
const MAX_HEAD: usize = 16 * 1024;
/// stdout read size.
const READ_CHUNK: usize = 64 * 1024;

/// What a CGI run needs from the mount and the request.
pub(crate) struct Cgi<'a> {
    /// The script.
    pub script: &'a Path,
    /// `SCRIPT_NAME`: the mountpoint.
    pub script_name: &'a str,
    /// `PATH_INFO`: the path after the mountpoint.
    pub path_info: &'a str,
    /// `cgi-env`.
    pub env: &'a [(String, String)],
    /// `cgi-timeout`.
    pub timeout: Duration,
    /// `cgi-chdir`.
    pub chdir: Option<&'a PathBuf>,
    /// The peer.
    pub peer: SocketAddr,
    /// Vhost name (`SERVER_NAME`) and port (`SERVER_PORT`).
    pub server: (&'a str, u16),
}

/// Runs the script for `req`.
pub(crate) async fn serve<B>(c: Cgi<'_>, req: Request<B>) -> Response
where
    B: http_body::Body<Data = Bytes> + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let (parts, mut body) = req.into_parts();
    let mut cmd = Command::new(c.script);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env(
            "SERVER_SOFTWARE",
            concat!("lwsws-comlink/", env!("CARGO_PKG_VERSION")),
        )
        .env("SERVER_PROTOCOL", format!("{:?}", parts.version))
        .env("SERVER_NAME", c.server.0)
        .env("SERVER_PORT", c.server.1.to_string())
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("REQUEST_URI", parts.uri.to_string())
        .env("SCRIPT_NAME", c.script_name)
        .env("PATH_INFO", c.path_info)
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REMOTE_ADDR", c.peer.ip().to_canonical().to_string())
        .env("REMOTE_PORT", c.peer.port().to_string());
    for (name, value) in &parts.headers {
        let Ok(v) = value.to_str() else { continue };
        if name == CONTENT_TYPE {
            cmd.env("CONTENT_TYPE", v);
        } else if name == CONTENT_LENGTH {
            cmd.env("CONTENT_LENGTH", v);
        } else {
            let var = format!(
                "HTTP_{}",
                name.as_str().to_ascii_uppercase().replace('-', "_")
            );
            cmd.env(var, v);
        }
    }
    for (k, v) in c.env {
        cmd.env(k, v);
    }
    if let Some(dir) = c.chdir {
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Its own process group, so a timeout kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            tracing::warn!("cgi {}: cannot run: {e}", c.script.display());
            return status_page(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let deadline = Instant::now() + c.timeout;

    // The body goes to stdin on its own task: a script that never reads its
    // stdin must not stall its answer.
    if let Some(mut stdin) = child.stdin.take() {
        tokio::task::spawn_local(async move {
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    if stdin.write_all(&data).await.is_err() {
                        break;
                    }
                }
            }
        });
    }
    let Some(mut stdout) = child.stdout.take() else {
        return status_page(StatusCode::INTERNAL_SERVER_ERROR);
    };

    // Read the CGI head.
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let head_end = loop {
        if let Some(pos) = find_head_end(&buf) {
            break Some(pos);
        }
        if buf.len() > MAX_HEAD {
            break None;
        }
        let read = tokio::time::timeout_at(deadline, stdout.read_buf(&mut buf)).await;
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => break None,
            Ok(Ok(_)) => {}
            Err(_) => {
                tracing::warn!(
                    "cgi {}: no answer within {:?}; killed",
                    c.script.display(),
                    c.timeout
                );
                reap(child, Duration::ZERO);
                return status_page(StatusCode::GATEWAY_TIMEOUT);
            }
        }
    };
    let Some((head_len, sep_len)) = head_end else {
        tracing::warn!("cgi {}: no valid CGI header section", c.script.display());
        reap(child, Duration::ZERO);
        return status_page(StatusCode::BAD_GATEWAY);
    };
    let head = buf.split_to(head_len + sep_len);
    let Some((status, headers)) = parse_cgi_head(&head[..head_len]) else {
        tracing::warn!("cgi {}: malformed CGI header", c.script.display());
        reap(child, Duration::ZERO);
        return status_page(StatusCode::BAD_GATEWAY);
    };

    // Stream the rest of stdout, stopping at the deadline.
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let script = c.script.to_path_buf();
    tokio::task::spawn_local(async move {
        let mut first = buf.freeze();
        loop {
            if !first.is_empty() && tx.send(Ok(std::mem::take(&mut first))).await.is_err() {
                break;
            }
            let mut chunk = BytesMut::with_capacity(READ_CHUNK);
            match tokio::time::timeout_at(deadline, stdout.read_buf(&mut chunk)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => first = chunk.freeze(),
                Ok(Err(e)) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
                Err(_) => {
                    tracing::warn!(
                        "cgi {}: still running after the timeout; killed",
                        script.display()
                    );
                    let _ = tx
                        .send(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "cgi timeout",
                        )))
                        .await;
                    break;
                }
            }
        }
        reap(child, deadline.saturating_duration_since(Instant::now()));
    });
    let body =
        http_body_util::StreamBody::new(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|item| (item.map(http_body::Frame::data), rx))
        }));
    let mut resp = http::Response::new(body.boxed_unsync());
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// Waits for the child to exit (killing it once `grace` has passed), on its
/// own task, so no zombie is left behind.
fn reap(mut child: Child, grace: Duration) {
    tokio::task::spawn_local(async move {
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.start_kill();
        }
        let _ = child.wait().await;
    });
}

/// End of the header section: (length, separator length), for CRLF or LF.
fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4));
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// CGI response headers: `Status: 404 Not Found`, `Location:` (302 unless a
/// status is given), everything else passed through.
fn parse_cgi_head(head: &[u8]) -> Option<(StatusCode, HeaderMap)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut status = None;
    let mut headers = HeaderMap::new();
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next()?.parse::<u16>().ok()?;
            status = Some(StatusCode::from_u16(code).ok()?);
            continue;
        }
        let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_str(value).ok()?);
    }
    let status = status.unwrap_or(if headers.contains_key(LOCATION) {
        StatusCode::FOUND
    } else {
        StatusCode::OK
    });
    Some((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_heads() {
        let (s, h) = parse_cgi_head(b"Content-Type: text/plain\r\nX-A: b").unwrap();
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["content-type"], "text/plain");
        let (s, _) = parse_cgi_head(b"Status: 404 Not Found\nContent-Type: text/html").unwrap();
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, h) = parse_cgi_head(b"Location: /elsewhere").unwrap();
        assert_eq!(
            (s, &h["location"]),
            (StatusCode::FOUND, &HeaderValue::from_static("/elsewhere"))
        );
        assert!(parse_cgi_head(b"no colon here").is_none());
        assert_eq!(find_head_end(b"A: b\n\nbody"), Some((4, 2)));
        assert_eq!(find_head_end(b"A: b\r\n\r\nbody"), Some((4, 4)));
        assert_eq!(find_head_end(b"A: b\r\n"), None);
    }
}
