//! `lwsws --probe URL`: one GET, exit 0 on 200 and 1 on anything else, the
//! answer's status line and body on stdout. What a container's health
//! check runs (the Dockerfile's `HEALTHCHECK`), so the image needs no curl.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// How long the whole probe may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes of the answer read.
const MAX_ANSWER: u64 = 64 * 1024;

/// Why a probe could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Not an `http://host[:port]/path` URL.
    #[error("{0}: not an http:// URL")]
    Url(String),
    /// Connecting, sending or reading failed.
    #[error("{url}: {source}")]
    Io {
        /// The URL.
        url: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The answer has no HTTP status line.
    #[error("{0}: no HTTP answer")]
    NoAnswer(String),
}

/// GETs `url`: the status code and the raw answer.
pub fn get(url: &str) -> Result<(u16, String), ProbeError> {
    let uri: http::Uri = url.parse().map_err(|_| ProbeError::Url(url.into()))?;
    let (Some("http"), Some(auth)) = (uri.scheme_str(), uri.authority()) else {
        return Err(ProbeError::Url(url.into()));
    };
    let io = |source| ProbeError::Io {
        url: url.to_string(),
        source,
    };
    let port = auth.port_u16().unwrap_or(80);
    let host = auth.host().trim_start_matches('[').trim_end_matches(']');
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(io)?
        .next()
        .ok_or_else(|| ProbeError::Url(url.into()))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(io)?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {auth}\r\nUser-Agent: lwsws-probe\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut answer = Vec::new();
    s.take(MAX_ANSWER).read_to_end(&mut answer).map_err(io)?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| ProbeError::NoAnswer(url.into()))?;
    Ok((status, text))
}

/// Runs the probe: prints the status line and the body, exit 0 on 200.
pub fn run(url: &str) -> ExitCode {
    match get(url) {
        Ok((status, text)) => {
            let line = text.lines().next().unwrap_or("");
            let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
            println!("{line}");
            if !body.is_empty() {
                println!("{body}");
            }
            if status == 200 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("lwsws --probe: {e}");
            ExitCode::FAILURE
        }
    }
}
