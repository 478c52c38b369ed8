//! TLS for a listening socket, with rustls. As in lwsws, a vhost serves
//! TLS only when the global `init-ssl` is on and it has `host-ssl-cert` and
//! `host-ssl-key`; vhosts sharing a port are chosen by SNI (else the first
//! one with a certificate). ALPN offers `h2` and `http/1.1` unless the vhost
//! (`alpn`) or the global `default-alpn` says otherwise. OpenSSL cipher
//! strings (`ciphers`, `tls13-ciphers`, `ecdh-curve`, `ssl-option-*`) have
//! no rustls equivalent: they are reported and ignored.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{Config, Location};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A certificate, key or CA file could not be read or parsed.
    #[error("{at}: vhost \"{vhost}\": {what} {path}: {reason}")]
    File {
        /// The vhost.
        vhost: String,
        /// "certificate", "key" or "CA".
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        reason: String,
        /// Where the key was written.
        at: Location,
    },
    /// rustls refused the combination.
    #[error("vhost \"{vhost}\": TLS setup: {reason}")]
    Setup {
        /// The vhost.
        vhost: String,
        /// Why.
        reason: String,
    },
}

/// How a TLS listener treats connections that do not start with TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Plain {
    /// Refuse (close).
    #[default]
    Refuse,
    /// `allow-non-tls` + `redirect-http`: 301 to https.
    Redirect,
    /// `allow-non-tls` + `allow-http-on-https`: serve plain HTTP.
    Serve,
}

/// The TLS side of one listener.
#[derive(Clone)]
pub struct Tls {
    /// The acceptor.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// What to do with plain-text clients.
    pub plain: Plain,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("plain", &self.plain).finish()
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect();
    let certs = certs.map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// Chooses the certificate by SNI; unknown or missing SNI gets the default.
#[derive(Debug)]
struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello.server_name() {
            let name = name.to_ascii_lowercase();
            if let Some(k) = self.by_name.get(&name) {
                return Some(k.clone());
            }
            // `*.name` suffix match, as for Host.
            for (n, k) in &self.by_name {
                if name.ends_with(&format!(".{n}")) {
                    return Some(k.clone());
                }
            }
        }
        Some(self.default.clone())
    }
}

/// The TLS setup for a listener serving `vhosts` (indices into the config),
/// or `None` when none of them serves TLS.
pub(crate) fn for_listener(config: &Config, vhosts: &[usize]) -> Result<Option<Tls>, Error> {
    if !config.global.init_ssl {
        for &i in vhosts {
            let v = &config.vhosts[i];
            if v.tls.cert.is_some() {
                tracing::warn!(
                    "{}: vhost \"{}\": host-ssl-cert is ignored without global \"init-ssl\" (as in lwsws): serving plain HTTP",
                    v.at,
                    v.name
                );
            }
        }
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut by_name = HashMap::new();
    let mut default = None;
    let mut client_ca = None;
    let mut alpn: Option<Vec<Vec<u8>>> = None;
    let mut plain = Plain::Refuse;
    for &i in vhosts {
        let v = &config.vhosts[i];
        let (Some(cert), Some(key)) = (&v.tls.cert, &v.tls.key) else {
            continue;
        };
        let file_err =
            |what: &'static str, path: &Path, reason: String, at: &Location| Error::File {
                vhost: v.name.clone(),
                what,
                path: path.display().to_string(),
                reason,
                at: at.clone(),
            };
        let chain = read_certs(&cert.value)
            .map_err(|r| file_err("certificate", &cert.value, r, &cert.at))?;
        let key_der = PrivateKeyDer::from_pem_file(&key.value)
            .map_err(|e| file_err("key", &key.value, e.to_string(), &key.at))?;
        let signing = provider
            .key_provider
            .load_private_key(key_der)
            .map_err(|e| file_err("key", &key.value, e.to_string(), &key.at))?;
        let ck = Arc::new(CertifiedKey::new(chain, signing));
        by_name.insert(v.name.to_ascii_lowercase(), ck.clone());
        if default.is_none() {
            default = Some(ck);
        }
        if v.tls.client_cert_required {
            let Some(ca) = &v.tls.ca else {
                return Err(Error::Setup {
                    vhost: v.name.clone(),
                    reason: "client-cert-required needs host-ssl-ca".into(),
                });
            };
            let mut roots = RootCertStore::empty();
            for c in read_certs(&ca.value).map_err(|r| file_err("CA", &ca.value, r, &ca.at))? {
                roots
                    .add(c)
                    .map_err(|e| file_err("CA", &ca.value, e.to_string(), &ca.at))?;
            }
            client_ca = Some(roots);
        }
        if alpn.is_none() {
            let list = v
                .tls
                .alpn
                .clone()
                .or_else(|| config.global.default_alpn.clone())
                .unwrap_or_else(|| "h2,http/1.1".into());
            alpn = Some(
                list.split(',')
                    .map(|s| s.trim().as_bytes().to_vec())
                    .filter(|s| !s.is_empty())
                    .collect(),
            );
        }
        if v.tls.allow_non_tls {
            plain = if v.tls.redirect_http {
                Plain::Redirect
            } else if v.tls.allow_http_on_https {
                Plain::Serve
            } else {
                Plain::Refuse
            };
        }
        for (key, set) in [
            ("ciphers", v.tls.ciphers.is_some()),
            ("tls13-ciphers", v.tls.tls13_ciphers.is_some()),
            ("ecdh-curve", v.tls.ecdh_curve.is_some()),
            ("ssl-option-set", v.tls.ssl_option_set != 0),
            ("ssl-option-clear", v.tls.ssl_option_clear != 0),
        ] {
            if set {
                tracing::warn!(
                    "{}: vhost \"{}\": \"{key}\" is an OpenSSL setting rustls cannot honour; ignored (rustls uses its own safe defaults)",
                    v.at,
                    v.name
                );
            }
        }
    }
    let Some(default) = default else {
        return Ok(None);
    };
    let builder = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Setup {
            vhost: config.vhosts[vhosts[0]].name.clone(),
            reason: e.to_string(),
        })?;
    let builder = match client_ca {
        Some(roots) => {
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| Error::Setup {
                    vhost: config.vhosts[vhosts[0]].name.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_cert_resolver(Arc::new(SniResolver { by_name, default }));
    cfg.alpn_protocols = alpn.unwrap_or_default();
    Ok(Some(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
        plain,
    }))
}
