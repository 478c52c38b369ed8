//! Opening the socket of a client connection: name lookup, TCP, TLS.

use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;

use crate::host::client::Target;
use crate::host::wsi::Wsi;
use crate::listen::client_tls::{self, Material, Trust};

/// How long connecting, TLS and the handshake may take together (lws's
/// connect timeout is 20 s too).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A connected socket, plain or TLS.
pub(super) type Stream = Either<TcpStream, TlsStream<TcpStream>>;

/// The name to check the certificate against: `Host:` without its port.
fn tls_name(target: &Target) -> String {
    let h = target.host.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_owned();
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => h.to_owned(),
    }
}

/// Connects to the target (TLS when asked); the error says why not, for
/// CLIENT_CONNECTION_ERROR.
pub(super) async fn open(wsi: &Wsi, target: &Target) -> Result<Stream, String> {
    let tcp = TcpStream::connect((target.address.as_str(), target.port))
        .await
        .map_err(|e| format!("connect to {}:{} failed: {e}", target.address, target.port))?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = target.tls else {
        return Ok(Either::Left(tcp));
    };
    let tcfg = &wsi.vhost_handle().cfg.tls;
    let material = Material {
        ca: tcfg.client_ca.as_deref(),
        cert: tcfg.client_cert.as_deref(),
        key: tcfg.client_key.as_deref(),
    };
    let trust = if tls.any_cert {
        Trust::Any
    } else if tls.skip_name {
        Trust::SkipName
    } else {
        Trust::Full
    };
    let cfg = client_tls::config(material, trust).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(tls_name(target))
        .map_err(|e| format!("bad TLS server name \"{}\": {e}", target.host))?;
    let stream = tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    Ok(Either::Right(stream))
}
