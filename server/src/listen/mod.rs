//! Listening sockets: which vhosts share which socket, and binding them.
//!
//! Vhosts on the same port and interface share one socket; a request picks
//! its vhost by `Host:` (see `http::vhost`), the first vhost on the socket
//! being the default, as in lws.

pub(crate) mod bind;
pub(crate) mod client_tls;
pub(crate) mod interface;
pub mod privs;
pub(crate) mod tls;
pub(crate) mod transport;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use crate::config::{Config, Location};

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket could not be created or bound.
    #[error("{at}: vhost \"{vhost}\": cannot listen on {addr}")]
    Bind {
        /// The vhost that asked for it.
        vhost: String,
        /// The address.
        addr: SocketAddr,
        /// Where the vhost was written.
        at: Location,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `interface` named nothing on this host.
    #[error("{at}: vhost \"{vhost}\": no interface or address \"{interface}\" on this host")]
    NoInterface {
        /// The vhost.
        vhost: String,
        /// What was configured.
        interface: String,
        /// Where the vhost was written.
        at: Location,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] tls::Error),
    /// `unix-socket` listeners are not served yet.
    #[error("{at}: vhost \"{vhost}\": unix-socket listeners are not supported")]
    UnixSocket {
        /// The vhost.
        vhost: String,
        /// Where the vhost was written.
        at: Location,
    },
}

/// A bound socket and the vhosts (indices into the site) it serves.
#[derive(Debug)]
pub struct Listener {
    /// The socket, listening, non-blocking.
    pub socket: TcpListener,
    /// Its local address.
    pub addr: SocketAddr,
    /// Configured port (differs from `addr.port()` with ephemeral ports).
    pub configured_port: u16,
    /// Vhosts on this socket, first = default.
    pub vhosts: Arc<[usize]>,
    /// The listen parameters it was made for (reused across reloads).
    key: Key,
    /// TLS, when a vhost on it serves TLS (rebuilt, so re-read, on reload).
    pub tls: Option<tls::Tls>,
}

/// The listen parameters that decide whether two vhosts can share a socket.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    port: u16,
    interface: Option<String>,
    noipv6: bool,
    ipv6only: Option<bool>,
}

/// Binds every listener the configuration asks for. With `ephemeral`, each
/// distinct configured port is replaced by one the OS picks. Sockets of
/// `previous` whose listen parameters are still wanted are reused (cloned),
/// so a reload never closes a port it keeps.
pub fn bind_all(
    config: &Config,
    ephemeral: bool,
    previous: &[Listener],
) -> Result<Vec<Listener>, Error> {
    // Group vhosts by listen parameters, keeping first-seen order.
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    for (i, v) in config.vhosts.iter().enumerate() {
        if v.port == 0 && !v.unix_socket {
            continue;
        }
        if v.unix_socket {
            return Err(Error::UnixSocket {
                vhost: v.name.clone(),
                at: v.at.clone(),
            });
        }
        let key = Key {
            port: v.port,
            interface: v.interface.clone(),
            noipv6: v.noipv6,
            ipv6only: v.ipv6only,
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(i),
            None => groups.push((key, vec![i])),
        }
    }

    let mut picked: HashMap<u16, u16> = HashMap::new();
    for p in previous {
        picked.entry(p.key.port).or_insert(p.addr.port());
    }
    let mut out = Vec::new();
    for (key, members) in groups {
        let vhosts: Arc<[usize]> = members.clone().into();
        let tls = tls::for_listener(config, &members)?;
        let kept: Vec<&Listener> = previous.iter().filter(|p| p.key == key).collect();
        if !kept.is_empty() {
            for p in kept {
                let v = &config.vhosts[members[0]];
                let socket = p.socket.try_clone().map_err(|source| Error::Bind {
                    vhost: v.name.clone(),
                    addr: p.addr,
                    at: v.at.clone(),
                    source,
                })?;
                out.push(Listener {
                    socket,
                    addr: p.addr,
                    configured_port: p.configured_port,
                    vhosts: vhosts.clone(),
                    key: key.clone(),
                    tls: tls.clone(),
                });
            }
            continue;
        }
        let v = &config.vhosts[members[0]];
        let port = if ephemeral {
            picked.get(&key.port).copied().unwrap_or(0)
        } else {
            key.port
        };
        let addrs = match &key.interface {
            None => bind::wildcard_addrs(port, key.noipv6),
            Some(name) => {
                let found = interface::resolve(name, port, key.noipv6, key.ipv6only);
                if found.is_empty() {
                    return Err(Error::NoInterface {
                        vhost: v.name.clone(),
                        interface: name.clone(),
                        at: v.at.clone(),
                    });
                }
                found
            }
        };
        let mut port = port;
        for addr in addrs {
            let addr = SocketAddr::new(addr.ip(), port);
            let socket =
                bind::listen(addr, key.ipv6only, key.interface.is_none()).map_err(|source| {
                    Error::Bind {
                        vhost: v.name.clone(),
                        addr,
                        at: v.at.clone(),
                        source,
                    }
                })?;
            let local = socket.local_addr().map_err(|source| Error::Bind {
                vhost: v.name.clone(),
                addr,
                at: v.at.clone(),
                source,
            })?;
            if port == 0 {
                // Further addresses of this group, and later groups with the
                // same configured port, reuse the port the OS picked.
                port = local.port();
                picked.insert(key.port, port);
            }
            out.push(Listener {
                socket,
                addr: local,
                configured_port: key.port,
                vhosts: vhosts.clone(),
                key: key.clone(),
                tls: tls.clone(),
            });
        }
    }
    Ok(out)
}
