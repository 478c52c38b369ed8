//! TLS for connections the server opens (a plugin's `wss://` or
//! `https://` client connection), with rustls. The server's certificate is
//! checked against the system's roots and the vhost's `client-ssl-ca`;
//! the vhost's `client-ssl-cert`/`client-ssl-key` are presented when the
//! server asks. The plugin's `LCCSCF_*` bits may relax the check: any
//! certificate (`ALLOW_SELFSIGNED`, `ALLOW_INSECURE`), or the chain
//! without the name (`SKIP_SERVER_CERT_HOSTNAME_CHECK`).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;

/// How far to trust the server's certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Trust {
    /// Chain and name.
    #[default]
    Full,
    /// Chain only.
    SkipName,
    /// Anything (the handshake's signatures are still checked).
    Any,
}

/// The vhost's client TLS material.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Material<'a> {
    /// `client-ssl-ca`.
    pub ca: Option<&'a Path>,
    /// `client-ssl-cert`.
    pub cert: Option<&'a Path>,
    /// `client-ssl-key`.
    pub key: Option<&'a Path>,
}

/// Why a client TLS setup failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A file could not be read or parsed.
    #[error("{what} {path}: {reason}")]
    File {
        /// "CA", "certificate" or "key".
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the setup.
    #[error("TLS setup: {0}")]
    Setup(String),
}

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's trusted roots, read once.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!("system certificate store: {e}");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!("client TLS: {added} system roots ({ignored} unusable)");
        roots
    })
}

fn file_err(what: &'static str, path: &Path, reason: impl ToString) -> Error {
    Error::File {
        what,
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A client configuration for one connection.
pub(crate) fn config(material: Material<'_>, trust: Trust) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = system_roots().clone();
    if let Some(ca) = material.ca {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(ca)
            .map_err(|e| file_err("CA", ca, e))?
            .collect();
        for c in certs.map_err(|e| file_err("CA", ca, e))? {
            roots.add(c).map_err(|e| file_err("CA", ca, e))?;
        }
    }
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Setup(e.to_string()))?;
    let builder = match trust {
        Trust::Full => builder.with_root_certificates(roots),
        _ => {
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| Error::Setup(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Relaxed {
                    inner,
                    trust,
                    provider,
                }))
        }
    };
    let cfg = match (material.cert, material.key) {
        (Some(cert), Some(key)) => {
            let chain: Result<Vec<_>, _> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| file_err("certificate", cert, e))?
                .collect();
            let chain = chain.map_err(|e| file_err("certificate", cert, e))?;
            let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| file_err("key", key, e))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| Error::Setup(e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// A verifier relaxed as the plugin asked.
#[derive(Debug)]
struct Relaxed {
    inner: Arc<WebPkiServerVerifier>,
    trust: Trust,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.trust == Trust::Any {
            return Ok(ServerCertVerified::assertion());
        }
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
